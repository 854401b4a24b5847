//! SQL for new-device alerts and "This wasn't me": `alert_links`, and the account's alert
//! settings (`users.new_device_mail`, `users.devices_reset_at`).

use super::{Db, db_execute, db_read, in_transaction};
use crate::error::AppError;

/// Stores a "This wasn't me" link (the SHA-256 of its token) for `user_id`.
///
/// # Errors
/// Database failures.
pub async fn insert_link(
    db: &Db,
    token_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), AppError> {
    const SQL: &str = "INSERT INTO alert_links (token_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)";
    db_execute!(db, SQL, token_hash, user_id, now, expires_at)?;
    Ok(())
}

/// The account a "This wasn't me" link can still secure (unused, unexpired at `now`), with its
/// address.
///
/// # Errors
/// Database failures.
pub async fn usable_link(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> Result<Option<(i64, String)>, AppError> {
    const SQL: &str = "SELECT u.id, u.email FROM alert_links l JOIN users u ON u.id = l.user_id \
         WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await)?)
}

/// What [`secure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secured {
    pub user_id: i64,
    pub sessions_ended: i64,
    pub passkeys_suspended: i64,
}

/// Spends a "This wasn't me" link and, in the same transaction, secures its account: every
/// link of the account spent, every session (and so every refresh token) revoked with
/// `reason`, every passkey suspended, every device cookie signed so far disowned, and a
/// pending email change dropped. `None` when the link cannot be used (unknown, expired, or
/// spent, also by a concurrent request: exactly one wins).
///
/// # Errors
/// Database failures.
pub async fn secure(
    db: &Db,
    token_hash: &str,
    now: i64,
    reason: &str,
) -> Result<Option<Secured>, AppError> {
    const SPEND: &str = "UPDATE alert_links SET used_at = $2 \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id";
    let secured = in_transaction!(db, |tx| {
        let spent: Option<i64> = sqlx::query_scalar(SPEND)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        match spent {
            None => None,
            Some(user_id) => {
                sqlx::query(
                    "UPDATE alert_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let sessions = sqlx::query(
                    "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
                     WHERE user_id = $1 AND revoked_at IS NULL",
                )
                .bind(user_id)
                .bind(now)
                .bind(reason)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let passkeys = sqlx::query(
                    "UPDATE passkeys SET suspended_at = $2, suspended_reason = 'secured' \
                     WHERE user_id = $1 AND suspended_at IS NULL",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query("UPDATE users SET devices_reset_at = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "DELETE FROM email_tokens WHERE user_id = $1 AND purpose = 'change_email'",
                )
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                Some(Secured {
                    user_id,
                    sessions_ended: i64::try_from(sessions).unwrap_or(i64::MAX),
                    passkeys_suspended: i64::try_from(passkeys).unwrap_or(i64::MAX),
                })
            }
        }
    });
    Ok(secured)
}

/// Erases links that expired before `before`.
///
/// # Errors
/// Database failures.
pub async fn purge_links(db: &Db, before: i64) -> Result<u64, AppError> {
    Ok(db_execute!(
        db,
        "DELETE FROM alert_links WHERE expires_at < $1",
        before
    )?)
}

/// The account's alert settings: whether new-device sign-ins are mailed, and since when
/// (Unix ms) device cookies count.
///
/// # Errors
/// Database failures.
pub async fn settings(db: &Db, user_id: i64) -> Result<Option<(bool, i64)>, AppError> {
    const SQL: &str = "SELECT new_device_mail, devices_reset_at FROM users WHERE id = $1";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(user_id)
        .fetch_optional(c)
        .await)?)
}

/// Since when (Unix ms) device cookies count for the account with `email` (normalized).
///
/// # Errors
/// Database failures.
pub async fn devices_reset_at_by_email(db: &Db, email: &str) -> Result<Option<i64>, AppError> {
    const SQL: &str = "SELECT devices_reset_at FROM users WHERE email = $1";
    Ok(db_read!(db, |c| sqlx::query_scalar(SQL)
        .bind(email)
        .fetch_optional(c)
        .await)?)
}

/// Turns the mail about sign-ins from new browsers on or off.
///
/// # Errors
/// Database failures.
pub async fn set_new_device_mail(db: &Db, user_id: i64, on: bool) -> Result<(), AppError> {
    db_execute!(
        db,
        "UPDATE users SET new_device_mail = $2 WHERE id = $1",
        user_id,
        on
    )?;
    Ok(())
}

/// Whether the account has a successful sign-in recorded from this address and user agent
/// since `since` (how a client that keeps no cookies is recognised).
///
/// # Errors
/// Database failures.
pub async fn signed_in_from(
    db: &Db,
    user_id: i64,
    ip: &str,
    user_agent: &str,
    since: i64,
) -> Result<bool, AppError> {
    const SQL: &str = "SELECT 1 FROM audit_events WHERE subject_id = $1 \
         AND event = 'login_succeeded' AND ip = $2 AND user_agent = $3 AND at >= $4 LIMIT 1";
    let found: Option<i32> = db_read!(db, |c| sqlx::query_scalar(SQL)
        .bind(user_id)
        .bind(ip)
        .bind(user_agent)
        .bind(since)
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}
