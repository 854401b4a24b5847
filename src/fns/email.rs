//! The mail flows for the browser: forgotten password, address verification, email change.
//! Thin front doors onto `server::email`, which the REST API shares.

use leptos::prelude::*;

use crate::error::AppError;

/// "Forgot your password?": mails a reset link if an enabled account has `email`. Answers the
/// same for every address.
#[server(endpoint = "email/forgot")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use crate::server::{email, server_fn};
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    email::request_password_reset(&state, &email, &context.client).await?;
    // The page says a link went out (`server::form_posts::SAYS_WHAT_IT_DID`).
    server_fn::return_to_after_form_post(crate::paths::FORGOT_PASSWORD);
    Ok(())
}

/// The address a password-reset link is for, while the link can be used (the reset page asks
/// before it shows its form).
#[server(endpoint = "email/reset-link")]
pub async fn check_reset_link(token: String) -> Result<String, AppError> {
    use crate::server::{email, server_fn};
    let state = server_fn::state()?;
    email::check_reset_link(&state, &token).await
}

/// Sets a new password through a reset link, ends every session of the account, signs this
/// browser in afresh and goes to the task list.
#[server(endpoint = "email/reset")]
pub async fn reset_password(
    token: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<(), AppError> {
    use crate::{
        paths,
        server::{accounts, email, server_fn},
    };
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    let cookies = server_fn::cookies().await?;
    let user = email::reset_password(
        &state,
        &token,
        &new_password,
        Some(&new_password_confirm),
        &context.client,
    )
    .await?;
    // A reset link proves the mailbox, not the second factor: with two-step sign-in on, the
    // browser still has to give a code before any session exists.
    if crate::server::db::two_step::enabled(&state.db, user.id).await? {
        accounts::ask_for_code(&state, &cookies, &user).await?;
        leptos_axum::redirect(&paths::login_code_then(paths::TASKS));
        return Ok(());
    }
    accounts::sign_in_browser(&state, &cookies, &user, &context.client).await?;
    leptos_axum::redirect(paths::TASKS);
    Ok(())
}

/// Opens a verification link; returns the verified address.
#[server(endpoint = "email/verify")]
pub async fn verify_email(token: String) -> Result<String, AppError> {
    use crate::server::{email, server_fn};
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    email::verify_email(&state, &token, &context.client).await
}

/// "Send again": another verification mail for the signed-in person.
#[server(endpoint = "email/resend")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::server::{email, server_fn};
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    // A plain form post returns to the page it came from, whose banner says it was sent.
    email::resend_verification(&state, &principal, &context.client).await?;
    Ok(())
}

/// Asks to move the signed-in person's account to `new_email` (their password is required).
#[server(endpoint = "email/change")]
pub async fn request_email_change(new_email: String, password: String) -> Result<(), AppError> {
    use crate::server::{email, server_fn};
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    email::request_email_change(&state, &principal, &new_email, password, &context.client).await?;
    server_fn::return_to_after_form_post(crate::paths::ACCOUNT);
    Ok(())
}

/// Opens an email-change link; returns the account's new address.
#[server(endpoint = "email/confirm")]
pub async fn confirm_email_change(token: String) -> Result<String, AppError> {
    use crate::server::{email, server_fn};
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    email::confirm_email_change(&state, &token, &context.client).await
}

/// Whether this server sends mail (SMTP, or the development mailbox). Without it there is no
/// verification to ask people for, so the banner stays away.
#[server(endpoint = "email/enabled")]
pub async fn mail_enabled() -> Result<bool, AppError> {
    use crate::server::server_fn;
    Ok(server_fn::state()?.mail.enabled())
}
