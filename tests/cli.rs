//! The `tasks` binary's commands, run as processes against a real database (both engines):
//! `admin grant|revoke|list`, `migrate`, `backup`, `--help`.

mod common;

use std::process::{Command, Output};

use axum::http::StatusCode;
use common::{Engine, SECRET, TestApp, api_register, spawn};

/// Runs `tasks ARGS` with the test app's configuration, as an operator on its machine would.
fn tasks(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database.url)
        .env("DATA_DIR", app.dir.path())
        .env("JWT_SECRET", SECRET)
        .current_dir(app.dir.path())
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn role_of(app: &TestApp, email: &str) -> String {
    on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT role FROM users WHERE email = $1"
    )
    .bind(email)
    .fetch_one(c)
    .await)
    .unwrap()
}

#[test]
fn help_lists_the_commands_and_needs_no_configuration() {
    let output = Command::new(env!("CARGO_BIN_EXE_tasks"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = stdout(&output);
    for command in ["serve", "migrate", "backup", "admin"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    let admin = Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(["admin", "--help"])
        .env_clear()
        .output()
        .unwrap();
    for command in ["grant", "revoke", "list"] {
        assert!(stdout(&admin).contains(command), "{}", stdout(&admin));
    }
    let wrong = Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(["admin", "promote"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("promote"), "{}", stderr(&wrong));
}

#[tokio::test]
async fn admin_grant_revoke_and_list_change_roles_in_the_servers_database() {
    let app = spawn().await;
    assert_eq!(
        api_register(&app, "ops@example.com").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        api_register(&app, "dev@example.com").await.status,
        StatusCode::CREATED
    );

    let none = tasks(&app, &["admin", "list"]);
    assert!(none.status.success(), "{}", stderr(&none));
    assert!(
        stdout(&none).contains("no administrators yet"),
        "{}",
        stdout(&none)
    );

    // The email is normalized as at sign-in.
    let granted = tasks(&app, &["admin", "grant", " OPS@Example.com "]);
    assert!(granted.status.success(), "{}", stderr(&granted));
    assert!(stdout(&granted).contains("ops@example.com is now an administrator"));
    assert_eq!(role_of(&app, "ops@example.com").await, "admin");
    let again = tasks(&app, &["admin", "grant", "ops@example.com"]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("already"), "{}", stdout(&again));
    assert!(
        tasks(&app, &["admin", "grant", "dev@example.com"])
            .status
            .success()
    );

    let list = stdout(&tasks(&app, &["admin", "list"]));
    assert!(
        list.contains("ops@example.com") && list.contains("dev@example.com"),
        "{list}"
    );

    let revoked = tasks(&app, &["admin", "revoke", "dev@example.com"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_eq!(role_of(&app, "dev@example.com").await, "user");

    let last = tasks(&app, &["admin", "revoke", "ops@example.com"]);
    assert!(!last.status.success());
    assert!(
        stderr(&last).contains("last administrator"),
        "{}",
        stderr(&last)
    );
    assert_eq!(role_of(&app, "ops@example.com").await, "admin");

    let unknown = tasks(&app, &["admin", "grant", "nobody@example.com"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no account has the email nobody@example.com"),
        "{}",
        stderr(&unknown)
    );

    // Recorded as the command line's doing.
    let detail: String = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE event = 'role_changed' ORDER BY id LIMIT 1"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(detail, "user → admin, from the command line");
}

#[tokio::test]
async fn migrate_reports_the_schema_version() {
    let app = spawn().await;
    let output = tasks(&app, &["migrate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("up to date"), "{text}");
    let latest = app.state.db.migrator().iter().last().unwrap();
    assert!(text.contains(&latest.version.to_string()), "{text}");
    assert!(text.contains(latest.description.as_ref()), "{text}");
    let count = app.state.db.migrator().iter().count();
    assert!(
        text.contains(&format!("{count} migrations applied")),
        "{text}"
    );
}

#[tokio::test]
async fn backup_copies_a_live_sqlite_database_or_names_pg_dump() {
    let app = spawn().await;
    assert_eq!(
        api_register(&app, "kept@example.com").await.status,
        StatusCode::CREATED
    );
    let path = app.dir.path().join("backup.db");
    let output = tasks(&app, &["backup", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    if Engine::from_env() == Engine::Postgres {
        assert!(stdout(&output).contains("pg_dump"), "{}", stdout(&output));
        return;
    }
    assert!(stdout(&output).contains("backed up"), "{}", stdout(&output));
    // The copy is a database of its own holding the account.
    let copy = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let email: String = sqlx::query_scalar("SELECT email FROM users")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(email, "kept@example.com");
    copy.close().await;
    // Never over an existing file.
    let again = tasks(&app, &["backup", path.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}
