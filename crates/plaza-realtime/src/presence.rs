//! The server's own `app.event.presence.party.leaves`, coalesced per space
//! (docs/decisions.md, "Presence leaves are coalesced per space").
//!
//! A socket that goes away (disconnect or `UNSUBSCRIBE_CHANNEL`) does not announce its
//! party at once: the leave waits in its space's batch on this node, which is sent once
//! the space has been quiet (no leave, no return) for [`LEAVES_WINDOW`]; during a storm
//! (a batch that has seen [`STORM_PARTIES`] leaves) for [`STORM_QUIET`], and at the
//! latest [`STORM_LIMIT`] after it opened. A party that subscribes to the space again on this
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

use tokio::time::Instant;

use plaza_core::ObjectId;
use plaza_wire::Sender;
use plaza_wire::socket::PresenceEvent;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;

use crate::sink::emit_all;
use crate::{space_room, subscriber_room};

/// How long a space's leaves wait for others (and for returns) before they go out.
pub const LEAVES_WINDOW: Duration = Duration::from_millis(100);
/// Leaves in one batch that make it a storm: everyone dropping at once (a node or a
/// network going away) comes back within seconds, and announcing each departure to
/// everyone still there would cost N² deliveries for nothing.
pub const STORM_PARTIES: usize = 16;
/// How long a storm's batch waits after the space's last leave or return.
pub const STORM_QUIET: Duration = Duration::from_secs(2);
/// The longest a leave waits.
pub const STORM_LIMIT: Duration = Duration::from_secs(15);

/// The parties whose leave waits, each once, in the order they left; when the batch
/// opened, when it last saw a leave or a return, and how many leaves it saw.
struct Batch {
    parties: Vec<(ObjectId, Sender)>,
    opened: Instant,
    stirred: Instant,
    leaves: usize,
}

impl Batch {
    /// When the batch is due, as things stand.
    fn due(&self) -> Instant {
        let quiet = if self.leaves >= STORM_PARTIES { STORM_QUIET } else { LEAVES_WINDOW };
        (self.stirred + quiet).min(self.opened + STORM_LIMIT)
    }
}

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
        let now = Instant::now();
        let opened = {
            let mut pending = self.pending();
            let opened = !pending.contains_key(space_id);
            let batch = pending.entry(space_id.to_owned()).or_insert_with(|| Batch {
                parties: Vec::new(),
                opened: now,
                stirred: now,
                leaves: 0,
            });
            batch.stirred = now;
            batch.leaves += 1;
            if !batch.parties.iter().any(|(user, _)| *user == user_id) {
                batch.parties.push((user_id, sender));
            }
            opened
        };
        if opened {
            let (this, io, space_id) = (self.clone(), io.clone(), space_id.to_owned());
            tokio::spawn(async move {
                // Until the batch is due: each leave or return may put that off.
                loop {
                    let due = this.pending().get(&space_id).map(Batch::due);
                    match due {
                        Some(due) if Instant::now() < due => tokio::time::sleep_until(due).await,
                        _ => break,
                    }
                }
                this.flush(&io, &space_id).await;
            });
        }
    }

    /// `user_id` subscribed to `space_id` through a socket of this node: a leave of theirs
    /// still waiting there is dropped.
    pub(crate) fn back(&self, space_id: &str, user_id: ObjectId) {
        let mut pending = self.pending();
        if let Some(batch) = pending.get_mut(space_id) {
            batch.parties.retain(|(user, _)| *user != user_id);
            batch.stirred = Instant::now();
        }
    }

    /// Sends what waited for `space_id`: one `party.leaves` per party that has no socket
    /// subscribed to the space on this node any more.
    async fn flush<A: Adapter>(&self, io: &SocketIo<A>, space_id: &str) {
        let batch = self.pending().remove(space_id).map(|b| b.parties).unwrap_or_default();
        tracing::debug!(space_id, parties = batch.len(), "presence leaves due");
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
