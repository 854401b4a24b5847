//! The Axum extractors that turn a request's credentials into a user.
//!
//! The token is taken from `Authorization: Bearer` first, then from the auth cookie. Whatever
//! is presented must be fully valid, and its session live in the database (one primary-key
//! lookup), so a revoked session, a disabled account or a deleted user is refused on the very
//! next request. A bad token is a rejection, never an anonymous user.

use std::convert::Infallible;

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};

use super::cookie;
use crate::{
    error::AppError,
    model::User,
    server::{
        db::{self, now_millis},
        state::AppState,
    },
};

/// How stale `last_used_at` may get before a request writes it again: the Sessions page needs
/// minutes of precision, not a database write on every request.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// An authenticated request: the user and the session its token belongs to.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub session_id: String,
}

/// The signed-in user. Rejects with 401 when no valid credentials are presented.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// The signed-in user and their session (for logout and the sessions list).
#[derive(Debug, Clone)]
pub struct CurrentSession(pub Principal);

/// The signed-in user if credentials were sent, `None` only when none were. Invalid
/// credentials still reject.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

/// The outcome of authentication as a value, never a rejection. `leptos_axum::extract` turns
/// rejections into strings; this keeps the typed [`AppError`] for server functions.
#[derive(Debug, Clone)]
pub struct AuthOutcome(pub Result<Option<Principal>, AppError>);

/// An access token the silent-refresh middleware issued during this request. It takes the
/// place of the (expired) cookie the browser sent.
#[derive(Clone)]
pub struct RenewedAccess(pub String);

/// Where the request's token came from.
enum Presented {
    Nothing,
    Token(String),
    /// An `Authorization` header that is not a well-formed Bearer credential.
    Malformed,
}

fn presented_token(parts: &Parts, state: &AppState) -> Presented {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let Ok(value) = value.to_str() else {
            return Presented::Malformed;
        };
        return match value.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                Presented::Token(token.trim().to_owned())
            }
            _ => Presented::Malformed,
        };
    }
    if let Some(RenewedAccess(token)) = parts.extensions.get::<RenewedAccess>() {
        return Presented::Token(token.clone());
    }
    match cookie::read(&parts.headers, cookie::access_name(&state.config)) {
        Some(token) => Presented::Token(token),
        None => Presented::Nothing,
    }
}

/// Validates whatever credentials the request carries and loads their user.
///
/// # Errors
/// [`AppError::InvalidToken`] for malformed, invalid or expired tokens, and for sessions that
/// were revoked or expired or whose user is disabled or deleted; database errors as themselves.
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Principal>, AppError> {
    let token = match presented_token(parts, state) {
        Presented::Nothing => return Ok(None),
        Presented::Malformed => {
            tracing::debug!("rejected a malformed Authorization header");
            return Err(AppError::InvalidToken);
        }
        Presented::Token(token) => token,
    };
    let (user_id, claims) = state.jwt.verify(&token).map_err(|reason| {
        // The reason, never the token itself.
        tracing::debug!(%reason, "rejected an access token");
        AppError::InvalidToken
    })?;
    let now = now_millis();
    let Some(live) = db::sessions::find_live(&state.db, &claims.sid, user_id, now).await? else {
        tracing::info!(
            user_id,
            "rejected a valid token: its session was revoked or expired, or the account is \
             disabled or deleted"
        );
        return Err(AppError::InvalidToken);
    };
    if now - live.last_used_at > TOUCH_INTERVAL_MS {
        db::sessions::touch(&state.db, &claims.sid, now).await?;
    }
    Ok(Some(Principal {
        user: live.user,
        session_id: claims.sid,
    }))
}

impl<S> FromRequestParts<S> for AuthOutcome
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(Self(authenticate(parts, &state).await))
    }
}

impl<S> FromRequestParts<S> for MaybeUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(Self(authenticate(parts, &state).await?.map(|p| p.user)))
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentSession(principal) = CurrentSession::from_request_parts(parts, state).await?;
        Ok(Self(principal.user))
    }
}

impl<S> FromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        authenticate(parts, &state)
            .await?
            .map(Self)
            .ok_or(AppError::Unauthorized)
    }
}
