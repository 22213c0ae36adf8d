//! The server's own `app.event.presence.party.leaves`, coalesced per space
//! (docs/decisions.md, "Presence leaves are coalesced per space").
//!
//! A socket that goes away (disconnect or `UNSUBSCRIBE_CHANNEL`) does not announce its
//! party at once: the leave waits in its space's batch on this node, which is sent
//! [`LEAVES_WINDOW`] after it opened. A party that subscribes to the space again on this
//! node before then never left for the others; a party that still has another socket
//! subscribed to the space on this node when the batch goes out has not left either;
//! two sockets of one party leaving make one event. What remains is sent as before, one
//! `party.leaves` per party to the space's room, through the adapter (so to every node),
//! and reaches only the sockets subscribed when the batch goes out: in a storm, the
//! sockets that left with the others are no longer there, which is what turns N
//! departures from a space of N from N² deliveries into about N times the few who stay.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plaza_core::ObjectId;
use plaza_wire::Sender;
use plaza_wire::socket::PresenceEvent;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;

use crate::sink::emit_all;
use crate::{space_room, subscriber_room};

/// How long a space's leaves wait for others (and for returns) before they go out.
pub const LEAVES_WINDOW: Duration = Duration::from_millis(100);

/// The parties whose leave waits, each once, in the order they left.
type Batch = Vec<(ObjectId, Sender)>;

/// The leaves waiting on this node, per space.
#[derive(Clone, Default)]
pub struct PresenceLeaves {
    pending: Arc<Mutex<HashMap<String, Batch>>>,
}

impl PresenceLeaves {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Batch>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `sender`'s party left `space_id` through a socket of this node; the first leave of
    /// a batch schedules it.
    pub(crate) fn left<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        space_id: &str,
        user_id: ObjectId,
        sender: Sender,
    ) {
        let opened = {
            let mut pending = self.pending();
            let opened = !pending.contains_key(space_id);
            let batch = pending.entry(space_id.to_owned()).or_default();
            if !batch.iter().any(|(user, _)| *user == user_id) {
                batch.push((user_id, sender));
            }
            opened
        };
        if opened {
            let (this, io, space_id) = (self.clone(), io.clone(), space_id.to_owned());
            tokio::spawn(async move {
                tokio::time::sleep(LEAVES_WINDOW).await;
                this.flush(&io, &space_id).await;
            });
        }
    }

    /// `user_id` subscribed to `space_id` through a socket of this node: a leave of theirs
    /// still waiting there is dropped.
    pub(crate) fn back(&self, space_id: &str, user_id: ObjectId) {
        let mut pending = self.pending();
        if let Some(batch) = pending.get_mut(space_id) {
            batch.retain(|(user, _)| *user != user_id);
        }
    }

    /// Sends what waited for `space_id`: one `party.leaves` per party that has no socket
    /// subscribed to the space on this node any more.
    async fn flush<A: Adapter>(&self, io: &SocketIo<A>, space_id: &str) {
        let batch = self.pending().remove(space_id).unwrap_or_default();
        for (user_id, sender) in batch {
            let room = subscriber_room(space_id, user_id);
            if io.nsps().into_iter().any(|ns| !ns.within(room.clone()).sockets().is_empty()) {
                continue;
            }
            let leaves = PresenceEvent::leaves(sender, space_id);
            emit_all(io, vec![space_room(space_id)], None, "PRESENCE_EVENT_RESPONSE", &leaves)
                .await;
        }
    }
}
