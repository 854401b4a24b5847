//! Task operations: validation plus the owner-scoped queries, shared by every front door.

use super::{db, state::AppState, validate};
use crate::{error::AppError, model::{Task, User}};

/// The user's tasks, newest first.
///
/// # Errors
/// Database failures.
pub async fn list(state: &AppState, user: &User) -> Result<Vec<Task>, AppError> {
    db::tasks::list(&state.db, user.id).await
}

/// Adds a task.
///
/// # Errors
/// [`AppError::Validation`] for an empty or over-long title.
pub async fn create(state: &AppState, user: &User, title: &str) -> Result<Task, AppError> {
    let title = validate::title(title)?;
    db::tasks::create(&state.db, user.id, &title).await
}

/// Renames and/or completes a task.
///
/// # Errors
/// [`AppError::Validation`] for a bad title, [`AppError::NotFound`] when the user has no such
/// task (including when it belongs to someone else).
pub async fn update(
    state: &AppState,
    user: &User,
    id: i64,
    title: Option<&str>,
    done: Option<bool>,
) -> Result<Task, AppError> {
    let title = title.map(validate::title).transpose()?;
    db::tasks::update(&state.db, user.id, id, title.as_deref(), done).await
}

/// Deletes a task.
///
/// # Errors
/// [`AppError::NotFound`] when the user has no such task.
pub async fn delete(state: &AppState, user: &User, id: i64) -> Result<(), AppError> {
    db::tasks::delete(&state.db, user.id, id).await
}
