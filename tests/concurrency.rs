//! Under concurrency nothing is lost, duplicated or refused: the runtime never blocks on argon2,
//! one email yields one account however many sign-ups race, and a thousand simultaneous writes
//! all land under their owners, on SQLite (one writer, never "database is locked") and on
//! PostgreSQL (`TEST_DATABASE=postgres`).

mod common;

use std::{collections::BTreeSet, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{COOKIE_NAME, PASSWORD, bearer, spawn};
use futures::future::join_all;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Sends `request` through a clone of `router` on its own tokio task, so requests really run
/// in parallel on the runtime's workers.
fn send_on_task(
    router: &Router,
    request: Request<Body>,
) -> tokio::task::JoinHandle<(StatusCode, String)> {
    let router = router.clone();
    tokio::spawn(async move {
        let response = router.oneshot(request).await.expect("infallible router");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}

fn json_post(path: &str, token: Option<&str>, body: Value) -> Request<Body> {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_registrations_of_one_email_create_exactly_one_account() {
    let app = spawn().await;
    let attempts = (0..50).map(|i| {
        send_on_task(
            &app.router,
            json_post(
                "/api/v1/auth/register",
                None,
                json!({"email": "race@example.com", "name": format!("Racer {i}"), "password": PASSWORD}),
            ),
        )
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let taken = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    assert_eq!(created, 1, "{results:?}");
    assert_eq!(
        taken, 49,
        "every other attempt is told the email is taken: {results:?}"
    );
    assert_eq!(app.count_users().await, 1);
    // The one account works.
    assert_eq!(
        common::api_token(&app, "race@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_task_creations_by_twenty_users_all_land_under_their_owners() {
    const USERS: usize = 20;
    const PER_USER: usize = 50;
    let app = spawn().await;
    let mut tokens = Vec::new();
    for u in 0..USERS {
        tokens.push(bearer(&app, &format!("writer{u}@example.com")).await);
    }
    // All 1,000 requests are in flight at once, interleaving the users.
    let creations: Vec<_> = (0..PER_USER)
        .flat_map(|t| (0..USERS).map(move |u| (u, t)))
        .map(|(u, t)| {
            send_on_task(
                &app.router,
                json_post(
                    "/api/v1/tasks",
                    Some(&tokens[u]),
                    json!({ "title": format!("user {u} task {t}") }),
                ),
            )
        })
        .collect();
    assert_eq!(creations.len(), USERS * PER_USER);
    for (status, body) in join_all(creations)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
    {
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(!body.contains("locked"), "{body}");
    }

    let total: i64 = crate::on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(total, 1000);
    for (u, token) in tokens.iter().enumerate() {
        let mut titles = BTreeSet::new();
        let mut next = Some("/api/v1/tasks?limit=200".to_owned());
        while let Some(path) = next {
            let reply = common::json_request(&app, "GET", &path, Some(token), None).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            let body = reply.json();
            for item in body["items"].as_array().unwrap() {
                titles.insert(item["title"].as_str().unwrap().to_owned());
            }
            next = body["next"].as_str().map(str::to_owned);
        }
        let expected: BTreeSet<String> = (0..PER_USER)
            .map(|t| format!("user {u} task {t}"))
            .collect();
        assert_eq!(titles, expected, "user {u} sees exactly their own 50 tasks");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_logins_and_task_lists_all_complete() {
    let app = spawn().await;
    let cookie = app.signed_up("burst@example.com").await;
    app.add_task(&cookie, "still here").await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    // The timeout only stops a deadlocked test from hanging CI; it is not a performance bound.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let requests = (0..64).map(|i| {
        let client = client.clone();
        let cookie = cookie.clone();
        async move {
            let request = if i % 2 == 0 {
                client
                    .post(format!("http://{addr}/api/login"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(
                        serde_urlencoded::to_string([
                            ("email", "burst@example.com"),
                            ("password", PASSWORD),
                        ])
                        .unwrap(),
                    )
            } else {
                client
                    .post(format!("http://{addr}/api/tasks/list"))
                    .header("cookie", cookie)
            };
            let response = request.send().await.expect("request completes");
            let status = response.status();
            let set_cookie = response
                .headers()
                .get_all("set-cookie")
                .iter()
                .any(|v| v.to_str().unwrap().starts_with(COOKIE_NAME));
            let body = response.text().await.unwrap();
            (i, status, set_cookie, body)
        }
    });
    let results = join_all(requests).await;
    for (i, status, set_cookie, body) in results {
        assert_eq!(status, 200, "request {i}: {body}");
        if i % 2 == 0 {
            assert!(set_cookie, "login {i} set no cookie");
        } else {
            assert!(body.contains("still here"), "list {i}: {body}");
        }
    }
    server.abort();
}

/// A page renders while other routers are being built on other threads. Building a Leptos
/// router generates its route list, and while that runs Leptos holds back every resource in the
/// process (its `SuppressResourceLoad` flag is global): a page that waits for a resource (every
/// page here renders in `SsrMode::Async`) used to wait forever if it started then. The app now
/// generates its route list once per process. Tests build a router each, side by side, so
/// before the fix about one run of the test suite in five hung.
#[tokio::test]
async fn pages_render_while_other_routers_are_built() {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    };
    let app = spawn().await;
    let stop = Arc::new(AtomicBool::new(false));
    let builders: Vec<_> = (0..2)
        .map(|_| {
            let state = app.state.clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    drop(tasks::server::app(state.clone()));
                }
            })
        })
        .collect();
    for n in 0..300 {
        let page = tokio::time::timeout(Duration::from_secs(10), app.get("/login", None))
            .await
            .unwrap_or_else(|_| panic!("GET /login number {n} was still rendering after 10 s"));
        assert_eq!(page.status, StatusCode::OK);
    }
    stop.store(true, Ordering::Relaxed);
    for builder in builders {
        builder.join().expect("a router builder thread panicked");
    }
}
