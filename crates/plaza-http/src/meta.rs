//! Probes and discovery: `/health`, `/ready`, `/api/service-configurations`, the JWKS
//! and the default profile picture.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::{AppState, base_url, wire};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/api/service-configurations", get(service_configurations))
        .route("/.well-known/jwks.json", get(jwks))
        .route(wire::DEFAULT_PICTURE_PATH, get(default_picture))
}

/// GET /health: the process is up.
async fn health() -> axum::Json<Value> {
    axum::Json(json!({"status": "ok"}))
}

/// GET /ready: the process can serve, i.e. its database answers.
async fn ready(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    state.identity.ready().await?;
    Ok(axum::Json(json!({"status": "ready"})))
}

/// GET /api/service-configurations: where clients find the API and the socket (no auth).
async fn service_configurations(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> axum::Json<Value> {
    let base = base_url(&state, &headers);
    axum::Json(json!({
        "spaces": {
            "server_url": base,
            "socketio_server_url": base,
            "marketing_url": base,
        },
        "store": {"server_url": base},
        "accounts": {"server_url": base},
    }))
}

/// GET /.well-known/jwks.json: the public keys that verify Plaza JWTs.
async fn jwks(State(state): State<AppState>) -> axum::Json<Value> {
    axum::Json(json!({"keys": state.identity.jwks()}))
}

/// GET /norevimages/noimage.jpg: the picture of users who set none. Browsers sniff the
/// SVG despite the historical `.jpg` name.
async fn default_picture() -> impl IntoResponse {
    const SVG: &str = concat!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\">",
        "<rect width=\"64\" height=\"64\" fill=\"#c8ccd4\"/>",
        "<circle cx=\"32\" cy=\"24\" r=\"12\" fill=\"#f5f6f8\"/>",
        "<path d=\"M10 60c2-14 12-20 22-20s20 6 22 20z\" fill=\"#f5f6f8\"/></svg>"
    );
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        SVG,
    )
}
