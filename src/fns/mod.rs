//! Server functions: declared once, called from the browser, run on the server.
//!
//! Each body is a thin front door onto `server::accounts` / `server::tasks` / `server::admin` /
//! `server::audit`; none holds SQL or re-implements validation. All use POST (the default):
//! nothing changes state over GET.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod auth;
pub mod email;
pub mod passkeys;
pub mod tasks;
pub mod two_step;
