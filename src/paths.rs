//! The app's page paths, shared by the route tree, links, redirects and server functions.
//!
//! This module imports only the shared model, so anything may depend on it without a cycle.

use crate::model::TaskFilter;

pub const HOME: &str = "/";
pub const LOGIN: &str = "/login";
pub const REGISTER: &str = "/register";
pub const TASKS: &str = "/tasks";
pub const SESSIONS: &str = "/sessions";

/// The login page that returns to `page` once the person has signed in.
pub fn login_then(page: &str) -> String {
    format!("{LOGIN}?next={page}")
}

/// The task list with a filter (`/tasks?show=open`), optionally with task `edit`'s rename form
/// open (what the Rename button opens without JavaScript).
pub fn task_list(filter: TaskFilter, edit: Option<i64>) -> String {
    let mut query = Vec::new();
    if let Some(show) = filter.query_value() {
        query.push(format!("show={show}"));
    }
    if let Some(id) = edit {
        query.push(format!("edit={id}"));
    }
    if query.is_empty() {
        TASKS.to_owned()
    } else {
        format!("{TASKS}?{}", query.join("&"))
    }
}
