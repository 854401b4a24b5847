//! The flows that go through a person's mailbox: verifying the address, resetting a forgotten
//! password, changing the address. One logic path for the pages, the plain form posts and the
//! REST API.
//!
//! Every link carries a random 256-bit token; only its SHA-256 is stored (`email_tokens`). A
//! link works once, until it expires, and only while it is the newest of its kind for the
//! account and the account's address is still the one it was sent to. Links are built on
//! `PUBLIC_URL`, never on a request's Host header.

use std::time::Duration;

use super::{
    accounts, attempt_limits,
    audit::{self, Event, Record},
    auth::{
        ClientInfo,
        refresh::{RefreshToken, hash_presented},
    },
    context::Principal,
    db::{self, duration_millis, mail::Purpose, now_millis},
    mail::{Template, templates},
    sessions::reason,
    state::AppState,
    validate,
};
use crate::{
    error::{AppError, FieldError},
    model::{User, limits::EMAIL_MAX},
    paths,
};

/// How long a password-reset link works.
pub const RESET_VALID_FOR: Duration = Duration::from_secs(30 * 60);
/// How long a verification link works.
pub const VERIFY_VALID_FOR: Duration = Duration::from_secs(48 * 3600);
/// How long an email-change link works.
pub const CHANGE_VALID_FOR: Duration = Duration::from_secs(24 * 3600);

/// "30 minutes", "48 hours": how a mail says how long its link works.
fn spoken(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    if minutes.is_multiple_of(60) {
        format!("{} hours", minutes / 60)
    } else {
        format!("{minutes} minutes")
    }
}

/// Makes a link of `purpose` for `user` (replacing the account's older ones), sent to `email`;
/// returns the link's full address (`PUBLIC_URL` + `page?token=…`).
async fn new_link(
    state: &AppState,
    user_id: i64,
    purpose: Purpose,
    email: &str,
    valid_for: Duration,
    page: &str,
) -> Result<String, AppError> {
    // The same generator and size as refresh tokens: 256 random bits, base64url.
    let token = RefreshToken::generate()?;
    let now = now_millis();
    db::mail::replace_token(
        &state.db,
        &token.hash(),
        user_id,
        purpose,
        email,
        now,
        now + duration_millis(valid_for),
    )
    .await?;
    Ok(state.mail.link(&format!("{page}?token={}", token.expose())))
}

/// Mails `user` a link that verifies their current address.
///
/// # Errors
/// Database failures.
async fn send_verification(state: &AppState, user: &User) -> Result<(), AppError> {
    let link = new_link(
        state,
        user.id,
        Purpose::VerifyEmail,
        &user.email,
        VERIFY_VALID_FOR,
        paths::VERIFY_EMAIL,
    )
    .await?;
    let content = templates::render(Template::VerifyEmail {
        name: &user.name,
        email: &user.email,
        link: &link,
        valid_for: &spoken(VERIFY_VALID_FOR),
    });
    state.mail.send(&state.db, &user.email, &content).await
}

/// After a sign-up: the verification mail, when mail is on. Best effort: the account exists
/// already, and the person can ask for the mail again, so a failure is logged, not returned.
pub async fn after_sign_up(state: &AppState, user: &User) {
    if !state.mail.enabled() {
        return;
    }
    if let Err(err) = send_verification(state, user).await {
        tracing::error!(user_id = user.id, error = %err, "could not queue the verification mail of a new account; the person can ask for it again from the banner");
    }
}

/// "Send again": another verification mail for the signed-in person (the older link stops
/// working). Nothing is sent when the address is verified already.
///
/// # Errors
/// [`AppError::MailUnavailable`] when this server sends no mail, [`AppError::RateLimited`],
/// database failures.
pub async fn resend_verification(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if !state.mail.enabled() {
        return Err(AppError::MailUnavailable);
    }
    let user = &principal.user;
    attempt_limits::mail_request(state, &user.email, client).await?;
    if user.email_verified {
        return Ok(());
    }
    send_verification(state, user).await
}

/// Opens a verification link: the address it was sent to is verified. Opening it again after
/// that (a person clicking twice, or a mail scanner that opened it first) still answers with
/// the verified address.
///
/// # Errors
/// [`AppError::InvalidLink`] for an unknown, expired or replaced link, or one sent to an
/// address the account no longer has; database failures.
pub async fn verify_email(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<String, AppError> {
    let hash = hash_presented(token).ok_or(AppError::InvalidLink)?;
    let row = db::mail::find_token(&state.db, &hash, Purpose::VerifyEmail)
        .await?
        .ok_or(AppError::InvalidLink)?;
    if row.used_at.is_some() && row.email == row.account_email {
        return Ok(row.email);
    }
    let (user_id, email) = db::mail::verify_email(&state.db, &hash, now_millis())
        .await?
        .ok_or(AppError::InvalidLink)?;
    tracing::info!(target: "security", event = "email_verified", user_id, "email address verified");
    let record = Record {
        actor: None,
        ..Record::own(Event::EmailVerified, user_id, client)
    };
    audit::record(state, record).await;
    Ok(email)
}

/// "Forgot your password?": mails a reset link if an enabled account has `email`. The answer
/// and its timing are the same whether or not one does: after the rate limits (counted for
/// every address alike), the lookup and the mail happen in the background.
///
/// # Errors
/// [`AppError::MailUnavailable`] when this server sends no mail, [`AppError::RateLimited`],
/// database failures of the rate limits.
pub async fn request_password_reset(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if !state.mail.enabled() {
        return Err(AppError::MailUnavailable);
    }
    let email = validate::normalize_email(email);
    if email.is_empty() || email.len() > EMAIL_MAX {
        return Err(AppError::field(
            "email",
            "Enter the email address of your account.",
        ));
    }
    attempt_limits::mail_request(state, &email, client).await?;
    let state = state.clone();
    let client = client.clone();
    // In the request's span, so its log lines keep the request id.
    let task = async move {
        if let Err(err) = send_reset_link(&state, &email, &client).await {
            tracing::error!(error = %err, "could not queue a password-reset mail; the person will have to ask again");
        }
    };
    tokio::spawn(tracing::Instrument::in_current_span(task));
    Ok(())
}

async fn send_reset_link(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let Some(found) = db::users::find_credentials(&state.db, email).await? else {
        tracing::info!(target: "security", event = "password_reset_unknown", ip = %client.ip_text(), "password reset asked for an address no account has; nothing sent");
        return Ok(());
    };
    let user = found.user;
    if found.disabled {
        tracing::info!(target: "security", event = "password_reset_disabled", user_id = user.id, "password reset asked for a disabled account; nothing sent");
        return Ok(());
    }
    let link = new_link(
        state,
        user.id,
        Purpose::PasswordReset,
        &user.email,
        RESET_VALID_FOR,
        paths::RESET_PASSWORD,
    )
    .await?;
    let content = templates::render(Template::PasswordReset {
        name: &user.name,
        link: &link,
        valid_for: &spoken(RESET_VALID_FOR),
    });
    state.mail.send(&state.db, &user.email, &content).await?;
    tracing::info!(target: "security", event = "password_reset_requested", user_id = user.id, ip = %client.ip_text(), "password reset link mailed");
    let record = Record {
        actor: None,
        ..Record::own(Event::PasswordResetRequested, user.id, client)
    };
    audit::record(state, record).await;
    Ok(())
}

/// The account a password-reset link is for, if it can still be used: what the reset page
/// checks before it shows the form.
///
/// # Errors
/// [`AppError::InvalidLink`] for an unknown, expired, used or replaced link;
/// [`AppError::AccountDisabled`] when the account was disabled since; database failures.
pub async fn check_reset_link(state: &AppState, token: &str) -> Result<String, AppError> {
    let hash = hash_presented(token).ok_or(AppError::InvalidLink)?;
    let row = db::mail::find_token(&state.db, &hash, Purpose::PasswordReset)
        .await?
        .filter(|row| {
            row.used_at.is_none() && row.expires_at > now_millis() && row.email == row.account_email
        })
        .ok_or(AppError::InvalidLink)?;
    if row.disabled {
        return Err(AppError::AccountDisabled);
    }
    Ok(row.email)
}

/// Sets a new password through a reset link: the same policy as at sign-up, every session of
/// the account ended, the link spent, the address counted as verified, and a notice mailed.
/// Returns the account, for the browser to sign in afresh.
///
/// # Errors
/// [`AppError::InvalidLink`], [`AppError::AccountDisabled`], [`AppError::Validation`] on
/// `new_password` / `new_password_confirm`; database failures.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
    new_password_confirm: Option<&str>,
    client: &ClientInfo,
) -> Result<User, AppError> {
    let email = check_reset_link(state, token).await?;
    let mut errors = Vec::new();
    let password = validate::new_password(new_password, &email, "new_password")
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(new), Some(confirm)) = (&password, new_password_confirm)
        && validate::normalize_password(confirm) != *new
    {
        errors.push(FieldError::new(
            "new_password_confirm",
            "The new passwords do not match.",
        ));
    }
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let hash = state.hasher.hash(password).await?;
    let token_hash = hash_presented(token).ok_or(AppError::InvalidLink)?;
    let user_id = db::mail::reset_password(
        &state.db,
        &token_hash,
        hash.expose(),
        now_millis(),
        reason::PASSWORD_RESET,
    )
    .await?
    .ok_or(AppError::InvalidLink)?;
    tracing::info!(target: "security", event = "password_reset", user_id, ip = %client.ip_text(), "password reset through a mailed link; every session ended");
    let record = Record {
        actor: None,
        ..Record::own(Event::PasswordReset, user_id, client)
    };
    audit::record(state, record).await;
    let user = db::users::find_by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::InvalidLink)?;
    let forgot_link = state.mail.link(paths::FORGOT_PASSWORD);
    super::alerts::security_mail(state, &user, |secure_link, _| {
        templates::render(Template::PasswordChanged {
            name: &user.name,
            forgot_link: &forgot_link,
            secure_link,
        })
    })
    .await;
    Ok(user)
}

/// After "This wasn't me": a fresh password-reset link for `user` (replacing older ones), as
/// the page to go to (`/reset-password?token=…`). Whoever holds the "This wasn't me" link holds
/// the mailbox a reset link would go to, so it is handed over directly.
///
/// # Errors
/// Database failures; [`AppError::Internal`] if the OS random generator fails.
pub async fn reset_page_after_securing(state: &AppState, user: &User) -> Result<String, AppError> {
    let token = RefreshToken::generate()?;
    let now = now_millis();
    db::mail::replace_token(
        &state.db,
        &token.hash(),
        user.id,
        Purpose::PasswordReset,
        &user.email,
        now,
        now + duration_millis(RESET_VALID_FOR),
    )
    .await?;
    Ok(format!(
        "{}?token={}",
        paths::RESET_PASSWORD,
        token.expose()
    ))
}

/// Asks to move the signed-in person's account to `new_email` (their password is required): a
/// link goes to the new address, a notice to the current one; nothing changes until the link
/// is opened.
///
/// # Errors
/// [`AppError::Validation`] on `new_email` (invalid, the current one, another account's) or
/// `password` (wrong); [`AppError::MailUnavailable`]; [`AppError::RateLimited`]; database
/// failures.
pub async fn request_email_change(
    state: &AppState,
    principal: &Principal,
    new_email: &str,
    password: String,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if !state.mail.enabled() {
        return Err(AppError::MailUnavailable);
    }
    let user = &principal.user;
    let mut errors = Vec::new();
    let new_email = match validate::email(new_email, "new_email") {
        Ok(email) if email == user.email => {
            errors.push(FieldError::new(
                "new_email",
                "That is already your address. Enter the new one.",
            ));
            None
        }
        Ok(email) => Some(email),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if !accounts::password_matches(state, user.id, password).await? {
        tracing::warn!(target: "security", event = "email_change_refused", user_id = user.id, "email change refused: wrong password");
        errors.insert(
            0,
            FieldError::new("password", "Your password is not correct."),
        );
    }
    let Some(new_email) = new_email.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    attempt_limits::mail_request(state, &new_email, client).await?;
    if db::users::find_credentials(&state.db, &new_email)
        .await?
        .is_some()
    {
        return Err(AppError::field(
            "new_email",
            "Another account uses that address. Choose another one.",
        ));
    }
    let link = new_link(
        state,
        user.id,
        Purpose::ChangeEmail,
        &new_email,
        CHANGE_VALID_FOR,
        paths::CONFIRM_EMAIL,
    )
    .await?;
    let confirm = templates::render(Template::ConfirmNewEmail {
        name: &user.name,
        new_email: &new_email,
        link: &link,
        valid_for: &spoken(CHANGE_VALID_FOR),
    });
    state.mail.send(&state.db, &new_email, &confirm).await?;
    super::alerts::security_mail(state, user, |secure_link, account_link| {
        templates::render(Template::EmailChangeRequested {
            name: &user.name,
            new_email: &new_email,
            account_link,
            secure_link,
        })
    })
    .await;
    tracing::info!(target: "security", event = "email_change_requested", user_id = user.id, "email change asked for; confirmation link mailed to the new address");
    audit::record(
        state,
        Record::own(Event::EmailChangeRequested, user.id, client),
    )
    .await;
    Ok(())
}

/// Opens an email-change link: the account moves to the address the link was sent to, which
/// counts as verified. Opening it again afterwards answers with the same address.
///
/// # Errors
/// [`AppError::InvalidLink`]; [`AppError::EmailTaken`] when another account took the address
/// since; database failures.
pub async fn confirm_email_change(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<String, AppError> {
    let hash = hash_presented(token).ok_or(AppError::InvalidLink)?;
    let row = db::mail::find_token(&state.db, &hash, Purpose::ChangeEmail)
        .await?
        .ok_or(AppError::InvalidLink)?;
    if row.used_at.is_some() && row.email == row.account_email {
        return Ok(row.email);
    }
    match db::mail::change_email(&state.db, &hash, now_millis()).await? {
        db::mail::EmailChange::Changed {
            user_id, new_email, ..
        } => {
            tracing::info!(target: "security", event = "email_changed", user_id, "email address changed");
            let record = Record {
                actor: None,
                ..Record::own(Event::EmailChanged, user_id, client)
            };
            audit::record(state, record).await;
            Ok(new_email)
        }
        db::mail::EmailChange::Unusable => Err(AppError::InvalidLink),
        db::mail::EmailChange::Taken => Err(AppError::EmailTaken),
    }
}

/// Whether `user` may change their tasks: always, unless `REQUIRE_VERIFIED_EMAIL` is on and
/// their address is not verified.
///
/// # Errors
/// [`AppError::EmailNotVerified`].
pub fn may_write(state: &AppState, user: &User) -> Result<(), AppError> {
    if state.config.require_verified_email && !user.email_verified {
        return Err(AppError::EmailNotVerified);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(spoken(RESET_VALID_FOR), "30 minutes");
        assert_eq!(spoken(VERIFY_VALID_FOR), "48 hours");
        assert_eq!(spoken(CHANGE_VALID_FOR), "24 hours");
    }
}
