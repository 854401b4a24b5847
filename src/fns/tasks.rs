//! The signed-in person's task list. Every function starts with `require_user()`.

use leptos::prelude::*;

use crate::{error::AppError, model::Task};

/// The caller's tasks, newest first.
#[server(endpoint = "tasks/list")]
pub async fn list_tasks() -> Result<Vec<Task>, AppError> {
    use crate::server::{fns, tasks};
    fns::respond(
        async move {
            let (state, user) = fns::require_user().await?;
            tasks::list(&state, &user).await
        }
        .await,
    )
}

/// Adds a task with the given title (trimmed, 1 to 500 characters).
#[server(endpoint = "tasks/add")]
pub async fn add_task(title: String) -> Result<Task, AppError> {
    use crate::{
        app::TASKS_PATH,
        server::{fns, tasks},
    };
    fns::respond(
        async move {
            let (state, user) = fns::require_user().await?;
            fns::return_to_after_form_post(TASKS_PATH, tasks::create(&state, &user, &title).await)
        }
        .await,
    )
}

/// Marks a task done or not done.
#[server(endpoint = "tasks/set_done")]
pub async fn set_task_done(id: i64, done: bool) -> Result<Task, AppError> {
    use crate::{
        app::TASKS_PATH,
        server::{fns, tasks},
    };
    fns::respond(
        async move {
            let (state, user) = fns::require_user().await?;
            fns::return_to_after_form_post(
                TASKS_PATH,
                tasks::update(&state, &user, id, None, Some(done)).await,
            )
        }
        .await,
    )
}

/// Renames a task.
#[server(endpoint = "tasks/rename")]
pub async fn rename_task(id: i64, title: String) -> Result<Task, AppError> {
    use crate::{
        app::TASKS_PATH,
        server::{fns, tasks},
    };
    fns::respond(
        async move {
            let (state, user) = fns::require_user().await?;
            fns::return_to_after_form_post(
                TASKS_PATH,
                tasks::update(&state, &user, id, Some(&title), None).await,
            )
        }
        .await,
    )
}

/// Deletes a task.
#[server(endpoint = "tasks/delete")]
pub async fn delete_task(id: i64) -> Result<(), AppError> {
    use crate::{
        app::TASKS_PATH,
        server::{fns, tasks},
    };
    fns::respond(
        async move {
            let (state, user) = fns::require_user().await?;
            fns::return_to_after_form_post(TASKS_PATH, tasks::delete(&state, &user, id).await)
        }
        .await,
    )
}
