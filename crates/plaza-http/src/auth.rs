//! Sign-up, sign-in and sign-out: `/api/auth/*` and `/api/anonymous/auth`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use plaza_core::identity::{AnonymousInput, RegisterInput};
use plaza_wire::users::{DigestSetting, MailSent, PasswordChanged};
use plaza_wire::{IssuedToken, Token};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{Auth, Json, JsonOrForm};
use crate::{AppState, Routes, base_url};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    register,
    login,
    logout,
    anonymous,
    forgot_password,
    reset_password,
    unsubscribe_digest,
    unsubscribe_digest_one_click
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/anonymous/auth", post(anonymous))
        .route("/api/auth/password/forgot", post(forgot_password))
        .route("/api/auth/password/reset", post(reset_password))
        .route(
            "/api/users/digest/unsubscribe",
            axum::routing::get(unsubscribe_digest).post(unsubscribe_digest_one_click),
        )
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
) -> ApiResult<(StatusCode, axum::Json<IssuedToken>)> {
    let issued = state
        .identity
        .register(RegisterInput {
            username: body.username,
            password: body.password,
            displayname: body.displayname,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(IssuedToken::of(&issued, &base_url(&state, &headers)))))
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
) -> ApiResult<axum::Json<IssuedToken>> {
    let issued = state.identity.login(&body.username, &body.password).await?;
    Ok(axum::Json(IssuedToken::of(&issued, &base_url(&state, &headers))))
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
) -> ApiResult<axum::Json<Token>> {
    let issued = state
        .identity
        .anonymous(AnonymousInput {
            displayname: body.displayname,
            username: body.username,
            picturefile: body.picturefile,
        })
        .await?;
    Ok(axum::Json(Token { token: issued.token }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ForgotBody {
    /// The account's email.
    #[schema(max_length = 254)]
    username: String,
}

/// POST /api/auth/password/forgot: mails a single-use password-reset link to the
/// account, if there is one; the answer is the same either way.
#[utoipa::path(
    post,
    path = "/api/auth/password/forgot",
    tag = "auth",
    operation_id = "forgotPassword",
    request_body = ForgotBody,
    responses(
        (status = 202, description = "`{mailSent: true}`: a link is on its way if the account exists", body = MailSent),
        (status = 403, description = "`mail.not_configured`: this server sends no email", body = crate::error::ErrorBody)
    )
)]
async fn forgot_password(
    State(state): State<AppState>,
    Json(body): Json<ForgotBody>,
) -> ApiResult<(StatusCode, axum::Json<MailSent>)> {
    state.identity.request_password_reset(&body.username).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(MailSent { mail_sent: true })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    /// The token from the reset mail's link.
    #[schema(max_length = 256)]
    token: String,
    /// The new password.
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
}

/// POST /api/auth/password/reset: sets a new password with the token of a reset mail
/// (once, before it expires).
#[utoipa::path(
    post,
    path = "/api/auth/password/reset",
    tag = "auth",
    operation_id = "resetPassword",
    request_body = ResetBody,
    responses(
        (status = 200, description = "`{passwordChanged: true}`", body = PasswordChanged),
        (status = 400, description = "`auth.reset_token_invalid`, or `request.invalid` for a weak password", body = crate::error::ErrorBody)
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    Json(body): Json<ResetBody>,
) -> ApiResult<axum::Json<PasswordChanged>> {
    state.identity.reset_password(&body.token, &body.password).await?;
    Ok(axum::Json(PasswordChanged { password_changed: true }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UnsubscribeQuery {
    /// The token of a digest mail's unsubscribe link.
    token: String,
}

/// GET /api/users/digest/unsubscribe: the digest mail's "stop these mails" link; turns
/// the digest off (the `emailDigest` setting) and says so in a small page.
#[utoipa::path(
    get,
    path = "/api/users/digest/unsubscribe",
    tag = "users",
    operation_id = "unsubscribeDigest",
    params(UnsubscribeQuery),
    responses((status = 200, description = "An HTML page saying the digest is off", content_type = "text/html"))
)]
async fn unsubscribe_digest(
    State(state): State<AppState>,
    crate::extract::Query(query): crate::extract::Query<UnsubscribeQuery>,
) -> ApiResult<axum::response::Html<&'static str>> {
    state.identity.unsubscribe(&query.token).await?;
    Ok(axum::response::Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribed</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\"><h1>You are unsubscribed</h1>\
         <p>You will no longer get email digests of missed mentions and direct messages. \
         You can turn them on again in the app's settings.</p></body></html>",
    ))
}

/// POST /api/users/digest/unsubscribe: one-click unsubscribe (RFC 8058), as mail
/// programs send it from the `List-Unsubscribe` header.
#[utoipa::path(
    post,
    path = "/api/users/digest/unsubscribe",
    tag = "users",
    operation_id = "unsubscribeDigestOneClick",
    params(UnsubscribeQuery),
    responses((status = 200, description = "`{emailDigest: false}`", body = DigestSetting))
)]
async fn unsubscribe_digest_one_click(
    State(state): State<AppState>,
    crate::extract::Query(query): crate::extract::Query<UnsubscribeQuery>,
) -> ApiResult<axum::Json<DigestSetting>> {
    state.identity.unsubscribe(&query.token).await?;
    Ok(axum::Json(DigestSetting { email_digest: false }))
}
