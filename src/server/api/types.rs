//! The JSON shapes of the REST API (documented in the OpenAPI document).

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::model::{Task, User};

/// Unix milliseconds as RFC 3339 (`2026-11-25T14:00:00.123Z`), what FastAPI clients expect.
pub fn rfc3339(millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `POST /api/v1/auth/register` body.
#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    pub email: String,
    pub name: String,
    pub password: String,
}

/// A user, without any credential material.
#[derive(Debug, Serialize)]
pub struct UserOut {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// RFC 3339 timestamp.
    pub created_at: String,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self { id: u.id, email: u.email, name: u.name, created_at: rfc3339(u.created_at) }
    }
}

/// OAuth2 password grant form (`application/x-www-form-urlencoded`).
#[derive(Deserialize)]
pub struct TokenForm {
    pub username: String,
    pub password: String,
    pub grant_type: Option<String>,
    pub scope: Option<String>,
}

/// The token response of RFC 6749 §5.1.
#[derive(Serialize)]
pub struct TokenOut {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// A task.
#[derive(Debug, Serialize)]
pub struct TaskOut {
    pub id: i64,
    pub title: String,
    pub done: bool,
    /// RFC 3339 timestamp.
    pub created_at: String,
}

impl From<Task> for TaskOut {
    fn from(t: Task) -> Self {
        Self { id: t.id, title: t.title, done: t.done, created_at: rfc3339(t.created_at) }
    }
}

/// `GET /api/v1/tasks` query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// Return tasks older than this one: the `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Only done (`true`) or open (`false`) tasks.
    pub done: Option<bool>,
}

/// One page of tasks, newest first.
#[derive(Debug, Serialize)]
pub struct TaskPage {
    pub items: Vec<TaskOut>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<i64>,
    /// The URL of the next page; `null` on the last page.
    pub next: Option<String>,
}

/// `POST /api/v1/tasks` body.
#[derive(Debug, Deserialize)]
pub struct NewTask {
    pub title: String,
}

/// `PATCH /api/v1/tasks/{id}` body: any of the fields.
#[derive(Debug, Deserialize)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub done: Option<bool>,
}
