//! Plaza's Socket.IO transport: namespace `/chat` (and `/`) at `/socket.io/`, serving
//! Engine.IO v3 (socket.io-client 1.7–2.x, python-socketio 4) and v4 (socket.io-client
//! 3+, python-socketio 5) on the same port.
//!
//! Thin by rule, like `plaza-http`: it authenticates connections, turns events into the
//! same core calls REST makes, and turns core events into emits. It never touches
//! storage. Every socket joins its user's room (`user:<id>`) and the rooms of the spaces
//! it subscribes to (`space:<id>`); delivery always goes through rooms, never through a
//! map of local sockets, so that another adapter can carry it across nodes.

mod auth;
mod events;
mod sink;
mod turn;

use std::sync::Arc;

use plaza_core::identity::IdentityService;
use plaza_core::meetings::MeetingService;
use plaza_core::messages::MessageService;
use plaza_core::spaces::SpaceService;
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

pub use auth::SocketCredential;
pub use sink::RealtimeSink;

/// What the socket handlers reach.
#[derive(Clone)]
pub struct RealtimeState {
    pub identity: Arc<IdentityService>,
    pub spaces: Arc<SpaceService>,
    pub messages: Arc<MessageService>,
    pub meetings: Arc<MeetingService>,
    /// Where default pictures are served from, for sender objects (may be empty:
    /// then picture URLs are server-relative).
    pub base_url: String,
}

/// The namespaces every handler is mounted on: `/chat`, and `/` because some clients
/// (and every Socket.IO v2 connection, implicitly) use the default namespace.
const NAMESPACES: [&str; 2] = ["/", "/chat"];

pub(crate) fn space_room(space_id: impl std::fmt::Display) -> String {
    format!("space:{space_id}")
}

pub(crate) fn user_room(user_id: impl std::fmt::Display) -> String {
    format!("user:{user_id}")
}

/// Every socket's own room, so that a broadcast can leave its origin out.
pub(crate) fn socket_room(socket: &SocketRef) -> String {
    format!("sock:{}", socket.id)
}

/// Builds the Socket.IO layer to put on the HTTP router, and its handle. `sink` is the
/// [`RealtimeSink`] the core publishes to; it starts delivering once the handle exists.
pub fn layer(state: RealtimeState, sink: &RealtimeSink) -> (SocketIoLayer, SocketIo) {
    let base_url = state.base_url.clone();
    let (layer, io) = SocketIo::builder().with_state(state).build_layer();
    for path in NAMESPACES {
        io.ns(path, on_connect.with(auth::authenticate));
    }
    sink.start(io.clone(), base_url);
    (layer, io)
}

/// Everything a socket needs was set up by the connect middleware (see
/// `auth::authenticate`), before the CONNECT acknowledgement.
async fn on_connect(socket: SocketRef) {
    let user = socket.extensions.get::<auth::SocketPrincipal>().map(|p| p.0.user_id());
    tracing::debug!(sid = %socket.id, ns = socket.ns(), user = ?user, "socket connected");
}
