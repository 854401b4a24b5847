//! Two-step sign-in: setting up an authenticator app, recovery codes, turning it off, and the
//! second step of a sign-in. The one logic path behind the account page, the login pages, the
//! REST endpoints and `/admin`.
//!
//! A sign-in of an account with two-step sign-in on does not start a session after the
//! password: it starts a *challenge* (a random token, stored as its SHA-256) that lives
//! [`CHALLENGE_TTL`], allows [`MAX_WRONG_CODES`] wrong codes and works once. The browser keeps
//! the token in an HttpOnly cookie (so the step is bound to that browser); API clients get it
//! as the token endpoint's `mfa_token`. Wrong codes also count as failed logins
//! (`attempt_limits`), so the lockout and delays that protect passwords protect codes too.

use std::time::Duration;

use tower_cookies::{
    Cookies,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
};

use super::{
    attempt_limits,
    audit::{self, Event, Record},
    auth::{
        ClientInfo,
        refresh::{RefreshToken, sha256_hex},
        totp::{self, TotpSecret},
    },
    config::Config,
    context::Principal,
    db::{self, duration_millis, now_millis, two_step::Channel},
    mail::templates::{self, Template, TwoStepChange},
    metrics::LoginOutcome,
    sessions::{self, reason},
    state::AppState,
};
use crate::{
    error::{AppError, FieldError, TwoStepRule},
    model::{TwoStepSetup, TwoStepStatus, User},
};

/// How long a correct password waits for its code.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
/// Wrong codes a challenge allows; the last one ends it.
pub const MAX_WRONG_CODES: i64 = 5;

/// What the person answers the second step with.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A 6-digit code from the authenticator app.
    Code(String),
    /// One of the recovery codes.
    RecoveryCode(String),
}

impl Answer {
    /// The form field the answer came in, for an error next to it.
    fn field(&self) -> &'static str {
        match self {
            Self::Code(_) => "code",
            Self::RecoveryCode(_) => "recovery_code",
        }
    }

    fn wrong(&self, tries_left: Option<i64>) -> FieldError {
        let mut message = match self {
            Self::Code(_) => "That code is not right. Enter the newest 6-digit code your \
                              authenticator app shows for Tasks."
                .to_owned(),
            Self::RecoveryCode(_) => {
                "That recovery code is not right, or it was used before.".to_owned()
            }
        };
        match tries_left {
            Some(1) => message.push_str(" 1 try left."),
            Some(n) => message.push_str(&format!(" {n} tries left.")),
            None => {}
        }
        FieldError::new(self.field(), message)
    }
}

/// Whether the account's two-step sign-in is on, and its recovery codes left.
///
/// # Errors
/// Database failures.
pub async fn status(state: &AppState, user_id: i64) -> Result<TwoStepStatus, AppError> {
    let enabled = db::two_step::enabled(&state.db, user_id).await?;
    let recovery_codes_left = if enabled {
        db::two_step::recovery_codes_left(&state.db, user_id).await?
    } else {
        0
    };
    Ok(TwoStepStatus {
        enabled,
        recovery_codes_left,
    })
}

/// Counts a wrong code or password at a two-step change on the account page, and refuses the
/// check while the account is over `LOGIN_FAILURES_PER_ACCOUNT`: a stolen session cannot be
/// used to guess codes.
async fn guard_checks(state: &AppState, user_id: i64) -> Result<(), AppError> {
    attempt_limits::two_step_check(state, user_id).await
}

/// Starts setting up an authenticator app (the person's password is required): a new secret,
/// stored encrypted and unconfirmed until [`confirm`] gets a code made with it.
///
/// # Errors
/// [`AppError::Validation`] on `password` when it is wrong; [`TwoStepRule::AlreadyOn`];
/// [`AppError::RateLimited`]; database failures.
pub async fn start(
    state: &AppState,
    principal: &Principal,
    password: String,
) -> Result<TwoStepSetup, AppError> {
    let user = &principal.user;
    guard_checks(state, user.id).await?;
    if !db::passkeys::has_password(&state.db, user.id).await? {
        return Err(AppError::field(
            "password",
            "Your account has no password: you sign in with a passkey, which already checks \
             two things (your device and your fingerprint, face or PIN). Two-step sign-in \
             protects password sign-ins: add a password first under Passkeys.",
        ));
    }
    if !super::accounts::password_matches(state, user.id, password).await? {
        attempt_limits::two_step_check_failed(state, user.id).await?;
        return Err(AppError::field("password", "Your password is not correct."));
    }
    if db::two_step::enabled(&state.db, user.id).await? {
        return Err(TwoStepRule::AlreadyOn.into());
    }
    let secret = TotpSecret::generate()?;
    let sealed = state.totp_key.seal(user.id, &secret)?;
    if !db::two_step::start_enrolment(&state.db, user.id, &sealed, now_millis()).await? {
        return Err(TwoStepRule::AlreadyOn.into());
    }
    tracing::info!(target: "security", event = "two_step_setup_started", user_id = user.id, "two-step sign-in setup started");
    setup_of(user, &secret)
}

/// The setup waiting for its first code, shown again (a reloaded page); `None` when there is
/// none (or two-step sign-in is already on).
///
/// # Errors
/// Database failures.
pub async fn pending(state: &AppState, user: &User) -> Result<Option<TwoStepSetup>, AppError> {
    let Some(row) = db::two_step::totp(&state.db, user.id).await? else {
        return Ok(None);
    };
    if row.confirmed_at.is_some() {
        return Ok(None);
    }
    match state.totp_key.open(user.id, &row.secret) {
        Some(secret) => setup_of(user, &secret).map(Some),
        None => Ok(None),
    }
}

fn setup_of(user: &User, secret: &TotpSecret) -> Result<TwoStepSetup, AppError> {
    let otpauth_uri = secret.otpauth_uri(&user.email)?;
    Ok(TwoStepSetup {
        secret: secret.base32(),
        qr_svg: totp::qr_svg(&otpauth_uri)?,
        otpauth_uri,
    })
}

fn now_secs() -> u64 {
    u64::try_from(now_millis() / 1000).unwrap_or(0)
}

/// Finishes the setup with a code from the app: two-step sign-in is on, every other session
/// ends, and the first recovery codes are returned (the only time they are shown).
///
/// # Errors
/// [`AppError::Validation`] on `code` when it does not match; [`TwoStepRule::AlreadyOn`] or
/// [`TwoStepRule::NotStarted`]; database failures.
pub async fn confirm(
    state: &AppState,
    principal: &Principal,
    code: &str,
    client: &ClientInfo,
) -> Result<Vec<String>, AppError> {
    let user = &principal.user;
    let row = db::two_step::totp(&state.db, user.id)
        .await?
        .ok_or(TwoStepRule::NotStarted)?;
    if row.confirmed_at.is_some() {
        return Err(TwoStepRule::AlreadyOn.into());
    }
    // Unreadable: sealed under another TOTP_ENCRYPTION_KEY. Starting again replaces it.
    let secret = state
        .totp_key
        .open(user.id, &row.secret)
        .ok_or(TwoStepRule::NotStarted)?;
    let Some(step) = secret.matching_step(code, now_secs()) else {
        return Err(AppError::field(
            "code",
            "That code is not right. Check that your phone's clock is set automatically, and \
             enter the newest 6-digit code the app shows for Tasks.",
        ));
    };
    let codes = totp::new_recovery_codes()?;
    let hashes = hashes_of(&codes);
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if !db::two_step::confirm(&state.db, user.id, step, &hashes, now_millis()).await? {
        return Err(TwoStepRule::NotStarted.into());
    }
    changed(
        state,
        principal,
        client,
        Event::TwoStepEnabled,
        TwoStepChange::Enabled,
    )
    .await?;
    Ok(codes)
}

fn hashes_of(codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|code| totp::normalize_recovery_code(code))
        .map(|canonical| totp::recovery_code_hash(&canonical))
        .collect()
}

/// Checks the password and a second factor (an authenticator code, or a recovery code, which
/// is then spent) for a change on the account page. Both errors are reported together.
async fn check_password_and_code(
    state: &AppState,
    user_id: i64,
    password: String,
    code: &str,
) -> Result<(), AppError> {
    guard_checks(state, user_id).await?;
    let mut errors = Vec::new();
    if !super::accounts::password_matches(state, user_id, password).await? {
        errors.push(FieldError::new("password", "Your password is not correct."));
    }
    if !db::two_step::enabled(&state.db, user_id).await? {
        return Err(TwoStepRule::NotOn.into());
    }
    // Only with the right password is a code checked (and a recovery code spent).
    if errors.is_empty() && !second_factor_matches(state, user_id, code).await? {
        errors.push(FieldError::new(
            "code",
            "That code is not right. Enter the newest 6-digit code from your authenticator \
             app, or one of your unused recovery codes.",
        ));
    }
    if !errors.is_empty() {
        attempt_limits::two_step_check_failed(state, user_id).await?;
        return Err(AppError::Validation(errors));
    }
    Ok(())
}

/// Whether `code` is a current authenticator code (then its time step is spent) or an unused
/// recovery code (then it is spent) of the account.
async fn second_factor_matches(
    state: &AppState,
    user_id: i64,
    code: &str,
) -> Result<bool, AppError> {
    if totp::normalize_code(code).is_some() {
        return authenticator_code_matches(state, user_id, code).await;
    }
    recovery_code_matches(state, user_id, code).await
}

async fn authenticator_code_matches(
    state: &AppState,
    user_id: i64,
    code: &str,
) -> Result<bool, AppError> {
    let Some(row) = db::two_step::totp(&state.db, user_id).await? else {
        return Ok(false);
    };
    let Some(secret) = state.totp_key.open(user_id, &row.secret) else {
        tracing::error!(
            user_id,
            "an authenticator secret cannot be decrypted: TOTP_ENCRYPTION_KEY changed since it \
             was stored. The person can sign in with a recovery code, or an administrator can \
             turn their two-step sign-in off"
        );
        return Ok(false);
    };
    let Some(step) = secret.matching_step(code, now_secs()) else {
        return Ok(false);
    };
    // Spent atomically: the same code (or an older one) never works twice, on any replica.
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    db::two_step::accept_step(&state.db, user_id, step).await
}

async fn recovery_code_matches(
    state: &AppState,
    user_id: i64,
    code: &str,
) -> Result<bool, AppError> {
    let Some(canonical) = totp::normalize_recovery_code(code) else {
        return Ok(false);
    };
    let hash = totp::recovery_code_hash(&canonical);
    db::two_step::use_recovery_code(&state.db, user_id, &hash, now_millis()).await
}

/// Turns two-step sign-in off (password and a code, or a recovery code, required); every
/// other session ends. Returns how many ended.
///
/// # Errors
/// [`AppError::Validation`] on `password` / `code`; [`TwoStepRule::NotOn`];
/// [`AppError::RateLimited`]; database failures.
pub async fn disable(
    state: &AppState,
    principal: &Principal,
    password: String,
    code: &str,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    let user_id = principal.user.id;
    check_password_and_code(state, user_id, password, code).await?;
    if !db::two_step::remove(&state.db, user_id).await? {
        return Err(TwoStepRule::NotOn.into());
    }
    changed(
        state,
        principal,
        client,
        Event::TwoStepDisabled,
        TwoStepChange::Disabled,
    )
    .await
}

/// Replaces the recovery codes (password and a code required); every other session ends.
/// Returns the new codes (the only time they are shown).
///
/// # Errors
/// As [`disable`].
pub async fn replace_recovery_codes(
    state: &AppState,
    principal: &Principal,
    password: String,
    code: &str,
    client: &ClientInfo,
) -> Result<Vec<String>, AppError> {
    let user_id = principal.user.id;
    check_password_and_code(state, user_id, password, code).await?;
    let codes = totp::new_recovery_codes()?;
    let replaced =
        db::two_step::replace_recovery_codes(&state.db, user_id, &hashes_of(&codes), now_millis())
            .await?;
    if !replaced {
        return Err(TwoStepRule::NotOn.into());
    }
    changed(
        state,
        principal,
        client,
        Event::RecoveryCodesReplaced,
        TwoStepChange::RecoveryCodesReplaced,
    )
    .await?;
    Ok(codes)
}

/// After a change by the person: every other session ends (whoever was signed in elsewhere
/// signs in again under the new rules), the audit trail records it, a notice is mailed.
async fn changed(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
    event: Event,
    change: TwoStepChange,
) -> Result<u64, AppError> {
    let user = &principal.user;
    let ended = sessions::end_all_except(
        state,
        user.id,
        Some(&principal.session_id),
        reason::TWO_STEP_CHANGED,
    )
    .await?;
    tracing::info!(target: "security", event = event.name(), user_id = user.id, sessions_ended = ended, "two-step sign-in changed");
    audit::record(state, Record::own(event, user.id, client)).await;
    notify(state, user, change).await;
    Ok(ended)
}

async fn notify(state: &AppState, user: &User, change: TwoStepChange) {
    super::alerts::security_mail(state, user, |secure_link, account_link| {
        templates::render(Template::TwoStepChanged {
            name: &user.name,
            change,
            account_link,
            secure_link,
        })
    })
    .await;
}

/// An administrator turns off `user`'s two-step sign-in: every session of the account ends,
/// the audit trail names the administrator, the person is mailed. Returns whether it was on.
///
/// # Errors
/// Database failures.
pub async fn reset_by_admin(
    state: &AppState,
    user: &User,
    admin_id: Option<i64>,
    client: &ClientInfo,
) -> Result<bool, AppError> {
    if !db::two_step::remove(&state.db, user.id).await? {
        return Ok(false);
    }
    sessions::end_all_except(state, user.id, None, reason::TWO_STEP_CHANGED).await?;
    tracing::info!(target: "security", event = "two_step_disabled", user_id = user.id, actor_id = admin_id, "two-step sign-in turned off by an administrator");
    let record = Record {
        event: Event::TwoStepDisabled,
        actor: admin_id,
        subject: Some(user.id),
        client,
        detail: if admin_id.is_some() {
            audit::detail::BY_ADMIN
        } else {
            audit::detail::BY_COMMAND_LINE
        },
    };
    audit::record(state, record).await;
    notify(state, user, TwoStepChange::DisabledByAdmin).await;
    Ok(true)
}

/// A correct password of an account with two-step sign-in on: starts the challenge and
/// returns its token (for the browser's cookie, or the API's `mfa_token`).
///
/// # Errors
/// Database failures; [`AppError::Internal`] if the OS random generator fails.
pub async fn begin(state: &AppState, user: &User, channel: Channel) -> Result<String, AppError> {
    let token = RefreshToken::generate()?;
    let now = now_millis();
    let expires = now.saturating_add(duration_millis(CHALLENGE_TTL));
    db::two_step::insert_challenge(&state.db, &token.hash(), user.id, channel, now, expires)
        .await?;
    tracing::info!(target: "security", event = "second_step_started", user_id = user.id, "password accepted; waiting for the second step");
    Ok(token.expose().to_owned())
}

/// The second step of a sign-in: checks `answer` against the challenge `token`. On success the
/// challenge is spent and the account returned, for the caller to start its session.
///
/// # Errors
/// [`AppError::SignInExpired`] for an unknown, expired, completed or ended challenge;
/// [`AppError::Validation`] on `code` / `recovery_code` for a wrong answer (the fifth ends the
/// challenge: [`AppError::SignInExpired`] from then on); [`AppError::RateLimited`] while the
/// account or address has to wait (`attempt_limits`); [`AppError::AccountDisabled`];
/// database failures.
pub async fn complete(
    state: &AppState,
    channel: Channel,
    token: &str,
    answer: &Answer,
    client: &ClientInfo,
    cookies: &Cookies,
) -> Result<User, AppError> {
    let result = check_answer(state, channel, token, answer, client, cookies).await;
    state.metrics.login(match &result {
        Ok(_) => LoginOutcome::Success,
        Err(AppError::Validation(_)) => LoginOutcome::WrongCode,
        Err(AppError::SignInExpired) => LoginOutcome::InvalidCredentials,
        Err(AppError::RateLimited { .. }) => LoginOutcome::RateLimited,
        Err(AppError::AccountDisabled) => LoginOutcome::Disabled,
        Err(_) => LoginOutcome::Error,
    });
    result
}

async fn check_answer(
    state: &AppState,
    channel: Channel,
    token: &str,
    answer: &Answer,
    client: &ClientInfo,
    cookies: &Cookies,
) -> Result<User, AppError> {
    // Tokens are 43 characters; anything much longer is not one (and is not hashed).
    if token.is_empty() || token.len() > 128 {
        return Err(AppError::SignInExpired);
    }
    let token_hash = sha256_hex(token);
    let challenge = db::two_step::find_challenge(&state.db, &token_hash, channel, now_millis())
        .await?
        .ok_or(AppError::SignInExpired)?;
    let account = db::users::account(&state.db, challenge.user_id, now_millis())
        .await?
        .ok_or(AppError::SignInExpired)?;
    let user = account.user;
    // The same limits as the password: a wrong code is a failed login of this account.
    let attempt = attempt_limits::check_login(state, &user.email, client, cookies).await?;
    let matches = match answer {
        Answer::Code(code) => authenticator_code_matches(state, user.id, code).await?,
        Answer::RecoveryCode(code) => recovery_code_matches(state, user.id, code).await?,
    };
    if !matches {
        let failures =
            db::two_step::challenge_failed(&state.db, &token_hash, MAX_WRONG_CODES).await?;
        let throttled = attempt_limits::login_failed(state, &attempt).await?;
        tracing::warn!(target: "security", event = "second_step_failed", user_id = user.id, ip = %client.ip_text(), failures, "wrong two-step code");
        let detail = audit::detail::WRONG_CODE;
        audit::failed_login(state, Some(user.id), client, detail, throttled).await;
        if failures >= MAX_WRONG_CODES {
            return Err(AppError::SignInExpired);
        }
        return Err(AppError::Validation(vec![
            answer.wrong(Some(MAX_WRONG_CODES - failures)),
        ]));
    }
    // Single use: of two requests completing one challenge at once, one wins.
    if !db::two_step::take_challenge(&state.db, &token_hash).await? {
        return Err(AppError::SignInExpired);
    }
    if account.disabled {
        return Err(AppError::AccountDisabled);
    }
    let seen = attempt_limits::login_succeeded(state, &attempt, cookies).await?;
    let (detail, method) = match answer {
        Answer::Code(_) => (
            audit::detail::WITH_AUTHENTICATOR,
            super::alerts::Method::PasswordAndCode,
        ),
        Answer::RecoveryCode(_) => (
            audit::detail::WITH_RECOVERY_CODE,
            super::alerts::Method::PasswordAndRecoveryCode,
        ),
    };
    super::alerts::signed_in(state, &user, client, seen, method).await;
    tracing::info!(target: "security", event = "second_step_succeeded", user_id = user.id, ip = %client.ip_text(), method = detail, "second step passed");
    audit::record(
        state,
        Record::own(Event::LoginSucceeded, user.id, client).detail(detail),
    )
    .await;
    Ok(user)
}

/// With `Secure`, the `__Host-` prefix: a sibling subdomain cannot plant or read it.
const SECURE_COOKIE: &str = "__Host-tasks_second_step";
const DEV_COOKIE: &str = "tasks_second_step";

/// The cookie that holds a browser's challenge token.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.cookie_secure {
        SECURE_COOKIE
    } else {
        DEV_COOKIE
    }
}

/// A cookie of this module: HttpOnly (no script reads it), `SameSite=Strict` (no other
/// site's page can submit with it), `Path=/` and `Secure` as the `__Host-` prefix demands.
/// `max_age_secs` 0 removes it.
fn strict_cookie(
    config: &Config,
    name: &'static str,
    value: String,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(config.cookie_secure)
        .max_age(CookieDuration::seconds(max_age_secs))
        .build()
}

/// Binds a challenge to this browser for as long as the challenge lives.
pub fn set_cookie(config: &Config, cookies: &Cookies, token: String) {
    let lifetime = i64::try_from(CHALLENGE_TTL.as_secs()).unwrap_or(300);
    cookies.add(strict_cookie(config, cookie_name(config), token, lifetime));
}

/// Removes the challenge cookie (after the second step, or a new sign-in).
pub fn clear_cookie(config: &Config, cookies: &Cookies) {
    cookies.add(strict_cookie(config, cookie_name(config), String::new(), 0));
}

/// The browser's challenge token, if it has one.
pub fn cookie_token(config: &Config, cookies: &Cookies) -> Option<String> {
    cookies
        .get(cookie_name(config))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// With `Secure`, the `__Host-` prefix, like the other cookies (which demands `Path=/`).
pub(crate) const SECURE_CODES_COOKIE: &str = "__Host-tasks_recovery_codes";
pub(crate) const DEV_CODES_COOKIE: &str = "tasks_recovery_codes";

fn codes_cookie_name(config: &Config) -> &'static str {
    if config.cookie_secure {
        SECURE_CODES_COOKIE
    } else {
        DEV_CODES_COOKIE
    }
}

/// After a plain form post made recovery codes (JavaScript off, so the answer cannot be shown
/// in place): keeps them for the redirected page in an HttpOnly, `SameSite=Strict` cookie of
/// this browser for a minute. The page reads it once ([`take_fresh_codes`]).
pub fn keep_fresh_codes(config: &Config, cookies: &Cookies, codes: &[String]) {
    let name = codes_cookie_name(config);
    cookies.add(strict_cookie(config, name, codes.join("."), 60));
}

/// The recovery codes [`keep_fresh_codes`] kept, removing the cookie. Only well-formed codes
/// are returned: the cookie's text never reaches the page as it is.
pub fn take_fresh_codes(config: &Config, cookies: &Cookies) -> Vec<String> {
    let name = codes_cookie_name(config);
    let Some(kept) = cookies.get(name) else {
        return Vec::new();
    };
    let codes = kept
        .value()
        .split('.')
        .filter(|code| totp::normalize_recovery_code(code).is_some() && code.len() == 19)
        .take(totp::RECOVERY_CODES)
        .map(str::to_owned)
        .collect();
    cookies.add(strict_cookie(config, name, String::new(), 0));
    codes
}
