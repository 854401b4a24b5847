//! Which database engine the integration tests run on, and a fresh database per test.
//!
//! `TEST_DATABASE=postgres` runs every test that uses [`spawn`](super::spawn) on PostgreSQL
//! (`TEST_POSTGRES_URL`, default the machine's local server); the default is SQLite. Each test
//! gets a database of its own, dropped when the test ends. Outside CI an unreachable PostgreSQL
//! skips the PostgreSQL tests with one line saying so; under `CI=true` it fails them.

use std::path::Path;

use sqlx::{Connection, Executor, PgConnection};

/// The two engines the app supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine `TEST_DATABASE` asks for (`sqlite` when unset).
    pub fn from_env() -> Self {
        match std::env::var("TEST_DATABASE").as_deref() {
            Ok("postgres") | Ok("postgresql") => Self::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Self::Sqlite,
            Ok(other) => panic!("TEST_DATABASE must be `sqlite` or `postgres`, not `{other}`"),
        }
    }
}

/// The server tests connect to in order to create and drop their databases.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether PostgreSQL tests can run. Under `CI=true` an unreachable server is a failure; outside
/// CI the first caller prints one line and every PostgreSQL test in this binary is skipped.
pub async fn postgres_available() -> bool {
    static CHECKED: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
    *CHECKED
        .get_or_init(|| async {
            let url = postgres_admin_url();
            match PgConnection::connect(&url).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    true
                }
                Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                    panic!("CI=true but PostgreSQL at {url} is unreachable ({e}); start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`")
                }
                Err(e) => {
                    // Straight to stderr: the test harness captures eprintln! of passing tests.
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "SKIPPED: PostgreSQL tests in this binary, no server at {url} ({e}); \
                         start PostgreSQL or set TEST_POSTGRES_URL to run them"
                    );
                    false
                }
            }
        })
        .await
}

/// A database that exists for one test: a SQLite file in the test's folder, or a PostgreSQL
/// database created for it and dropped (with any connections left) when this is dropped.
pub struct TestDatabase {
    pub url: String,
    pub engine: Engine,
    postgres_name: Option<String>,
}

impl TestDatabase {
    /// A new SQLite database file in `dir`.
    pub fn sqlite(dir: &Path) -> Self {
        Self {
            url: format!("sqlite://{}/test.db", dir.display()),
            engine: Engine::Sqlite,
            postgres_name: None,
        }
    }

    /// A new, empty PostgreSQL database, or `None` when PostgreSQL tests are skipped.
    pub async fn postgres() -> Option<Self> {
        if !postgres_available().await {
            return None;
        }
        let admin = postgres_admin_url();
        let name = format!("tasks_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("connect to PostgreSQL");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the test database");
        let _ = conn.close().await;
        let (base, _) = admin
            .rsplit_once('/')
            .expect("TEST_POSTGRES_URL names a database");
        Some(Self {
            url: format!("{base}/{name}"),
            engine: Engine::Postgres,
            postgres_name: Some(name),
        })
    }

    /// The same database again, for a second replica; only the original drops it.
    pub fn shared(&self) -> Self {
        Self {
            url: self.url.clone(),
            engine: self.engine,
            postgres_name: None,
        }
    }

    /// A database on `engine` (`None`: PostgreSQL tests are skipped).
    pub async fn new(engine: Engine, dir: &Path) -> Option<Self> {
        match engine {
            Engine::Sqlite => Some(Self::sqlite(dir)),
            Engine::Postgres => Self::postgres().await,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with a
        // runtime of its own. FORCE ends the app's pooled connections to it.
        let admin = postgres_admin_url();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&admin).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                conn.close().await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop a test database: {e}");
        }
    }
}
