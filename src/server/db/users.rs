//! SQL for the `users` table.

use sqlx::FromRow;

use super::{Db, now_millis};
use crate::{error::AppError, model::User, server::auth::password::PasswordHash};

#[derive(FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    created_at: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            name: row.name,
            created_at: row.created_at,
        }
    }
}

/// A user together with their password hash, for login only.
pub struct Credentials {
    pub user: User,
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
    let row: Result<UserRow, sqlx::Error> = crate::db_write!(db, |c| sqlx::query_as(
        "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, email, name, created_at",
    )
    .bind(email)
    .bind(name)
    .bind(hash.expose())
    .bind(now_millis())
    .fetch_one(c)
    .await);
    match row {
        Ok(row) => Ok(row.into()),
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
    let row: Option<(i64, String, String, i64, String, bool)> =
        crate::db_read!(db, |c| sqlx::query_as(SQL)
            .bind(email)
            .fetch_optional(c)
            .await)?;
    Ok(row.map(
        |(id, email, name, created_at, hash, disabled)| Credentials {
            user: User {
                id,
                email,
                name,
                created_at,
            },
            password_hash: PasswordHash::from_stored(hash),
            disabled,
        },
    ))
}

/// The password hash of user `id`.
///
/// # Errors
/// Database failures.
pub async fn password_hash(db: &Db, id: i64) -> Result<Option<PasswordHash>, AppError> {
    let row: Option<(String,)> = crate::db_read!(db, |c| sqlx::query_as(
        "SELECT password_hash FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(row.map(|(hash,)| PasswordHash::from_stored(hash)))
}

/// Replaces user `id`'s password hash.
///
/// # Errors
/// Database failures.
pub async fn set_password_hash(db: &Db, id: i64, hash: &PasswordHash) -> Result<(), AppError> {
    crate::db_write!(db, |c| sqlx::query(
        "UPDATE users SET password_hash = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(hash.expose())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Disables or re-enables user `id`. A disabled account cannot sign in, and its live sessions
/// stop working on their next request.
///
/// # Errors
/// Database failures.
pub async fn set_disabled(db: &Db, id: i64, disabled: bool) -> Result<(), AppError> {
    crate::db_write!(db, |c| sqlx::query(
        "UPDATE users SET disabled = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(disabled)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Looks a user up by id.
///
/// # Errors
/// Database failures.
pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<User>, AppError> {
    let row: Option<UserRow> = crate::db_read!(db, |c| sqlx::query_as(
        "SELECT id, email, name, created_at FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(row.map(Into::into))
}
