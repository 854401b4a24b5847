//! The app's page paths, shared by the route tree, links, redirects and server functions.
//!
//! This module imports nothing from the app, so anything may depend on it without a cycle.

pub const HOME: &str = "/";
pub const LOGIN: &str = "/login";
pub const REGISTER: &str = "/register";
pub const TASKS: &str = "/tasks";
pub const SESSIONS: &str = "/sessions";

/// The login page that returns to `page` once the person has signed in.
pub fn login_then(page: &str) -> String {
    format!("{LOGIN}?next={page}")
}
