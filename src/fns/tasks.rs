//! The signed-in person's task list. Every function starts with `server_fn::signed_in()`.

use leptos::prelude::*;

use crate::{error::AppError, model::Task};

/// The caller's tasks, newest first.
#[server(endpoint = "tasks/list")]
pub async fn list_tasks() -> Result<Vec<Task>, AppError> {
    use crate::server::{server_fn, tasks};
    let (state, principal) = server_fn::signed_in()?;
    tasks::list(&state, &principal.user).await
}

/// Adds a task with the given title (trimmed, 1 to 500 characters).
#[server(endpoint = "tasks/add")]
pub async fn add_task(title: String) -> Result<Task, AppError> {
    use crate::{
        paths,
        server::{server_fn, tasks},
    };
    let (state, principal) = server_fn::signed_in()?;
    let task = tasks::create(&state, &principal.user, &title).await?;
    server_fn::return_to_after_form_post(paths::TASKS);
    Ok(task)
}

/// Marks a task done or not done.
#[server(endpoint = "tasks/set_done")]
pub async fn set_task_done(id: i64, done: bool) -> Result<Task, AppError> {
    use crate::{
        paths,
        server::{server_fn, tasks},
    };
    let (state, principal) = server_fn::signed_in()?;
    let task = tasks::update(&state, &principal.user, id, None, Some(done)).await?;
    server_fn::return_to_after_form_post(paths::TASKS);
    Ok(task)
}

/// Renames a task.
#[server(endpoint = "tasks/rename")]
pub async fn rename_task(id: i64, title: String) -> Result<Task, AppError> {
    use crate::{
        paths,
        server::{server_fn, tasks},
    };
    let (state, principal) = server_fn::signed_in()?;
    let task = tasks::update(&state, &principal.user, id, Some(&title), None).await?;
    server_fn::return_to_after_form_post(paths::TASKS);
    Ok(task)
}

/// Deletes a task.
#[server(endpoint = "tasks/delete")]
pub async fn delete_task(id: i64) -> Result<(), AppError> {
    use crate::{
        paths,
        server::{server_fn, tasks},
    };
    let (state, principal) = server_fn::signed_in()?;
    tasks::delete(&state, &principal.user, id).await?;
    server_fn::return_to_after_form_post(paths::TASKS);
    Ok(())
}
