//! The OAuth2 provider endpoints: `/oauth2/authorize`, `/oauth2/access_token`,
//! `/oauth2/revoke_token`.

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION, PRAGMA};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use plaza_core::ErrorCode;
use plaza_core::identity::{AuthorizeRequest, TokenRequest};
use plaza_wire::{JsonObject, TokenResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonOrForm, MaybeAuth, Query};
use crate::{AppState, Routes};

#[derive(utoipa::OpenApi)]
#[openapi(paths(authorize, authorize_with_password, access_token, revoke_token))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/oauth2/authorize", get(authorize).post(authorize_with_password))
        .route("/oauth2/access_token", post(access_token))
        .route("/oauth2/revoke_token", post(revoke_token))
}

/// The authorization request (RFC 6749 §4.1.1, RFC 7636).
#[derive(Deserialize, Default, Clone, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// Only on the sign-in form's POST.
    username: Option<String>,
    password: Option<String>,
}

impl AuthorizeParams {
    fn request(&self) -> AuthorizeRequest {
        AuthorizeRequest {
            response_type: self.response_type.clone(),
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scope: self.scope.clone(),
            state: self.state.clone(),
            code_challenge: self.code_challenge.clone(),
            code_challenge_method: self.code_challenge_method.clone(),
        }
    }
}

fn redirect(location: &str, status: StatusCode) -> Response {
    (status, [(LOCATION, location.to_owned())]).into_response()
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#x27;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The sign-in page shown when a browser arrives without credentials.
fn sign_in_page(
    client_name: &str,
    params: &AuthorizeParams,
    problem: Option<&str>,
) -> Html<String> {
    let hidden: String = [
        ("response_type", &params.response_type),
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("scope", &params.scope),
        ("state", &params.state),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
    ]
    .iter()
    .filter_map(|(name, value)| {
        value
            .as_ref()
            .map(|v| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(v)))
    })
    .collect();
    let problem =
        problem.map(|p| format!("<p role=\"alert\">{}</p>", escape(p))).unwrap_or_default();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign in to Plaza</title></head><body>\
         <main><h1>Sign in to Plaza</h1><p><strong>{app}</strong> asks to use your Plaza account.</p>\
         {problem}<form method=\"post\" action=\"/oauth2/authorize\">{hidden}\
         <label>Email <input name=\"username\" type=\"email\" autocomplete=\"username\" required></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Sign in and allow</button></form></main></body></html>",
        app = escape(client_name),
    ))
}

/// GET /oauth2/authorize: with an `Authorization` header, grants a code at once;
/// without one, shows the sign-in page.
#[utoipa::path(
    get,
    path = "/oauth2/authorize",
    tag = "oauth2",
    operation_id = "oauthAuthorize",
    params(AuthorizeParams),
    security((), ("authorization" = [])),
    responses(
        (status = 200, description = "The sign-in page", body = String, content_type = "text/html"),
        (status = 302, description = "To the client's `redirect_uri` with `code` and `state`",
            headers(("Location" = String, description = "The client's redirect URI"))),
    )
)]
async fn authorize(
    State(state): State<AppState>,
    MaybeAuth(principal): MaybeAuth,
    Query(params): Query<AuthorizeParams>,
) -> ApiResult<Response> {
    let request = params.request();
    let (client, _) = state.identity.oauth_authorize_target(&request).await?;
    match principal {
        Some(principal) if !principal.is_own_session() => Err(ApiError::new(
            ErrorCode::PermissionDenied,
            "only the user's own session can authorize an app, not a token an app holds",
        )),
        Some(principal) => {
            let location = state.identity.oauth_authorize(&principal.user, &request).await?;
            Ok(redirect(&location, StatusCode::FOUND))
        }
        None => Ok(sign_in_page(&client.name, &params, None).into_response()),
    }
}

/// POST /oauth2/authorize: the sign-in form; on success redirects to the client.
#[utoipa::path(
    post,
    path = "/oauth2/authorize",
    tag = "oauth2",
    operation_id = "oauthAuthorizeWithPassword",
    request_body(
        content(
            (AuthorizeParams = "application/x-www-form-urlencoded"),
            (AuthorizeParams = "application/json"),
        ),
        description = "The authorization request plus `username` and `password`",
    ),
    responses(
        (status = 303, description = "To the client's `redirect_uri` with `code` and `state`",
            headers(("Location" = String, description = "The client's redirect URI"))),
        (status = 401, description = "Wrong credentials: the sign-in page again, saying what was wrong; \
            an unknown client: the error", content(
            (String = "text/html"),
            (crate::error::ErrorBody = "application/json"),
        )),
    )
)]
async fn authorize_with_password(
    State(state): State<AppState>,
    JsonOrForm(params): JsonOrForm<AuthorizeParams>,
) -> ApiResult<Response> {
    let request = params.request();
    let (client, _) = state.identity.oauth_authorize_target(&request).await?;
    let username = params.username.clone().unwrap_or_default();
    let password = params.password.clone().unwrap_or_default();
    match state.identity.login(&username, &password).await {
        Ok(issued) => {
            let location = state.identity.oauth_authorize(&issued.user, &request).await?;
            Ok(redirect(&location, StatusCode::SEE_OTHER))
        }
        Err(error)
            if matches!(
                error.code,
                ErrorCode::AuthInvalidCredentials | ErrorCode::AuthAccountDisabled
            ) =>
        {
            let page = sign_in_page(&client.name, &params, Some(&error.message));
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// A token request (RFC 6749 §4, §6) or a revocation (RFC 7009).
#[derive(Deserialize, Default, ToSchema)]
struct TokenParams {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    username: Option<String>,
    password: Option<String>,
    /// Only for revocation.
    token: Option<String>,
}

/// Folds HTTP Basic client authentication (RFC 6749 §2.3.1) into the request.
fn token_request(headers: &HeaderMap, params: TokenParams) -> ApiResult<TokenRequest> {
    let mut request = TokenRequest {
        grant_type: params.grant_type,
        code: params.code,
        redirect_uri: params.redirect_uri,
        client_id: params.client_id,
        client_secret: params.client_secret,
        code_verifier: params.code_verifier,
        refresh_token: params.refresh_token,
        scope: params.scope,
        username: params.username,
        password: params.password,
    };
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some((scheme, encoded)) = value.trim().split_once(' ')
        && scheme.eq_ignore_ascii_case("basic")
    {
        let invalid =
            || ApiError::new(ErrorCode::OAuthInvalidClient, "malformed Basic credentials");
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        request.client_id = Some(unescape(id));
        request.client_secret = Some(unescape(secret));
    }
    Ok(request)
}

/// POST /oauth2/access_token: every grant; answers the RFC 6749 token response.
///
/// Grants: `authorization_code` (with PKCE), `refresh_token`, `password` and
/// `client_credentials`. Clients authenticate with HTTP Basic or `client_id` and
/// `client_secret` in the body.
#[utoipa::path(
    post,
    path = "/oauth2/access_token",
    tag = "oauth2",
    operation_id = "oauthAccessToken",
    request_body(content(
        (TokenParams = "application/x-www-form-urlencoded"),
        (TokenParams = "application/json"),
    )),
    security((), ("client_basic" = [])),
    responses((status = 200, description = "The token response", body = TokenResponse))
)]
async fn access_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonOrForm(params): JsonOrForm<TokenParams>,
) -> ApiResult<Response> {
    let grant = state.identity.oauth_token(token_request(&headers, params)?).await?;
    let body = TokenResponse {
        access_token: grant.access_token,
        token_type: grant.token_type.into(),
        expires_in: grant.expires_in,
        scope: grant.scope,
        refresh_token: grant.refresh_token,
    };
    Ok(([(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")], axum::Json(body)).into_response())
}

/// POST /oauth2/revoke_token: RFC 7009; unknown tokens are not an error.
#[utoipa::path(
    post,
    path = "/oauth2/revoke_token",
    tag = "oauth2",
    operation_id = "oauthRevokeToken",
    request_body(
        content(
            (TokenParams = "application/x-www-form-urlencoded"),
            (TokenParams = "application/json"),
        ),
        description = "`token` plus the client's credentials",
    ),
    security((), ("client_basic" = [])),
    responses((status = 200, description = "`{}`", body = Object))
)]
async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonOrForm(mut params): JsonOrForm<TokenParams>,
) -> ApiResult<axum::Json<JsonObject>> {
    let token = params
        .token
        .take()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::OAuthInvalidRequest, "token is required"))?;
    state.identity.oauth_revoke(&token_request(&headers, params)?, &token).await?;
    Ok(axum::Json(JsonObject::default()))
}
