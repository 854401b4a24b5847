//! A page without islands ships no script at all (issue 28).
//!
//! Leptos' server renderer ends every page with two inline scripts for the browser's hydration:
//! the resources it resolved (`__RESOLVED_RESOURCES=[];...`) and the chunks still streaming
//! (`__INCOMPLETE_CHUNKS=[];`). A page with islands needs them (the wasm reads those globals as
//! it starts); a page without has nothing to hydrate, and its resources are not serialised
//! (`app::shell` turns that off), so both are empty boilerplate. This layer takes exactly that
//! empty boilerplate out of HTML pages that have no island; anything else is left as it is.
//! It also gives every page the `Speculation-Rules` header (`server::speculation`): pages
//! link to each other by full page loads, fetched ahead where the browser can.

use axum::{
    body::Body,
    extract::Request,
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::speculation;
use crate::error::AppError;

/// Largest page this layer reads (ours are a few tens of kilobytes).
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// The scripts' contents when there is nothing in them.
const EMPTY_DATA: &str = "__RESOLVED_RESOURCES=[];__SERIALIZED_ERRORS=[];__PENDING_RESOURCES=[];__RESOURCE_RESOLVERS=[];";
const EMPTY_CHUNKS: &str = "__INCOMPLETE_CHUNKS=[];";

/// The layer, around the page routes.
pub async fn drop_empty_hydration_data(request: Request, next: Next) -> Response {
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !is_read || !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Every page points the browser at the prefetch rules for its links.
    parts
        .headers
        .insert(speculation::HEADER, speculation::HEADER_VALUE);
    let bytes = match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(error = %err, "could not read a rendered page");
            return AppError::Internal.into_response();
        }
    };
    let page = match std::str::from_utf8(&bytes) {
        Ok(page) if !page.contains("<leptos-island") => without_empty_scripts(page),
        _ => None,
    };
    let body = match page {
        Some(page) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(page)
        }
        None => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

/// `page` without its empty hydration scripts, or `None` when it has none to drop.
fn without_empty_scripts(page: &str) -> Option<String> {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    let mut dropped = false;
    while let Some(start) = rest.find("<script") {
        let (before, script) = rest.split_at(start);
        out.push_str(before);
        let Some(open_end) = script.find('>') else {
            rest = script;
            break;
        };
        let Some(close) = script.find("</script>") else {
            rest = script;
            break;
        };
        let end = close + "</script>".len();
        let inner = script.get(open_end + 1..close).unwrap_or_default();
        // Only an inline script (no `src`) with exactly the empty boilerplate goes.
        let tag = &script[..open_end];
        if !tag.contains(" src=") && (inner == EMPTY_DATA || inner == EMPTY_CHUNKS) {
            dropped = true;
        } else {
            out.push_str(&script[..end]);
        }
        rest = &script[end..];
    }
    out.push_str(rest);
    dropped.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::without_empty_scripts;

    #[test]
    fn only_the_empty_hydration_scripts_go() {
        let page = concat!(
            "<html><body><main>Hi</main>",
            r#"<script type="module" src="/passkeys.js"></script>"#,
            r#"<script nonce="abc">__RESOLVED_RESOURCES=[];__SERIALIZED_ERRORS=[];__PENDING_RESOURCES=[];__RESOURCE_RESOLVERS=[];</script>"#,
            r#"<script nonce="abc">__INCOMPLETE_CHUNKS=[];</script>"#,
            "</body></html>"
        );
        assert_eq!(
            without_empty_scripts(page).unwrap(),
            r#"<html><body><main>Hi</main><script type="module" src="/passkeys.js"></script></body></html>"#
        );
    }

    #[test]
    fn data_that_is_there_stays() {
        let page = r#"<p>x</p><script nonce="a">__RESOLVED_RESOURCES=["{\"Ok\":1}",];__SERIALIZED_ERRORS=[];__PENDING_RESOURCES=[];__RESOURCE_RESOLVERS=[];</script>"#;
        assert_eq!(without_empty_scripts(page), None);
        assert_eq!(without_empty_scripts("<p>no scripts</p>"), None);
    }
}
