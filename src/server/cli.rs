//! The command line of the `tasks` binary: with no command it serves; `tasks admin …`,
//! `tasks migrate` and `tasks backup PATH` are the operator's tools, reading the same
//! configuration (environment and `.env`) as the server.
//!
//! Commands print what they did on stdout and exit non-zero with a sentence on stderr when
//! they could not do it.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use super::{
    admin::{self, Actor, Change},
    auth::ClientInfo,
    db::{self, Db, now_millis},
    state::AppState,
    validate,
};
use crate::{error::AppError, model::Role};

/// Tasks: a task list with real authentication. With no command, serves the web app and the
/// API (configured by environment variables and `.env`; see the README).
#[derive(Debug, Parser)]
#[command(name = "tasks", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the API (what `tasks` alone does).
    Serve,
    /// Apply pending database migrations and exit (the server also applies them at startup).
    Migrate,
    /// SQLite: write a consistent copy of the live database to PATH. PostgreSQL: print the
    /// `pg_dump` command to use.
    Backup {
        /// Where the copy goes; must not exist yet.
        path: PathBuf,
    },
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make the account with this email an administrator.
    Grant { email: String },
    /// Make the administrator with this email an ordinary user again.
    Revoke { email: String },
    /// List the administrators.
    List,
    /// Turn off two-step sign-in for the account with this email (a lost phone and lost
    /// recovery codes, when no administrator can do it from /admin).
    ResetTwoStep { email: String },
}

/// A command that could not do what it was asked; the text is for the operator.
#[derive(Debug)]
pub struct CommandError(pub String);

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<AppError> for CommandError {
    fn from(err: AppError) -> Self {
        Self(match err {
            AppError::Unavailable => {
                "the database is unavailable; check DATABASE_URL and that the database is \
                 running"
                    .to_owned()
            }
            other => other.to_string(),
        })
    }
}

/// Runs `tasks admin …` against the state's database.
///
/// # Errors
/// An unknown email, the last administrator, or a database failure.
pub async fn admin(state: &AppState, action: &AdminCommand) -> Result<String, CommandError> {
    match action {
        AdminCommand::Grant { email } => set_role(state, email, Role::Admin).await,
        AdminCommand::Revoke { email } => set_role(state, email, Role::User).await,
        AdminCommand::List => list_admins(&state.db).await,
        AdminCommand::ResetTwoStep { email } => reset_two_step(state, email).await,
    }
}

async fn reset_two_step(state: &AppState, email: &str) -> Result<String, CommandError> {
    let normalized = validate::normalize_email(email);
    let Some(user) = db::users::find_by_email(&state.db, &normalized).await? else {
        return Err(CommandError(format!(
            "no account has the email {email}; check the address"
        )));
    };
    let client = ClientInfo::command_line();
    if admin::reset_two_step(state, Actor::CommandLine, &client, user.id).await? {
        Ok(format!(
            "two-step sign-in is off for {}; every session of the account was signed out and \
             they can sign in with their password",
            user.email
        ))
    } else {
        Ok(format!("{} does not have two-step sign-in on", user.email))
    }
}

async fn set_role(state: &AppState, email: &str, role: Role) -> Result<String, CommandError> {
    let normalized = validate::normalize_email(email);
    let Some(user) = db::users::find_by_email(&state.db, &normalized).await? else {
        return Err(CommandError(format!(
            "no account has the email {email}; check the address (tasks admin list shows the \
             administrators), or sign up first"
        )));
    };
    if user.role == role {
        return Ok(match role {
            Role::Admin => format!("{} is already an administrator", user.email),
            Role::User => format!("{} is not an administrator", user.email),
        });
    }
    let change = Change {
        role: Some(role),
        disabled: None,
    };
    let client = ClientInfo::command_line();
    admin::change(state, Actor::CommandLine, &client, user.id, change).await?;
    Ok(match role {
        Role::Admin => format!(
            "{} is now an administrator (effective on their next request)",
            user.email
        ),
        Role::User => format!(
            "{} is no longer an administrator (effective on their next request)",
            user.email
        ),
    })
}

async fn list_admins(db: &Db) -> Result<String, CommandError> {
    let admins = db::users::admins(db, now_millis()).await?;
    if admins.is_empty() {
        return Ok("no administrators yet; make one with: tasks admin grant EMAIL".to_owned());
    }
    let mut out = format!("{:<8} {:<40} {:<10} NAME\n", "ID", "EMAIL", "STATUS");
    for row in admins {
        let status = if row.disabled { "disabled" } else { "enabled" };
        out.push_str(&format!(
            "{:<8} {:<40} {:<10} {}\n",
            row.user.id, row.user.email, status, row.user.name
        ));
    }
    out.pop();
    Ok(out)
}

/// `tasks migrate`: the database was migrated when it was opened; report where it stands.
///
/// # Errors
/// Database failures.
pub async fn migrate(db: &Db) -> Result<String, CommandError> {
    let applied = db::applied_migrations(db)
        .await
        .map_err(|e| CommandError(format!("could not read the applied migrations: {e}")))?;
    let latest = applied
        .last()
        .map_or_else(|| "none".to_owned(), |(v, d)| format!("{v} ({d})"));
    Ok(format!(
        "{} database is up to date: {} migrations applied, the latest {latest}",
        db.engine(),
        applied.len(),
    ))
}

/// `tasks backup PATH`.
///
/// # Errors
/// `PATH` exists or cannot be written, or the copy fails.
pub async fn backup(db: &Db, path: &Path) -> Result<String, CommandError> {
    if matches!(db, Db::Postgres(_)) {
        return Ok(format!(
            "PostgreSQL is backed up with its own tools; run:\n  \
             pg_dump --format=custom --file={} \"$DATABASE_URL\"\n\
             and restore into an empty database with:\n  \
             pg_restore --no-owner --dbname=\"$DATABASE_URL\" {}",
            path.display(),
            path.display()
        ));
    }
    if path.exists() {
        return Err(CommandError(format!(
            "{} already exists; choose a new file name (a backup never overwrites anything)",
            path.display()
        )));
    }
    let text = path.to_str().ok_or_else(|| {
        CommandError(format!(
            "{} is not valid UTF-8; choose a plain file name",
            path.display()
        ))
    })?;
    db::backup_sqlite(db, text)
        .await
        .map_err(|e| CommandError(format!("the backup to {} failed: {e}", path.display())))?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "backed up the database to {} ({size} bytes); to restore, stop the server and put \
         that file in place of the database file (its -wal and -shm files removed)",
        path.display()
    ))
}
