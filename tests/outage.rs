//! The database goes away while the server runs: requests get 503 with a clear message (JSON for
//! scripts, a page for people), `/readyz` fails while `/healthz` does not, the process stays up,
//! and it serves again by itself once the database is back.
//!
//! This stops and starts the machine's PostgreSQL cluster, so it cannot share the server with
//! other tests: it is `#[ignore]`d in a plain `cargo test`, and `.ci/test` runs it on its own
//! after everything else (`cargo test --test outage -- --ignored`). An embedded SQLite database
//! cannot go down apart from the process; tests/health.rs covers the 503 path with a closed pool.

mod common;

use std::{process::Command, time::Duration};

use common::{PASSWORD, ServerProcess, TestDatabase, http};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

fn cluster(action: &str) {
    let status = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main {action} -m fast"
        ))
        .status()
        .expect("run pg_ctlcluster");
    assert!(status.success(), "pg_ctlcluster {action} failed");
}

/// Stops PostgreSQL now and starts it again when dropped, even if the test fails half-way.
struct Outage {
    over: bool,
}

impl Outage {
    fn begin() -> Self {
        cluster("stop");
        Self { over: false }
    }

    fn end(&mut self) {
        if !self.over {
            cluster("start");
            self.over = true;
        }
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        self.end();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "stops the machine's PostgreSQL; .ci/test runs it alone"]
async fn postgres_stopped_mid_run_gives_503_then_recovers_by_itself() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server =
        ServerProcess::start(dir.path(), &database.url, &[("DB_ACQUIRE_TIMEOUT", "1s")]).await;
    let client = Client::new();
    let base = server.base.clone();

    // A person signed in through the web form and a script with a token, both working.
    let cookie = http::browser_sign_up(&client, &base, "outage@example.com").await;
    let (_, token) = http::token(&client, &base, "outage@example.com", PASSWORD).await;
    let token = http::field(&token, "access_token");
    let create = |title: &'static str| {
        client
            .post(format!("{base}/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({ "title": title }))
            .send()
    };
    assert_eq!(
        create("before").await.unwrap().status(),
        StatusCode::CREATED
    );

    let mut outage = Outage::begin();

    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "the process itself is alive"
    );
    let listed = client
        .get(format!("{base}/api/v1/tasks"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(listed.headers().contains_key(header::RETRY_AFTER));
    let body: Value = listed.json().await.unwrap();
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    let write = create("during").await.unwrap();
    assert_eq!(write.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = client
        .get(format!("{base}/tasks"))
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.to_lowercase().contains("try again"), "{html}");
    assert!(
        server.is_running(),
        "the server exited when the database went away"
    );

    outage.end();

    // No restart, no operator: the pool reconnects and everything works again.
    server
        .wait_until("/readyz", 200, Duration::from_secs(60))
        .await;
    assert_eq!(create("after").await.unwrap().status(), StatusCode::CREATED);
    let titles: Vec<String> = http::all_tasks(&client, &base, &token)
        .await
        .into_iter()
        .map(|(_, title)| title)
        .collect();
    assert_eq!(titles, ["after", "before"]);
    let page = client
        .get(format!("{base}/tasks"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(server.is_running());
}
