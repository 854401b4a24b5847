//! Shared helpers: a real router on a fresh database per test (SQLite, or PostgreSQL with
//! `TEST_DATABASE=postgres`), and request shortcuts that speak to the server functions the way
//! the browser's wasm client does.

#![allow(dead_code)]

mod database;
pub mod http;
mod server;
pub mod smtp;
#[allow(unused_imports)]
pub use database::{Engine, TestDatabase, postgres_admin_url, postgres_available};
#[allow(unused_imports)]
pub use server::ServerProcess;

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use serde_json::{Value, json};
use tasks::server::{AppState, config::Config, db};
use tempfile::TempDir;
use tower::ServiceExt;

/// Runs `$body` with `$conn` bound to the app's writer pool, on whichever engine the test app
/// uses: how tests seed, inspect and break the database directly (the app's own engine macros
/// are private to it).
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            tasks::server::db::Db::Sqlite { writer: $conn, .. } => $body,
            tasks::server::db::Db::Postgres($conn) => $body,
        }
    };
}

/// Runs one statement that returns no rows on the app's database; returns the rows changed.
pub async fn execute(db: &db::Db, sql: &str) -> u64 {
    on_db!(db, |c| sqlx::query(sql)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Moves every spent refresh token's `used_at` one minute into the past, as if the reuse grace
/// window (`REFRESH_REUSE_GRACE`, 30 s by default) had gone by: a replay after this is theft.
pub async fn after_the_reuse_grace(db: &db::Db) {
    execute(
        db,
        "UPDATE refresh_tokens SET used_at = used_at - 60000 WHERE used_at IS NOT NULL",
    )
    .await;
}

pub const SECRET: &str = "integration-test-secret-0123456789abcdef0123456789";
/// `TOTP_ENCRYPTION_KEY` of every test server (production requires one).
pub const TOTP_KEY: &str = "integration-test-totp-key-9876543210fedcba98765432";
pub const PASSWORD: &str = "correct horse battery staple";
pub const COOKIE_NAME: &str = "__Host-tasks_session";
pub const REFRESH_COOKIE_NAME: &str = "__Host-tasks_refresh";

/// A router over its own database (deleted on drop) and a temporary folder.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub dir: TempDir,
    /// Declared last so it is dropped after the pools that use it.
    pub database: TestDatabase,
}

/// What came back from one request.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// `name=value` of the session cookie this reply sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie_pair(COOKIE_NAME)
    }

    /// `name=value` of the one-time cookie that carries a plain form post's error back to its
    /// page (`server::form_posts`), if this reply sets one.
    pub fn form_error_cookie(&self) -> Option<String> {
        self.cookie_pair("__Host-tasks_form_error")
    }

    /// `name=value` of the device cookie this reply sets (a successful sign-in), if any.
    pub fn device_cookie(&self) -> Option<String> {
        self.cookie_pair("__Host-tasks_device")
    }

    /// `name=value` of the refresh cookie this reply sets, if any.
    pub fn refresh_cookie(&self) -> Option<String> {
        self.cookie_pair(REFRESH_COOKIE_NAME)
    }

    /// Both auth cookies as one `Cookie` header value.
    pub fn auth_cookies(&self) -> String {
        format!(
            "{}; {}",
            self.session_cookie().expect("session cookie"),
            self.refresh_cookie().expect("refresh cookie")
        )
    }

    fn cookie_pair(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next().map(str::to_owned))
            .filter(|pair| pair.len() > name.len() + 1)
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
    }

    /// The `error` tag of an `AppError` body.
    pub fn error_kind(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// Sends every log line of this test binary, at debug level, to a file under
/// `target/tmp/test-logs/`. `.ci/test` greps those files for the sentinel password and for any
/// token or cookie value after the suite, so a log line that leaks one fails CI.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let path = log_path();
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("log folder");
        let file = std::fs::File::create(path).expect("log file");
        let _ = tracing_subscriber::fmt()
            .json()
            .with_span_list(false)
            .with_env_filter("debug,sqlx=info,hyper=info,h2=info")
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    });
}

/// This test binary's log file: one per binary and engine, so the PostgreSQL pass does not
/// overwrite the SQLite one.
fn log_path() -> std::path::PathBuf {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tests".into());
    let engine = format!("{:?}", Engine::from_env()).to_lowercase();
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("test-logs")
        .join(format!("{binary}-{engine}.log"))
}

/// The messages this binary logged inside the span of request `request_id` (the
/// `x-request-id` of its response).
pub fn logged_during(request_id: &str) -> Vec<String> {
    std::fs::read_to_string(log_path())
        .expect("the captured log")
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["span"]["request_id"] == request_id)
        .filter_map(|entry| entry["fields"]["message"].as_str().map(str::to_owned))
        .collect()
}

pub async fn spawn() -> TestApp {
    spawn_with(&[]).await
}

/// A fresh app with extra configuration pairs on top of the test defaults, on the engine
/// `TEST_DATABASE` names.
pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
    let engine = Engine::from_env();
    spawn_on(engine, extra).await.unwrap_or_else(|| {
        panic!("TEST_DATABASE asks for {engine:?}, which is not reachable (see the line above)")
    })
}

/// A fresh app on `engine`; `None` when PostgreSQL tests are skipped on this machine.
pub async fn spawn_on(engine: Engine, extra: &[(&str, &str)]) -> Option<TestApp> {
    capture_logs();
    let dir = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::new(engine, dir.path()).await?;
    Some(spawn_in(dir, database, extra).await)
}

/// An app over an existing test database: a second replica when `database` is already in use.
pub async fn spawn_in(dir: TempDir, database: TestDatabase, extra: &[(&str, &str)]) -> TestApp {
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let mut pairs = vec![
        ("JWT_SECRET", SECRET),
        ("TOTP_ENCRYPTION_KEY", TOTP_KEY),
        ("DATABASE_URL", database.url.as_str()),
        ("DATA_DIR", data_dir.as_str()),
        ("COOKIE_SECURE", "true"),
        // Tests sign many people up from one (unknown) address; the rate-limit tests set
        // their own limits.
        ("REGISTRATIONS_PER_IP", "100000"),
        ("REGISTRATIONS_PER_ACCOUNT", "100000"),
        ("LOGIN_FAILURES_PER_IP", "100000"),
        // Every test's mail requests come from one address too; the mail limit tests set theirs.
        ("MAIL_REQUESTS_PER_IP", "100000"),
        // Tests write fast from one account; the quota tests set their own limit.
        ("WRITES_PER_MINUTE", "1000000"),
    ];
    pairs.extend_from_slice(extra);
    let config = Config::from_pairs(&pairs).expect("test config");
    let pool = db::Db::connect(&config.database_url, &config.db)
        .await
        .expect("database");
    let leptos_options = LeptosOptions::builder()
        .output_name("tasks")
        .site_root(data_dir.clone())
        .build();
    let state = AppState::new(config, pool, leptos_options)
        .await
        .expect("state");
    let router = tasks::server::app(state.clone());
    TestApp {
        router,
        state,
        dir,
        database,
    }
}

impl TestApp {
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Calls a server function like the wasm client: form-encoded POST, JSON back.
    pub async fn call(&self, name: &str, fields: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        let mut request = Request::post(format!("/api/{name}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Submits a form like a browser with JavaScript off.
    pub async fn post_form_no_js(
        &self,
        name: &str,
        fields: &[(&str, &str)],
        referer: &str,
    ) -> Reply {
        self.send(no_js_form(name, fields, referer, None)).await
    }

    /// [`TestApp::post_form_no_js`] from a browser holding `cookie`.
    pub async fn post_form_no_js_with_cookie(
        &self,
        name: &str,
        fields: &[(&str, &str)],
        referer: &str,
        cookie: &str,
    ) -> Reply {
        self.send(no_js_form(name, fields, referer, Some(cookie)))
            .await
    }

    /// Sends `request` as if it came over TCP from `ip` (what rate limits and sessions see).
    pub async fn send_from(&self, ip: &str, mut request: Request<Body>) -> Reply {
        let addr: std::net::SocketAddr = format!("{ip}:40000").parse().expect("an IP");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        self.send(request).await
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn register(&self, name: &str, email: &str, password: &str) -> Reply {
        self.call(
            "register",
            &[
                ("name", name),
                ("email", email),
                ("password", password),
                ("password_confirm", password),
            ],
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.call("login", &[("email", email), ("password", password)], None)
            .await
    }

    /// Registers `email` and returns its session cookie (`name=value`).
    pub async fn signed_up(&self, email: &str) -> String {
        let reply = self.register("Test User", email, PASSWORD).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "register failed: {}",
            reply.body
        );
        reply
            .session_cookie()
            .expect("register sets the session cookie")
    }

    pub async fn add_task(&self, cookie: &str, title: &str) -> Reply {
        self.call("tasks/add", &[("title", title)], Some(cookie))
            .await
    }

    pub async fn list_tasks(&self, cookie: &str) -> Vec<serde_json::Value> {
        let reply = self.call("tasks/list", &[], Some(cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "list failed: {}", reply.body);
        reply.json()["tasks"]
            .as_array()
            .cloned()
            .expect("a page with a `tasks` array")
    }

    pub async fn count_users(&self) -> i64 {
        on_db!(&self.state.db, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(c)
        .await)
        .unwrap()
    }
}

/// A plain HTML form post to server function `name`, as a browser without JavaScript sends it.
fn no_js_form(
    name: &str,
    fields: &[(&str, &str)],
    referer: &str,
    cookie: Option<&str>,
) -> Request<Body> {
    let mut request = Request::post(format!("/api/{name}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .header(header::HOST, "localhost:3000")
        .header(header::REFERER, referer);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request
        .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap()
}

// --- the REST API, as a script would call it ---

/// A request to the REST API with an optional Bearer token and JSON body.
pub async fn json_request(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    app.send(request.body(body).unwrap()).await
}

pub async fn api_register(app: &TestApp, email: &str) -> Reply {
    json_request(
        app,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(json!({"email": email, "name": "Api User", "password": PASSWORD})),
    )
    .await
}

pub async fn api_token(app: &TestApp, username: &str, password: &str) -> Reply {
    app.send(token_request(&[
        ("username", username),
        ("password", password),
    ]))
    .await
}

/// A form POST to the OAuth2 token endpoint with `fields`.
pub fn token_request(fields: &[(&str, &str)]) -> Request<Body> {
    Request::post("/api/v1/auth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap()
}

/// Exchanges a refresh token at `/api/v1/auth/refresh`.
pub async fn api_refresh(app: &TestApp, refresh_token: &str) -> Reply {
    json_request(
        app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh_token })),
    )
    .await
}

/// Logs `email` in through the API and returns `(access_token, refresh_token)`.
pub async fn api_tokens(app: &TestApp, email: &str) -> (String, String) {
    let reply = api_token(app, email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Registers `email` through the API and returns a Bearer token for it.
pub async fn bearer(app: &TestApp, email: &str) -> String {
    assert_eq!(api_register(app, email).await.status, StatusCode::CREATED);
    api_tokens(app, email).await.0
}

/// A `Cookie` header value carrying `token` as the session cookie.
pub fn cookie_with(token: &str) -> String {
    format!("{COOKIE_NAME}={token}")
}
