//! SQL for `rate_limits`: fixed-window attempt counters shared by every replica.

use super::Db;
use crate::error::AppError;

/// Adds one attempt to `key`'s current window (starting a new window when the stored one has
/// ended) and returns `(count, window_start)` after the increment. One statement, so concurrent
/// attempts are all counted.
///
/// # Errors
/// Database failures.
pub async fn hit(db: &Db, key: &str, now: i64, window_ms: i64) -> Result<(i64, i64), AppError> {
    // Both CASEs read the row's old values, on SQLite and PostgreSQL alike.
    Ok(crate::db_write!(db, |c| sqlx::query_as(
        "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
           window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 \
                               ELSE rate_limits.window_start END \
         RETURNING count, window_start",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_ms)
    .fetch_one(c)
    .await)?)
}

/// The attempts counted for `key` in the window that is still open at `now`, with its start.
///
/// # Errors
/// Database failures.
pub async fn current(
    db: &Db,
    key: &str,
    now: i64,
    window_ms: i64,
) -> Result<Option<(i64, i64)>, AppError> {
    Ok(crate::db_read!(db, |c| sqlx::query_as(
        "SELECT count, window_start FROM rate_limits WHERE key = $1 AND window_start > $2",
    )
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
    crate::db_write!(db, |c| sqlx::query(
        "DELETE FROM rate_limits WHERE key = $1"
    )
    .bind(key)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
