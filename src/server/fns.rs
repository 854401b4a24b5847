//! Support for server functions: reaching the state, requiring a user, setting the status.

use axum::http::{header, request::Parts};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use tower_cookies::Cookies;

use super::{
    auth::{AuthOutcome, ClientInfo, Principal},
    state::AppState,
};
use crate::{error::AppError, model::User};

/// The application state, provided to every server function by the router.
///
/// # Errors
/// [`AppError::Internal`] if called outside a request (a wiring bug).
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        AppError::internal("server function ran without AppState", "missing context")
    })
}

/// The signed-in user, through the same extractor the REST API uses. Every server function
/// that touches user data starts with this, so none can forget the check.
///
/// # Errors
/// [`AppError::Unauthorized`] without valid credentials.
pub async fn require_user() -> Result<(AppState, User), AppError> {
    let (state, principal) = require_session().await?;
    Ok((state, principal.user))
}

/// The signed-in user and their session.
///
/// # Errors
/// [`AppError::Unauthorized`] without valid credentials.
pub async fn require_session() -> Result<(AppState, Principal), AppError> {
    let state = state()?;
    match authenticate(&state).await? {
        Some(principal) => Ok((state, principal)),
        None => Err(AppError::Unauthorized),
    }
}

/// The signed-in user and session, `None` when no credentials were sent.
///
/// # Errors
/// [`AppError::Unauthorized`] for invalid credentials.
pub async fn authenticate(state: &AppState) -> Result<Option<Principal>, AppError> {
    let AuthOutcome(outcome) = leptos_axum::extract_with_state::<AuthOutcome, AppState>(state)
        .await
        .map_err(|e| AppError::internal("reading the request failed", e))?;
    outcome
}

/// The client making the current request (IP and user agent).
pub fn client(state: &AppState) -> ClientInfo {
    use_context::<Parts>().map_or_else(
        || ClientInfo {
            ip: None,
            user_agent: String::new(),
        },
        |parts| ClientInfo::from_parts(&parts, &state.config),
    )
}

/// The request's cookie jar; cookies added to it are sent by the `CookieManagerLayer`.
///
/// # Errors
/// [`AppError::Internal`] if the cookie layer is missing (a wiring bug).
pub async fn cookies() -> Result<Cookies, AppError> {
    leptos_axum::extract::<Cookies>()
        .await
        .map_err(|e| AppError::internal("cookie layer missing from the router", e))
}

/// Finishes a server function: on error, answer with the error's real status.
///
/// # Errors
/// Passes `result` through unchanged.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        set_error_status(err);
    }
    result
}

/// Sets the HTTP status (and headers) for `err` on the current server-function response.
///
/// Leptos 0.8 would answer every server-function error with 500. A plain HTML form post
/// (JavaScript off) is left alone: Leptos redirects it back to the form with the error in the
/// URL, and a 4xx status would stop the browser from following that redirect.
pub fn set_error_status(err: &AppError) {
    let Some(response) = use_context::<ResponseOptions>() else {
        return;
    };
    if is_plain_form_post() {
        return;
    }
    response.set_status(err.status_code());
    if let Some(value) = err.retry_after() {
        response.insert_header(header::RETRY_AFTER, value);
    }
}

/// Passes `result` through; when it is a success answering a plain HTML form post (JavaScript
/// off), redirects back to `path`. Leptos would otherwise redirect to the Referer with its query
/// string emptied (`/tasks?`). Calls from the wasm client are left alone: they update the page
/// in place.
///
/// # Errors
/// Passes `result` through unchanged.
pub fn return_to_after_form_post<T>(
    path: &str,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    if result.is_ok() && is_plain_form_post() {
        leptos_axum::redirect(path);
    }
    result
}

fn is_plain_form_post() -> bool {
    use_context::<Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}
