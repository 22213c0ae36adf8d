//! Sign-up, sign-in and sign-out: `/api/auth/*` and `/api/anonymous/auth`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use plaza_core::identity::{AnonymousInput, RegisterInput};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, JsonOrForm};
use crate::{AppState, base_url, wire};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/anonymous/auth", post(anonymous))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    username: String,
    password: String,
    #[serde(default)]
    displayname: Option<String>,
}

/// POST /api/auth/register
async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<RegisterBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let issued = state
        .identity
        .register(RegisterInput {
            username: body.username,
            password: body.password,
            displayname: body.displayname,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(wire::issued_token(&issued, &base_url(&state, &headers)))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

/// POST /api/auth/login
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<LoginBody>,
) -> ApiResult<axum::Json<Value>> {
    let issued = state.identity.login(&body.username, &body.password).await?;
    Ok(axum::Json(wire::issued_token(&issued, &base_url(&state, &headers))))
}

/// POST /api/auth/logout: revokes the token the request was made with.
async fn logout(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<StatusCode> {
    state.identity.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Spaces clients send extra fields here (`version`, ...), so unknown ones are ignored.
#[derive(Deserialize, Default)]
struct AnonymousBody {
    #[serde(default)]
    displayname: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    picturefile: Option<String>,
}

/// POST /api/anonymous/auth: JSON or form body, answers a bare `{token}`.
async fn anonymous(
    State(state): State<AppState>,
    JsonOrForm(body): JsonOrForm<AnonymousBody>,
) -> ApiResult<axum::Json<Value>> {
    let issued = state
        .identity
        .anonymous(AnonymousInput {
            displayname: body.displayname,
            username: body.username,
            picturefile: body.picturefile,
        })
        .await?;
    Ok(axum::Json(json!({"token": issued.token})))
}
