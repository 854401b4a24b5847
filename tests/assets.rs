//! Static files: the precompressed copy the browser accepts, and how long it may be cached.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::spawn;
use http_body_util::BodyExt;
use tower::ServiceExt;

const WASM: &[u8] = b"\0asm plain bytes of the bundle";

/// Writes `pkg/tasks.wasm` and its `.br` and `.gz` copies (marked so the test can tell them
/// apart) into the app's site root.
fn write_bundle(root: &std::path::Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("tasks.wasm"), WASM).unwrap();
    std::fs::write(pkg.join("tasks.wasm.br"), b"brotli copy").unwrap();
    std::fs::write(pkg.join("tasks.wasm.gz"), b"gzip copy").unwrap();
    std::fs::write(root.join("favicon.svg"), b"<svg/>").unwrap();
}

async fn fetch(
    router: &axum::Router,
    path: &str,
    accept_encoding: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    if let Some(encodings) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, encodings);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

#[tokio::test]
async fn the_bundle_is_served_in_the_compression_the_browser_accepts() {
    let app = spawn().await;
    write_bundle(app.dir.path());

    let (status, headers, body) =
        fetch(&app.router, "/pkg/tasks.wasm", Some("gzip, deflate, br")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(body, b"brotli copy");
    assert!(
        headers[header::VARY]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding"),
        "caches must keep the copies apart"
    );

    let (_, headers, body) = fetch(&app.router, "/pkg/tasks.wasm", Some("gzip")).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(body, b"gzip copy");

    let (_, headers, body) = fetch(&app.router, "/pkg/tasks.wasm", None).await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(body, WASM);

    let (status, _, _) = fetch(&app.router, "/pkg/missing.wasm", Some("br")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hashed_files_are_cached_for_a_year_and_plain_ones_revalidated() {
    let app = spawn().await;
    write_bundle(app.dir.path());

    // A development build: the same name for new content, so browsers must ask again.
    let (_, headers, _) = fetch(&app.router, "/pkg/tasks.wasm", Some("br")).await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");

    // A release build with hashed names: a new build has new names, so a year is safe.
    let mut options = app.state.leptos_options.clone();
    options.hash_files = true;
    let state =
        tasks::server::AppState::new(app.state.config.clone(), app.state.db.clone(), options)
            .await
            .expect("state");
    let hashed = tasks::server::app(state);
    let (_, headers, _) = fetch(&hashed, "/pkg/tasks.wasm", Some("br")).await;
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    // The security headers are there as on every response.
    assert_eq!(headers["x-content-type-options"], "nosniff");

    let (status, headers, body) = fetch(&hashed, "/favicon.svg", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"<svg/>");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=86400");

    // Pages stay uncached whatever the build.
    let (_, headers, _) = fetch(&hashed, "/login", None).await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}
