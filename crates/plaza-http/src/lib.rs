//! Plaza's REST transport.
//!
//! Thin by rule: each handler extracts input, calls one core service method and shapes
//! the answer with `plaza-wire`'s types. This crate is the only one that knows HTTP
//! statuses; it never touches storage.
#![forbid(unsafe_code)]

mod admin;
pub mod audit;
mod auth;
pub mod error;
mod extract;
mod files;
mod headers;
mod meetings;
mod messages;
mod meta;
pub mod metrics;
mod oauth;
mod openapi;
mod params;
mod spaces;
mod users;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use plaza_core::identity::IdentityService;
use plaza_core::messages::MessageService;
use plaza_core::spaces::SpaceService;
use plaza_core::{CoreError, ErrorCode};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::error::ApiError;

pub use crate::openapi::{spec, spec_json};

/// Transport settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The externally visible base URL (`https://plaza.example.com`), if configured;
    /// otherwise it is derived from each request's `Host`.
    pub public_url: Option<String>,
    pub body_limit_bytes: usize,
    /// Allowed CORS origins; empty means any origin.
    pub cors_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` names the real client (the reverse proxies).
    pub trusted_proxies: Vec<IpAddr>,
    /// How long a request may take, file transfers aside.
    pub request_timeout: Duration,
    /// The telephone numbers that dial into meetings (`GET /api/confnumbers`).
    pub dial_in_numbers: Vec<DialInNumber>,
    /// Without `public_url`, the `Host` names absolute URLs are built from, besides
    /// loopback names and the address the server listens on (see [`base_url`]).
    pub allowed_hosts: Vec<String>,
    /// The address the server listens on.
    pub listen: Option<SocketAddr>,
}

pub use plaza_wire::meta::DialInNumber;

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(30),
            dial_in_numbers: Vec::new(),
            allowed_hosts: Vec::new(),
            listen: None,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub identity: Arc<IdentityService>,
    pub spaces: Arc<SpaceService>,
    pub messages: Arc<MessageService>,
    pub files: Arc<plaza_core::files::FileService>,
    pub meetings: Arc<plaza_core::meetings::MeetingService>,
    pub config: Arc<HttpConfig>,
    /// What the transports count; scraped at `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
}

/// The base URL clients should use: the configured one, else `http://<Host>` when the
/// `Host` is one the server may be reached by, else the listen address. A `Host` is
/// the caller's to choose, and these URLs go into answers others read (invitation
/// links, upload URLs, `/api/service-configurations` that a cache may keep): trusted
/// are loopback names, the listen address (any IP literal when it listens on all),
/// and `server.allowed_hosts`; any other name needs `server.public_url`.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let config = &state.config;
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .filter(|h| trusted_host(config, h));
    match (host, config.listen) {
        (Some(host), _) => format!("http://{host}"),
        (None, Some(listen)) if !listen.ip().is_unspecified() => format!("http://{listen}"),
        (None, Some(listen)) => format!("http://localhost:{}", listen.port()),
        (None, None) => "http://localhost".to_owned(),
    }
}

/// Whether absolute URLs may name `host` (a `Host` header: a name or IP, and a port).
fn trusted_host(config: &HttpConfig, host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let ip = name.parse::<IpAddr>().ok();
    config
        .allowed_hosts
        .iter()
        .any(|a| a.eq_ignore_ascii_case(host) || a.eq_ignore_ascii_case(name))
        || name.eq_ignore_ascii_case("localhost")
        || ip.is_some_and(|ip| ip.is_loopback())
        || config.listen.is_some_and(|listen| {
            ip.is_some_and(|ip| listen.ip().is_unspecified() || ip == listen.ip())
        })
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn cors(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("accept-version"),
            HeaderName::from_static("spaces-x-space-password"),
        ])
        .expose_headers([REQUEST_ID])
        .max_age(std::time::Duration::from_secs(3600))
}

fn panic_response(_panic: Box<dyn std::any::Any + Send>) -> Response {
    ApiError(CoreError::internal(anyhow::anyhow!("a request handler panicked"))).into_response()
}

/// The client's address: the peer, or for a trusted proxy the last address its
/// `X-Forwarded-For` names that is not itself a trusted proxy.
fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(forwarded.into_iter().rev().find(|hop| !trusted.contains(hop)).unwrap_or(peer))
}

/// File bodies stream for as long as the client's connection needs: no time limit.
fn is_file_transfer(path: &str) -> bool {
    path.starts_with("/api/files/upload/") || path.starts_with("/api/files/download/")
}

/// Runs each request with its client address known to the core (audit log, per-address
/// limits) and within the request time limit.
async fn client_context(
    State(config): State<Arc<HttpConfig>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let ip = client_ip(peer, request.headers(), &config.trusted_proxies);
    let limit = (!is_file_transfer(request.uri().path())).then_some(config.request_timeout);
    let run = async move {
        let Some(limit) = limit else { return next.run(request).await };
        match tokio::time::timeout(limit, next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                ErrorCode::RequestTimeout,
                format!("the request took longer than {} s", limit.as_secs()),
            )
            .into_response(),
        }
    };
    match ip {
        Some(ip) => plaza_core::audit::with_client_ip(ip, run).await,
        None => run.await,
    }
}

async fn route_not_found() -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::RouteMethodNotAllowed, "this endpoint does not take this method")
}

/// A router that records each path as it is registered, so that the paths the REST
/// surface serves can be listed ([`registered_paths`]) and checked against the OpenAPI
/// document. Every REST route goes through [`Routes::route`].
pub(crate) struct Routes {
    router: Router<AppState>,
    paths: Vec<String>,
}

impl Routes {
    pub(crate) fn new() -> Self {
        Routes { router: Router::new(), paths: Vec::new() }
    }

    pub(crate) fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Self {
        self.paths.push(path.to_owned());
        self.router = self.router.route(path, method_router);
        self
    }

    fn merge(mut self, other: Routes) -> Self {
        self.paths.extend(other.paths);
        self.router = self.router.merge(other.router);
        self
    }
}

/// Every REST route, without middleware.
fn routes() -> Routes {
    Routes::new()
        .merge(meta::routes())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(oauth::routes())
        .merge(admin::routes())
        .merge(audit::routes())
        .merge(spaces::routes())
        .merge(messages::routes())
        .merge(files::routes())
        .merge(meetings::routes())
        .merge(openapi::routes())
}

/// Every path the REST router registers (axum syntax, `{param}`), in registration
/// order. The browsable documentation under `/api/docs` is not part of it.
pub fn registered_paths() -> Vec<String> {
    routes().paths
}

/// `/api/...` with trailing slashes is the same route without them (clients write
/// `/api/users/me/colleagues/`). Applied before routing. Swagger UI is left alone: its
/// page lives at `/api/docs/` and `/api/docs` redirects there.
fn without_trailing_slash(mut request: Request<Body>) -> Request<Body> {
    let path = request.uri().path();
    let trimmed = path.trim_end_matches('/');
    if !path.starts_with("/api/") || !path.ends_with('/') || trimmed == "/api" {
        return request;
    }
    if trimmed == openapi::UI_PATH || trimmed.starts_with(&format!("{}/", openapi::UI_PATH)) {
        return request;
    }
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// What HTML pages of the API (the OAuth sign-in page, `/api/docs`) may load: their own
/// scripts and styles (Swagger UI's are inline), nothing from elsewhere.
const HTML_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' \
    'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// No answer of the API may be framed by another site (clickjacking the OAuth sign-in
/// page, say); HTML pages get a content security policy unless they set their own.
async fn no_framing(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(HTML_POLICY));
    }
    response
}

/// The whole REST surface with its middleware.
pub fn router(state: AppState) -> Router {
    let api = tower::ServiceExt::map_request(api_router(state), without_trailing_slash);
    Router::new().fallback_service(api)
}

fn api_router(state: AppState) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let config = state.config.clone();
    let cors = cors(&state.config.cors_origins);
    let metrics = state.metrics.clone();
    routes()
        .router
        .merge(openapi::swagger_ui())
        // Not an API operation (and not in the OpenAPI document): the operators' scrape.
        .route("/metrics", axum::routing::get(metrics::scrape).with_state(metrics.clone()))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::count_requests))
        .layer(axum::middleware::from_fn_with_state(config, client_context))
        .layer(axum::middleware::map_response(no_framing))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request<_>| {
                            let request_id = request
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!(
                                "request",
                                method = %request.method(),
                                path = %request.uri().path(),
                                request_id = %request_id,
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(cors),
        )
        .with_state(state)
}
