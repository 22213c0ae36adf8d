//! Server administration over REST (`/api/admin/*`), for server admins only. The same
//! operations are on the command line as `plaza admin ...`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use plaza_core::identity::{Actor, NewClient, NewServiceApp, NewUserByAdmin};
use plaza_core::{ClientKind, CoreError, ObjectId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path, Query};
use crate::{AppState, base_url, wire};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users", get(list_users).post(create_user))
        .route("/api/admin/users/{user}/disable", post(disable_user))
        .route("/api/admin/users/{user}/enable", post(enable_user))
        .route("/api/admin/invitations", post(invite))
        .route("/api/admin/oauth-clients", get(list_oauth_clients).post(create_oauth_client))
        .route("/api/admin/oauth-clients/{client_id}", delete(revoke_client))
        .route("/api/admin/service-apps", get(list_service_apps).post(create_service_app))
        .route("/api/admin/service-apps/{client_id}", delete(revoke_client))
}

#[derive(Deserialize)]
struct ListUsersQuery {
    after: Option<String>,
    size: Option<u32>,
}

/// GET /api/admin/users?after=&size=: accounts in id order; `nextPageUrl` continues.
async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Query(query): Query<ListUsersQuery>,
) -> ApiResult<axum::Json<Value>> {
    let after = query
        .after
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse::<ObjectId>().map_err(|_| CoreError::invalid("after", "must be a user id"))
        })
        .transpose()?;
    let size = query.size.unwrap_or(50).clamp(1, 500);
    let users = state.identity.admin_list_users(Actor::User(&principal), after, size).await?;
    let next = match users.last() {
        Some(last) if users.len() == size as usize => {
            format!("/api/admin/users?after={}&size={size}", last.id)
        }
        _ => String::new(),
    };
    let base = base_url(&state, &headers);
    let data: Vec<Value> = users.iter().map(|u| wire::user(u, &base)).collect();
    Ok(axum::Json(json!({"data": data, "total": data.len(), "nextPageUrl": next})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    username: String,
    password: String,
    #[serde(default)]
    displayname: Option<String>,
    #[serde(default, rename = "serverAdmin")]
    server_admin: bool,
}

/// POST /api/admin/users: creates an account whatever the registration mode.
async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Json(body): Json<CreateUserBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let user = state
        .identity
        .admin_create_user(
            Actor::User(&principal),
            NewUserByAdmin {
                username: body.username,
                password: body.password,
                displayname: body.displayname,
                server_admin: body.server_admin,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": wire::user(&user, &base_url(&state, &headers))})),
    ))
}

async fn set_disabled(
    state: AppState,
    headers: &HeaderMap,
    principal: &plaza_core::identity::Principal,
    user: &str,
    disabled: bool,
) -> ApiResult<axum::Json<Value>> {
    let user = state.identity.admin_set_disabled(Actor::User(principal), user, disabled).await?;
    Ok(axum::Json(json!({"data": wire::user(&user, &base_url(&state, headers))})))
}

/// POST /api/admin/users/{id or username}/disable
async fn disable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    set_disabled(state, &headers, &principal, &user, true).await
}

/// POST /api/admin/users/{id or username}/enable
async fn enable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    set_disabled(state, &headers, &principal, &user, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
}

/// POST /api/admin/invitations: lets an email register while registration is by invitation.
async fn invite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<InviteBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let email = state.identity.admin_invite(Actor::User(&principal), &body.email).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"data": {"email": email}}))))
}

async fn list_clients(
    state: &AppState,
    principal: &plaza_core::identity::Principal,
    kind: ClientKind,
) -> ApiResult<axum::Json<Value>> {
    let clients = state.identity.admin_list_clients(Actor::User(principal), Some(kind)).await?;
    let data: Vec<Value> = clients.iter().map(|c| wire::client(c, None)).collect();
    Ok(axum::Json(json!({"data": data, "total": data.len()})))
}

/// GET /api/admin/oauth-clients
async fn list_oauth_clients(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<Value>> {
    list_clients(&state, &principal, ClientKind::OAuth).await
}

/// GET /api/admin/service-apps
async fn list_service_apps(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<Value>> {
    list_clients(&state, &principal, ClientKind::ServiceApp).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateClientBody {
    name: String,
    #[serde(rename = "redirectUris")]
    redirect_uris: Vec<String>,
    #[serde(default)]
    public: bool,
}

/// POST /api/admin/oauth-clients: the answer carries `clientSecret` once.
async fn create_oauth_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<CreateClientBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let (client, secret) = state
        .identity
        .admin_create_client(
            Actor::User(&principal),
            NewClient { name: body.name, redirect_uris: body.redirect_uris, public: body.public },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"data": wire::client(&client, secret.as_deref())}))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateServiceAppBody {
    name: String,
}

/// POST /api/admin/service-apps: the answer carries `clientSecret` once.
async fn create_service_app(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<CreateServiceAppBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let (client, secret, _account) = state
        .identity
        .admin_create_service_app(Actor::User(&principal), NewServiceApp { name: body.name })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"data": wire::client(&client, Some(&secret))}))))
}

/// DELETE /api/admin/oauth-clients/{clientId} and /api/admin/service-apps/{clientId}
async fn revoke_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.admin_revoke_client(Actor::User(&principal), &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
