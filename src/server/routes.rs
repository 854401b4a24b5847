//! The router: pages, server functions, static files, and the layers around them.

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_cookies::{CookieManagerLayer, Cookies};
use tower_http::{
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use super::{
    accounts,
    auth::{RenewedAccess, cookie, extractor::authenticate},
    sessions,
    state::AppState,
};
use crate::app::{App, LOGIN_PATH, PROTECTED_PATHS, TASKS_PATH, shell};

/// Largest request body accepted; forms and JSON here are a few KB at most.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Builds the complete application router around `state`.
pub fn app(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let state_for_headers = state.clone();
    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        .nest("/api/v1", super::api::router())
        .merge(super::health::router())
        .merge(super::api::doc::swagger_ui())
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), page_guard))
        // Outside the page guard, so a renewed session counts when it decides.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            renew_browser_session,
        ))
        .with_state(state)
        // Outside the routes, so server functions and the extractor see the same cookie jar
        // (tower-cookies only emits Set-Cookie for cookies added through this layer).
        .layer(CookieManagerLayer::new())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Before any handler or server function can act on a forged cross-site request.
        .layer(middleware::from_fn(super::csrf::guard))
        // Outside the CSRF guard and the body limit, so their refusals get the headers too.
        .layer(middleware::from_fn_with_state(
            state_for_headers,
            super::headers::security_headers,
        ))
        // A panicking handler answers a generic 500 (and is logged) instead of dropping the
        // connection; inside the trace span, so the log line has the request id.
        .layer(CatchPanicLayer::custom(super::error::panic_response))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // Outermost: oversized headers are refused before anything parses them.
        .layer(middleware::from_fn(super::headers::limit_header_size))
}

/// Every log line of a request carries its id (also sent back as `x-request-id`), method and
/// path. Never the query string, headers or body: they can hold credentials.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

fn log_response(response: &Response, latency: std::time::Duration, _span: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        "answered"
    );
}

/// The browser's silent refresh. When a request carries no usable access cookie (the browser
/// dropped it at expiry, or it no longer verifies) but a refresh cookie, the refresh token is
/// rotated here, before any page or server function runs: the new cookies go out with this
/// response and this request is served with the new access token. So a person active all day
/// is never sent to the login page, with or without JavaScript.
///
/// A refused refresh token (spent, expired, revoked) clears both cookies: the session is over.
async fn renew_browser_session(
    State(state): State<AppState>,
    cookies: Cookies,
    mut request: Request,
    next: Next,
) -> Response {
    let bearer = request.headers().contains_key(header::AUTHORIZATION);
    let static_file = request.uri().path().starts_with("/pkg/");
    if bearer || static_file {
        return next.run(request).await;
    }
    let access_ok = cookie::read(request.headers(), cookie::access_name(&state.config))
        .is_some_and(|token| state.jwt.verify(&token).is_ok());
    let refresh = cookie::read(request.headers(), cookie::refresh_name(&state.config));
    if !access_ok && let Some(refresh) = refresh {
        match sessions::refresh(&state, &refresh).await {
            Ok(issued) => {
                accounts::set_browser_cookies(&state, &cookies, &issued);
                request
                    .extensions_mut()
                    .insert(RenewedAccess(issued.access.expose().to_owned()));
            }
            Err(crate::error::AppError::InvalidGrant) => {
                for removal in cookie::removals(&state.config) {
                    cookies.add(removal);
                }
            }
            // The database is unavailable: leave the cookies alone and let the request fail or
            // succeed on its own; the next request tries again.
            Err(_) => {}
        }
    }
    next.run(request).await
}

/// Server-side navigation rules for pages, decided before any HTML is rendered (so they also
/// hold without JavaScript and cannot be raced by streaming):
/// - a protected page without a valid session redirects to `/login?next=<page>`, clearing a
///   stale cookie;
/// - `/`, `/login` and `/register` send a signed-in person to their tasks.
async fn page_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let protected = PROTECTED_PATHS.contains(&path.as_str());
    let public_only = matches!(path.as_str(), "/" | "/login" | "/register");
    if !protected && !public_only {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let outcome = authenticate(&parts, &state).await;
    let request = Request::from_parts(parts, body);
    match outcome {
        Ok(Some(_)) if public_only => redirect(TASKS_PATH),
        // (Personal data: `security_headers` marks the response `no-store`.)
        Ok(Some(_)) => next.run(request).await,
        Ok(None) if protected => redirect(&format!("{LOGIN_PATH}?next={path}")),
        Ok(None) => next.run(request).await,
        Err(crate::error::AppError::InvalidToken) => {
            // An expired or invalid cookie that could not be renewed: drop both auth cookies
            // so the browser stops sending them.
            let clear = cookie::removals(&state.config).map(|c| c.to_string());
            let mut response = if protected {
                redirect(&format!("{LOGIN_PATH}?next={path}"))
            } else {
                next.run(request).await
            };
            for value in clear {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        // The database is down (or a bug): a person gets a page, not a JSON body.
        Err(err) => unavailable_page(&err),
    }
}

/// A minimal, self-contained HTML page for when a page cannot be rendered because the database
/// (or something else on our side) is failing. No scripts, no external assets.
fn unavailable_page(err: &crate::error::AppError) -> Response {
    let status = match err.status_code() {
        StatusCode::SERVICE_UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tasks is \
         unavailable</title></head><body><main><h1>Tasks is unavailable right now</h1><p>{}</p>\
         <p><a href=\"\">Try again</a></p></main></body></html>",
        err
    );
    let mut response = (status, axum::response::Html(html)).into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(super::error::UNAVAILABLE_RETRY_AFTER_SECS),
    );
    response
}

fn redirect(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
