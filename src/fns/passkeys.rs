//! Passkeys for the browser: signing in and signing up with one, and the account page's list.
//! Thin front doors onto `server::passkeys`. The ceremonies need JavaScript (the browser's
//! `navigator.credentials`); renaming and removing are plain form posts as well.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{PasskeyCeremony, PasskeyOverview},
};

/// Starts a sign-in with a passkey (the button, or the browser's autofill).
#[server(endpoint = "passkeys/sign-in/start")]
pub async fn sign_in_start() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{passkeys, server_fn};
    let context = server_fn::context()?;
    passkeys::start_sign_in(&server_fn::state()?, &context.client).await
}

/// Finishes a passkey sign-in: sets the auth cookies and returns where to go (`next` if it is
/// one of our pages, else the task list). No second step: the passkey verified the person.
#[server(endpoint = "passkeys/sign-in/finish")]
pub async fn sign_in_finish(
    ticket: String,
    credential: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use crate::server::{accounts, passkeys, server_fn, two_step};
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    let cookies = server_fn::cookies().await?;
    let user =
        passkeys::finish_sign_in(&state, &ticket, &credential, &context.client, &cookies).await?;
    // A password sign-in waiting for its code in this browser is over too.
    two_step::clear_cookie(&state.config, &cookies);
    accounts::sign_in_browser(&state, &cookies, &user, &context.client).await?;
    Ok(state.safe_next(next.as_deref()).to_owned())
}

/// Starts a sign-up with a passkey instead of a password.
#[server(endpoint = "passkeys/sign-up/start")]
pub async fn sign_up_start(name: String, email: String) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{passkeys, server_fn};
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    passkeys::start_sign_up(&state, &name, &email, &context.client).await
}

/// Finishes a passkey sign-up: the account exists with the passkey as its way to sign in, and
/// this browser is signed in. Returns the page to go to.
#[server(endpoint = "passkeys/sign-up/finish")]
pub async fn sign_up_finish(
    ticket: String,
    credential: String,
    name: Option<String>,
) -> Result<String, AppError> {
    use crate::{
        paths,
        server::{accounts, passkeys, server_fn},
    };
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    let cookies = server_fn::cookies().await?;
    let passkey_name = name.unwrap_or_default();
    let user =
        passkeys::finish_sign_up(&state, &ticket, &credential, &passkey_name, &context.client)
            .await?;
    accounts::sign_in_browser(&state, &cookies, &user, &context.client).await?;
    crate::server::attempt_limits::signed_up(&state, &user.email, &cookies)?;
    Ok(paths::TASKS.to_owned())
}

/// Starts adding a passkey to the signed-in person's account (`password` required when the
/// account has one).
#[server(endpoint = "passkeys/add/start")]
pub async fn add_start(password: Option<String>) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{passkeys, server_fn};
    let (state, principal) = server_fn::signed_in()?;
    passkeys::start_add(&state, &principal, password).await
}

/// Finishes adding a passkey under `name`. Every other session is signed out; returns how
/// many were.
#[server(endpoint = "passkeys/add/finish")]
pub async fn add_finish(ticket: String, credential: String, name: String) -> Result<u64, AppError> {
    use crate::server::{passkeys, server_fn};
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    let ended = passkeys::finish_add(
        &state,
        &principal,
        &ticket,
        &credential,
        &name,
        &context.client,
    )
    .await?;
    // The page's module posts the answer as a plain form: back to the account page, which
    // says it was added (`server::form_posts::SAYS_WHAT_IT_DID`).
    server_fn::return_to_after_form_post(crate::paths::ACCOUNT);
    Ok(ended)
}

/// The signed-in person's passkeys, and whether the account has a password.
#[server(endpoint = "passkeys/overview")]
pub async fn overview() -> Result<PasskeyOverview, AppError> {
    use crate::server::{passkeys, server_fn};
    let (state, principal) = server_fn::signed_in()?;
    passkeys::overview(&state, principal.user.id).await
}

/// Renames one of the person's passkeys.
#[server(endpoint = "passkeys/rename")]
pub async fn rename(id: i64, name: String) -> Result<(), AppError> {
    use crate::{
        paths,
        server::{passkeys, server_fn},
    };
    let (state, principal) = server_fn::signed_in()?;
    passkeys::rename(&state, &principal, id, &name).await?;
    server_fn::return_to_after_form_post(paths::ACCOUNT);
    Ok(())
}

/// Removes one of the person's passkeys (not their last way to sign in). Every other session
/// is signed out.
#[server(endpoint = "passkeys/remove")]
pub async fn remove(id: i64) -> Result<u64, AppError> {
    use crate::{
        paths,
        server::{passkeys, server_fn},
    };
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    let ended = passkeys::remove(&state, &principal, id, &context.client).await?;
    server_fn::return_to_after_form_post(paths::ACCOUNT);
    Ok(ended)
}

/// Lifts the suspension of one of the person's passkeys (`password` required when the account
/// has one). Every other session is signed out.
#[server(endpoint = "passkeys/reenable")]
pub async fn reenable(id: i64, password: Option<String>) -> Result<u64, AppError> {
    use crate::{
        paths,
        server::{passkeys, server_fn},
    };
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    let ended = passkeys::reenable(&state, &principal, id, password, &context.client).await?;
    server_fn::return_to_after_form_post(paths::ACCOUNT);
    Ok(ended)
}

/// Gives an account made with a passkey a password. Every other session is signed out.
#[server(endpoint = "password/add")]
pub async fn add_password(
    new_password: String,
    new_password_confirm: String,
) -> Result<u64, AppError> {
    use crate::{
        paths,
        server::{passkeys, server_fn},
    };
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    let ended = passkeys::add_password(
        &state,
        &principal,
        &new_password,
        &new_password_confirm,
        &context.client,
    )
    .await?;
    server_fn::return_to_after_form_post(paths::ACCOUNT);
    Ok(ended)
}
