//! SQL for the `tasks` table. Every statement takes the owner's id and puts it in its `WHERE`
//! clause: a task that belongs to someone else is indistinguishable from one that does not exist.

use sqlx::FromRow;

use super::{Db, now_millis};
use crate::{error::AppError, model::Task};

#[derive(FromRow)]
struct TaskRow {
    id: i64,
    title: String,
    done: bool,
    created_at: i64,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            done: row.done,
            created_at: row.created_at,
        }
    }
}

const COLUMNS: &str = "id, title, done, created_at";

/// The owner's tasks, newest first.
///
/// # Errors
/// Database failures.
pub async fn list(db: &Db, owner: i64) -> Result<Vec<Task>, AppError> {
    let rows: Vec<TaskRow> = crate::db_read!(db, |c| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 ORDER BY id DESC"
    ))
    .bind(owner)
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Creates a task for `owner`. `title` must already be validated.
///
/// # Errors
/// Database failures.
pub async fn create(db: &Db, owner: i64, title: &str) -> Result<Task, AppError> {
    let now = now_millis();
    let row: TaskRow = crate::db_write!(db, |c| sqlx::query_as(&format!(
        "INSERT INTO tasks (user_id, title, done, created_at, updated_at) \
         VALUES ($1, $2, FALSE, $3, $3) RETURNING {COLUMNS}"
    ))
    .bind(owner)
    .bind(title)
    .bind(now)
    .fetch_one(c)
    .await)?;
    Ok(row.into())
}

/// Changes the title and/or the done flag of one of `owner`'s tasks.
///
/// # Errors
/// [`AppError::NotFound`] when `owner` has no task `id`; database failures.
pub async fn update(
    db: &Db,
    owner: i64,
    id: i64,
    title: Option<&str>,
    done: Option<bool>,
) -> Result<Task, AppError> {
    let sql = format!(
        "UPDATE tasks SET title = COALESCE($1, title), done = COALESCE($2, done), \
         updated_at = $3 WHERE id = $4 AND user_id = $5 RETURNING {COLUMNS}"
    );
    let row: Option<TaskRow> = crate::db_write!(db, |c| sqlx::query_as(&sql)
        .bind(title)
        .bind(done)
        .bind(now_millis())
        .bind(id)
        .bind(owner)
        .fetch_optional(c)
        .await)?;
    row.map(Into::into).ok_or(AppError::NotFound)
}

/// Deletes one of `owner`'s tasks.
///
/// # Errors
/// [`AppError::NotFound`] when `owner` has no task `id`; database failures.
pub async fn delete(db: &Db, owner: i64, id: i64) -> Result<(), AppError> {
    let deleted = crate::db_write!(db, |c| sqlx::query(
        "DELETE FROM tasks WHERE id = $1 AND user_id = $2"
    )
    .bind(id)
    .bind(owner)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if deleted == 0 {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
}

/// One of `owner`'s tasks.
///
/// # Errors
/// [`AppError::NotFound`] when `owner` has no task `id`; database failures.
pub async fn get(db: &Db, owner: i64, id: i64) -> Result<Task, AppError> {
    let row: Option<TaskRow> = crate::db_read!(db, |c| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(owner)
    .fetch_optional(c)
    .await)?;
    row.map(Into::into).ok_or(AppError::NotFound)
}

/// Up to `limit` of `owner`'s tasks, newest first, older than task `before` if given, and only
/// done / open ones if `done` is given (keyset pagination: stable while tasks are added).
///
/// # Errors
/// Database failures.
pub async fn page(
    db: &Db,
    owner: i64,
    done: Option<bool>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Task>, AppError> {
    let rows: Vec<TaskRow> = crate::db_read!(db, |c| {
        let mut query =
            sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM tasks WHERE user_id = "));
        query.push_bind(owner);
        if let Some(done) = done {
            query.push(" AND done = ").push_bind(done);
        }
        if let Some(before) = before {
            query.push(" AND id < ").push_bind(before);
        }
        query.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
        query.build_query_as().fetch_all(c).await
    })?;
    Ok(rows.into_iter().map(Into::into).collect())
}
