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
use tower_cookies::CookieManagerLayer;
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use super::{
    auth::{cookie, extractor::authenticate},
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
    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        .nest("/api/v1", super::api::router())
        .merge(super::api::doc::swagger_ui())
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), page_guard))
        .with_state(state)
        // Outside the routes, so server functions and the extractor see the same cookie jar
        // (tower-cookies only emits Set-Cookie for cookies added through this layer).
        .layer(CookieManagerLayer::new())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Before any handler or server function can act on a forged cross-site request.
        .layer(middleware::from_fn(super::csrf::guard))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
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
        Ok(Some(_)) if public_only => redirect(TASKS_PATH, None),
        Ok(Some(_)) => {
            let mut response = next.run(request).await;
            // Personal data: never store it in a shared or browser cache.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            response
        }
        Ok(None) if protected => redirect(&format!("{LOGIN_PATH}?next={path}"), None),
        Ok(None) => next.run(request).await,
        Err(crate::error::AppError::InvalidToken) => {
            // An expired or invalid cookie: drop it so the browser stops sending it.
            let clear = cookie::removal(&state.config).to_string();
            if protected {
                redirect(&format!("{LOGIN_PATH}?next={path}"), Some(clear))
            } else {
                let mut response = next.run(request).await;
                if let Ok(value) = HeaderValue::from_str(&clear) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
                response
            }
        }
        Err(err) => err.into_response(),
    }
}

fn redirect(location: &str, set_cookie: Option<String>) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store");
    if let Some(cookie) = set_cookie {
        builder = builder.header(header::SET_COOKIE, cookie);
    }
    builder
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
