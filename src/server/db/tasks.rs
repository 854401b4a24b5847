//! SQL for the `tasks` table. Every statement takes the owner's id and puts it in its `WHERE`
//! clause: a task that belongs to someone else is indistinguishable from one that does not exist.

use super::{Db, db_execute, db_read, db_write, now_millis};
use crate::{
    error::{AppError, Resource},
    model::Task,
};

const COLUMNS: &str = "id, title, done, created_at";

/// The owner's tasks, newest first.
///
/// # Errors
/// Database failures.
pub async fn list(db: &Db, owner: i64) -> Result<Vec<Task>, AppError> {
    let tasks: Vec<Task> = db_read!(db, |c| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 ORDER BY id DESC"
    ))
    .bind(owner)
    .fetch_all(c)
    .await)?;
    Ok(tasks)
}

/// Creates a task for `owner` unless `owner` already has `cap` tasks (then `None`). `title`
/// must already be validated.
///
/// The count and the insert are one statement. SQLite runs it on the single writer
/// connection, so nothing interleaves; PostgreSQL runs it in a transaction that first locks
/// the owner's row, so two concurrent inserts cannot both see room for one more.
///
/// # Errors
/// Database failures.
pub async fn create(db: &Db, owner: i64, title: &str, cap: i64) -> Result<Option<Task>, AppError> {
    let sql = format!(
        "INSERT INTO tasks (user_id, title, done, created_at, updated_at) \
         SELECT $1, $2, FALSE, $3, $3 \
         WHERE (SELECT COUNT(*) FROM tasks WHERE user_id = $1) < $4 RETURNING {COLUMNS}"
    );
    let now = now_millis();
    let task: Option<Task> = match db {
        Db::Sqlite { writer, .. } => {
            sqlx::query_as(&sql)
                .bind(owner)
                .bind(title)
                .bind(now)
                .bind(cap)
                .fetch_optional(writer)
                .await?
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(owner)
                .execute(&mut *tx)
                .await?;
            let task = sqlx::query_as(&sql)
                .bind(owner)
                .bind(title)
                .bind(now)
                .bind(cap)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            task
        }
    };
    Ok(task)
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
    let task: Option<Task> = db_write!(db, |c| sqlx::query_as(&sql)
        .bind(title)
        .bind(done)
        .bind(now_millis())
        .bind(id)
        .bind(owner)
        .fetch_optional(c)
        .await)?;
    task.ok_or(AppError::NotFound(Resource::Task))
}

/// Deletes one of `owner`'s tasks.
///
/// # Errors
/// [`AppError::NotFound`] when `owner` has no task `id`; database failures.
pub async fn delete(db: &Db, owner: i64, id: i64) -> Result<(), AppError> {
    let deleted = db_execute!(
        db,
        "DELETE FROM tasks WHERE id = $1 AND user_id = $2",
        id,
        owner
    )?;
    if deleted == 0 {
        Err(AppError::NotFound(Resource::Task))
    } else {
        Ok(())
    }
}

/// One of `owner`'s tasks.
///
/// # Errors
/// [`AppError::NotFound`] when `owner` has no task `id`; database failures.
pub async fn get(db: &Db, owner: i64, id: i64) -> Result<Task, AppError> {
    let task: Option<Task> = db_read!(db, |c| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(owner)
    .fetch_optional(c)
    .await)?;
    task.ok_or(AppError::NotFound(Resource::Task))
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
    let tasks: Vec<Task> = db_read!(db, |c| {
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
    Ok(tasks)
}
