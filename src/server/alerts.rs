//! Telling people when someone else may be in their account, and letting them act on it.
//!
//! - **New-device sign-ins.** A successful sign-in (password, passkey or second step) from a
//!   client that holds no valid device cookie of the account (`attempt_limits`: set by the
//!   account's sign-ins in that browser, disowned by "This wasn't me") is mailed to the owner:
//!   when, browser and OS, address, how, and a "This wasn't me" link. A client that keeps no
//!   cookies and does not say it is a browser (a script, whose User-Agent does not start with
//!   `Mozilla/`) counts as known when the account signed in from the same address and
//!   User-Agent within the device cookie's lifetime, so a cron job is not mailed about every
//!   run. The owner can turn these mails off on the account page.
//! - **Security changes** (password, email, two-step sign-in, passkeys) always mail the same
//!   link.
//! - **"This wasn't me"** ([`secure`]): the link works for 7 days, once (using one spends every
//!   link of the account), and without being signed in. It ends every session and refresh
//!   token of the account, suspends its passkeys, withdraws every device cookie's standing,
//!   drops a pending email change, and sends the person to choose a new password through a
//!   fresh reset link, so a thief who changed the password cannot keep the account.

use std::time::Duration;

use super::{
    attempt_limits::{SeenBefore, signed_since},
    audit::{self, Event, Record},
    auth::{
        ClientInfo, cookie,
        refresh::{RefreshToken, hash_presented},
    },
    db::{self, duration_millis, now_millis},
    mail::templates::{self, Content},
    sessions::{describe_user_agent, utc_text},
    state::AppState,
};
use crate::{error::AppError, model::User, paths};

/// How long a "This wasn't me" link works.
pub const LINK_VALID_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why the sessions ended, in `sessions.revoked_reason`.
pub const SECURED: &str = "secured_by_owner";

/// How a sign-in was made, as the mail says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    PasswordAndCode,
    PasswordAndRecoveryCode,
    Passkey,
}

impl Method {
    fn spoken(self) -> &'static str {
        match self {
            Self::Password => "with your password",
            Self::PasswordAndCode => "with your password and an authenticator code",
            Self::PasswordAndRecoveryCode => "with your password and a recovery code",
            Self::Passkey => "with a passkey",
        }
    }
}

/// A new "This wasn't me" link for `user_id`: its full address (`PUBLIC_URL` +
/// `/secure-account?token=…`).
///
/// # Errors
/// Database failures; [`AppError::Internal`] if the OS random generator fails.
pub async fn new_link(state: &AppState, user_id: i64) -> Result<String, AppError> {
    let token = RefreshToken::generate()?;
    let now = now_millis();
    let expires = now.saturating_add(duration_millis(LINK_VALID_FOR));
    db::alerts::insert_link(&state.db, &token.hash(), user_id, now, expires).await?;
    Ok(state.mail.link(&format!(
        "{}?token={}",
        paths::SECURE_ACCOUNT,
        token.expose()
    )))
}

/// Mails `user` about a change to how their account signs in, with a "This wasn't me" link:
/// `content` builds the mail from that link and the account page's address. Best effort: the
/// change is made already, so a failure is logged, not returned.
pub async fn security_mail(
    state: &AppState,
    user: &User,
    content: impl FnOnce(&str, &str) -> Content,
) {
    if !state.mail.enabled() {
        return;
    }
    let sent = async {
        let secure_link = new_link(state, user.id).await?;
        let content = content(&secure_link, &state.mail.link(paths::ACCOUNT));
        state.mail.send(&state.db, &user.email, &content).await
    };
    if let Err(err) = sent.await {
        tracing::error!(user_id = user.id, error = %err, "could not queue a security notice; the change is made, but the person was not mailed about it");
    }
}

/// After a successful sign-in of `user` by `client`, who held a device cookie of the account
/// signed at `seen` (or none): mails the owner when this is a new device and they want to
/// know. Called before the sign-in is recorded in the audit trail. Best effort.
pub async fn signed_in(
    state: &AppState,
    user: &User,
    client: &ClientInfo,
    seen: SeenBefore,
    method: Method,
) {
    if let Err(err) = check_new_device(state, user, client, seen, method).await {
        tracing::error!(user_id = user.id, error = %err, "could not check or mail a sign-in from a new device");
    }
}

async fn check_new_device(
    state: &AppState,
    user: &User,
    client: &ClientInfo,
    seen: SeenBefore,
    method: Method,
) -> Result<(), AppError> {
    let Some((wanted, reset_at)) = db::alerts::settings(&state.db, user.id).await? else {
        return Ok(());
    };
    let known = match seen.0 {
        Some(iat) => signed_since(iat, reset_at),
        None if !client.user_agent.starts_with("Mozilla/") => {
            let since = now_millis()
                .saturating_sub(duration_millis(cookie::DEVICE_LIFETIME))
                .max(reset_at);
            db::alerts::signed_in_from(
                &state.db,
                user.id,
                &client.ip_text(),
                &client.user_agent,
                since,
            )
            .await?
        }
        None => false,
    };
    if known || !wanted || !state.mail.enabled() {
        return Ok(());
    }
    let secure_link = new_link(state, user.id).await?;
    let device = describe_user_agent(&client.user_agent);
    let content = templates::render(templates::Template::NewSignIn {
        name: &user.name,
        when: &utc_text(now_millis()),
        device: &device,
        ip: &client.ip_text(),
        method: method.spoken(),
        account_link: &state.mail.link(paths::ACCOUNT),
        secure_link: &secure_link,
    });
    state.mail.send(&state.db, &user.email, &content).await?;
    tracing::info!(target: "security", event = "new_device_alert", user_id = user.id, ip = %client.ip_text(), "sign-in from a new device mailed to the owner");
    audit::record(state, Record::own(Event::NewDeviceAlert, user.id, client)).await;
    Ok(())
}

/// The address of the account a "This wasn't me" link can still secure: what its page
/// checks before it offers the button.
///
/// # Errors
/// [`AppError::InvalidLink`] for an unknown, expired or used link; database failures.
pub async fn check_link(state: &AppState, token: &str) -> Result<String, AppError> {
    let hash = hash_presented(token).ok_or(AppError::InvalidLink)?;
    let (_, email) = db::alerts::usable_link(&state.db, &hash, now_millis())
        .await?
        .ok_or(AppError::InvalidLink)?;
    Ok(email)
}

/// "This wasn't me": secures the account of the link (see the module) and returns the page
/// where the person chooses a new password (`/reset-password?token=…`, a fresh reset link).
///
/// # Errors
/// [`AppError::InvalidLink`] for an unknown, expired or used link (also when a concurrent
/// request used it first); database failures.
pub async fn secure(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<String, AppError> {
    let hash = hash_presented(token).ok_or(AppError::InvalidLink)?;
    let secured = db::alerts::secure(&state.db, &hash, now_millis(), SECURED)
        .await?
        .ok_or(AppError::InvalidLink)?;
    let user_id = secured.user_id;
    tracing::warn!(target: "security", event = "account_secured", user_id, ip = %client.ip_text(), sessions_ended = secured.sessions_ended, passkeys_suspended = secured.passkeys_suspended, "\"This wasn't me\": every session ended, passkeys suspended, device cookies disowned");
    let detail = format!(
        "{} sessions ended, {} passkeys suspended",
        secured.sessions_ended, secured.passkeys_suspended
    );
    let record = Record {
        actor: None,
        ..Record::own(Event::AccountSecured, user_id, client)
    };
    audit::record(state, record.detail(&detail)).await;
    let user = db::users::find_by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::InvalidLink)?;
    super::email::reset_page_after_securing(state, &user).await
}
