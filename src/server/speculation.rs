//! Instant navigation between pages without a script: speculation rules (issue 28).
//!
//! Every page is a full page load now (only `/tasks` has an island). Browsers that support
//! speculation rules (Chromium 121+; others ignore them) fetch a same-site page in the
//! background when the pointer rests on its link or the finger goes down (`moderate`
//! eagerness), and the click then shows the fetched page without a round trip.
//!
//! The rules travel in the `Speculation-Rules` response header of every page and are served as
//! their own small file ([`RULES_PATH`]), not as an inline `<script type="speculationrules">`:
//! pages without islands keep their zero `<script>` elements, and the rule set needs no nonce in
//! the Content Security Policy (external rule sets are exempt from `script-src`).
//!
//! A prefetch is a request the person may never act on, so it must not use up anything a page
//! shows only once: [`hide_one_time_cookies`] keeps the one-time cookies (a plain form post's
//! outcome, fresh recovery codes) out of any request marked `Sec-Purpose: prefetch`. The page it
//! gets is the page without that message; the real visit that follows a form post still reads it.
//! Nor may a prefetch rotate the session's refresh token ([`not_now`]).

use axum::{
    Json, Router,
    extract::Request,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{error::ErrorOut, form_posts, state::AppState, two_step};

/// Where the rule set is served.
pub const RULES_PATH: &str = "/speculation-rules.json";

/// The response header that points a page at the rule set (a list of quoted URLs).
pub const HEADER: HeaderName = HeaderName::from_static("speculation-rules");
/// Its value.
pub const HEADER_VALUE: HeaderValue = HeaderValue::from_static("\"/speculation-rules.json\"");

/// Prefetch (the document only, no script run: not prerender) of links to our own pages, except
/// the API (data export is a download), the development mailbox, static files, the pages a
/// mailed link opens (their address carries a one-time token), and any link marked `download`,
/// `rel="nofollow"` or `data-no-prefetch`.
pub const RULES: &str = r#"{
  "prefetch": [
    {
      "source": "document",
      "where": {
        "and": [
          { "href_matches": "/*" },
          { "not": { "href_matches": "/api/*" } },
          { "not": { "href_matches": "/dev/*" } },
          { "not": { "href_matches": "/pkg/*" } },
          { "not": { "href_matches": "/verify-email*" } },
          { "not": { "href_matches": "/confirm-email*" } },
          { "not": { "href_matches": "/secure-account*" } },
          { "not": { "href_matches": "/reset-password*" } },
          { "not": { "selector_matches": "[download], [rel~=nofollow], [data-no-prefetch]" } }
        ]
      },
      "eagerness": "moderate"
    }
  ]
}
"#;

/// `Cache-Control` of the rule set: it changes only with a release, and a stale copy for an
/// hour is harmless (it only ever leaves a link unfetched or fetched ahead).
const RULES_CACHE: &str = "public, max-age=3600";

/// The route of the rule set.
pub fn router() -> Router<AppState> {
    Router::new().route(
        RULES_PATH,
        get(|| async {
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/speculationrules+json"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static(RULES_CACHE)),
                ],
                RULES,
            )
                .into_response()
        }),
    )
}

/// Whether the browser sent this request ahead of a navigation the person may not make
/// (`Sec-Purpose: prefetch`, also `prefetch;prerender`).
pub fn is_speculative(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all("sec-purpose")
        .iter()
        .any(|value| value.as_bytes().starts_with(b"prefetch"))
}

/// The answer to a prefetch that would have to renew the session (`server::context`): the
/// browser drops a prefetch that is not a success, and the click then loads the page for real,
/// which renews the session as usual. 425 Too Early: the server will not act on a request
/// that may never be meant.
pub fn not_now() -> Response {
    let body = ErrorOut {
        detail: "Not fetched ahead: opening this page renews your session, which happens when \
                 you open it."
            .into(),
    };
    (StatusCode::TOO_EARLY, Json(body)).into_response()
}

/// The one-time cookies a page consumes when it reads them, by both their names (with and
/// without `COOKIE_SECURE`).
const ONE_TIME_COOKIES: [&str; 4] = [
    form_posts::SECURE_NAME,
    form_posts::DEV_NAME,
    two_step::SECURE_CODES_COOKIE,
    two_step::DEV_CODES_COOKIE,
];

/// Called by `server::edge` on every request before anything reads a cookie: a speculative
/// request goes on without the one-time cookies, so it cannot read (and so remove) them. Any
/// other request is left untouched (one header lookup).
pub fn hide_one_time_cookies(request: &mut Request) {
    if !is_speculative(request.headers()) {
        return;
    }
    let kept: Vec<HeaderValue> = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| without_cookies(value.to_str().ok()?, &ONE_TIME_COOKIES))
        .filter_map(|value| HeaderValue::from_str(&value).ok())
        .collect();
    let headers = request.headers_mut();
    headers.remove(header::COOKIE);
    for value in kept {
        headers.append(header::COOKIE, value);
    }
}

/// A `Cookie` header's value without the cookies named in `hidden`; `None` when none is left.
fn without_cookies(value: &str, hidden: &[&str]) -> Option<String> {
    let kept: Vec<&str> = value
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name).trim();
            !pair.is_empty() && !hidden.contains(&name)
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_set_is_json_with_one_prefetch_rule() {
        let rules: serde_json::Value = serde_json::from_str(RULES).unwrap();
        let prefetch = rules["prefetch"].as_array().unwrap();
        assert_eq!(prefetch.len(), 1);
        assert_eq!(prefetch[0]["eagerness"], "moderate");
        assert!(
            rules.get("prerender").is_none(),
            "prefetch only: no script runs ahead"
        );
        assert_eq!(HEADER_VALUE.to_str().unwrap(), format!("\"{RULES_PATH}\""));
    }

    #[test]
    fn prefetch_and_prerender_requests_are_speculative() {
        let mut headers = axum::http::HeaderMap::new();
        assert!(!is_speculative(&headers));
        headers.insert("sec-purpose", HeaderValue::from_static("prefetch"));
        assert!(is_speculative(&headers));
        headers.insert(
            "sec-purpose",
            HeaderValue::from_static("prefetch;prerender"),
        );
        assert!(is_speculative(&headers));
        headers.insert("sec-purpose", HeaderValue::from_static("other"));
        assert!(!is_speculative(&headers));
    }

    #[test]
    fn only_the_named_cookies_are_taken_out() {
        let hidden = ONE_TIME_COOKIES;
        assert_eq!(
            without_cookies("a=1; tasks_form_error=xyz; b=2", &hidden).as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(
            without_cookies(
                "tasks_form_error=xyz;__Host-tasks_recovery_codes=1",
                &hidden
            ),
            None
        );
        assert_eq!(
            without_cookies("tasks_form_error_other=1", &hidden).as_deref(),
            Some("tasks_form_error_other=1")
        );
    }
}
