//! Runtime configuration: one declarative struct, read once at startup from the environment.
//!
//! Each variable is declared once: a field of [`Config`] (or of [`DbSettings`] / [`RateLimits`])
//! named like the variable, with its default beside it. serde reads the fields through the
//! `config` crate; `Config::validate` then holds every rule about values (ranges, order,
//! production safety). The list of variables is serde's own list of those fields, so there is no
//! second list to forget. Every variable is documented in the README's configuration table and
//! in `.env.example` (a test checks both). Errors name the variable, in upper case as it is set,
//! and say how to fix it; they never echo a value.
//!
//! `.env` is not read here: `main` loads it once with [`load_dotenv`], before anything reads the
//! environment.

use std::{
    collections::HashMap, fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration,
};

use ipnet::IpNet;
use serde::{Deserialize, de::DeserializeOwned};

/// Minimum length of `JWT_SECRET`: HS256 keys shorter than the hash output (32 bytes) weaken it
/// (RFC 7518 §3.2).
pub const MIN_SECRET_LEN: usize = 32;

/// Minimum length of `METRICS_TOKEN` in production: 32 characters (32 hex digits are 128 random
/// bits), so no scraper guesses it however long it keeps trying.
pub const MIN_METRICS_TOKEN_LEN: usize = 32;

/// Which safety rules apply: production refuses anything that is only fit for a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum AppEnv {
    #[default]
    Development,
    Production,
}

/// The one rule for reading `APP_ENV` (case and surrounding spaces ignored).
impl FromStr for AppEnv {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "production" | "prod" => Ok(Self::Production),
            _ => Err("must be `development` or `production`"),
        }
    }
}

impl TryFrom<String> for AppEnv {
    type Error = &'static str;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Readable lines, for a terminal.
    Text,
}

impl LogFormat {
    /// The format when `LOG_FORMAT` is unset: JSON in production, text in development.
    pub fn default_for(env: AppEnv) -> Self {
        match env {
            AppEnv::Production => Self::Json,
            AppEnv::Development => Self::Text,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Text => "text",
        }
    }
}

impl FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            _ => Err("must be `json` or `text`"),
        }
    }
}

impl TryFrom<String> for LogFormat {
    type Error = &'static str;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// The HMAC key that signs access tokens. Not `Serialize`, and its `Debug` is redacted, so it
/// cannot reach a client or a log line by accident. It is read as text, so a secret made only of
/// digits stays those characters (never a number).
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for JwtSecret {
    fn from(secret: String) -> Self {
        Self(secret.into_bytes())
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret([redacted])")
    }
}

/// `TOTP_ENCRYPTION_KEY`'s text. Not `Serialize`, and its `Debug` is redacted, like
/// [`JwtSecret`].
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct TotpKey(Vec<u8>);

impl TotpKey {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for TotpKey {
    fn from(key: String) -> Self {
        Self(key.into_bytes())
    }
}

impl fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpKey([redacted])")
    }
}

/// The bearer token `GET /metrics` asks for on the main port. Not `Serialize`, and its `Debug`
/// is redacted, like [`JwtSecret`]: it must never reach a client or a log line.
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct MetricsToken(String);

impl MetricsToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for MetricsToken {
    fn from(token: String) -> Self {
        Self(token)
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken([redacted])")
    }
}

/// `SMTP_URL`: where mail is sent, possibly with the mail account's password in it. Not
/// `Serialize`, and its `Debug` is redacted, like [`JwtSecret`].
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct SmtpUrl(String);

impl SmtpUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SmtpUrl {
    fn from(url: String) -> Self {
        Self(url.trim().to_owned())
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmtpUrl([redacted])")
    }
}

/// Where the JWT secret came from, so startup can log it (without the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    /// Generated earlier (or now) and kept in the development secret file.
    DevFile {
        generated: bool,
    },
}

/// The validated configuration the application runs with. Each field is one environment
/// variable (its name upper-cased, or the `rename`), except `db` and `limits`, which group
/// variables of their own, and `secret_source`.
///
/// Build it with [`Config::from_env`] or [`Config::from_pairs`]: they validate. `Deserialize`
/// alone only reads the values.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// `APP_ENV`: `development` (default; also `dev`) or `production` (also `prod`).
    #[serde(rename = "app_env", default)]
    pub env: AppEnv,
    /// `DATABASE_URL`: `sqlite:…` or `postgres://…`; the scheme alone picks the engine.
    /// Default: `sqlite://{DATA_DIR}/tasks.db`, filled in by `validate`.
    #[serde(default)]
    pub database_url: String,
    /// The `DB_*` variables: read by a pass of their own (see `Config::load`).
    #[serde(skip)]
    pub db: DbSettings,
    /// `JWT_SECRET`: at least [`MIN_SECRET_LEN`] bytes. Unset in development: generated once into
    /// `DATA_DIR/jwt_secret.dev` by `validate`; required in production.
    #[serde(default = "defaults::jwt_secret")]
    pub jwt_secret: JwtSecret,
    /// Not a variable: set by `validate` from where `jwt_secret` came from.
    #[serde(skip, default = "defaults::secret_source")]
    pub secret_source: SecretSource,
    /// `JWT_ISSUER` (default `tasks`): written into every token and required from it.
    #[serde(default = "defaults::jwt_issuer")]
    pub jwt_issuer: String,
    /// `JWT_AUDIENCE` (default `tasks`): written into every token and required from it.
    #[serde(default = "defaults::jwt_audience")]
    pub jwt_audience: String,
    /// `ACCESS_TOKEN_TTL` (default 15m, 1s to 24h): lifetime of an access token and its cookie.
    #[serde(
        default = "defaults::access_token_ttl",
        deserialize_with = "parse::duration"
    )]
    pub access_token_ttl: Duration,
    /// `REFRESH_IDLE_TTL` (default 7d, 1m to 365d): a refresh token unused for this long expires
    /// (the session's idle timeout).
    #[serde(
        default = "defaults::refresh_idle_ttl",
        deserialize_with = "parse::duration"
    )]
    pub refresh_idle_ttl: Duration,
    /// `SESSION_MAX_LIFETIME` (default 30d, 1m to 365d): no session lives longer than this,
    /// however often it is refreshed.
    #[serde(
        default = "defaults::session_max_lifetime",
        deserialize_with = "parse::duration"
    )]
    pub session_max_lifetime: Duration,
    /// `REFRESH_REUSE_GRACE` (default 30s, 0 to 5m): a refresh token spent this recently may be
    /// presented again by its session and gets a new pair instead of counting as theft (two
    /// tabs renewing at once; a client retrying a refresh whose answer it lost). `0` turns the
    /// grace off.
    #[serde(
        default = "defaults::refresh_reuse_grace",
        deserialize_with = "parse::duration"
    )]
    pub refresh_reuse_grace: Duration,
    /// `AUDIT_RETENTION` (default 90d, 1d to 3650d): how long security events are kept in the
    /// audit trail; older ones are erased by the server in the background.
    #[serde(
        default = "defaults::audit_retention",
        deserialize_with = "parse::duration"
    )]
    pub audit_retention: Duration,
    /// The rate-limit variables: read by a pass of their own (see `Config::load`).
    #[serde(skip)]
    pub limits: RateLimits,
    /// `TRUSTED_PROXIES` (default none): comma-separated IPs or CIDR ranges of the peers whose
    /// `X-Forwarded-For` is believed (reverse proxies, load balancers).
    #[serde(default, deserialize_with = "parse::ip_nets")]
    pub trusted_proxies: Vec<IpNet>,
    /// `COOKIE_SECURE` (default true): send the auth cookie with `Secure` (and the `__Host-`
    /// prefix). Off only for plain-HTTP local development; production refuses it.
    #[serde(default = "defaults::cookie_secure", deserialize_with = "parse::flag")]
    pub cookie_secure: bool,
    /// `DATA_DIR` (default `data`): folder of the default database and the development secret.
    #[serde(default = "defaults::data_dir")]
    pub data_dir: PathBuf,
    /// `MAX_CONCURRENT_HASHES` (default: the number of CPU cores, or 2 if unknown; at least 1):
    /// how many dedicated low-priority password-hashing threads run, each owning one argon2
    /// memory block of 19 MiB.
    #[serde(
        default = "defaults::max_concurrent_hashes",
        deserialize_with = "parse::number"
    )]
    pub max_concurrent_hashes: usize,
    /// `HASH_QUEUE_MAX` (default 64, at least 1): how many password hashes may wait for a
    /// hashing thread; past that, further logins and sign-ups get 503 + `Retry-After`.
    #[serde(
        default = "defaults::hash_queue_max",
        deserialize_with = "parse::number"
    )]
    pub hash_queue_max: usize,
    /// `MAX_TASKS_PER_USER` (default 10000, at least 1): the most tasks one account keeps;
    /// adding one more is refused with 422 and a message saying so.
    #[serde(
        default = "defaults::max_tasks_per_user",
        deserialize_with = "parse::number"
    )]
    pub max_tasks_per_user: u32,
    /// `WRITES_PER_MINUTE` (default 300, at least 1): task changes (add, rename, tick, delete)
    /// one account may make per minute, counted in the database so replicas share it; past it
    /// `429` + `Retry-After`.
    #[serde(
        default = "defaults::writes_per_minute",
        deserialize_with = "parse::number"
    )]
    pub writes_per_minute: u32,
    /// `HEADER_READ_TIMEOUT` (default 10s, 1s to 5m): a connection that has not sent a whole
    /// request head this long after the server started waiting for one (a new connection, or
    /// an idle kept-alive one) is closed; so is any connection, HTTP/2 included, that has had
    /// no request in flight for this long.
    #[serde(
        default = "defaults::header_read_timeout",
        deserialize_with = "parse::duration"
    )]
    pub header_read_timeout: Duration,
    /// `MAX_CONNECTIONS` (default 4096, at least 1): most client connections open at once; at
    /// the cap the longest-idle keep-alive connection is closed to make room, and only when none
    /// is idle does a new one get `503` + `Retry-After`. Lowered at startup to what the
    /// open-files limit leaves room for.
    #[serde(
        default = "defaults::max_connections",
        deserialize_with = "parse::number"
    )]
    pub max_connections: usize,
    /// `MAX_CONNECTIONS_PER_IP` (default 256 without `TRUSTED_PROXIES`, 0 with; 0 is off):
    /// most connections open at once from one TCP peer address; at it that address's
    /// longest-idle connection makes room, or a new one gets `503` + `Retry-After`. Default
    /// filled in by `Config::load`.
    #[serde(deserialize_with = "parse::number")]
    pub max_connections_per_ip: usize,
    /// `METRICS_ADDR` (default off): an IP address and port such as `127.0.0.1:9100` where a
    /// second listener serves `GET /metrics` without authentication, for a Prometheus on the
    /// same host or private network. Never the main port: that one needs `METRICS_TOKEN`.
    #[serde(default, deserialize_with = "parse::socket_addr")]
    pub metrics_addr: Option<SocketAddr>,
    /// `METRICS_TOKEN` (default off): when set, `GET /metrics` on the main port answers a
    /// request with `Authorization: Bearer <token>`; otherwise that path is an unknown one.
    /// Printable ASCII without spaces; in production at least [`MIN_METRICS_TOKEN_LEN`]
    /// characters and not a placeholder.
    #[serde(default)]
    pub metrics_token: Option<MetricsToken>,
    /// `SMTP_URL` (default off): the SMTP server outgoing mail goes through:
    /// `smtp://host:port` (STARTTLS when the server offers it; `?tls=required` insists on it)
    /// or `smtps://user:password@host:465` (TLS from the start). Unset in development: mail is
    /// kept in the database and shown at `/dev/mailbox`; unset in production: no mail, and the
    /// flows that need it say so.
    #[serde(default)]
    pub smtp_url: Option<SmtpUrl>,
    /// `MAIL_FROM` (default `Tasks <no-reply@` the host of `PUBLIC_URL` `>`): the sender of
    /// every mail, as `Name <address>` or a bare address.
    #[serde(default)]
    pub mail_from: Option<String>,
    /// `PUBLIC_URL` (default in development: `http://` + the listening address): the address
    /// people reach the service at, the base of every link in a mail. Never taken from a
    /// request's Host header. Production with `SMTP_URL` refuses to start without it.
    #[serde(default)]
    pub public_url: Option<String>,
    /// `REQUIRE_VERIFIED_EMAIL` (default false): accounts whose address is not verified can read
    /// their tasks but not change them until they open the verification link.
    #[serde(default, deserialize_with = "parse::flag")]
    pub require_verified_email: bool,
    /// `MAIL_RETRY_AFTER` (default 30s, 1s to 1h): how long after a failed send the message is
    /// tried again; each further failure doubles the wait (at most an hour), and after
    /// 10 tries the message is given up on and logged as an error.
    #[serde(
        default = "defaults::mail_retry_after",
        deserialize_with = "parse::duration"
    )]
    pub mail_retry_after: Duration,
    /// `TOTP_ENCRYPTION_KEY`: the key that authenticator-app secrets are encrypted with in the
    /// database (two-step sign-in), at least [`MIN_SECRET_LEN`] bytes and not `JWT_SECRET`.
    /// Required in production; in development derived from `JWT_SECRET` when unset. Changing it
    /// makes every stored secret unreadable: those people sign in with a recovery code.
    #[serde(default)]
    pub totp_encryption_key: Option<TotpKey>,
    /// `LOG_FORMAT`: `json` or `text`. Default: [`LogFormat::default_for`] `APP_ENV` (JSON in
    /// production, text in development), filled in by `Config::load`.
    pub log_format: LogFormat,
}

/// The defaults of [`Config`]'s fields, one function per field.
mod defaults {
    use std::{path::PathBuf, time::Duration};

    use super::{JwtSecret, SecretSource};

    /// Empty: `validate` requires one (production) or generates one (development).
    pub fn jwt_secret() -> JwtSecret {
        JwtSecret::new(Vec::new())
    }
    pub fn secret_source() -> SecretSource {
        SecretSource::Environment
    }
    pub fn jwt_issuer() -> String {
        "tasks".into()
    }
    pub fn jwt_audience() -> String {
        "tasks".into()
    }
    pub fn access_token_ttl() -> Duration {
        Duration::from_secs(15 * 60)
    }
    pub fn refresh_idle_ttl() -> Duration {
        Duration::from_secs(7 * 24 * 3600)
    }
    pub fn session_max_lifetime() -> Duration {
        Duration::from_secs(30 * 24 * 3600)
    }
    pub fn refresh_reuse_grace() -> Duration {
        Duration::from_secs(30)
    }
    pub fn audit_retention() -> Duration {
        Duration::from_secs(90 * 24 * 3600)
    }
    pub fn max_tasks_per_user() -> u32 {
        10_000
    }
    /// Five a second on average: far beyond a person, enough for a script's bulk import.
    pub fn writes_per_minute() -> u32 {
        300
    }
    pub fn header_read_timeout() -> Duration {
        Duration::from_secs(10)
    }
    /// A few hundred browsers' worth of keep-alive connections; a few KB of memory each.
    pub fn max_connections() -> usize {
        4096
    }
    /// `MAX_CONNECTIONS_PER_IP` when the peers are the clients themselves: a browser opens at
    /// most 6 HTTP/1 connections to a host, so 256 is some 40 browsers busy at once behind one
    /// NAT (an office, a carrier's shared address), while one address takes at most a
    /// sixteenth of the default `MAX_CONNECTIONS`. Idle connections make room for their own
    /// address's new ones, so an address is refused only with 256 connections busy at once.
    pub const MAX_CONNECTIONS_PER_IP: &str = "256";
    pub fn cookie_secure() -> bool {
        true
    }
    pub fn data_dir() -> PathBuf {
        PathBuf::from("data")
    }
    /// One hashing thread per core: hashing is CPU-bound, more threads would only queue on the
    /// cores and hold more 19 MiB blocks.
    pub fn max_concurrent_hashes() -> usize {
        std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
    }
    pub fn hash_queue_max() -> usize {
        64
    }
    pub fn mail_retry_after() -> Duration {
        Duration::from_secs(30)
    }
}

/// Connection-pool settings. On PostgreSQL they size the one pool; on SQLite `max_connections`
/// sizes the readers (writes always go through one connection). Defaults: [`Default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DbSettings {
    /// `DB_MAX_CONNECTIONS` (default 10, at least 1).
    #[serde(rename = "db_max_connections", deserialize_with = "parse::number")]
    pub max_connections: u32,
    /// `DB_MIN_CONNECTIONS` (default 0, at most `DB_MAX_CONNECTIONS`): kept open while idle.
    #[serde(rename = "db_min_connections", deserialize_with = "parse::number")]
    pub min_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT` (default 5s, 100ms to 5m): how long a request waits for a free
    /// connection before it is answered 503.
    #[serde(rename = "db_acquire_timeout", deserialize_with = "parse::duration")]
    pub acquire_timeout: Duration,
    /// `DB_STATEMENT_TIMEOUT` (default 10s, 100ms to 1h): PostgreSQL cancels any statement
    /// running longer than this (`statement_timeout`).
    #[serde(rename = "db_statement_timeout", deserialize_with = "parse::duration")]
    pub statement_timeout: Duration,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// Login and registration attempt limits, per fixed window. Defaults: [`Default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// `RATE_LIMIT_WINDOW` (default 15m, 1s to 24h).
    #[serde(rename = "rate_limit_window", deserialize_with = "parse::duration")]
    pub window: Duration,
    /// `LOGIN_FAILURES_PER_ACCOUNT` (default 5): a known device's own failure budget; an
    /// unknown client's failures for one account from one IP before that IP waits out the
    /// window; and the account's failures from unknown clients before each further unknown try
    /// waits twice as long (see `attempt_limits`).
    #[serde(deserialize_with = "parse::number")]
    pub login_failures_per_account: u32,
    /// `LOGIN_FAILURES_PER_IP` (default 50): failed logins by unknown clients from one client
    /// IP (for any accounts) before unknown clients there wait out the window.
    #[serde(deserialize_with = "parse::number")]
    pub login_failures_per_ip: u32,
    /// `REGISTRATIONS_PER_IP` (default 20): registration attempts from one client IP.
    #[serde(deserialize_with = "parse::number")]
    pub registrations_per_ip: u32,
    /// `REGISTRATIONS_PER_ACCOUNT` (default 5): registration attempts for one email address
    /// from one client IP (stops probing which emails exist; nobody elsewhere can use it up).
    #[serde(deserialize_with = "parse::number")]
    pub registrations_per_account: u32,
    /// `MAIL_REQUESTS_PER_IP` (default 20): requests that send a mail (forgotten password,
    /// verification sent again, email change) from one client IP.
    #[serde(deserialize_with = "parse::number")]
    pub mail_requests_per_ip: u32,
    /// `MAIL_REQUESTS_PER_ADDRESS` (default 5): such requests for one email address, from
    /// anywhere, so nobody can flood a person's inbox.
    #[serde(deserialize_with = "parse::number")]
    pub mail_requests_per_address: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            login_failures_per_account: 5,
            login_failures_per_ip: 50,
            registrations_per_ip: 20,
            registrations_per_account: 5,
            mail_requests_per_ip: 20,
            mail_requests_per_address: 5,
        }
    }
}

/// Secrets that appear in examples and tutorials. A production secret equal to one of them (in
/// any letter case) or made of one repeated character is refused: it is public knowledge.
const PLACEHOLDER_SECRETS: &[&str] = &[
    "change-me",
    "changeme",
    "change-me-to-a-long-random-secret",
    "change-me-to-a-random-secret-of-at-least-32-bytes",
    "replace-me-with-openssl-rand-hex-32",
    "your-256-bit-secret",
    "your-secret-key",
    "secret",
    "secretsecretsecretsecretsecretsecret",
    "supersecret",
    "jwt-secret",
    "jwt_secret",
    "development-secret",
    "0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
];

/// `PUBLIC_URL` as the base every mail link is built on: `http` or `https`, a host, no query or
/// fragment, and no trailing `/`.
fn check_public_url(text: &str) -> Result<String, ConfigError> {
    let bad = |why: &str| {
        ConfigError(format!(
            "PUBLIC_URL {why}; set it to the address people open the service at, such as \
             https://tasks.example.com"
        ))
    };
    let text = text.trim().trim_end_matches('/');
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    if !matches!(scheme, "http" | "https") {
        return Err(bad("must start with https:// or http://"));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("has no host"));
    }
    if rest.contains(['?', '#', ' ', '@']) {
        return Err(bad(
            "must be a plain address without a query, a fragment or a user name",
        ));
    }
    Ok(text.to_owned())
}

fn is_placeholder(secret: &str) -> bool {
    let lower = secret.trim().to_lowercase();
    let one_char_repeated = lower.chars().all(|c| lower.starts_with(c));
    one_char_repeated
        || PLACEHOLDER_SECRETS.contains(&lower.as_str())
        || lower.contains("change-me")
        || lower.contains("changeme")
        || lower.contains("placeholder")
}

/// A configuration problem that stops startup. The message names the variable and the fix.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Loads `.env` from the working directory (or a parent) into the process environment, without
/// overriding variables already set. Call it once, first, while the process has one thread:
/// it writes the environment.
///
/// # Errors
/// The file exists but cannot be read or parsed. A missing file is normal and not an error.
pub fn load_dotenv() -> Result<(), ConfigError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(dotenv_error(&e)),
    }
}

/// Says what is wrong with `.env` without quoting it: its lines hold values, perhaps the secret.
fn dotenv_error(err: &dotenvy::Error) -> ConfigError {
    match err {
        dotenvy::Error::LineParse(line, _) => {
            let name = line
                .trim_start()
                .trim_start_matches("export ")
                .split('=')
                .next()
                .unwrap_or_default()
                .trim();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                ConfigError(format!(
                    "the .env file's line for {name} cannot be parsed; check its quotes and \
                     escapes"
                ))
            } else {
                ConfigError(
                    "the .env file has a line that cannot be parsed; check its quotes and escapes"
                        .into(),
                )
            }
        }
        dotenvy::Error::Io(e) => ConfigError(format!("could not read the .env file: {e}")),
        _ => ConfigError(
            "the .env file refers to a variable that is unset or not valid UTF-8".into(),
        ),
    }
}

impl Config {
    /// Reads the process environment (`main` has loaded `.env` into it already).
    ///
    /// # Errors
    /// A variable has an unusable value, or production mode lacks a safe secret.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars = HashMap::new();
        for name in variables() {
            let upper = name.to_uppercase();
            match std::env::var(&upper) {
                Ok(value) => {
                    vars.insert(name.to_owned(), value);
                }
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(ConfigError(format!("{upper} is not valid UTF-8")));
                }
            }
        }
        Self::load(vars)
    }

    /// Builds a configuration from explicit key/value pairs, ignoring the process environment.
    /// Used by tests, which must not depend on the machine they run on. A later pair overrides
    /// an earlier one with the same name.
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let vars = pairs
            .iter()
            .map(|(k, v)| (k.to_lowercase(), (*v).to_owned()))
            .filter(|(k, _)| variables().any(|name| name == k))
            .collect();
        Self::load(vars)
    }

    /// Deserializes `vars` (lower-case names, as serde names the fields) and validates the
    /// result.
    ///
    /// `db` and `limits` are read by passes of their own over the same variables rather than
    /// with `#[serde(flatten)]`: flatten buffers the values and drops the variable's name from
    /// any error about them.
    fn load(mut vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        // An empty variable means "unset" (`JWT_SECRET=` in a copied .env.example, for one).
        vars.retain(|_, value| !value.trim().is_empty());
        // LOG_FORMAT's default depends on APP_ENV, which a serde default cannot see. An invalid
        // APP_ENV is reported by the deserializer below, with its name.
        if !vars.contains_key("log_format") {
            let env = vars
                .get("app_env")
                .and_then(|v| v.parse().ok())
                .unwrap_or_default();
            vars.insert(
                "log_format".into(),
                LogFormat::default_for(env).as_str().into(),
            );
        }
        // MAX_CONNECTIONS_PER_IP's default depends on TRUSTED_PROXIES. Behind a proxy every
        // connection comes from the proxy's address (the client's is only known per request,
        // from X-Forwarded-For), so a per-address cap would cap all clients together: off.
        if !vars.contains_key("max_connections_per_ip") {
            let behind_proxy = vars
                .get("trusted_proxies")
                .is_some_and(|list| list.split(',').any(|entry| !entry.trim().is_empty()));
            let default = if behind_proxy {
                "0"
            } else {
                defaults::MAX_CONNECTIONS_PER_IP
            };
            vars.insert("max_connections_per_ip".into(), default.into());
        }
        // Values stay strings (no `try_parsing`) until a field's type asks for a number, so a
        // secret made only of digits is still read as text.
        let source = config::Config::builder()
            .add_source(config::Environment::default().source(Some(vars)))
            .build()
            .map_err(describe)?;
        let mut config: Self = source.clone().try_deserialize().map_err(describe)?;
        config.db = source.clone().try_deserialize().map_err(describe)?;
        config.limits = source.try_deserialize().map_err(describe)?;
        config.validate()
    }

    /// Every rule about the values: ranges, their order, production safety. Fills in the
    /// defaults that depend on other variables (`DATABASE_URL`, the development `JWT_SECRET`).
    fn validate(mut self) -> Result<Self, ConfigError> {
        const SECOND: Duration = Duration::from_secs(1);
        const MINUTE: Duration = Duration::from_secs(60);
        const DAY: Duration = Duration::from_secs(24 * 3600);

        if self.database_url.is_empty() {
            self.database_url = format!("sqlite://{}/tasks.db", self.data_dir.display());
        }
        if !self.database_url.starts_with("sqlite:")
            && !super::db::is_postgres_url(&self.database_url)
        {
            return Err(ConfigError(
                "DATABASE_URL must start with `sqlite:` (for example sqlite://data/tasks.db) or \
                 `postgres://` (for example postgres://tasks@db.internal/tasks)"
                    .into(),
            ));
        }

        at_least_one("DB_MAX_CONNECTIONS", self.db.max_connections)?;
        if self.db.min_connections > self.db.max_connections {
            return Err(ConfigError(
                "DB_MIN_CONNECTIONS must not be larger than DB_MAX_CONNECTIONS".into(),
            ));
        }
        let millis_100 = Duration::from_millis(100);
        within(
            "DB_ACQUIRE_TIMEOUT",
            self.db.acquire_timeout,
            millis_100..=5 * MINUTE,
        )?;
        within(
            "DB_STATEMENT_TIMEOUT",
            self.db.statement_timeout,
            millis_100..=60 * MINUTE,
        )?;

        within("ACCESS_TOKEN_TTL", self.access_token_ttl, SECOND..=DAY)?;
        within(
            "REFRESH_IDLE_TTL",
            self.refresh_idle_ttl,
            MINUTE..=365 * DAY,
        )?;
        within(
            "SESSION_MAX_LIFETIME",
            self.session_max_lifetime,
            MINUTE..=365 * DAY,
        )?;
        within(
            "HEADER_READ_TIMEOUT",
            self.header_read_timeout,
            SECOND..=5 * MINUTE,
        )?;
        at_least_one("MAX_CONNECTIONS", self.max_connections)?;
        at_least_one("MAX_TASKS_PER_USER", self.max_tasks_per_user)?;
        at_least_one("WRITES_PER_MINUTE", self.writes_per_minute)?;
        within(
            "REFRESH_REUSE_GRACE",
            self.refresh_reuse_grace,
            Duration::ZERO..=5 * MINUTE,
        )?;
        within("AUDIT_RETENTION", self.audit_retention, DAY..=3650 * DAY)?;
        if self.refresh_idle_ttl > self.session_max_lifetime
            || self.access_token_ttl > self.refresh_idle_ttl
        {
            return Err(ConfigError(
                "token lifetimes must satisfy ACCESS_TOKEN_TTL <= REFRESH_IDLE_TTL <= \
                 SESSION_MAX_LIFETIME"
                    .into(),
            ));
        }

        within("RATE_LIMIT_WINDOW", self.limits.window, SECOND..=DAY)?;
        let limits = self.limits;
        at_least_one(
            "LOGIN_FAILURES_PER_ACCOUNT",
            limits.login_failures_per_account,
        )?;
        at_least_one("LOGIN_FAILURES_PER_IP", limits.login_failures_per_ip)?;
        at_least_one("REGISTRATIONS_PER_IP", limits.registrations_per_ip)?;
        at_least_one(
            "REGISTRATIONS_PER_ACCOUNT",
            limits.registrations_per_account,
        )?;

        // Production serves HTTPS: an auth cookie without Secure could leak over plain HTTP.
        if self.env == AppEnv::Production && !self.cookie_secure {
            return Err(ConfigError(
                "COOKIE_SECURE=false is only allowed in development; production must serve \
                 HTTPS and send the auth cookie with Secure"
                    .into(),
            ));
        }
        at_least_one("MAX_CONCURRENT_HASHES", self.max_concurrent_hashes)?;
        at_least_one("HASH_QUEUE_MAX", self.hash_queue_max)?;
        self.check_metrics_token()?;
        at_least_one("MAIL_REQUESTS_PER_IP", limits.mail_requests_per_ip)?;
        at_least_one(
            "MAIL_REQUESTS_PER_ADDRESS",
            limits.mail_requests_per_address,
        )?;
        within(
            "MAIL_RETRY_AFTER",
            self.mail_retry_after,
            SECOND..=60 * MINUTE,
        )?;
        self.check_mail()?;

        // Last, so that only an otherwise valid configuration leaves a development secret file.
        self.check_secret()?;
        self.check_totp_key()?;
        Ok(self)
    }

    /// `TOTP_ENCRYPTION_KEY`: in production set, long enough, not a placeholder and not the
    /// JWT secret (one leaked key must not open both). Messages never include the key.
    fn check_totp_key(&self) -> Result<(), ConfigError> {
        let Some(key) = &self.totp_encryption_key else {
            if self.env == AppEnv::Production {
                return Err(ConfigError(format!(
                    "TOTP_ENCRYPTION_KEY is not set; production needs a random key of at least \
                     {MIN_SECRET_LEN} bytes, different from JWT_SECRET, to encrypt two-step \
                     sign-in secrets (generate one with `openssl rand -hex 32`)"
                )));
            }
            return Ok(());
        };
        if key.expose().len() < MIN_SECRET_LEN {
            return Err(ConfigError(format!(
                "TOTP_ENCRYPTION_KEY is shorter than {MIN_SECRET_LEN} bytes; generate one with \
                 `openssl rand -hex 32`"
            )));
        }
        if self.env == AppEnv::Production && is_placeholder(&String::from_utf8_lossy(key.expose()))
        {
            return Err(ConfigError(
                "TOTP_ENCRYPTION_KEY is a placeholder from an example, which anyone can look up; \
                 generate a random one with `openssl rand -hex 32`"
                    .into(),
            ));
        }
        if key.expose() == self.jwt_secret.expose() {
            return Err(ConfigError(
                "TOTP_ENCRYPTION_KEY is the same as JWT_SECRET; use a key of its own (`openssl \
                 rand -hex 32`), so that one leaked secret does not give away the other"
                    .into(),
            ));
        }
        Ok(())
    }

    /// `JWT_SECRET`: long enough, and in production set and not a public placeholder. Messages
    /// never include the secret.
    fn check_secret(&mut self) -> Result<(), ConfigError> {
        if self.jwt_secret.expose().is_empty() {
            if self.env == AppEnv::Production {
                return Err(ConfigError(format!(
                    "JWT_SECRET is not set; production needs a random secret of at least \
                     {MIN_SECRET_LEN} bytes (generate one with `openssl rand -hex 32`)"
                )));
            }
            let (secret, generated) = dev_secret::load_or_create(&self.data_dir)?;
            self.jwt_secret = secret;
            self.secret_source = SecretSource::DevFile { generated };
            return Ok(());
        }
        if self.jwt_secret.expose().len() < MIN_SECRET_LEN {
            return Err(ConfigError(format!(
                "JWT_SECRET is shorter than {MIN_SECRET_LEN} bytes; generate one with \
                 `openssl rand -hex 32`"
            )));
        }
        if self.env == AppEnv::Production
            && is_placeholder(&String::from_utf8_lossy(self.jwt_secret.expose()))
        {
            return Err(ConfigError(
                "JWT_SECRET is a placeholder from an example, which anyone can look up; \
                 generate a random one with `openssl rand -hex 32`"
                    .into(),
            ));
        }
        self.secret_source = SecretSource::Environment;
        Ok(())
    }

    /// The mail settings: a readable `SMTP_URL`, `PUBLIC_URL` as a plain `http(s)` base
    /// (required in production when mail is sent), a valid `MAIL_FROM`, and
    /// `REQUIRE_VERIFIED_EMAIL` only where verification mail can arrive. Messages never include
    /// the SMTP password.
    fn check_mail(&mut self) -> Result<(), ConfigError> {
        if let Some(url) = &self.smtp_url {
            super::mail::transport::check_url(url.expose()).map_err(ConfigError)?;
        }
        if let Some(public) = self.public_url.take() {
            self.public_url = Some(check_public_url(&public)?);
        }
        let production = self.env == AppEnv::Production;
        if production && self.smtp_url.is_some() && self.public_url.is_none() {
            return Err(ConfigError(
                "PUBLIC_URL is not set; with SMTP_URL set, production needs the address people                  reach the service at (for example https://tasks.example.com), the base of the                  links in every mail. It is never taken from a request's Host header."
                    .into(),
            ));
        }
        if production && self.require_verified_email && self.smtp_url.is_none() {
            return Err(ConfigError(
                "REQUIRE_VERIFIED_EMAIL=true needs SMTP_URL in production: without mail nobody                  could verify an address, and every account would stay read-only"
                    .into(),
            ));
        }
        if let Some(from) = &self.mail_from {
            super::mail::transport::check_mailbox(from).map_err(ConfigError)?;
        }
        Ok(())
    }

    /// Whether the metrics are collected at all: only when something can read them
    /// (`METRICS_ADDR` or `METRICS_TOKEN`).
    pub fn metrics_enabled(&self) -> bool {
        self.metrics_addr.is_some() || self.metrics_token.is_some()
    }

    /// `METRICS_TOKEN`: a value that fits an `Authorization` header, and in production long
    /// and not a placeholder (the metrics tell an outsider how busy the service is, how many
    /// logins fail and when limits refuse). Messages never include the token.
    fn check_metrics_token(&self) -> Result<(), ConfigError> {
        let Some(token) = &self.metrics_token else {
            return Ok(());
        };
        let token = token.expose();
        if !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ConfigError(
                "METRICS_TOKEN must be printable ASCII without spaces (it is sent in an \
                 Authorization header); generate one with `openssl rand -hex 32`"
                    .into(),
            ));
        }
        if self.env == AppEnv::Production && token.len() < MIN_METRICS_TOKEN_LEN {
            return Err(ConfigError(format!(
                "METRICS_TOKEN is shorter than {MIN_METRICS_TOKEN_LEN} characters, too weak \
                 for production; generate one with `openssl rand -hex 32`, or unset it and \
                 serve the metrics on a private METRICS_ADDR"
            )));
        }
        if self.env == AppEnv::Production && is_placeholder(token) {
            return Err(ConfigError(
                "METRICS_TOKEN is a placeholder from an example, which anyone can look up; \
                 generate a random one with `openssl rand -hex 32`"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Every variable, in lower case as serde names the fields: those of [`Config`],
/// [`DbSettings`] and [`RateLimits`]. Only these are read from the environment.
fn variables() -> impl Iterator<Item = &'static str> {
    [
        field_names::<Config>(),
        field_names::<DbSettings>(),
        field_names::<RateLimits>(),
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The names serde deserializes `T`'s fields from (renames applied, skipped fields left out),
/// asked of serde itself so that no list is kept by hand.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};

    /// A deserializer that only records the field list a derived struct hands it.
    struct Recorder<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for Recorder<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("field names recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // Always an error: the recorder stops serde as soon as it has the list.
    let _ = T::deserialize(Recorder(&mut fields));
    fields
}

/// Turns the `config` crate's error into ours: the variable's name in upper case, as it is set,
/// followed by what is wrong. The value itself is left out (it may be a secret).
fn describe(err: config::ConfigError) -> ConfigError {
    match err {
        config::ConfigError::At {
            error,
            key: Some(key),
            ..
        } => ConfigError(format!("{} {error}", key.to_uppercase())),
        config::ConfigError::Type {
            expected,
            key: Some(key),
            ..
        } => ConfigError(format!("{} must be {expected}", key.to_uppercase())),
        config::ConfigError::Type { expected, .. } => ConfigError(format!(
            "a variable must be {expected}; check the variables against the README's \
             configuration table"
        )),
        other => ConfigError(format!(
            "{other}; check the variables against the README's configuration table"
        )),
    }
}

/// Field deserializers: each reads the text of a variable and says, without repeating it, what
/// it should look like (the caller adds the variable's name). Ranges are `validate`'s.
mod parse {
    use std::{str::FromStr, time::Duration};

    use ipnet::IpNet;
    use serde::{Deserialize, Deserializer, de::Error};

    /// A duration such as `30s`, `15m`, `12h` or `7d`.
    pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map_err(|_| D::Error::custom("must be a duration such as 30s, 15m, 12h or 7d"))
    }

    /// A whole number, zero or more.
    pub fn number<'de, D: Deserializer<'de>, T: FromStr>(d: D) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        text.trim()
            .parse()
            .map_err(|_| D::Error::custom("must be a whole number such as 10"))
    }

    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`), in any letter case.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        let text = String::deserialize(d)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(D::Error::custom("must be `true` or `false`")),
        }
    }

    /// An IP address and port such as `127.0.0.1:9100`.
    pub fn socket_addr<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<std::net::SocketAddr>, D::Error> {
        let text = String::deserialize(d)?;
        text.trim().parse().map(Some).map_err(|_| {
            D::Error::custom(
                "must be an IP address and port such as 127.0.0.1:9100 (or [::1]:9100); leave \
                 it unset to serve no metrics listener",
            )
        })
    }

    /// Comma-separated IP addresses or CIDR ranges; an address is a range of one.
    pub fn ip_nets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        let text = String::deserialize(d)?;
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        // An address is not a secret: naming the bad entry finds it in a list.
                        D::Error::custom(format!(
                            "has an entry `{s}` that is neither an IP address nor a CIDR range \
                             (e.g. 10.0.0.1 or 10.0.0.0/8)"
                        ))
                    })
            })
            .collect()
    }
}

/// `value` must lie within `range`.
fn within(
    name: &str,
    value: Duration,
    range: std::ops::RangeInclusive<Duration>,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(ConfigError(format!(
        "{name} must be between {} and {}",
        humantime::format_duration(*range.start()),
        humantime::format_duration(*range.end())
    )))
}

/// `value` must be 1 or more: a limit of 0 would lock everyone out or stop all work.
fn at_least_one<T: PartialOrd + From<u8>>(name: &str, value: T) -> Result<(), ConfigError> {
    if value < T::from(1) {
        return Err(ConfigError(format!("{name} must be at least 1")));
    }
    Ok(())
}

/// The development-only secret file: generated once, kept across restarts so sessions survive.
mod dev_secret {
    use std::{fs, io::Write, os::unix::fs::OpenOptionsExt, path::Path};

    use super::{ConfigError, JwtSecret, MIN_SECRET_LEN};

    const FILE_NAME: &str = "jwt_secret.dev";

    pub fn load_or_create(dir: &Path) -> Result<(JwtSecret, bool), ConfigError> {
        let path = dir.join(FILE_NAME);
        let io_err = |action: &str, e: std::io::Error| {
            ConfigError(format!(
                "could not {action} the development secret file {}: {e}. Set JWT_SECRET, or \
                 make DATA_DIR writable",
                path.display()
            ))
        };
        match fs::read(&path) {
            Ok(bytes) if bytes.len() >= MIN_SECRET_LEN => {
                return Ok((JwtSecret::new(bytes), false));
            }
            Ok(_) => {
                return Err(ConfigError(format!(
                    "the development secret file {} is too short; delete it to have a new one \
                     generated",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("read", e)),
        }
        fs::create_dir_all(dir).map_err(|e| io_err("create the folder of", e))?;
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw)
            .map_err(|e| ConfigError(format!("the OS random generator failed: {e}")))?;
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        // Owner-only permissions from the moment the file exists; `create_new` so two processes
        // starting at once cannot both write (the loser reads the winner's file).
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(hex.as_bytes())
                    .map_err(|e| io_err("write", e))?;
                Ok((JwtSecret::new(hex.into_bytes()), true))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let bytes = fs::read(&path).map_err(|e| io_err("read", e))?;
                Ok((JwtSecret::new(bytes), false))
            }
            Err(e) => Err(io_err("create", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const GOOD_SECRET: &str = "9c1f4e2ab87d03c5e6f1029384756abcdef0918273645f0e";
    const GOOD_TOTP_KEY: &str = "5e0b7d21c4a98f36e1d20b9c7a6f5e4d3c2b1a09f8e7d6c5";

    #[test]
    fn production_requires_a_strong_totp_key_of_its_own_without_echoing_it() {
        let production = |key: Option<&'static str>| {
            let mut pairs = vec![("APP_ENV", "production"), ("JWT_SECRET", GOOD_SECRET)];
            pairs.extend(key.map(|k| ("TOTP_ENCRYPTION_KEY", k)));
            Config::from_pairs(&pairs)
        };
        let missing = production(None).unwrap_err().to_string();
        assert!(
            missing.contains("TOTP_ENCRYPTION_KEY is not set"),
            "{missing}"
        );
        let short = production(Some("0123456789abcdef"))
            .unwrap_err()
            .to_string();
        assert!(short.contains("shorter than 32"), "{short}");
        assert!(!short.contains("0123456789abcdef"), "{short}");
        let placeholder = "change-me-change-me-change-me-change-me";
        let err = production(Some(placeholder)).unwrap_err().to_string();
        assert!(
            err.contains("placeholder") && !err.contains(placeholder),
            "{err}"
        );
        let reused = production(Some(GOOD_SECRET)).unwrap_err().to_string();
        assert!(
            reused.contains("same as JWT_SECRET") && !reused.contains(GOOD_SECRET),
            "{reused}"
        );
        let good = production(Some(GOOD_TOTP_KEY)).unwrap();
        assert_eq!(
            good.totp_encryption_key.unwrap().expose(),
            GOOD_TOTP_KEY.as_bytes()
        );
        // Development may leave it unset (derived from JWT_SECRET), and its Debug is redacted.
        assert!(
            Config::from_pairs(&[("JWT_SECRET", GOOD_SECRET)])
                .unwrap()
                .totp_encryption_key
                .is_none()
        );
        let dev = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
        ])
        .unwrap();
        assert!(!format!("{dev:?}").contains(GOOD_TOTP_KEY));
    }

    #[test]
    fn production_without_secret_refuses_to_start_and_names_the_variable() {
        let err = Config::from_pairs(&[("APP_ENV", "production")]).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
    }

    #[test]
    fn production_with_short_secret_refuses_without_echoing_it() {
        let err = Config::from_pairs(&[("APP_ENV", "production"), ("JWT_SECRET", "hunter2-short")])
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("JWT_SECRET") && text.contains("32"), "{text}");
        assert!(
            !text.contains("hunter2"),
            "the secret must never be echoed: {text}"
        );
    }

    #[test]
    fn production_refuses_insecure_cookies() {
        let err = Config::from_pairs(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("COOKIE_SECURE"));
    }

    #[test]
    fn defaults_are_safe() {
        let cfg = Config::from_pairs(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
        ])
        .unwrap();
        assert!(cfg.cookie_secure);
        assert_eq!(cfg.access_token_ttl, Duration::from_secs(15 * 60));
        assert_eq!(cfg.refresh_idle_ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(
            cfg.session_max_lifetime,
            Duration::from_secs(30 * 24 * 3600)
        );
        assert_eq!(cfg.limits, RateLimits::default());
        assert!(cfg.trusted_proxies.is_empty());
        assert!(cfg.database_url.starts_with("sqlite:"));
        assert!(
            !format!("{cfg:?}").contains(GOOD_SECRET),
            "Debug must redact the secret"
        );
    }

    #[test]
    fn development_generates_an_owner_only_secret_once_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let dir_str = dir.path().to_str().unwrap();
        let first = Config::from_pairs(&[("DATA_DIR", dir_str)]).unwrap();
        assert_eq!(
            first.secret_source,
            SecretSource::DevFile { generated: true }
        );
        let path = dir.path().join("jwt_secret.dev");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = Config::from_pairs(&[("DATA_DIR", dir_str)]).unwrap();
        assert_eq!(
            second.secret_source,
            SecretSource::DevFile { generated: false }
        );
        assert_eq!(first.jwt_secret.expose(), second.jwt_secret.expose());
        assert!(first.jwt_secret.expose().len() >= MIN_SECRET_LEN);
    }

    #[test]
    fn a_secret_made_of_digits_is_kept_as_text() {
        let digits = "1234567890123456789012345678901234567890";
        let cfg = Config::from_pairs(&[("JWT_SECRET", digits)]).unwrap();
        assert_eq!(cfg.jwt_secret.expose(), digits.as_bytes());
        assert_eq!(cfg.secret_source, SecretSource::Environment);
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("ACCESS_TOKEN_TTL", "soon"),
            ("ACCESS_TOKEN_TTL", "2days"),
            ("REFRESH_IDLE_TTL", "-1"),
            ("REFRESH_REUSE_GRACE", "10m"),
            ("LOGIN_FAILURES_PER_IP", "many"),
            ("LOGIN_FAILURES_PER_ACCOUNT", "0"),
            ("TRUSTED_PROXIES", "10.0.0.1,proxy.local"),
        ] {
            let err = Config::from_pairs(&[
                ("JWT_SECRET", GOOD_SECRET),
                ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
                (name, value),
            ])
            .unwrap_err();
            assert!(
                err.to_string().to_uppercase().contains(name),
                "{name}={value}: {err}"
            );
        }
    }

    #[test]
    fn audit_retention_defaults_to_90_days_and_keeps_at_least_a_day() {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
        ])
        .unwrap();
        assert_eq!(cfg.audit_retention, Duration::from_secs(90 * 86_400));
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("AUDIT_RETENTION", "30d"),
        ])
        .unwrap();
        assert_eq!(cfg.audit_retention, Duration::from_secs(30 * 86_400));
        let err = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("AUDIT_RETENTION", "1h"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("AUDIT_RETENTION"), "{err}");
    }

    #[test]
    fn refresh_reuse_grace_defaults_to_30s_and_0_turns_it_off() {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
        ])
        .unwrap();
        assert_eq!(cfg.refresh_reuse_grace, Duration::from_secs(30));
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("REFRESH_REUSE_GRACE", "0"),
        ])
        .unwrap();
        assert_eq!(cfg.refresh_reuse_grace, Duration::ZERO);
    }

    #[test]
    fn durations_and_proxies_are_parsed() {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("ACCESS_TOKEN_TTL", "20s"),
            ("REFRESH_IDLE_TTL", "1h"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7"),
        ])
        .unwrap();
        assert_eq!(cfg.access_token_ttl, Duration::from_secs(20));
        assert_eq!(cfg.refresh_idle_ttl, Duration::from_secs(3600));
        assert_eq!(cfg.trusted_proxies.len(), 2);
        assert!(
            cfg.trusted_proxies[1].contains(&"192.168.1.7".parse::<std::net::IpAddr>().unwrap())
        );
    }

    #[test]
    fn production_refuses_placeholder_secrets_without_echoing_them() {
        for placeholder in [
            "change-me-to-a-random-secret-of-at-least-32-bytes",
            "CHANGEME-CHANGEME-CHANGEME-CHANGEME",
            "0123456789abcdef0123456789abcdef",
            &"a".repeat(64),
        ] {
            let err = Config::from_pairs(&[("APP_ENV", "production"), ("JWT_SECRET", placeholder)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("JWT_SECRET") && err.contains("placeholder"),
                "{err}"
            );
            assert!(!err.contains(placeholder), "echoed the secret: {err}");
        }
    }

    #[test]
    fn unknown_app_env_is_rejected() {
        assert!(Config::from_pairs(&[("APP_ENV", "staging")]).is_err());
    }

    #[test]
    fn unsupported_database_url_is_rejected_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::from_pairs(&[
            ("DATA_DIR", dir.path().to_str().unwrap()),
            ("DATABASE_URL", "mysql://x"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"));
        assert!(err.to_string().contains("postgres://"));
    }

    #[test]
    fn postgres_url_and_pool_settings_are_accepted() {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("DATABASE_URL", "postgres://tasks@db.internal/tasks"),
            ("DB_MAX_CONNECTIONS", "25"),
            ("DB_MIN_CONNECTIONS", "2"),
            ("DB_ACQUIRE_TIMEOUT", "2s"),
            ("DB_STATEMENT_TIMEOUT", "500ms"),
        ])
        .unwrap();
        assert_eq!(cfg.db.max_connections, 25);
        assert_eq!(cfg.db.min_connections, 2);
        assert_eq!(cfg.db.acquire_timeout, Duration::from_secs(2));
        assert_eq!(cfg.db.statement_timeout, Duration::from_millis(500));
        let both = |max: &str, min: &str| {
            Config::from_pairs(&[
                ("JWT_SECRET", GOOD_SECRET),
                ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
                ("DB_MAX_CONNECTIONS", max),
                ("DB_MIN_CONNECTIONS", min),
            ])
        };
        assert!(
            both("0", "0")
                .unwrap_err()
                .to_string()
                .contains("DB_MAX_CONNECTIONS")
        );
        assert!(
            both("2", "3")
                .unwrap_err()
                .to_string()
                .contains("DB_MIN_CONNECTIONS")
        );
    }

    // --- One declaration per variable ---

    fn valid() -> Config {
        Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
        ])
        .unwrap()
    }

    /// `name` and `value` added to a configuration that is otherwise valid.
    fn with(name: &str, value: &str) -> Result<Config, ConfigError> {
        Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            (name, value),
        ])
    }

    fn error_of(name: &str, value: &str) -> String {
        with(name, value).unwrap_err().to_string()
    }

    #[test]
    fn unknown_app_env_is_refused_with_a_message_naming_app_env() {
        let err = error_of("APP_ENV", "staging");
        assert!(err.contains("APP_ENV"), "{err}");
        assert!(err.contains("`production`"), "{err}");
    }

    #[test]
    fn app_env_short_names_case_and_spaces_are_one_rule() {
        for (value, env) in [
            ("dev", AppEnv::Development),
            (" Development ", AppEnv::Development),
            ("prod", AppEnv::Production),
            ("PRODUCTION", AppEnv::Production),
        ] {
            assert_eq!(with("APP_ENV", value).unwrap().env, env, "{value:?}");
        }
    }

    #[test]
    fn log_format_defaults_to_json_in_production_and_text_in_development() {
        let production = Config::from_pairs(&[
            ("APP_ENV", "prod"),
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
        ]);
        assert_eq!(production.unwrap().log_format, LogFormat::Json);
        assert_eq!(valid().log_format, LogFormat::Text);
    }

    #[test]
    fn log_format_set_explicitly_wins_over_the_default() {
        let text = Config::from_pairs(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("LOG_FORMAT", "text"),
        ]);
        assert_eq!(text.unwrap().log_format, LogFormat::Text);
        assert_eq!(
            with("LOG_FORMAT", "JSON").unwrap().log_format,
            LogFormat::Json
        );
    }

    #[test]
    fn log_format_xml_is_refused() {
        let err = error_of("LOG_FORMAT", "xml");
        assert!(
            err.contains("LOG_FORMAT") && err.contains("`json` or `text`"),
            "{err}"
        );
    }

    #[test]
    fn max_connections_defaults_to_4096_and_must_be_at_least_one() {
        assert_eq!(valid().max_connections, 4096);
        assert_eq!(with("MAX_CONNECTIONS", "500").unwrap().max_connections, 500);
        let err = error_of("MAX_CONNECTIONS", "0");
        assert!(err.contains("MAX_CONNECTIONS must be at least 1"), "{err}");
        assert!(error_of("MAX_CONNECTIONS", "many").contains("MAX_CONNECTIONS"));
    }

    #[test]
    fn connections_per_ip_are_capped_at_256_unless_behind_trusted_proxies() {
        assert_eq!(valid().max_connections_per_ip, 256);
        // Behind a proxy every connection comes from its address: off.
        let proxied = with("TRUSTED_PROXIES", "10.0.0.0/8").unwrap();
        assert_eq!(proxied.max_connections_per_ip, 0);
        // An empty list is no proxy.
        assert_eq!(
            with("TRUSTED_PROXIES", " , ")
                .unwrap()
                .max_connections_per_ip,
            256
        );
        // An explicit value always wins, 0 (off) included.
        let explicit = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("TRUSTED_PROXIES", "10.0.0.1"),
            ("MAX_CONNECTIONS_PER_IP", "64"),
        ])
        .unwrap();
        assert_eq!(explicit.max_connections_per_ip, 64);
        assert_eq!(
            with("MAX_CONNECTIONS_PER_IP", "0")
                .unwrap()
                .max_connections_per_ip,
            0
        );
        // Blank means unset, as for every variable.
        assert_eq!(
            with("MAX_CONNECTIONS_PER_IP", " ")
                .unwrap()
                .max_connections_per_ip,
            256
        );
        let err = error_of("MAX_CONNECTIONS_PER_IP", "-1");
        assert!(err.contains("MAX_CONNECTIONS_PER_IP"), "{err}");
        assert!(!err.contains("-1"), "{err}");
    }

    #[test]
    fn hash_queue_max_defaults_to_64_and_must_be_at_least_one() {
        assert_eq!(valid().hash_queue_max, 64);
        assert_eq!(with("HASH_QUEUE_MAX", "500").unwrap().hash_queue_max, 500);
        let err = error_of("HASH_QUEUE_MAX", "0");
        assert!(err.contains("HASH_QUEUE_MAX must be at least 1"), "{err}");
        assert!(error_of("HASH_QUEUE_MAX", "lots").contains("HASH_QUEUE_MAX"));
    }

    #[test]
    fn hashing_threads_default_to_the_cpu_cores_and_must_be_at_least_one() {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        assert_eq!(valid().max_concurrent_hashes, cores);
        assert_eq!(
            with("MAX_CONCURRENT_HASHES", "3")
                .unwrap()
                .max_concurrent_hashes,
            3
        );
        let err = error_of("MAX_CONCURRENT_HASHES", "0");
        assert!(err.contains("MAX_CONCURRENT_HASHES"), "{err}");
    }

    #[test]
    fn rate_limits_are_read_from_their_own_variables() {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("RATE_LIMIT_WINDOW", "1m"),
            ("LOGIN_FAILURES_PER_ACCOUNT", "3"),
            ("LOGIN_FAILURES_PER_IP", "30"),
            ("REGISTRATIONS_PER_IP", "7"),
            ("REGISTRATIONS_PER_ACCOUNT", "2"),
            ("MAIL_REQUESTS_PER_IP", "9"),
            ("MAIL_REQUESTS_PER_ADDRESS", "4"),
        ])
        .unwrap();
        assert_eq!(
            cfg.limits,
            RateLimits {
                window: Duration::from_secs(60),
                login_failures_per_account: 3,
                login_failures_per_ip: 30,
                registrations_per_ip: 7,
                registrations_per_account: 2,
                mail_requests_per_ip: 9,
                mail_requests_per_address: 4,
            }
        );
    }

    #[test]
    fn production_mail_needs_a_public_url_and_verification_needs_mail() {
        let prod = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = prod.to_vec();
            pairs.extend_from_slice(extra);
            Config::from_pairs(&pairs)
        };
        let err = with(&[("SMTP_URL", "smtps://u:hunter2hunter2@mail.example.com")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("PUBLIC_URL") && !err.contains("hunter2"),
            "{err}"
        );
        let ok = with(&[
            ("SMTP_URL", "smtps://u:hunter2hunter2@mail.example.com"),
            ("PUBLIC_URL", "https://tasks.example.com/"),
        ])
        .unwrap();
        assert_eq!(ok.public_url.as_deref(), Some("https://tasks.example.com"));
        assert!(
            !format!("{ok:?}").contains("hunter2"),
            "Debug leaks the SMTP password"
        );
        // No mail at all is allowed in production (the flows say so); requiring verified
        // addresses without it is not.
        assert!(with(&[]).is_ok());
        let err = with(&[("REQUIRE_VERIFIED_EMAIL", "true")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("REQUIRE_VERIFIED_EMAIL") && err.contains("SMTP_URL"),
            "{err}"
        );
    }

    #[test]
    fn mail_settings_are_checked_with_their_names() {
        for (name, value, expected) in [
            ("PUBLIC_URL", "tasks.example.com", "PUBLIC_URL"),
            ("PUBLIC_URL", "ftp://tasks.example.com", "PUBLIC_URL"),
            ("PUBLIC_URL", "https://tasks.example.com/?x=1", "PUBLIC_URL"),
            ("SMTP_URL", "mail.example.com:25", "SMTP_URL"),
            ("MAIL_FROM", "not an address", "MAIL_FROM"),
            ("MAIL_RETRY_AFTER", "0s", "MAIL_RETRY_AFTER"),
            ("MAIL_REQUESTS_PER_IP", "0", "MAIL_REQUESTS_PER_IP"),
        ] {
            let err = Config::from_pairs(&[
                ("JWT_SECRET", GOOD_SECRET),
                ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
                (name, value),
            ])
            .unwrap_err()
            .to_string();
            assert!(err.contains(expected), "{name}={value}: {err}");
        }
    }

    #[test]
    fn grouped_variables_name_themselves_in_upper_case_when_malformed() {
        for (name, value) in [
            ("DB_MAX_CONNECTIONS", "ten"),
            ("DB_ACQUIRE_TIMEOUT", "soon"),
            ("RATE_LIMIT_WINDOW", "a while"),
            ("REGISTRATIONS_PER_ACCOUNT", "-1"),
            ("COOKIE_SECURE", "maybe"),
            ("ACCESS_TOKEN_TTL", "soon"),
        ] {
            let err = error_of(name, value);
            assert!(err.contains(name), "{name}={value}: {err}");
            assert!(!err.contains(value), "{name}={value} echoed: {err}");
        }
    }

    #[test]
    fn ranges_and_order_of_durations_are_enforced() {
        let err = error_of("DB_STATEMENT_TIMEOUT", "2h");
        assert!(
            err.contains("DB_STATEMENT_TIMEOUT must be between"),
            "{err}"
        );
        let err = error_of("RATE_LIMIT_WINDOW", "2days");
        assert!(err.contains("RATE_LIMIT_WINDOW must be between"), "{err}");
        let err = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("REFRESH_IDLE_TTL", "60d"),
            ("SESSION_MAX_LIFETIME", "30d"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("REFRESH_IDLE_TTL <= SESSION_MAX_LIFETIME"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_variable_means_its_default() {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("ACCESS_TOKEN_TTL", ""),
            ("DB_MAX_CONNECTIONS", " "),
            ("JWT_ISSUER", ""),
            ("LOG_FORMAT", ""),
        ])
        .unwrap();
        assert_eq!(cfg.access_token_ttl, Duration::from_secs(15 * 60));
        assert_eq!(cfg.db, DbSettings::default());
        assert_eq!(cfg.jwt_issuer, "tasks");
        assert_eq!(cfg.log_format, LogFormat::Text);
    }

    #[test]
    fn a_later_pair_overrides_an_earlier_one_and_case_does_not_matter_in_names() {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
            ("LOGIN_FAILURES_PER_IP", "50"),
            ("login_failures_per_ip", "100000"),
        ])
        .unwrap();
        assert_eq!(cfg.limits.login_failures_per_ip, 100_000);
    }

    #[test]
    fn the_variables_are_the_fields_and_nothing_else() {
        let names: Vec<String> = variables().map(str::to_uppercase).collect();
        for expected in [
            "APP_ENV",
            "DATABASE_URL",
            "JWT_SECRET",
            "DB_MAX_CONNECTIONS",
            "RATE_LIMIT_WINDOW",
            "LOGIN_FAILURES_PER_ACCOUNT",
            "LOG_FORMAT",
            "HASH_QUEUE_MAX",
            "MAX_CONCURRENT_HASHES",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
        }
        for not_variables in ["ENV", "DB", "LIMITS", "SECRET_SOURCE", "WINDOW"] {
            assert!(!names.iter().any(|n| n == not_variables), "{names:?}");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a variable is declared twice");
    }

    #[test]
    fn every_variable_is_documented_in_the_readme_table_and_env_example() {
        let readme = include_str!("../../README.md");
        let table = readme
            .split("## Configuration")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("a Configuration section in the README");
        let example = include_str!("../../.env.example");
        for name in variables().map(str::to_uppercase) {
            assert!(
                table.contains(&format!("`{name}`")),
                "{name} is missing from the README's configuration table"
            );
            assert!(
                example.contains(&format!("{name}=")),
                "{name} is missing from .env.example"
            );
        }
    }

    #[test]
    fn metrics_are_off_unless_an_address_or_a_token_is_set() {
        let cfg = valid();
        assert!(cfg.metrics_addr.is_none() && cfg.metrics_token.is_none());
        assert!(!cfg.metrics_enabled());
        let cfg = with("METRICS_ADDR", "127.0.0.1:9100").unwrap();
        assert_eq!(cfg.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
        assert!(cfg.metrics_enabled());
        let cfg = with("METRICS_ADDR", " [::1]:9100 ").unwrap();
        assert_eq!(cfg.metrics_addr, Some("[::1]:9100".parse().unwrap()));
        assert!(
            with("METRICS_TOKEN", "short-is-fine-in-development")
                .unwrap()
                .metrics_enabled()
        );
    }

    #[test]
    fn a_metrics_addr_without_a_port_or_with_a_host_name_is_refused_by_name() {
        for value in ["127.0.0.1", "localhost:9100", "9100"] {
            let err = error_of("METRICS_ADDR", value);
            assert!(
                err.contains("METRICS_ADDR") && err.contains("127.0.0.1:9100"),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn production_refuses_a_short_or_placeholder_metrics_token_without_echoing_it() {
        let production = |token: &str| {
            Config::from_pairs(&[
                ("APP_ENV", "production"),
                ("JWT_SECRET", GOOD_SECRET),
                ("TOTP_ENCRYPTION_KEY", GOOD_TOTP_KEY),
                ("METRICS_TOKEN", token),
            ])
        };
        let err = production("scrape-me-please").unwrap_err().to_string();
        assert!(err.contains("METRICS_TOKEN") && err.contains("32"), "{err}");
        assert!(!err.contains("scrape-me-please"), "echoed the token: {err}");
        let placeholder = "change-me-to-a-long-random-metrics-token";
        let err = production(placeholder).unwrap_err().to_string();
        assert!(
            err.contains("METRICS_TOKEN") && err.contains("placeholder"),
            "{err}"
        );
        assert!(!err.contains(placeholder), "echoed the token: {err}");
        let strong = "0f8e2c9a7b6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
        let cfg = production(strong).unwrap();
        assert_eq!(cfg.metrics_token.as_ref().unwrap().expose(), strong);
        assert!(
            !format!("{cfg:?}").contains(strong),
            "Debug must redact the token"
        );
    }

    #[test]
    fn a_metrics_token_that_cannot_travel_in_a_header_is_refused() {
        let err = error_of("METRICS_TOKEN", "two words-0123456789abcdef0123456789");
        assert!(
            err.contains("METRICS_TOKEN must be printable ASCII"),
            "{err}"
        );
        assert!(!err.contains("two words"), "echoed the token: {err}");
    }

    #[test]
    fn a_malformed_env_file_line_is_named_by_its_variable_without_its_value() {
        let file = "APP_ENV=development\nJWT_SECRET='s3cret-value-never-printed\nOTHER=1\n";
        let err = dotenvy::from_read_iter(file.as_bytes())
            .find_map(Result::err)
            .expect("an unterminated quote is an error");
        let message = dotenv_error(&err).to_string();
        assert!(message.contains("JWT_SECRET"), "{message}");
        assert!(!message.contains("s3cret"), "echoed the value: {message}");
    }
}
