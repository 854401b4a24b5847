//! Server functions: declared once, called from the browser, run on the server.
//!
//! Each body is a thin front door onto `server::accounts` / `server::tasks`; none holds SQL or
//! re-implements validation. All use POST (the default): nothing changes state over GET.

pub mod auth;
pub mod tasks;
