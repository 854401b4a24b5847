//! Login and registration rate limits, and the per-account limit on task changes.
//!
//! Counters live in the database (`rate_limits`), so every replica sees the same counts.
//!
//! Logins follow OWASP's device-cookie pattern, so that nobody can lock a person out of their
//! own account:
//!
//! - A **known device** (a browser or cookie-keeping client holding a valid device cookie for
//!   this account, set by its last successful sign-in) has a failure budget of its own:
//!   `LOGIN_FAILURES_PER_ACCOUNT` failures per window. Strangers' failures, the account's and
//!   the address's, never touch it. Past its budget it is treated as unknown.
//! - An **unknown client** is limited three ways, and each only delays it: per (account, client
//!   IP) `LOGIN_FAILURES_PER_ACCOUNT` failures per window; per client IP `LOGIN_FAILURES_PER_IP`;
//!   and per account, past `LOGIN_FAILURES_PER_ACCOUNT` failures from unknown clients, each
//!   further attempt must wait twice as long as the one before (1 s, 2 s, 4 s, ... counted
//!   from the window's start), so guessing slows to a crawl while the window lasts.
//!
//! Unknown emails go through exactly the same steps, so the answers never tell whether an
//! account exists. A refused attempt is `429` + `Retry-After` before any password check.

use tower_cookies::Cookies;

use super::{
    auth::{ClientInfo, cookie, refresh::sha256_hex},
    db::{self, duration_millis, now_millis},
    metrics::Limit,
    state::AppState,
};
use crate::error::AppError;

/// The counter keys of a registration attempt. The email is stored as its SHA-256, so the
/// counters table is no list of who tried to sign up. Per (email, address) rather than per
/// email, so that nobody else's attempts can block a person's own sign-up.
fn registration_keys(email: &str, client: &ClientInfo) -> [String; 2] {
    let ip = client.ip_text();
    [
        format!("register:account-ip:{}:{ip}", sha256_hex(email)),
        format!("register:ip:{ip}"),
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

/// Milliseconds an unknown client must wait before trying an account that already has
/// `failures` failed logins from unknown clients in a window that started `elapsed_ms` ago:
/// none up to `free`, then attempt `free + k` needs 2^(k-1) seconds since the window's start.
fn account_delay_ms(failures: i64, free: i64, elapsed_ms: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let exponent = u32::try_from(failures - free).unwrap_or(u32::MAX).min(40);
    let needed_ms = 1000_i64.saturating_mul(1_i64 << exponent);
    (needed_ms - elapsed_ms).max(0)
}

/// One login attempt, as [`check_login`] classified it.
#[derive(Debug)]
pub struct LoginAttempt {
    account: String,
    ip: String,
    /// The device id when the attempt came from a known device of this account.
    device: Option<String>,
}

impl LoginAttempt {
    fn device_key(device: &str) -> String {
        format!("login:device:{device}")
    }
    fn pair_key(&self) -> String {
        format!("login:account-ip:{}:{}", self.account, self.ip)
    }
    fn account_key(&self) -> String {
        format!("login:account:{}", self.account)
    }
    fn ip_key(&self) -> String {
        format!("login:ip:{}", self.ip)
    }

    /// Whether the attempt came from a device that signed in to this account before.
    pub fn from_known_device(&self) -> bool {
        self.device.is_some()
    }
}

/// Classifies a login for `email` (normalized) from `client` (known device or not) and refuses
/// it while that client has to wait.
///
/// # Errors
/// [`AppError::RateLimited`] with the seconds to wait; database failures.
pub async fn check_login(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
    cookies: &Cookies,
) -> Result<LoginAttempt, AppError> {
    let limits = state.config.limits;
    let window = duration_millis(limits.window);
    let now = now_millis();
    let account = sha256_hex(email);
    let mut device = previous_device(state, cookies, &account);
    if let Some(claims) = &device {
        // "This wasn't me" withdraws the allowance of every device cookie signed before it.
        let reset = db::alerts::devices_reset_at_by_email(&state.db, email).await?;
        if !signed_since(claims.iat, reset.unwrap_or(0)) {
            device = None;
        }
    }
    let device = device.map(|claims| claims.jti);
    let mut attempt = LoginAttempt {
        account,
        ip: client.ip_text(),
        device,
    };
    if let Some(device) = &attempt.device {
        let key = LoginAttempt::device_key(device);
        let over = db::rate_limits::current(&state.db, &key, now, window)
            .await?
            .is_some_and(|c| c.count >= i64::from(limits.login_failures_per_account));
        if !over {
            return Ok(attempt);
        }
        // A known device that used up its own budget is as good as unknown.
        attempt.device = None;
    }
    let free = i64::from(limits.login_failures_per_account);
    let mut wait_ms = 0_i64;
    for (key, max) in [
        (attempt.pair_key(), free),
        (attempt.ip_key(), i64::from(limits.login_failures_per_ip)),
    ] {
        if let Some(counted) = db::rate_limits::current(&state.db, &key, now, window).await?
            && counted.count >= max
        {
            wait_ms = wait_ms.max(counted.window_start + window - now);
        }
    }
    if let Some(counted) =
        db::rate_limits::current(&state.db, &attempt.account_key(), now, window).await?
    {
        let delay = account_delay_ms(counted.count, free, now - counted.window_start);
        // Never past the window's end, when the count starts again.
        wait_ms = wait_ms.max(delay.min(counted.window_start + window - now));
    }
    if wait_ms > 0 {
        let wait = u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000).max(1);
        refuse_while_waiting(
            state,
            Limit::Login,
            wait,
            "login_rate_limited",
            client,
            "login refused: too many failed attempts for this account or from this address",
        )?;
    }
    Ok(attempt)
}

/// Counts a failed login: against the device alone for a known device; otherwise against the
/// (account, address) pair, the account and the address. Returns whether this failure is the
/// one that starts a wait (a counter just reached its limit): the moment the audit trail
/// records as a lockout, once per counter and window however long an attacker keeps trying.
///
/// # Errors
/// Database failures.
pub async fn login_failed(state: &AppState, attempt: &LoginAttempt) -> Result<bool, AppError> {
    let limits = state.config.limits;
    let window = duration_millis(limits.window);
    let now = now_millis();
    let per_account = i64::from(limits.login_failures_per_account);
    let keys = match &attempt.device {
        Some(device) => vec![(LoginAttempt::device_key(device), per_account)],
        None => vec![
            (attempt.pair_key(), per_account),
            (attempt.account_key(), per_account),
            (attempt.ip_key(), i64::from(limits.login_failures_per_ip)),
        ],
    };
    let mut throttled = false;
    for (key, max) in keys {
        let counted = db::rate_limits::hit(&state.db, &key, now, window).await?;
        throttled |= counted.count == max;
    }
    Ok(throttled)
}

/// The device cookie this client holds for the account `account` (the SHA-256 of its
/// normalized email), if it is valid. Whether "This wasn't me" disowned it since is for the
/// caller to check ([`signed_since`]).
fn previous_device(
    state: &AppState,
    cookies: &Cookies,
    account: &str,
) -> Option<crate::server::auth::jwt::DeviceClaims> {
    cookies
        .get(cookie::device_name(&state.config))
        .and_then(|c| state.jwt.verify_device(c.value()))
        .filter(|claims| claims.sub == account)
}

/// Whether a device cookie issued at `iat` (Unix seconds) was signed at or after `reset_at` (Unix ms; the account's
/// `devices_reset_at`).
pub fn signed_since(iat: u64, reset_at: i64) -> bool {
    i64::try_from(iat)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000)
        .saturating_add(999)
        >= reset_at
}

/// Whether the client that just signed in held a device cookie of the account, and when it was
/// signed (`None`: it held none, so it may be a new device; see `server::alerts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenBefore(pub Option<u64>);

/// After a successful login: forgets this client's own failures and makes it a known device of
/// the account (a fresh device cookie). The account's count of strangers' failures stays, and
/// so does the address's: a success does not give guessers a new budget. Returns whether the
/// client held a device cookie of the account before.
///
/// # Errors
/// Database failures; [`AppError::Internal`] if signing the device token fails.
pub async fn login_succeeded(
    state: &AppState,
    attempt: &LoginAttempt,
    cookies: &Cookies,
) -> Result<SeenBefore, AppError> {
    let key = match &attempt.device {
        Some(device) => LoginAttempt::device_key(device),
        None => attempt.pair_key(),
    };
    db::rate_limits::clear(&state.db, &key).await?;
    let seen = SeenBefore(previous_device(state, cookies, &attempt.account).map(|c| c.iat));
    remember_device(state, &attempt.account, cookies)?;
    Ok(seen)
}

/// After a passkey sign-in to the account with normalized email `email`: makes this browser a
/// known device of it, and returns whether it was one before.
///
/// # Errors
/// [`AppError::Internal`] if signing the device token fails.
pub fn passkey_signed_in(
    state: &AppState,
    email: &str,
    cookies: &Cookies,
) -> Result<SeenBefore, AppError> {
    let account = sha256_hex(email);
    let seen = SeenBefore(previous_device(state, cookies, &account).map(|c| c.iat));
    remember_device(state, &account, cookies)?;
    Ok(seen)
}

fn passkey_start_key(client: &ClientInfo) -> String {
    format!("passkey:start:ip:{}", client.ip_text())
}

fn ip_failures_key(client: &ClientInfo) -> String {
    format!("login:ip:{}", client.ip_text())
}

/// How many passkey sign-ins one address may start per window, for each failure it may have
/// (`LOGIN_FAILURES_PER_IP`): a sign-in page load starts one, and the page restarts a refused
/// one at most a few times.
const PASSKEY_STARTS_PER_FAILURE: i64 = 4;

/// Counts a passkey sign-in start from `client` and refuses it while the address is over its
/// starts (`LOGIN_FAILURES_PER_IP` × 4 per window) or its failed sign-ins
/// (`LOGIN_FAILURES_PER_IP`, shared with passwords).
///
/// # Errors
/// [`AppError::RateLimited`]; database failures.
pub async fn passkey_sign_in_start(state: &AppState, client: &ClientInfo) -> Result<(), AppError> {
    let limits = state.config.limits;
    let window = duration_millis(limits.window);
    let now = now_millis();
    let per_ip = i64::from(limits.login_failures_per_ip);
    let mut wait = 0;
    let started = db::rate_limits::hit(&state.db, &passkey_start_key(client), now, window).await?;
    if started.count > per_ip.saturating_mul(PASSKEY_STARTS_PER_FAILURE) {
        wait = retry_after(started.window_start, window, now);
    }
    if let Some(failed) =
        db::rate_limits::current(&state.db, &ip_failures_key(client), now, window).await?
        && failed.count >= per_ip
    {
        wait = wait.max(retry_after(failed.window_start, window, now));
    }
    refuse_while_waiting(
        state,
        Limit::Login,
        wait,
        "passkey_sign_in_rate_limited",
        client,
        "passkey sign-in refused: too many attempts from this address",
    )
}

/// Refuses a passkey sign-in's finish while the address is over its failed sign-ins
/// (`LOGIN_FAILURES_PER_IP`, shared with passwords).
///
/// # Errors
/// [`AppError::RateLimited`]; database failures.
pub async fn passkey_sign_in_finish(state: &AppState, client: &ClientInfo) -> Result<(), AppError> {
    let limits = state.config.limits;
    let window = duration_millis(limits.window);
    let now = now_millis();
    let mut wait = 0;
    if let Some(failed) =
        db::rate_limits::current(&state.db, &ip_failures_key(client), now, window).await?
        && failed.count >= i64::from(limits.login_failures_per_ip)
    {
        wait = retry_after(failed.window_start, window, now);
    }
    refuse_while_waiting(
        state,
        Limit::Login,
        wait,
        "passkey_sign_in_rate_limited",
        client,
        "passkey sign-in refused: too many failed attempts from this address",
    )
}

/// Counts a refused passkey sign-in against the client's address (with password failures).
/// Returns whether this failure starts a wait.
///
/// # Errors
/// Database failures.
pub async fn passkey_failed(state: &AppState, client: &ClientInfo) -> Result<bool, AppError> {
    let window = duration_millis(state.config.limits.window);
    let counted =
        db::rate_limits::hit(&state.db, &ip_failures_key(client), now_millis(), window).await?;
    Ok(counted.count == i64::from(state.config.limits.login_failures_per_ip))
}

/// Makes this browser a known device of the account with normalized email `email` (after a
/// sign-up).
///
/// # Errors
/// [`AppError::Internal`] if signing the device token fails.
pub fn signed_up(state: &AppState, email: &str, cookies: &Cookies) -> Result<(), AppError> {
    remember_device(state, &sha256_hex(email), cookies)
}

fn remember_device(state: &AppState, account: &str, cookies: &Cookies) -> Result<(), AppError> {
    let device_id = uuid::Uuid::new_v4().to_string();
    let token = state
        .jwt
        .issue_device(account, &device_id, cookie::DEVICE_LIFETIME)?;
    cookies.add(cookie::device(&state.config, token));
    Ok(())
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
    let [account, ip] = registration_keys(email, client);
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
        state,
        Limit::Registration,
        wait,
        "registration_rate_limited",
        client,
        "registration refused: too many attempts from this address or for this email",
    )
}

/// Counts a request that sends a mail to `email` (normalized): a forgotten password, a
/// verification sent again, an email change. Refused past `MAIL_REQUESTS_PER_ADDRESS` for the
/// address (from anywhere: nobody can flood one inbox) or `MAIL_REQUESTS_PER_IP` from the
/// client's address. Counted whether or not an account has the address, so a refusal tells
/// nothing about accounts.
///
/// # Errors
/// [`AppError::RateLimited`]; database failures.
pub async fn mail_request(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let limits = state.config.limits;
    let window = duration_millis(limits.window);
    let now = now_millis();
    let mut wait = 0;
    for (key, max) in [
        (
            format!("mail:address:{}", sha256_hex(email)),
            limits.mail_requests_per_address,
        ),
        (
            format!("mail:ip:{}", client.ip_text()),
            limits.mail_requests_per_ip,
        ),
    ] {
        let counted = db::rate_limits::hit(&state.db, &key, now, window).await?;
        if counted.count > i64::from(max) {
            wait = wait.max(retry_after(counted.window_start, window, now));
        }
    }
    refuse_while_waiting(
        state,
        Limit::Mail,
        wait,
        "mail_request_rate_limited",
        client,
        "mail request refused: too many for this address or from this client",
    )
}

fn two_step_key(user_id: i64) -> String {
    format!("two-step:user:{user_id}")
}

/// Refuses a password-and-code check on the account page (turning two-step sign-in on or off,
/// new recovery codes) while the account has `LOGIN_FAILURES_PER_ACCOUNT` wrong ones in the
/// window: someone holding a stolen session cannot use these forms to guess codes.
///
/// # Errors
/// [`AppError::RateLimited`]; database failures.
pub async fn two_step_check(state: &AppState, user_id: i64) -> Result<(), AppError> {
    let limits = state.config.limits;
    let window = duration_millis(limits.window);
    let now = now_millis();
    let mut wait = 0;
    if let Some(counted) =
        db::rate_limits::current(&state.db, &two_step_key(user_id), now, window).await?
        && counted.count >= i64::from(limits.login_failures_per_account)
    {
        wait = retry_after(counted.window_start, window, now);
    }
    if wait > 0 {
        tracing::warn!(target: "security", event = "two_step_check_rate_limited", user_id, retry_after_secs = wait, "two-step change refused: too many wrong passwords or codes");
        state.metrics.rate_limited(Limit::Login);
        return Err(AppError::RateLimited {
            retry_after_secs: wait,
        });
    }
    Ok(())
}

/// Counts a wrong password or code at [`two_step_check`].
///
/// # Errors
/// Database failures.
pub async fn two_step_check_failed(state: &AppState, user_id: i64) -> Result<(), AppError> {
    let window = duration_millis(state.config.limits.window);
    db::rate_limits::hit(&state.db, &two_step_key(user_id), now_millis(), window).await?;
    Ok(())
}

/// The window [`task_write`] counts in.
const WRITE_WINDOW_MS: i64 = 60_000;

/// Counts one task change by `user_id` and refuses it past `WRITES_PER_MINUTE` in the current
/// minute. Counted in the database, so replicas share the count.
///
/// # Errors
/// [`AppError::RateLimited`] with the seconds until the minute ends; database failures.
pub async fn task_write(state: &AppState, user_id: i64) -> Result<(), AppError> {
    let now = now_millis();
    let key = format!("write:user:{user_id}");
    let counted = db::rate_limits::hit(&state.db, &key, now, WRITE_WINDOW_MS).await?;
    if counted.count > i64::from(state.config.writes_per_minute) {
        tracing::info!(user_id, "task change refused: WRITES_PER_MINUTE reached");
        state.metrics.rate_limited(Limit::TaskWrite);
        return Err(AppError::RateLimited {
            retry_after_secs: retry_after(counted.window_start, WRITE_WINDOW_MS, now),
        });
    }
    Ok(())
}

/// `Ok` when `wait` is 0; otherwise counts the refusal, logs it as a security event and returns
/// the 429.
fn refuse_while_waiting(
    state: &AppState,
    limit: Limit,
    wait: u64,
    event: &str,
    client: &ClientInfo,
    reason: &str,
) -> Result<(), AppError> {
    if wait == 0 {
        return Ok(());
    }
    state.metrics.rate_limited(limit);
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
            request_id: String::new(),
        };
        let [pair, ip] = registration_keys("ada@example.com", &client);
        assert!(!pair.contains("ada"), "{pair}");
        assert!(pair.starts_with("register:account-ip:") && pair.ends_with(":192.0.2.1"));
        assert_eq!(ip, "register:ip:192.0.2.1");
        assert_ne!(pair, registration_keys("bob@example.com", &client)[0]);
    }

    #[test]
    fn the_account_delay_doubles_past_the_free_attempts() {
        assert_eq!(account_delay_ms(0, 5, 0), 0);
        assert_eq!(account_delay_ms(4, 5, 0), 0);
        // The 6th attempt (5 failures so far) needs 1 s since the window's start, the 7th 2 s.
        assert_eq!(account_delay_ms(5, 5, 0), 1000);
        assert_eq!(account_delay_ms(5, 5, 400), 600);
        assert_eq!(account_delay_ms(5, 5, 1000), 0);
        assert_eq!(account_delay_ms(6, 5, 1000), 1000);
        assert_eq!(account_delay_ms(10, 5, 0), 32_000);
        // Never overflows, however many failures.
        assert!(account_delay_ms(i64::MAX, 5, 0) > 0);
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after(0, 60_000, 0), 60);
        assert_eq!(retry_after(0, 60_000, 59_001), 1);
        assert_eq!(retry_after(0, 60_000, 70_000), 1);
    }
}
