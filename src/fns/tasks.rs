//! The signed-in person's task list. Every function starts with `server_fn::signed_in()`.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{Deleted, Task, TaskListPage},
};

/// One page of the caller's tasks, newest first: `show` is `open`, `done` or absent (all), and
/// `before` the `next` cursor of the previous page.
#[server(endpoint = "tasks/list")]
pub async fn list_tasks(
    show: Option<String>,
    before: Option<i64>,
) -> Result<TaskListPage, AppError> {
    use crate::{
        model::TaskFilter,
        server::{server_fn, tasks},
    };
    let (state, principal) = server_fn::signed_in()?;
    let filter = TaskFilter::parse(show.as_deref());
    tasks::list_page(&state, &principal.user, filter, before).await
}

/// Deletes every done task of the caller (one batch for Undo).
#[server(endpoint = "tasks/clear_done")]
pub async fn clear_done_tasks() -> Result<Deleted, AppError> {
    use crate::server::{server_fn, tasks};
    let (state, principal) = server_fn::signed_in()?;
    let cleared = tasks::clear_done(&state, &principal.user).await?;
    server_fn::return_to_task_list();
    Ok(cleared)
}

/// Adds a task with the given title (trimmed, 1 to 500 characters).
#[server(endpoint = "tasks/add")]
pub async fn add_task(title: String) -> Result<Task, AppError> {
    use crate::server::{server_fn, tasks};
    let (state, principal) = server_fn::signed_in()?;
    let task = tasks::create(&state, &principal.user, &title).await?;
    server_fn::return_to_task_list();
    Ok(task)
}

/// Marks a task done or not done.
#[server(endpoint = "tasks/set_done")]
pub async fn set_task_done(id: i64, done: bool) -> Result<Task, AppError> {
    use crate::server::{server_fn, tasks};
    let (state, principal) = server_fn::signed_in()?;
    let task = tasks::update(&state, &principal.user, id, None, Some(done)).await?;
    server_fn::return_to_task_list();
    Ok(task)
}

/// Renames a task.
#[server(endpoint = "tasks/rename")]
pub async fn rename_task(id: i64, title: String) -> Result<Task, AppError> {
    use crate::server::{server_fn, tasks};
    let (state, principal) = server_fn::signed_in()?;
    let task = tasks::update(&state, &principal.user, id, Some(&title), None).await?;
    server_fn::return_to_task_list();
    Ok(task)
}

/// Deletes a task (one batch for Undo).
#[server(endpoint = "tasks/delete")]
pub async fn delete_task(id: i64) -> Result<Deleted, AppError> {
    use crate::server::{server_fn, tasks};
    let (state, principal) = server_fn::signed_in()?;
    let deleted = tasks::delete(&state, &principal.user, id).await?;
    server_fn::return_to_task_list();
    Ok(deleted)
}

/// Undo: brings back what one recent delete or "Clear done" removed.
#[server(endpoint = "tasks/restore")]
pub async fn restore_tasks(batch: i64) -> Result<Vec<Task>, AppError> {
    use crate::server::{server_fn, tasks};
    let (state, principal) = server_fn::signed_in()?;
    tasks::restore(&state, &principal.user, batch).await
}
