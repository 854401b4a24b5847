//! The application state every handler and server function receives.

use std::{ops::Deref, sync::Arc};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::paths;

use super::{
    auth::{jwt::JwtKeys, password::Hasher, totp::SecretKey},
    config::{AppEnv, Config},
    db::Db,
    mail::Mail,
    metrics::Metrics,
};

/// The shared state: one pointer, so a clone is one atomic increment whatever it holds.
///
/// axum clones the router's state for every `from_fn_with_state` layer and every `State`
/// extractor a request passes, and Leptos once more for each page's context: with the fields
/// held directly, copying and freeing them (the pools, `LeptosOptions`' strings, the hasher's
/// channel) was half the CPU of a request that touches no database (issue 27's profile).
/// Nothing in the app is global: tests build their own.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] points to; its fields are read through `Deref` (`state.db`).
pub struct Shared {
    pub db: Db,
    pub config: Config,
    pub jwt: JwtKeys,
    pub hasher: Hasher,
    /// Encrypts and decrypts authenticator-app secrets (`TOTP_ENCRYPTION_KEY`).
    pub totp_key: SecretKey,
    /// Off unless `METRICS_ADDR` or `METRICS_TOKEN` is set (see `server::metrics`).
    pub metrics: Metrics,
    /// Outgoing mail: queued here, sent by `mail::spawn_sender` (see `server::mail`).
    pub mail: Mail,
    pub leptos_options: LeptosOptions,
    /// The passkeys' relying party (`server::passkeys::relying_party`); `None` when the
    /// public address has no domain name to bind passkeys to.
    pub webauthn: Option<webauthn_rs::Webauthn>,
    /// The paths of the app's own pages, read from its route tree: the only places a login's
    /// `next` parameter may send a person back to.
    pages: Vec<String>,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Leptos' file and error handlers ask for the options by value; only they clone them (a few
/// `Arc<str>`s), not every request.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Builds the state from a validated configuration and an open, migrated pool.
    ///
    /// # Errors
    /// The JWT self-test, the password hasher or the metrics set-up failed.
    pub async fn new(
        config: Config,
        db: Db,
        leptos_options: LeptosOptions,
    ) -> Result<Self, super::error::StartupError> {
        let jwt = JwtKeys::new(&config)?;
        // Fail at startup, not at the first login, if signing is broken (jsonwebtoken panics or
        // errors when its crypto backend is misconfigured).
        jwt.self_test()?;
        let metrics = Metrics::new(config.metrics_enabled())?;
        let mail = Mail::new(&config, leptos_options.site_addr)?;
        let hasher = Hasher::new(
            config.max_concurrent_hashes,
            config.hash_queue_max,
            metrics.hash_queue_wait(),
        )
        .await?;
        let totp_key = SecretKey::from_config(&config);
        // Production binds passkeys to PUBLIC_URL only: the listening address behind a proxy
        // is not where people are, and a passkey made for the wrong origin never works.
        let public = config.public_url.is_some() || config.env == AppEnv::Development;
        let webauthn = public
            .then(|| super::passkeys::relying_party(mail.public_url()))
            .flatten();
        if webauthn.is_none() {
            tracing::warn!(
                public_url = mail.public_url(),
                "passkeys are off: their origin needs a domain name (or localhost); set \
                 PUBLIC_URL to the address people open the service at"
            );
        }
        Ok(Self(Arc::new(Shared {
            db,
            config,
            jwt,
            totp_key,
            hasher,
            metrics,
            mail,
            leptos_options,
            webauthn,
            pages: page_paths(),
        })))
    }

    /// Where to send a person after login: `next` if it is one of our own pages, else their
    /// tasks. Anything else (other sites, `//evil.example`, `javascript:`) is ignored: no open
    /// redirect.
    /// A route's parameter (`/admin/users/{id}`) stands for one segment of letters, digits,
    /// `-` and `_`, never a `/`, `.`, `:` or `%` that could make it another path.
    pub fn safe_next<'a>(&self, next: Option<&'a str>) -> &'a str {
        next.filter(|next| self.pages.iter().any(|page| page_matches(page, next)))
            .unwrap_or(paths::TASKS)
    }
}

/// Whether `path` is an address of route `page` (as the route list writes it: `{id}` for a
/// parameter).
fn page_matches(page: &str, path: &str) -> bool {
    let mut wanted = page.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) => {
                let param = w.starts_with('{') && w.ends_with('}') && !w.starts_with("{*");
                let ok = if param {
                    !g.is_empty()
                        && g.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                } else {
                    w == g
                };
                if !ok {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Every path the route tree declares.
fn page_paths() -> Vec<String> {
    super::routes::page_routes()
        .iter()
        .map(|route| route.path().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_route_tree_names_our_pages() {
        let pages = page_paths();
        for page in [paths::TASKS, paths::ACCOUNT, paths::ADMIN, paths::LOGIN] {
            assert!(pages.iter().any(|p| p == page), "{page} not in {pages:?}");
        }
        assert!(
            pages
                .iter()
                .all(|p| p.starts_with('/') && !p.starts_with("//"))
        );
    }

    #[test]
    fn a_route_parameter_matches_one_plain_segment() {
        let page = "/admin/users/{id}";
        assert!(page_matches(page, "/admin/users/12"));
        assert!(page_matches("/tasks", "/tasks"));
        for other in [
            "/admin/users/",
            "/admin/users",
            "/admin/users/12/x",
            "/admin/users/..",
            "/admin/users/%2F",
            "/admin/users/a:b",
            "/admin/users//evil.example",
            "/admin/x/12",
        ] {
            assert!(!page_matches(page, other), "{other}");
        }
        assert!(!page_matches("/tasks", "/tasks/"));
        assert!(!page_matches("/", ""));
    }
}
