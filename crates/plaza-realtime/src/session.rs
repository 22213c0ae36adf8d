//! What a connected socket carries in its extensions, set by the connect middleware
//! (`auth::authenticate`) and read by every handler.

use plaza_core::identity::Principal;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

/// The authenticated caller of a socket, kept in its extensions.
#[derive(Clone)]
pub struct SocketPrincipal(pub Principal);

/// Marks a socket counted in `sockets_open`, so that its disconnect uncounts it once.
#[derive(Clone)]
pub(crate) struct Counted;

/// The authenticated caller of `socket` (set before any handler runs).
pub(crate) fn principal<A: Adapter>(socket: &SocketRef<A>) -> Option<Principal> {
    socket.extensions.get::<SocketPrincipal>().map(|p| p.0)
}

/// Whether `socket` subscribed to the space `space_id` (`SUBSCRIBE_CHANNEL`).
pub(crate) fn is_subscribed<A: Adapter>(socket: &SocketRef<A>, space_id: &str) -> bool {
    socket.rooms().iter().any(|room| room.strip_prefix("space:") == Some(space_id))
}
