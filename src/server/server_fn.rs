//! What server functions reach on the server: the state, the request's context (who is
//! calling, decided once by `server::context`), and the cookie jar.
//!
//! Their errors get their HTTP status from one layer (`server::error::server_fn_status`), so a
//! server function just returns `Result<_, AppError>`.

use axum::http::{header, request::Parts};
use leptos::prelude::use_context;
use tower_cookies::Cookies;

use super::{
    context::{Admin, Principal, RequestContext},
    state::AppState,
};
use crate::{error::AppError, model::TaskFilter, paths};

/// The application state, provided to every server function by the router.
///
/// # Errors
/// [`AppError::Internal`] if called outside a request (a wiring bug).
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        AppError::internal("server function ran without AppState", "missing context")
    })
}

/// Who is calling and from where, as the request context layer decided it.
///
/// # Errors
/// [`AppError::Internal`] outside a request or when the layer did not run (wiring bugs).
pub fn context() -> Result<RequestContext, AppError> {
    let parts = use_context::<Parts>().ok_or_else(|| {
        AppError::internal(
            "server function ran without request parts",
            "missing context",
        )
    })?;
    RequestContext::of(&parts.extensions).cloned()
}

/// The state and the signed-in caller. Every server function that touches a person's data
/// starts with this, so none can forget the check.
///
/// # Errors
/// [`AppError::Unauthorized`] without credentials, [`AppError::InvalidToken`] for refused ones.
pub fn signed_in() -> Result<(AppState, Principal), AppError> {
    let principal = context()?.signed_in()?.clone();
    Ok((state()?, principal))
}

/// The state and the signed-in administrator: every admin server function starts with this.
///
/// # Errors
/// As [`signed_in`], and [`AppError::AdminOnly`] for a caller who is not an administrator.
pub fn admin() -> Result<(AppState, Principal, RequestContext), AppError> {
    let context = context()?;
    let Admin(principal) = Admin::of(&context)?;
    Ok((state()?, principal, context))
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

/// After a successful plain HTML form post (JavaScript off), sends the browser to `page`.
/// Leptos would otherwise redirect to the Referer with its query string emptied (`/tasks?`).
/// Calls from the wasm client are left alone: they update the page in place.
pub fn return_to_after_form_post(page: &str) {
    if is_plain_form_post() {
        leptos_axum::redirect(page);
    }
}

/// After a successful plain form post from the task list, sends the browser back to the list
/// it came from: the same filter (`show`), but never the rename form (`edit`) or a later page.
pub fn return_to_task_list() {
    if !is_plain_form_post() {
        return;
    }
    let filter = use_context::<Parts>()
        .and_then(|parts| {
            let referer = parts.headers.get(header::REFERER)?.to_str().ok()?;
            let (_, query) = referer.split_once('?')?;
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "show")
                .map(|(_, value)| TaskFilter::parse(Some(&value)))
        })
        .unwrap_or_default();
    leptos_axum::redirect(&paths::task_list(filter, None));
}

/// Whether this request is a plain HTML form post (JavaScript off), which gets a redirect.
pub fn is_plain_form_post() -> bool {
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
