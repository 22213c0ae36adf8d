//! Probes and discovery: `/health`, `/ready`, `/api/service-configurations`, the JWKS
//! and the default profile picture.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::error::ApiResult;
use crate::extract::{Auth, Path};
use plaza_wire::meta::{
    DialInNumber, Flavor, FlavorOfEmail, FlavorUrls, Jwks, ServiceConfigurations,
};
use plaza_wire::{DEFAULT_PICTURE_PATH, Data, Status};

use crate::{AppState, Routes, base_url};

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/api/service-configurations", get(service_configurations))
        .route("/api/flavor", get(flavors))
        .route("/api/flavor/email/{email}", get(flavor_of_email))
        .route("/api/confnumbers", get(conf_numbers))
        .route("/.well-known/jwks.json", get(jwks))
        .route(DEFAULT_PICTURE_PATH, get(default_picture))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    health,
    ready,
    service_configurations,
    flavors,
    flavor_of_email,
    conf_numbers,
    jwks,
    default_picture
))]
pub(crate) struct Doc;

/// GET /health: the process is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    operation_id = "health",
    responses((status = 200, description = "`{status: \"ok\"}`", body = Status))
)]
async fn health() -> axum::Json<Status> {
    axum::Json(Status { status: "ok".to_owned() })
}

/// GET /ready: the process can serve, i.e. its database answers.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "meta",
    operation_id = "ready",
    responses(
        (status = 200, description = "`{status: \"ready\"}`", body = Status),
        (status = 503, description = "`service.unavailable`: the database does not answer", body = crate::error::ErrorBody),
    )
)]
async fn ready(State(state): State<AppState>) -> ApiResult<axum::Json<Status>> {
    state.identity.ready().await?;
    Ok(axum::Json(Status { status: "ready".to_owned() }))
}

/// GET /api/service-configurations: where clients find the API and the socket (no auth).
#[utoipa::path(
    get,
    path = "/api/service-configurations",
    tag = "meta",
    operation_id = "serviceConfigurations",
    responses((
        status = 200,
        description = "`{spaces: {server_url, socketio_server_url, marketing_url}, store: {server_url}, accounts: {server_url}}`",
        body = ServiceConfigurations
    ))
)]
async fn service_configurations(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> impl axum::response::IntoResponse {
    let base = base_url(&state, &headers);
    // Built from the request's Host (when trusted): a shared cache must not keep it.
    let vary = [(axum::http::header::VARY, "Host")];
    (vary, axum::Json(ServiceConfigurations::of(&base)))
}

/// GET /.well-known/jwks.json: the public keys that verify Plaza JWTs.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "meta",
    operation_id = "jwks",
    responses((status = 200, description = "A JSON Web Key Set: `{keys: [...]}`", body = Jwks))
)]
async fn jwks(State(state): State<AppState>) -> axum::Json<Jwks> {
    // A key set always serialises; an empty list would only mean no key verifies.
    let keys = serde_json::to_value(state.identity.jwks()).unwrap_or_default();
    axum::Json(Jwks { keys })
}

/// GET /norevimages/noimage.jpg: the picture of users who set none.
///
/// Browsers sniff the SVG despite the historical `.jpg` name.
#[utoipa::path(
    get,
    path = "/norevimages/noimage.jpg",
    tag = "meta",
    operation_id = "defaultPicture",
    responses((status = 200, description = "An SVG picture", body = String, content_type = "image/svg+xml"))
)]
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

/// The one cluster ("flavor") a Plaza deployment is: every node serves every user.
const FLAVOR_ID: &str = "plaza";

/// GET /api/flavor: the clusters clients may talk to; a Plaza deployment is one, at
/// this server's own URLs (clients call `urls.apis + "/api"` and `urls.socket`).
#[utoipa::path(
    get,
    path = "/api/flavor",
    tag = "meta",
    operation_id = "listFlavors",
    security(("authorization" = [])),
    responses((status = 200, description = "`[{flavorId, urls: {apis, socket}}]`", body = Vec<Flavor>))
)]
async fn flavors(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(_): Auth,
) -> axum::Json<Vec<Flavor>> {
    let base = base_url(&state, &headers);
    axum::Json(vec![Flavor {
        flavor_id: FLAVOR_ID.to_owned(),
        urls: FlavorUrls { apis: base.clone(), socket: base },
    }])
}

/// GET /api/flavor/email/{email}: which cluster hosts someone's meeting room. The
/// answer is the same for every address, so it tells nothing about who has an account.
#[utoipa::path(
    get,
    path = "/api/flavor/email/{email}",
    tag = "meta",
    operation_id = "flavorOfEmail",
    params(("email" = String, Path, description = "Any e-mail address")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{useGlobal: true, flavorId}`", body = FlavorOfEmail))
)]
async fn flavor_of_email(Auth(_): Auth, Path(_email): Path<String>) -> axum::Json<FlavorOfEmail> {
    axum::Json(FlavorOfEmail { use_global: true, flavor_id: FLAVOR_ID.to_owned() })
}

/// GET /api/confnumbers: the telephone numbers that dial into meetings
/// (`meetings.dial_in_numbers`), `{data: []}` when none are set.
#[utoipa::path(
    get,
    path = "/api/confnumbers",
    tag = "meta",
    operation_id = "confNumbers",
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [{number, country?, label?}]}`", body = Data<Vec<DialInNumber>>))
)]
async fn conf_numbers(
    State(state): State<AppState>,
    Auth(_): Auth,
) -> axum::Json<Data<Vec<DialInNumber>>> {
    axum::Json(Data::new(state.config.dial_in_numbers.clone()))
}
