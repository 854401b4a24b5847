//! `/api/v1/admin`: the administrators' REST API. Every handler takes the [`Admin`]
//! extractor, so anonymous callers get 401 and signed-in non-administrators 403, before any
//! work; the logic is `server::admin`'s, shared with the `/admin` pages.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get},
};

use super::{
    doc::{AdminErrors, JsonBodyErrors},
    extract::{ApiJson, ApiPath, ApiQuery},
    link_header, next_link,
    types::{AccountOut, AccountPageOut, AccountPatch, AccountQuery, AuditPageOut, AuditQuery},
};
use crate::{
    error::AppError,
    server::{
        admin::{self, Actor, Change},
        audit,
        context::{Admin, RequestContext},
        error::{ErrorOut, ValidationErrorOut},
        state::AppState,
    },
};

/// The admin routes, to be nested at `/api/v1/admin`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/users/{id}/sessions", delete(sign_out_user))
        .route("/users/{id}/totp", delete(reset_two_step))
        .route("/audit", get(list_audit))
}

/// Accounts, newest first, optionally those whose email or name contains `q`.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(AccountQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "A page of accounts; `next` is the URL of the next page", body = AccountPageOut),
        AdminErrors,
        (status = 422, description = "Invalid query parameters", body = ValidationErrorOut),
    ))]
pub(super) async fn list_users(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(query): ApiQuery<AccountQuery>,
) -> Result<impl IntoResponse, AppError> {
    let q = query.q.as_deref().unwrap_or_default();
    let (rows, next_cursor) = admin::accounts(&state, q, query.cursor, query.limit).await?;
    let next = next_cursor.map(|cursor| {
        let mut params = vec![("cursor", cursor.to_string())];
        if !q.is_empty() {
            params.push(("q", q.to_owned()));
        }
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        next_link("/api/v1/admin/users", &params)
    });
    Ok((
        link_header(next.as_deref()),
        Json(AccountPageOut {
            items: rows.into_iter().map(AccountOut::from).collect(),
            next_cursor,
            next,
        }),
    ))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The account", body = AccountOut),
        AdminErrors,
        (status = 404, description = "No such account", body = ErrorOut),
        (status = 422, description = "The id is not a number", body = ValidationErrorOut),
    ))]
pub(super) async fn get_user(
    State(state): State<AppState>,
    _: Admin,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, AppError> {
    Ok(Json(AccountOut::from(admin::find(&state, id).await?)))
}

/// Change an account's role and/or disable or enable it. Disabling ends its sessions at once;
/// a demotion takes effect on the account's next request.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    request_body = AccountPatch,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The account as it is now", body = AccountOut),
        AdminErrors,
        (status = 404, description = "No such account", body = ErrorOut),
        (status = 409, description = "It would leave no enabled administrator", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "Invalid id or fields", body = ValidationErrorOut),
    ))]
pub(super) async fn update_user(
    State(state): State<AppState>,
    Admin(principal): Admin,
    context: RequestContext,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<AccountPatch>,
) -> Result<impl IntoResponse, AppError> {
    let change = Change {
        role: patch.role,
        disabled: patch.disabled,
    };
    let actor = Actor::Admin(&principal);
    let row = admin::change(&state, actor, &context.client, id, change).await?;
    Ok(Json(AccountOut::from(row)))
}

/// Sign out every session of an account.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}/sessions", tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Every session of the account is signed out"),
        AdminErrors,
        (status = 404, description = "No such account", body = ErrorOut),
        (status = 422, description = "The id is not a number", body = ValidationErrorOut),
    ))]
pub(super) async fn sign_out_user(
    State(state): State<AppState>,
    Admin(principal): Admin,
    context: RequestContext,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    let actor = Actor::Admin(&principal);
    admin::sign_out_everywhere(&state, actor, &context.client, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turn off an account's two-step sign-in (a person who lost their authenticator app and their
/// recovery codes). Every session of the account is signed out and the person is mailed.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}/totp", tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Two-step sign-in is off for the account"),
        AdminErrors,
        (status = 404, description = "No such account", body = ErrorOut),
        (status = 409, description = "The account does not have two-step sign-in on", body = ErrorOut),
        (status = 422, description = "The id is not a number", body = ValidationErrorOut),
    ))]
pub(super) async fn reset_two_step(
    State(state): State<AppState>,
    Admin(principal): Admin,
    context: RequestContext,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    let actor = Actor::Admin(&principal);
    if !admin::reset_two_step(&state, actor, &context.client, id).await? {
        return Err(crate::error::TwoStepRule::NotOn.into());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Delete an account with its tasks and sessions. Not one's own (use `DELETE
/// /api/v1/users/me`), and not the last enabled administrator.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Account id")),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Deleted"),
        AdminErrors,
        (status = 404, description = "No such account", body = ErrorOut),
        (status = 409, description = "It is the last enabled administrator", body = ErrorOut),
        (status = 422, description = "The id is not a number", body = ValidationErrorOut),
    ))]
pub(super) async fn delete_user(
    State(state): State<AppState>,
    Admin(principal): Admin,
    context: RequestContext,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    admin::delete(&state, Actor::Admin(&principal), &context.client, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit trail, newest first: everyone's, or one account's (`user_id`).
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditQuery),
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "A page of security events", body = AuditPageOut),
        AdminErrors,
        (status = 422, description = "Invalid query parameters", body = ValidationErrorOut),
    ))]
pub(super) async fn list_audit(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (rows, next_cursor) =
        audit::events(&state, query.user_id, query.cursor, query.limit).await?;
    let next = next_cursor.map(|cursor| {
        let mut params = vec![("cursor", cursor.to_string())];
        if let Some(user_id) = query.user_id {
            params.push(("user_id", user_id.to_string()));
        }
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        next_link("/api/v1/admin/audit", &params)
    });
    Ok((
        link_header(next.as_deref()),
        Json(AuditPageOut {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
            next,
        }),
    ))
}
