//! SQL for `sessions` and `refresh_tokens`.

use sqlx::FromRow;

use super::Db;
use crate::{error::AppError, model::User};

/// What a new session records about the client that opened it.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

/// One of a person's live sessions, for the "Sessions" page.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub user_agent: String,
    pub ip: String,
}

/// The user behind a live session, and when that session was last used.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub user: User,
    pub last_used_at: i64,
    /// The session's absolute expiry.
    pub expires_at: i64,
}

/// What exchanging a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    /// The token was unused and its session live (both decided by the one statement that spent
    /// it); the session may get a new pair.
    Consumed {
        session_id: String,
        user_id: i64,
        /// The token's own (idle) expiry.
        expires_at: i64,
        /// The session's absolute expiry.
        session_expires_at: i64,
    },
    /// The token exists but was already exchanged: someone is replaying it.
    Reused { session_id: String, user_id: i64 },
    /// The token was never used, but its session has ended (revoked, expired, or its account
    /// disabled); it stays unused.
    Ended { user_id: i64 },
    /// No such token (never issued, or its session was deleted).
    Unknown,
}

/// Records a new session.
///
/// # Errors
/// Database failures.
pub async fn insert(db: &Db, new: &NewSession<'_>) -> Result<(), AppError> {
    crate::db_write!(db, |c| sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) \
         VALUES ($1, $2, $3, $3, $4, $5, $6)",
    )
    .bind(new.id)
    .bind(new.user_id)
    .bind(new.now)
    .bind(new.expires_at)
    .bind(new.user_agent)
    .bind(new.ip)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The enabled user owning session `id`, if that session is neither revoked nor expired.
/// One primary-key lookup joined to the user's primary key: this runs on every request.
///
/// # Errors
/// Database failures.
pub async fn find_live(
    db: &Db,
    id: &str,
    user_id: i64,
    now: i64,
) -> Result<Option<LiveSession>, AppError> {
    let row: Option<(i64, String, String, i64, i64, i64)> =
        crate::db_read!(db, |c| sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.created_at, s.last_used_at, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
           AND u.disabled = FALSE",
        )
        .bind(id)
        .bind(user_id)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(
        |(id, email, name, created_at, last_used_at, expires_at)| LiveSession {
            user: User {
                id,
                email,
                name,
                created_at,
            },
            last_used_at,
            expires_at,
        },
    ))
}

/// Records that session `id` was used at `now`.
///
/// # Errors
/// Database failures.
pub async fn touch(db: &Db, id: &str, now: i64) -> Result<(), AppError> {
    crate::db_write!(db, |c| sqlx::query(
        "UPDATE sessions SET last_used_at = $2 WHERE id = $1 AND last_used_at < $2"
    )
    .bind(id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user's sessions that are still live, most recently used first.
///
/// # Errors
/// Database failures.
pub async fn list_live(db: &Db, user_id: i64, now: i64) -> Result<Vec<SessionRow>, AppError> {
    Ok(crate::db_read!(db, |c| sqlx::query_as(
        "SELECT id, created_at, last_used_at, user_agent, ip FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY last_used_at DESC, created_at DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(c)
    .await)?)
}

/// Revokes session `id` if it belongs to `user_id` and is not revoked yet. Returns whether it did.
///
/// # Errors
/// Database failures.
pub async fn revoke(
    db: &Db,
    user_id: i64,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, AppError> {
    let revoked = crate::db_write!(db, |c| sqlx::query(
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .bind(reason)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(revoked > 0)
}

/// Revokes every live session of `user_id` except `keep`. Returns how many it revoked.
///
/// # Errors
/// Database failures.
pub async fn revoke_all_except(
    db: &Db,
    user_id: i64,
    keep: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<u64, AppError> {
    // Two statements rather than `$2 IS NULL OR ...`: PostgreSQL cannot infer the type of a
    // parameter that is only compared with NULL.
    let revoked = match keep {
        Some(keep) => crate::db_write!(db, |c| sqlx::query(
            "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
                 WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2",
        )
        .bind(user_id)
        .bind(keep)
        .bind(now)
        .bind(reason)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?,
        None => crate::db_write!(db, |c| sqlx::query(
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
                 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .bind(reason)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?,
    };
    Ok(revoked)
}

/// Stores a new refresh token (its hash) for `session_id`.
///
/// # Errors
/// Database failures.
pub async fn insert_refresh(
    db: &Db,
    token_hash: &str,
    session_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), AppError> {
    crate::db_write!(db, |c| sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(session_id)
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Spends the refresh token with hash `token_hash`, atomically: of any number of concurrent
/// exchanges of one token, exactly one sees [`Exchange::Consumed`] (the `used_at IS NULL`
/// condition is re-checked under the row's write lock on both engines). Whether the session is
/// live is decided by that same statement, so a concurrent exchange that finds the token spent
/// and revokes the session (reuse) cannot turn the winner's answer into a failure half-way.
///
/// # Errors
/// Database failures.
pub async fn exchange_refresh(db: &Db, token_hash: &str, now: i64) -> Result<Exchange, AppError> {
    const SPEND: &str = "UPDATE refresh_tokens SET used_at = $2 \
         WHERE token_hash = $1 AND used_at IS NULL AND EXISTS ( \
           SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
           WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL \
             AND s.expires_at > $2 AND u.disabled = FALSE) \
         RETURNING session_id, expires_at, \
           (SELECT user_id FROM sessions WHERE sessions.id = refresh_tokens.session_id), \
           (SELECT expires_at FROM sessions WHERE sessions.id = refresh_tokens.session_id)";
    const FIND: &str = "SELECT r.session_id, s.user_id, r.used_at FROM refresh_tokens r \
         JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1";
    let consumed: Option<(String, i64, i64, i64)> =
        crate::db_write!(db, |c| sqlx::query_as(SPEND)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(c)
            .await)?;
    if let Some((session_id, expires_at, user_id, session_expires_at)) = consumed {
        return Ok(Exchange::Consumed {
            session_id,
            user_id,
            expires_at,
            session_expires_at,
        });
    }
    let found: Option<(String, i64, Option<i64>)> = crate::db_read!(db, |c| sqlx::query_as(FIND)
        .bind(token_hash)
        .fetch_optional(c)
        .await)?;
    Ok(match found {
        Some((session_id, user_id, Some(_used_at))) => Exchange::Reused {
            session_id,
            user_id,
        },
        Some((_, user_id, None)) => Exchange::Ended { user_id },
        None => Exchange::Unknown,
    })
}
