//! The router: pages, server functions, static files, and the layers around them.

use axum::{Router, extract::Request, middleware, response::Redirect, routing::get};
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tower::ServiceBuilder;
use tower_cookies::CookieManagerLayer;
use tower_http::{
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use super::{
    config::AppEnv,
    context,
    edge::{CsrfLayer, EdgeLayer},
    error::server_fn_status,
    state::AppState,
};
use crate::{
    app::{App, shell},
    paths,
};

/// Largest request body accepted; forms and JSON here are a few KB at most.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Builds the complete application router around `state`.
pub fn app(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = page_routes();
    let context_state = state.clone();
    let metrics = state.metrics.clone();
    let production = state.config.env == AppEnv::Production;
    // Health probes, metrics scrapes and static files never need to know the caller, read a
    // cookie or a body, or take a form post's redirect: they join below the layers that do
    // (a layer applies to the routes the router has when it is added), and skip their cost.
    let needs_no_caller = Router::new()
        .merge(super::health::router())
        .merge(super::metrics::router(&state.config))
        .merge(super::assets::router(&state.leptos_options))
        .merge(super::speculation::router())
        .with_state(state.clone());
    // Development without SMTP_URL: the mail the server would have sent, at /dev/mailbox.
    let mailbox = if state.mail.is_mailbox() {
        super::mail::mailbox::router()
    } else {
        Router::new()
    };
    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(leptos_options.clone()),
        )
        // The account page used to be `/sessions`: bookmarks and old links get a real `308`,
        // with or without JavaScript.
        .route(
            paths::OLD_SESSIONS,
            get(|| async { Redirect::permanent(paths::ACCOUNT) }),
        )
        .merge(mailbox)
        .merge(super::api::doc::swagger_ui())
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Pages and server functions only. Outermost first: a crafted page URL with Leptos'
        // error parameters is sent to the page without them; a plain form post's redirect stays
        // on this site and carries no text in its URL; server-function errors leave with their
        // real status instead of Leptos' 500.
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(super::form_posts::drop_error_params))
                // A page without islands leaves with no script (not even Leptos' empty data).
                .layer(middleware::from_fn(
                    super::page_scripts::drop_empty_hydration_data,
                ))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    super::form_posts::rewrite_redirects,
                ))
                .layer(middleware::from_fn(server_fn_status)),
        )
        // The REST API joins below those: a REST error has its status already, its redirects
        // are its own, and no JSON answer renders text from its URL, so the API pays for none
        // of them.
        .nest("/api/v1", super::api::router())
        // Who is calling, decided once (silent refresh, token, session) for everything inside.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            context::establish,
        ))
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(super::error::json_body_limit))
                .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
                // Inside the body limits and outside the routes, so server functions and the
                // context layer share one cookie jar (tower-cookies only emits Set-Cookie for
                // cookies added through this layer).
                .layer(CookieManagerLayer::new()),
        )
        .merge(needs_no_caller)
        // Around every route, outermost first. Each `Router::layer` call wraps every route in
        // one more boxed service, cloned and boxed again per request, so the layers go in as
        // one stack each (BENCHMARKS.md, issue 27).
        .layer(
            ServiceBuilder::new()
                // Every answer is counted (431, CSRF refusals, panics included) and leaves
                // with the security headers, and oversized headers are refused before anything
                // parses them. `Router::layer` wraps each route after the router has matched
                // it, so the layer sees the route's template (`MatchedPath`).
                .layer(EdgeLayer::new(metrics, production))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(log_response),
                )
                // A panicking handler answers a generic 500 (and is logged) instead of
                // dropping the connection; inside the trace span, so the log line has the
                // request id.
                .layer(CatchPanicLayer::custom(super::error::panic_response))
                // Before any handler or server function can act on a forged cross-site request.
                .layer(CsrfLayer),
        )
}

/// The page routes of [`App`], generated once per process.
///
/// Generating them renders the app, and while that runs Leptos holds back the loading of every
/// resource in the process (`SuppressResourceLoad` is a global flag, not a per-thread one): a
/// page rendering on another thread at that moment waits for its resources forever. The server
/// builds its state and router before it serves, but tests build them once per test, side by
/// side; with the list generated once, every later state and router reuses it, and no page can
/// render while it is generated (a page needs a router, and a router needs this list).
pub(crate) fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
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

fn log_response<B>(
    response: &axum::http::Response<B>,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        "answered"
    );
}
