//! Health endpoints for load balancers and orchestrators.
//!
//! - `GET /healthz`: the process is alive and serving (no database access), always 200.
//! - `GET /readyz`: the database answers and every migration this binary embeds is applied;
//!   otherwise 503, so a load balancer stops sending traffic until the database is back.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde_json::json;

use super::{db, state::AppState};

/// The health routes, merged at the root.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
}

async fn alive() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match db::readiness(&state.db).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "detail": reason })),
            )
        }
    }
}
