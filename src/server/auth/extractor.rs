//! The Axum extractors that turn a request's credentials into a user.
//!
//! The token is taken from `Authorization: Bearer` first, then from the auth cookie. Whatever
//! is presented must be fully valid: a bad token is a rejection, never an anonymous user.

use std::convert::Infallible;

use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header, request::Parts},
};

use super::cookie;
use crate::{
    error::AppError,
    model::User,
    server::{db, state::AppState},
};

/// The signed-in user. Rejects with 401 when no valid credentials are presented.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// The signed-in user if credentials were sent, `None` only when none were. Invalid
/// credentials still reject.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<User>);

/// The outcome of authentication as a value, never a rejection. `leptos_axum::extract` turns
/// rejections into strings; this keeps the typed [`AppError`] for server functions.
#[derive(Debug, Clone)]
pub struct AuthOutcome(pub Result<Option<User>, AppError>);

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
    match cookie::read(&parts.headers, &state.config) {
        Some(token) => Presented::Token(token),
        None => Presented::Nothing,
    }
}

/// Validates whatever credentials the request carries and loads their user.
///
/// # Errors
/// [`AppError::InvalidToken`] for malformed, invalid or expired tokens and for users that no
/// longer exist; database errors as themselves.
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<User>, AppError> {
    let token = match presented_token(parts, state) {
        Presented::Nothing => return Ok(None),
        Presented::Malformed => {
            tracing::debug!("rejected a malformed Authorization header");
            return Err(AppError::InvalidToken);
        }
        Presented::Token(token) => token,
    };
    let (user_id, _claims) = state.jwt.verify(&token).map_err(|reason| {
        // The reason, never the token itself.
        tracing::debug!(%reason, "rejected an access token");
        AppError::InvalidToken
    })?;
    match db::users::find_by_id(&state.db, user_id).await? {
        Some(user) => Ok(Some(user)),
        None => {
            tracing::info!(
                user_id,
                "rejected a valid token for a user that no longer exists"
            );
            Err(AppError::InvalidToken)
        }
    }
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
        authenticate(parts, &state).await.map(Self)
    }
}

impl<S> FromRequestParts<S> for CurrentUser
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
