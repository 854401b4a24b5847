//! The JSON REST API under `/api/v1`, for scripts and other services.
//!
//! Flows match what FastAPI users know: JSON registration, the OAuth2 password grant at
//! `/auth/token`, Bearer-protected endpoints, `{"detail": ...}` errors. Handlers are thin front
//! doors onto `server::accounts` and `server::tasks`, like the server functions; authentication
//! is the same [`CurrentUser`] extractor, which also accepts the browser's cookie.

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
    extract::{ApiForm, ApiJson, ApiPath, ApiQuery},
    types::{ListQuery, NewTask, RegisterBody, TaskOut, TaskPage, TaskPatch, TokenForm, TokenOut, UserOut},
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

async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, AppError> {
    let user = accounts::register(&state, &body.name, &body.email, body.password, None).await?;
    Ok((StatusCode::CREATED, Json(UserOut::from(user))))
}

async fn token(
    State(state): State<AppState>,
    ApiForm(form): ApiForm<TokenForm>,
) -> Result<impl IntoResponse, AppError> {
    if form.grant_type.as_deref().is_some_and(|g| g != "password") {
        return Err(AppError::field("grant_type", "only grant_type=password is supported"));
    }
    let _ = form.scope;
    let user = accounts::authenticate(&state, &form.username, form.password).await?;
    let token = accounts::issue_token(&state, &user)?;
    let body = TokenOut {
        access_token: token.expose().to_owned(),
        token_type: "bearer",
        expires_in: state.jwt.ttl().as_secs(),
    };
    Ok((no_store(), Json(body)))
}

async fn me(CurrentUser(user): CurrentUser) -> impl IntoResponse {
    (no_store(), Json(UserOut::from(user)))
}

async fn list_tasks(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (items, next_cursor) = tasks::page(&state, &user, query.done, query.cursor, query.limit).await?;
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
    if let Some(link) = next.as_ref().and_then(|n| HeaderValue::from_str(&format!("<{n}>; rel=\"next\"")).ok()) {
        headers.insert(header::LINK, link);
    }
    let page = TaskPage { items: items.into_iter().map(TaskOut::from).collect(), next_cursor, next };
    Ok((headers, Json(page)))
}

async fn create_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<NewTask>,
) -> Result<impl IntoResponse, AppError> {
    let task = tasks::create(&state, &user, &body.title).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/tasks/{}", task.id))
        .map_err(|e| AppError::internal("building a Location header failed", e))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(TaskOut::from(task))))
}

async fn get_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, AppError> {
    Ok((no_store(), Json(TaskOut::from(tasks::get(&state, &user, id).await?))))
}

async fn update_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> Result<impl IntoResponse, AppError> {
    let task = tasks::update(&state, &user, id, patch.title.as_deref(), patch.done).await?;
    Ok(Json(TaskOut::from(task)))
}

async fn delete_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    tasks::delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
