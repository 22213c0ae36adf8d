//! Delivers domain events to sockets, in the order the core published them.

use plaza_core::SpaceKind;
use plaza_core::events::{DomainEvent, EventSink, MediaAudience};
use plaza_core::messages::MessageView;
use plaza_wire::socket::{ChannelRef, ChannelUnsubscribed, TopicUpdated};
use plaza_wire::{MediaEvent, Message};
use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::session::Standings;
use crate::{space_room, subscriber_room, user_room};

/// The core's [`EventSink`] for a server with sockets. Publishing never blocks: events
/// go onto a queue that one task drains, so emits keep the order of the commits.
pub struct RealtimeSink {
    sender: mpsc::UnboundedSender<DomainEvent>,
    receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<DomainEvent>>>,
}

impl Default for RealtimeSink {
    fn default() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        RealtimeSink { sender, receiver: std::sync::Mutex::new(Some(receiver)) }
    }
}

impl EventSink for RealtimeSink {
    fn publish(&self, event: DomainEvent) {
        // Fails only when the server is shutting down; nobody is listening then.
        let _ = self.sender.send(event);
    }
}

impl RealtimeSink {
    /// Starts the delivery task (once).
    pub(crate) fn start<A: Adapter>(
        &self,
        io: SocketIo<A>,
        base_url: String,
        metrics: Arc<plaza_metrics::Metrics>,
    ) {
        let Some(mut receiver) = self.receiver.lock().ok().and_then(|mut r| r.take()) else {
            return;
        };
        tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                count(&metrics, &event);
                deliver(&io, &base_url, event).await;
            }
        });
    }
}

/// What `/metrics` learns from an event about to go out.
fn count(metrics: &plaza_metrics::Metrics, event: &DomainEvent) {
    match event {
        DomainEvent::Message { .. } | DomainEvent::SpaceUpdated { .. } => {
            metrics.socket_event_out("MESSAGE_SENT");
        }
        DomainEvent::MemberRemoved { .. } => metrics.socket_event_out("CHANNEL_UNSUBSCRIBED"),
        DomainEvent::Media(media) => {
            metrics.socket_event_out("MEDIA_SESSION_RESPONSE");
            match media.category.as_str() {
                "app.event.meeting.started" => metrics.meeting_changed(1),
                "app.event.meeting.ended" => metrics.meeting_changed(-1),
                "app.event.attendee.added" => metrics.meeting_attendee_added(),
                _ => {}
            }
        }
        DomainEvent::AccessRevoked { .. } => metrics.socket_event_out("SESSION_ENDED"),
    }
}

/// The rooms a space's messages go to. A direct space also reaches both members'
/// private rooms, so the first message arrives before anyone subscribed to it (a
/// socket in several of these rooms still gets one copy).
fn audience(view: &MessageView) -> Vec<String> {
    let mut rooms = vec![space_room(view.space.id)];
    if view.space.kind == SpaceKind::Direct
        && let Some(pair) = view.space.unique_key.as_deref().and_then(|k| k.strip_prefix("direct:"))
    {
        rooms.extend(pair.split(':').map(user_room));
    }
    rooms
}

/// Emits to `rooms` in every namespace, skipping the sockets in the `except` rooms (the
/// origin's own room, or subscribers who must not get it).
pub(crate) async fn emit_all<A: Adapter>(
    io: &SocketIo<A>,
    rooms: Vec<String>,
    except: impl IntoIterator<Item = String>,
    event: &str,
    payload: &impl Serialize,
) {
    // Serialised once for every namespace: each namespace's broadcast then copies the
    // JSON text instead of walking the payload again (and the adapter encodes one packet
    // for all the sockets it reaches).
    let payload = match serde_json::value::to_raw_value(payload) {
        Ok(payload) => payload,
        Err(error) => return tracing::warn!(%error, event, "unserialisable payload dropped"),
    };
    let except: Vec<String> = except.into_iter().collect();
    for operators in io.nsps() {
        let mut operators = operators.to(rooms.clone());
        if !except.is_empty() {
            operators = operators.except(except.clone());
        }
        if let Err(error) = operators.emit(event, &payload).await {
            tracing::warn!(%error, event, "emit failed");
        }
    }
}

async fn deliver<A: Adapter>(io: &SocketIo<A>, base_url: &str, event: DomainEvent) {
    match event {
        DomainEvent::Message { view, origin, hidden_from } => {
            let payload = Message::of(&view, base_url);
            // The origin socket gets its own copy, with loopbackMetadata, from the
            // handler that received SEND_MESSAGE; guests cut off from the message do not.
            let hidden = hidden_from.iter().map(|user| subscriber_room(view.space.id, user));
            let except = origin.into_iter().chain(hidden);
            emit_all(io, audience(&view), except, "MESSAGE_SENT", &payload).await;
        }
        DomainEvent::SpaceUpdated { space, by } => {
            // Chats read the space again (title, archived, deleted).
            Standings::forget_in(io, &space_room(space.id), space.id);
            let payload = TopicUpdated::of(&space, by);
            emit_all(io, vec![space_room(space.id)], None, "MESSAGE_SENT", &payload).await;
        }
        DomainEvent::MemberRemoved { space_id, user_id, .. } => {
            // A removed user's sockets stop receiving the space at once.
            Standings::forget_in(io, &user_room(user_id), space_id);
            let rooms = [space_room(space_id), subscriber_room(space_id, user_id)];
            for operators in io.nsps() {
                let theirs = operators.to(user_room(user_id));
                if let Err(error) = theirs.clone().leave(rooms.clone()).await {
                    tracing::warn!(%error, "unsubscribing a removed user failed");
                }
                let payload = ChannelUnsubscribed { channel: ChannelRef::space(space_id) };
                let _ = theirs.emit("CHANNEL_UNSUBSCRIBED", &payload).await;
            }
        }
        DomainEvent::Media(event) => {
            let payload = MediaEvent::of(&event, base_url, false);
            let rooms = match &event.audience {
                MediaAudience::Space => vec![space_room(event.space.id)],
                MediaAudience::Users(users) => users.iter().map(user_room).collect(),
                MediaAudience::Origin => Vec::new(),
            };
            if !rooms.is_empty() {
                emit_all(io, rooms, event.origin.clone(), "MEDIA_SESSION_RESPONSE", &payload).await;
            }
            // The origin's own copy, with its loopbackMetadata, in the same order.
            if let Some(origin) = &event.origin {
                let own = MediaEvent::of(&event, base_url, true);
                emit_all(io, vec![origin.clone()], None, "MEDIA_SESSION_RESPONSE", &own).await;
            }
        }
        DomainEvent::AccessRevoked { scope, reason } => {
            crate::revocation::end_revoked(io, &scope, reason).await;
        }
    }
}
