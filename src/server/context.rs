//! Who is calling, and from where: decided once per request, by one layer, and read by
//! everything after it (pages, server functions, REST handlers).
//!
//! [`establish`] runs early in the stack. It reads the client (IP through trusted proxies, user
//! agent), does the browser's silent refresh, verifies the presented token once, looks its
//! session up once, and stores the outcome as a [`RequestContext`] in the request's extensions.
//! Handlers take [`Principal`] ("must be signed in") or `Option<Principal>` ("may be
//! anonymous"); server functions call `server::fns::signed_in()` / `fns::context()`, which read
//! the same value. Nothing authenticates twice.

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts, Request, State},
    http::{HeaderMap, header, request::Parts},
    middleware::Next,
    response::Response,
};
use tower_cookies::Cookies;

use super::{
    accounts,
    auth::{ClientInfo, cookie},
    db::{self, now_millis, per_request},
    sessions, speculation,
    state::AppState,
};
use crate::{error::AppError, model::User};

/// How stale `last_used_at` may get before a request writes it again: the Sessions page needs
/// minutes of precision, not a database write on every request.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// A signed-in caller: the user and the server-side session their token belongs to.
///
/// As an extractor it means "must be signed in" (401 otherwise); `Option<Principal>` means
/// "may be anonymous", and still refuses credentials that were presented but are not valid.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub session_id: String,
}

/// The outcome of authentication for one request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No credentials were presented.
    Anonymous,
    SignedIn(Principal),
    /// Credentials were presented and refused: malformed, invalid or expired, or their session
    /// was revoked or expired, or the account is disabled or deleted.
    Refused,
    /// Credentials were presented but could not be checked (the database is unavailable).
    Undecided(AppError),
}

/// Everything the request path knows about the caller, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub client: ClientInfo,
    pub caller: Caller,
}

impl RequestContext {
    /// The signed-in caller, `None` for an anonymous one.
    ///
    /// # Errors
    /// [`AppError::InvalidToken`] for refused credentials; the database's error when they
    /// could not be checked.
    pub fn principal(&self) -> Result<Option<&Principal>, AppError> {
        match &self.caller {
            Caller::Anonymous => Ok(None),
            Caller::SignedIn(principal) => Ok(Some(principal)),
            Caller::Refused => Err(AppError::InvalidToken),
            Caller::Undecided(err) => Err(err.clone()),
        }
    }

    /// The signed-in caller.
    ///
    /// # Errors
    /// As [`RequestContext::principal`], and [`AppError::Unauthorized`] when anonymous.
    pub fn signed_in(&self) -> Result<&Principal, AppError> {
        self.principal()?.ok_or(AppError::Unauthorized)
    }

    /// The context `establish` stored in `extensions`.
    ///
    /// # Errors
    /// [`AppError::Internal`] if the layer did not run (a wiring bug).
    pub fn of(extensions: &axum::http::Extensions) -> Result<&Self, AppError> {
        extensions.get::<Self>().ok_or_else(|| {
            AppError::internal(
                "the request context layer did not run for this route",
                "missing RequestContext",
            )
        })
    }
}

/// The layer: builds the [`RequestContext`] and stores it in the request's extensions.
pub async fn establish(
    State(state): State<AppState>,
    cookies: Cookies,
    mut request: Request,
    next: Next,
) -> Response {
    if speculation::is_speculative(request.headers()) && needs_renewal(&state, request.headers()) {
        return speculation::not_now();
    }
    let client = ClientInfo::of(request.headers(), request.extensions(), &state.config);
    if !handled_in_this_task(request.uri().path()) {
        let caller =
            per_request::scope(identify(&state, &cookies, request.headers(), &client)).await;
        request
            .extensions_mut()
            .insert(RequestContext { client, caller });
        return next.run(request).await;
    }
    // The session lookup and the handler's statements share one connection.
    per_request::scope(async move {
        let caller = identify(&state, &cookies, request.headers(), &client).await;
        request
            .extensions_mut()
            .insert(RequestContext { client, caller });
        next.run(request).await
    })
    .await
}

/// Whether serving this browser request would rotate its refresh token (the access cookie is
/// gone or no longer verifies, and a refresh cookie is there). A prefetch must not: if the
/// browser dropped the prefetched page, and the new cookies with it, the next real request
/// would present the spent token and end the session as a suspected theft.
fn needs_renewal(state: &AppState, headers: &HeaderMap) -> bool {
    let config = &state.config;
    if headers.contains_key(header::AUTHORIZATION) {
        return false;
    }
    let verified = cookie::read(headers, cookie::access_name(config))
        .is_some_and(|token| verify(state, &token).is_some());
    !verified && cookie::read(headers, cookie::refresh_name(config)).is_some()
}

/// Whether the request's database work all runs in this task: server functions and the REST
/// API (`/api/…`) do theirs inline. A page's data is loaded by resources that Leptos runs as
/// tasks of their own, which cannot use this task's connection; holding it through the render
/// would only keep it from them (and, with enough pages at once, from everyone).
fn handled_in_this_task(path: &str) -> bool {
    path.starts_with("/api/")
}

/// What the request presents: `Authorization: Bearer` first, then the browser's cookies.
async fn identify(
    state: &AppState,
    cookies: &Cookies,
    headers: &HeaderMap,
    client: &ClientInfo,
) -> Caller {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        // Scripts: no cookies and no silent refresh, just the token.
        return match bearer_token(value.to_str().ok()) {
            Some(token) => match verify(state, token) {
                Some((user_id, session_id)) => lookup(state, user_id, session_id).await,
                None => Caller::Refused,
            },
            None => {
                tracing::debug!("rejected a malformed Authorization header");
                Caller::Refused
            }
        };
    }
    let config = &state.config;
    let access = cookie::read(headers, cookie::access_name(config));
    let verified = access.as_deref().and_then(|token| verify(state, token));
    let caller = match verified {
        Some((user_id, session_id)) => lookup(state, user_id, session_id).await,
        None => match cookie::read(headers, cookie::refresh_name(config)) {
            // The access cookie expired (the browser dropped it) or no longer verifies, but a
            // refresh cookie is there: the silent refresh.
            Some(refresh) => renew(state, cookies, &refresh, client).await,
            None if access.is_some() => Caller::Refused,
            None => Caller::Anonymous,
        },
    };
    if matches!(caller, Caller::Refused) {
        // A dead cookie: remove both, with the attributes they were set with, so the browser
        // stops sending them. (A database outage is not a reason: the session may be fine.)
        for removal in cookie::removals(config) {
            cookies.add(removal);
        }
    }
    caller
}

/// The token of an `Authorization: Bearer <token>` header value, if well-formed.
pub(super) fn bearer_token(value: Option<&str>) -> Option<&str> {
    let (scheme, token) = value?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies an access token's signature and claims: the user id and session it names.
fn verify(state: &AppState, token: &str) -> Option<(i64, String)> {
    match state.jwt.verify(token) {
        Ok((user_id, claims)) => Some((user_id, claims.sid)),
        Err(reason) => {
            // The reason, never the token itself.
            tracing::debug!(%reason, "rejected an access token");
            None
        }
    }
}

/// Rotates the browser's refresh token: the new cookies go out with this response, and this
/// request is served as the renewed session, so a person active all day is never sent to the
/// login page, with or without JavaScript. A refused refresh token (spent, expired, revoked)
/// means the session is over.
async fn renew(state: &AppState, cookies: &Cookies, refresh: &str, client: &ClientInfo) -> Caller {
    match sessions::refresh(state, refresh, client).await {
        Ok(issued) => {
            accounts::set_browser_cookies(state, cookies, &issued);
            lookup(state, issued.user_id, issued.session_id).await
        }
        Err(AppError::InvalidGrant) => Caller::Refused,
        // The database is unavailable: leave the cookies alone; the next request tries again.
        Err(err) => Caller::Undecided(err),
    }
}

/// The one session lookup of the request: the session must be live and its user enabled, so a
/// revoked session, a disabled account or a deleted user is refused on the very next request.
async fn lookup(state: &AppState, user_id: i64, session_id: String) -> Caller {
    let now = now_millis();
    let live = match db::sessions::find_live(&state.db, &session_id, user_id, now).await {
        Ok(Some(live)) => live,
        Ok(None) => {
            tracing::info!(
                user_id,
                "rejected a valid token: its session was revoked or expired, or the account is \
                 disabled or deleted"
            );
            return Caller::Refused;
        }
        Err(err) => return Caller::Undecided(err),
    };
    if now - live.last_used_at > TOUCH_INTERVAL_MS
        && let Err(err) = db::sessions::touch(&state.db, &session_id, now).await
    {
        // Only the Sessions page's "last used" is late; the request itself is fine.
        tracing::warn!(error = %err, "could not record a session's last use");
    }
    Caller::SignedIn(Principal {
        user: live.user,
        session_id,
    })
}

/// A signed-in administrator: the one "admin only" check (the seed's `require_role`), used by
/// the admin API as an extractor, and by the admin pages and server functions through
/// `server_fn::admin()`. The role comes from this request's session lookup, never from the
/// token, so a demotion takes effect on the next request.
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

impl Admin {
    /// The caller, if signed in as an administrator.
    ///
    /// # Errors
    /// As [`RequestContext::signed_in`], and [`AppError::AdminOnly`] for everyone else.
    pub fn of(context: &RequestContext) -> Result<Self, AppError> {
        let principal = context.signed_in()?;
        if principal.user.is_admin() {
            Ok(Self(principal.clone()))
        } else {
            Err(AppError::AdminOnly)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::of(RequestContext::of(&parts.extensions)?)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::of(&parts.extensions).cloned()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        RequestContext::of(&parts.extensions)?.signed_in().cloned()
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(RequestContext::of(&parts.extensions)?.principal()?.cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_strictly() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(Some("Basic abc")), None);
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(Some("Bearer")), None);
        assert_eq!(bearer_token(None), None);
    }

    #[test]
    fn only_api_requests_keep_a_connection_through_their_handler() {
        assert!(handled_in_this_task("/api/v1/tasks"));
        assert!(handled_in_this_task("/api/tasks/add"));
        assert!(!handled_in_this_task("/tasks"));
        assert!(!handled_in_this_task("/apiary"));
    }
}
