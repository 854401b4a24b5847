//! Prometheus metrics: what the server counts, and `GET /metrics`, which serves them.
//!
//! Off unless something can read them: `METRICS_ADDR` (a listener of its own, without
//! authentication, for a private network) or `METRICS_TOKEN` (`GET /metrics` on the main port
//! with `Authorization: Bearer`). While off, every recording call returns at once, nothing is
//! kept, and `/metrics` on the main port is as unknown as any other path.
//!
//! Counted as it happens: requests by route template, method and status, with their latency;
//! logins by outcome; rate-limit refusals by kind; each password hash's time in the queue.
//! Read when scraped: the hash queue's depth, each database pool's connections in use and
//! idle, and the live sessions (one `COUNT` over a partial index, the same for every replica).
//!
//! **One recorder per [`AppState`](super::AppState), not the process-global one.** The
//! `metrics` crate's macros write to a recorder installed once for the whole process. We hold a
//! recorder in the state instead and write to it through [`Metrics`]'s methods: nothing in the
//! app is global, so the integration tests, which build many states side by side in one
//! process, each read exactly their own counts (no deltas, no interference between tests
//! running in parallel), and a state's metrics go away with it. The price is that a library
//! calling the macros would not reach our recorder; none of ours does.

use std::{
    sync::{Arc, Weak},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use metrics::{Key, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{
    auth::{ClientInfo, password::Hasher},
    config::{Config, MetricsToken},
    context,
    db::{self, Db, now_millis},
    error::{ErrorOut, StartupError},
    state::AppState,
};
use crate::error::AppError;

/// Where the metrics are served, on the main port (with `METRICS_TOKEN`) and on `METRICS_ADDR`.
pub const PATH: &str = "/metrics";

/// The metric names, all in one place (the README's "Operations" section lists them too).
pub mod names {
    /// Counter; labels `route` (the route template, `/pkg/{*path}` for static files, or
    /// `unmatched`), `method`, `status`.
    pub const HTTP_REQUESTS: &str = "tasks_http_requests_total";
    /// Histogram in seconds, until the response head; labels `route`, `method`.
    pub const HTTP_REQUEST_DURATION: &str = "tasks_http_request_duration_seconds";
    /// Counter; label `outcome`: `success`, `invalid_credentials`, `rate_limited`, `disabled`,
    /// `second_step` (right password, code asked for), `wrong_code`, `error`. A sign-in with
    /// two-step counts twice: `second_step`, then how its code ended.
    pub const LOGINS: &str = "tasks_logins_total";
    /// Counter; label `kind`: `login`, `registration`, `task_write`.
    pub const RATE_LIMIT_REFUSALS: &str = "tasks_rate_limit_refusals_total";
    /// Gauge: sessions neither revoked nor expired, over all replicas.
    pub const SESSIONS_ACTIVE: &str = "tasks_sessions_active";
    /// Gauge: password hashes waiting for a hashing thread in this replica.
    pub const HASH_QUEUE_DEPTH: &str = "tasks_password_hash_queue_depth";
    /// Histogram in seconds: how long each password hash waited for a hashing thread.
    pub const HASH_QUEUE_WAIT: &str = "tasks_password_hash_queue_wait_seconds";
    /// Gauge; labels `pool` (`sqlite_reader`, `sqlite_writer`, `postgres`) and `state`
    /// (`in_use`, `idle`).
    pub const DB_POOL_CONNECTIONS: &str = "tasks_db_pool_connections";
    /// Gauge; label `pool`: the most connections that pool opens.
    pub const DB_POOL_MAX_CONNECTIONS: &str = "tasks_db_pool_max_connections";
}

/// Request latency buckets, in seconds: pages and API calls take about a millisecond here, a
/// login tens of milliseconds of argon2 (more while hashes queue), a request waiting for a
/// database connection up to `DB_ACQUIRE_TIMEOUT` (5 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Hash queue wait buckets, in seconds: none while a thread is free, then multiples of one
/// hash (tens of milliseconds) as the queue fills towards `HASH_QUEUE_MAX`.
const HASH_WAIT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes (otherwise
/// they would pile up between scrapes).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The `route` label of a request that matched no route (a 404): one fixed value, since raw
/// paths would give every scanner's probe a series of its own.
const UNMATCHED: &str = "unmatched";

/// The `route` label of the files under `/pkg/` (served by `ServeDir`, which axum routes
/// without a `MatchedPath`).
const STATIC_FILES: &str = "/pkg/{*path}";

/// Required by the `Recorder` interface; the Prometheus recorder ignores it.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// What a login ended in, as `tasks_logins_total` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    /// Wrong password or unknown email (the same answer, so the same label).
    InvalidCredentials,
    /// Refused before any password check (`attempt_limits`).
    RateLimited,
    /// The right password of a disabled account.
    Disabled,
    /// The right password of an account with two-step sign-in: a code is asked for next.
    SecondStep,
    /// A wrong authenticator or recovery code at the second step.
    WrongCode,
    /// Not decided: the database or the hash queue could not serve it (503), or a bug (500).
    Error,
}

impl LoginOutcome {
    /// The outcome of a password check (`accounts::verify_login`) that ended in `result`; `Ok`
    /// holds whether a second step is needed.
    pub fn of(result: &Result<bool, AppError>) -> Self {
        match result {
            Ok(true) => Self::SecondStep,
            Ok(false) => Self::Success,
            Err(AppError::InvalidCredentials) => Self::InvalidCredentials,
            Err(AppError::RateLimited { .. }) => Self::RateLimited,
            Err(AppError::AccountDisabled) => Self::Disabled,
            Err(_) => Self::Error,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::InvalidCredentials => "invalid_credentials",
            Self::RateLimited => "rate_limited",
            Self::Disabled => "disabled",
            Self::SecondStep => "second_step",
            Self::WrongCode => "wrong_code",
            Self::Error => "error",
        }
    }
}

/// Which limit refused a request, as `tasks_rate_limit_refusals_total` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Login attempts (`LOGIN_FAILURES_PER_*`).
    Login,
    /// Sign-up attempts (`REGISTRATIONS_PER_*`).
    Registration,
    /// Task changes (`WRITES_PER_MINUTE`).
    TaskWrite,
    /// Requests that send a mail (`MAIL_REQUESTS_PER_*`).
    Mail,
}

impl Limit {
    fn label(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Registration => "registration",
            Self::TaskWrite => "task_write",
            Self::Mail => "mail",
        }
    }
}

/// The recorder and the handle that renders it.
struct Exporter {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

/// This state's metrics; `Default` is off. Cheap to clone (one `Arc`).
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Exporter>>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Metrics").field(&self.0.is_some()).finish()
    }
}

impl Metrics {
    /// Metrics that are recorded when `enabled`, and otherwise cost nothing. Call it inside the
    /// Tokio runtime: it starts the upkeep task, which ends when the last clone is dropped.
    ///
    /// # Errors
    /// The exporter refused the histogram buckets (it refuses only an empty list).
    pub fn new(enabled: bool) -> Result<Self, StartupError> {
        if !enabled {
            return Ok(Self(None));
        }
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(names::HTTP_REQUEST_DURATION.into()),
                LATENCY_BUCKETS,
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full(names::HASH_QUEUE_WAIT.into()),
                    HASH_WAIT_BUCKETS,
                )
            })
            .map_err(|err| StartupError::Metrics(err.to_string()))?
            .build_recorder();
        describe(&recorder);
        let exporter = Arc::new(Exporter {
            handle: recorder.handle(),
            recorder,
        });
        tokio::spawn(upkeep(Arc::downgrade(&exporter)));
        Ok(Self(Some(exporter)))
    }

    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) {
        if let Some(exporter) = &self.0 {
            let key = Key::from_parts(name, labels);
            exporter
                .recorder
                .register_counter(&key, &METADATA)
                .increment(1);
        }
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>, value: f64) {
        if let Some(exporter) = &self.0 {
            let key = Key::from_parts(name, labels);
            exporter.recorder.register_gauge(&key, &METADATA).set(value);
        }
    }

    /// Counts one answered request and records its latency.
    pub fn request(&self, route: &str, method: &Method, status: StatusCode, latency: Duration) {
        let Some(exporter) = &self.0 else {
            return;
        };
        let route = Label::new("route", route.to_owned());
        let method = Label::new("method", method_label(method));
        let key = Key::from_parts(
            names::HTTP_REQUESTS,
            vec![
                route.clone(),
                method.clone(),
                Label::new("status", status.as_str().to_owned()),
            ],
        );
        exporter
            .recorder
            .register_counter(&key, &METADATA)
            .increment(1);
        let key = Key::from_parts(names::HTTP_REQUEST_DURATION, vec![route, method]);
        exporter
            .recorder
            .register_histogram(&key, &METADATA)
            .record(latency);
    }

    /// Counts one login by its outcome.
    pub fn login(&self, outcome: LoginOutcome) {
        self.counter(names::LOGINS, vec![Label::new("outcome", outcome.label())]);
    }

    /// Counts one request refused by `limit`.
    pub fn rate_limited(&self, limit: Limit) {
        self.counter(
            names::RATE_LIMIT_REFUSALS,
            vec![Label::new("kind", limit.label())],
        );
    }

    /// The histogram the password hashing threads record each job's wait in (a no-op while
    /// metrics are off).
    pub fn hash_queue_wait(&self) -> metrics::Histogram {
        match &self.0 {
            Some(exporter) => exporter
                .recorder
                .register_histogram(&Key::from_name(names::HASH_QUEUE_WAIT), &METADATA),
            None => metrics::Histogram::noop(),
        }
    }

    /// The scrape: reads the gauges that are computed on demand, then renders everything in
    /// Prometheus' text format. `None` while metrics are off.
    ///
    /// When the database does not answer, the live-session gauge keeps its last value (and
    /// `/readyz` says the database is unreachable); everything else is still served.
    pub async fn render(&self, db: &Db, hasher: &Hasher) -> Option<String> {
        let exporter = self.0.as_ref()?;
        self.gauge(
            names::HASH_QUEUE_DEPTH,
            Vec::new(),
            hasher.queue_depth() as f64,
        );
        for usage in db.pool_usage() {
            for (state, value) in [("in_use", usage.in_use), ("idle", usage.idle)] {
                self.gauge(
                    names::DB_POOL_CONNECTIONS,
                    vec![Label::new("pool", usage.pool), Label::new("state", state)],
                    value as f64,
                );
            }
            self.gauge(
                names::DB_POOL_MAX_CONNECTIONS,
                vec![Label::new("pool", usage.pool)],
                usage.max as f64,
            );
        }
        match db::sessions::count_live(db, now_millis()).await {
            Ok(live) => self.gauge(names::SESSIONS_ACTIVE, Vec::new(), live as f64),
            // The cause is logged where the error was made.
            Err(_) => tracing::warn!("metrics: could not count the live sessions"),
        }
        Some(exporter.handle.render())
    }
}

/// The `# HELP` lines, so a person reading a scrape or a dashboard knows what each one is.
fn describe(recorder: &PrometheusRecorder) {
    use names::*;
    for (name, help) in [
        (
            HTTP_REQUESTS,
            "Requests answered, by route template, method and status.",
        ),
        (LOGINS, "Logins by outcome."),
        (
            RATE_LIMIT_REFUSALS,
            "Requests refused by a rate limit (429), by kind.",
        ),
    ] {
        recorder.describe_counter(name.into(), None, help.into());
    }
    for (name, help) in [
        (
            SESSIONS_ACTIVE,
            "Sessions neither revoked nor expired, over all replicas.",
        ),
        (
            HASH_QUEUE_DEPTH,
            "Password hashes waiting for a hashing thread.",
        ),
        (
            DB_POOL_CONNECTIONS,
            "Database connections by pool and state (in_use, idle).",
        ),
        (
            DB_POOL_MAX_CONNECTIONS,
            "The most connections each database pool opens.",
        ),
    ] {
        recorder.describe_gauge(name.into(), None, help.into());
    }
    for (name, help) in [
        (
            HTTP_REQUEST_DURATION,
            "Time from a request's arrival to its response head, by route template and method.",
        ),
        (
            HASH_QUEUE_WAIT,
            "Time each password hash waited for a hashing thread.",
        ),
    ] {
        recorder.describe_histogram(name.into(), Some(Unit::Seconds), help.into());
    }
}

/// Folds histogram samples into their buckets every [`UPKEEP_INTERVAL`] until the metrics are
/// dropped.
async fn upkeep(exporter: Weak<Exporter>) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tick.tick().await;
        let Some(exporter) = exporter.upgrade() else {
            return;
        };
        exporter.handle.run_upkeep();
    }
}

/// The standard methods by name; any other (HTTP allows methods of any name) is `other`, so a
/// client cannot add series at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The `route` label of a request: the template of the route it matched (`Router::layer`
/// wraps each route after the router matched it, so the edge layer sees it), [`STATIC_FILES`]
/// for static files, [`UNMATCHED`] for the rest.
pub fn route_label(matched: Option<&MatchedPath>, static_file: bool) -> &str {
    match matched {
        Some(matched) => matched.as_str(),
        None if static_file => STATIC_FILES,
        None => UNMATCHED,
    }
}

/// `GET /metrics` on the main port: present only when `METRICS_TOKEN` is set, so that without
/// it the path answers like any unknown one.
pub fn router(config: &Config) -> Router<AppState> {
    match config.metrics_token {
        Some(_) => Router::new().route(PATH, get(scrape_with_token)),
        None => Router::new(),
    }
}

/// The router of the `METRICS_ADDR` listener: `GET /metrics` and nothing else, without
/// authentication (that address is meant for a private network).
pub fn listener_router(state: AppState) -> Router {
    Router::new().route(PATH, get(scrape)).with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    match state.metrics.render(&state.db, &state.hasher).await {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            text,
        )
            .into_response(),
        // Only reachable through a router built for a state whose metrics are off.
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn scrape_with_token(State(state): State<AppState>, request: Request) -> Response {
    let Some(expected) = &state.config.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = request.headers().get(header::AUTHORIZATION);
    if token_matches(presented, expected) {
        return scrape(State(state)).await;
    }
    let client = ClientInfo::of(request.headers(), request.extensions(), &state.config);
    tracing::warn!(
        target: "security",
        event = "metrics_refused",
        ip = %client.ip_text(),
        token_sent = presented.is_some(),
        "refused a /metrics request without the right METRICS_TOKEN"
    );
    refused(presented.is_some())
}

/// Whether `Authorization` is `Bearer <METRICS_TOKEN>`. Both tokens are hashed first and the
/// digests compared in constant time, so neither the time taken nor an early exit tells a
/// guesser how much of the token, or its length, was right.
fn token_matches(presented: Option<&HeaderValue>, expected: &MetricsToken) -> bool {
    let Some(presented) = context::bearer_token(presented.and_then(|v| v.to_str().ok())) else {
        return false;
    };
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.expose().as_bytes());
    presented[..].ct_eq(&expected[..]).into()
}

/// 401 with a Bearer challenge (RFC 6750 §3: `invalid_token` when one was sent).
fn refused(token_sent: bool) -> Response {
    let challenge = if token_sent {
        r#"Bearer realm="metrics", error="invalid_token""#
    } else {
        r#"Bearer realm="metrics""#
    };
    let body = ErrorOut {
        detail: "GET /metrics needs the header `Authorization: Bearer <METRICS_TOKEN>`.".into(),
    };
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        )],
        Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> MetricsToken {
        MetricsToken::from(text.to_owned())
    }

    #[test]
    fn only_the_exact_token_after_bearer_matches() {
        let expected = token("0123456789abcdef0123456789abcdef");
        let header = |v: &'static str| HeaderValue::from_static(v);
        assert!(token_matches(
            Some(&header("Bearer 0123456789abcdef0123456789abcdef")),
            &expected
        ));
        assert!(token_matches(
            Some(&header("bearer 0123456789abcdef0123456789abcdef")),
            &expected
        ));
        for wrong in [
            "Bearer 0123456789abcdef0123456789abcdeF",
            "Bearer 0123456789abcdef0123456789abcde",
            "Bearer 0123456789abcdef0123456789abcdef0",
            "Basic 0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef",
            "Bearer ",
        ] {
            assert!(!token_matches(Some(&header(wrong)), &expected), "{wrong}");
        }
        assert!(!token_matches(None, &expected));
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "other"
        );
        assert_eq!(
            method_label(&Method::from_bytes(b"X-RANDOM-1").unwrap()),
            "other"
        );
    }

    #[test]
    fn login_outcomes_follow_the_error() {
        assert_eq!(
            LoginOutcome::of(&Err(AppError::InvalidCredentials)),
            LoginOutcome::InvalidCredentials
        );
        assert_eq!(
            LoginOutcome::of(&Err(AppError::RateLimited {
                retry_after_secs: 3
            })),
            LoginOutcome::RateLimited
        );
        assert_eq!(
            LoginOutcome::of(&Err(AppError::AccountDisabled)),
            LoginOutcome::Disabled
        );
        assert_eq!(
            LoginOutcome::of(&Err(AppError::Unavailable)),
            LoginOutcome::Error
        );
        assert_eq!(LoginOutcome::of(&Ok(false)), LoginOutcome::Success);
        assert_eq!(LoginOutcome::of(&Ok(true)), LoginOutcome::SecondStep);
    }

    #[tokio::test]
    async fn while_off_nothing_is_recorded_or_served() {
        let metrics = Metrics::new(false).unwrap();
        assert!(!metrics.is_enabled());
        metrics.login(LoginOutcome::Success);
        metrics.rate_limited(Limit::Login);
        metrics.hash_queue_wait().record(1.0);
    }

    #[tokio::test]
    async fn two_metrics_keep_their_own_counts() {
        let a = Metrics::new(true).unwrap();
        let b = Metrics::new(true).unwrap();
        a.login(LoginOutcome::Success);
        a.login(LoginOutcome::Success);
        b.login(LoginOutcome::Disabled);
        let render = |m: &Metrics| m.0.as_ref().unwrap().handle.render();
        let (a, b) = (render(&a), render(&b));
        assert!(
            a.contains(r#"tasks_logins_total{outcome="success"} 2"#),
            "{a}"
        );
        assert!(!a.contains("disabled"), "{a}");
        assert!(
            b.contains(r#"tasks_logins_total{outcome="disabled"} 1"#),
            "{b}"
        );
        assert!(!b.contains("success"), "{b}");
    }
}
