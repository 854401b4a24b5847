//! Abuse and enumeration: login limits that never lock a known device out (OWASP's device
//! cookie; per (account, address), per address and doubling per-account delays for unknown
//! clients, with forwarded headers believed only from trusted proxies), sign-up limits nobody
//! else can trip, the password policy, failures
//! that look and take the same, and the per-account task cap and write limit.

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

/// A login through the API from `ip`, presenting `device` (a device cookie) if given.
async fn login_with_device(
    app: &TestApp,
    ip: &str,
    email: &str,
    password: &str,
    device: Option<&str>,
) -> Reply {
    let mut request = login_request(email, password);
    if let Some(device) = device {
        request
            .headers_mut()
            .insert(header::COOKIE, device.parse().unwrap());
    }
    app.send_from(ip, request).await
}

/// Signs `email` in once from `ip` and returns the device cookie that makes it a known device.
async fn known_device(app: &TestApp, ip: &str, email: &str) -> String {
    let reply = login_from(app, ip, email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
        .device_cookie()
        .expect("a successful login sets the device cookie")
}

/// Moves every login counter's window start `secs` into the past, as if that time had passed.
async fn time_passes(app: &TestApp, secs: i64) {
    common::execute(
        &app.state.db,
        &format!(
            "UPDATE rate_limits SET window_start = window_start - {} WHERE key LIKE 'login:%'",
            secs * 1000
        ),
    )
    .await;
}

#[tokio::test]
async fn strangers_failures_never_lock_out_a_device_that_signed_in_before() {
    let app = spawn_with(&[
        ("LOGIN_FAILURES_PER_ACCOUNT", "3"),
        ("LOGIN_FAILURES_PER_IP", "6"),
    ])
    .await;
    app.register("Owner", "owner@example.com", PASSWORD).await;
    let device = known_device(&app, "198.51.100.9", "owner@example.com").await;
    // Strangers guess from many addresses, and from the owner's own (one NAT).
    for i in 0..12 {
        let ip = if i % 2 == 0 {
            "198.51.100.9".to_owned()
        } else {
            format!("203.0.113.{i}")
        };
        let reply = login_from(&app, &ip, "owner@example.com", "wrong guess").await;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&reply.status),
            "{}",
            reply.body
        );
    }
    // An unknown client now waits, even with the right password...
    let unknown = login_from(&app, "192.0.2.200", "owner@example.com", PASSWORD).await;
    assert_eq!(
        unknown.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        unknown.body
    );
    assert!(retry_after(&unknown) >= 1);
    assert!(
        unknown.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Try again")
    );
    // ...but the owner's device signs in, from its address (over its per-address limit) too.
    for ip in ["198.51.100.9", "192.0.2.201"] {
        let reply = login_with_device(&app, ip, "owner@example.com", PASSWORD, Some(&device)).await;
        assert_eq!(reply.status, StatusCode::OK, "{ip}: {}", reply.body);
    }
    // The browser's login form with that cookie too.
    let form = app
        .call(
            "login",
            &[("email", "owner@example.com"), ("password", PASSWORD)],
            Some(&device),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    // A device cookie of another account, or a forged one, makes no client known.
    app.register("Other", "other@example.com", PASSWORD).await;
    let other_device = known_device(&app, "192.0.2.50", "other@example.com").await;
    let foreign = login_with_device(
        &app,
        "192.0.2.202",
        "owner@example.com",
        PASSWORD,
        Some(&other_device),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::TOO_MANY_REQUESTS);
    let forged = format!("__Host-tasks_device={}", "x".repeat(40));
    let forged = login_with_device(
        &app,
        "192.0.2.203",
        "owner@example.com",
        PASSWORD,
        Some(&forged),
    )
    .await;
    assert_eq!(forged.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_known_device_has_its_own_failure_budget_and_then_counts_as_unknown() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    app.register("Dev", "device@example.com", PASSWORD).await;
    let device = known_device(&app, "198.51.100.20", "device@example.com").await;
    let with_device = |password: &'static str| {
        login_with_device(
            &app,
            "198.51.100.20",
            "device@example.com",
            password,
            Some(&device),
        )
    };
    for _ in 0..3 {
        assert_eq!(with_device("typo").await.status, StatusCode::UNAUTHORIZED);
    }
    // Its own failures did not count against the account: another client is not slowed.
    assert_eq!(
        login_from(&app, "192.0.2.30", "device@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    // Past its budget the device is an unknown client: the per (account, address) limit.
    for _ in 0..3 {
        assert_eq!(with_device("typo").await.status, StatusCode::UNAUTHORIZED);
    }
    let refused = with_device(PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn unknown_clients_wait_twice_as_long_after_each_failure_instead_of_a_lock() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    app.register("Slow", "slow@example.com", PASSWORD).await;
    // Three failures from three addresses: the account's free attempts for unknown clients.
    for i in 1..=3 {
        let reply = login_from(&app, &format!("203.0.113.{i}"), "slow@example.com", "guess").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // The 4th attempt needs 1 s since the window began; pretend 2 s passed, then fail again:
    // the 5th needs 2 s, the 6th 4 s.
    time_passes(&app, 2).await;
    assert_eq!(
        login_from(&app, "203.0.113.4", "slow@example.com", "guess")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&app, "203.0.113.5", "slow@example.com", "guess")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let waiting = login_from(&app, "192.0.2.99", "slow@example.com", PASSWORD).await;
    assert_eq!(
        waiting.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        waiting.body
    );
    let wait = retry_after(&waiting);
    assert!(
        (1..=2).contains(&wait),
        "the 6th attempt waits until 4 s: {wait}"
    );
    // Once the delay has passed the right password works: no hard lock.
    time_passes(&app, 3).await;
    let reply = login_from(&app, "192.0.2.99", "slow@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // The same steps for an email with no account: the same answers (no enumeration).
    for i in 1..=3 {
        login_from(
            &app,
            &format!("203.0.114.{i}"),
            "nobody@example.com",
            "guess",
        )
        .await;
    }
    time_passes(&app, 2).await;
    for i in 4..=5 {
        login_from(
            &app,
            &format!("203.0.114.{i}"),
            "nobody@example.com",
            "guess",
        )
        .await;
    }
    let ghost = login_from(&app, "192.0.2.98", "nobody@example.com", PASSWORD).await;
    assert_eq!(ghost.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_success_clears_the_clients_own_failures() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    app.register("Typo", "typo@example.com", PASSWORD).await;
    let device = known_device(&app, "203.0.113.5", "typo@example.com").await;
    for round in 0..3 {
        for _ in 0..2 {
            login_with_device(
                &app,
                "203.0.113.5",
                "typo@example.com",
                "typo",
                Some(&device),
            )
            .await;
        }
        let ok = login_with_device(
            &app,
            "203.0.113.5",
            "typo@example.com",
            PASSWORD,
            Some(&device),
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK, "round {round}: {}", ok.body);
    }
}

#[tokio::test]
async fn one_address_guessing_many_accounts_waits_but_known_devices_there_do_not() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_IP", "5")]).await;
    app.register("Victim", "victim@example.com", PASSWORD).await;
    let device = known_device(&app, "192.0.2.66", "victim@example.com").await;
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
    // The owner's own browser behind that address signs in, and so does anyone elsewhere.
    let known = login_with_device(
        &app,
        "192.0.2.66",
        "victim@example.com",
        PASSWORD,
        Some(&device),
    )
    .await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.body);
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
async fn registration_is_limited_per_address_and_per_email_from_that_address() {
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

    // Probing one email over and over from one address is limited too.
    let probe = || app.send_from("192.0.2.7", register_request("r0@example.com", PASSWORD));
    assert_eq!(probe().await.status, StatusCode::CONFLICT);
    assert_eq!(probe().await.status, StatusCode::CONFLICT);
    assert_eq!(probe().await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.count_users().await, 3);
}

#[tokio::test]
async fn nobody_elses_attempts_can_block_a_persons_own_sign_up() {
    let app = spawn_with(&[("REGISTRATIONS_PER_ACCOUNT", "2")]).await;
    // Someone makes invalid sign-ups for the address, from several addresses of their own.
    for i in 0..6 {
        let reply = app
            .send_from(
                &format!("203.0.113.{}", i % 2),
                register_request("mine@example.com", "short"),
            )
            .await;
        assert!(
            [
                StatusCode::UNPROCESSABLE_ENTITY,
                StatusCode::TOO_MANY_REQUESTS
            ]
            .contains(&reply.status),
            "{}",
            reply.body
        );
    }
    // The owner, from their own address, signs up.
    let reply = app
        .send_from(
            "198.51.100.77",
            register_request("mine@example.com", PASSWORD),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
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
    // 128 characters are accepted, and every one of them counts. (Not one pattern repeated:
    // the guess estimate refuses those.)
    let long: String = "violet kettle harbour lamp "
        .repeat(5)
        .chars()
        .take(128)
        .collect();
    assert_eq!(long.chars().count(), 128);
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
    let too_long = format!("{long}X");
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

async fn add_task(app: &TestApp, token: &str, title: &str) -> Reply {
    common::json_request(
        app,
        "POST",
        "/api/v1/tasks",
        Some(token),
        Some(json!({ "title": title })),
    )
    .await
}

#[tokio::test]
async fn an_account_at_its_task_cap_gets_a_422_that_says_so_until_it_deletes_one() {
    let app = spawn_with(&[("MAX_TASKS_PER_USER", "3")]).await;
    let token = common::bearer(&app, "full@example.com").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let reply = add_task(&app, &token, &format!("task {i}")).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        ids.push(reply.json()["id"].as_i64().unwrap());
    }
    let refused = add_task(&app, &token, "one too many").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let item = &refused.json()["detail"][0];
    assert_eq!(item["loc"], json!(["body", "title"]));
    assert!(
        item["msg"]
            .as_str()
            .unwrap()
            .contains("3 tasks, the most one account can keep"),
        "{item}"
    );
    // The same message through the page's server function.
    let cookie = app.signed_up("other-door@example.com").await;
    for i in 0..3 {
        let added = app
            .call("tasks/add", &[("title", &format!("t{i}"))], Some(&cookie))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    }
    let refused = app
        .call("tasks/add", &[("title", "t4")], Some(&cookie))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("the most one account can keep"),
        "{}",
        refused.body
    );

    // Someone else is not affected, and a deletion makes room again.
    let stranger = common::bearer(&app, "stranger@example.com").await;
    assert_eq!(
        add_task(&app, &stranger, "mine").await.status,
        StatusCode::CREATED
    );
    let deleted = common::json_request(
        &app,
        "DELETE",
        &format!("/api/v1/tasks/{}", ids[0]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        add_task(&app, &token, "room again").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn concurrent_adds_never_take_an_account_past_its_cap() {
    let app = spawn_with(&[("MAX_TASKS_PER_USER", "5")]).await;
    let token = common::bearer(&app, "racer@example.com").await;
    let replies = futures::future::join_all((0..24).map(|i| {
        let app = &app;
        let token = &token;
        async move { add_task(app, token, &format!("race {i}")).await }
    }))
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        created,
        5,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        replies.iter().all(
            |r| r.status == StatusCode::CREATED || r.status == StatusCode::UNPROCESSABLE_ENTITY
        )
    );
    let stored: i64 = crate::on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(stored, 5);
}

#[tokio::test]
async fn task_changes_past_the_per_minute_limit_get_429_with_retry_after() {
    let app = spawn_with(&[("WRITES_PER_MINUTE", "4")]).await;
    let token = common::bearer(&app, "busy@example.com").await;
    let first = add_task(&app, &token, "one").await;
    let id = first.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/tasks/{id}");
    // Add, rename, tick, add: four changes of every kind...
    for reply in [
        common::json_request(
            &app,
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"title": "renamed"})),
        )
        .await,
        common::json_request(
            &app,
            "PATCH",
            &path,
            Some(&token),
            Some(json!({"done": true})),
        )
        .await,
        add_task(&app, &token, "two").await,
    ] {
        assert!(reply.status.is_success(), "{} {}", reply.status, reply.body);
    }
    // ...then the fifth of any kind is refused, and reads go on.
    for reply in [
        add_task(&app, &token, "three").await,
        common::json_request(&app, "DELETE", &path, Some(&token), None).await,
    ] {
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            reply.body
        );
        let wait: u64 = reply.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
    }
    let listed = common::json_request(&app, "GET", "/api/v1/tasks", Some(&token), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 2);
    // Another account has its own minute, and the page's server functions count the same.
    let other = common::bearer(&app, "calm@example.com").await;
    assert_eq!(
        add_task(&app, &other, "fine").await.status,
        StatusCode::CREATED
    );
    let cookie = app.signed_up("form@example.com").await;
    for i in 0..4 {
        let added = app
            .call("tasks/add", &[("title", &format!("f{i}"))], Some(&cookie))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    }
    let refused = app
        .call("tasks/add", &[("title", "f5")], Some(&cookie))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
}
