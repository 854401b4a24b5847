//! SQL for `rate_limits`: fixed-window attempt counters shared by every replica.

use sqlx::FromRow;

use super::{Db, db_execute, db_read, db_write};
use crate::error::AppError;

/// The attempts counted for a key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromRow)]
pub struct Window {
    pub count: i64,
    /// Unix milliseconds.
    pub window_start: i64,
}

/// Adds one attempt to `key`'s current window (starting a new window when the stored one has
/// ended) and returns the window after the increment. One statement, so concurrent attempts
/// are all counted.
///
/// # Errors
/// Database failures.
pub async fn hit(db: &Db, key: &str, now: i64, window_ms: i64) -> Result<Window, AppError> {
    // Both CASEs read the row's old values, on SQLite and PostgreSQL alike.
    const SQL: &str = "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
           window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 \
                               ELSE rate_limits.window_start END \
         RETURNING count, window_start";
    Ok(db_write!(db, |c| sqlx::query_as(SQL)
        .bind(key)
        .bind(now)
        .bind(now - window_ms)
        .fetch_one(c)
        .await)?)
}

/// The attempts counted for `key` in the window that is still open at `now`.
///
/// # Errors
/// Database failures.
pub async fn current(
    db: &Db,
    key: &str,
    now: i64,
    window_ms: i64,
) -> Result<Option<Window>, AppError> {
    const SQL: &str =
        "SELECT count, window_start FROM rate_limits WHERE key = $1 AND window_start > $2";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(key)
        .bind(now - window_ms)
        .fetch_optional(c)
        .await)?)
}

/// Forgets `key`'s attempts (a successful login clears its account's failures).
///
/// # Errors
/// Database failures.
pub async fn clear(db: &Db, key: &str) -> Result<(), AppError> {
    db_execute!(db, "DELETE FROM rate_limits WHERE key = $1", key)?;
    Ok(())
}
