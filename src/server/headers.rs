//! Security headers on every response (added by `server::edge`), the Content Security
//! Policy, and the limit on request headers.
//!
//! Pages get a CSP whose `script-src` allows our own files, the per-response nonce Leptos puts
//! on its inline hydration scripts, and `'wasm-unsafe-eval'` (compiling the wasm bundle);
//! nothing inline without the nonce runs, so injected markup cannot execute script. Every other
//! response gets the same policy without a nonce; Swagger UI's also allows its logo's one
//! inline stylesheet by hash.

use axum::{
    Json,
    http::{HeaderMap, HeaderName, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

use super::error::ErrorOut;

/// Largest total size of request headers accepted (names and values). Browsers send a few KB;
/// more is an attack or a cookie jar gone wrong. (hyper itself stops at ~400 KB.)
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most request header fields accepted. hyper is set to read up to [`HYPER_MAX_HEADERS`] so
/// that this layer, not hyper, refuses more (hyper's own 431 would carry no headers at all).
pub const MAX_HEADERS: usize = 100;
/// What hyper parses at most before answering 431 by itself.
pub const HYPER_MAX_HEADERS: usize = 1000;

/// The 431 for request headers larger than [`MAX_HEADER_BYTES`] or more than [`MAX_HEADERS`],
/// checked before any other layer parses them (cookies, tokens); `None` when they fit.
pub fn oversized(headers: &HeaderMap) -> Option<Response> {
    let count = headers.len();
    let size: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size <= MAX_HEADER_BYTES && count <= MAX_HEADERS {
        return None;
    }
    tracing::warn!(size, count, "refused a request with oversized headers");
    let body = ErrorOut {
        detail: "The request headers are too large. Clear this site's cookies and try again."
            .into(),
    };
    Some((StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, Json(body)).into_response())
}

/// The directives after `style-src`, the same in every policy.
macro_rules! policy_tail {
    () => {
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    };
}

/// The policy of every response that sets none of its own (no nonce, no inline style): a
/// constant, so the layer adds it to each response without building it.
pub const DEFAULT_POLICY: &str = concat!(
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; ",
    policy_tail!()
);

/// The policy, with `nonce` when the response is a page rendered with one.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    policy(nonce, &[])
}

/// The one inline stylesheet Swagger UI applies: the colours of the logo in its top bar, an SVG
/// whose `<style>` element React inserts at run time (`swagger-ui-standalone-preset.js` of
/// Swagger UI 5.32.6). `tests/api.rs` collects every inline style the docs page loads and checks
/// that the docs policy names its hash, so an upgrade that changes this fails there.
const SWAGGER_UI_LOGO_STYLE: &str =
    ".logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}";

/// The policy of Swagger UI at `/api/v1/docs`: the site's own, plus exactly the logo's
/// stylesheet by its SHA-256 (a CSP hash source), rather than `'unsafe-inline'`, which would
/// let any injected style apply.
pub fn docs_content_security_policy() -> String {
    policy(None, &[SWAGGER_UI_LOGO_STYLE])
}

/// The policy of the development mailbox's pages (`/dev/mailbox`): the site's own, plus their
/// one inline stylesheet by its hash.
pub fn mailbox_content_security_policy(style: &str) -> String {
    policy(None, &[style])
}

/// The policy, allowing the inline stylesheets `styles` (by hash) besides our own files.
fn policy(nonce: Option<&str>, styles: &[&str]) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
    };
    let style_hashes: String = styles
        .iter()
        .map(|css| {
            format!(
                " 'sha256-{}'",
                STANDARD.encode(Sha256::digest(css.as_bytes()))
            )
        })
        .collect();
    format!(
        "default-src 'self'; {scripts}; style-src 'self'{style_hashes}; {}",
        policy_tail!()
    )
}

/// The security headers that are the same on every response.
pub fn fixed_headers() -> [(HeaderName, &'static str); 5] {
    [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        // No page of ours uses a powerful browser feature; deny them all to any frame or
        // injected script (W3C Permissions Policy).
        (
            HeaderName::from_static("permissions-policy"),
            PERMISSIONS_POLICY,
        ),
    ]
}

/// Every feature a page could ask the browser for, allowed to no origin.
const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), hid=(), \
     idle-detection=(), magnetometer=(), microphone=(), midi=(), payment=(), \
     picture-in-picture=(), publickey-credentials-get=(self), screen-wake-lock=(), serial=(), \
     usb=(), xr-spatial-tracking=()";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_allows_only_our_scripts_the_nonce_and_wasm() {
        let csp = content_security_policy(Some("abc123"));
        for directive in [
            "script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} missing in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"));
        assert!(!content_security_policy(None).contains("nonce"));
        assert_eq!(DEFAULT_POLICY, content_security_policy(None));
    }

    #[test]
    fn the_docs_policy_adds_exactly_the_logo_style_hash() {
        // printf %s "$SWAGGER_UI_LOGO_STYLE" | openssl dgst -sha256 -binary | base64
        let hash = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";
        let docs = docs_content_security_policy();
        assert!(
            docs.contains(&format!("style-src 'self' {hash};")),
            "{docs}"
        );
        assert_eq!(
            docs.replace(&format!(" {hash}"), ""),
            content_security_policy(None)
        );
        assert!(!docs.contains("unsafe-inline"));
    }
}
