//! SQL for two-step sign-in: `totp_secrets` (one authenticator app per account),
//! `recovery_codes` and `sign_in_challenges` (correct passwords waiting for a code).

use sqlx::FromRow;

use super::{Db, db_execute, db_read, db_write, in_transaction};
use crate::error::AppError;

/// Replaces the account's recovery codes (used or not) with `code_hashes`, inside the
/// transaction `$tx` (a macro: the body is compiled once per engine, like `in_transaction!`).
macro_rules! store_codes {
    ($tx:ident, $user_id:expr, $code_hashes:expr, $now:expr) => {{
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind($user_id)
            .execute(&mut *$tx)
            .await?;
        for hash in $code_hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind($user_id)
            .bind(hash.as_str())
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// An account's authenticator-app row.
#[derive(Debug, Clone, FromRow)]
pub struct TotpRow {
    /// Encrypted (`auth::totp::SecretKey`); never the secret in clear.
    pub secret: String,
    /// `None` while enrolment waits for the first code.
    pub confirmed_at: Option<i64>,
}

/// The account's authenticator-app row, confirmed or not.
///
/// # Errors
/// Database failures.
pub async fn totp(db: &Db, user_id: i64) -> Result<Option<TotpRow>, AppError> {
    const SQL: &str = "SELECT secret, confirmed_at FROM totp_secrets WHERE user_id = $1";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(user_id)
        .fetch_optional(c)
        .await)?)
}

/// Whether the account has two-step sign-in on (a confirmed authenticator app).
///
/// # Errors
/// Database failures.
pub async fn enabled(db: &Db, user_id: i64) -> Result<bool, AppError> {
    Ok(totp(db, user_id)
        .await?
        .is_some_and(|row| row.confirmed_at.is_some()))
}

/// Stores a new, unconfirmed secret, replacing an earlier unconfirmed one. Returns `false`
/// (and changes nothing) when the account already has a confirmed one.
///
/// # Errors
/// Database failures.
pub async fn start_enrolment(
    db: &Db,
    user_id: i64,
    sealed: &str,
    now: i64,
) -> Result<bool, AppError> {
    const SQL: &str = "INSERT INTO totp_secrets (user_id, secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, \
             created_at = excluded.created_at, last_step = NULL \
         WHERE totp_secrets.confirmed_at IS NULL";
    Ok(db_execute!(db, SQL, user_id, sealed, now)? == 1)
}

/// Confirms the pending secret (its first code matched at `step`) and stores the first set of
/// recovery codes. Returns `false` when there was no pending secret (confirmed meanwhile, or
/// turned off).
///
/// # Errors
/// Database failures.
pub async fn confirm(
    db: &Db,
    user_id: i64,
    step: i64,
    code_hashes: &[String],
    now: i64,
) -> Result<bool, AppError> {
    const CONFIRM: &str = "UPDATE totp_secrets SET confirmed_at = $2, last_step = $3 \
         WHERE user_id = $1 AND confirmed_at IS NULL";
    let confirmed = in_transaction!(db, |tx| {
        let done = sqlx::query(CONFIRM)
            .bind(user_id)
            .bind(now)
            .bind(step)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 1 {
            store_codes!(tx, user_id, code_hashes, now);
        }
        Ok::<_, sqlx::Error>(done == 1)
    })?;
    Ok(confirmed)
}

/// Replaces the recovery codes of an account whose two-step sign-in is on. Returns `false`
/// when it is not (turned off meanwhile).
///
/// # Errors
/// Database failures.
pub async fn replace_recovery_codes(
    db: &Db,
    user_id: i64,
    code_hashes: &[String],
    now: i64,
) -> Result<bool, AppError> {
    const ON: &str =
        "SELECT COUNT(*) FROM totp_secrets WHERE user_id = $1 AND confirmed_at IS NOT NULL";
    let replaced = in_transaction!(db, |tx| {
        let on: i64 = sqlx::query_scalar(ON)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        if on == 1 {
            store_codes!(tx, user_id, code_hashes, now);
        }
        Ok::<_, sqlx::Error>(on == 1)
    })?;
    Ok(replaced)
}

/// Records that a code of time step `step` was accepted, if no code of that step or a later
/// one was before: the one atomic check that makes every code single-use, on every replica.
///
/// # Errors
/// Database failures.
pub async fn accept_step(db: &Db, user_id: i64, step: i64) -> Result<bool, AppError> {
    const SQL: &str = "UPDATE totp_secrets SET last_step = $2 WHERE user_id = $1 \
         AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)";
    Ok(db_execute!(db, SQL, user_id, step)? == 1)
}

/// Spends recovery code `code_hash` of the account; `false` when it is not one of its unused
/// codes.
///
/// # Errors
/// Database failures.
pub async fn use_recovery_code(
    db: &Db,
    user_id: i64,
    code_hash: &str,
    now: i64,
) -> Result<bool, AppError> {
    const SQL: &str = "UPDATE recovery_codes SET used_at = $3 \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
    Ok(db_execute!(db, SQL, user_id, code_hash, now)? == 1)
}

/// How many unused recovery codes the account has.
///
/// # Errors
/// Database failures.
pub async fn recovery_codes_left(db: &Db, user_id: i64) -> Result<i64, AppError> {
    const SQL: &str = "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
    Ok(db_read!(db, |c| sqlx::query_scalar(SQL)
        .bind(user_id)
        .fetch_one(c)
        .await)?)
}

/// Turns two-step sign-in off: the secret, the recovery codes and any sign-in waiting for a
/// code. Returns whether it was on (a confirmed secret existed).
///
/// # Errors
/// Database failures.
pub async fn remove(db: &Db, user_id: i64) -> Result<bool, AppError> {
    const SECRET: &str = "DELETE FROM totp_secrets WHERE user_id = $1 RETURNING confirmed_at";
    let was_on = in_transaction!(db, |tx| {
        let removed: Option<Option<i64>> = sqlx::query_scalar(SECRET)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        for sql in [
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM sign_in_challenges WHERE user_id = $1",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
        }
        Ok::<_, sqlx::Error>(removed.flatten().is_some())
    })?;
    Ok(was_on)
}

/// Where a sign-in waiting for its second step came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A browser: the token is in an HttpOnly cookie.
    Browser,
    /// The token endpoint's `mfa_token`.
    Api,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Api => "api",
        }
    }
}

/// Stores a challenge (the SHA-256 of its token), and erases expired ones.
///
/// # Errors
/// Database failures.
pub async fn insert_challenge(
    db: &Db,
    token_hash: &str,
    user_id: i64,
    channel: Channel,
    now: i64,
    expires_at: i64,
) -> Result<(), AppError> {
    db_execute!(
        db,
        "DELETE FROM sign_in_challenges WHERE expires_at <= $1",
        now
    )?;
    const SQL: &str = "INSERT INTO sign_in_challenges \
         (token_hash, user_id, channel, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
    db_execute!(
        db,
        SQL,
        token_hash,
        user_id,
        channel.as_str(),
        now,
        expires_at
    )?;
    Ok(())
}

/// A live challenge: its account, and the wrong codes tried so far.
#[derive(Debug, Clone, FromRow)]
pub struct Challenge {
    pub user_id: i64,
    pub failures: i64,
}

/// The challenge with token hash `token_hash` from `channel`, unless it expired.
///
/// # Errors
/// Database failures.
pub async fn find_challenge(
    db: &Db,
    token_hash: &str,
    channel: Channel,
    now: i64,
) -> Result<Option<Challenge>, AppError> {
    const SQL: &str = "SELECT user_id, failures FROM sign_in_challenges \
         WHERE token_hash = $1 AND channel = $2 AND expires_at > $3";
    // On the writer: a challenge created a moment ago on SQLite is read back at once.
    Ok(db_write!(db, |c| sqlx::query_as(SQL)
        .bind(token_hash)
        .bind(channel.as_str())
        .bind(now)
        .fetch_optional(c)
        .await)?)
}

/// Counts a wrong code against the challenge and ends it once `max` are reached. Returns the
/// failures counted so far (`max` or more: it is gone).
///
/// # Errors
/// Database failures.
pub async fn challenge_failed(db: &Db, token_hash: &str, max: i64) -> Result<i64, AppError> {
    const SQL: &str = "UPDATE sign_in_challenges SET failures = failures + 1 \
         WHERE token_hash = $1 RETURNING failures";
    let failures: Option<i64> = db_write!(db, |c| sqlx::query_scalar(SQL)
        .bind(token_hash)
        .fetch_optional(c)
        .await)?;
    let failures = failures.unwrap_or(max);
    if failures >= max {
        take_challenge(db, token_hash).await?;
    }
    Ok(failures)
}

/// Ends a challenge. Returns whether it still existed: of two requests completing one
/// challenge at once, only one gets `true`.
///
/// # Errors
/// Database failures.
pub async fn take_challenge(db: &Db, token_hash: &str) -> Result<bool, AppError> {
    const SQL: &str = "DELETE FROM sign_in_challenges WHERE token_hash = $1";
    Ok(db_execute!(db, SQL, token_hash)? == 1)
}
