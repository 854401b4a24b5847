//! Extractors for the JSON API whose rejections are [`AppError`]s (the token endpoint's form:
//! [`TokenError`]s), so a malformed body, a wrong content type or an oversized request gets a
//! clear 4xx in the endpoint's error shape, never axum's plain-text default.

use axum::extract::{
    FromRequest, FromRequestParts, Request,
    rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection},
};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};
use crate::server::error::TokenError;

/// A JSON object body with our errors. Unlike `axum::Json`, it refuses a JSON array where an
/// object is expected (serde would otherwise fill a struct from `[..]` by position).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(AppError::field("body", "the body must be a JSON object"));
        }
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| AppError::field("body", e.to_string()))
    }
}

/// `axum::Form` (url-encoded body) for the OAuth2 token endpoint: its rejections are OAuth2
/// errors (`invalid_request`), like every other answer of that endpoint.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(TokenError))]
pub struct OAuthForm<T>(pub T);

/// `axum::extract::Query` with our errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` with our errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            JsonRejection::JsonSyntaxError(e) => {
                Self::BadRequest(format!("the body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => Self::field("body", e.body_text()),
            JsonRejection::BytesRejection(e) => Self::unreadable_body(e.body_text()),
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<FormRejection> for AppError {
    fn from(rejection: FormRejection) -> Self {
        match rejection {
            FormRejection::InvalidFormContentType(_) => Self::UnsupportedMediaType(
                "send the body as `application/x-www-form-urlencoded`".into(),
            ),
            FormRejection::FailedToDeserializeForm(e) => Self::field("body", e.body_text()),
            FormRejection::FailedToDeserializeFormBody(e) => Self::field("body", e.body_text()),
            FormRejection::BytesRejection(e) => Self::unreadable_body(e.body_text()),
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<FormRejection> for TokenError {
    fn from(rejection: FormRejection) -> Self {
        Self::App(AppError::from(rejection))
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Validation(vec![FieldError::new("query.string", rejection.body_text())])
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(e) => {
                Self::Validation(vec![FieldError::new("path.id", e.body_text())])
            }
            other => Self::BadRequest(other.body_text()),
        }
    }
}
