//! Sign-up, sign-in and sign-out: `/api/auth/*` and `/api/anonymous/auth`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use plaza_core::identity::{AnonymousInput, RegisterInput};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{Auth, Json, JsonOrForm};
use crate::schemas::{IssuedToken, Token};
use crate::{AppState, Routes, base_url, wire};

#[derive(utoipa::OpenApi)]
#[openapi(paths(register, login, logout, anonymous))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/anonymous/auth", post(anonymous))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    #[schema(format = Email, max_length = 254)]
    username: String,
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    #[serde(default)]
    #[schema(max_length = 128)]
    displayname: Option<String>,
}

/// POST /api/auth/register: creates an account (when registration is open) and signs
/// it in.
#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "auth",
    operation_id = "register",
    request_body = RegisterBody,
    responses((status = 201, description = "The new account and its token", body = IssuedToken))
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

/// POST /api/auth/login: signs in with a username (email) and password.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    operation_id = "login",
    request_body = LoginBody,
    responses((status = 200, description = "The account and a new token", body = IssuedToken))
)]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<LoginBody>,
) -> ApiResult<axum::Json<Value>> {
    let issued = state.identity.login(&body.username, &body.password).await?;
    Ok(axum::Json(wire::issued_token(&issued, &base_url(&state, &headers))))
}

/// POST /api/auth/logout: revokes the token the request was made with.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    operation_id = "logout",
    security(("authorization" = [])),
    responses((status = 204, description = "The token is revoked"))
)]
async fn logout(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<StatusCode> {
    state.identity.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Spaces clients send extra fields here (`version`, ...), so unknown ones are ignored.
#[derive(Deserialize, Default, ToSchema)]
struct AnonymousBody {
    #[serde(default)]
    displayname: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    picturefile: Option<String>,
}

/// POST /api/anonymous/auth: a guest token; JSON or form body, answers a bare `{token}`.
#[utoipa::path(
    post,
    path = "/api/anonymous/auth",
    tag = "auth",
    operation_id = "anonymousAuth",
    request_body(
        content(
            (AnonymousBody = "application/json"),
            (AnonymousBody = "application/x-www-form-urlencoded"),
        ),
        description = "Every field is optional; an empty body is allowed",
    ),
    responses((status = 200, description = "A guest's token", body = Token))
)]
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
