//! The JSON REST API under `/api/v1`, for scripts and other services.
//!
//! Flows match what FastAPI users know: JSON registration, the OAuth2 password grant at
//! `/auth/token`, Bearer-protected endpoints, `{"detail": ...}` errors. Handlers are thin front
//! doors onto `server::accounts` and `server::tasks`, like the server functions; authentication
//! is the same [`CurrentUser`] extractor, which also accepts the browser's cookie.

pub mod doc;
pub mod extract;
pub mod types;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};

use self::{
    doc::{AuthErrors, JsonBodyErrors, TaskIdErrors},
    extract::{ApiForm, ApiJson, ApiPath, ApiQuery},
    types::{
        ErrorOut, ListQuery, NewTask, RegisterBody, TaskOut, TaskPage, TaskPatch, TokenForm,
        TokenOut, UserOut, ValidationErrorOut,
    },
};
use super::{accounts, auth::CurrentUser, state::AppState, tasks};
use crate::error::AppError;

/// The API routes, to be nested at `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/token", post(token))
        .route("/users/me", get(me))
        .route("/tasks", get(list_tasks).post(create_task))
        .route("/tasks/{id}", get(get_task).patch(update_task).delete(delete_task))
        .fallback(|| async {
            (StatusCode::NOT_FOUND, Json(serde_json::json!({"detail": "Not Found: no such API endpoint; see /api/v1/docs"})))
        })
}

/// Responses carrying credentials or personal data must not be cached anywhere.
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
        (status = 422, description = "Invalid fields", body = ValidationErrorOut),
    ))]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, AppError> {
    let user = accounts::register(&state, &body.name, &body.email, body.password, None).await?;
    Ok((StatusCode::CREATED, Json(UserOut::from(user))))
}

/// Log in: OAuth2 password grant (`username` is the email). Returns a Bearer access token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Access token", body = TokenOut),
        (status = 401, description = "Incorrect email or password", body = ErrorOut,
            headers(("WWW-Authenticate" = String, description = "Bearer"))),
        (status = 413, description = "Body too large", body = ErrorOut),
        (status = 415, description = "Not a form", body = ErrorOut),
        (status = 422, description = "Missing fields or unsupported grant_type", body = ValidationErrorOut),
    ))]
async fn token(
    State(state): State<AppState>,
    ApiForm(form): ApiForm<TokenForm>,
) -> Result<impl IntoResponse, AppError> {
    if form.grant_type.as_deref().is_some_and(|g| g != "password") {
        return Err(AppError::field(
            "grant_type",
            "only grant_type=password is supported",
        ));
    }
    let user = accounts::authenticate(&state, &form.username, form.password).await?;
    let token = accounts::issue_token(&state, &user)?;
    let body = TokenOut {
        access_token: token.expose().to_owned(),
        token_type: "bearer",
        expires_in: state.jwt.ttl().as_secs(),
    };
    Ok((no_store(), Json(body)))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The current user", body = UserOut),
        AuthErrors,
    ))]
async fn me(CurrentUser(user): CurrentUser) -> impl IntoResponse {
    (no_store(), Json(UserOut::from(user)))
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
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (items, next_cursor) =
        tasks::page(&state, &user, query.done, query.cursor, query.limit).await?;
    let next = next_cursor.map(|cursor| {
        let mut url = format!("/api/v1/tasks?cursor={cursor}");
        if let Some(limit) = query.limit {
            url.push_str(&format!("&limit={limit}"));
        }
        if let Some(done) = query.done {
            url.push_str(&format!("&done={done}"));
        }
        url
    });
    let mut headers = HeaderMap::new();
    headers.extend(no_store());
    if let Some(link) = next
        .as_ref()
        .and_then(|n| HeaderValue::from_str(&format!("<{n}>; rel=\"next\"")).ok())
    {
        headers.insert(header::LINK, link);
    }
    let page = TaskPage {
        items: items.into_iter().map(TaskOut::from).collect(),
        next_cursor,
        next,
    };
    Ok((headers, Json(page)))
}

/// Add a task.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = NewTask, security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 201, description = "Task created", body = TaskOut,
            headers(("Location" = String, description = "URL of the new task"))),
        AuthErrors,
        JsonBodyErrors,
        (status = 422, description = "Invalid title", body = ValidationErrorOut),
    ))]
async fn create_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
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
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, AppError> {
    Ok((
        no_store(),
        Json(TaskOut::from(tasks::get(&state, &user, id).await?)),
    ))
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
    ))]
async fn update_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
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
    ))]
async fn delete_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    tasks::delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
