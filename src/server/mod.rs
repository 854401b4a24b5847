//! Everything that runs only on the server: configuration, state, auth, database, routing.

pub mod accounts;
pub mod admin;
pub mod alerts;
pub mod api;
pub mod assets;
pub mod attempt_limits;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod context;
pub mod csrf;
pub mod db;
pub mod edge;
pub mod email;
pub mod error;
pub mod form_posts;
pub mod headers;
pub mod health;
pub mod mail;
pub mod metrics;
pub mod page_scripts;
pub mod passkeys;
pub mod routes;
pub mod serve;
pub mod server_fn;
pub mod sessions;
pub mod speculation;
pub mod state;
pub mod tasks;
pub mod two_step;
pub mod validate;

pub use routes::app;
pub use state::AppState;
