//! Server administration over REST (`/api/admin/*`), for server admins only. The same
//! operations are on the command line as `plaza admin ...`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use plaza_core::identity::{Actor, NewClient, NewServiceApp, NewUserByAdmin};
use plaza_core::{ClientKind, CoreError, ObjectId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path, Query};
use plaza_wire::users::Invited;
use plaza_wire::{Data, OAuthClient, Page, User};

use crate::{AppState, Routes, base_url};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_users,
    create_user,
    disable_user,
    enable_user,
    invite,
    list_oauth_clients,
    create_oauth_client,
    list_service_apps,
    create_service_app,
    revoke_client
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/api/admin/users", get(list_users).post(create_user))
        .route("/api/admin/users/{user}/disable", post(disable_user))
        .route("/api/admin/users/{user}/enable", post(enable_user))
        .route("/api/admin/invitations", post(invite))
        .route("/api/admin/oauth-clients", get(list_oauth_clients).post(create_oauth_client))
        .route("/api/admin/oauth-clients/{client_id}", delete(revoke_client))
        .route("/api/admin/service-apps", get(list_service_apps).post(create_service_app))
        .route("/api/admin/service-apps/{client_id}", delete(revoke_client))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListUsersQuery {
    /// The last user id of the previous page.
    after: Option<String>,
    /// Users per page, 1 to 500 (default 50).
    size: Option<u32>,
}

/// GET /api/admin/users?after=&size=: accounts in id order; `nextPageUrl` continues.
#[utoipa::path(
    get,
    path = "/api/admin/users",
    tag = "admin",
    operation_id = "adminListUsers",
    params(ListUsersQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl}`", body = Page<User>))
)]
async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Query(query): Query<ListUsersQuery>,
) -> ApiResult<axum::Json<Page<User>>> {
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
    let data: Vec<User> = users.iter().map(|u| User::of(u, &base)).collect();
    Ok(axum::Json(Page::counted(data).next(next)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    #[schema(format = Email, max_length = 254)]
    username: String,
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    #[serde(default)]
    #[schema(max_length = 128)]
    displayname: Option<String>,
    #[serde(default, rename = "serverAdmin")]
    server_admin: bool,
}

/// POST /api/admin/users: creates an account whatever the registration mode.
#[utoipa::path(
    post,
    path = "/api/admin/users",
    tag = "admin",
    operation_id = "adminCreateUser",
    request_body = CreateUserBody,
    security(("authorization" = [])),
    responses((status = 201, description = "`{data: user}`", body = Data<User>))
)]
async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Json(body): Json<CreateUserBody>,
) -> ApiResult<(StatusCode, axum::Json<Data<User>>)> {
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
    Ok((StatusCode::CREATED, axum::Json(Data::new(User::of(&user, &base_url(&state, &headers))))))
}

async fn set_disabled(
    state: AppState,
    headers: &HeaderMap,
    principal: &plaza_core::identity::Principal,
    user: &str,
    disabled: bool,
) -> ApiResult<axum::Json<Data<User>>> {
    let user = state.identity.admin_set_disabled(Actor::User(principal), user, disabled).await?;
    Ok(axum::Json(Data::new(User::of(&user, &base_url(&state, headers)))))
}

/// POST /api/admin/users/{id or username}/disable: the account can no longer sign in
/// and its tokens stop working.
#[utoipa::path(
    post,
    path = "/api/admin/users/{user}/disable",
    tag = "admin",
    operation_id = "adminDisableUser",
    params(("user" = String, Path, description = "A user id or username")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: user}`", body = Data<User>))
)]
async fn disable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<Data<User>>> {
    set_disabled(state, &headers, &principal, &user, true).await
}

/// POST /api/admin/users/{id or username}/enable: undoes a disable.
#[utoipa::path(
    post,
    path = "/api/admin/users/{user}/enable",
    tag = "admin",
    operation_id = "adminEnableUser",
    params(("user" = String, Path, description = "A user id or username")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: user}`", body = Data<User>))
)]
async fn enable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<Data<User>>> {
    set_disabled(state, &headers, &principal, &user, false).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdminInviteBody)]
struct InviteBody {
    email: String,
}

/// POST /api/admin/invitations: lets an email register while registration is by invitation.
#[utoipa::path(
    post,
    path = "/api/admin/invitations",
    tag = "admin",
    operation_id = "adminInvite",
    request_body = InviteBody,
    security(("authorization" = [])),
    responses((status = 201, description = "`{data: {email}}`", body = Data<Invited>))
)]
async fn invite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<InviteBody>,
) -> ApiResult<(StatusCode, axum::Json<Data<Invited>>)> {
    let email = state.identity.admin_invite(Actor::User(&principal), &body.email).await?;
    Ok((StatusCode::CREATED, axum::Json(Data::new(Invited { email }))))
}

async fn list_clients(
    state: &AppState,
    principal: &plaza_core::identity::Principal,
    kind: ClientKind,
) -> ApiResult<axum::Json<Page<OAuthClient>>> {
    let clients = state.identity.admin_list_clients(Actor::User(principal), Some(kind)).await?;
    let data: Vec<OAuthClient> = clients.iter().map(|c| OAuthClient::of(c, None)).collect();
    Ok(axum::Json(Page::counted(data)))
}

/// GET /api/admin/oauth-clients: the OAuth clients.
#[utoipa::path(
    get,
    path = "/api/admin/oauth-clients",
    tag = "admin",
    operation_id = "adminListOAuthClients",
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total}`", body = Page<OAuthClient>))
)]
async fn list_oauth_clients(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<Page<OAuthClient>>> {
    list_clients(&state, &principal, ClientKind::OAuth).await
}

/// GET /api/admin/service-apps: the service apps.
#[utoipa::path(
    get,
    path = "/api/admin/service-apps",
    tag = "admin",
    operation_id = "adminListServiceApps",
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total}`", body = Page<OAuthClient>))
)]
async fn list_service_apps(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<Page<OAuthClient>>> {
    list_clients(&state, &principal, ClientKind::ServiceApp).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateClientBody {
    name: String,
    #[serde(rename = "redirectUris")]
    redirect_uris: Vec<String>,
    #[serde(default)]
    public: bool,
}

/// POST /api/admin/oauth-clients: the answer carries `clientSecret` once.
#[utoipa::path(
    post,
    path = "/api/admin/oauth-clients",
    tag = "admin",
    operation_id = "adminCreateOAuthClient",
    request_body = CreateClientBody,
    security(("authorization" = [])),
    responses((status = 201, description = "`{data: client}` with `clientSecret` for confidential clients", body = Data<OAuthClient>))
)]
async fn create_oauth_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<CreateClientBody>,
) -> ApiResult<(StatusCode, axum::Json<Data<OAuthClient>>)> {
    let (client, secret) = state
        .identity
        .admin_create_client(
            Actor::User(&principal),
            NewClient { name: body.name, redirect_uris: body.redirect_uris, public: body.public },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(Data::new(OAuthClient::of(&client, secret.as_deref())))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateServiceAppBody {
    name: String,
}

/// POST /api/admin/service-apps: the answer carries `clientSecret` once.
#[utoipa::path(
    post,
    path = "/api/admin/service-apps",
    tag = "admin",
    operation_id = "adminCreateServiceApp",
    request_body = CreateServiceAppBody,
    security(("authorization" = [])),
    responses((status = 201, description = "`{data: app}` with `clientSecret`", body = Data<OAuthClient>))
)]
async fn create_service_app(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<CreateServiceAppBody>,
) -> ApiResult<(StatusCode, axum::Json<Data<OAuthClient>>)> {
    let (client, secret, _account) = state
        .identity
        .admin_create_service_app(Actor::User(&principal), NewServiceApp { name: body.name })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(Data::new(OAuthClient::of(&client, Some(&secret))))))
}

/// DELETE /api/admin/oauth-clients/{clientId} and /api/admin/service-apps/{clientId}: revokes
/// the client and every token it holds.
#[utoipa::path(
    delete,
    path = "/api/admin/oauth-clients/{client_id}",
    tag = "admin",
    operation_id = "adminRevokeClient",
    params(("client_id" = String, Path, description = "The client's `clientId`")),
    security(("authorization" = [])),
    responses((status = 204, description = "Revoked"))
)]
async fn revoke_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    state.identity.admin_revoke_client(Actor::User(&principal), &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
