//! The current user: `/api/users/me` and its settings.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path};
use crate::{AppState, base_url, wire};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users/me", get(me))
        .route("/api/users/me/settings", get(settings).post(update_settings))
        .route("/api/users/me/settings/{settings_id}", post(update_settings_by_id))
}

/// GET /api/users/me: the caller, as a bare object.
async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
) -> axum::Json<Value> {
    axum::Json(wire::user(&principal.user, &base_url(&state, &headers)))
}

/// GET /api/users/me/settings: `{data: [settings]}`.
async fn settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<Value>> {
    let record = state.identity.settings(&principal).await?;
    Ok(axum::Json(json!({"data": [wire::settings(&record)]})))
}

/// POST /api/users/me/settings: changes only the fields sent; answers `{data: settings}`.
async fn update_settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(changes): Json<Map<String, Value>>,
) -> ApiResult<axum::Json<Value>> {
    let record = state.identity.update_settings(&principal, None, changes).await?;
    Ok(axum::Json(json!({"data": wire::settings(&record)})))
}

/// POST /api/users/me/settings/{settingsId}: as above, for that settings object.
async fn update_settings_by_id(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(settings_id): Path<String>,
    Json(changes): Json<Map<String, Value>>,
) -> ApiResult<axum::Json<Value>> {
    let record = state.identity.update_settings(&principal, Some(&settings_id), changes).await?;
    Ok(axum::Json(json!({"data": wire::settings(&record)})))
}
