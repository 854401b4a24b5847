//! SQL for the `users` table.

use sqlx::FromRow;

use super::{Db, db_execute, db_read, db_write, in_transaction, now_millis};
use crate::{
    error::AppError,
    model::{Role, User},
    server::auth::password::PasswordHash,
};

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
                       VALUES ($1, $2, $3, $4) RETURNING id, email, name, created_at, role, \
                       FALSE AS email_verified";
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
    const SQL: &str = "SELECT id, email, name, created_at, role, password_hash, disabled, \
                       email_verified_at IS NOT NULL AS email_verified \
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

/// Replaces user `id`'s password hash (the account has a password from now on).
///
/// # Errors
/// Database failures.
pub async fn set_password_hash(db: &Db, id: i64, hash: &PasswordHash) -> Result<(), AppError> {
    const SQL: &str = "UPDATE users SET password_hash = $2, has_password = TRUE WHERE id = $1";
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

/// An account as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct AccountRow {
    #[sqlx(flatten)]
    pub user: User,
    pub disabled: bool,
    /// The last use of any of the account's sessions, live or ended.
    pub last_seen_at: Option<i64>,
    pub live_sessions: i64,
    /// Two-step sign-in is on (a confirmed authenticator app).
    pub two_step: bool,
}

fn account_select(now_param: &str) -> String {
    format!(
        "SELECT u.id, u.email, u.name, u.created_at, u.role, u.disabled, \
         u.email_verified_at IS NOT NULL AS email_verified, \
         (SELECT MAX(s.last_used_at) FROM sessions s WHERE s.user_id = u.id) AS last_seen_at, \
         (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL \
            AND s.expires_at > {now_param}) AS live_sessions, \
         EXISTS (SELECT 1 FROM totp_secrets t WHERE t.user_id = u.id \
            AND t.confirmed_at IS NOT NULL) AS two_step \
         FROM users u"
    )
}

/// `q` as a `LIKE` pattern matching it anywhere, case-insensitively (ASCII), with `%`, `_` and
/// the escape character itself taken literally.
fn contains_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Up to `limit` accounts, newest first, with ids below `before` when given, whose email or
/// name contains `q` (all when empty).
///
/// # Errors
/// Database failures.
pub async fn accounts_page(
    db: &Db,
    q: &str,
    before: Option<i64>,
    limit: i64,
    now: i64,
) -> Result<Vec<AccountRow>, AppError> {
    let sql = format!(
        "{} WHERE u.id < $1 AND (LOWER(u.email) LIKE $2 ESCAPE '\\' \
            OR LOWER(u.name) LIKE $2 ESCAPE '\\') \
         ORDER BY u.id DESC LIMIT $3",
        account_select("$4")
    );
    Ok(db_read!(db, |c| sqlx::query_as(&sql)
        .bind(before.unwrap_or(i64::MAX))
        .bind(contains_pattern(q))
        .bind(limit)
        .bind(now)
        .fetch_all(c)
        .await)?)
}

/// Account `id`, as administrators see it.
///
/// # Errors
/// Database failures.
pub async fn account(db: &Db, id: i64, now: i64) -> Result<Option<AccountRow>, AppError> {
    let sql = format!("{} WHERE u.id = $1", account_select("$2"));
    Ok(db_read!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(now)
        .fetch_optional(c)
        .await)?)
}

/// The administrators, oldest first.
///
/// # Errors
/// Database failures.
pub async fn admins(db: &Db, now: i64) -> Result<Vec<AccountRow>, AppError> {
    let sql = format!(
        "{} WHERE u.role = 'admin' ORDER BY u.id",
        account_select("$1")
    );
    Ok(db_read!(db, |c| sqlx::query_as(&sql)
        .bind(now)
        .fetch_all(c)
        .await)?)
}

/// The account with id `id`.
///
/// # Errors
/// Database failures.
pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<User>, AppError> {
    const SQL: &str = "SELECT id, email, name, created_at, role, \
                       email_verified_at IS NOT NULL AS email_verified FROM users WHERE id = $1";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

/// The id and role of the account with normalized email `email`.
///
/// # Errors
/// Database failures.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, AppError> {
    const SQL: &str = "SELECT id, email, name, created_at, role, \
                       email_verified_at IS NOT NULL AS email_verified FROM users WHERE email = $1";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(email)
        .fetch_optional(c)
        .await)?)
}

/// What a change that could remove an administrator found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    Done,
    /// No such account.
    NotFound,
    /// It would leave no enabled administrator.
    LastAdmin,
}

/// Runs `$statement` (binding `$id` as `$1`, then `$args`) in a transaction that first locks
/// every administrator's row (PostgreSQL; SQLite's single writer already runs one statement
/// at a time), so two administrators removing each other at the same moment cannot both
/// succeed. `$statement` must only change the row when it would leave another enabled
/// administrator; then no changed row is told apart from a missing account by a lookup.
macro_rules! guarded_change {
    ($db:expr, $id:expr, $statement:expr $(, $arg:expr)*) => {{
        let changed: u64 = in_transaction!($db, |tx| {
            if matches!($db, Db::Postgres(_)) {
                sqlx::query("SELECT id FROM users WHERE role = 'admin' FOR UPDATE")
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query($statement)
                .bind($id)
                $(.bind($arg))*
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        if changed > 0 {
            Guarded::Done
        } else if exists($db, $id).await? {
            Guarded::LastAdmin
        } else {
            Guarded::NotFound
        }
    }};
}

/// The condition under which account `$1` may stop being an enabled administrator.
const ANOTHER_ADMIN_REMAINS: &str = "(role <> 'admin' OR disabled = TRUE OR EXISTS \
     (SELECT 1 FROM users other WHERE other.role = 'admin' AND other.disabled = FALSE \
        AND other.id <> $1))";

async fn exists(db: &Db, id: i64) -> Result<bool, AppError> {
    let found: Option<i64> = db_read!(db, |c| sqlx::query_scalar(
        "SELECT id FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(found.is_some())
}

/// Gives account `id` `role`, unless that would leave no enabled administrator.
///
/// # Errors
/// Database failures.
pub async fn set_role(db: &Db, id: i64, role: Role) -> Result<Guarded, AppError> {
    let sql = format!(
        "UPDATE users SET role = $2 WHERE id = $1 AND ($2 = 'admin' OR {ANOTHER_ADMIN_REMAINS})"
    );
    Ok(guarded_change!(db, id, &sql, role.as_str()))
}

/// Disables or enables account `id`; disabling the last enabled administrator is refused.
///
/// # Errors
/// Database failures.
pub async fn set_disabled(db: &Db, id: i64, disabled: bool) -> Result<Guarded, AppError> {
    let sql = format!(
        "UPDATE users SET disabled = $2 WHERE id = $1 AND ($2 = FALSE OR {ANOTHER_ADMIN_REMAINS})"
    );
    Ok(guarded_change!(db, id, &sql, disabled))
}

/// Deletes account `id` and, through the foreign keys, its tasks, sessions and refresh
/// tokens; deleting the last enabled administrator is refused.
///
/// # Errors
/// Database failures.
pub async fn delete(db: &Db, id: i64) -> Result<Guarded, AppError> {
    let sql = format!("DELETE FROM users WHERE id = $1 AND {ANOTHER_ADMIN_REMAINS}");
    Ok(guarded_change!(db, id, &sql))
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn search_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern(" Ada "), "%ada%");
        assert_eq!(contains_pattern("100%_x\\"), "%100\\%\\_x\\\\%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
