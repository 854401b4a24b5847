//! Types that cross the wire between the server and the browser.
//!
//! Nothing here may ever hold a password, a hash or a token: these types are `Serialize` and end
//! up in HTML, JSON and the wasm client.

use serde::{Deserialize, Serialize};

/// A signed-up person, as others (and they themselves) may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// Unix time in milliseconds.
    pub created_at: i64,
}

/// One item of a person's task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub done: bool,
    /// Unix time in milliseconds.
    pub created_at: i64,
}

/// One of a person's signed-in sessions, for the Sessions page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Opaque id, used to revoke it.
    pub id: String,
    /// The User-Agent the session was started with.
    pub user_agent: String,
    /// A short description of it, such as "Firefox on Linux".
    pub device: String,
    pub ip: String,
    /// Unix time in milliseconds.
    pub created_at: i64,
    /// Unix time in milliseconds.
    pub last_used_at: i64,
    /// `last_used_at` as text (UTC), formatted on the server so the page renders identically
    /// before and after hydration.
    pub last_used: String,
    /// The session this list was requested from.
    pub current: bool,
}

/// Length limits shared by the forms (as `maxlength` hints) and the server (as the real check).
pub mod limits {
    pub const NAME_MAX: usize = 100;
    pub const PASSWORD_MIN: usize = 8;
    pub const PASSWORD_MAX: usize = 128;
    pub const TITLE_MAX: usize = 500;
    pub const EMAIL_MAX: usize = 254;
}
