//! What the nodes of a deployment tell one another about meeting media, over Redis
//! pub/sub (`realtime.adapter` = Redis): a space's media room lives on one node (its
//! host, `MeetingService::media_host`), and the nodes whose sockets signal sessions in
//! it relay that signalling to the host, which answers the sockets through the adapter
//! (each socket's own room). The host also hears when such a socket goes, and every
//! node hears the admin controls and recordings aimed at a room it may host.
//!
//! Messages go out in the order they were queued (one task publishes them all), so a
//! socket's offers, answers and candidates reach the host in the order it sent them.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use plaza_core::ObjectId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

/// One message between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub(crate) enum Relayed {
    /// A `MEDIA_JOIN` whose token this node checked: the host admits the session.
    Join {
        socket_id: String,
        space_id: String,
        token: String,
        payload: Value,
    },
    /// Another media event of a session the host runs (`MEDIA_OFFER`, ...).
    Signal {
        socket_id: String,
        event: String,
        payload: Value,
    },
    /// A socket that signalled sessions on the host disconnected.
    SocketGone {
        socket_id: String,
    },
    /// A socket unsubscribed from a space: its sessions there end.
    LeaveSpace {
        socket_id: String,
        space_id: String,
    },
    /// A relayed session ended on its host: the signalling node forgets it.
    Ended {
        session_id: String,
    },
    /// To every node: admin controls (see `MediaForwarding`).
    Forwarding {
        space_id: ObjectId,
        user_id: ObjectId,
        audio: bool,
        video: bool,
    },
    EndSessions {
        space_id: ObjectId,
        user_id: ObjectId,
    },
    EndRoom {
        space_id: ObjectId,
    },
    /// To every node: the one hosting the room records it, the one recording it stops.
    StartRecording {
        space_id: ObjectId,
        meeting_id: ObjectId,
        recording_id: ObjectId,
    },
    StopRecording {
        space_id: ObjectId,
        meeting_id: ObjectId,
        recording_id: ObjectId,
    },
}

/// A message and the node that sent it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Envelope {
    pub from: String,
    #[serde(flatten)]
    pub message: Relayed,
}

/// A session signalled through this node's socket whose room another node hosts.
#[derive(Debug, Clone)]
pub(crate) struct RemoteSession {
    pub host: String,
    pub socket_id: String,
    pub space_id: ObjectId,
}

/// This node's end of the bus: the queue of messages to publish, and the sessions it
/// relays.
pub(crate) struct NodeBus {
    node_id: String,
    prefix: String,
    outbox: mpsc::UnboundedSender<(String, Vec<u8>)>,
    remote: Mutex<HashMap<String, RemoteSession>>,
}

impl NodeBus {
    /// A bus whose messages the receiver of `outbox` publishes, in order.
    pub(crate) fn new(
        node_id: String,
        prefix: String,
        outbox: mpsc::UnboundedSender<(String, Vec<u8>)>,
    ) -> NodeBus {
        NodeBus { node_id, prefix, outbox, remote: Mutex::default() }
    }

    pub(crate) fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The channel a node listens on.
    pub(crate) fn node_channel(&self, node_id: &str) -> String {
        format!("{}:media:node:{node_id}", self.prefix)
    }

    /// The channel every node listens on.
    pub(crate) fn all_channel(&self) -> String {
        format!("{}:media:all", self.prefix)
    }

    /// Queues `message` for node `node_id`.
    pub(crate) fn send(&self, node_id: &str, message: Relayed) {
        self.queue(self.node_channel(node_id), message);
    }

    /// Queues `message` for every other node.
    pub(crate) fn broadcast(&self, message: Relayed) {
        self.queue(self.all_channel(), message);
    }

    fn queue(&self, channel: String, message: Relayed) {
        let envelope = Envelope { from: self.node_id.clone(), message };
        match serde_json::to_vec(&envelope) {
            Ok(bytes) => {
                if self.outbox.send((channel, bytes)).is_err() {
                    tracing::warn!("the node bus is closed: a media message was dropped");
                }
            }
            Err(error) => tracing::warn!(%error, "unserialisable media message dropped"),
        }
    }

    fn remote(&self) -> MutexGuard<'_, HashMap<String, RemoteSession>> {
        self.remote.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers that `session_id`, signalled by `socket_id`, runs on `host`.
    pub(crate) fn relayed(&self, session_id: &str, session: RemoteSession) {
        self.remote().insert(session_id.to_owned(), session);
    }

    /// The host of `session_id` when `socket_id` signals it through this node.
    pub(crate) fn host_of(&self, session_id: &str, socket_id: &str) -> Option<String> {
        self.remote().get(session_id).filter(|s| s.socket_id == socket_id).map(|s| s.host.clone())
    }

    pub(crate) fn forget(&self, session_id: &str) {
        self.remote().remove(session_id);
    }

    /// Forgets the relayed sessions `take` picks, and answers them with their ids.
    pub(crate) fn take_where(
        &self,
        mut take: impl FnMut(&RemoteSession) -> bool,
    ) -> Vec<(String, RemoteSession)> {
        let mut remote = self.remote();
        let ids: Vec<String> =
            remote.iter().filter(|(_, s)| take(s)).map(|(id, _)| id.clone()).collect();
        ids.into_iter().filter_map(|id| remote.remove(&id).map(|s| (id, s))).collect()
    }

    /// The nodes hosting sessions this node relays.
    pub(crate) fn hosts(&self) -> Vec<String> {
        each_once(self.remote().values().map(|s| s.host.clone()))
    }
}

/// `nodes`, each once, in order.
pub(crate) fn each_once(nodes: impl Iterator<Item = String>) -> Vec<String> {
    let mut nodes: Vec<String> = nodes.collect();
    nodes.sort();
    nodes.dedup();
    nodes
}
