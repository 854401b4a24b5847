//! Security headers on every response, caching rules, oversized headers, a database outage,
//! and the start-up refusals (unsafe secrets in production, plain-HTTP cookies off loopback).

mod common;

use std::process::Command;

use axum::http::{StatusCode, header};
use common::{Reply, json_request, spawn, spawn_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn assert_security_headers(reply: &Reply, what: &str) {
    let csp = reply
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    for directive in [
        "script-src 'self'",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing in {csp}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(
        reply.headers[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff",
        "{what}"
    );
    assert!(
        reply.headers.contains_key(header::REFERRER_POLICY),
        "{what}"
    );
    assert_eq!(
        reply.headers["cross-origin-opener-policy"], "same-origin",
        "{what}"
    );
    let permissions = reply
        .headers
        .get("permissions-policy")
        .unwrap_or_else(|| panic!("{what}: no Permissions-Policy"))
        .to_str()
        .unwrap();
    for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()"] {
        assert!(
            permissions.contains(feature),
            "{what}: {feature} missing in {permissions}"
        );
    }
}

#[tokio::test]
async fn refusals_of_oversized_or_too_many_headers_carry_the_security_headers() {
    let app = spawn().await;
    let big = axum::http::Request::get("/login")
        .header(header::COOKIE, format!("x={}", "a".repeat(20_000)))
        .body(axum::body::Body::empty())
        .unwrap();
    let mut many = axum::http::Request::get("/login");
    for i in 0..150 {
        many = many.header(format!("x-filler-{i}"), "1");
    }
    let many = many.body(axum::body::Body::empty()).unwrap();
    for (what, request) in [("20 KB of headers", big), ("150 headers", many)] {
        let reply = app.send(request).await;
        assert_eq!(
            reply.status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "{what}"
        );
        assert_security_headers(&reply, what);
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store", "{what}");
        assert!(reply.body.contains("too large"), "{what}: {}", reply.body);
    }
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers_and_is_not_cached() {
    let app = spawn().await;
    let cookie = app.signed_up("headers@example.com").await;
    let replies = [
        ("login page", app.get("/login", None).await),
        ("tasks page", app.get("/tasks", Some(&cookie)).await),
        ("404 page", app.get("/no-such-page", None).await),
        (
            "server fn",
            app.call("tasks/list", &[], Some(&cookie)).await,
        ),
        (
            "API error",
            json_request(&app, "GET", "/api/v1/users/me", None, None).await,
        ),
        (
            "OpenAPI",
            json_request(&app, "GET", "/api/v1/openapi.json", None, None).await,
        ),
        ("Swagger UI", app.get("/api/v1/docs/", None).await),
        ("redirect", app.get("/tasks", None).await),
    ];
    for (what, reply) in &replies {
        assert_security_headers(reply, what);
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store", "{what}");
        assert!(
            !reply
                .headers
                .contains_key(header::STRICT_TRANSPORT_SECURITY),
            "{what}: HSTS is for production only"
        );
    }
}

#[tokio::test]
async fn pages_carry_a_fresh_nonce_that_is_on_their_inline_scripts() {
    let app = spawn().await;
    let nonce_of = |reply: &Reply| {
        let csp = reply.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        csp.split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("no nonce in {csp}"))
            .to_owned()
    };
    let first = app.get("/login", None).await;
    let second = app.get("/login", None).await;
    let nonce = nonce_of(&first);
    assert!(nonce.len() >= 16, "{nonce}");
    assert_ne!(nonce, nonce_of(&second), "a nonce is used once");
    // Every inline <script> carries it; none runs without.
    let scripts: Vec<&str> = first.body.split("<script").skip(1).collect();
    assert!(!scripts.is_empty());
    for script in scripts {
        let tag = script.split('>').next().unwrap();
        if !tag.contains("src=") {
            assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "{tag}");
        }
    }
}

#[tokio::test]
async fn production_adds_hsts() {
    let app = spawn_with(&[("APP_ENV", "production")]).await;
    let reply = app.get("/login", None).await;
    let hsts = reply.headers[header::STRICT_TRANSPORT_SECURITY]
        .to_str()
        .unwrap();
    assert!(hsts.contains("max-age=63072000"), "{hsts}");
}

#[tokio::test]
async fn oversized_headers_are_refused_and_the_server_keeps_serving() {
    let app = spawn().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    // Too large for us (431 from our layer), and too large for hyper itself (it refuses or
    // closes the connection): either way, refused, and nothing else is affected.
    for size in [20_000, 1_000_000] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let huge = "a".repeat(size);
        let request = format!(
            "GET /login HTTP/1.1\r\nHost: {addr}\r\nCookie: x={huge}\r\nConnection: close\r\n\r\n"
        );
        // The server may close the connection before reading everything: a refusal too.
        let _ = stream.write_all(request.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
            "{size}: {answer:.200}"
        );
    }

    let client = reqwest::Client::new();
    let ok = client
        .get(format!("http://{addr}/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

/// Runs the real binary with `vars` and returns (exit success, stderr).
fn start_with(vars: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tasks"));
    command
        .env_clear()
        .env("DATA_DIR", dir.path())
        .env("LOG_FORMAT", "text")
        // A port that would work, to show the refusal comes before binding.
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .current_dir(dir.path())
        .envs(vars.iter().copied());
    let output = command.output().expect("the server binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn production_refuses_to_start_with_a_missing_short_or_placeholder_secret() {
    for secret in [
        None,
        Some("too-short"),
        Some("change-me-to-a-random-secret-of-at-least-32-bytes"),
    ] {
        let mut vars = vec![("APP_ENV", "production")];
        if let Some(secret) = secret {
            vars.push(("JWT_SECRET", secret));
        }
        let (started, log) = start_with(&vars);
        assert!(!started, "started with {secret:?}");
        assert!(log.contains("JWT_SECRET"), "{secret:?}: {log}");
        assert!(!log.contains("listening"), "{secret:?}: {log}");
        if let Some(secret) = secret {
            assert!(!log.contains(secret), "the secret was echoed: {log}");
        }
    }
}

#[test]
fn plain_http_cookies_are_refused_off_loopback() {
    let (started, log) = start_with(&[
        ("COOKIE_SECURE", "false"),
        ("LEPTOS_SITE_ADDR", "0.0.0.0:0"),
    ]);
    assert!(!started);
    assert!(
        log.contains("COOKIE_SECURE") && log.contains("loopback"),
        "{log}"
    );
    assert!(!log.contains("listening"), "{log}");
}

#[tokio::test]
async fn a_database_outage_is_a_503_with_a_clear_message_not_a_500() {
    let app = spawn().await;
    let cookie = app.signed_up("outage@example.com").await;
    app.state.db.close().await;
    let server_fn = app.call("tasks/list", &[], Some(&cookie)).await;
    assert_eq!(
        server_fn.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        server_fn.body
    );
    assert_eq!(server_fn.error_kind(), "unavailable");
    assert_eq!(server_fn.headers[header::RETRY_AFTER], "5");
    let register = json_request(
        &app,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(serde_json::json!({"email": "new@example.com", "name": "N", "password": "violet kettle drum"})),
    )
    .await;
    assert_eq!(
        register.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        register.body
    );
    assert!(
        register.json()["detail"]
            .as_str()
            .unwrap()
            .contains("try again")
    );
    assert_eq!(register.headers[header::RETRY_AFTER], "5");
}

#[test]
fn an_unreachable_postgres_stops_startup_without_echoing_its_password() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let (started, log) = start_with(&[
        (
            "DATABASE_URL",
            "postgres://tasks:hunter2-not-logged@127.0.0.1:1/tasks",
        ),
        ("DB_ACQUIRE_TIMEOUT", "1s"),
    ]);
    assert!(!started);
    assert!(log.contains("DATABASE_URL"), "{log}");
    assert!(
        log.contains("PostgreSQL"),
        "the message says what to check: {log}"
    );
    assert!(
        !log.contains("hunter2-not-logged"),
        "the password was echoed: {log}"
    );
    assert!(!log.contains("listening"), "{log}");
}
