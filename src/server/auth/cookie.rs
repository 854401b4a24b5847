//! The auth cookie: one place that decides its name and attributes, for setting and clearing.

use axum::http::{HeaderMap, header};
use tower_cookies::cookie::{Cookie, SameSite, time::Duration as CookieDuration};

use super::jwt::AccessToken;
use crate::server::config::Config;

/// With `Secure` we use the `__Host-` prefix: browsers then refuse the cookie unless it is
/// Secure, has `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow it.
const SECURE_NAME: &str = "__Host-tasks_session";
/// Plain-HTTP local development only: browsers reject `__Host-` cookies without `Secure`.
const DEV_NAME: &str = "tasks_session";

/// The cookie's name under this configuration.
pub fn name(config: &Config) -> &'static str {
    if config.cookie_secure {
        SECURE_NAME
    } else {
        DEV_NAME
    }
}

fn base(config: &Config, value: String) -> Cookie<'static> {
    Cookie::build((name(config), value))
        // Never readable from JavaScript: an XSS bug cannot steal the session.
        .http_only(true)
        // Not sent on cross-site subrequests or POSTs: the baseline CSRF defence.
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.cookie_secure)
        .build()
}

/// The cookie that carries a freshly issued access token; it expires with the token.
pub fn session(config: &Config, token: &AccessToken, ttl: std::time::Duration) -> Cookie<'static> {
    let mut cookie = base(config, token.expose().to_owned());
    cookie.set_max_age(CookieDuration::seconds(
        i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
    ));
    cookie
}

/// A cookie that replaces the session cookie with an empty, already expired one. It has the
/// same name, path and flags as the one it removes; otherwise browsers keep the original.
pub fn removal(config: &Config) -> Cookie<'static> {
    let mut cookie = base(config, String::new());
    cookie.set_max_age(CookieDuration::ZERO);
    cookie.set_expires(tower_cookies::cookie::time::OffsetDateTime::UNIX_EPOCH);
    cookie
}

/// The session cookie's value from the request's `Cookie` headers, if present and non-empty.
pub fn read(headers: &HeaderMap, config: &Config) -> Option<String> {
    let wanted = name(config);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| Cookie::split_parse(value.to_owned()))
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == wanted)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secure: bool) -> Config {
        Config::from_pairs(&[
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("COOKIE_SECURE", if secure { "true" } else { "false" }),
        ])
        .unwrap()
    }

    #[test]
    fn secure_cookie_is_host_prefixed_httponly_lax() {
        let cfg = config(true);
        let text = base(&cfg, "v".into()).to_string();
        assert!(text.starts_with("__Host-tasks_session=v"), "{text}");
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
            assert!(text.contains(attr), "{attr} missing in {text}");
        }
        assert!(!text.contains("Domain"), "{text}");
    }

    #[test]
    fn development_cookie_drops_secure_and_prefix() {
        let text = base(&config(false), "v".into()).to_string();
        assert!(
            text.starts_with("tasks_session=v") && !text.contains("Secure"),
            "{text}"
        );
        assert!(text.contains("HttpOnly"));
    }

    #[test]
    fn removal_matches_the_session_cookie_attributes() {
        let cfg = config(true);
        let text = removal(&cfg).to_string();
        assert!(text.starts_with("__Host-tasks_session=;"), "{text}");
        assert!(text.contains("Max-Age=0") && text.contains("Path=/") && text.contains("Secure"));
    }

    #[test]
    fn read_finds_the_cookie_among_others() {
        let cfg = config(false);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; tasks_session=tok; b=2".parse().unwrap(),
        );
        assert_eq!(read(&headers, &cfg).as_deref(), Some("tok"));
        headers.insert(header::COOKIE, "tasks_session=".parse().unwrap());
        assert_eq!(read(&headers, &cfg), None);
    }
}
