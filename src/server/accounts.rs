//! Sign-up, sign-in and sessions: the one logic path behind every front door.

use tower_cookies::Cookies;

use super::{
    alerts, attempt_limits,
    audit::{self, Event, Record},
    auth::{ClientInfo, cookie},
    context::Principal,
    db,
    mail::templates::{self, Template, TwoStepChange},
    metrics::LoginOutcome,
    sessions::{self, Issued, reason},
    state::AppState,
    validate,
};
use crate::{
    error::AppError,
    model::{
        User,
        limits::{EMAIL_MAX, PASSWORD_MAX},
    },
};

/// Creates an account.
///
/// # Errors
/// [`AppError::Validation`] for bad input (including a common password),
/// [`AppError::EmailTaken`] when the email is already registered (also when a concurrent
/// request registered it a moment earlier), [`AppError::RateLimited`] when this address or
/// email has made too many attempts.
pub async fn register(
    state: &AppState,
    name: &str,
    email: &str,
    password: String,
    password_confirm: Option<&str>,
    client: &ClientInfo,
) -> Result<User, AppError> {
    attempt_limits::registration_attempt(state, &validate::normalize_email(email), client).await?;
    let valid = validate::registration(name, email, &password, password_confirm)?;
    let hash = state.hasher.hash(valid.password).await?;
    let user = db::users::insert(&state.db, &valid.email, &valid.name, &hash).await?;
    tracing::info!(target: "security", event = "account_created", user_id = user.id, ip = %client.ip_text(), "account created");
    audit::record(state, Record::own(Event::SignUp, user.id, client)).await;
    super::email::after_sign_up(state, &user).await;
    Ok(user)
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum Login {
    /// Signed in: start the session.
    Complete(User),
    /// Two-step sign-in is on: ask for a code (`two_step::begin`) before any session exists.
    NeedsCode(User),
}

/// Checks an email and password.
///
/// Unknown email and wrong password give the same error after the same argon2 work and the
/// same database writes, so neither the answer nor its timing tells whether an account exists.
///
/// # Errors
/// [`AppError::InvalidCredentials`] when they do not match an account,
/// [`AppError::RateLimited`] while this client has to wait (`attempt_limits`: never for a
/// known device because of others' failures), [`AppError::AccountDisabled`] for a disabled
/// account's right password.
pub async fn verify_login(
    state: &AppState,
    email: &str,
    password: String,
    client: &ClientInfo,
    cookies: &Cookies,
) -> Result<Login, AppError> {
    let result = check_credentials(state, email, password, client, cookies).await;
    let outcome = result
        .as_ref()
        .map(|login| matches!(login, Login::NeedsCode(_)))
        .map_err(Clone::clone);
    state.metrics.login(LoginOutcome::of(&outcome));
    result
}

/// [`verify_login`] without the metrics: every way it can end is counted in one place.
async fn check_credentials(
    state: &AppState,
    email: &str,
    password: String,
    client: &ClientInfo,
    cookies: &Cookies,
) -> Result<Login, AppError> {
    let email = validate::normalize_email(email);
    // Inputs no account can have are refused before any database or argon2 work.
    if email.is_empty() || email.len() > EMAIL_MAX || password.chars().count() > PASSWORD_MAX {
        return Err(AppError::InvalidCredentials);
    }
    let attempt = attempt_limits::check_login(state, &email, client, cookies).await?;
    let found = db::users::find_credentials(&state.db, &email).await?;
    let (user, hash, disabled) = match found {
        Some(c) => (Some(c.user), Some(c.password_hash), c.disabled),
        None => (None, None, false),
    };
    let matches = state
        .hasher
        .verify(validate::normalize_password(&password), hash)
        .await?;
    match user {
        Some(user) if matches => {
            // Two-step accounts: the password alone proves too little to forget this client's
            // failures or make it a known device; the second step does that.
            let needs_code = db::two_step::enabled(&state.db, user.id).await?;
            let seen = if needs_code {
                None
            } else {
                Some(attempt_limits::login_succeeded(state, &attempt, cookies).await?)
            };
            if disabled {
                tracing::warn!(target: "security", event = "login_disabled_account", user_id = user.id, ip = %client.ip_text(), "login refused: account disabled");
                let failed = Record {
                    actor: None,
                    ..Record::own(Event::LoginFailed, user.id, client)
                };
                audit::record(state, failed.detail(audit::detail::DISABLED_ACCOUNT)).await;
                return Err(AppError::AccountDisabled);
            }
            let Some(seen) = seen else {
                return Ok(Login::NeedsCode(user));
            };
            alerts::signed_in(state, &user, client, seen, alerts::Method::Password).await;
            audit::record(state, Record::own(Event::LoginSucceeded, user.id, client)).await;
            Ok(Login::Complete(user))
        }
        _ => {
            let throttled = attempt_limits::login_failed(state, &attempt).await?;
            tracing::warn!(target: "security", event = "login_failed", ip = %client.ip_text(), known_device = attempt.from_known_device(), "failed login attempt");
            // The account the attempt was aimed at, if there is one: its owner sees the attempt
            // in their activity. Never the email typed for an unknown account (it may be a
            // password typed into the wrong field).
            let subject = user.as_ref().map(|u| u.id);
            let detail = if subject.is_some() {
                ""
            } else {
                audit::detail::UNKNOWN_ACCOUNT
            };
            audit::failed_login(state, subject, client, detail, throttled).await;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Changes the signed-in person's password after checking the current one, and ends every
/// other session (whoever knew the old password is signed out everywhere else).
///
/// # Errors
/// [`AppError::Validation`] on `current_password` when it is wrong, or on `new_password` when
/// the policy refuses it; database failures.
pub async fn change_password(
    state: &AppState,
    principal: &Principal,
    current_password: String,
    new_password: &str,
    new_password_confirm: Option<&str>,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    let user = &principal.user;
    let mut errors = Vec::new();
    let new_password = validate::new_password(new_password, &user.email, "new_password")
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(new), Some(confirm)) = (&new_password, new_password_confirm)
        && validate::normalize_password(confirm) != *new
    {
        errors.push(crate::error::FieldError::new(
            "new_password_confirm",
            "The new passwords do not match.",
        ));
    }
    let stored = db::users::password_hash(&state.db, user.id).await?;
    let current_ok = current_password.chars().count() <= PASSWORD_MAX
        && state
            .hasher
            .verify(validate::normalize_password(&current_password), stored)
            .await?;
    if !current_ok {
        tracing::warn!(target: "security", event = "password_change_failed", user_id = user.id, "password change refused: wrong current password");
        errors.insert(
            0,
            crate::error::FieldError::new(
                "current_password",
                "Your current password is not correct.",
            ),
        );
    }
    let Some(new_password) = new_password.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    set_password(state, principal, new_password, client, "").await
}

/// Stores `password` (already checked against the policy) as the signed-in person's, ends
/// every other session and records `password_changed` with `detail`. Returns how many
/// sessions ended.
///
/// # Errors
/// Database failures; the hasher's overload (503).
pub async fn set_password(
    state: &AppState,
    principal: &Principal,
    password: String,
    client: &ClientInfo,
    detail: &str,
) -> Result<u64, AppError> {
    let user = &principal.user;
    let hash = state.hasher.hash(password).await?;
    db::users::set_password_hash(&state.db, user.id, &hash).await?;
    let ended = sessions::end_all_except(
        state,
        user.id,
        Some(&principal.session_id),
        reason::PASSWORD_CHANGED,
    )
    .await?;
    tracing::info!(target: "security", event = "password_changed", user_id = user.id, "password changed");
    let record = Record::own(Event::PasswordChanged, user.id, client).detail(detail);
    audit::record(state, record).await;
    let change = if detail == audit::detail::PASSWORD_ADDED {
        TwoStepChange::PasswordAdded
    } else {
        TwoStepChange::PasswordChanged
    };
    alerts::security_mail(state, user, |secure_link, account_link| {
        templates::render(Template::TwoStepChanged {
            name: &user.name,
            change,
            account_link,
            secure_link,
        })
    })
    .await;
    Ok(ended)
}

/// Starts a browser session: a new session row, and fresh access and refresh cookies that
/// replace whatever the browser held before (a cookie planted before login is never kept).
///
/// # Errors
/// Database failures; [`AppError::Internal`] if signing fails.
pub async fn sign_in_browser(
    state: &AppState,
    cookies: &Cookies,
    user: &User,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let issued = sessions::start(state, user, client).await?;
    set_browser_cookies(state, cookies, &issued);
    Ok(())
}

/// Starts the second step of a browser sign-in: a challenge bound to this browser by an
/// HttpOnly cookie. The auth cookies the browser held are cleared: whoever is signing in now
/// is not signed in as anyone until the code is right.
///
/// # Errors
/// Database failures; [`AppError::Internal`] if the OS random generator fails.
pub async fn ask_for_code(
    state: &AppState,
    cookies: &Cookies,
    user: &User,
) -> Result<(), AppError> {
    let token = super::two_step::begin(state, user, db::two_step::Channel::Browser).await?;
    clear_browser_cookies(state, cookies);
    super::two_step::set_cookie(&state.config, cookies, token);
    Ok(())
}

/// Puts a token pair into the browser's cookies.
pub fn set_browser_cookies(state: &AppState, cookies: &Cookies, issued: &Issued) {
    cookies.add(cookie::access(
        &state.config,
        &issued.access,
        issued.access_ttl,
    ));
    cookies.add(cookie::refresh(
        &state.config,
        &issued.refresh,
        issued.refresh_ttl,
    ));
}

/// Ends a browser session: revokes it server-side (so a copied cookie stops working too) and
/// expires both auth cookies with matching attributes.
///
/// # Errors
/// Database failures (the cookies are cleared regardless).
pub async fn sign_out_browser(
    state: &AppState,
    cookies: &Cookies,
    principal: Option<&Principal>,
    client: &ClientInfo,
) -> Result<(), AppError> {
    clear_browser_cookies(state, cookies);
    if let Some(p) = principal {
        log_out(state, p, client).await?;
    }
    Ok(())
}

/// Expires both auth cookies, with the attributes they were set with (or the browser keeps
/// them).
pub fn clear_browser_cookies(state: &AppState, cookies: &Cookies) {
    for removal in cookie::removals(&state.config) {
        cookies.add(removal);
    }
}

/// Ends the caller's own session (logout), whichever front door they came through.
///
/// # Errors
/// Database failures.
pub async fn log_out(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let user_id = principal.user.id;
    if sessions::end(state, user_id, &principal.session_id, reason::LOGOUT).await? {
        audit::record(state, Record::own(Event::Logout, user_id, client)).await;
    }
    Ok(())
}

/// Ends one of the caller's other sessions. Returns whether there was such a live session.
///
/// # Errors
/// Database failures.
pub async fn end_own_session(
    state: &AppState,
    principal: &Principal,
    session_id: &str,
    client: &ClientInfo,
) -> Result<bool, AppError> {
    let user_id = principal.user.id;
    let ended = sessions::end(state, user_id, session_id, reason::REVOKED_BY_USER).await?;
    if ended {
        audit::record(state, Record::own(Event::SessionRevoked, user_id, client)).await;
    }
    Ok(ended)
}

/// Ends every session of the caller except the current one. Returns how many it ended.
///
/// # Errors
/// Database failures.
pub async fn end_other_sessions(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    let user_id = principal.user.id;
    let keep = Some(principal.session_id.as_str());
    let ended = sessions::end_all_except(state, user_id, keep, reason::SIGN_OUT_OTHERS).await?;
    if ended > 0 {
        let record = Record::own(Event::SessionRevoked, user_id, client);
        audit::record(state, record.detail(audit::detail::OTHER_SESSIONS)).await;
    }
    Ok(ended)
}

/// Whether `password` is account `user_id`'s (argon2, off the async runtime). A password longer
/// than any account can have is wrong without hashing it.
///
/// # Errors
/// Database failures; the hasher's overload (503).
pub async fn password_matches(
    state: &AppState,
    user_id: i64,
    password: String,
) -> Result<bool, AppError> {
    if password.chars().count() > PASSWORD_MAX {
        return Ok(false);
    }
    let stored = db::users::password_hash(&state.db, user_id).await?;
    state
        .hasher
        .verify(validate::normalize_password(&password), stored)
        .await
}

/// Deletes the signed-in person's own account after checking their password: their tasks,
/// sessions and refresh tokens go with it (the foreign keys cascade), so every session ends.
///
/// # Errors
/// [`AppError::Validation`] on `password` when it is wrong; [`AppError::AdminRule`] when they
/// are the last enabled administrator; database failures.
pub async fn delete_account(
    state: &AppState,
    principal: &Principal,
    password: String,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let user = &principal.user;
    if !db::passkeys::has_password(&state.db, user.id).await? {
        // Made with a passkey only: nothing to type, so a recent sign-in stands in for it.
        super::passkeys::require_recent_sign_in(state, principal).await?;
    } else if !password_matches(state, user.id, password).await? {
        tracing::warn!(target: "security", event = "account_deletion_refused", user_id = user.id, "account deletion refused: wrong password");
        return Err(AppError::field("password", "Your password is not correct."));
    }
    match db::users::delete(&state.db, user.id).await? {
        db::users::Guarded::Done => {}
        // Deleted a moment ago by another request (or an administrator).
        db::users::Guarded::NotFound => return Err(AppError::Unauthorized),
        db::users::Guarded::LastAdmin => {
            return Err(crate::error::AdminRule::LastAdmin.into());
        }
    }
    tracing::info!(target: "security", event = "account_deleted", user_id = user.id, "account deleted by its owner");
    audit::record(state, Record::own(Event::AccountDeleted, user.id, client)).await;
    Ok(())
}

/// Everything Tasks keeps about a person, for "Download my data".
#[derive(Debug)]
pub struct Export {
    pub user: User,
    pub tasks: Vec<crate::model::Task>,
    pub sessions: Vec<crate::model::SessionInfo>,
    pub activity: Vec<db::audit::EventRow>,
}

/// Most activity entries an export holds (the newest; older ones age out by retention).
const EXPORT_ACTIVITY_MAX: i64 = 10_000;

/// Collects the signed-in person's data, and records that they downloaded it.
///
/// # Errors
/// Database failures.
pub async fn export(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
) -> Result<Export, AppError> {
    let user = principal.user.clone();
    let tasks = db::tasks::page(&state.db, user.id, None, None, i64::MAX).await?;
    let sessions = sessions::list(state, user.id, &principal.session_id).await?;
    let activity = db::audit::page(&state.db, Some(user.id), None, EXPORT_ACTIVITY_MAX).await?;
    audit::record(state, Record::own(Event::DataExported, user.id, client)).await;
    Ok(Export {
        user,
        tasks,
        sessions,
        activity,
    })
}
