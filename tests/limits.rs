//! Abuse and enumeration: login and registration rate limits (per account and per client IP,
//! with forwarded headers believed only from trusted proxies), the password policy, and
//! failures that look and take the same.

mod common;

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{PASSWORD, Reply, TestApp, spawn, spawn_with, token_request};
use serde_json::json;

fn login_request(email: &str, password: &str) -> Request<Body> {
    token_request(&[("username", email), ("password", password)])
}

fn register_request(email: &str, password: &str) -> Request<Body> {
    Request::post("/api/v1/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"email": email, "name": "Limit", "password": password}).to_string(),
        ))
        .unwrap()
}

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> Reply {
    app.send_from(ip, login_request(email, password)).await
}

fn retry_after(reply: &Reply) -> u64 {
    reply
        .headers
        .get(header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn an_account_is_locked_after_repeated_failures_even_for_the_right_password() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    app.register("Lock", "lock@example.com", PASSWORD).await;
    for _ in 0..3 {
        let reply = login_from(&app, "203.0.113.1", "lock@example.com", "wrong guess").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // From another address, with the right password, and in another letter case: still locked.
    let locked = login_from(&app, "203.0.113.2", " LOCK@example.com", PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    let wait = retry_after(&locked);
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    assert!(
        locked.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Try again")
    );
    // The browser's login form gets the same answer.
    let form = app.login("lock@example.com", PASSWORD).await;
    assert_eq!(form.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(form.error_kind(), "rate_limited");
    assert!(form.headers.contains_key(header::RETRY_AFTER));
    // Other accounts are unaffected.
    app.register("Free", "free@example.com", PASSWORD).await;
    assert_eq!(
        login_from(&app, "203.0.113.1", "free@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_success_before_the_limit_clears_the_account_failures() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    app.register("Typo", "typo@example.com", PASSWORD).await;
    for round in 0..3 {
        for _ in 0..2 {
            login_from(&app, "203.0.113.5", "typo@example.com", "typo").await;
        }
        let ok = login_from(&app, "203.0.113.5", "typo@example.com", PASSWORD).await;
        assert_eq!(ok.status, StatusCode::OK, "round {round}: {}", ok.body);
    }
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_locked_out_but_others_are_not() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_IP", "5")]).await;
    app.register("Victim", "victim@example.com", PASSWORD).await;
    for i in 0..5 {
        let reply = login_from(&app, "192.0.2.66", &format!("u{i}@example.com"), "guess").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = login_from(&app, "192.0.2.66", "victim@example.com", PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    // A client cannot pick a fresh bucket by claiming another address.
    let mut spoofed = login_request("victim@example.com", PASSWORD);
    spoofed
        .headers_mut()
        .insert("x-forwarded-for", "10.9.8.7".parse().unwrap());
    assert_eq!(
        app.send_from("192.0.2.66", spoofed).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The real owner, elsewhere, signs in.
    assert_eq!(
        login_from(&app, "192.0.2.10", "victim@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_address_is_limited() {
    let app = spawn_with(&[
        ("LOGIN_FAILURES_PER_IP", "3"),
        ("TRUSTED_PROXIES", "10.0.0.0/8"),
    ])
    .await;
    app.register("Proxy", "proxied@example.com", PASSWORD).await;
    let via_proxy = |client: &str, password: &str| {
        let mut request = login_request("proxied@example.com", password);
        request
            .headers_mut()
            .insert("x-forwarded-for", client.parse().unwrap());
        request
    };
    for _ in 0..3 {
        app.send_from("10.0.0.2", via_proxy("198.51.100.1", "nope"))
            .await;
    }
    assert_eq!(
        app.send_from("10.0.0.2", via_proxy("198.51.100.1", "nope"))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not punished for it.
    assert_eq!(
        app.send_from("10.0.0.2", via_proxy("198.51.100.2", PASSWORD))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn registration_is_limited_per_address_and_per_email() {
    let app = spawn_with(&[
        ("REGISTRATIONS_PER_IP", "3"),
        ("REGISTRATIONS_PER_ACCOUNT", "2"),
    ])
    .await;
    for i in 0..3 {
        let reply = app
            .send_from(
                "192.0.2.1",
                register_request(&format!("r{i}@example.com"), PASSWORD),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
    let fourth = app
        .send_from("192.0.2.1", register_request("r4@example.com", PASSWORD))
        .await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&fourth) >= 1);

    // Probing one email from many addresses is limited too.
    let probe = |ip: &'static str| app.send_from(ip, register_request("r0@example.com", PASSWORD));
    assert_eq!(probe("192.0.2.7").await.status, StatusCode::CONFLICT);
    assert_eq!(
        probe("192.0.2.8").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(app.count_users().await, 3);
}

#[tokio::test]
async fn common_passwords_and_the_email_name_are_refused_with_a_reason() {
    let app = spawn().await;
    for (email, password, expected) in [
        ("p1@example.com", "password123", "commonly used"),
        ("p2@example.com", "Qwertyuiop", "commonly used"),
        ("margaret.h@example.com", "margaret.h-2026!", "email"),
        ("p4@example.com", "short", "at least 8"),
    ] {
        let reply = app.send(register_request(email, password)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        let detail = &reply.json()["detail"][0];
        assert_eq!(detail["loc"], json!(["body", "password"]));
        assert!(
            detail["msg"].as_str().unwrap().contains(expected),
            "{password}: {detail}"
        );
    }
    // The browser form says the same, next to the password field.
    let form = app.register("Common", "p5@example.com", "iloveyou").await;
    assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(form.body.contains("commonly used"), "{}", form.body);
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn passwords_are_compared_after_nfkc_normalization_and_never_truncated() {
    let app = spawn().await;
    // Composed "é" at sign-up, decomposed "e" + U+0301 at login: the same password.
    let composed = "caf\u{e9} au lait tous les jours";
    let decomposed = "cafe\u{301} au lait tous les jours";
    assert_eq!(
        app.send(register_request("nfkc@example.com", composed))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.send(login_request("nfkc@example.com", decomposed))
            .await
            .status,
        StatusCode::OK
    );
    // 128 characters are accepted, and every one of them counts.
    let long = "abcdefgh".repeat(16);
    assert_eq!(
        app.send(register_request("long@example.com", &long))
            .await
            .status,
        StatusCode::CREATED
    );
    let mut changed_last = long.clone();
    changed_last.pop();
    changed_last.push('X');
    assert_eq!(
        app.send(login_request("long@example.com", &changed_last))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let too_long = "abcdefgh".repeat(17);
    let reply = app
        .send(register_request("toolong@example.com", &too_long))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("at most 128"));
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_and_take_the_same() {
    // Far from the lockout, which answers both alike with an instant 429.
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "1000")]).await;
    app.register("Timing", "timing@example.com", PASSWORD).await;
    let unknown = app
        .send(login_request("nobody@example.com", "some password"))
        .await;
    let wrong = app
        .send(login_request("timing@example.com", "some password"))
        .await;
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.body, wrong.body);
    assert_eq!(
        unknown.headers.get(header::WWW_AUTHENTICATE),
        wrong.headers.get(header::WWW_AUTHENTICATE)
    );

    // Interleaved, so machine noise hits both alike; the median ignores outliers.
    let mut unknown_times = Vec::new();
    let mut wrong_times = Vec::new();
    for i in 0..15 {
        let start = Instant::now();
        let a = app
            .send(login_request(
                &format!("nobody{i}@example.com"),
                "some password",
            ))
            .await;
        unknown_times.push(start.elapsed());
        let start = Instant::now();
        let b = app
            .send(login_request("timing@example.com", "some password"))
            .await;
        wrong_times.push(start.elapsed());
        assert_eq!(
            (a.status, b.status),
            (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
        );
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (u, w) = (median(unknown_times), median(wrong_times));
    let difference = u.abs_diff(w);
    assert!(
        difference < Duration::from_millis(25),
        "unknown email {u:?} vs wrong password {w:?}: an attacker could tell them apart"
    );
}
