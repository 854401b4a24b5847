//! Sign-in alerts for the browser: the "This wasn't me" page, and the account page's choice
//! of mail about new devices. Thin front doors onto `server::alerts`.

use leptos::prelude::*;

use crate::error::AppError;

/// The address of the account a "This wasn't me" link can still secure (its page asks before
/// it offers the button).
#[server(endpoint = "alerts/link")]
pub async fn check_secure_link(token: String) -> Result<String, AppError> {
    use crate::server::{alerts, server_fn};
    let state = server_fn::state()?;
    alerts::check_link(&state, &token).await
}

/// "This wasn't me": ends every session of the link's account, suspends its passkeys, withdraws
/// its device allowances, then goes on to choosing a new password. This browser is signed out
/// too (it may be the one that was not the owner).
#[server(endpoint = "alerts/secure")]
pub async fn secure_account(token: String) -> Result<(), AppError> {
    use crate::server::{accounts, alerts, server_fn};
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    let cookies = server_fn::cookies().await?;
    let next = alerts::secure(&state, &token, &context.client).await?;
    accounts::clear_browser_cookies(&state, &cookies);
    leptos_axum::redirect(&next);
    Ok(())
}

/// Whether a sign-in from a new browser is mailed to the signed-in person.
#[server(endpoint = "alerts/settings")]
pub async fn new_device_mail() -> Result<bool, AppError> {
    use crate::server::{db, server_fn};
    let (state, principal) = server_fn::signed_in()?;
    Ok(db::alerts::settings(&state.db, principal.user.id)
        .await?
        .is_some_and(|(on, _)| on))
}

/// Turns the mail about sign-ins from new browsers on or off (`on` is the checkbox: present
/// means on).
#[server(endpoint = "alerts/new-device-mail")]
pub async fn set_new_device_mail(on: Option<String>) -> Result<bool, AppError> {
    use crate::server::{db, server_fn};
    let (state, principal) = server_fn::signed_in()?;
    let on = on.is_some();
    db::alerts::set_new_device_mail(&state.db, principal.user.id, on).await?;
    tracing::info!(target: "security", event = "new_device_mail_changed", user_id = principal.user.id, on, "new-device mail turned {}", if on { "on" } else { "off" });
    server_fn::return_to_after_form_post(crate::paths::ACCOUNT);
    Ok(on)
}
