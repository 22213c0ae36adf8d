//! The current user: `/api/users/me` and its settings.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Map, Value};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path};
use plaza_wire::users::{Features, Statistics};
use plaza_wire::{Data, Settings, User};

use crate::{AppState, Routes, base_url};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    me,
    settings,
    update_settings,
    update_settings_by_id,
    features_rollout,
    statistics
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/api/users/me", get(me))
        .route("/api/users/me/settings", get(settings).post(update_settings))
        .route("/api/users/me/settings/{settings_id}", post(update_settings_by_id))
        .route("/api/users/me/featuresrollout", get(features_rollout))
        .route("/api/users/{user_id}/statistics", get(statistics))
}

/// GET /api/users/me: the caller, as a bare object.
#[utoipa::path(
    get,
    path = "/api/users/me",
    tag = "users",
    operation_id = "getMe",
    security(("authorization" = [])),
    responses((status = 200, description = "The caller", body = User))
)]
async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
) -> axum::Json<User> {
    axum::Json(User::of(&principal.user, &base_url(&state, &headers)))
}

/// GET /api/users/me/settings: the caller's settings, `{data: [settings]}`.
#[utoipa::path(
    get,
    path = "/api/users/me/settings",
    tag = "users",
    operation_id = "getSettings",
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [settings]}`: the preferences plus `_id` and `modified`", body = Data<Vec<Settings>>))
)]
async fn settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<Data<Vec<Settings>>>> {
    let record = state.identity.settings(&principal).await?;
    Ok(axum::Json(Data::new(vec![Settings::of(&record)])))
}

/// POST /api/users/me/settings: changes only the fields sent; answers `{data: settings}`.
#[utoipa::path(
    post,
    path = "/api/users/me/settings",
    tag = "users",
    operation_id = "updateSettings",
    security(("authorization" = [])),
    request_body(content = Object, description = "The preferences to change"),
    responses((status = 200, description = "`{data: settings}`", body = Data<Settings>))
)]
async fn update_settings(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(changes): Json<Map<String, Value>>,
) -> ApiResult<axum::Json<Data<Settings>>> {
    let record = state.identity.update_settings(&principal, None, changes).await?;
    Ok(axum::Json(Data::new(Settings::of(&record))))
}

/// POST /api/users/me/settings/{settingsId}: as above, for that settings object.
#[utoipa::path(
    post,
    path = "/api/users/me/settings/{settings_id}",
    tag = "users",
    operation_id = "updateSettingsById",
    security(("authorization" = [])),
    params(("settings_id" = String, Path, description = "The settings object's `_id`")),
    request_body(content = Object, description = "The preferences to change"),
    responses((status = 200, description = "`{data: settings}`", body = Data<Settings>))
)]
async fn update_settings_by_id(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(settings_id): Path<String>,
    Json(changes): Json<Map<String, Value>>,
) -> ApiResult<axum::Json<Data<Settings>>> {
    let record = state.identity.update_settings(&principal, Some(&settings_id), changes).await?;
    Ok(axum::Json(Data::new(Settings::of(&record))))
}

/// GET /api/users/me/featuresrollout: the features this server offers the caller, as
/// flags (registered users only; guests get 403).
#[utoipa::path(
    get,
    path = "/api/users/me/featuresrollout",
    tag = "users",
    operation_id = "featuresRollout",
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: {feature: enabled, ...}}`", body = Data<Features>))
)]
async fn features_rollout(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<Data<Features>>> {
    state.identity.require_registered(&principal)?;
    Ok(axum::Json(Data::new(Features {
        chat: true,
        posts: true,
        tasks: true,
        direct_spaces: true,
        file_sharing: true,
        meetings: true,
        guest_access: true,
        dial_in: !state.config.dial_in_numbers.is_empty(),
    })))
}

/// GET /api/users/{userId}/statistics: the caller's own counts (`me` or their id;
/// server admins may read anyone's): spaces they are in, messages they sent, meetings
/// held in their spaces.
#[utoipa::path(
    get,
    path = "/api/users/{user_id}/statistics",
    tag = "users",
    operation_id = "userStatistics",
    params(("user_id" = String, Path, description = "A user id, or `me`")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: {spaces, messages, meetings}}`", body = Data<Statistics>))
)]
async fn statistics(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(user_id): Path<String>,
) -> ApiResult<axum::Json<Data<Statistics>>> {
    let counts = state.identity.statistics(&principal, &user_id).await?;
    Ok(axum::Json(Data::new(Statistics {
        user_id: if user_id == "me" { principal.user_id().to_string() } else { user_id },
        spaces: counts.spaces,
        messages: counts.messages,
        meetings: counts.meetings,
    })))
}
