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
