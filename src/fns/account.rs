//! The signed-in person's own account, beyond sessions and password (`fns::auth`): their
//! recent activity, and deleting the account. Every function starts with
//! `server_fn::signed_in()`.

use leptos::prelude::*;

use crate::{error::AppError, model::ActivityItem};

/// How many events the account page's "Recent activity" shows.
pub const ACTIVITY_SHOWN: i64 = 20;

/// The caller's latest security events (sign-ins, failed attempts, password changes, ...),
/// newest first.
#[server(endpoint = "account/activity")]
pub async fn my_activity() -> Result<Vec<ActivityItem>, AppError> {
    use crate::server::{audit, server_fn};
    let (state, principal) = server_fn::signed_in()?;
    audit::activity(&state, principal.user.id, ACTIVITY_SHOWN).await
}

/// Deletes the caller's account with its tasks and sessions (their password is required) and
/// clears the auth cookies; a plain form post then goes to the start page.
#[server(endpoint = "account/delete")]
pub async fn delete_my_account(password: String) -> Result<(), AppError> {
    use crate::{
        paths,
        server::{accounts, server_fn},
    };
    let (state, principal) = server_fn::signed_in()?;
    let client = &server_fn::context()?.client;
    let cookies = server_fn::cookies().await?;
    accounts::delete_account(&state, &principal, password, client).await?;
    // Every session ended with the account; the cookies would only be refused from now on.
    accounts::clear_browser_cookies(&state, &cookies);
    // The account page's form is a plain one: a fresh start page, with nothing of the account
    // left in the app's memory.
    server_fn::return_to_after_form_post(paths::HOME);
    Ok(())
}
