//! Login and registration rate limits, keyed on the normalized account and on the client IP.
//!
//! Counters live in the database (`rate_limits`), so every replica sees the same counts. Login
//! counts failures only; while an account or an IP is over its limit, every login attempt for
//! it is refused with the same 429, even one with the right password, so guessing cannot go on
//! in the background.

use super::{
    auth::{ClientInfo, refresh::sha256_hex},
    db::{self, duration_millis, now_millis},
    state::AppState,
};
use crate::error::AppError;

/// The two counter keys of an attempt. The email is stored as its SHA-256, so the counters
/// table is no list of who tried to sign in.
fn keys(kind: &str, email: &str, client: &ClientInfo) -> [String; 2] {
    [
        format!("{kind}:account:{}", sha256_hex(email)),
        format!("{kind}:ip:{}", client.ip_text()),
    ]
}

/// Seconds until a window that started at `window_start` ends (at least 1).
fn retry_after(window_start: i64, window_ms: i64, now: i64) -> u64 {
    let remaining_ms = (window_start + window_ms - now).max(0);
    u64::try_from(remaining_ms)
        .unwrap_or(0)
        .div_ceil(1000)
        .max(1)
}

/// Refuses a login for `email` (normalized) from `client` while either is locked out.
///
/// # Errors
/// [`AppError::RateLimited`] with the seconds until the lockout ends; database failures.
pub async fn check_login(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let limits = state.config.limits;
    let window = duration_millis(limits.window);
    let now = now_millis();
    let [account, ip] = keys("login", email, client);
    let mut wait = 0;
    for (key, max) in [
        (account, limits.login_failures_per_account),
        (ip, limits.login_failures_per_ip),
    ] {
        if let Some(counted) = db::rate_limits::current(&state.db, &key, now, window).await?
            && counted.count >= i64::from(max)
        {
            wait = wait.max(retry_after(counted.window_start, window, now));
        }
    }
    refuse_while_waiting(
        wait,
        "login_rate_limited",
        client,
        "login refused: too many failed attempts for this account or address",
    )
}

/// Counts a failed login against the account and the IP.
///
/// # Errors
/// Database failures.
pub async fn login_failed(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let window = duration_millis(state.config.limits.window);
    let now = now_millis();
    for key in keys("login", email, client) {
        db::rate_limits::hit(&state.db, &key, now, window).await?;
    }
    Ok(())
}

/// Forgets the account's failures after a successful login (the IP's count stays: one address
/// guessing many accounts is still guessing).
///
/// # Errors
/// Database failures.
pub async fn login_succeeded(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let [account, _] = keys("login", email, client);
    db::rate_limits::clear(&state.db, &account).await
}

/// Counts a registration attempt and refuses it when the IP or the email is over its limit.
///
/// # Errors
/// [`AppError::RateLimited`]; database failures.
pub async fn registration_attempt(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let limits = state.config.limits;
    let window = duration_millis(limits.window);
    let now = now_millis();
    let [account, ip] = keys("register", email, client);
    let mut wait = 0;
    for (key, max) in [
        (account, limits.registrations_per_account),
        (ip, limits.registrations_per_ip),
    ] {
        let counted = db::rate_limits::hit(&state.db, &key, now, window).await?;
        if counted.count > i64::from(max) {
            wait = wait.max(retry_after(counted.window_start, window, now));
        }
    }
    refuse_while_waiting(
        wait,
        "registration_rate_limited",
        client,
        "registration refused: too many attempts from this address or for this email",
    )
}

/// `Ok` when `wait` is 0; otherwise logs the refusal as a security event and returns the 429.
fn refuse_while_waiting(
    wait: u64,
    event: &str,
    client: &ClientInfo,
    reason: &str,
) -> Result<(), AppError> {
    if wait == 0 {
        return Ok(());
    }
    tracing::warn!(
        target: "security",
        event,
        ip = %client.ip_text(),
        retry_after_secs = wait,
        "{reason}"
    );
    Err(AppError::RateLimited {
        retry_after_secs: wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_keys_do_not_hold_the_email() {
        let client = ClientInfo {
            ip: Some("192.0.2.1".parse().unwrap()),
            user_agent: String::new(),
        };
        let [account, ip] = keys("login", "ada@example.com", &client);
        assert!(!account.contains("ada"), "{account}");
        assert!(account.starts_with("login:account:") && account.len() == 14 + 64);
        assert_eq!(ip, "login:ip:192.0.2.1");
        assert_ne!(account, keys("login", "bob@example.com", &client)[0]);
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after(0, 60_000, 0), 60);
        assert_eq!(retry_after(0, 60_000, 59_001), 1);
        assert_eq!(retry_after(0, 60_000, 70_000), 1);
    }
}
