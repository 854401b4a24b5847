//! SQL for passkeys: `passkeys` (an account's WebAuthn credentials) and `passkey_challenges`
//! (ceremonies waiting for the browser's answer).

use sqlx::FromRow;

use super::{Db, db_execute, db_read, db_write, in_transaction, now_millis};
use crate::{error::AppError, model::User, server::auth::password::PasswordHash};

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    SignUp,
    Add,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignUp => "sign_up",
            Self::Add => "add",
        }
    }
}

/// Stores a ceremony (the SHA-256 of its ticket and its state), and erases expired ones.
///
/// # Errors
/// Database failures.
pub async fn insert_challenge(
    db: &Db,
    token_hash: &str,
    purpose: Purpose,
    user_id: Option<i64>,
    state: &str,
    expires_at: i64,
) -> Result<(), AppError> {
    let now = now_millis();
    db_execute!(
        db,
        "DELETE FROM passkey_challenges WHERE expires_at <= $1",
        now
    )?;
    const SQL: &str = "INSERT INTO passkey_challenges \
         (token_hash, purpose, user_id, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)";
    db_execute!(
        db,
        SQL,
        token_hash,
        purpose.as_str(),
        user_id,
        state,
        now,
        expires_at
    )?;
    Ok(())
}

/// A ceremony taken out of the table to be finished.
#[derive(Debug, Clone, FromRow)]
pub struct Challenge {
    pub user_id: Option<i64>,
    pub state: String,
    pub expires_at: i64,
}

/// Takes the ceremony with ticket hash `token_hash` for `purpose` out of the table: single use,
/// so of two requests finishing one ceremony only one gets it. `None` when there is none, or
/// it expired.
///
/// # Errors
/// Database failures.
pub async fn take_challenge(
    db: &Db,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> Result<Option<Challenge>, AppError> {
    const SQL: &str = "DELETE FROM passkey_challenges WHERE token_hash = $1 AND purpose = $2 \
         RETURNING user_id, state, expires_at";
    let taken: Option<Challenge> = db_write!(db, |c| sqlx::query_as(SQL)
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(c)
        .await)?;
    Ok(taken.filter(|c| c.expires_at > now))
}

/// A passkey as the account page lists it.
#[derive(Debug, Clone, FromRow)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub credential_id: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub backed_up: bool,
    pub suspended_at: Option<i64>,
    /// `cloned` or `secured` (see the migration).
    pub suspended_reason: Option<String>,
}

/// The account's passkeys, oldest first.
///
/// # Errors
/// Database failures.
pub async fn list(db: &Db, user_id: i64) -> Result<Vec<Listed>, AppError> {
    const SQL: &str = "SELECT id, name, credential_id, created_at, last_used_at, backed_up, \
         suspended_at, suspended_reason FROM passkeys WHERE user_id = $1 ORDER BY id";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(user_id)
        .fetch_all(c)
        .await)?)
}

/// The WebAuthn user handle the account's passkeys were registered with, if it has any.
///
/// # Errors
/// Database failures.
pub async fn user_handle(db: &Db, user_id: i64) -> Result<Option<String>, AppError> {
    const SQL: &str = "SELECT user_handle FROM passkeys WHERE user_id = $1 ORDER BY id LIMIT 1";
    Ok(db_read!(db, |c| sqlx::query_scalar(SQL)
        .bind(user_id)
        .fetch_optional(c)
        .await)?)
}

/// A stored passkey, to check a sign-in with.
#[derive(Debug, Clone, FromRow)]
pub struct Stored {
    pub id: i64,
    pub user_id: i64,
    pub user_handle: String,
    pub name: String,
    /// webauthn-rs's `Passkey`, JSON.
    pub credential: String,
    pub sign_count: i64,
    /// Set while the passkey is suspended: it signs in nowhere.
    pub suspended_at: Option<i64>,
}

/// The passkey with credential id `credential_id` (base64url).
///
/// # Errors
/// Database failures.
pub async fn find(db: &Db, credential_id: &str) -> Result<Option<Stored>, AppError> {
    const SQL: &str = "SELECT id, user_id, user_handle, name, credential, sign_count, \
         suspended_at FROM passkeys WHERE credential_id = $1";
    // On the writer: a passkey added a moment ago on SQLite is found at once.
    Ok(db_write!(db, |c| sqlx::query_as(SQL)
        .bind(credential_id)
        .fetch_optional(c)
        .await)?)
}

/// A passkey about to be stored.
#[derive(Debug, Clone)]
pub struct NewPasskey<'a> {
    pub credential_id: &'a str,
    pub user_handle: &'a str,
    pub name: &'a str,
    pub credential: &'a str,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backed_up: bool,
}

/// Inserts `passkey` for `user_id` through `$tx` (a macro: compiled once per engine).
macro_rules! insert_passkey {
    ($tx:expr, $user_id:expr, $passkey:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO passkeys (user_id, credential_id, user_handle, name, credential, \
             sign_count, backup_eligible, backed_up, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind($user_id)
        .bind($passkey.credential_id)
        .bind($passkey.user_handle)
        .bind($passkey.name)
        .bind($passkey.credential)
        .bind($passkey.sign_count)
        .bind($passkey.backup_eligible)
        .bind($passkey.backed_up)
        .bind($now)
        .execute($tx)
        .await
    };
}

fn unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Adds a passkey to an account.
///
/// # Errors
/// [`crate::error::PasskeyRule::AlreadyRegistered`] when the credential is stored already;
/// database failures.
pub async fn insert(db: &Db, user_id: i64, passkey: &NewPasskey<'_>) -> Result<(), AppError> {
    let now = now_millis();
    let done = db_write!(db, |c| insert_passkey!(c, user_id, passkey, now)
        .map(|_| ()));
    match done {
        Ok(_) => Ok(()),
        Err(err) if unique_violation(&err) => {
            Err(crate::error::PasskeyRule::AlreadyRegistered.into())
        }
        Err(err) => Err(err.into()),
    }
}

/// Creates an account whose only way to sign in is `passkey`. `unusable_hash` is the argon2id
/// hash of random bits nobody keeps (see the migration), `has_password` is FALSE.
///
/// # Errors
/// [`AppError::EmailTaken`] when the email is registered (also by a concurrent sign-up);
/// database failures.
pub async fn insert_account(
    db: &Db,
    email: &str,
    name: &str,
    unusable_hash: &PasswordHash,
    passkey: &NewPasskey<'_>,
) -> Result<User, AppError> {
    const USER: &str = "INSERT INTO users (email, name, password_hash, has_password, created_at) \
         VALUES ($1, $2, $3, FALSE, $4) RETURNING id, email, name, created_at, role, \
         FALSE AS email_verified";
    let now = now_millis();
    let created: Result<User, sqlx::Error> = async {
        Ok(in_transaction!(db, |tx| {
            let user: User = sqlx::query_as(USER)
                .bind(email)
                .bind(name)
                .bind(unusable_hash.expose())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            insert_passkey!(&mut *tx, user.id, passkey, now)?;
            Ok::<_, sqlx::Error>(user)
        })?)
    }
    .await;
    match created {
        Ok(user) => Ok(user),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            // Two unique columns: the email (the usual case) or the credential id (a passkey
            // already registered to another account, which a new one cannot take).
            if e.message().contains("credential_id")
                || e.constraint() == Some("passkeys_credential_id_key")
            {
                Err(crate::error::PasskeyRule::AlreadyRegistered.into())
            } else {
                Err(AppError::EmailTaken)
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Records a sign-in with passkey `id`: its new counter, flags and state. Accepted only if the
/// counter moved forward (or both are 0: authenticators without a counter), in one statement,
/// so a cloned authenticator's stale counter loses even on another replica at the same moment.
///
/// # Errors
/// Database failures.
pub async fn record_use(
    db: &Db,
    id: i64,
    credential: &str,
    sign_count: i64,
    backed_up: bool,
) -> Result<bool, AppError> {
    const SQL: &str = "UPDATE passkeys SET credential = $2, sign_count = $3, backed_up = $4, \
         last_used_at = $5 \
         WHERE id = $1 AND suspended_at IS NULL \
           AND (sign_count < $3 OR (sign_count = 0 AND $3 = 0))";
    Ok(db_execute!(db, SQL, id, credential, sign_count, backed_up, now_millis())? == 1)
}

/// Suspends passkey `id` as a suspected clone (its counter did not go up). Returns whether
/// this call suspended it (`false`: it was suspended already), so the owner is told once.
///
/// # Errors
/// Database failures.
pub async fn suspend_cloned(db: &Db, id: i64, now: i64) -> Result<bool, AppError> {
    const SQL: &str = "UPDATE passkeys SET suspended_at = $2, suspended_reason = 'cloned' \
         WHERE id = $1 AND suspended_at IS NULL";
    Ok(db_execute!(db, SQL, id, now)? == 1)
}

/// Lifts the suspension of passkey `id` of account `user_id`. Returns its name, or `None` when
/// the account has no such suspended passkey.
///
/// # Errors
/// Database failures.
pub async fn reenable(db: &Db, user_id: i64, id: i64) -> Result<Option<String>, AppError> {
    const SQL: &str = "UPDATE passkeys SET suspended_at = NULL, suspended_reason = NULL \
         WHERE id = $1 AND user_id = $2 AND suspended_at IS NOT NULL RETURNING name";
    Ok(db_write!(db, |c| sqlx::query_scalar(SQL)
        .bind(id)
        .bind(user_id)
        .fetch_optional(c)
        .await)?)
}

/// How many sign-in ceremonies are waiting for an answer (anonymous: nobody is signed in yet).
///
/// # Errors
/// Database failures.
pub async fn pending_sign_ins(db: &Db) -> Result<i64, AppError> {
    const SQL: &str = "SELECT COUNT(*) FROM passkey_challenges WHERE purpose = 'sign_in'";
    Ok(db_write!(db, |c| sqlx::query_scalar(SQL)
        .fetch_one(c)
        .await)?)
}

/// Renames passkey `id` of account `user_id`. Returns whether it exists.
///
/// # Errors
/// Database failures.
pub async fn rename(db: &Db, user_id: i64, id: i64, name: &str) -> Result<bool, AppError> {
    const SQL: &str = "UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2";
    Ok(db_execute!(db, SQL, id, user_id, name)? == 1)
}

/// What [`remove`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// Removed; its name.
    Done(String),
    /// No such passkey of this account.
    NotFound,
    /// Refused: the account has no password and no other passkey.
    LastSignInMethod,
}

/// Removes passkey `id` of account `user_id`, unless it is the account's last way to sign in.
/// The account row is locked first, so two removals of an account's last two passkeys at once
/// cannot both pass the check (PostgreSQL; SQLite has one writer anyway).
///
/// # Errors
/// Database failures.
pub async fn remove(db: &Db, user_id: i64, id: i64) -> Result<Removed, AppError> {
    const LOCK: &str = "UPDATE users SET has_password = has_password WHERE id = $1 \
         RETURNING has_password";
    const COUNT: &str = "SELECT COUNT(*) FROM passkeys WHERE user_id = $1";
    const DELETE: &str = "DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name";
    let removed = in_transaction!(db, |tx| {
        let has_password: Option<bool> = sqlx::query_scalar(LOCK)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let count: i64 = sqlx::query_scalar(COUNT)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        if has_password == Some(true) || count > 1 {
            let name: Option<String> = sqlx::query_scalar(DELETE)
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
            Ok::<_, sqlx::Error>(name.map_or(Removed::NotFound, Removed::Done))
        } else {
            let mine: Option<i64> =
                sqlx::query_scalar("SELECT id FROM passkeys WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            Ok(if mine.is_some() {
                Removed::LastSignInMethod
            } else {
                Removed::NotFound
            })
        }
    })?;
    Ok(removed)
}

/// Whether the account has a password of its own (`false`: made with a passkey only).
///
/// # Errors
/// Database failures.
pub async fn has_password(db: &Db, user_id: i64) -> Result<bool, AppError> {
    const SQL: &str = "SELECT has_password FROM users WHERE id = $1";
    let found: Option<bool> = db_read!(db, |c| sqlx::query_scalar(SQL)
        .bind(user_id)
        .fetch_optional(c)
        .await)?;
    Ok(found.unwrap_or(false))
}

/// When session `session_id` started (its sign-in), if it exists.
///
/// # Errors
/// Database failures.
pub async fn session_started_at(db: &Db, session_id: &str) -> Result<Option<i64>, AppError> {
    const SQL: &str = "SELECT created_at FROM sessions WHERE id = $1";
    Ok(db_read!(db, |c| sqlx::query_scalar(SQL)
        .bind(session_id)
        .fetch_optional(c)
        .await)?)
}
