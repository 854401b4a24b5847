//! Runtime configuration, read once at startup from the environment (and an optional `.env`).
//!
//! Every variable is documented in the README's configuration table and in `.env.example`.
//! Startup errors name the variable that is wrong and say how to fix it, never its value.

use std::{collections::HashMap, fmt, path::PathBuf, time::Duration};

use ipnet::IpNet;

use serde::Deserialize;

/// Minimum length of `JWT_SECRET`: HS256 keys shorter than the hash output (32 bytes) weaken it
/// (RFC 7518 §3.2).
pub const MIN_SECRET_LEN: usize = 32;

/// Which safety rules apply: production refuses anything that is only fit for a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    Development,
    Production,
}

/// The HMAC key that signs access tokens. Not `Serialize`, and its `Debug` is redacted, so it
/// cannot reach a client or a log line by accident.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl JwtSecret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret([redacted])")
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

/// The validated configuration the application runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub env: AppEnv,
    /// `sqlite:…` or `postgres://…`; the scheme alone picks the engine.
    pub database_url: String,
    pub db: DbSettings,
    pub jwt_secret: JwtSecret,
    pub secret_source: SecretSource,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    /// A refresh token unused for this long expires (the session's idle timeout).
    pub refresh_idle_ttl: Duration,
    /// No session lives longer than this, however often it is refreshed.
    pub session_max_lifetime: Duration,
    pub limits: RateLimits,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies, load balancers).
    pub trusted_proxies: Vec<IpNet>,
    /// Send the auth cookie with `Secure` (and the `__Host-` prefix). Off only for plain-HTTP
    /// local development.
    pub cookie_secure: bool,
    pub data_dir: PathBuf,
    /// How many argon2 computations may run at once (each takes ~19 MiB and one core).
    pub max_concurrent_hashes: usize,
}

/// Connection-pool settings. On PostgreSQL they size the one pool; on SQLite `max_connections`
/// sizes the readers (writes always go through one connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long a request waits for a free connection before it is answered 503.
    pub acquire_timeout: Duration,
    /// PostgreSQL cancels any statement running longer than this (`statement_timeout`).
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

/// Login and registration attempt limits, per fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub window: Duration,
    /// Failed logins for one account (from anywhere) before it is locked for the window.
    pub login_failures_per_account: u32,
    /// Failed logins from one client IP (for any accounts) before it is locked out.
    pub login_failures_per_ip: u32,
    /// Registration attempts from one client IP.
    pub registrations_per_ip: u32,
    /// Registration attempts for one email address (stops probing which emails exist).
    pub registrations_per_account: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            login_failures_per_account: 5,
            login_failures_per_ip: 50,
            registrations_per_ip: 20,
            registrations_per_account: 5,
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

fn is_placeholder(secret: &str) -> bool {
    let lower = secret.trim().to_lowercase();
    let one_char_repeated = lower.chars().all(|c| Some(c) == lower.chars().next());
    one_char_repeated
        || PLACEHOLDER_SECRETS.contains(&lower.as_str())
        || lower.contains("change-me")
        || lower.contains("changeme")
        || lower.contains("placeholder")
}

/// The raw environment, before defaults and checks.
#[derive(Debug, Deserialize, Default)]
struct RawConfig {
    app_env: Option<String>,
    database_url: Option<String>,
    db_max_connections: Option<u32>,
    db_min_connections: Option<u32>,
    db_acquire_timeout: Option<String>,
    db_statement_timeout: Option<String>,
    jwt_secret: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    access_token_ttl: Option<String>,
    refresh_idle_ttl: Option<String>,
    session_max_lifetime: Option<String>,
    rate_limit_window: Option<String>,
    login_failures_per_account: Option<u32>,
    login_failures_per_ip: Option<u32>,
    registrations_per_ip: Option<u32>,
    registrations_per_account: Option<u32>,
    trusted_proxies: Option<String>,
    cookie_secure: Option<bool>,
    data_dir: Option<String>,
    max_concurrent_hashes: Option<usize>,
}

/// A configuration problem that stops startup. The message names the variable and the fix.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

const VARIABLES: &[&str] = &[
    "APP_ENV",
    "DATABASE_URL",
    "DB_MAX_CONNECTIONS",
    "DB_MIN_CONNECTIONS",
    "DB_ACQUIRE_TIMEOUT",
    "DB_STATEMENT_TIMEOUT",
    "JWT_SECRET",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "ACCESS_TOKEN_TTL",
    "REFRESH_IDLE_TTL",
    "SESSION_MAX_LIFETIME",
    "RATE_LIMIT_WINDOW",
    "LOGIN_FAILURES_PER_ACCOUNT",
    "LOGIN_FAILURES_PER_IP",
    "REGISTRATIONS_PER_IP",
    "REGISTRATIONS_PER_ACCOUNT",
    "TRUSTED_PROXIES",
    "COOKIE_SECURE",
    "DATA_DIR",
    "MAX_CONCURRENT_HASHES",
];

impl Config {
    /// Reads the process environment (after loading `.env`, if present).
    ///
    /// # Errors
    /// A variable has an unusable value, or production mode lacks a safe secret.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is not silently ignored.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError(format!("could not read the .env file: {e}"))),
        }
        let mut vars = HashMap::new();
        for name in VARIABLES {
            match std::env::var(name) {
                Ok(value) => {
                    vars.insert((*name).to_owned(), value);
                }
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(ConfigError(format!("{name} is not valid UTF-8")));
                }
            }
        }
        Self::resolve(parse(vars)?)
    }

    /// Builds a configuration from explicit key/value pairs, ignoring the process environment.
    /// Used by tests, which must not depend on the machine they run on.
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let vars = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::resolve(parse(vars)?)
    }

    fn resolve(raw: RawConfig) -> Result<Self, ConfigError> {
        let env = match raw.app_env.as_deref().map(str::trim) {
            None | Some("") | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(_) => {
                return Err(ConfigError(
                    "APP_ENV must be `development` or `production`".into(),
                ));
            }
        };
        let db = db_settings(&raw)?;
        let data_dir = PathBuf::from(raw.data_dir.unwrap_or_else(|| "data".into()));
        let database_url = match raw.database_url {
            Some(url) if !url.trim().is_empty() => url,
            _ => format!("sqlite://{}/tasks.db", data_dir.display()),
        };
        if !database_url.starts_with("sqlite:") && !super::db::is_postgres_url(&database_url) {
            return Err(ConfigError(
                "DATABASE_URL must start with `sqlite:` (for example sqlite://data/tasks.db) or \
                 `postgres://` (for example postgres://tasks@db.internal/tasks)"
                    .into(),
            ));
        }

        let (jwt_secret, secret_source) = match raw.jwt_secret.filter(|s| !s.is_empty()) {
            Some(secret) => {
                if secret.len() < MIN_SECRET_LEN {
                    return Err(ConfigError(format!(
                        "JWT_SECRET is shorter than {MIN_SECRET_LEN} bytes; generate one with \
                         `openssl rand -hex 32`"
                    )));
                }
                if env == AppEnv::Production && is_placeholder(&secret) {
                    return Err(ConfigError(
                        "JWT_SECRET is a placeholder from an example, which anyone can look up; \
                         generate a random one with `openssl rand -hex 32`"
                            .into(),
                    ));
                }
                (
                    JwtSecret::new(secret.into_bytes()),
                    SecretSource::Environment,
                )
            }
            None if env == AppEnv::Production => {
                return Err(ConfigError(format!(
                    "JWT_SECRET is not set; production needs a random secret of at least \
                     {MIN_SECRET_LEN} bytes (generate one with `openssl rand -hex 32`)"
                )));
            }
            None => {
                let (secret, generated) = dev_secret::load_or_create(&data_dir)?;
                (secret, SecretSource::DevFile { generated })
            }
        };

        let access_token_ttl = duration(
            "ACCESS_TOKEN_TTL",
            raw.access_token_ttl.as_deref(),
            Duration::from_secs(15 * 60),
            Duration::from_secs(1)..=Duration::from_secs(24 * 3600),
        )?;
        let refresh_idle_ttl = duration(
            "REFRESH_IDLE_TTL",
            raw.refresh_idle_ttl.as_deref(),
            Duration::from_secs(7 * 24 * 3600),
            Duration::from_secs(60)..=Duration::from_secs(365 * 24 * 3600),
        )?;
        let session_max_lifetime = duration(
            "SESSION_MAX_LIFETIME",
            raw.session_max_lifetime.as_deref(),
            Duration::from_secs(30 * 24 * 3600),
            Duration::from_secs(60)..=Duration::from_secs(365 * 24 * 3600),
        )?;
        if refresh_idle_ttl > session_max_lifetime || access_token_ttl > refresh_idle_ttl {
            return Err(ConfigError(
                "token lifetimes must satisfy ACCESS_TOKEN_TTL <= REFRESH_IDLE_TTL <= \
                 SESSION_MAX_LIFETIME"
                    .into(),
            ));
        }
        let defaults = RateLimits::default();
        let limits = RateLimits {
            window: duration(
                "RATE_LIMIT_WINDOW",
                raw.rate_limit_window.as_deref(),
                defaults.window,
                Duration::from_secs(1)..=Duration::from_secs(24 * 3600),
            )?,
            login_failures_per_account: positive(
                "LOGIN_FAILURES_PER_ACCOUNT",
                raw.login_failures_per_account,
                defaults.login_failures_per_account,
            )?,
            login_failures_per_ip: positive(
                "LOGIN_FAILURES_PER_IP",
                raw.login_failures_per_ip,
                defaults.login_failures_per_ip,
            )?,
            registrations_per_ip: positive(
                "REGISTRATIONS_PER_IP",
                raw.registrations_per_ip,
                defaults.registrations_per_ip,
            )?,
            registrations_per_account: positive(
                "REGISTRATIONS_PER_ACCOUNT",
                raw.registrations_per_account,
                defaults.registrations_per_account,
            )?,
        };
        let trusted_proxies = raw
            .trusted_proxies
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        ConfigError(format!(
                            "TRUSTED_PROXIES has an entry `{s}` that is neither an IP address \
                             nor a CIDR range (e.g. 10.0.0.1 or 10.0.0.0/8)"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cookie_secure = raw.cookie_secure.unwrap_or(true);
        if env == AppEnv::Production && !cookie_secure {
            return Err(ConfigError(
                "COOKIE_SECURE=false is only allowed in development; production must serve \
                 HTTPS and send the auth cookie with Secure"
                    .into(),
            ));
        }
        let max_concurrent_hashes = raw
            .max_concurrent_hashes
            .unwrap_or_else(default_hash_permits);
        if max_concurrent_hashes == 0 {
            return Err(ConfigError(
                "MAX_CONCURRENT_HASHES must be at least 1".into(),
            ));
        }

        Ok(Self {
            env,
            database_url,
            db,
            jwt_secret,
            secret_source,
            jwt_issuer: raw.jwt_issuer.unwrap_or_else(|| "tasks".into()),
            jwt_audience: raw.jwt_audience.unwrap_or_else(|| "tasks".into()),
            access_token_ttl,
            refresh_idle_ttl,
            session_max_lifetime,
            limits,
            trusted_proxies,
            cookie_secure,
            data_dir,
            max_concurrent_hashes,
        })
    }
}

fn db_settings(raw: &RawConfig) -> Result<DbSettings, ConfigError> {
    let defaults = DbSettings::default();
    let max_connections = positive(
        "DB_MAX_CONNECTIONS",
        raw.db_max_connections,
        defaults.max_connections,
    )?;
    let min_connections = raw.db_min_connections.unwrap_or(defaults.min_connections);
    if min_connections > max_connections {
        return Err(ConfigError(
            "DB_MIN_CONNECTIONS must not be larger than DB_MAX_CONNECTIONS".into(),
        ));
    }
    Ok(DbSettings {
        max_connections,
        min_connections,
        acquire_timeout: duration(
            "DB_ACQUIRE_TIMEOUT",
            raw.db_acquire_timeout.as_deref(),
            defaults.acquire_timeout,
            Duration::from_millis(100)..=Duration::from_secs(300),
        )?,
        statement_timeout: duration(
            "DB_STATEMENT_TIMEOUT",
            raw.db_statement_timeout.as_deref(),
            defaults.statement_timeout,
            Duration::from_millis(100)..=Duration::from_secs(3600),
        )?,
    })
}

/// Turns the variables into typed fields. Values stay strings until a field's type asks for a
/// number or a bool, so a secret made only of digits is still read as text.
fn parse(vars: HashMap<String, String>) -> Result<RawConfig, ConfigError> {
    config::Config::builder()
        .add_source(config::Environment::default().source(Some(vars)))
        .build()
        .and_then(config::Config::try_deserialize)
        .map_err(|e| {
            ConfigError(format!(
                "{e}; check that variable against the README's configuration table"
            ))
        })
}

/// Reads a duration such as `15m`, `7d` or `30s`, within `range`.
fn duration(
    name: &str,
    value: Option<&str>,
    default: Duration,
    range: std::ops::RangeInclusive<Duration>,
) -> Result<Duration, ConfigError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    let parsed = humantime::parse_duration(value).map_err(|_| {
        ConfigError(format!(
            "{name} must be a duration such as 30s, 15m, 12h or 7d"
        ))
    })?;
    if !range.contains(&parsed) {
        return Err(ConfigError(format!(
            "{name} must be between {} and {}",
            humantime::format_duration(*range.start()),
            humantime::format_duration(*range.end())
        )));
    }
    Ok(parsed)
}

fn positive(name: &str, value: Option<u32>, default: u32) -> Result<u32, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ConfigError(format!("{name} must be at least 1"))),
        Some(n) => Ok(n),
    }
}

fn default_hash_permits() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
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
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("COOKIE_SECURE"));
    }

    #[test]
    fn defaults_are_safe() {
        let cfg =
            Config::from_pairs(&[("APP_ENV", "production"), ("JWT_SECRET", GOOD_SECRET)]).unwrap();
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
            ("LOGIN_FAILURES_PER_IP", "many"),
            ("LOGIN_FAILURES_PER_ACCOUNT", "0"),
            ("TRUSTED_PROXIES", "10.0.0.1,proxy.local"),
        ] {
            let err =
                Config::from_pairs(&[("JWT_SECRET", GOOD_SECRET), (name, value)]).unwrap_err();
            assert!(
                err.to_string().to_uppercase().contains(name),
                "{name}={value}: {err}"
            );
        }
    }

    #[test]
    fn durations_and_proxies_are_parsed() {
        let cfg = Config::from_pairs(&[
            ("JWT_SECRET", GOOD_SECRET),
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
}
