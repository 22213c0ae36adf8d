//! What a connected socket carries in its extensions, set by the connect middleware
//! (`auth::authenticate`) and read by every handler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use plaza_core::ObjectId;
use plaza_core::identity::Principal;
use plaza_core::messages::Standing;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

/// The authenticated caller of a socket, kept in its extensions.
#[derive(Clone)]
pub struct SocketPrincipal(pub Principal);

/// Marks a socket counted in `sockets_open`, so that its disconnect uncounts it once.
#[derive(Clone)]
pub(crate) struct Counted;

/// Marks a socket that sent meeting events (`SEND_MEDIA_SESSION_EVENTS`), which may have
/// made its connection a meeting attendee: only such a socket's disconnect starts a
/// drop grace. (A media session's own end does so for `MEDIA_JOIN`.) The others skip
/// the meeting reads, which a reconnect storm would make for every socket.
#[derive(Clone)]
pub(crate) struct SentMeetingEvents;

/// The authenticated caller of `socket` (set before any handler runs).
pub(crate) fn principal<A: Adapter>(socket: &SocketRef<A>) -> Option<Principal> {
    socket.extensions.get::<SocketPrincipal>().map(|p| p.0)
}

/// Whether `socket` subscribed to the space `space_id` (`SUBSCRIBE_CHANNEL`).
pub(crate) fn is_subscribed<A: Adapter>(socket: &SocketRef<A>, space_id: &str) -> bool {
    socket.rooms().iter().any(|room| room.strip_prefix("space:") == Some(space_id))
}

/// The caller's standing in each space this socket chats in, so that its chats skip
/// reading the membership again (`MessageService::send_with`). Forgotten when the socket
/// subscribes or unsubscribes, and when this node removes the member or changes the
/// space; the core reads it again once it is [`plaza_core::messages::STANDING_TTL`] old.
#[derive(Clone, Default)]
pub(crate) struct Standings(Arc<Mutex<HashMap<ObjectId, Standing>>>);

impl Standings {
    /// The standings of `socket` (made on first use).
    pub(crate) fn of<A: Adapter>(socket: &SocketRef<A>) -> Standings {
        if let Some(standings) = socket.extensions.get::<Standings>() {
            return standings;
        }
        let standings = Standings::default();
        socket.extensions.insert(standings.clone());
        standings
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, Standing>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get(&self, space_id: ObjectId) -> Option<Standing> {
        self.map().get(&space_id).cloned()
    }

    pub(crate) fn put(&self, standing: Standing) {
        self.map().insert(standing.space_id(), standing);
    }

    pub(crate) fn forget(&self, space_id: ObjectId) {
        self.map().remove(&space_id);
    }

    /// Forgets `space_id` on every socket of this node in `room`.
    pub(crate) fn forget_in<A: Adapter>(
        io: &socketioxide::SocketIo<A>,
        room: &str,
        space_id: ObjectId,
    ) {
        for namespace in io.nsps() {
            for socket in namespace.within(room.to_owned()).sockets() {
                if let Some(standings) = socket.extensions.get::<Standings>() {
                    standings.forget(space_id);
                }
            }
        }
    }
}
