//! Static files: the wasm bundle, its JavaScript and the stylesheet under `/pkg/`, the favicon,
//! and the passkey module.
//!
//! A release build made with `cargo leptos build --release --precompress` puts a brotli (`.br`)
//! and a gzip (`.gz`) copy beside each file, and with `hash-files` (Cargo.toml) each name
//! carries a hash of its content (`tasks.3f9a….wasm`). The server picks the copy the browser's
//! `Accept-Encoding` allows (no compression work per request), and lets browsers keep hashed
//! files for a year without asking again (`immutable`): a new build has new names. Without
//! hashed names (a development build), browsers revalidate every time instead (`no-cache`).

use std::path::{Path, PathBuf};

use axum::{
    Router,
    http::{HeaderValue, header},
};
use leptos::config::LeptosOptions;
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};

use super::state::AppState;

/// The favicon, served from the site root.
pub const FAVICON: &str = "/favicon.svg";
/// The passkey module (`public/passkeys.js`), served from the site root.
pub const PASSKEYS_JS: &str = crate::pages::passkeys::PASSKEYS_JS;

/// `Cache-Control` of a file whose name changes with its content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a file that may change under the same name.
pub const REVALIDATE: &str = "no-cache";

/// Whether a path is one of the static files (which keep their own `Cache-Control`).
pub fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path == FAVICON
        || path == PASSKEYS_JS
        || path == super::speculation::RULES_PATH
}

/// The hash file cargo-leptos writes beside the server binary when `hash-files` is on; Leptos
/// reads the hashed names from it.
fn hash_file(options: &LeptosOptions) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(options.hash_file.as_ref()))
}

/// Turns on hashed file names when this binary was built with them (its hash file is beside
/// it), unless `LEPTOS_HASH_FILES` says otherwise. A binary built by plain `cargo build` has
/// no hash file and keeps the plain names.
pub fn detect_hashed_files(options: &mut LeptosOptions) {
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        options.hash_files = hash_file(options).is_some_and(|path| path.is_file());
    }
}

/// ServeDir picks the copy by `Accept-Encoding` but does not say so: without `Vary`, a shared
/// cache could hand a brotli body to a browser that asked for gzip.
fn vary_on_encoding() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::appending(header::VARY, HeaderValue::from_static("accept-encoding"))
}

/// The routes of the static files under `options.site_root`.
pub fn router(options: &LeptosOptions) -> Router<AppState> {
    let root = Path::new(options.site_root.as_ref());
    let pkg_cache = if options.hash_files {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let pkg = ServeDir::new(root.join(options.site_pkg_dir.as_ref()))
        .precompressed_br()
        .precompressed_gzip();
    let favicon = ServeFile::new(root.join(FAVICON.trim_start_matches('/')))
        .precompressed_br()
        .precompressed_gzip();
    let passkeys = ServeFile::new(root.join(PASSKEYS_JS.trim_start_matches('/')))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .nest_service(
            &format!("/{}", options.site_pkg_dir),
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(pkg_cache),
                ))
                .layer(vary_on_encoding())
                .service(pkg),
        )
        .route_service(
            FAVICON,
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    // Not hashed, rarely changed: a day, then revalidated.
                    HeaderValue::from_static("public, max-age=86400"),
                ))
                .layer(vary_on_encoding())
                .service(favicon),
        )
        .route_service(
            PASSKEYS_JS,
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    // Not hashed, and it must match the server that serves the page: the
                    // browser asks again each time (a 304 while it is unchanged).
                    HeaderValue::from_static(REVALIDATE),
                ))
                .layer(vary_on_encoding())
                .service(passkeys),
        )
}
