//! The runtime never blocks: a burst of argon2 logins mixed with task listings, over real TCP,
//! all complete. (The FastAPI app this replaces stops answering at 16 concurrent requests.)

mod common;

use std::time::Duration;

use common::{COOKIE_NAME, PASSWORD, spawn};
use futures::future::join_all;

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
