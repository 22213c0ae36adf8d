//! Plaza's Socket.IO transport: namespace `/chat` (and `/`) at `/socket.io/`, serving
//! Engine.IO v3 (socket.io-client 1.7–2.x, python-socketio 4) and v4 (socket.io-client
//! 3+, python-socketio 5) on the same port.
//!
//! Thin by rule, like `plaza-http`: it authenticates connections, turns events into core
//! calls and core events into emits. It never touches storage.
#![forbid(unsafe_code)]

mod auth;

use std::sync::Arc;

use plaza_core::identity::IdentityService;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

pub use auth::SocketCredential;

/// What the socket handlers reach.
#[derive(Clone)]
pub struct RealtimeState {
    pub identity: Arc<IdentityService>,
}

/// The namespaces every handler is mounted on: `/chat`, and `/` because some clients
/// (and every Socket.IO v2 connection, implicitly) use the default namespace.
const NAMESPACES: [&str; 2] = ["/", "/chat"];

/// Builds the Socket.IO layer to put on the HTTP router, and its handle.
pub fn layer(state: RealtimeState) -> (SocketIoLayer, SocketIo) {
    let (layer, io) = SocketIo::builder().with_state(state).build_layer();
    for path in NAMESPACES {
        io.ns(path, on_connect.with(auth::authenticate));
    }
    (layer, io)
}

async fn on_connect(socket: SocketRef) {
    let user = socket.extensions.get::<auth::SocketPrincipal>().map(|p| p.0.user_id());
    tracing::debug!(sid = %socket.id, ns = socket.ns(), user = ?user, "socket connected");
}
