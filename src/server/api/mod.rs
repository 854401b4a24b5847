//! The JSON REST API under `/api/v1`, for scripts and other services.
//!
//! Flows match what FastAPI users know: JSON registration, the OAuth2 password grant at
//! `/auth/token`, Bearer-protected endpoints, `{"detail": ...}` errors. Handlers are thin front
//! doors onto `server::accounts` and `server::tasks`, like the server functions; authentication
//! is the same [`Principal`] extractor, which also accepts the browser's cookie.

pub mod admin;
pub mod doc;
pub mod email;
pub mod extract;
pub mod totp;
pub mod types;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::{delete, get, post},
};

use self::{
    doc::{AuthErrors, JsonBodyErrors, TaskIdErrors, WriteRefusals},
    extract::{ApiJson, ApiPath, ApiQuery, OAuthForm},
    types::{
        AccountDeletion, ActivityQuery, AuditPageOut, ExportOut, ListQuery, NewTask, PasskeyOut,
        PasswordChangeBody, RefreshBody, RegisterBody, SessionOut, TaskOut, TaskPage, TaskPatch,
        TokenForm, TokenOut, UserOut,
    },
};
use super::{
    accounts, audit,
    context::{Principal, RequestContext},
    db::two_step::Channel,
    error::{ErrorOut, TokenBadRequestOut, TokenError, TokenErrorOut, ValidationErrorOut},
    sessions::{self, Issued},
    state::AppState,
    tasks, two_step,
};
use crate::error::{AppError, Resource};
use tower_cookies::Cookies;

/// The API routes, to be nested at `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/token", post(token))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route(
            "/auth/sessions",
            get(list_sessions).delete(revoke_other_sessions),
        )
        .route("/auth/sessions/{id}", delete(revoke_session))
        .nest("/admin", admin::router())
        .route("/users/me", get(me).delete(delete_me))
        .route("/users/me/activity", get(my_activity))
        .route("/users/me/passkeys", get(my_passkeys))
        .route("/users/me/export", get(export_me))
        .route("/users/me/password", post(change_password))
        .route("/auth/password-reset", post(email::request_password_reset))
        .route(
            "/auth/password-reset/confirm",
            post(email::confirm_password_reset),
        )
        .route("/auth/verify-email", post(email::verify_email))
        .route("/users/me/verification", post(email::resend_verification))
        .route("/users/me/email", post(email::change_email))
        .route("/users/me/totp", post(totp::start).delete(totp::disable))
        .route("/users/me/totp/confirm", post(totp::confirm))
        .route(
            "/users/me/recovery-codes",
            post(totp::replace_recovery_codes),
        )
        .route("/tasks", get(list_tasks).post(create_task))
        .route(
            "/tasks/{id}",
            get(get_task).patch(update_task).delete(delete_task),
        )
        .fallback(|| async { AppError::NotFound(Resource::Endpoint) })
}

/// The URL of a list's next page: `path` with the query `params` (form-encoded).
fn next_link(path: &str, params: &[(&str, String)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    format!("{path}?{}", query.finish())
}

/// A `Link: <next>; rel="next"` header (RFC 8288) when there is a next page.
fn link_header(next: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(link) =
        next.and_then(|n| HeaderValue::from_str(&format!("<{n}>; rel=\"next\"")).ok())
    {
        headers.insert(header::LINK, link);
    }
    headers
}

/// Token responses: `no-store` plus `Pragma: no-cache`, as RFC 6749 §5.1 asks of them. (Every
/// other response gets `no-store` from `server::edge`.)
fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Account created", body = UserOut),
        (status = 409, description = "Email already registered", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "Invalid fields (including a too common password)", body = ValidationErrorOut),
        (status = 429, description = "Too many sign-up attempts from this address or for this email", body = ErrorOut,
            headers(("Retry-After" = u64, description = "Seconds until attempts are allowed again"))),
    ))]
async fn register(
    State(state): State<AppState>,
    context: RequestContext,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, AppError> {
    let user = accounts::register(
        &state,
        &body.name,
        &body.email,
        body.password,
        None,
        &context.client,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(UserOut::from(user))))
}

/// Answers a token request: RFC 6749 §5.1 body, never cached.
fn token_response(issued: &Issued) -> impl IntoResponse + use<> {
    let body = TokenOut {
        access_token: issued.access.expose().to_owned(),
        token_type: "bearer",
        expires_in: issued.access_ttl.as_secs(),
        refresh_token: issued.refresh.expose().to_owned(),
        refresh_expires_in: issued.refresh_ttl.as_secs(),
    };
    (no_store(), Json(body))
}

/// Log in with the OAuth2 password grant (`username` is the email), or exchange a refresh
/// token (`grant_type=refresh_token`). Returns a Bearer access token and a refresh token.
///
/// Accounts with two-step sign-in answer a correct password with `403 mfa_required` and an
/// `mfa_token`; post `grant_type=mfa_otp` with that `mfa_token` and `otp` (the authenticator
/// app's 6-digit code) or `recovery_code` within 5 minutes to get the tokens. Five wrong codes
/// end the `mfa_token`.
///
/// Errors are OAuth2 error responses (RFC 6749 §5.2): `error` and `error_description`, with the
/// same sentence in `detail` for FastAPI-style clients.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Access and refresh token", body = TokenOut),
        (status = 400, description = "`invalid_request`: a parameter the grant needs is missing \
            or repeated, or the body cannot be read; `invalid_grant`: the refresh token is \
            invalid, expired, spent or revoked, or (`mfa_otp`) the code is wrong or the \
            `mfa_token` expired, was used or ended after 5 wrong codes; \
            `unsupported_grant_type`: `grant_type` is not `password`, `refresh_token` or \
            `mfa_otp`", body = TokenErrorOut,
            example = json!({"error": "unsupported_grant_type", "error_description": "grant_type must be `password`, `refresh_token` or `mfa_otp`.", "detail": "grant_type must be `password`, `refresh_token` or `mfa_otp`."})),
        (status = 401, description = "`invalid_grant`: incorrect email or password", body = TokenErrorOut,
            headers(("WWW-Authenticate" = String, description = "Bearer")),
            example = json!({"error": "invalid_grant", "error_description": "Incorrect email or password.", "detail": "Incorrect email or password."})),
        (status = 403, description = "`mfa_required`: the password is right and the account has \
            two-step sign-in; the body's `mfa_token` continues with `grant_type=mfa_otp`. \
            `invalid_grant`: the account is disabled", body = TokenErrorOut,
            example = json!({"error": "mfa_required", "error_description": "This account uses two-step sign-in. Post grant_type=mfa_otp with this mfa_token and otp (the 6-digit code of the authenticator app) or recovery_code, within 5 minutes.", "detail": "This account uses two-step sign-in. Post grant_type=mfa_otp with this mfa_token and otp (the 6-digit code of the authenticator app) or recovery_code, within 5 minutes.", "mfa_token": "Qm9vb1p4dGhpcy1pcy1ub3QtYS1yZWFsLXRva2VuLXh4"})),
        (status = 413, description = "`invalid_request`: the body is larger than 64 KiB", body = TokenErrorOut),
        (status = 415, description = "`invalid_request`: the body is not `application/x-www-form-urlencoded`", body = TokenErrorOut),
        (status = 429, description = "`temporarily_unavailable`: this client has to wait before its next login attempt: too many failed logins for this account or from this address (a device that signed in before is only limited by its own failures)", body = TokenErrorOut,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 500, description = "`server_error`: a failure on the server", body = TokenErrorOut),
        (status = 503, description = "`temporarily_unavailable`: the database or the password hashing is overloaded or down", body = TokenErrorOut,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ))]
async fn token(
    State(state): State<AppState>,
    context: RequestContext,
    cookies: Cookies,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> Result<impl IntoResponse, TokenError> {
    match form.grant_type.as_deref().unwrap_or("password") {
        "password" => {
            let (username, password) = match (form.username, form.password) {
                (Some(u), Some(p)) => (u, p),
                (u, p) => {
                    let missing = match (u, p) {
                        (None, None) => "`username` and `password` are",
                        (None, Some(_)) => "`username` is",
                        (Some(_), _) => "`password` is",
                    };
                    return Err(TokenError::MissingParameter(format!(
                        "{missing} required for grant_type=password."
                    )));
                }
            };
            let client = &context.client;
            match accounts::verify_login(&state, &username, password, client, &cookies).await? {
                accounts::Login::Complete(user) => {
                    let issued = sessions::start(&state, &user, client).await?;
                    Ok(token_response(&issued))
                }
                accounts::Login::NeedsCode(user) => {
                    let token = two_step::begin(&state, &user, Channel::Api).await?;
                    Err(TokenError::MfaRequired(token))
                }
            }
        }
        "mfa_otp" => {
            let Some(mfa_token) = form.mfa_token else {
                return Err(TokenError::MissingParameter(
                    "`mfa_token` is required for grant_type=mfa_otp.".into(),
                ));
            };
            let answer = match (form.otp, form.recovery_code) {
                (Some(otp), None) => two_step::Answer::Code(otp),
                (None, Some(code)) => two_step::Answer::RecoveryCode(code),
                _ => {
                    return Err(TokenError::MissingParameter(
                        "grant_type=mfa_otp needs exactly one of `otp` and `recovery_code`.".into(),
                    ));
                }
            };
            let client = &context.client;
            let user =
                two_step::complete(&state, Channel::Api, &mfa_token, &answer, client, &cookies)
                    .await
                    .map_err(|err| match err {
                        AppError::Validation(errors) => TokenError::WrongCode(
                            errors
                                .into_iter()
                                .map(|e| e.message)
                                .collect::<Vec<_>>()
                                .join(" "),
                        ),
                        other => TokenError::App(other),
                    })?;
            let issued = sessions::start(&state, &user, client).await?;
            Ok(token_response(&issued))
        }
        "refresh_token" => {
            let Some(presented) = form.refresh_token else {
                return Err(TokenError::MissingParameter(
                    "`refresh_token` is required for grant_type=refresh_token.".into(),
                ));
            };
            let issued = sessions::refresh(&state, &presented, &context.client).await?;
            Ok(token_response(&issued))
        }
        _ => Err(TokenError::UnsupportedGrantType),
    }
}

/// Exchange a refresh token for a new access token and a new refresh token. Each refresh token
/// works once: presenting a spent one again signs the whole session out (token theft).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new access and refresh token", body = TokenOut),
        (status = 400, description = "The refresh token is invalid, expired, spent or revoked (OAuth2 `invalid_grant`), or the body is unreadable (`detail`)", body = TokenBadRequestOut),
        (status = 413, description = "Body too large", body = ErrorOut),
        (status = 415, description = "Not JSON", body = ErrorOut),
        (status = 422, description = "Missing `refresh_token`", body = ValidationErrorOut),
    ))]
async fn refresh(
    State(state): State<AppState>,
    context: RequestContext,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<impl IntoResponse, AppError> {
    let issued = sessions::refresh(&state, &body.refresh_token, &context.client).await?;
    Ok(token_response(&issued))
}

/// Sign out: ends the session of the presented access token, and with it its refresh token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Signed out"),
        AuthErrors,
    ))]
async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
) -> Result<StatusCode, AppError> {
    accounts::log_out(&state, &principal, &context.client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's signed-in sessions, most recently used first.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Live sessions", body = Vec<SessionOut>),
        AuthErrors,
    ))]
async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<impl IntoResponse, AppError> {
    let list = sessions::list(&state, principal.user.id, &principal.session_id).await?;
    let body: Vec<SessionOut> = list.into_iter().map(SessionOut::from).collect();
    Ok(Json(body))
}

/// Sign out every session except the caller's ("sign out everywhere else").
#[utoipa::path(delete, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Every other session is signed out"),
        AuthErrors,
    ))]
async fn revoke_other_sessions(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
) -> Result<StatusCode, AppError> {
    accounts::end_other_sessions(&state, &principal, &context.client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign out one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth",
    params(("id" = String, Path, description = "Session id, from the sessions list")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Signed out"),
        AuthErrors,
        (status = 404, description = "No such live session of yours", body = ErrorOut),
    ))]
async fn revoke_session(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    if accounts::end_own_session(&state, &principal, &id, &context.client).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(Resource::Session))
    }
}

/// Change the password. The current password is required; every other session is signed out.
#[utoipa::path(post, path = "/api/v1/users/me/password", tag = "users", request_body = PasswordChangeBody,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Password changed; other sessions signed out"),
        AuthErrors,
        JsonBodyErrors,
        (status = 422, description = "Wrong current password, or the new one is refused", body = ValidationErrorOut),
    ))]
async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    ApiJson(body): ApiJson<PasswordChangeBody>,
) -> Result<StatusCode, AppError> {
    accounts::change_password(
        &state,
        &principal,
        body.current_password,
        &body.new_password,
        None,
        &context.client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The current user", body = UserOut),
        AuthErrors,
    ))]
async fn me(Principal { user, .. }: Principal) -> impl IntoResponse {
    Json(UserOut::from(user))
}

/// Delete the caller's account, with its tasks and sessions. The password is required.
#[utoipa::path(delete, path = "/api/v1/users/me", tag = "users", request_body = AccountDeletion,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "The account is deleted; every session has ended"),
        AuthErrors,
        (status = 409, description = "The caller is the last enabled administrator", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "Wrong password", body = ValidationErrorOut),
    ))]
async fn delete_me(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    ApiJson(body): ApiJson<AccountDeletion>,
) -> Result<StatusCode, AppError> {
    accounts::delete_account(&state, &principal, body.password, &context.client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's passkeys, oldest first, with whether each is suspended (a suspected clone, or
/// "This wasn't me"). Adding, re-enabling and removing passkeys happens on the account page,
/// where the browser's passkey dialog is.
#[utoipa::path(get, path = "/api/v1/users/me/passkeys", tag = "users",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The caller's passkeys", body = Vec<PasskeyOut>),
        AuthErrors,
    ))]
async fn my_passkeys(
    State(state): State<AppState>,
    Principal { user, .. }: Principal,
) -> Result<Json<Vec<PasskeyOut>>, AppError> {
    let passkeys = crate::server::db::passkeys::list(&state.db, user.id).await?;
    Ok(Json(passkeys.into_iter().map(Into::into).collect()))
}

/// The caller's recent security activity (sign-ins, failed attempts, password changes, ...),
/// newest first.
#[utoipa::path(get, path = "/api/v1/users/me/activity", tag = "users", params(ActivityQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "A page of the caller's audit events", body = AuditPageOut),
        AuthErrors,
        (status = 422, description = "Invalid query parameters", body = ValidationErrorOut),
    ))]
async fn my_activity(
    State(state): State<AppState>,
    Principal { user, .. }: Principal,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (rows, next_cursor) =
        audit::events(&state, Some(user.id), query.cursor, query.limit).await?;
    let next = next_cursor.map(|cursor| {
        let mut params = vec![("cursor", cursor.to_string())];
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        next_link("/api/v1/users/me/activity", &params)
    });
    let page = AuditPageOut {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
        next: next.clone(),
    };
    Ok((link_header(next.as_deref()), Json(page)))
}

/// Download everything Tasks keeps about the caller: profile, tasks, sessions and activity,
/// as one JSON document.
#[utoipa::path(get, path = "/api/v1/users/me/export", tag = "users",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The caller's data (sent as an attachment)", body = ExportOut,
            headers(("Content-Disposition" = String, description = "attachment; filename=\"tasks-export.json\""))),
        AuthErrors,
    ))]
async fn export_me(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
) -> Result<impl IntoResponse, AppError> {
    let export = accounts::export(&state, &principal, &context.client).await?;
    let body = ExportOut {
        profile: UserOut::from(export.user),
        tasks: export.tasks.into_iter().map(TaskOut::from).collect(),
        sessions: export.sessions.into_iter().map(SessionOut::from).collect(),
        activity: export.activity.into_iter().map(Into::into).collect(),
        exported_at: types::rfc3339(crate::server::db::now_millis()),
    };
    let disposition = HeaderValue::from_static("attachment; filename=\"tasks-export.json\"");
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(body)))
}

/// The caller's tasks, newest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(ListQuery), security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "A page of tasks; `next` is the URL of the next page", body = TaskPage),
        AuthErrors,
        (status = 422, description = "Invalid query parameters", body = ValidationErrorOut),
    ))]
async fn list_tasks(
    State(state): State<AppState>,
    Principal { user, .. }: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (items, next_cursor) =
        tasks::page(&state, &user, query.done, query.cursor, query.limit).await?;
    let next = next_cursor.map(|cursor| {
        let mut params = vec![("cursor", cursor.to_string())];
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        if let Some(done) = query.done {
            params.push(("done", done.to_string()));
        }
        next_link("/api/v1/tasks", &params)
    });
    let page = TaskPage {
        items: items.into_iter().map(TaskOut::from).collect(),
        next_cursor,
        next: next.clone(),
    };
    Ok((link_header(next.as_deref()), Json(page)))
}

/// Add a task.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = NewTask, security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 201, description = "Task created", body = TaskOut,
            headers(("Location" = String, description = "URL of the new task"))),
        AuthErrors,
        JsonBodyErrors,
        (status = 422, description = "Invalid title, or the account already has `MAX_TASKS_PER_USER` tasks", body = ValidationErrorOut),
        WriteRefusals,
    ))]
async fn create_task(
    State(state): State<AppState>,
    Principal { user, .. }: Principal,
    ApiJson(body): ApiJson<NewTask>,
) -> Result<impl IntoResponse, AppError> {
    let task = tasks::create(&state, &user, &body.title).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/tasks/{}", task.id))
        .map_err(|e| AppError::internal("building a Location header failed", e))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(TaskOut::from(task)),
    ))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path, description = "Task id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The task", body = TaskOut),
        AuthErrors,
        TaskIdErrors,
        (status = 422, description = "The id is not a number", body = ValidationErrorOut),
    ))]
async fn get_task(
    State(state): State<AppState>,
    Principal { user, .. }: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(TaskOut::from(tasks::get(&state, &user, id).await?)))
}

/// Rename a task and/or mark it done or not done.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path, description = "Task id")),
    request_body = TaskPatch, security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The updated task", body = TaskOut),
        AuthErrors,
        TaskIdErrors,
        JsonBodyErrors,
        (status = 422, description = "Invalid title or id", body = ValidationErrorOut),
        WriteRefusals,
    ))]
async fn update_task(
    State(state): State<AppState>,
    Principal { user, .. }: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> Result<impl IntoResponse, AppError> {
    let task = tasks::update(&state, &user, id, patch.title.as_deref(), patch.done).await?;
    Ok(Json(TaskOut::from(task)))
}

/// Delete a task.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = i64, Path, description = "Task id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AuthErrors,
        TaskIdErrors,
        (status = 422, description = "The id is not a number", body = ValidationErrorOut),
        WriteRefusals,
    ))]
async fn delete_task(
    State(state): State<AppState>,
    Principal { user, .. }: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    tasks::delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
