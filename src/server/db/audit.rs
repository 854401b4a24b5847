//! SQL for `audit_events`.

use sqlx::FromRow;

use super::{Db, db_execute, db_read};
use crate::error::AppError;

/// An event to write.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub at: i64,
    pub event: &'a str,
    pub actor_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub request_id: &'a str,
    pub detail: &'a str,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub actor_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
    pub detail: String,
}

/// Writes one event.
///
/// # Errors
/// Database failures.
pub async fn insert(db: &Db, new: &NewEvent<'_>) -> Result<(), AppError> {
    const SQL: &str = "INSERT INTO audit_events \
         (at, event, actor_id, subject_id, ip, user_agent, request_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    db_execute!(
        db,
        SQL,
        new.at,
        new.event,
        new.actor_id,
        new.subject_id,
        new.ip,
        new.user_agent,
        new.request_id,
        new.detail,
    )?;
    Ok(())
}

const COLUMNS: &str = "id, at, event, actor_id, subject_id, ip, user_agent, request_id, detail";

/// Up to `limit` events, newest first, with ids below `before` when given: those concerning
/// `subject` when given, else everyone's.
///
/// # Errors
/// Database failures.
pub async fn page(
    db: &Db,
    subject: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, AppError> {
    let before = before.unwrap_or(i64::MAX);
    // Two statements rather than `$1 IS NULL OR ...`: PostgreSQL cannot infer the type of a
    // parameter that is only compared with NULL, and each of these uses its own index.
    Ok(match subject {
        Some(subject) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM audit_events WHERE subject_id = $1 AND id < $2 \
                 ORDER BY subject_id, id DESC LIMIT $3"
            );
            db_read!(db, |c| sqlx::query_as(&sql)
                .bind(subject)
                .bind(before)
                .bind(limit)
                .fetch_all(c)
                .await)?
        }
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM audit_events WHERE id < $1 ORDER BY id DESC LIMIT $2"
            );
            db_read!(db, |c| sqlx::query_as(&sql)
                .bind(before)
                .bind(limit)
                .fetch_all(c)
                .await)?
        }
    })
}

/// A stored event with the current email of the accounts it names (`None` for an account
/// that has been deleted since).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct NamedEventRow {
    #[sqlx(flatten)]
    pub event: EventRow,
    pub subject_email: Option<String>,
    pub actor_email: Option<String>,
}

/// As [`page`], each event with the emails of its subject and actor.
///
/// # Errors
/// Database failures.
pub async fn page_named(
    db: &Db,
    subject: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<NamedEventRow>, AppError> {
    const SELECT: &str = "SELECT e.id, e.at, e.event, e.actor_id, e.subject_id, e.ip, \
         e.user_agent, e.request_id, e.detail, s.email AS subject_email, a.email AS actor_email \
         FROM audit_events e \
         LEFT JOIN users s ON s.id = e.subject_id \
         LEFT JOIN users a ON a.id = e.actor_id";
    let before = before.unwrap_or(i64::MAX);
    // Two statements, as in `page`: each filter uses its own index.
    Ok(match subject {
        Some(subject) => {
            let sql = format!(
                "{SELECT} WHERE e.subject_id = $1 AND e.id < $2 \
                 ORDER BY e.subject_id, e.id DESC LIMIT $3"
            );
            db_read!(db, |c| sqlx::query_as(&sql)
                .bind(subject)
                .bind(before)
                .bind(limit)
                .fetch_all(c)
                .await)?
        }
        None => {
            let sql = format!("{SELECT} WHERE e.id < $1 ORDER BY e.id DESC LIMIT $2");
            db_read!(db, |c| sqlx::query_as(&sql)
                .bind(before)
                .bind(limit)
                .fetch_all(c)
                .await)?
        }
    })
}

/// Erases the events older than `cutoff`, at most `batch` of them (so one sweep never holds
/// SQLite's single writer for long). Returns how many it erased.
///
/// # Errors
/// Database failures.
pub async fn purge_before(db: &Db, cutoff: i64, batch: i64) -> Result<u64, AppError> {
    const SQL: &str = "DELETE FROM audit_events WHERE id IN \
         (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)";
    Ok(db_execute!(db, SQL, cutoff, batch)?)
}
