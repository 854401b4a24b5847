//! Two replicas of the app on two ports, sharing one PostgreSQL database, behind no sticky
//! load balancer: whatever one replica learns (accounts, sessions, spent refresh tokens,
//! logouts, failed logins) the other knows on its next request.

mod common;

use std::net::SocketAddr;

use common::{
    PASSWORD, TestApp, TestDatabase,
    http::{self, field},
    spawn_in,
};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// A replica serving over real TCP on its own port.
struct Replica {
    base: String,
    _app: TestApp,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(app: TestApp) -> Replica {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service = app
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, service).await.unwrap();
    });
    Replica {
        base,
        _app: app,
        server,
    }
}

/// Two replicas on one fresh PostgreSQL database, or `None` when PostgreSQL tests are skipped.
async fn two_replicas(extra: &[(&str, &str)]) -> Option<(Replica, Replica)> {
    let database = TestDatabase::postgres().await?;
    let second = database.shared();
    let a = spawn_in(tempfile::tempdir().unwrap(), database, extra).await;
    let b = spawn_in(tempfile::tempdir().unwrap(), second, extra).await;
    // The second replica's migrator found everything applied: one schema, two processes' worth
    // of pools.
    Some((serve(a).await, serve(b).await))
}

async fn me(client: &Client, replica: &Replica, access: &str) -> StatusCode {
    client
        .get(format!("{}/api/v1/users/me", replica.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
}

async fn refresh(client: &Client, replica: &Replica, refresh_token: &str) -> (StatusCode, Value) {
    let reply = client
        .post(format!("{}/api/v1/auth/refresh", replica.base))
        .json(&json!({ "refresh_token": refresh_token }))
        .send()
        .await
        .unwrap();
    (reply.status(), reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_tokens_refresh_reuse_and_logout_cross_replicas() {
    let Some((a, b)) = two_replicas(&[]).await else {
        return;
    };
    let client = Client::new();

    // Register through A, log in through B.
    http::register(&client, &a.base, "shared@example.com").await;
    let (status, login) = http::token(&client, &b.base, "shared@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{login}");

    // A token issued by B is accepted by A, and a task written through A is read through B.
    let access = field(&login, "access_token");
    assert_eq!(me(&client, &a, &access).await, StatusCode::OK);
    let created = client
        .post(format!("{}/api/v1/tasks", a.base))
        .bearer_auth(&access)
        .json(&json!({"title": "written on A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let listed = http::all_tasks(&client, &b.base, &access).await;
    assert_eq!(listed[0].1, "written on A");

    // A refresh token rotated on A and replayed on B after the grace window is reuse: B
    // refuses it and the whole session ends on both replicas.
    let first_refresh = field(&login, "refresh_token");
    let (status, rotated) = refresh(&client, &a, &first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_access = field(&rotated, "access_token");
    let new_refresh = field(&rotated, "refresh_token");
    assert_eq!(me(&client, &b, &new_access).await, StatusCode::OK);
    common::after_the_reuse_grace(&b._app.state.db).await;
    let (status, replay) = refresh(&client, &b, &first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{replay}");
    assert_eq!(replay["error"], "invalid_grant");
    for replica in [&a, &b] {
        assert_eq!(
            me(&client, replica, &new_access).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        refresh(&client, &a, &new_refresh).await.0,
        StatusCode::BAD_REQUEST
    );

    // Logout on A is honoured by B on the next request.
    let (_, second) = http::token(&client, &b.base, "shared@example.com", PASSWORD).await;
    let access = field(&second, "access_token");
    assert_eq!(me(&client, &b, &access).await, StatusCode::OK);
    let logout = client
        .post(format!("{}/api/v1/auth/logout", a.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success(), "{}", logout.status());
    assert_eq!(me(&client, &b, &access).await, StatusCode::UNAUTHORIZED);
    let (status, _) = refresh(&client, &b, &field(&second, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_counted_across_replicas() {
    let Some((a, b)) = two_replicas(&[("LOGIN_FAILURES_PER_ACCOUNT", "4")]).await else {
        return;
    };
    let client = Client::new();
    http::register(&client, &b.base, "target@example.com").await;
    // Two wrong guesses on each replica reach the account's limit of four: a load balancer
    // spreading an attacker's guesses does not multiply the allowance.
    for replica in [&a, &b, &a, &b] {
        let (status, _) = http::token(
            &client,
            &replica.base,
            "target@example.com",
            "wrong guess 12345",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for replica in [&a, &b] {
        let (status, body) =
            http::token(&client, &replica.base, "target@example.com", PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_cap_and_the_write_limit_hold_across_replicas() {
    let Some((a, b)) =
        two_replicas(&[("MAX_TASKS_PER_USER", "3"), ("WRITES_PER_MINUTE", "5")]).await
    else {
        return;
    };
    let client = Client::new();
    let access = http::bearer(&client, &a.base, "quota@example.com").await;
    let add = |replica: &Replica, title: &str| {
        client
            .post(format!("{}/api/v1/tasks", replica.base))
            .bearer_auth(&access)
            .json(&json!({ "title": title }))
            .send()
    };
    // Three tasks spread over both replicas fill the cap of three...
    for (replica, title) in [(&a, "one"), (&b, "two"), (&a, "three")] {
        assert_eq!(
            add(replica, title).await.unwrap().status(),
            StatusCode::CREATED
        );
    }
    // ...so the fourth is refused on either; that was the fourth and fifth change this minute...
    for replica in [&b, &a] {
        let reply = add(replica, "four").await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // ...and the sixth is over the shared write limit wherever it lands.
    let reply = add(&b, "six").await.unwrap();
    assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_session_started_on_one_replica_works_on_the_other() {
    let Some((a, b)) = two_replicas(&[]).await else {
        return;
    };
    // No cookie jar sharing tricks: the cookie header a browser would send to the balancer.
    let client = Client::new();
    let cookie = http::browser_sign_up(&client, &a.base, "browser@example.com").await;
    let added = client
        .post(format!("{}/api/tasks/add", b.base))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .form(&[("title", "added on B")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        added.status(),
        StatusCode::OK,
        "{}",
        added.text().await.unwrap()
    );
    let page = client
        .get(format!("{}/tasks", a.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("added on B"));
}
