//! Cross-site request forgery protection for the whole router, server functions included,
//! following Go 1.25's `http.CrossOriginProtection`:
//!
//! 1. Safe methods (GET, HEAD, OPTIONS) always pass: nothing changes state over them.
//! 2. If the browser sent `Sec-Fetch-Site`, only `same-origin` and `none` (typed URL, bookmark)
//!    pass.
//! 3. Otherwise an `Origin` header must name exactly this host; `Origin: null` (sandboxed
//!    frames, some redirects) is refused.
//! 4. A request with neither header is not from a browser (curl, scripts, services using Bearer
//!    tokens) and passes: CSRF needs a browser that attaches cookies on its own.
//!
//! SameSite=Lax on the auth cookie is the first line; this guard covers what Lax does not
//! (same-site but cross-origin subdomains, top-level GET-to-POST tricks, old browsers).

use axum::{
    Json,
    extract::Request,
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::error::ErrorOut;

/// Why a request was refused, for the log.
fn verdict(method: &Method, headers: &HeaderMap) -> Result<(), &'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err("Sec-Fetch-Site is not same-origin"),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err("Origin does not match Host"),
    }
}

/// The 403 for a cross-origin browser request that could change state, logged as a security
/// event; `None` for every other request. `server::edge::CsrfLayer` asks it before any handler
/// or server function runs.
pub fn refusal(request: &Request) -> Option<Response> {
    let reason = verdict(request.method(), request.headers()).err()?;
    tracing::warn!(
        target: "security",
        event = "csrf_refused",
        method = %request.method(),
        path = request.uri().path(),
        reason,
        "refused a cross-origin request"
    );
    let body = ErrorOut {
        detail: "Cross-origin request refused: this action can only be taken from this site's \
                 own pages."
            .into(),
    };
    Some((StatusCode::FORBIDDEN, Json(body)).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn safe_methods_always_pass() {
        let cross = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ]);
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(verdict(&method, &cross).is_ok());
        }
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        for ok in ["same-origin", "none"] {
            assert!(
                verdict(&Method::POST, &headers(&[("sec-fetch-site", ok)])).is_ok(),
                "{ok}"
            );
        }
        for bad in ["cross-site", "same-site", "garbage"] {
            assert!(
                verdict(&Method::POST, &headers(&[("sec-fetch-site", bad)])).is_err(),
                "{bad}"
            );
        }
        // Sec-Fetch-Site wins over a matching Origin (it cannot be set by page scripts).
        let h = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://app.test"),
            ("host", "app.test"),
        ]);
        assert!(verdict(&Method::POST, &h).is_err());
    }

    #[test]
    fn origin_must_match_host_exactly() {
        let ok = headers(&[
            ("origin", "http://app.test:3000"),
            ("host", "app.test:3000"),
        ]);
        assert!(verdict(&Method::POST, &ok).is_ok());
        for origin in [
            "null",
            "https://evil.example",
            "http://app.test.evil.example:3000",
            "http://app.test",
        ] {
            let mut h = headers(&[("host", "app.test:3000")]);
            h.insert(header::ORIGIN, HeaderValue::from_static(origin));
            assert!(verdict(&Method::DELETE, &h).is_err(), "{origin}");
        }
    }

    #[test]
    fn clients_without_browser_headers_pass() {
        assert!(verdict(&Method::POST, &headers(&[("host", "app.test")])).is_ok());
        assert!(verdict(&Method::PATCH, &HeaderMap::new()).is_ok());
    }
}
