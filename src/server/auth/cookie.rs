//! The auth cookies (access token and refresh token): one place that decides their names and
//! attributes, for setting and clearing.

use axum::http::{HeaderMap, header};
use tower_cookies::cookie::{Cookie, SameSite, time::Duration as CookieDuration};

use super::{jwt::AccessToken, refresh::RefreshToken};
use crate::server::config::Config;

/// With `Secure` we use the `__Host-` prefix: browsers then refuse the cookie unless it is
/// Secure, has `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow it.
const SECURE_ACCESS: &str = "__Host-tasks_session";
const SECURE_REFRESH: &str = "__Host-tasks_refresh";
/// Plain-HTTP local development only: browsers reject `__Host-` cookies without `Secure`.
const DEV_ACCESS: &str = "tasks_session";
const DEV_REFRESH: &str = "tasks_refresh";
/// The device cookie: proof that this browser (or cookie-keeping client) signed in to an
/// account before, so strangers' failed logins do not lock it out (`attempt_limits`).
const SECURE_DEVICE: &str = "__Host-tasks_device";
const DEV_DEVICE: &str = "tasks_device";
/// How long a device stays known after its last successful sign-in.
pub const DEVICE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(180 * 24 * 3600);

/// The access-token cookie's name under this configuration.
pub fn access_name(config: &Config) -> &'static str {
    if config.cookie_secure {
        SECURE_ACCESS
    } else {
        DEV_ACCESS
    }
}

/// The refresh-token cookie's name. `Path=/` like the access cookie (`__Host-` demands it, and
/// the silent refresh runs on whatever page the browser asks for).
pub fn refresh_name(config: &Config) -> &'static str {
    if config.cookie_secure {
        SECURE_REFRESH
    } else {
        DEV_REFRESH
    }
}

fn base(config: &Config, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        // Never readable from JavaScript: an XSS bug cannot steal the session.
        .http_only(true)
        // Not sent on cross-site subrequests or POSTs: the baseline CSRF defence.
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.cookie_secure)
        .build()
}

fn max_age(lifetime: std::time::Duration) -> CookieDuration {
    CookieDuration::seconds(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX))
}

/// The cookie that carries a freshly issued access token; the browser drops it when the token
/// expires, which is the silent refresh's cue.
pub fn access(config: &Config, token: &AccessToken, ttl: std::time::Duration) -> Cookie<'static> {
    let mut cookie = base(config, access_name(config), token.expose().to_owned());
    cookie.set_max_age(max_age(ttl));
    cookie
}

/// The cookie that carries the refresh token; it lives as long as the token may be used.
pub fn refresh(
    config: &Config,
    token: &RefreshToken,
    lifetime: std::time::Duration,
) -> Cookie<'static> {
    let mut cookie = base(config, refresh_name(config), token.expose().to_owned());
    cookie.set_max_age(max_age(lifetime));
    cookie
}

/// The device cookie's name under this configuration.
pub fn device_name(config: &Config) -> &'static str {
    if config.cookie_secure {
        SECURE_DEVICE
    } else {
        DEV_DEVICE
    }
}

/// The device cookie: a signed device token that outlives sessions (logging out keeps it, so
/// the browser stays known), `SameSite=Strict` since only our own login form needs it.
pub fn device(config: &Config, token: String) -> Cookie<'static> {
    let mut cookie = base(config, device_name(config), token);
    cookie.set_same_site(SameSite::Strict);
    cookie.set_max_age(max_age(DEVICE_LIFETIME));
    cookie
}

/// Cookies that replace both auth cookies with empty, already expired ones. They have the same
/// names, path and flags as the ones they remove; otherwise browsers keep the originals.
pub fn removals(config: &Config) -> [Cookie<'static>; 2] {
    [access_name(config), refresh_name(config)].map(|name| {
        let mut cookie = base(config, name, String::new());
        cookie.set_max_age(CookieDuration::ZERO);
        cookie.set_expires(tower_cookies::cookie::time::OffsetDateTime::UNIX_EPOCH);
        cookie
    })
}

/// The value of cookie `wanted` from the request's `Cookie` headers, if present and non-empty.
pub fn read(headers: &HeaderMap, wanted: &str) -> Option<String> {
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
        let text = base(&cfg, access_name(&cfg), "v".into()).to_string();
        assert!(text.starts_with("__Host-tasks_session=v"), "{text}");
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
            assert!(text.contains(attr), "{attr} missing in {text}");
        }
        assert!(!text.contains("Domain"), "{text}");
    }

    #[test]
    fn development_cookie_drops_secure_and_prefix() {
        let cfg = config(false);
        let text = base(&cfg, access_name(&cfg), "v".into()).to_string();
        assert!(
            text.starts_with("tasks_session=v") && !text.contains("Secure"),
            "{text}"
        );
        assert!(text.contains("HttpOnly"));
    }

    #[test]
    fn removal_matches_the_session_cookie_attributes() {
        let cfg = config(true);
        let [access, refresh] = removals(&cfg).map(|c| c.to_string());
        assert!(access.starts_with("__Host-tasks_session=;"), "{access}");
        assert!(refresh.starts_with("__Host-tasks_refresh=;"), "{refresh}");
        for text in [access, refresh] {
            for attr in ["Max-Age=0", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
                assert!(text.contains(attr), "{attr} missing in {text}");
            }
        }
    }

    #[test]
    fn refresh_cookie_has_the_same_protections() {
        let cfg = config(true);
        let token = RefreshToken::generate().unwrap();
        let text = refresh(&cfg, &token, std::time::Duration::from_secs(60)).to_string();
        assert!(text.starts_with("__Host-tasks_refresh="), "{text}");
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure", "Max-Age=60"] {
            assert!(text.contains(attr), "{attr} missing in {text}");
        }
    }

    #[test]
    fn read_finds_the_cookie_among_others() {
        let cfg = config(false);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; tasks_session=tok; b=2".parse().unwrap(),
        );
        assert_eq!(read(&headers, access_name(&cfg)).as_deref(), Some("tok"));
        headers.insert(header::COOKIE, "tasks_session=".parse().unwrap());
        assert_eq!(read(&headers, access_name(&cfg)), None);
    }
}
