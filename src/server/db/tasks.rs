//! SQL for the `tasks` table. Every statement takes the owner's id and puts it in its `WHERE`
//! clause: a task that belongs to someone else is indistinguishable from one that does not exist.

use super::{Db, db_read, db_write, in_transaction, now_millis, per_request};
use crate::{
    error::{AppError, Resource},
    model::{Deleted, Task},
};

const COLUMNS: &str = "id, title, done, created_at";

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
            // As `db_write!` does: no reader is held while waiting for the writer.
            per_request::release();
            sqlx::query_as(&sql)
                .bind(owner)
                .bind(title)
                .bind(now)
                .bind(cap)
                .fetch_optional(writer)
                .await?
        }
        Db::Postgres(pool) => {
            // The request's connection: a second one from the pool while the request holds one
            // would deadlock once every pooled connection is held that way.
            let mut connection = per_request::postgres(pool).await?;
            let mut tx = sqlx::Connection::begin(&mut **connection).await?;
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

/// How many of `owner`'s tasks are open and how many done: the list's filter counts. One
/// statement over the covering index `tasks_user_list`.
///
/// # Errors
/// Database failures.
pub async fn counts(db: &Db, owner: i64) -> Result<(i64, i64), AppError> {
    let counts: (i64, i64) = db_read!(db, |c| sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN done THEN 0 ELSE 1 END), 0), \
         COALESCE(SUM(CASE WHEN done THEN 1 ELSE 0 END), 0) FROM tasks WHERE user_id = $1"
    )
    .bind(owner)
    .fetch_one(c)
    .await)?;
    Ok(counts)
}

/// How long deleted tasks are kept for Undo before they are erased.
pub const TRASH_RETENTION_MS: i64 = 10 * 60 * 1000;

type TrashRow = (i64, String, bool, i64, i64);

/// A random batch number for one delete.
fn new_batch() -> Result<i64, AppError> {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(|e| AppError::internal("OS random generator", e))?;
    Ok(i64::from_le_bytes(raw))
}

/// Moves the tasks `deleted` returned into `deleted_tasks` under one new batch, and erases
/// what has been there longer than [`TRASH_RETENTION_MS`] (for everyone: deletes are rare
/// enough, and the index on `deleted_at` finds nothing quickly).
macro_rules! keep_for_undo {
    ($tx:ident, $owner:expr, $deleted:expr) => {{
        let deleted: Vec<TrashRow> = $deleted;
        let now = now_millis();
        let batch = new_batch()?;
        sqlx::query("DELETE FROM deleted_tasks WHERE deleted_at < $1")
            .bind(now - TRASH_RETENTION_MS)
            .execute(&mut *$tx)
            .await?;
        // 7 values per row: 1,000 rows stay far below either engine's bind limit.
        for chunk in deleted.chunks(1000) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO deleted_tasks \
                 (id, user_id, title, done, created_at, updated_at, deleted_at, batch) ",
            );
            insert.push_values(
                chunk,
                |mut row, (id, title, done, created_at, updated_at)| {
                    row.push_bind(*id)
                        .push_bind($owner)
                        .push_bind(title.clone())
                        .push_bind(*done)
                        .push_bind(*created_at)
                        .push_bind(*updated_at)
                        .push_bind(now)
                        .push_bind(batch);
                },
            );
            insert.build().execute(&mut *$tx).await?;
        }
        Deleted {
            batch,
            count: deleted.len() as u64,
        }
    }};
}

const TRASH_COLUMNS: &str = "id, title, done, created_at, updated_at";

/// Deletes one of `owner`'s tasks, keeping it for Undo ([`restore`]).
///
/// # Errors
/// [`AppError::NotFound`] when `owner` has no task `id`; database failures.
pub async fn delete(db: &Db, owner: i64, id: i64) -> Result<Deleted, AppError> {
    let sql = format!("DELETE FROM tasks WHERE id = $1 AND user_id = $2 RETURNING {TRASH_COLUMNS}");
    let deleted = in_transaction!(db, |tx| {
        // The DELETE takes the row: a concurrent delete of the same task finds nothing.
        let rows: Vec<TrashRow> = sqlx::query_as(&sql)
            .bind(id)
            .bind(owner)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            return Err(AppError::NotFound(Resource::Task));
        }
        keep_for_undo!(tx, owner, rows)
    });
    Ok(deleted)
}

/// Deletes every one of `owner`'s done tasks, keeping them for Undo as one batch.
///
/// # Errors
/// Database failures.
pub async fn delete_done(db: &Db, owner: i64) -> Result<Deleted, AppError> {
    let sql =
        format!("DELETE FROM tasks WHERE user_id = $1 AND done = TRUE RETURNING {TRASH_COLUMNS}");
    let deleted = in_transaction!(db, |tx| {
        let rows: Vec<TrashRow> = sqlx::query_as(&sql).bind(owner).fetch_all(&mut *tx).await?;
        keep_for_undo!(tx, owner, rows)
    });
    Ok(deleted)
}

/// Brings back the tasks of one of `owner`'s delete batches, with their ids, titles, states
/// and creation times, unless that would take `owner` past `cap` tasks (then `None`). A batch
/// that is gone (restored already, erased, someone else's) restores nothing.
///
/// # Errors
/// Database failures.
pub async fn restore(
    db: &Db,
    owner: i64,
    batch: i64,
    cap: i64,
) -> Result<Option<Vec<Task>>, AppError> {
    // PostgreSQL's identity column takes an explicit id only when told to; the id is the
    // task's own, which the identity never hands out again, so it cannot collide.
    let overriding = match db {
        Db::Postgres(_) => "OVERRIDING SYSTEM VALUE",
        Db::Sqlite { .. } => "",
    };
    let insert = format!(
        "INSERT INTO tasks (id, user_id, title, done, created_at, updated_at) {overriding} \
         SELECT id, user_id, title, done, created_at, $3 FROM deleted_tasks \
         WHERE user_id = $1 AND batch = $2 RETURNING {COLUMNS}"
    );
    let restored = in_transaction!(db, |tx| {
        if matches!(db, Db::Postgres(_)) {
            // As for a new task: two restores (or a restore and an add) cannot both see room.
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(owner)
                .execute(&mut *tx)
                .await?;
        }
        let (have, coming): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM tasks WHERE user_id = $1), \
             (SELECT COUNT(*) FROM deleted_tasks WHERE user_id = $1 AND batch = $2)",
        )
        .bind(owner)
        .bind(batch)
        .fetch_one(&mut *tx)
        .await?;
        if coming > 0 && have + coming > cap {
            return Ok(None);
        }
        let mut tasks: Vec<Task> = sqlx::query_as(&insert)
            .bind(owner)
            .bind(batch)
            .bind(now_millis())
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM deleted_tasks WHERE user_id = $1 AND batch = $2")
            .bind(owner)
            .bind(batch)
            .execute(&mut *tx)
            .await?;
        tasks.sort_by_key(|task| std::cmp::Reverse(task.id));
        tasks
    });
    Ok(Some(restored))
}
