//! Health endpoints, and what people and scripts get while the database is down.

mod common;

use axum::http::{StatusCode, header};
use common::{json_request, spawn};

#[tokio::test]
async fn healthz_is_alive_and_readyz_checks_the_database_and_migrations() {
    let app = spawn().await;
    let alive = json_request(&app, "GET", "/healthz", None, None).await;
    assert_eq!(alive.status, StatusCode::OK);
    assert_eq!(alive.json()["status"], "ok");
    let ready = json_request(&app, "GET", "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.json()["status"], "ready");

    // A binary newer than its database: a migration it embeds is missing.
    common::execute(
        &app.state.db,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .await;
    let behind = json_request(&app, "GET", "/readyz", None, None).await;
    assert_eq!(behind.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        behind.json()["detail"]
            .as_str()
            .unwrap()
            .contains("migration")
    );
}

#[tokio::test]
async fn probes_never_look_at_credentials() {
    let app = spawn().await;
    // A token and a cookie that would be refused (401, cookies cleared) anywhere that asks who
    // is calling: the probes sit below that layer and answer as always, touching no cookie.
    let alive = json_request(&app, "GET", "/healthz", Some("not-a-token"), None).await;
    assert_eq!(alive.status, StatusCode::OK, "{}", alive.body);
    let ready = app
        .get("/readyz", Some(&common::cookie_with("not-a-token")))
        .await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert!(ready.set_cookies().is_empty(), "{:?}", ready.set_cookies());
    // The same credentials elsewhere are refused, so the probes' answer is not an accident.
    let tasks = json_request(&app, "GET", "/api/v1/tasks", Some("not-a-token"), None).await;
    assert_eq!(tasks.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn with_the_database_down_readyz_fails_pages_say_so_and_the_process_stays_alive() {
    let app = spawn().await;
    let cookie = app.signed_up("down@example.com").await;
    app.state.db.close().await;

    let ready = json_request(&app, "GET", "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        ready.json()["detail"]
            .as_str()
            .unwrap()
            .contains("not reachable")
    );
    assert_eq!(
        json_request(&app, "GET", "/healthz", None, None)
            .await
            .status,
        StatusCode::OK
    );

    // A person gets an HTML page that says what is going on, not JSON and not a 500.
    let page = app.get("/tasks", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.body.contains("temporarily unavailable"),
        "{}",
        page.body
    );
    assert!(page.headers.contains_key(header::RETRY_AFTER));

    // A script gets JSON that says the same.
    let token = cookie.split_once('=').unwrap().1;
    let api = json_request(&app, "GET", "/api/v1/tasks", Some(token), None).await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE, "{}", api.body);
    assert!(
        api.json()["detail"]
            .as_str()
            .unwrap()
            .contains("temporarily unavailable")
    );
}
