//! The database: connecting to SQLite or PostgreSQL, migrating, and (in the submodules) every
//! SQL statement the app runs.
//!
//! The engine is chosen at startup by `DATABASE_URL` alone. Every statement is written once, in
//! SQL both engines accept (`$n` placeholders, `RETURNING`, `ON CONFLICT`), and runs on the
//! native driver of the engine in use through `db_read!`, `db_write!` or `db_execute!`, so
//! each engine keeps its own typed connection options.

pub mod alerts;
pub mod audit;
pub mod mail;
pub mod passkeys;
pub mod per_request;
pub mod rate_limits;
pub mod sessions;
pub mod tasks;
pub mod two_step;
pub mod users;

use std::{str::FromStr, time::Duration};

use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

use super::{config::DbSettings, error::StartupError};

/// The connection pools every query goes through.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite allows one writer at a time. All writes go through `writer`, a pool of exactly
    /// one connection, so they queue in the process instead of contending for the file lock
    /// (which is what surfaces "database is locked"); `reader` connections are `query_only`
    /// and, thanks to WAL, read while the writer writes.
    Sqlite {
        reader: SqliteReaders,
        writer: SqlitePool,
    },
    /// PostgreSQL handles concurrent writers itself: one pool for everything.
    Postgres(PgPool),
}

/// Runs `$body` with `$conn` bound to the request's PostgreSQL connection (or one from `$pool`
/// outside a request): reads and writes alike, since PostgreSQL has one pool for both.
macro_rules! on_postgres {
    ($pool:expr, |$conn:ident| $body:expr) => {
        match $crate::server::db::per_request::postgres($pool).await {
            Ok(mut connection) => {
                let $conn = &mut **connection;
                $body
            }
            Err(err) => Err(err),
        }
    };
}

/// Runs `$body` with `$conn` bound to a connection that may only read (a SQLite reader, or a
/// PostgreSQL connection), on whichever engine `$db` uses: the request's own connection when it
/// has one (`per_request`). `$body` is compiled once per engine, so each gets its native
/// driver; it must return `Result<_, sqlx::Error>`.
macro_rules! db_read {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite { reader, .. } => {
                match $crate::server::db::per_request::reader(reader).await {
                    Ok(mut connection) => {
                        let $conn = &mut **connection;
                        $body
                    }
                    Err(err) => Err(err),
                }
            }
            $crate::server::db::Db::Postgres(pool) => {
                $crate::server::db::on_postgres!(pool, |$conn| $body)
            }
        }
    };
}

/// Runs `$body` with `$conn` bound to a connection that writes, on whichever engine `$db` uses:
/// SQLite's one writer (after handing the request's reader back, so no reader waits in the
/// writer's queue), or the request's PostgreSQL connection.
macro_rules! db_write {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite { writer, .. } => {
                $crate::server::db::per_request::release();
                match writer.acquire().await {
                    Ok(mut connection) => {
                        let $conn = &mut *connection;
                        $body
                    }
                    Err(err) => Err(err),
                }
            }
            $crate::server::db::Db::Postgres(pool) => {
                $crate::server::db::on_postgres!(pool, |$conn| $body)
            }
        }
    };
}

/// Runs a statement that returns no rows through the writer, binding each argument in order,
/// and returns how many rows it changed: the one way to run statements whose count matters.
macro_rules! db_execute {
    ($db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::server::db::db_write!($db, |conn| sqlx::query($sql)
            $(.bind($arg))*
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))
    };
}

/// Runs `$body` in a transaction on the writer (SQLite) or the request's connection
/// (PostgreSQL), with the transaction as `$tx`; a `return` or `?` inside rolls it back.
macro_rules! in_transaction {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite { writer, .. } => {
                $crate::server::db::per_request::release();
                let mut $tx = writer.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::server::db::Db::Postgres(pool) => {
                let mut connection = $crate::server::db::per_request::postgres(pool).await?;
                let mut $tx = sqlx::Connection::begin(&mut **connection).await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

pub(crate) use {db_execute, db_read, db_write, in_transaction, on_postgres};

/// SQLite migrations, embedded in the binary at compile time and applied at startup.
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
/// PostgreSQL migrations: the same schema in PostgreSQL's dialect (tests/schema.rs compares).
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a SQLite statement waits for a lock held by another process (a backup, the
/// `sqlite3` shell) before failing. Within this process writes never wait on the lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled PostgreSQL connection idle at least this long is pinged before a request gets it;
/// one used more recently was pinged as it came back (see `connect_postgres`).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

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

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`); anything else
/// that configuration accepts is SQLite.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// SQLite reader connections, `query_only`, shared by requests.
///
/// A `deadpool` pool rather than sqlx's: sqlx pings every connection as it goes back to its
/// pool (a round trip to the connection's worker thread and a spawned task per statement,
/// unconditional in sqlx 0.8). A SQLite connection is a file handle in this process that no
/// network can break, and a reader holds no transaction between statements, so it is reused
/// as it is.
#[derive(Clone)]
pub struct SqliteReaders {
    pool: deadpool::managed::Pool<ReaderManager>,
}

impl std::fmt::Debug for SqliteReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReaders")
            .field("status", &self.pool.status())
            .finish_non_exhaustive()
    }
}

/// Opens reader connections for [`SqliteReaders`].
pub struct ReaderManager(SqliteConnectOptions);

impl deadpool::managed::Manager for ReaderManager {
    type Type = sqlx::SqliteConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<sqlx::SqliteConnection, sqlx::Error> {
        sqlx::ConnectOptions::connect(&self.0).await
    }

    async fn recycle(
        &self,
        _: &mut sqlx::SqliteConnection,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<sqlx::Error> {
        Ok(())
    }
}

impl SqliteReaders {
    fn new(options: SqliteConnectOptions, settings: &DbSettings) -> Result<Self, StartupError> {
        let pool = deadpool::managed::Pool::builder(ReaderManager(options))
            .max_size(settings.max_connections as usize)
            .runtime(deadpool::Runtime::Tokio1)
            // The most recently used connection first: under light load the same few stay
            // warm (page cache, prepared statements) and the rest go idle and get closed.
            .queue_mode(deadpool::managed::QueueMode::Lifo)
            .wait_timeout(Some(settings.acquire_timeout))
            .create_timeout(Some(settings.acquire_timeout))
            .build()
            .map_err(|err| StartupError::Database(sqlx::Error::Configuration(err.into())))?;
        tokio::spawn(close_idle_readers(
            pool.clone(),
            settings.min_connections as usize,
        ));
        Ok(Self { pool })
    }

    /// A reader connection, waiting up to `DB_ACQUIRE_TIMEOUT` for one to be free. Errors
    /// come as sqlx's own (`PoolTimedOut`, `PoolClosed`, the connect error), so they map to
    /// the same answers as with any other pool.
    pub async fn get(&self) -> Result<deadpool::managed::Object<ReaderManager>, sqlx::Error> {
        use deadpool::managed::PoolError;
        self.pool.get().await.map_err(|err| match err {
            PoolError::Backend(err) => err,
            PoolError::Closed => sqlx::Error::PoolClosed,
            PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
            other => sqlx::Error::Configuration(other.to_string().into()),
        })
    }

    /// Refuses new checkouts and closes the idle connections, waiting for each; a checked-out
    /// connection closes when it comes back.
    pub async fn close(&self) {
        let idle = self.pool.retain(|_, _| false).removed;
        self.pool.close();
        for connection in idle {
            if let Err(err) = sqlx::Connection::close(connection).await {
                tracing::warn!(error = %err, "a SQLite reader connection did not close cleanly");
            }
        }
    }
}

/// A reader unused this long is closed (its page cache with it), beyond `DB_MIN_CONNECTIONS`.
const READER_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Every minute, closes the readers idle for [`READER_IDLE_TIMEOUT`] except the `keep`
/// most recently used, until the pool is closed: a burst's connections do not stay resident.
async fn close_idle_readers(pool: deadpool::managed::Pool<ReaderManager>, keep: usize) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    while !pool.is_closed() {
        tick.tick().await;
        // Idle connections queue least recently used first (LIFO: the last is taken next).
        let idle = pool.status().available;
        let mut position = 0;
        pool.retain(|_, metrics| {
            position += 1;
            position + keep > idle || metrics.last_used() < READER_IDLE_TIMEOUT
        });
    }
}

impl Db {
    /// Connects to the database `url` names (`sqlite:…` or `postgres://…`) and applies pending
    /// migrations. Several replicas may start at once on one PostgreSQL: sqlx holds an advisory
    /// lock while migrating, so exactly one applies each migration.
    ///
    /// # Errors
    /// The URL is malformed, the database cannot be reached or created, or a migration fails.
    pub async fn connect(url: &str, settings: &DbSettings) -> Result<Self, StartupError> {
        if is_postgres_url(url) {
            Self::connect_postgres(url, settings).await
        } else {
            Self::connect_sqlite(url, settings).await
        }
    }

    async fn connect_sqlite(url: &str, settings: &DbSettings) -> Result<Self, StartupError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StartupError::Database)?
            // WAL lets readers proceed while the writer writes; NORMAL sync is durable in WAL
            // mode against process crashes (a committed transaction is in the OS's hands).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        // Readers and the writer are separate connections; an in-memory database would give
        // each its own empty database (and lose everything at exit).
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StartupError::SqliteInMemory);
        }
        let file = options.get_filename();
        if let Some(dir) = file.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StartupError::Database(sqlx::Error::Io(e)))?;
        }
        // No ping before each checkout (sqlx's default): a SQLite connection is a file handle
        // in this process, so a ping cannot find it broken; it only costs a round trip to the
        // connection's worker thread (two thread wake-ups per statement; without it the REST
        // list serves 13-18 % more requests per second in `bench/run`).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone().create_if_missing(true))
            .await
            .map_err(StartupError::Database)?;
        SQLITE_MIGRATOR.run(&writer).await?;
        // A write sent to a reader by mistake fails loudly instead of contending for the lock.
        let reader = SqliteReaders::new(options.pragma("query_only", "ON"), settings)?;
        // Open DB_MIN_CONNECTIONS readers now (at least one, so a reader that cannot open the
        // file stops startup with the cause); the pool keeps every connection it opened.
        let mut opened = Vec::new();
        for _ in 0..settings.min_connections.max(1) {
            opened.push(reader.get().await.map_err(StartupError::Database)?);
        }
        drop(opened);
        Ok(Self::Sqlite { reader, writer })
    }

    async fn connect_postgres(url: &str, settings: &DbSettings) -> Result<Self, StartupError> {
        let statement_timeout = settings.statement_timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(url)
            .map_err(StartupError::Database)?
            .application_name("tasks")
            // A runaway query is cancelled instead of holding a connection (and its locks)
            // for ever; the request gets a 503.
            .options([("statement_timeout", statement_timeout.as_str())]);
        // One direct connection first, so that a failure names its cause (connection refused,
        // authentication failed, no such database) rather than the pool's "timed out".
        let probe = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
            .await
            .map_err(StartupError::Database)?;
        sqlx::Connection::close(probe)
            .await
            .map_err(StartupError::Database)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout)
            // Drop connections that sat idle (a restarted server or a proxy may have cut them).
            .idle_timeout(Duration::from_secs(300))
            // No ping before every checkout (sqlx's default): it is a network round trip per
            // request, and sqlx already pings each connection as it comes back to the pool, so
            // one that was used a moment ago is known to be alive. Only a connection idle for
            // longer is pinged first (as HikariCP does): the server may have restarted or a
            // proxy cut it meanwhile, and the pool then replaces it instead of failing the
            // request, so it recovers by itself when the database comes back.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(StartupError::Database)?;
        POSTGRES_MIGRATOR.run(&pool).await?;
        Ok(Self::Postgres(pool))
    }

    /// `"sqlite"` or `"postgres"`, for logs.
    pub fn engine(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// The migrations this binary embeds for the engine in use.
    pub fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self {
            Self::Sqlite { .. } => &SQLITE_MIGRATOR,
            Self::Postgres(_) => &POSTGRES_MIGRATOR,
        }
    }

    /// How many connections each pool has checked out and idle right now, for the metrics:
    /// SQLite's reader and writer pools, or PostgreSQL's one pool.
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        fn of<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> PoolUsage {
            let idle = pool.num_idle();
            PoolUsage {
                pool: name,
                in_use: usize::try_from(pool.size())
                    .unwrap_or(usize::MAX)
                    .saturating_sub(idle),
                idle,
                max: usize::try_from(pool.options().get_max_connections()).unwrap_or(usize::MAX),
            }
        }
        match self {
            Self::Sqlite { reader, writer } => {
                let status = reader.pool.status();
                vec![
                    PoolUsage {
                        pool: "sqlite_reader",
                        in_use: status.size.saturating_sub(status.available),
                        idle: status.available,
                        max: status.max_size,
                    },
                    of("sqlite_writer", writer),
                ]
            }
            Self::Postgres(pool) => vec![of("postgres", pool)],
        }
    }

    /// Waits for checked-out connections to be returned, then closes every connection (SQLite
    /// checkpoints its WAL when the last one closes).
    pub async fn close(&self) {
        match self {
            Self::Sqlite { reader, writer } => {
                reader.close().await;
                writer.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// One connection pool's connections at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// `sqlite_reader`, `sqlite_writer` or `postgres`.
    pub pool: &'static str,
    /// Checked out by a request (or a background task) right now.
    pub in_use: usize,
    /// Open and waiting in the pool.
    pub idle: usize,
    /// The most the pool opens.
    pub max: usize,
}

/// Whether the database answers and has every migration this binary embeds applied.
///
/// # Errors
/// A sentence for the readiness probe: which of the two is not the case (no internals).
pub async fn readiness(db: &Db) -> Result<(), String> {
    const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success = TRUE";
    let applied: Result<Vec<i64>, sqlx::Error> = db_read!(db, |conn| {
        sqlx::query_scalar(APPLIED).fetch_all(conn).await
    });
    let applied = applied.map_err(|e| {
        tracing::warn!(error = %e, "readiness check could not query the database");
        "the database is not reachable".to_owned()
    })?;
    let missing = db
        .migrator()
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

/// The migrations applied to the database, oldest first: (version, description).
///
/// # Errors
/// Database failures.
pub async fn applied_migrations(db: &Db) -> Result<Vec<(i64, String)>, sqlx::Error> {
    const SQL: &str =
        "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
    db_read!(db, |c| sqlx::query_as(SQL).fetch_all(c).await)
}

/// Writes a consistent copy of the SQLite database to `path` (`VACUUM INTO`), while the server
/// may be running: the copy is one read transaction, so it sees every committed write up to
/// its start and none after. Does nothing on PostgreSQL.
///
/// # Errors
/// The file cannot be written (it exists, or its folder does not).
pub async fn backup_sqlite(db: &Db, path: &str) -> Result<(), sqlx::Error> {
    if let Db::Sqlite { writer, .. } = db {
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(writer)
            .await?;
    }
    Ok(())
}
