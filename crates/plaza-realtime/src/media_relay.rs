//! Meeting media across nodes, on the Redis adapter's connection: this node's listener
//! for what the others relay (`node_bus`), the task that publishes what it relays, and
//! the watch on the nodes at the other end of its relayed sessions.
//!
//! When a room's host dies, the nodes that relayed sessions to it tell their sockets
//! `MEDIA_SESSION_ENDED {reason: "moved"}`: the clients join again, and the first join
//! makes its node the new host (`claim_media_host` takes a space from a host that
//! stopped beating). Their people keep their place meanwhile: the host's death counts
//! as their connections dropping (`MeetingService::keep_alive`), with the drop grace.
//! When a node whose sockets signal sessions here dies, those sessions end as if the
//! sockets had disconnected.

use std::sync::Arc;
use std::time::Duration;

use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use tokio::sync::mpsc;

use crate::RealtimeState;
use crate::media::{join_relayed, signal};
use crate::media_plane::{MediaPlane, Outlet};
use crate::node_bus::{Envelope, NodeBus, Relayed};
use crate::redis_driver::ReconnectingDriver;
use crate::sink::emit_all;

/// Messages waiting for this node's handler at most (a burst of signalling).
const INBOX: usize = 4096;

/// Shares `plane`'s rooms with the other nodes through Redis: binds its bus, and starts
/// the publisher, the listener and the watch.
pub(crate) async fn start<A: Adapter>(
    plane: Arc<MediaPlane>,
    driver: ReconnectingDriver,
    prefix: &str,
    io: SocketIo<A>,
    state: RealtimeState,
) -> Result<(), redis::RedisError> {
    let node_id = state.meetings.config().node_id.clone();
    let (outbox, mut queued) = mpsc::unbounded_channel::<(String, Vec<u8>)>();
    let bus = Arc::new(NodeBus::new(node_id.clone(), prefix.to_owned(), outbox));
    let mine = driver.listen(bus.node_channel(&node_id), INBOX).await?;
    let all = driver.listen(bus.all_channel(), INBOX).await?;
    plane.bind_bus(bus.clone());

    let publisher = driver.clone();
    tokio::spawn(async move {
        while let Some((channel, bytes)) = queued.recv().await {
            use socketioxide_redis::drivers::Driver as _;
            if let Err(error) = publisher.publish(channel, bytes).await {
                tracing::warn!(%error, "a media message to another node was lost");
            }
        }
    });
    for inbox in [mine, all] {
        tokio::spawn(receive(inbox, io.clone(), state.clone(), plane.clone()));
    }
    tokio::spawn(watch_peers(bus, io, state, plane));
    Ok(())
}

/// Handles what other nodes relay here, one message at a time per channel (a socket's
/// events stay in order).
async fn receive<A: Adapter>(
    mut inbox: mpsc::Receiver<(String, Vec<u8>)>,
    io: SocketIo<A>,
    state: RealtimeState,
    plane: Arc<MediaPlane>,
) {
    let node_id = state.meetings.config().node_id.clone();
    while let Some((_, bytes)) = inbox.recv().await {
        let envelope: Envelope = match serde_json::from_slice(&bytes) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::warn!(%error, "unreadable media message from another node");
                continue;
            }
        };
        if envelope.from == node_id {
            continue; // its own broadcast: already applied here
        }
        handle(envelope, &io, &state, &plane).await;
    }
}

async fn handle<A: Adapter>(
    envelope: Envelope,
    io: &SocketIo<A>,
    state: &RealtimeState,
    plane: &MediaPlane,
) {
    let from = envelope.from;
    match envelope.message {
        Relayed::Join { socket_id, space_id, token, payload } => {
            join_relayed(state, io.clone(), from, socket_id, &space_id, &token, payload).await;
        }
        Relayed::Signal { socket_id, event, payload } => {
            let outlet = Outlet::Remote { io: io.clone(), socket_id };
            signal(state, outlet, &event, Some(payload)).await;
        }
        Relayed::SocketGone { socket_id } => plane.socket_gone(&socket_id),
        Relayed::LeaveSpace { socket_id, space_id } => plane.leave_space(&space_id, &socket_id),
        Relayed::Ended { session_id } => {
            if let Some(bus) = plane.bus() {
                bus.forget(&session_id);
            }
        }
        Relayed::StartRecording { space_id, meeting_id, recording_id } => {
            if plane.has_room(space_id)
                && let Err(error) =
                    state.meetings.record_relayed_media(space_id, meeting_id, recording_id).await
            {
                tracing::warn!(%error, recording = %recording_id, "a relayed recording did not start");
            }
        }
        Relayed::StopRecording { space_id, meeting_id, recording_id } => {
            if plane.holds_recording(recording_id)
                && let Err(error) = state
                    .meetings
                    .finish_relayed_recording(space_id, meeting_id, recording_id)
                    .await
            {
                tracing::warn!(%error, recording = %recording_id, "a relayed recording did not finish");
            }
        }
        control @ (Relayed::Forwarding { .. }
        | Relayed::EndSessions { .. }
        | Relayed::EndRoom { .. }) => plane.apply_relayed(&control),
    }
}

/// Watches the nodes at the other end of this node's cross-node sessions, a few times
/// per `node_timeout_ms`: a dead host's sessions are told to move, a dead origin's
/// sessions end.
async fn watch_peers<A: Adapter>(
    bus: Arc<NodeBus>,
    io: SocketIo<A>,
    state: RealtimeState,
    plane: Arc<MediaPlane>,
) {
    let every = (state.meetings.config().node_timeout_ms / 4).clamp(50, 2_000);
    let mut ticker = tokio::time::interval(Duration::from_millis(every as u64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let (hosts, origins) = (bus.hosts(), plane.origins());
        if hosts.is_empty() && origins.is_empty() {
            continue;
        }
        let live = match state.meetings.live_nodes().await {
            Ok(live) => live,
            Err(error) => {
                tracing::warn!(%error, "the nodes' heartbeats could not be read");
                continue;
            }
        };
        let dead = |node: &String| !live.contains(node) && node != bus.node_id();
        for host in hosts.iter().filter(|h| dead(h)) {
            tracing::warn!(host, "a media host stopped answering; its sessions move");
            for (session_id, session) in bus.take_where(|s| &s.host == host) {
                let ended = plaza_wire::media::MediaSessionEnded {
                    topic_id: session.space_id.to_string(),
                    session_id,
                    reason: "moved".to_owned(),
                };
                let room = crate::socket_room_of(&session.socket_id);
                emit_all(&io, vec![room], None, "MEDIA_SESSION_ENDED", &ended).await;
            }
        }
        for origin in origins.iter().filter(|o| dead(o)) {
            tracing::warn!(origin, "a node relaying media sessions here stopped answering");
            plane.origin_gone(origin);
        }
    }
}
