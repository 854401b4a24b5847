//! Prometheus metrics: `GET /metrics` behind `METRICS_TOKEN` on the main port or open on
//! `METRICS_ADDR`, never served by default; every scrape is read with a Prometheus text-format
//! parser. Each test app has its own recorder, so the counts are exactly the test's own.

mod common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{
    Engine, PASSWORD, Reply, ServerProcess, TestApp, TestDatabase, bearer, json_request, spawn_with,
};
use openmetrics_parser::{
    MetricsExposition, PrometheusType, PrometheusValue, prometheus::parse_prometheus,
};
use tower::ServiceExt;

const TOKEN: &str = "metrics-test-token-5f0c2a9e8d7b6c4a3f1e0d9c8b7a6f5e";

/// A scrape, parsed.
struct Scrape(MetricsExposition<PrometheusType, PrometheusValue>);

impl Scrape {
    fn parse(text: &str) -> Self {
        Self(
            parse_prometheus(text)
                .unwrap_or_else(|e| panic!("not Prometheus text format ({e:?}):\n{text}")),
        )
    }

    /// The samples of family `name` whose labels include all of `labels`.
    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&PrometheusValue> {
        let Some(family) = self.0.families.get(name) else {
            return Vec::new();
        };
        family
            .iter_samples()
            .filter(|sample| {
                let set = sample.get_labelset().expect("labels bound to the family");
                labels
                    .iter()
                    .all(|(k, v)| set.get_label_value(k) == Some(*v))
            })
            .map(|sample| &sample.value)
            .collect()
    }

    /// The value of the one counter or gauge sample of `name` with `labels`, if there is one.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let samples = self.samples(name, labels);
        assert!(samples.len() <= 1, "{name} {labels:?}: {samples:?}");
        samples.first().map(|value| match value {
            PrometheusValue::Counter(c) => c.value.as_f64(),
            PrometheusValue::Gauge(n) => n.as_f64(),
            other => panic!("{name} is not a counter or gauge: {other:?}"),
        })
    }

    /// The observations counted by the one histogram sample of `name` with `labels`.
    fn histogram_count(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let samples = self.samples(name, labels);
        assert!(samples.len() <= 1, "{name} {labels:?}: {samples:?}");
        samples.first().map(|value| match value {
            PrometheusValue::Histogram(h) => h.count.expect("a _count line"),
            other => panic!("{name} is not a histogram: {other:?}"),
        })
    }

    /// Every value `label` takes in family `name`.
    fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        self.0.families.get(name).map_or_else(Vec::new, |family| {
            family
                .iter_samples()
                .filter_map(|s| {
                    s.get_labelset()
                        .ok()?
                        .get_label_value(label)
                        .map(str::to_owned)
                })
                .collect()
        })
    }
}

fn metrics_request(authorization: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/metrics");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    request.body(Body::empty()).unwrap()
}

/// Scrapes the app's main port with the right token and parses the answer.
async fn scrape(app: &TestApp) -> Scrape {
    let reply = app
        .send(metrics_request(Some(&format!("Bearer {TOKEN}"))))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        reply.headers
    );
    Scrape::parse(&reply.body)
}

async fn with_token() -> TestApp {
    spawn_with(&[("METRICS_TOKEN", TOKEN)]).await
}

fn assert_refused(reply: &Reply, challenge: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.headers[header::WWW_AUTHENTICATE], challenge);
    assert!(
        reply.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Authorization: Bearer")),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("tasks_"), "{}", reply.body);
}

#[tokio::test]
async fn without_a_token_the_main_port_has_no_metrics_path() {
    for extra in [&[][..], &[("METRICS_ADDR", "127.0.0.1:9100")][..]] {
        let app = spawn_with(extra).await;
        let unknown = app.send(metrics_request(None)).await;
        let reference = app
            .send(Request::get("/no-such-path").body(Body::empty()).unwrap())
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{extra:?}");
        assert_eq!(reference.status, StatusCode::NOT_FOUND);
        assert_eq!(
            unknown.headers.get(header::CONTENT_TYPE),
            reference.headers.get(header::CONTENT_TYPE),
            "{extra:?}"
        );
        assert!(!unknown.body.contains("tasks_http"), "{extra:?}");
        // Even with a token that would be right elsewhere.
        let guessed = app
            .send(metrics_request(Some(&format!("Bearer {TOKEN}"))))
            .await;
        assert_eq!(guessed.status, StatusCode::NOT_FOUND, "{extra:?}");
        assert!(!guessed.body.contains("tasks_http"), "{extra:?}");
    }
}

#[tokio::test]
async fn the_main_port_serves_metrics_only_to_the_right_bearer_token() {
    let app = with_token().await;
    assert_refused(
        &app.send(metrics_request(None)).await,
        r#"Bearer realm="metrics""#,
    );
    for wrong in [
        format!("Bearer {TOKEN}x"),
        format!("Bearer {}", &TOKEN[1..]),
        "Bearer ".to_owned(),
        format!("Basic {TOKEN}"),
        TOKEN.to_owned(),
    ] {
        assert_refused(
            &app.send(metrics_request(Some(&wrong))).await,
            r#"Bearer realm="metrics", error="invalid_token""#,
        );
    }
    let scrape = scrape(&app).await;
    // The refusals were requests like any other.
    assert_eq!(
        scrape.value(
            "tasks_http_requests_total",
            &[("route", "/metrics"), ("method", "GET"), ("status", "401")]
        ),
        Some(6.0)
    );
}

#[tokio::test]
async fn a_scrape_skips_the_session_layer_and_sets_no_cookie() {
    let app = with_token().await;
    // A dead auth cookie would be cleared (Set-Cookie) by the request context layer.
    let request = Request::get("/metrics")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(
            header::COOKIE,
            format!("{}=not-a-token", common::COOKIE_NAME),
        )
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.set_cookies().is_empty(), "{:?}", reply.set_cookies());
}

#[tokio::test]
async fn requests_are_counted_under_their_route_template_and_status() {
    let app = with_token().await;
    let token = bearer(&app, "routes@example.com").await;
    for id in ["424242", "434343"] {
        let reply = json_request(
            &app,
            "GET",
            &format!("/api/v1/tasks/{id}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
    let created = json_request(
        &app,
        "POST",
        "/api/v1/tasks",
        Some(&token),
        Some(serde_json::json!({"title": "counted"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.json()["id"].as_i64().unwrap();
    let fetched = json_request(
        &app,
        "GET",
        &format!("/api/v1/tasks/{id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(fetched.status, StatusCode::OK);
    for path in ["/wp-login.php", "/.env", "/no/such/page/31337"] {
        assert_eq!(app.get(path, None).await.status, StatusCode::NOT_FOUND);
    }
    let pkg = app.dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("tasks.css"), "body {}").unwrap();
    assert_eq!(app.get("/pkg/tasks.css", None).await.status, StatusCode::OK);
    assert_eq!(
        app.get("/pkg/missing-1.js", None).await.status,
        StatusCode::NOT_FOUND
    );
    let page = app.get("/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    // A method nobody defined is one label, not one per name.
    let odd = Request::builder()
        .method("X-PROBE-123")
        .uri("/healthz")
        .body(Body::empty())
        .unwrap();
    app.send(odd).await;

    let scrape = scrape(&app).await;
    let requests = |route, method, status| {
        scrape.value(
            "tasks_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(requests("/api/v1/tasks/{id}", "GET", "404"), Some(2.0));
    assert_eq!(requests("/api/v1/tasks/{id}", "GET", "200"), Some(1.0));
    assert_eq!(requests("/api/v1/tasks", "POST", "201"), Some(1.0));
    assert_eq!(requests("/api/v1/auth/register", "POST", "201"), Some(1.0));
    assert_eq!(requests("/api/v1/auth/token", "POST", "200"), Some(1.0));
    assert_eq!(requests("/login", "GET", "200"), Some(1.0));
    assert_eq!(requests("unmatched", "GET", "404"), Some(3.0));
    assert_eq!(requests("/pkg/{*path}", "GET", "200"), Some(1.0));
    assert_eq!(requests("/pkg/{*path}", "GET", "404"), Some(1.0));
    assert!(requests("/healthz", "other", "405").is_some());
    let routes = scrape.label_values("tasks_http_requests_total", "route");
    for raw in [
        "424242",
        "wp-login",
        ".env",
        "31337",
        "tasks.css",
        "missing-1",
    ] {
        assert!(
            routes.iter().all(|r| !r.contains(raw)),
            "a raw path became a label: {routes:?}"
        );
    }
    let methods = scrape.label_values("tasks_http_requests_total", "method");
    assert!(!methods.iter().any(|m| m.contains("PROBE")), "{methods:?}");

    // Latency: one histogram per route template and method, counting every request.
    assert_eq!(
        scrape.histogram_count(
            "tasks_http_request_duration_seconds",
            &[("route", "/api/v1/tasks/{id}"), ("method", "GET")]
        ),
        Some(3)
    );
}

#[tokio::test]
async fn logins_are_counted_by_outcome() {
    let app = with_token().await;
    assert_eq!(
        app.register("Ada", "ada@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    let wrong = app
        .login("ada@example.com", "not the password at all")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    // The API's token endpoint goes through the same count.
    assert_eq!(
        common::api_token(&app, "ada@example.com", PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    common::execute(&app.state.db, "UPDATE users SET disabled = TRUE").await;
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        StatusCode::FORBIDDEN
    );

    let scrape = scrape(&app).await;
    let logins = |outcome| scrape.value("tasks_logins_total", &[("outcome", outcome)]);
    assert_eq!(logins("success"), Some(2.0));
    assert_eq!(logins("invalid_credentials"), Some(2.0));
    assert_eq!(logins("disabled"), Some(1.0));
    assert_eq!(logins("rate_limited"), None);
}

#[tokio::test]
async fn rate_limit_refusals_are_counted_by_kind() {
    let app = spawn_with(&[
        ("METRICS_TOKEN", TOKEN),
        ("LOGIN_FAILURES_PER_ACCOUNT", "2"),
        ("WRITES_PER_MINUTE", "1"),
        ("REGISTRATIONS_PER_ACCOUNT", "1"),
    ])
    .await;
    let cookie = app.signed_up("limited@example.com").await;
    for _ in 0..2 {
        let reply = app
            .login("limited@example.com", "wrong password, twice")
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let refused = app.login("limited@example.com", PASSWORD).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(app.add_task(&cookie, "one").await.status, StatusCode::OK);
    let refused = app.add_task(&cookie, "two").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    let again = app.register("Again", "limited@example.com", PASSWORD).await;
    assert_eq!(
        again.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        again.body
    );

    let scrape = scrape(&app).await;
    let refusals = |kind| scrape.value("tasks_rate_limit_refusals_total", &[("kind", kind)]);
    assert_eq!(refusals("login"), Some(1.0));
    assert_eq!(refusals("task_write"), Some(1.0));
    assert_eq!(refusals("registration"), Some(1.0));
    assert_eq!(
        scrape.value("tasks_logins_total", &[("outcome", "rate_limited")]),
        Some(1.0)
    );
    assert_eq!(
        scrape.value(
            "tasks_http_requests_total",
            &[
                ("route", "/api/tasks/add"),
                ("method", "POST"),
                ("status", "429")
            ]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn pools_sessions_and_the_hash_queue_are_read_at_scrape_time() {
    let app = with_token().await;
    let scrape_before = scrape(&app).await;
    assert_eq!(scrape_before.value("tasks_sessions_active", &[]), Some(0.0));

    let first = app.signed_up("one@example.com").await;
    app.signed_up("two@example.com").await;
    let scrape_after = scrape(&app).await;
    assert_eq!(scrape_after.value("tasks_sessions_active", &[]), Some(2.0));

    // Signing out ends one.
    let out = app.call("logout", &[], Some(&first)).await;
    assert!(
        out.status.is_success() || out.status.is_redirection(),
        "{}",
        out.body
    );
    let scrape = scrape(&app).await;
    assert_eq!(scrape.value("tasks_sessions_active", &[]), Some(1.0));

    assert_eq!(
        scrape.value("tasks_password_hash_queue_depth", &[]),
        Some(0.0)
    );
    // The start-up self-test's hash and the two sign-ups' hashes each waited in the queue.
    let waited = scrape
        .histogram_count("tasks_password_hash_queue_wait_seconds", &[])
        .expect("the hash queue wait histogram");
    assert!(waited >= 3, "{waited}");

    let pools: &[&str] = match Engine::from_env() {
        Engine::Sqlite => &["sqlite_reader", "sqlite_writer"],
        Engine::Postgres => &["postgres"],
    };
    let mut seen = scrape.label_values("tasks_db_pool_connections", "pool");
    seen.sort();
    seen.dedup();
    assert_eq!(seen, pools, "pools");
    for pool in pools {
        let in_use = scrape
            .value(
                "tasks_db_pool_connections",
                &[("pool", pool), ("state", "in_use")],
            )
            .expect("in use");
        let idle = scrape
            .value(
                "tasks_db_pool_connections",
                &[("pool", pool), ("state", "idle")],
            )
            .expect("idle");
        let max = scrape
            .value("tasks_db_pool_max_connections", &[("pool", pool)])
            .expect("max");
        assert!(in_use >= 0.0 && idle >= 0.0, "{pool}: {in_use} {idle}");
        assert!(in_use + idle <= max, "{pool}: {in_use} + {idle} > {max}");
        // A connection just released may still be on its way back (sqlx returns it from a
        // task of its own): it counts as in use until then, but the pool holds it either way.
        assert!(
            in_use + idle >= 1.0,
            "{pool}: the app keeps its connections open ({in_use} + {idle})"
        );
    }
    let expected_max = match Engine::from_env() {
        Engine::Sqlite => [("sqlite_reader", 10.0), ("sqlite_writer", 1.0)].as_slice(),
        Engine::Postgres => [("postgres", 10.0)].as_slice(),
    };
    for (pool, max) in expected_max {
        assert_eq!(
            scrape.value("tasks_db_pool_max_connections", &[("pool", pool)]),
            Some(*max)
        );
    }
    // Every family says what it is.
    for name in [
        "tasks_http_requests_total",
        "tasks_sessions_active",
        "tasks_db_pool_connections",
        "tasks_password_hash_queue_wait_seconds",
    ] {
        assert!(
            scrape
                .0
                .families
                .get(name)
                .is_some_and(|f| !f.help.is_empty()),
            "{name} has no HELP"
        );
    }
}

#[tokio::test]
async fn the_metrics_listener_router_serves_metrics_and_nothing_else_without_a_token() {
    let app = spawn_with(&[("METRICS_ADDR", "127.0.0.1:9100")]).await;
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    let listener = tasks::server::metrics::listener_router(app.state.clone());
    let send = |path: &str| {
        listener
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
    };
    let response = send("/metrics").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let scrape = Scrape::parse(std::str::from_utf8(&body).unwrap());
    assert_eq!(
        scrape.value(
            "tasks_http_requests_total",
            &[("route", "/healthz"), ("method", "GET"), ("status", "200")]
        ),
        Some(1.0)
    );
    for path in ["/healthz", "/", "/api/v1/tasks", "/metrics/extra"] {
        assert_eq!(
            send(path).await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_server_binary_serves_metrics_on_metrics_addr_and_never_logs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = TestDatabase::new(Engine::from_env(), dir.path()).await else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let mut server = ServerProcess::start(
        dir.path(),
        &database.url,
        &[
            ("METRICS_ADDR", metrics_addr.as_str()),
            ("METRICS_TOKEN", TOKEN),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let get = |url: String, token: Option<&str>| {
        let mut request = client.get(url).timeout(Duration::from_secs(10));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    // The metrics listener: no token needed, and only /metrics.
    let open = get(format!("http://{metrics_addr}/metrics"), None)
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let scrape = Scrape::parse(&open.text().await.unwrap());
    assert!(
        scrape
            .value(
                "tasks_http_requests_total",
                &[("route", "/healthz"), ("method", "GET"), ("status", "200")]
            )
            .is_some_and(|n| n >= 1.0),
        "the start-up probe's /healthz is counted"
    );
    let other = get(format!("http://{metrics_addr}/healthz"), None)
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // The main port: the token.
    let main = format!("{}/metrics", server.base);
    assert_eq!(get(main.clone(), None).await.unwrap().status(), 401);
    assert_eq!(
        get(main.clone(), Some("wrong")).await.unwrap().status(),
        401
    );
    assert_eq!(get(main, Some(TOKEN)).await.unwrap().status(), 200);

    let status = server.terminate_and_wait(Duration::from_secs(30));
    assert!(status.success(), "{status:?}\n{}", server.log());
    let log = server.log();
    assert!(log.contains("metrics on http://"), "{log}");
    assert!(!log.contains(TOKEN), "the log holds METRICS_TOKEN:\n{log}");
    drop(database);
}
