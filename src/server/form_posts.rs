//! Plain HTML form posts to server functions (JavaScript off): where the browser goes next, and
//! how the error (or, for a few forms, the answer) comes back onto the form.
//!
//! Leptos answers such a post with a redirect to the `Referer`, and on failure appends the error
//! to that URL (`__path`, `__err`), which the page would decode and show. A URL anyone can craft
//! would then put any text on our pages ("Account locked. Call +1-555-0100"), and a foreign
//! `Referer` would make us redirect off-site. This layer rewrites every such redirect:
//!
//! - the target is the `Referer`'s path only when it is on this host, else the form's own page;
//! - the error leaves the URL and travels in a short-lived HttpOnly cookie set by this response,
//!   which only the page of that form reads (once: reading removes it). A crafted link cannot
//!   set a cookie, so every message a page shows is one our server produced for this browser.
//!   The forms whose pages say what they did ([`SAYS_WHAT_IT_DID`]) get their answer back the
//!   same way.
//!
//! Leptos' router still reads `__err` from any page URL, on the server and again in the browser,
//! so [`drop_error_params`] answers a page request carrying those parameters with a redirect to
//! the same URL without them: a crafted link shows the page, never its text.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use tower_cookies::{
    Cookies,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
};

use super::{
    config::Config, error::MAX_SERVER_FN_ERROR_BYTES, routes::MAX_BODY_BYTES, state::AppState,
};
use crate::{components::form::Refusal, error::AppError, paths};

/// The fields of a refused form that come back filled in, so nobody types them twice: what a
/// person writes in the open (names, addresses, titles), never a password, code or token.
const KEPT_FIELDS: &[&str] = &["name", "email", "new_email", "title"];
/// A kept value longer than this is dropped (the cookie must stay well under 4 KB).
const KEPT_VALUE_MAX: usize = 500;
/// The server functions whose pages say what they did ("Sent. Check your inbox.", "2 other
/// sessions were signed out."): a plain form post to one of them that went through comes back
/// with the function's answer in the same one-time cookie a refusal uses, so the page shows
/// the same message with JavaScript or without, and the URL stays clean.
const SAYS_WHAT_IT_DID: &[&str] = &[
    "/api/email/forgot",
    "/api/email/resend",
    "/api/email/change",
    "/api/password",
    "/api/sessions/revoke-others",
    "/api/passkeys/add/finish",
    "/api/passkeys/reenable",
    "/api/alerts/new-device-mail",
];
/// An answer larger than this is not kept (those above are a number or nothing).
const ANSWER_MAX: usize = 256;

/// The kept fields of a urlencoded form body, in order, each at most once.
fn kept_fields(body: &[u8]) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        if KEPT_FIELDS.contains(&name.as_ref())
            && value.chars().count() <= KEPT_VALUE_MAX
            && !kept.iter().any(|(n, _)| *n == name)
        {
            kept.push((name.into_owned(), value.into_owned()));
        }
    }
    kept
}

fn is_urlencoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// With `Secure`, the `__Host-` prefix: a sibling subdomain cannot plant the cookie.
pub(crate) const SECURE_NAME: &str = "__Host-tasks_form_error";
pub(crate) const DEV_NAME: &str = "tasks_form_error";
/// Long enough for the redirect to be followed, short enough not to linger.
const LIFETIME_SECS: i64 = 60;
/// Where server functions are mounted (`/api/login`, ...); the REST API under it is not theirs.
const SERVER_FN_PREFIX: &str = "/api/";
const REST_PREFIX: &str = "/api/v1/";

fn cookie_name(config: &Config) -> &'static str {
    if config.cookie_secure {
        SECURE_NAME
    } else {
        DEV_NAME
    }
}

/// The page a server function's form lives on: where a plain form post returns to when its
/// `Referer` is missing or not ours.
pub fn form_page(server_fn_path: &str) -> &'static str {
    let endpoint = server_fn_path
        .strip_prefix(SERVER_FN_PREFIX)
        .unwrap_or(server_fn_path);
    match endpoint {
        "login" | "logout" => paths::LOGIN,
        "login/code" => paths::LOGIN_CODE,
        "two-step/start" | "two-step/confirm" => paths::TWO_STEP_SETUP,
        e if e.starts_with("two-step/") => paths::ACCOUNT,
        "register" => paths::REGISTER,
        "password" | "email/resend" | "email/change" => paths::ACCOUNT,
        "email/forgot" => paths::FORGOT_PASSWORD,
        "email/reset" => paths::RESET_PASSWORD,
        "alerts/secure" => paths::SECURE_ACCOUNT,
        e if e.starts_with("alerts/") || e.starts_with("passkeys/") => paths::ACCOUNT,
        e if e.starts_with("sessions/") || e.starts_with("account/") => paths::ACCOUNT,
        e if e.starts_with("admin/") => paths::ADMIN,
        e if e.starts_with("tasks/") => paths::TASKS,
        _ => paths::HOME,
    }
}

/// The layer: rewrites the redirect a plain form post to a server function gets.
pub async fn rewrite_redirects(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let applies = request.method() == Method::POST
        && path.starts_with(SERVER_FN_PREFIX)
        && !path.starts_with(REST_PREFIX)
        && accepts_html(request.headers());
    if !applies {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let has_referer = request.headers().contains_key(header::REFERER);
    let cookies = request.extensions().get::<Cookies>().cloned();
    // The form's body is read here (within the body limit) to keep what the person typed, and
    // handed on unchanged.
    let (request, fields) = if is_urlencoded(request.headers()) {
        let (parts, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The form is larger than 64 KiB. Shorten what you typed and send it again.",
                )
                    .into_response();
            }
        };
        let fields = kept_fields(&bytes);
        (Request::from_parts(parts, Body::from(bytes)), fields)
    } else {
        (request, Vec::new())
    };
    let response = next.run(request).await;
    if !response.status().is_redirection() {
        return response;
    }
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return response;
    };
    // A failed call: Leptos marks it and puts the encoded error in the body (and, when it can
    // parse the Referer, into the redirect's URL, which `rewrite` drops).
    let failed = response.headers().contains_key(SERVER_FN_ERROR_HEADER);
    let location = if failed && !has_referer {
        // Leptos would send the browser to `/`; the form's own page is where the error shows.
        form_page(&path).to_owned()
    } else {
        rewrite(location, host.as_deref(), &path)
    };
    let (mut parts, body) = response.into_parts();
    let says_what_it_did = SAYS_WHAT_IT_DID.contains(&path.as_str());
    let body = if failed || says_what_it_did {
        let limit = if failed {
            MAX_SERVER_FN_ERROR_BYTES
        } else {
            ANSWER_MAX
        };
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::error!(error = %err, path, "could not read a server function's answer to a form post");
                return AppError::Internal.into_response();
            }
        };
        let outcome = if failed {
            match serde_json::from_slice::<AppError>(&bytes) {
                Ok(error) => Some(Outcome::Refused(error)),
                Err(_) => {
                    tracing::error!("a server function answered an error that is not an AppError");
                    None
                }
            }
        } else {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .map(Outcome::Done)
        };
        if let (Some(outcome), Some(cookies)) = (outcome, cookies) {
            cookies.add(flash_cookie(&state.config, &path, &outcome, &fields));
        }
        Body::from(bytes)
    } else {
        body
    };
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            parts.headers.insert(header::LOCATION, value);
        }
        Err(_) => {
            // Cannot happen (the location is built from a valid header value and a static
            // path), but never let an unvalidated value through.
            parts
                .headers
                .insert(header::LOCATION, HeaderValue::from_static(form_page(&path)));
        }
    }
    // 303: the browser follows with a GET whatever the form's method was.
    parts.status = StatusCode::SEE_OTHER;
    Response::from_parts(parts, body)
}

/// The layer for page requests: a `GET`/`HEAD` whose query has Leptos' `__err` or `__path` is
/// sent (`303`) to the same path and query without them, so no page renders text from its URL.
/// Our own redirects never carry them ([`rewrite_redirects`]); only crafted links do.
pub async fn drop_error_params(request: Request, next: Next) -> Response {
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let Some(query) = request.uri().query().filter(|_| is_read) else {
        return next.run(request).await;
    };
    let (kept, leptos_params) = split_error_params(query);
    if !leptos_params {
        return next.run(request).await;
    }
    let location = with_query(request.uri().path(), &kept);
    let mut response = StatusCode::SEE_OTHER.into_response();
    // The path and query came from a parsed URI, so they form a valid header value.
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    } else {
        response
            .headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static(paths::HOME));
    }
    response
}

/// The pairs of a query other than Leptos' `__err` and `__path`, and whether it had either.
fn split_error_params(query: &str) -> (Vec<&str>, bool) {
    let mut had = false;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        if matches!(key, "__err" | "__path") {
            had = true;
        } else {
            kept.push(pair);
        }
    }
    (kept, had)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Keeps only a same-host path and query (minus Leptos' error parameters) of `location`;
/// anything else becomes the form's own page.
fn rewrite(location: &str, host: Option<&str>, server_fn_path: &str) -> String {
    let (target, query) = location.split_once('?').unwrap_or((location, ""));
    let Some(path) = same_host_path(target, host) else {
        return form_page(server_fn_path).to_owned();
    };
    with_query(path, &split_error_params(query).0)
}

fn with_query(path: &str, pairs: &[&str]) -> String {
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// The path of `target` when it is a path on this site or an absolute URL on `host`.
fn same_host_path<'a>(target: &'a str, host: Option<&str>) -> Option<&'a str> {
    let path = if target.starts_with('/') {
        target
    } else {
        let rest = target
            .strip_prefix("https://")
            .or_else(|| target.strip_prefix("http://"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if host.is_none_or(|host| !authority.eq_ignore_ascii_case(host)) {
            return None;
        }
        if path.is_empty() { "/" } else { path }
    };
    // `//evil.example` and `/\evil.example` are other hosts to a browser.
    let bytes = path.as_bytes();
    if bytes.get(1).is_some_and(|b| *b == b'/' || *b == b'\\') {
        return None;
    }
    Some(path)
}

/// What a plain form post came back with.
enum Outcome {
    Refused(AppError),
    /// The server function's answer (JSON), for a function in [`SAYS_WHAT_IT_DID`].
    Done(serde_json::Value),
}

fn flash_cookie(
    config: &Config,
    server_fn_path: &str,
    outcome: &Outcome,
    fields: &[(String, String)],
) -> Cookie<'static> {
    let payload = match outcome {
        Outcome::Refused(error) => {
            serde_json::json!({ "path": server_fn_path, "error": error, "fields": fields })
        }
        Outcome::Done(answer) => {
            serde_json::json!({ "path": server_fn_path, "done": answer, "fields": fields })
        }
    };
    let value = URL_SAFE_NO_PAD.encode(payload.to_string());
    Cookie::build((cookie_name(config), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.cookie_secure)
        .max_age(CookieDuration::seconds(LIFETIME_SECS))
        .build()
}

/// The error a plain form post to `server_fn_path` came back with, and the fields to fill in
/// again, read from this request's cookie and removed from the browser. `None` for any other
/// form, for one that went through, or without the cookie.
pub fn take(config: &Config, cookies: &Cookies, server_fn_path: &str) -> Option<Refusal> {
    let (payload, fields) = take_payload(config, cookies, server_fn_path, "error")?;
    let error = serde_json::from_value(payload).ok()?;
    Some(Refusal { error, fields })
}

/// The answer of a plain form post to `server_fn_path` that went through (one of
/// [`SAYS_WHAT_IT_DID`]), and the fields typed in the open, read from this request's cookie
/// and removed from the browser.
pub fn take_done(
    config: &Config,
    cookies: &Cookies,
    server_fn_path: &str,
) -> Option<(serde_json::Value, Vec<(String, String)>)> {
    take_payload(config, cookies, server_fn_path, "done")
}

/// The cookie's `kind` part and its fields when the cookie is for `server_fn_path` and holds
/// that kind; the cookie is then removed (only then: the other kind belongs to another read).
fn take_payload(
    config: &Config,
    cookies: &Cookies,
    server_fn_path: &str,
    kind: &str,
) -> Option<(serde_json::Value, Vec<(String, String)>)> {
    let name = cookie_name(config);
    let cookie = cookies.get(name)?;
    let bytes = URL_SAFE_NO_PAD.decode(cookie.value()).ok()?;
    let mut payload: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if payload.get("path")?.as_str()? != server_fn_path {
        return None;
    }
    let part = payload.get_mut(kind)?.take();
    let fields: Vec<(String, String)> = payload
        .get("fields")
        .and_then(|f| serde_json::from_value(f.clone()).ok())
        .unwrap_or_default();
    let mut removal = Cookie::build((name, "")).path("/").build();
    removal.set_secure(config.cookie_secure);
    cookies.remove(removal);
    Some((part, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_form_keeps_what_was_typed_in_the_open_and_no_secret() {
        let body = b"name=Ada+L%C3%B6we&email=ada%40example.com&password=hunter22&password_confirm=hunter22&code=123456&email=second%40example.com";
        assert_eq!(
            kept_fields(body),
            vec![
                ("name".to_owned(), "Ada Löwe".to_owned()),
                ("email".to_owned(), "ada@example.com".to_owned()),
            ]
        );
        let long = format!("title={}", "x".repeat(KEPT_VALUE_MAX + 1));
        assert!(kept_fields(long.as_bytes()).is_empty());
        assert!(kept_fields(b"current_password=x&token=y&new_password=z").is_empty());
    }

    /// A redirect as Leptos builds it for a failed call: the Referer plus `__path` and `__err`.
    fn leptos_url(base: &str, error: &AppError) -> String {
        let encoded =
            base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(error).unwrap());
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("__path", "/api/login")
            .append_pair("__err", &encoded)
            .finish();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}{query}")
    }

    #[test]
    fn the_error_leaves_the_url_and_the_rest_of_the_query_stays() {
        let location = leptos_url(
            "http://localhost:3000/login?next=/tasks",
            &AppError::field("email", "Call +1-555-0100"),
        );
        let out = rewrite(&location, Some("localhost:3000"), "/api/login");
        assert_eq!(out, "/login?next=/tasks");
    }

    #[test]
    fn a_foreign_referer_becomes_the_forms_own_page() {
        for location in [
            "https://evil.example/x?a=1",
            "http://localhost:3000.evil.example/login",
            "http://localhost:3000@evil.example/login",
            "//evil.example/login",
            "/\\evil.example/login",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                rewrite(location, Some("localhost:3000"), "/api/login"),
                "/login",
                "{location}"
            );
        }
        assert_eq!(
            rewrite("http://localhost:3000/x", None, "/api/tasks/add"),
            "/tasks",
            "no Host: nothing is same-host"
        );
    }

    #[test]
    fn same_host_targets_keep_their_path() {
        assert_eq!(
            rewrite("/tasks", Some("a.example"), "/api/tasks/add"),
            "/tasks"
        );
        assert_eq!(
            rewrite("https://A.example", Some("a.example"), "/api/login"),
            "/"
        );
        assert_eq!(
            rewrite(
                "http://a.example/account?x=1",
                Some("a.example"),
                "/api/password"
            ),
            "/account?x=1"
        );
    }

    #[test]
    fn only_leptos_error_parameters_are_split_off() {
        assert_eq!(
            split_error_params("next=/tasks"),
            (vec!["next=/tasks"], false)
        );
        assert_eq!(
            split_error_params("__path=/api/login&next=/tasks&__err=e30=&__errx=1"),
            (vec!["next=/tasks", "__errx=1"], true)
        );
        assert_eq!(split_error_params("__err"), (vec![], true));
        assert_eq!(split_error_params(""), (vec![], false));
    }

    #[test]
    fn every_server_function_has_a_page() {
        assert_eq!(form_page("/api/login"), "/login");
        assert_eq!(form_page("/api/register"), "/register");
        assert_eq!(form_page("/api/tasks/rename"), "/tasks");
        assert_eq!(form_page("/api/sessions/revoke"), "/account");
        assert_eq!(form_page("/api/password"), "/account");
        assert_eq!(form_page("/api/account/delete"), "/account");
        assert_eq!(form_page("/api/admin/set_role"), "/admin");
    }
}
