//! SQL for `mail_queue` (outgoing mail) and `email_tokens` (the single-use links mail carries).

use sqlx::FromRow;

use super::{Db, db_execute, db_read, db_write, in_transaction};
use crate::error::AppError;

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
}

/// A queued message as the sender claims it (or the development mailbox shows it).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct QueuedMail {
    pub id: i64,
    pub created_at: i64,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i64,
}

/// Adds a message, due at once. Returns its id.
///
/// # Errors
/// Database failures.
pub async fn enqueue(db: &Db, mail: &NewMail<'_>, now: i64) -> Result<i64, AppError> {
    const SQL: &str = "INSERT INTO mail_queue \
         (created_at, recipient, subject, text_body, html_body, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $1) RETURNING id";
    Ok(db_write!(db, |c| sqlx::query_scalar(SQL)
        .bind(now)
        .bind(mail.recipient)
        .bind(mail.subject)
        .bind(mail.text_body)
        .bind(mail.html_body)
        .fetch_one(c)
        .await)?)
}

const CLAIMED: &str = "id, created_at, recipient, subject, text_body, html_body, attempts";

/// Claims up to `limit` due messages for `lease_ms`: nobody else sends them until the lease
/// runs out (then they are due again, so a sender that died mid-send loses nothing). Counts the
/// attempt now, so a message that kills its sender every time still runs out of attempts.
///
/// # Errors
/// Database failures.
pub async fn claim_due(
    db: &Db,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<QueuedMail>, AppError> {
    // SQLite runs one writer at a time, so the statement is atomic as it stands; PostgreSQL
    // replicas skip the rows another replica is claiming at the same moment.
    let lock = match db {
        Db::Sqlite { .. } => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE mail_queue SET locked_until = $1 + $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM mail_queue \
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
               AND (locked_until IS NULL OR locked_until <= $1) \
             ORDER BY next_attempt_at, id LIMIT $3{lock}) \
         RETURNING {CLAIMED}"
    );
    Ok(db_write!(db, |c| sqlx::query_as(&sql)
        .bind(now)
        .bind(lease_ms)
        .bind(limit)
        .fetch_all(c)
        .await)?)
}

/// Marks message `id` sent and empties its bodies (they may hold a link's token).
///
/// # Errors
/// Database failures.
pub async fn mark_sent(db: &Db, id: i64, now: i64) -> Result<(), AppError> {
    const SQL: &str = "UPDATE mail_queue SET sent_at = $2, locked_until = NULL, \
         text_body = '', html_body = '', last_error = NULL WHERE id = $1";
    db_execute!(db, SQL, id, now)?;
    Ok(())
}

/// Records a failed attempt: tried again at `retry_at`, or given up on (`retry_at` `None`: the
/// bodies are emptied).
///
/// # Errors
/// Database failures.
pub async fn mark_failed(
    db: &Db,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<(), AppError> {
    match retry_at {
        Some(at) => {
            const SQL: &str = "UPDATE mail_queue SET next_attempt_at = $2, locked_until = NULL, \
                 last_error = $3 WHERE id = $1";
            db_execute!(db, SQL, id, at, error)?;
        }
        None => {
            const SQL: &str = "UPDATE mail_queue SET failed_at = $2, locked_until = NULL, \
                 last_error = $3, text_body = '', html_body = '' WHERE id = $1";
            db_execute!(db, SQL, id, now, error)?;
        }
    }
    Ok(())
}

/// When the next message falls due (unsent, not given up on), if any.
///
/// # Errors
/// Database failures.
pub async fn next_due(db: &Db) -> Result<Option<i64>, AppError> {
    const SQL: &str = "SELECT MIN(CASE WHEN locked_until IS NOT NULL AND locked_until > \
         next_attempt_at THEN locked_until ELSE next_attempt_at END) FROM mail_queue \
         WHERE sent_at IS NULL AND failed_at IS NULL";
    Ok(db_read!(db, |c| sqlx::query_scalar(SQL)
        .fetch_one(c)
        .await)?)
}

/// Erases sent and given-up messages older than `before` (their bodies are already empty).
///
/// # Errors
/// Database failures.
pub async fn purge_done(db: &Db, before: i64) -> Result<u64, AppError> {
    const SQL: &str = "DELETE FROM mail_queue WHERE (sent_at IS NOT NULL OR failed_at IS NOT NULL) \
         AND created_at < $1";
    Ok(db_execute!(db, SQL, before)?)
}

/// The newest `limit` messages, whatever their state: the development mailbox.
///
/// # Errors
/// Database failures.
pub async fn newest(db: &Db, limit: i64) -> Result<Vec<QueuedMail>, AppError> {
    let sql = format!("SELECT {CLAIMED} FROM mail_queue ORDER BY id DESC LIMIT $1");
    Ok(db_read!(db, |c| sqlx::query_as(&sql)
        .bind(limit)
        .fetch_all(c)
        .await)?)
}

/// One message by id: the development mailbox.
///
/// # Errors
/// Database failures.
pub async fn by_id(db: &Db, id: i64) -> Result<Option<QueuedMail>, AppError> {
    let sql = format!("SELECT {CLAIMED} FROM mail_queue WHERE id = $1");
    Ok(db_read!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

/// What a single-use link is for (`email_tokens.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    VerifyEmail,
    ChangeEmail,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
        }
    }
}

/// A link's row, found by its token's hash.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TokenRow {
    pub user_id: i64,
    /// Where the link was sent.
    pub email: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The account's address now.
    pub account_email: String,
    pub disabled: bool,
}

/// Stores a new link for `user_id` and deletes the account's older links of the same purpose
/// (a newer link makes older ones useless), in one transaction.
///
/// # Errors
/// Database failures.
pub async fn replace_token(
    db: &Db,
    token_hash: &str,
    user_id: i64,
    purpose: Purpose,
    email: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), AppError> {
    in_transaction!(db, |tx| {
        sqlx::query("DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2")
            .bind(user_id)
            .bind(purpose.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(email)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
    });
    Ok(())
}

/// The link with this token hash and purpose, used or not, with its account's current state.
///
/// # Errors
/// Database failures.
pub async fn find_token(
    db: &Db,
    token_hash: &str,
    purpose: Purpose,
) -> Result<Option<TokenRow>, AppError> {
    const SQL: &str = "SELECT t.user_id, t.email, t.expires_at, t.used_at, \
         u.email AS account_email, u.disabled \
         FROM email_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.purpose = $2";
    Ok(db_read!(db, |c| sqlx::query_as(SQL)
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(c)
        .await)?)
}

/// The part of spending a link every purpose shares: marks it used if it is unused, unexpired
/// at `now`, and was sent for the account's current address (a reset or verification link
/// stops working when the address changes; an email change's link names the new address,
/// so it is checked against `expected_email` = `NULL` there). Returns the account and the
/// address the link was sent to, for exactly one of several concurrent callers.
const SPEND: &str = "UPDATE email_tokens SET used_at = $3 \
     WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
       AND ($4 = FALSE OR email = (SELECT u.email FROM users u WHERE u.id = email_tokens.user_id)) \
     RETURNING user_id, email";

/// Spends a password-reset link and, in the same transaction, sets the new password hash,
/// marks the address verified (the link proved it receives mail) and ends every session of
/// the account. Returns the account, or `None` if the link cannot be used.
///
/// # Errors
/// Database failures.
pub async fn reset_password(
    db: &Db,
    token_hash: &str,
    password_hash: &str,
    now: i64,
    reason: &str,
) -> Result<Option<i64>, AppError> {
    let user = in_transaction!(db, |tx| {
        let spent: Option<(i64, String)> = sqlx::query_as(SPEND)
            .bind(token_hash)
            .bind(Purpose::PasswordReset.as_str())
            .bind(now)
            .bind(true)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some((user_id, _)) = spent {
            sqlx::query(
                "UPDATE users SET password_hash = $2, has_password = TRUE, \
                 email_verified_at = COALESCE(email_verified_at, $3) WHERE id = $1",
            )
            .bind(user_id)
            .bind(password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
                 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
        spent.map(|(user_id, _)| user_id)
    });
    Ok(user)
}

/// Spends a verification link and marks the address it was sent to verified. Returns the
/// account and the address, or `None` if the link cannot be used.
///
/// # Errors
/// Database failures.
pub async fn verify_email(
    db: &Db,
    token_hash: &str,
    now: i64,
) -> Result<Option<(i64, String)>, AppError> {
    let spent = in_transaction!(db, |tx| {
        let spent: Option<(i64, String)> = sqlx::query_as(SPEND)
            .bind(token_hash)
            .bind(Purpose::VerifyEmail.as_str())
            .bind(now)
            .bind(true)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some((user_id, _)) = &spent {
            sqlx::query(
                "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2) \
                 WHERE id = $1",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        spent
    });
    Ok(spent)
}

/// What spending an email-change link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChange {
    /// The account's address is now `new_email` (verified); it was `old_email`.
    Changed {
        user_id: i64,
        old_email: String,
        new_email: String,
    },
    /// The link cannot be used (unknown, expired, used, or superseded).
    Unusable,
    /// Another account took the new address since the link was sent; nothing changed.
    Taken,
}

/// Spends an email-change link and moves the account to the new address, marked verified.
///
/// # Errors
/// Database failures.
pub async fn change_email(db: &Db, token_hash: &str, now: i64) -> Result<EmailChange, AppError> {
    let result: Result<EmailChange, sqlx::Error> = async {
        Ok(in_transaction!(db, |tx| {
            let spent: Option<(i64, String)> = sqlx::query_as(SPEND)
                .bind(token_hash)
                .bind(Purpose::ChangeEmail.as_str())
                .bind(now)
                .bind(false)
                .fetch_optional(&mut *tx)
                .await?;
            match spent {
                None => EmailChange::Unusable,
                Some((user_id, new_email)) => {
                    let old_email: String =
                        sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
                            .bind(user_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    sqlx::query(
                        "UPDATE users SET email = $2, email_verified_at = $3 WHERE id = $1",
                    )
                    .bind(user_id)
                    .bind(&new_email)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    // Links sent to the old address are for an address the account no longer
                    // has.
                    sqlx::query("DELETE FROM email_tokens WHERE user_id = $1 AND used_at IS NULL")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    EmailChange::Changed {
                        user_id,
                        old_email,
                        new_email,
                    }
                }
            }
        }))
    }
    .await;
    match result {
        Ok(change) => Ok(change),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(EmailChange::Taken),
        Err(e) => Err(e.into()),
    }
}

/// Erases links that expired before `before`.
///
/// # Errors
/// Database failures.
pub async fn purge_tokens(db: &Db, before: i64) -> Result<u64, AppError> {
    Ok(db_execute!(
        db,
        "DELETE FROM email_tokens WHERE expires_at < $1",
        before
    )?)
}
