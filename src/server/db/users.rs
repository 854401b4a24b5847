//! SQL for the `users` table.

use sqlx::FromRow;

use super::{Db, db_execute, db_read, db_write, now_millis};
use crate::{error::AppError, model::User, server::auth::password::PasswordHash};

/// A user together with their password hash, for login only.
#[derive(FromRow)]
pub struct Credentials {
    #[sqlx(flatten)]
    pub user: User,
    #[sqlx(try_from = "String")]
    pub password_hash: PasswordHash,
    pub disabled: bool,
}

/// Inserts a new user. `email` must already be normalized.
///
/// # Errors
/// [`AppError::EmailTaken`] when the email exists (decided by the unique index, so concurrent
/// registrations of one email yield exactly one account); database failures otherwise.
pub async fn insert(
    db: &Db,
    email: &str,
    name: &str,
    hash: &PasswordHash,
) -> Result<User, AppError> {
    const SQL: &str = "INSERT INTO users (email, name, password_hash, created_at) \
                       VALUES ($1, $2, $3, $4) RETURNING id, email, name, created_at";
    let user: Result<User, sqlx::Error> = db_write!(db, |c| sqlx::query_as(SQL)
        .bind(email)
        .bind(name)
        .bind(hash.expose())
        .bind(now_millis())
        .fetch_one(c)
        .await);
    match user {
        Ok(user) => Ok(user),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(AppError::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// Looks a user up by normalized email, with the hash needed to check a password.
///
/// # Errors
/// Database failures.
pub async fn find_credentials(db: &Db, email: &str) -> Result<Option<Credentials>, AppError> {
    const SQL: &str = "SELECT id, email, name, created_at, password_hash, disabled \
                       FROM users WHERE email = $1";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(email)
        .fetch_optional(c)
        .await)?)
}

/// The password hash of user `id`.
///
/// # Errors
/// Database failures.
pub async fn password_hash(db: &Db, id: i64) -> Result<Option<PasswordHash>, AppError> {
    const SQL: &str = "SELECT password_hash FROM users WHERE id = $1";
    let hash: Option<String> = db_read!(db, |c| sqlx::query_scalar(SQL)
        .bind(id)
        .fetch_optional(c)
        .await)?;
    Ok(hash.map(PasswordHash::from))
}

/// Replaces user `id`'s password hash.
///
/// # Errors
/// Database failures.
pub async fn set_password_hash(db: &Db, id: i64, hash: &PasswordHash) -> Result<(), AppError> {
    const SQL: &str = "UPDATE users SET password_hash = $2 WHERE id = $1";
    db_execute!(db, SQL, id, hash.expose())?;
    Ok(())
}

/// What [`normalize_stored_emails`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EmailMigration {
    /// Accounts whose stored email was rewritten to its normalized form.
    pub rewritten: u64,
    /// Ids of accounts left as they were because another account already holds the normalized
    /// form of their email (two accounts for one mailbox, made before normalization).
    pub conflicts: Vec<i64>,
}

/// Brings emails stored before their domains were normalized with IDNA (any email with a
/// character outside printable ASCII) to the form [`crate::server::validate::normalize_email`]
/// gives now, so their owners can still log in. Runs at every startup; with nothing to do it
/// costs one scan of the users table in SQL. Idempotent, and safe when replicas run it at once
/// (an update that finds the row already rewritten changes nothing).
///
/// # Errors
/// Database failures.
pub async fn normalize_stored_emails(db: &Db) -> Result<EmailMigration, sqlx::Error> {
    let rows: Vec<(i64, String)> = match db {
        Db::Sqlite { writer, .. } => {
            sqlx::query_as("SELECT id, email FROM users WHERE email GLOB '*[^ -~]*'")
                .fetch_all(writer)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_as("SELECT id, email FROM users WHERE email ~ '[^ -~]'")
                .fetch_all(pool)
                .await?
        }
    };
    let mut report = EmailMigration::default();
    for (id, email) in rows {
        let normalized = crate::server::validate::normalize_email(&email);
        if normalized == email {
            continue;
        }
        let updated = db_write!(db, |c| sqlx::query(
            "UPDATE users SET email = $1 WHERE id = $2 AND email = $3"
        )
        .bind(&normalized)
        .bind(id)
        .bind(&email)
        .execute(c)
        .await
        .map(|done| done.rows_affected()));
        match updated {
            Ok(changed) => report.rewritten += changed,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => report.conflicts.push(id),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}
