//! `/metrics` and the request-counting middleware, over [`plaza_metrics::Metrics`].
//!
//! REST requests are counted by a middleware; the realtime transport counts its sockets
//! and events through the same value. `/metrics` on the API's port answers only with
//! `metrics.token` configured, and only to `Authorization: Bearer <token>`; a separate
//! `metrics.listen` address (for a network only Prometheus reaches) serves
//! [`metrics_router`] without one. Never open by accident.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use plaza_metrics::{Metrics, Probes};

/// Counts every REST request by its route pattern (not its path: ids would make every
/// request a series of its own), method and status, with its latency.
pub(crate) async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    metrics.http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`: the scrape, for `Authorization: Bearer <metrics.token>` only.
pub(crate) async fn scrape(State(metrics): State<Arc<Metrics>>, headers: HeaderMap) -> Response {
    let Some(token) = metrics.scrape_token() else {
        return crate::error::ApiError(plaza_core::CoreError::new(
            plaza_core::ErrorCode::RouteNotFound,
            "metrics are off: set metrics.token to scrape them",
        ))
        .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let matches = given.is_some_and(|given| plaza_core::identity::same_secret(given, token));
    if !matches {
        return crate::error::ApiError(plaza_core::CoreError::new(
            plaza_core::ErrorCode::AuthRequired,
            "scraping metrics needs Authorization: Bearer <metrics.token>",
        ))
        .into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        metrics.render(),
    )
        .into_response()
}

/// `GET /metrics` without a token, for a listen address of its own (`metrics.listen`).
pub fn metrics_router(metrics: Arc<Metrics>) -> axum::Router {
    let render = move || {
        let metrics = metrics.clone();
        async move {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.render())
        }
    };
    axum::Router::new().route("/metrics", axum::routing::get(render))
}
