//! SQL for `sessions` and `refresh_tokens`.

use sqlx::FromRow;

use super::{Db, db_execute, db_read, db_write};
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
#[derive(Debug, Clone, FromRow)]
pub struct LiveSession {
    #[sqlx(flatten)]
    pub user: User,
    pub last_used_at: i64,
}

/// A refresh token the exchange spent, with its session.
#[derive(FromRow)]
struct Spent {
    session_id: String,
    user_id: i64,
    /// The token's own (idle) expiry.
    expires_at: i64,
    /// The session's absolute expiry.
    session_expires_at: i64,
}

/// A refresh token the exchange could not spend, and whether its session is still live.
#[derive(FromRow)]
struct Unspent {
    session_id: String,
    user_id: i64,
    used_at: Option<i64>,
    /// The token's own (idle) expiry.
    expires_at: i64,
    /// The session's absolute expiry.
    session_expires_at: i64,
    live: bool,
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
    /// The token was exchanged less than the grace period ago and its session is live: the
    /// same session renewing twice at once (two tabs), or a client retrying a refresh whose
    /// answer it lost. The session may get another pair.
    Raced {
        session_id: String,
        user_id: i64,
        /// The token's own (idle) expiry.
        expires_at: i64,
        /// The session's absolute expiry.
        session_expires_at: i64,
    },
    /// The token was exchanged before the grace period: someone is replaying it.
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
    const SQL: &str = "INSERT INTO sessions \
         (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) \
         VALUES ($1, $2, $3, $3, $4, $5, $6)";
    db_execute!(
        db,
        SQL,
        new.id,
        new.user_id,
        new.now,
        new.expires_at,
        new.user_agent,
        new.ip
    )?;
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
    const SQL: &str = "SELECT u.id, u.email, u.name, u.created_at, u.role, \
         u.email_verified_at IS NOT NULL AS email_verified, s.last_used_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
           AND u.disabled = FALSE";
    // Once per request at most (tests/auth.rs counts these lines per request id).
    tracing::debug!(user_id, "session looked up");
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(id)
        .bind(user_id)
        .bind(now)
        .fetch_optional(c)
        .await)?)
}

/// Records that session `id` was used at `now`.
///
/// # Errors
/// Database failures.
pub async fn touch(db: &Db, id: &str, now: i64) -> Result<(), AppError> {
    const SQL: &str = "UPDATE sessions SET last_used_at = $2 WHERE id = $1 AND last_used_at < $2";
    db_execute!(db, SQL, id, now)?;
    Ok(())
}

/// The user's sessions that are still live, most recently used first.
///
/// # Errors
/// Database failures.
pub async fn list_live(db: &Db, user_id: i64, now: i64) -> Result<Vec<SessionRow>, AppError> {
    Ok(db_read!(db, |c| sqlx::query_as(
        "SELECT id, created_at, last_used_at, user_agent, ip FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY last_used_at DESC, created_at DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(c)
    .await)?)
}

/// How many sessions are live (neither revoked nor past their absolute expiry) at `now`, over
/// every replica. Read from the partial index `sessions_live`, which holds only unrevoked
/// sessions, so a scrape does not read the whole history of sign-ins.
///
/// # Errors
/// Database failures.
pub async fn count_live(db: &Db, now: i64) -> Result<i64, AppError> {
    const SQL: &str = "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1";
    Ok(db_read!(db, |c| sqlx::query_scalar(SQL)
        .bind(now)
        .fetch_one(c)
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
    const SQL: &str = "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";
    Ok(db_execute!(db, SQL, id, user_id, now, reason)? > 0)
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
        Some(keep) => db_execute!(
            db,
            "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
             WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2",
            user_id,
            keep,
            now,
            reason,
        )?,
        None => db_execute!(
            db,
            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
             WHERE user_id = $1 AND revoked_at IS NULL",
            user_id,
            now,
            reason,
        )?,
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
    const SQL: &str = "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)";
    db_execute!(db, SQL, token_hash, session_id, now, expires_at)?;
    Ok(())
}

/// Spends the refresh token with hash `token_hash`, atomically: of any number of concurrent
/// exchanges of one token, exactly one sees [`Exchange::Consumed`] (the `used_at IS NULL`
/// condition is re-checked under the row's write lock on both engines). Whether the session is
/// live is decided by that same statement, so a concurrent exchange that finds the token spent
/// and revokes the session (reuse) cannot turn the winner's answer into a failure half-way.
///
/// A token already spent counts as [`Exchange::Raced`] when it was spent less than `grace`
/// milliseconds before `now` and its session is live, as [`Exchange::Reused`] otherwise.
///
/// # Errors
/// Database failures.
pub async fn exchange_refresh(
    db: &Db,
    token_hash: &str,
    now: i64,
    grace: i64,
) -> Result<Exchange, AppError> {
    const SPEND: &str = "UPDATE refresh_tokens SET used_at = $2 \
         WHERE token_hash = $1 AND used_at IS NULL AND EXISTS ( \
           SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
           WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL \
             AND s.expires_at > $2 AND u.disabled = FALSE) \
         RETURNING session_id, expires_at, \
           (SELECT user_id FROM sessions WHERE sessions.id = refresh_tokens.session_id) \
             AS user_id, \
           (SELECT expires_at FROM sessions WHERE sessions.id = refresh_tokens.session_id) \
             AS session_expires_at";
    const FIND: &str = "SELECT r.session_id, s.user_id, r.used_at, r.expires_at, \
           s.expires_at AS session_expires_at, \
           (s.revoked_at IS NULL AND s.expires_at > $2 AND u.disabled = FALSE) AS live \
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
           JOIN users u ON u.id = s.user_id \
         WHERE r.token_hash = $1";
    let spent: Option<Spent> = db_write!(db, |c| sqlx::query_as(SPEND)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    if let Some(spent) = spent {
        return Ok(Exchange::Consumed {
            session_id: spent.session_id,
            user_id: spent.user_id,
            expires_at: spent.expires_at,
            session_expires_at: spent.session_expires_at,
        });
    }
    let found: Option<Unspent> = db_read!(db, |c| sqlx::query_as(FIND)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    let Some(found) = found else {
        return Ok(Exchange::Unknown);
    };
    Ok(match found.used_at {
        // `grace > 0`: with the grace off, no race is forgiven. (A concurrent exchange may have
        // stamped `used_at` from a clock read after ours, so `now - used_at` can be negative.)
        Some(used_at) if found.live && grace > 0 && now.saturating_sub(used_at) < grace => {
            Exchange::Raced {
                session_id: found.session_id,
                user_id: found.user_id,
                expires_at: found.expires_at,
                session_expires_at: found.session_expires_at,
            }
        }
        Some(_) => Exchange::Reused {
            session_id: found.session_id,
            user_id: found.user_id,
        },
        None => Exchange::Ended {
            user_id: found.user_id,
        },
    })
}
