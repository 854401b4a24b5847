//! How errors leave the server: the JSON error bodies (the one place they are defined), the
//! HTTP mapping of [`AppError`], the status of server-function errors, and startup failures.

use axum::{
    Json,
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use serde::Serialize;
use utoipa::ToSchema;

use super::config::ConfigError;
use crate::error::AppError;

/// An OAuth2 error response (RFC 6749 §5.2), as `POST /api/v1/auth/refresh` sends it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorOut {
    /// `invalid_grant`.
    pub error: String,
    pub error_description: String,
}

/// A 400 from `POST /api/v1/auth/refresh`: an OAuth2 error for a bad grant, or `{"detail"}`
/// when the body could not be read at all.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TokenBadRequestOut {
    OAuth(OAuthErrorOut),
    Unreadable(ErrorOut),
}

/// The `error` codes the token endpoint answers with: RFC 6749 §5.2's, plus
/// `temporarily_unavailable` and `server_error` (§4.1.2.1 defines them for the authorization
/// endpoint; oauthlib raises them as `TemporarilyUnavailableError` and `ServerError`, so a
/// client can tell "retry later" from "wrong password").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// A required parameter is missing or repeated, or the body cannot be read.
    InvalidRequest,
    /// Wrong email or password, a disabled account, or a refresh token that is invalid,
    /// expired, spent or revoked.
    InvalidGrant,
    /// `grant_type` is not `password`, `refresh_token` or `mfa_otp`.
    UnsupportedGrantType,
    /// The password is right, and the account has two-step sign-in: post `grant_type=mfa_otp`
    /// with the `mfa_token` of this answer and `otp` (or `recovery_code`).
    MfaRequired,
    /// Too many attempts, or the database is unavailable: retry after `Retry-After` seconds.
    TemporarilyUnavailable,
    /// A failure on the server.
    ServerError,
}

/// An error of the OAuth2 token endpoint (`POST /api/v1/auth/token`): RFC 6749 §5.2's `error`
/// and `error_description`, which OAuth clients (Authlib, requests-oauthlib) read, beside the
/// `detail` FastAPI clients read. `error_description` and `detail` carry the same sentence.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "error": "invalid_grant",
    "error_description": "Incorrect email or password.",
    "detail": "Incorrect email or password."
}))]
pub struct TokenErrorOut {
    pub error: OAuthErrorCode,
    /// What happened and what to do, in printable ASCII (RFC 6749 §5.2).
    pub error_description: String,
    pub detail: String,
    /// With `mfa_required` only: the token of the second step (5 minutes, single use, ended by
    /// 5 wrong codes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
}

/// Why the token endpoint refused a request. Only that endpoint answers in the OAuth2 shape
/// ([`TokenErrorOut`]); every other endpoint keeps the FastAPI shape of [`AppError`].
#[derive(Debug)]
pub enum TokenError {
    /// A parameter the grant needs is missing (`invalid_request`, 400); says which.
    MissingParameter(String),
    /// `grant_type` names a grant this server does not offer (`unsupported_grant_type`, 400).
    UnsupportedGrantType,
    /// The password was right and the account has two-step sign-in: `403 mfa_required` with
    /// the challenge's token.
    MfaRequired(String),
    /// A wrong `otp` or `recovery_code` (`invalid_grant`, 400); says how many tries are left.
    WrongCode(String),
    /// Whatever the login, the refresh or reading the body answered, in OAuth2 terms.
    App(AppError),
}

impl From<AppError> for TokenError {
    fn from(err: AppError) -> Self {
        Self::App(err)
    }
}

impl TokenError {
    /// The status, the OAuth2 code and the sentence this error is answered with.
    fn parts(&self) -> (StatusCode, OAuthErrorCode, String) {
        use OAuthErrorCode as Code;
        let app = match self {
            Self::MissingParameter(message) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Code::InvalidRequest,
                    message.clone(),
                );
            }
            Self::UnsupportedGrantType => {
                return (
                    StatusCode::BAD_REQUEST,
                    Code::UnsupportedGrantType,
                    "grant_type must be `password`, `refresh_token` or `mfa_otp`.".into(),
                );
            }
            Self::MfaRequired(_) => {
                return (
                    StatusCode::FORBIDDEN,
                    Code::MfaRequired,
                    "This account uses two-step sign-in. Post grant_type=mfa_otp with this \
                     mfa_token and otp (the 6-digit code of the authenticator app) or \
                     recovery_code, within 5 minutes."
                        .into(),
                );
            }
            Self::WrongCode(message) => {
                return (StatusCode::BAD_REQUEST, Code::InvalidGrant, message.clone());
            }
            Self::App(err) => err,
        };
        let (status, code) = match app {
            // The resource owner's credentials are the grant (RFC 6749 §4.3), so wrong ones
            // are `invalid_grant`. The status stays 401 (with `WWW-Authenticate`), as before.
            AppError::InvalidCredentials | AppError::AccountDisabled | AppError::InvalidGrant => {
                (app.status_code(), Code::InvalidGrant)
            }
            // An expired or ended second step: the grant (the mfa_token) is no longer valid.
            AppError::SignInExpired => (StatusCode::BAD_REQUEST, Code::InvalidGrant),
            // A form that cannot be read (a repeated parameter, say) is `invalid_request`, 400
            // (RFC 6749 §5.2), where the other endpoints answer a validation error with 422.
            AppError::Validation(_) => (StatusCode::BAD_REQUEST, Code::InvalidRequest),
            // Limits and outages keep 429/503 and their `Retry-After`: the credentials were
            // not even checked, so `invalid_grant` would send the person back to retype them.
            AppError::RateLimited { .. } | AppError::Unavailable => {
                (app.status_code(), Code::TemporarilyUnavailable)
            }
            other if other.status() >= 500 => (other.status_code(), Code::ServerError),
            other => (other.status_code(), Code::InvalidRequest),
        };
        let message = match app {
            AppError::Validation(errors) => errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        (status, code, message)
    }
}

/// RFC 6749 §5.2 allows only printable ASCII without `"` and `\` in `error_description`; any
/// other character (a serde message can quote input) becomes `?`.
fn oauth_description(message: &str) -> String {
    message
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect()
}

/// `{"error", "error_description", "detail"}` with the status of [`TokenError::parts`], the
/// headers the same [`AppError`] gets elsewhere (`WWW-Authenticate`, `Retry-After`), and
/// `Cache-Control: no-store` + `Pragma: no-cache` like every token response (RFC 6749 §5.1).
impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let (status, error, message) = self.parts();
        let body = TokenErrorOut {
            error,
            error_description: oauth_description(&message),
            detail: message,
            mfa_token: match &self {
                Self::MfaRequired(token) => Some(token.clone()),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Self::App(err) = &self {
            err.add_headers(headers);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        response
    }
}

/// Every non-validation error: `{"detail": "what happened and what to do"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorOut {
    pub detail: String,
}

/// A validation error (422), one entry per bad field, as FastAPI sends it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationErrorOut {
    pub detail: Vec<ValidationItem>,
}

/// One invalid field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationItem {
    /// Where the field is: `["body", "title"]`, `["query", "limit"]`, `["path", "id"]`.
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// How long a client is asked to wait when the database is unavailable: the pool reconnects by
/// itself, so a few seconds usually suffice.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl AppError {
    /// The `Retry-After` this error asks of the client (rate limits and database outages), for
    /// every way an error leaves the server: API responses, server functions and the HTML page.
    pub fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(HeaderValue::from(*retry_after_secs)),
            Self::Unavailable => Some(HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS)),
            _ => None,
        }
    }

    /// Logs an unexpected failure with its cause and returns the opaque [`AppError::Internal`].
    /// The cause goes to the server log only; the client learns nothing about it.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        Self::Internal
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if is_unavailable(&err) {
            // The database is down, restarting, overloaded or out of connections: tell the
            // client to retry instead of calling it a bug. The pool reconnects by itself.
            tracing::warn!(error = %err, "database unavailable");
            Self::Unavailable
        } else {
            Self::internal("database query failed", err)
        }
    }
}

/// Whether `err` means "the database cannot serve right now" rather than a bug in a query.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLITE_BUSY (5) / SQLITE_LOCKED (6) and their extended codes: only another
                // process holding the file past the busy timeout can cause them.
                matches!(code.parse::<i32>(), Ok(c) if c & 0xff == 5 || c & 0xff == 6)
            } else {
                // PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient
                // resources, 57 operator intervention (shutdown, restart, statement_timeout
                // cancelling a query).
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57")
            }
        }
        _ => false,
    }
}

/// JSON error bodies in the shape FastAPI clients already parse: `{"detail": "..."}`, and for
/// validation `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        // Serialized through the types the OpenAPI document describes, so they cannot drift.
        let mut response = match &self {
            AppError::Validation(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| ValidationItem {
                        loc: location(&e.field).into_iter().map(str::to_owned).collect(),
                        msg: e.message.clone(),
                        kind: "value_error".into(),
                    })
                    .collect();
                (status, Json(ValidationErrorOut { detail })).into_response()
            }
            // OAuth2 clients parse `error`/`error_description` from the token endpoints.
            AppError::InvalidGrant => (
                status,
                Json(OAuthErrorOut {
                    error: "invalid_grant".into(),
                    error_description: self.to_string(),
                }),
            )
                .into_response(),
            other => (
                status,
                Json(ErrorOut {
                    detail: other.to_string(),
                }),
            )
                .into_response(),
        };
        self.add_headers(response.headers_mut());
        response
    }
}

impl AppError {
    /// The headers that go with this error, whichever body shape it is answered in.
    fn add_headers(&self, headers: &mut HeaderMap) {
        match self {
            AppError::Unauthorized | AppError::InvalidCredentials => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // RFC 6750 §3.1: a token was sent and is not acceptable.
            AppError::InvalidToken => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            AppError::InvalidGrant => {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            _ => {}
        }
        if let Some(value) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, value);
        }
    }
}

/// Largest server-function error body this layer reads back; ours are a few hundred bytes.
pub(crate) const MAX_SERVER_FN_ERROR_BYTES: usize = 64 * 1024;

/// tower-http's body limit refuses a declared `Content-Length` over the limit by itself, before
/// any handler, with a plain-text "length limit exceeded". This gives that refusal the body
/// the same request would get from a handler: a server function's encoded `AppError` (what
/// the page's client decodes), and `{"detail": "The request is too large."}` elsewhere.
pub async fn json_body_limit(request: Request, next: Next) -> Response {
    let server_fn =
        request.uri().path().starts_with("/api/") && !request.uri().path().starts_with("/api/v1/");
    let response = next.run(request).await;
    let plain = response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && !response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !plain {
        response
    } else if server_fn {
        let body = serde_json::to_string(&AppError::PayloadTooLarge)
            .unwrap_or_else(|_| r#"{"error":"payload_too_large"}"#.to_owned());
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    } else {
        AppError::PayloadTooLarge.into_response()
    }
}

/// Gives every server-function error its real status, in one place for all of them.
///
/// Leptos 0.8 answers every server-function `Err` with 500 and marks it with the
/// `serverfnerror` header; the body is the encoded [`AppError`]. This layer reads that error
/// back and sets its status (401, 404, 422, 429, 503, ...) and `Retry-After`. Everything else
/// passes untouched, including the redirect a plain HTML form post (JavaScript off) gets.
pub async fn server_fn_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_SERVER_FN_ERROR_BYTES).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(error = %err, "could not read a server function's error body");
            return AppError::Internal.into_response();
        }
    };
    match serde_json::from_slice::<AppError>(&bytes) {
        Ok(AppError::Internal) => {
            tracing::error!("a server function failed with an internal error (cause logged above)");
        }
        Ok(err) => {
            parts.status = err.status_code();
            if let Some(value) = err.retry_after() {
                parts.headers.insert(header::RETRY_AFTER, value);
            }
            let body = with_message(&err).unwrap_or(bytes);
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(parts, Body::from(body));
        }
        Err(_) => tracing::error!("a server function answered an error that is not an AppError"),
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The encoded error with its sentence added as `message`, for the scripts that are not the
/// wasm client (the passkey module, `public/passkeys.js`): they show it as it is. The wasm
/// client's decoder ignores the extra member.
fn with_message(err: &AppError) -> Option<axum::body::Bytes> {
    let mut value = serde_json::to_value(err).ok()?;
    value
        .as_object_mut()?
        .insert("message".to_owned(), err.to_string().into());
    serde_json::to_vec(&value).ok().map(Into::into)
}

/// The answer to a request whose handler panicked: the generic 500 body, nothing about the
/// panic (its message can hold paths or data). The panic itself is logged here.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    AppError::internal("a request handler panicked", message).into_response()
}

/// FastAPI's `loc` for a field: `["body", "title"]`, or `["query", "limit"]` / `["path", "id"]`
/// for fields named `query.limit` / `path.id`.
fn location(field: &str) -> Vec<&str> {
    match field.split_once('.') {
        Some((source @ ("query" | "path"), name)) => vec![source, name],
        _ => vec!["body", field],
    }
}

/// Why the server could not start. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "could not open the database named by DATABASE_URL: {0}. For SQLite, check that the \
         folder is writable; for PostgreSQL, that the server is running and reachable and that \
         the user, password and database in the URL exist"
    )]
    Database(#[source] sqlx::Error),
    #[error(
        "DATABASE_URL names an in-memory SQLite database, which would lose every account at \
         exit and cannot be shared by the app's reader and writer connections; use a file such \
         as sqlite://data/tasks.db"
    )]
    SqliteInMemory,
    #[error("applying database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the JWT signing self-test failed: {0}")]
    Jwt(String),
    #[error("the password hashing self-test failed: {0}")]
    Hasher(String),
    #[error("invalid Leptos settings (LEPTOS_* variables): {0}")]
    Leptos(String),
    #[error(
        "COOKIE_SECURE=false sends the session cookies over plain HTTP and is only allowed on a \
         loopback address, but LEPTOS_SITE_ADDR is {0}. Serve HTTPS and leave COOKIE_SECURE \
         unset, or listen on 127.0.0.1"
    )]
    InsecureCookiesOffLoopback(std::net::SocketAddr),
    #[error("could not listen on {addr}: {source}. Is another process using that port?")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// A command (`tasks admin …`, `tasks backup`) could not do what it was asked.
    #[error("{0}")]
    Command(String),
    #[error(
        "could not listen on METRICS_ADDR {addr}: {source}. Is another process (or the app \
         itself, on LEPTOS_SITE_ADDR) using that port?"
    )]
    MetricsBind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("setting up the metrics failed: {0}")]
    Metrics(String),
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use serde_json::json;

    use super::*;
    use crate::error::FieldError;

    #[test]
    fn a_server_function_error_carries_its_sentence_and_still_decodes() {
        for err in [
            AppError::field("email", "That email is already registered."),
            AppError::Unauthorized,
            AppError::PayloadTooLarge,
        ] {
            let bytes = with_message(&err).expect("encodes");
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(value["message"], err.to_string());
            let decoded: AppError = serde_json::from_slice(&bytes).expect("decodes");
            assert_eq!(decoded, err);
        }
    }

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn validation_errors_use_fastapi_shape() {
        let response =
            AppError::Validation(vec![FieldError::new("title", "too long")]).into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body_json(response).await;
        assert_eq!(body["detail"][0]["loc"], json!(["body", "title"]));
        assert_eq!(body["detail"][0]["msg"], "too long");
    }

    #[tokio::test]
    async fn unauthorized_carries_www_authenticate() {
        let response = AppError::Unauthorized.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[tokio::test]
    async fn invalid_grant_uses_the_oauth2_shape() {
        let response = AppError::InvalidGrant.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let body = body_json(response).await;
        assert_eq!(body["error"], "invalid_grant");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("Sign in")
        );
    }

    #[tokio::test]
    async fn token_errors_get_rfc_6749_codes_and_keep_their_statuses_and_headers() {
        for (err, status, code) in [
            (AppError::InvalidCredentials.into(), 401, "invalid_grant"),
            (AppError::AccountDisabled.into(), 403, "invalid_grant"),
            (AppError::InvalidGrant.into(), 400, "invalid_grant"),
            (
                TokenError::MissingParameter("x".into()),
                400,
                "invalid_request",
            ),
            (
                AppError::field("body", "duplicate field").into(),
                400,
                "invalid_request",
            ),
            (
                AppError::BadRequest("x".into()).into(),
                400,
                "invalid_request",
            ),
            (AppError::PayloadTooLarge.into(), 413, "invalid_request"),
            (
                AppError::UnsupportedMediaType("x".into()).into(),
                415,
                "invalid_request",
            ),
            (
                TokenError::UnsupportedGrantType,
                400,
                "unsupported_grant_type",
            ),
            (
                AppError::RateLimited {
                    retry_after_secs: 7,
                }
                .into(),
                429,
                "temporarily_unavailable",
            ),
            (AppError::Unavailable.into(), 503, "temporarily_unavailable"),
            (AppError::Internal.into(), 500, "server_error"),
        ] {
            let response = TokenError::into_response(err);
            assert_eq!(response.status().as_u16(), status, "{code}");
            let headers = response.headers().clone();
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
            assert_eq!(headers[header::PRAGMA], "no-cache");
            assert_eq!(
                headers.contains_key(header::RETRY_AFTER),
                status == 429 || status == 503
            );
            assert_eq!(
                headers.contains_key(header::WWW_AUTHENTICATE),
                status == 401
            );
            let body = body_json(response).await;
            assert_eq!(body["error"], code, "{body}");
            assert!(
                body["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{body}"
            );
            assert_eq!(body["error_description"], body["detail"], "{body}");
        }
    }

    #[test]
    fn error_descriptions_keep_to_the_characters_rfc_6749_allows() {
        assert_eq!(
            oauth_description("a \"quoted\" back\\slash, caf\u{e9}\n`ok`"),
            "a ?quoted? back?slash, caf??`ok`"
        );
    }

    #[tokio::test]
    async fn a_panic_becomes_a_generic_500() {
        let response = panic_response(Box::new(String::from("secret path /etc/tasks.db")));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_json(response).await;
        assert!(!body.to_string().contains("/etc"), "{body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("Something went wrong")
        );
    }

    #[tokio::test]
    async fn internal_errors_say_nothing_about_their_cause() {
        let err = AppError::internal("test", "UNIQUE constraint failed: users.email");
        let body = body_json(err.into_response()).await;
        assert!(!body.to_string().contains("UNIQUE"));
    }
}
