//! The two engines' migrations build the same schema, and a user's task list is read through
//! its index on both, however many tasks other people have.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Engine, TestDatabase};
use sqlx::{Row, postgres::PgPool, sqlite::SqlitePool};
use tasks::server::{config::DbSettings, db::Db};

/// One table as both engines can describe it, in engine-neutral terms.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// name -> (type, not null, default)
    columns: BTreeMap<String, (String, bool, Option<String>)>,
    primary_key: Vec<String>,
    /// (columns, referenced table, referenced columns, on delete)
    foreign_keys: BTreeSet<(Vec<String>, String, Vec<String>, String)>,
    /// Column sets with a UNIQUE constraint (besides the primary key).
    unique: BTreeSet<Vec<String>>,
    /// Named indexes created by the migrations: name -> (columns with DESC marks, unique).
    indexes: BTreeMap<String, (Vec<String>, bool)>,
}

type Schema = BTreeMap<String, Table>;

/// The types the migrations use, named the same on both engines. Every SQLite integer is 64-bit,
/// so only PostgreSQL's `bigint` matches it (an `integer` there would not decode into `i64`).
fn neutral_type(raw: &str) -> String {
    match raw.to_ascii_lowercase().as_str() {
        "sqlite:integer" | "sqlite:bigint" | "bigint" => "int64".into(),
        "integer" => "int32".into(),
        "text" | "sqlite:text" => "text".into(),
        "boolean" | "sqlite:boolean" => "boolean".into(),
        other => panic!("a migration uses type `{other}`; teach neutral_type what it maps to"),
    }
}

/// PostgreSQL reports a text default with its cast (`'user'::text`); SQLite as written.
fn neutral_default(raw: Option<String>) -> Option<String> {
    raw.map(|d| {
        let d = d.to_ascii_lowercase();
        d.strip_suffix("::text").map(str::to_owned).unwrap_or(d)
    })
}

async fn sqlite_schema(pool: &SqlitePool) -> Schema {
    let mut schema = Schema::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for name in tables {
        let mut table = Table::default();
        let mut pk = Vec::new();
        for col in sqlx::query(&format!("PRAGMA table_info({name})"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let column: String = col.get("name");
            let pk_pos: i64 = col.get("pk");
            // An INTEGER PRIMARY KEY is the rowid: never NULL, whatever table_info says.
            let not_null = col.get::<i64, _>("notnull") == 1 || pk_pos > 0;
            if pk_pos > 0 {
                pk.push((pk_pos, column.clone()));
            }
            table.columns.insert(
                column,
                (
                    neutral_type(&format!("sqlite:{}", col.get::<String, _>("type"))),
                    not_null,
                    neutral_default(col.get("dflt_value")),
                ),
            );
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        for fk in sqlx::query(&format!("PRAGMA foreign_key_list({name})"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            table.foreign_keys.insert((
                vec![fk.get("from")],
                fk.get("table"),
                vec![fk.get("to")],
                fk.get::<String, _>("on_delete").to_ascii_lowercase(),
            ));
        }
        for index in sqlx::query(&format!("PRAGMA index_list({name})"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let index_name: String = index.get("name");
            let origin: String = index.get("origin");
            let unique = index.get::<i64, _>("unique") == 1;
            let mut columns = Vec::new();
            for col in sqlx::query(&format!("PRAGMA index_xinfo({index_name})"))
                .fetch_all(pool)
                .await
                .unwrap()
            {
                if col.get::<i64, _>("key") == 1 {
                    let column: String = col.get("name");
                    let desc = col.get::<i64, _>("desc") == 1;
                    columns.push(if desc {
                        format!("{column} DESC")
                    } else {
                        column
                    });
                }
            }
            match origin.as_str() {
                "u" => {
                    table.unique.insert(columns);
                }
                "pk" => {}
                _ => {
                    table.indexes.insert(index_name, (columns, unique));
                }
            }
        }
        schema.insert(name, table);
    }
    schema
}

async fn postgres_schema(pool: &PgPool) -> Schema {
    let mut schema = Schema::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for name in tables {
        let mut table = Table::default();
        for col in sqlx::query(
            "SELECT column_name::text AS name, data_type::text AS type, \
                    is_nullable::text AS nullable, column_default::text AS dflt \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap()
        {
            table.columns.insert(
                col.get("name"),
                (
                    neutral_type(col.get("type")),
                    col.get::<String, _>("nullable") == "NO",
                    neutral_default(col.get("dflt")),
                ),
            );
        }
        // Constraints, with their columns in key order.
        for con in sqlx::query(
            "SELECT c.contype::text AS kind, \
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i) \
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n \
                          ORDER BY k.i) AS cols, \
                    c.confrelid::regclass::text AS ref_table, \
                    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i) \
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n \
                          ORDER BY k.i) AS ref_cols, \
                    c.confdeltype::text AS on_delete \
             FROM pg_constraint c WHERE c.conrelid = $1::regclass",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap()
        {
            let cols: Vec<String> = con.get("cols");
            match con.get::<String, _>("kind").as_str() {
                "p" => table.primary_key = cols,
                "u" => {
                    table.unique.insert(cols);
                }
                "f" => {
                    let on_delete = match con.get::<String, _>("on_delete").as_str() {
                        "c" => "cascade",
                        "a" => "no action",
                        "r" => "restrict",
                        "n" => "set null",
                        "d" => "set default",
                        other => panic!("unknown confdeltype {other}"),
                    };
                    table.foreign_keys.insert((
                        cols,
                        con.get("ref_table"),
                        con.get("ref_cols"),
                        on_delete.into(),
                    ));
                }
                // NOT NULL on identity columns shows up as a check on some versions.
                _ => {}
            }
        }
        // Indexes that back no constraint, i.e. the ones the migrations create by name.
        for index in sqlx::query(
            "SELECT i.indexrelid::regclass::text AS name, i.indisunique AS is_unique, \
                    ARRAY(SELECT a.attname::text || CASE WHEN (i.indoption[k.i - 1] & 1) = 1 \
                                 THEN ' DESC' ELSE '' END \
                          FROM unnest(i.indkey) WITH ORDINALITY k(n, i) \
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n \
                          ORDER BY k.i) AS cols \
             FROM pg_index i WHERE i.indrelid = $1::regclass \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap()
        {
            table.indexes.insert(
                index.get("name"),
                (index.get("cols"), index.get("is_unique")),
            );
        }
        schema.insert(name, table);
    }
    schema
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let Some(pg) = TestDatabase::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lite = TestDatabase::sqlite(dir.path());
    let settings = DbSettings::default();
    let Db::Sqlite { writer, .. } = Db::connect(&lite.url, &settings).await.unwrap() else {
        panic!("sqlite: URL opened another engine");
    };
    let Db::Postgres(pool) = Db::connect(&pg.url, &settings).await.unwrap() else {
        panic!("postgres:// URL opened another engine");
    };
    let sqlite = sqlite_schema(&writer).await;
    let postgres = postgres_schema(&pool).await;
    pool.close().await;

    // Not vacuous: both describe the tables and the keys that matter.
    let names: Vec<&str> = sqlite.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "alert_links",
            "audit_events",
            "deleted_tasks",
            "email_tokens",
            "mail_queue",
            "passkey_challenges",
            "passkeys",
            "rate_limits",
            "recovery_codes",
            "refresh_tokens",
            "sessions",
            "sign_in_challenges",
            "tasks",
            "totp_secrets",
            "users"
        ]
    );
    let tasks = &sqlite["tasks"];
    assert_eq!(tasks.primary_key, ["id"]);
    assert!(tasks.indexes.contains_key("tasks_user_list"));
    assert_eq!(
        sqlite["users"].unique,
        BTreeSet::from([vec!["email".to_owned()]])
    );

    for (name, table) in &sqlite {
        assert_eq!(Some(table), postgres.get(name), "table {name} differs");
    }
    assert_eq!(sqlite, postgres);
    // Both embed the same migration versions, so /readyz means the same on both.
    let versions = |m: &sqlx::migrate::Migrator| m.iter().map(|m| m.version).collect::<Vec<_>>();
    assert_eq!(
        versions(&tasks::server::db::SQLITE_MIGRATOR),
        versions(&tasks::server::db::POSTGRES_MIGRATOR)
    );
}

/// The queries behind a user's task list, as `db::tasks` runs them: the REST API's keyset page
/// must come out of the index already in order (no sort, stops after 50 rows); the server
/// function's whole list may be sorted after an index lookup (PostgreSQL then prefers a bitmap
/// scan for ~1,000 rows), but never scans other people's rows.
const LIST_QUERIES: [(&str, bool); 2] = [
    (
        "SELECT id, title, done, created_at FROM tasks WHERE user_id = 7 AND id < 1000000 \
         ORDER BY id DESC LIMIT 50",
        true,
    ),
    (
        "SELECT id, title, done, created_at FROM tasks WHERE user_id = 7 ORDER BY id DESC",
        false,
    ),
];

#[tokio::test]
async fn a_users_task_list_is_an_index_scan_however_many_tasks_others_have() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = TestDatabase::new(Engine::from_env(), dir.path()).await else {
        return;
    };
    let db = Db::connect(&database.url, &DbSettings::default())
        .await
        .unwrap();
    // 50 users with 1,000 tasks each; ANALYZE so the planner knows user 7 is a small slice.
    crate::on_db!(&db, |c| {
        sqlx::query(
            "INSERT INTO users (email, name, password_hash, created_at) \
             SELECT 'u' || n || '@example.com', 'U', 'x', 0 FROM \
             (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 50) \
              SELECT n FROM s) AS users_to_add",
        )
        .execute(c)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO tasks (user_id, title, done, created_at, updated_at) \
             SELECT 1 + (n % 50), 'task ' || n, FALSE, n, n FROM \
             (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 50000) \
              SELECT n FROM s) AS tasks_to_add",
        )
        .execute(c)
        .await
        .unwrap();
        sqlx::query("ANALYZE").execute(c).await.unwrap();
    });
    for (query, in_index_order) in LIST_QUERIES {
        let plan: String = match &db {
            Db::Sqlite { reader, .. } => {
                let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {query}"))
                    .fetch_all(&mut *reader.get().await.unwrap())
                    .await
                    .unwrap();
                rows.iter()
                    .map(|r| r.get::<String, _>("detail"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            Db::Postgres(pool) => {
                let rows = sqlx::query(&format!("EXPLAIN {query}"))
                    .fetch_all(pool)
                    .await
                    .unwrap();
                rows.iter()
                    .map(|r| r.get::<String, _>(0))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        let via_index = plan.contains("USING INDEX tasks_user_list")
            || plan.contains("USING COVERING INDEX tasks_user_list")
            || plan.contains("Index Scan using tasks_user_list")
            || plan.contains("Index Only Scan using tasks_user_list")
            || plan.contains("Bitmap Index Scan on tasks_user_list");
        assert!(
            via_index,
            "{query}\nis not read through tasks_user_list:\n{plan}"
        );
        assert!(
            !plan.contains("Seq Scan") && !plan.contains("SCAN tasks"),
            "{plan}"
        );
        if in_index_order {
            assert!(
                !plan.contains("TEMP B-TREE") && !plan.contains("Sort"),
                "sorted: {plan}"
            );
        }
    }
    db.close().await;
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused_with_a_hint() {
    for url in ["sqlite::memory:", "sqlite://file.db?mode=memory"] {
        let err = Db::connect(url, &DbSettings::default()).await.unwrap_err();
        assert!(
            err.to_string().contains("sqlite://data/tasks.db"),
            "{url}: {err}"
        );
    }
}

#[tokio::test]
async fn sqlite_readers_are_bounded_wait_then_time_out_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let lite = TestDatabase::sqlite(dir.path());
    let settings = DbSettings {
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_millis(300),
        ..DbSettings::default()
    };
    let db = Db::connect(&lite.url, &settings).await.unwrap();
    let Db::Sqlite { reader, .. } = &db else {
        panic!("not SQLite");
    };
    let first = reader.get().await.unwrap();
    let second = reader.get().await.unwrap();
    // Both taken: the third waits DB_ACQUIRE_TIMEOUT, then gets sqlx's own timeout, which the
    // app answers with 503 + Retry-After like any other saturated pool.
    let started = std::time::Instant::now();
    let third = reader.get().await.map(|_| ()).unwrap_err();
    assert!(matches!(third, sqlx::Error::PoolTimedOut), "{third:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
    let app_error = tasks::error::AppError::from(third);
    assert_eq!(
        app_error.status_code(),
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    );
    // A returned connection is handed out again, as it is (no ping), and still reads.
    drop(first);
    let mut again = reader.get().await.unwrap();
    let one: i64 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut *again)
        .await
        .unwrap();
    assert_eq!(one, 1);
    drop((again, second));
    db.close().await;
    let closed = reader.get().await.map(|_| ()).unwrap_err();
    assert!(matches!(closed, sqlx::Error::PoolClosed), "{closed:?}");
}

#[tokio::test]
async fn each_engine_gets_its_connection_settings() {
    let dir = tempfile::tempdir().unwrap();
    let lite = TestDatabase::sqlite(dir.path());
    let settings = DbSettings {
        statement_timeout: std::time::Duration::from_millis(1500),
        ..DbSettings::default()
    };
    let Db::Sqlite { reader, writer } = Db::connect(&lite.url, &settings).await.unwrap() else {
        panic!("not SQLite");
    };
    let mut reader_connection = reader.get().await.unwrap();
    let mut writer_connection = writer.acquire().await.unwrap();
    for connection in [&mut *reader_connection, &mut *writer_connection] {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *connection)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *connection)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *connection)
            .await
            .unwrap();
        assert_eq!(busy, 10_000);
    }
    drop(writer_connection);
    assert_eq!(writer.options().get_max_connections(), 1, "one writer");
    // A write sent to a reader fails at once instead of waiting for the lock.
    let misrouted = sqlx::query("DELETE FROM rate_limits")
        .execute(&mut *reader_connection)
        .await;
    assert!(
        misrouted
            .unwrap_err()
            .to_string()
            .contains("attempt to write a readonly database")
    );

    let Some(pg) = TestDatabase::postgres().await else {
        return;
    };
    let Db::Postgres(pool) = Db::connect(&pg.url, &settings).await.unwrap() else {
        panic!("not PostgreSQL");
    };
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(timeout, "1500ms");
    // A statement over the limit is cancelled, and the app calls that "unavailable" (503).
    let slow = sqlx::query("SELECT pg_sleep(3)")
        .execute(&pool)
        .await
        .unwrap_err();
    let app_error = tasks::error::AppError::from(slow);
    assert_eq!(app_error.status(), 503);
    pool.close().await;
}

#[tokio::test]
async fn postgres_connections_use_tls_when_the_url_asks_and_verify_the_server() {
    let Some(pg) = TestDatabase::postgres().await else {
        return;
    };
    let settings = DbSettings::default();
    let plain = Db::connect(&pg.url, &settings).await.unwrap();
    let Db::Postgres(plain) = plain else {
        panic!("not PostgreSQL")
    };
    let server_ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&plain)
        .await
        .unwrap();
    plain.close().await;
    if server_ssl != "on" {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: TLS test, this PostgreSQL has ssl = off"
        );
        return;
    }
    let Db::Postgres(encrypted) = Db::connect(&format!("{}?sslmode=require", pg.url), &settings)
        .await
        .unwrap()
    else {
        panic!("not PostgreSQL")
    };
    let tls: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&encrypted)
        .await
        .unwrap();
    assert!(tls, "sslmode=require gave a plain-text connection");
    encrypted.close().await;
    // verify-full checks the certificate against the system's CAs: a self-signed (Debian
    // "snakeoil") certificate is refused rather than trusted.
    let verified = Db::connect(&format!("{}?sslmode=verify-full", pg.url), &settings).await;
    assert!(
        verified.is_err(),
        "an untrusted server certificate was accepted"
    );
}
