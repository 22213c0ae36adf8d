//! The HTTP accept loop: what `axum::serve` does, plus what it lacks against slow or
//! greedy clients (slowloris). `axum::serve` sets no timer on hyper, so hyper's header
//! read timeout never runs and a connection that never finishes its headers stays open
//! for ever. Here each connection has:
//!
//! - a deadline on every request's headers, which also closes keep-alive connections
//!   idle between requests for that long (hyper starts the timer when it waits for a
//!   request head, first or next); upgraded connections (WebSockets) are past it and
//!   kept alive by Engine.IO's own heartbeat;
//! - a cap on the connections one address holds, checked before any byte is read, so a
//!   single host cannot exhaust the server's sockets. Addresses of trusted proxies are
//!   not capped: every client behind them shares their address.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, Uri};
use hyper_util::rt::{TokioIo, TokioTimer};
use plaza_core::limits::Slots;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// What one connection may take.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's headers (or its next request).
    pub header_read_timeout: Duration,
    /// Connections one address may hold open; 0 means no cap.
    pub per_address: u32,
    /// Addresses never capped (reverse proxies).
    pub uncapped: Vec<IpAddr>,
}

/// Where Engine.IO sessions are opened (`plaza-realtime`).
const SOCKET_PATH: &str = "/socket.io/";

/// Gives a request its own copy of its URI and header values. hyper hands them out as
/// slices of the connection's 8 KiB read buffer, and an Engine.IO session keeps its
/// request for as long as it lives (to answer `req_parts`; axum's `OriginalUri` is a
/// slice too), so every WebSocket held that whole buffer after the upgrade: a quarter
/// of an idle connection's memory. The copy is one block the size of the head's text.
fn own_head<B>(request: &mut hyper::Request<B>) {
    let uri = request.uri().to_string();
    let headers = request.headers();
    let size = uri.len() + headers.values().map(HeaderValue::len).sum::<usize>();
    let mut block = Vec::with_capacity(size);
    block.extend_from_slice(uri.as_bytes());
    for value in headers.values() {
        block.extend_from_slice(value.as_bytes());
    }
    let block = Bytes::from(block);
    let mut at = uri.len();
    let Ok(owned_uri) = Uri::from_maybe_shared(block.slice(..at)) else { return };
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let Ok(mut copy) = HeaderValue::from_maybe_shared(block.slice(at..at + value.len())) else {
            return;
        };
        at += value.len();
        copy.set_sensitive(value.is_sensitive());
        owned.append(name.clone(), copy);
    }
    *request.uri_mut() = owned_uri;
    *request.headers_mut() = owned;
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Serves `router` until `stop` turns true, then shuts every connection down gracefully
/// (each finishes the request it is on) and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let open = Slots::<IpAddr>::default();
    // Each connection holds a clone; the loop waits for them all to drop at the end.
    let (closed_tx, closed_rx) = watch::channel(());
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let address = remote.ip();
        let limit = if limits.uncapped.contains(&address) { 0 } else { limits.per_address };
        let Some(slot) = open.take(address, limit) else {
            tracing::debug!(%address, "connection refused: this address holds too many");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            if request.uri().path().starts_with(SOCKET_PATH) {
                own_head(&mut request);
            }
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
        let mut stop = stop.clone();
        let closed_rx = closed_rx.clone();
        tokio::spawn(async move {
            let connection =
                builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::trace!(%error, "connection ended with an error");
                    }
                }
                () = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop((slot, closed_rx));
        });
    }
    drop(closed_rx);
    drop(listener);
    closed_tx.closed().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_head_is_the_same_head_in_memory_of_its_own() {
        let mut request = hyper::Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket&token=abc")
            .header("host", "plaza.test")
            .header("x-many", "one")
            .header("x-many", "two")
            .body(())
            .expect("a valid request");
        let mut secret = HeaderValue::from_static("Bearer xyz");
        secret.set_sensitive(true);
        request.headers_mut().insert("authorization", secret);
        let (uri, headers) = (request.uri().clone(), request.headers().clone());

        own_head(&mut request);

        assert_eq!(request.uri(), &uri);
        assert_eq!(request.headers(), &headers);
        let many: Vec<_> = request.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["one", "two"]);
        assert!(request.headers()["authorization"].is_sensitive());
        // Every value now lies in one new block, not in the original's memory.
        let original = headers["host"].as_bytes().as_ptr();
        assert_ne!(request.headers()["host"].as_bytes().as_ptr(), original);
    }
}
