//! The database: connecting, migrating, and (in the submodules) every SQL statement the app runs.

pub mod rate_limits;
pub mod sessions;
pub mod tasks;
pub mod users;

use std::{str::FromStr, time::Duration};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::error::StartupError;

/// The connection pool every query goes through.
pub type Db = sqlx::SqlitePool;

/// Migrations embedded in the binary at compile time and applied at startup.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Current time as Unix milliseconds, the representation of every timestamp column.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A duration in milliseconds, the unit timestamp columns are compared in (saturating).
pub fn duration_millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Opens (creating if needed) the SQLite database and applies pending migrations.
///
/// # Errors
/// The URL is malformed, the file cannot be created or opened, or a migration fails.
pub async fn connect(url: &str) -> Result<Db, StartupError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(StartupError::Database)?
        .create_if_missing(true)
        // WAL lets readers proceed while one writer writes; NORMAL sync is durable in WAL mode
        // against process crashes (the OS still has the data).
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        // Concurrent writers wait for the lock instead of failing with "database is locked".
        .busy_timeout(Duration::from_secs(10));
    if let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| StartupError::Database(sqlx::Error::Io(e)))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(StartupError::Database)?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Whether the database answers and has every migration this binary embeds applied.
///
/// # Errors
/// A sentence for the readiness probe: which of the two is not the case (no internals).
pub async fn readiness(db: &Db) -> Result<(), String> {
    let applied: Result<Vec<i64>, sqlx::Error> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(db)
            .await;
    let applied = applied.map_err(|e| {
        tracing::warn!(error = %e, "readiness check could not query the database");
        "the database is not reachable".to_owned()
    })?;
    let missing = MIGRATOR
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count();
    if missing > 0 {
        return Err(format!(
            "{missing} database migration(s) are not applied yet"
        ));
    }
    Ok(())
}
