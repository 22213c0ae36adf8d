//! The browser client, served at `/` by the `plaza` binary.
//!
//! Its files are built from `web/` when the crate builds and embedded (see `build.rs`),
//! so the one binary serves everything. The client talks to Plaza only through the
//! public REST and Socket.IO API. Hashed assets are cached for good; `index.html` is
//! revalidated, so a new release is picked up on the next visit. Text files go out
//! gzipped when the browser accepts it (compressed once, at build time).
#![forbid(unsafe_code)]

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Where the client's files come from.
#[derive(Debug, Clone, Default)]
pub enum Assets {
    /// The copy built into the binary.
    #[default]
    Embedded,
    /// A folder on disk, read on every request (for working on the client).
    Folder(PathBuf),
}

/// The routes that serve the client: `/`, `/index.html`, `/favicon.svg`, `/assets/*`.
pub fn router(assets: Assets) -> Router {
    let serve = move |request: Request| {
        let assets = assets.clone();
        async move { serve(&assets, request.uri().path(), request.headers()).await }
    };
    Router::new()
        .route("/", get(serve.clone()))
        .route("/index.html", get(serve.clone()))
        .route("/favicon.svg", get(serve.clone()))
        .route("/assets/{*file}", get(serve))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("map") => "application/json",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn read(assets: &Assets, path: &str) -> Option<Vec<u8>> {
    match assets {
        Assets::Embedded => {
            assets::ASSETS.iter().find(|(name, _)| *name == path).map(|(_, bytes)| bytes.to_vec())
        }
        // Only names made of safe characters, so no path leaves the folder.
        Assets::Folder(folder) => {
            let safe = path.split('/').skip(1).all(|part| {
                !part.is_empty()
                    && !part.starts_with('.')
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            });
            if !safe {
                return None;
            }
            tokio::fs::read(folder.join(path.trim_start_matches('/'))).await.ok()
        }
    }
}

async fn serve(assets: &Assets, path: &str, headers: &HeaderMap) -> Response {
    let path = if path == "/" { "/index.html" } else { path };
    let gzip_ok = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let (body, gzipped) = match (gzip_ok, read(assets, &format!("{path}.gz")).await) {
        (true, Some(body)) => (body, true),
        _ => match read(assets, path).await {
            Some(body) => (body, false),
            None => return (StatusCode::NOT_FOUND, "no such file").into_response(),
        },
    };
    let cache = if path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if path == "/index.html" {
        // The page runs only its own scripts and cannot be framed; images and uploads
        // may live in object storage elsewhere.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; img-src * data: blob:; media-src * blob:; \
                 connect-src *; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            ),
        );
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_client_has_its_page_and_the_bundle_it_loads() {
        let page = assets::ASSETS.iter().find(|(name, _)| *name == "/index.html").unwrap().1;
        let page = String::from_utf8_lossy(page);
        let script = page.split("src=\"").nth(1).and_then(|s| s.split('"').next()).unwrap();
        assert!(assets::ASSETS.iter().any(|(name, _)| *name == script), "{script} is embedded");
    }

    #[tokio::test]
    async fn folders_never_serve_outside_themselves() {
        let folder = Assets::Folder(std::env::temp_dir());
        for path in ["/../etc/passwd", "/assets/../../x", "/.hidden", "/assets//x"] {
            assert!(read(&folder, path).await.is_none(), "{path}");
        }
    }
}
