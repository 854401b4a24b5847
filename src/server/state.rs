//! The application state every handler and server function receives.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio::sync::Semaphore;

use super::{
    auth::{jwt::JwtKeys, password::Hasher},
    config::Config,
    db::Db,
};

/// Shared, cheaply cloneable state. Nothing in the app is global: tests build their own.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtKeys>,
    pub hasher: Hasher,
    pub leptos_options: LeptosOptions,
}

impl AppState {
    /// Builds the state from a validated configuration and an open, migrated pool.
    ///
    /// # Errors
    /// The JWT self-test or the password hasher set-up failed.
    pub async fn new(
        config: Config,
        db: Db,
        leptos_options: LeptosOptions,
    ) -> Result<Self, super::error::StartupError> {
        let jwt = JwtKeys::new(&config)?;
        // Fail at startup, not at the first login, if signing is broken (jsonwebtoken panics or
        // errors when its crypto backend is misconfigured).
        jwt.self_test()?;
        let hasher = Hasher::new(Arc::new(Semaphore::new(config.max_concurrent_hashes))).await?;
        Ok(Self {
            db,
            config: Arc::new(config),
            jwt: Arc::new(jwt),
            hasher,
            leptos_options,
        })
    }
}
