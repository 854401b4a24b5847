//! Sign-up, sign-in and sessions: the one logic path behind every front door.

use tower_cookies::Cookies;

use super::{
    auth::{cookie, jwt::AccessToken},
    db,
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

/// Pages a `next` parameter may send a person back to after login. Anything else (other
/// sites, `//evil.example`, `javascript:`) falls back to the task list: no open redirect.
const NEXT_ALLOWED: &[&str] = &["/tasks"];
const NEXT_DEFAULT: &str = "/tasks";

/// Creates an account.
///
/// # Errors
/// [`AppError::Validation`] for bad input, [`AppError::EmailTaken`] when the email is already
/// registered (also when a concurrent request registered it a moment earlier).
pub async fn register(
    state: &AppState,
    name: &str,
    email: &str,
    password: String,
    password_confirm: Option<&str>,
) -> Result<User, AppError> {
    let valid = validate::registration(name, email, &password, password_confirm)?;
    let hash = state.hasher.hash(password).await?;
    let user = db::users::insert(&state.db, &valid.email, &valid.name, &hash).await?;
    tracing::info!(user_id = user.id, "account created");
    Ok(user)
}

/// Checks an email and password.
///
/// Unknown email and wrong password give the same error after the same argon2 work, so neither
/// the answer nor its timing tells whether an account exists.
///
/// # Errors
/// [`AppError::InvalidCredentials`] when they do not match an account.
pub async fn authenticate(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<User, AppError> {
    let email = validate::normalize_email(email);
    // Inputs no account can have are refused before any database or argon2 work.
    if email.is_empty() || email.len() > EMAIL_MAX || password.chars().count() > PASSWORD_MAX {
        return Err(AppError::InvalidCredentials);
    }
    let found = db::users::find_credentials(&state.db, &email).await?;
    let (user, hash) = match found {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    let matches = state.hasher.verify(password, hash).await?;
    match user {
        Some(user) if matches => Ok(user),
        _ => {
            tracing::info!(target: "security", event = "login_failed", "failed login attempt");
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Issues an access token for `user`.
///
/// # Errors
/// [`AppError::Internal`] if signing fails.
pub fn issue_token(state: &AppState, user: &User) -> Result<AccessToken, AppError> {
    state.jwt.issue(user.id)
}

/// Starts a browser session: issues a token and puts it in the auth cookie.
///
/// # Errors
/// [`AppError::Internal`] if signing fails.
pub fn sign_in_browser(state: &AppState, cookies: &Cookies, user: &User) -> Result<(), AppError> {
    let token = issue_token(state, user)?;
    cookies.add(cookie::session(&state.config, &token, state.jwt.ttl()));
    tracing::info!(user_id = user.id, "signed in");
    Ok(())
}

/// Ends a browser session by expiring the auth cookie with matching attributes.
pub fn sign_out_browser(state: &AppState, cookies: &Cookies) {
    cookies.add(cookie::removal(&state.config));
}

/// Where to send a person after login: `next` if it is one of our own pages, else the tasks.
pub fn safe_next(next: Option<&str>) -> &'static str {
    let Some(next) = next else {
        return NEXT_DEFAULT;
    };
    NEXT_ALLOWED
        .iter()
        .find(|allowed| **allowed == next)
        .copied()
        .unwrap_or(NEXT_DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_accepts_only_our_own_pages() {
        assert_eq!(safe_next(Some("/tasks")), "/tasks");
        for hostile in [
            "https://evil.example/",
            "//evil.example/tasks",
            "/\\evil.example",
            "javascript:alert(1)",
            "/tasks@evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), NEXT_DEFAULT, "{hostile}");
        }
        assert_eq!(safe_next(None), NEXT_DEFAULT);
    }
}
