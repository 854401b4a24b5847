//! Task operations: validation plus the owner-scoped queries, shared by every front door.

use super::{attempt_limits, db, state::AppState, validate};
use crate::{
    error::AppError,
    model::{Deleted, Task, TaskFilter, TaskListPage, User},
};

/// How many tasks the web page's list shows at once ("Load more" fetches the next ones).
pub const LIST_PAGE: i64 = 50;

/// One page of the web page's list: up to [`LIST_PAGE`] tasks the filter shows, newest first,
/// older than task `before` if given, with the open / done counts of the filter tabs.
///
/// # Errors
/// Database failures.
pub async fn list_page(
    state: &AppState,
    user: &User,
    filter: TaskFilter,
    before: Option<i64>,
) -> Result<TaskListPage, AppError> {
    let (tasks, next) = page(state, user, filter.done(), before, Some(LIST_PAGE)).await?;
    let (open, done) = db::tasks::counts(&state.db, user.id).await?;
    Ok(TaskListPage {
        tasks,
        next,
        open,
        done,
    })
}

/// Deletes all of the user's done tasks, as one batch that [`restore`] can bring back.
///
/// # Errors
/// [`AppError::RateLimited`] past `WRITES_PER_MINUTE`; database failures.
pub async fn clear_done(state: &AppState, user: &User) -> Result<Deleted, AppError> {
    may_change(state, user).await?;
    db::tasks::delete_done(&state.db, user.id).await
}

/// Undo: brings back the tasks of one of the user's recent deletes (gone after
/// `TRASH_RETENTION_MS`, or once restored: then nothing comes back).
///
/// # Errors
/// [`AppError::Validation`] when they would take the user past `MAX_TASKS_PER_USER`,
/// [`AppError::RateLimited`] past `WRITES_PER_MINUTE`; database failures.
pub async fn restore(state: &AppState, user: &User, batch: i64) -> Result<Vec<Task>, AppError> {
    may_change(state, user).await?;
    let cap = state.config.max_tasks_per_user;
    db::tasks::restore(&state.db, user.id, batch, i64::from(cap))
        .await?
        .ok_or_else(|| {
            AppError::Validation(vec![crate::error::FieldError::new(
                "batch",
                format!(
                    "Bringing these back would make more than {cap} tasks, the most one account \
                     can keep. Delete some you no longer need first."
                ),
            )])
        })
}

/// Adds a task.
///
/// # Errors
/// [`AppError::Validation`] for an empty or over-long title, or when the user already has
/// `MAX_TASKS_PER_USER` tasks; [`AppError::RateLimited`] past `WRITES_PER_MINUTE`.
pub async fn create(state: &AppState, user: &User, title: &str) -> Result<Task, AppError> {
    let title = validate::title(title)?;
    may_change(state, user).await?;
    let cap = state.config.max_tasks_per_user;
    db::tasks::create(&state.db, user.id, &title, i64::from(cap))
        .await?
        .ok_or_else(|| {
            AppError::field(
                "title",
                format!(
                    "You have {cap} tasks, the most one account can keep. Delete some you no \
                     longer need to add more."
                ),
            )
        })
}

/// Renames and/or completes a task.
///
/// # Errors
/// [`AppError::Validation`] for a bad title, [`AppError::NotFound`] when the user has no such
/// task (including when it belongs to someone else), [`AppError::RateLimited`] past
/// `WRITES_PER_MINUTE`.
pub async fn update(
    state: &AppState,
    user: &User,
    id: i64,
    title: Option<&str>,
    done: Option<bool>,
) -> Result<Task, AppError> {
    let title = title.map(validate::title).transpose()?;
    may_change(state, user).await?;
    db::tasks::update(&state.db, user.id, id, title.as_deref(), done).await
}

/// Deletes a task, keeping it a few minutes for Undo ([`restore`]).
///
/// # Errors
/// [`AppError::NotFound`] when the user has no such task, [`AppError::RateLimited`] past
/// `WRITES_PER_MINUTE`.
pub async fn delete(state: &AppState, user: &User, id: i64) -> Result<Deleted, AppError> {
    may_change(state, user).await?;
    db::tasks::delete(&state.db, user.id, id).await
}

/// Default and largest page size of the REST list.
pub const PAGE_DEFAULT: i64 = 50;
pub const PAGE_MAX: i64 = 200;

/// One page of the user's tasks and the cursor of the next page, if there is one.
///
/// # Errors
/// [`AppError::Validation`] on `query.limit` outside 1..=200; database failures.
pub async fn page(
    state: &AppState,
    user: &User,
    done: Option<bool>,
    cursor: Option<i64>,
    limit: Option<i64>,
) -> Result<(Vec<Task>, Option<i64>), AppError> {
    let limit = validate::page_limit(limit, PAGE_DEFAULT, PAGE_MAX)?;
    // One extra row tells whether another page follows.
    let mut tasks = db::tasks::page(&state.db, user.id, done, cursor, limit + 1).await?;
    let next = if tasks.len() as i64 > limit {
        tasks.truncate(limit as usize);
        tasks.last().map(|t| t.id)
    } else {
        None
    };
    Ok((tasks, next))
}

/// One task.
///
/// # Errors
/// [`AppError::NotFound`] when the user has no such task.
pub async fn get(state: &AppState, user: &User, id: i64) -> Result<Task, AppError> {
    db::tasks::get(&state.db, user.id, id).await
}

/// Every task change passes here: an account that must verify its address first
/// (`REQUIRE_VERIFIED_EMAIL`) is refused, then the change counts against `WRITES_PER_MINUTE`.
async fn may_change(state: &AppState, user: &User) -> Result<(), AppError> {
    super::email::may_write(state, user)?;
    attempt_limits::task_write(state, user.id).await
}
