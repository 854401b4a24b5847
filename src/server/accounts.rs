//! Sign-up, sign-in and sessions: the one logic path behind every front door.

use tower_cookies::Cookies;

use super::{
    attempt_limits,
    auth::{ClientInfo, cookie},
    context::Principal,
    db,
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
    Ok(user)
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
) -> Result<User, AppError> {
    let result = check_credentials(state, email, password, client, cookies).await;
    state.metrics.login(LoginOutcome::of(&result));
    result
}

/// [`verify_login`] without the metrics: every way it can end is counted in one place.
async fn check_credentials(
    state: &AppState,
    email: &str,
    password: String,
    client: &ClientInfo,
    cookies: &Cookies,
) -> Result<User, AppError> {
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
            attempt_limits::login_succeeded(state, &attempt, cookies).await?;
            if disabled {
                tracing::warn!(target: "security", event = "login_disabled_account", user_id = user.id, ip = %client.ip_text(), "login refused: account disabled");
                return Err(AppError::AccountDisabled);
            }
            Ok(user)
        }
        _ => {
            attempt_limits::login_failed(state, &attempt).await?;
            tracing::warn!(target: "security", event = "login_failed", ip = %client.ip_text(), known_device = attempt.from_known_device(), "failed login attempt");
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
    let hash = state.hasher.hash(new_password).await?;
    db::users::set_password_hash(&state.db, user.id, &hash).await?;
    let ended = sessions::end_all_except(
        state,
        user.id,
        Some(&principal.session_id),
        reason::PASSWORD_CHANGED,
    )
    .await?;
    tracing::info!(target: "security", event = "password_changed", user_id = user.id, "password changed");
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
) -> Result<(), AppError> {
    for removal in cookie::removals(&state.config) {
        cookies.add(removal);
    }
    if let Some(p) = principal {
        sessions::end(state, p.user.id, &p.session_id, reason::LOGOUT).await?;
    }
    Ok(())
}
