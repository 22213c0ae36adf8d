//! Domain events: what the core announces after a change is committed. The realtime
//! transport turns them into Socket.IO emits (`MESSAGE_SENT` with category
//! `topic.updated`, ...); until then the server logs them.

use std::sync::Mutex;

use plaza_db::{ObjectId, SpaceRecord};

/// Something that happened, published only after it was stored.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    /// A space's title, description, settings or status changed (`topic.updated`).
    SpaceUpdated { space: SpaceRecord, by: ObjectId },
    /// A user joined, was added, or changed role.
    MemberChanged { space_id: ObjectId, user_id: ObjectId, role: &'static str, by: ObjectId },
    /// A user was removed (or left): their sockets must stop receiving the space.
    MemberRemoved { space_id: ObjectId, user_id: ObjectId, by: ObjectId },
    /// A message was written, edited or deleted (`message.deleted`): `MESSAGE_SENT`.
    /// `origin` names the connection that sent it, which alone gets the loopback copy.
    /// Boxed: by far the largest event.
    Message { view: Box<crate::messages::MessageView>, origin: Option<String> },
}

/// Where the core publishes events. Implementations must not block.
pub trait EventSink: Send + Sync + 'static {
    fn publish(&self, event: DomainEvent);
}

/// Logs events at debug level: the sink of a server without realtime delivery.
pub struct LogSink;

impl EventSink for LogSink {
    fn publish(&self, event: DomainEvent) {
        tracing::debug!(?event, "domain event");
    }
}

/// Keeps every event, for tests that check what was announced.
#[derive(Default)]
pub struct RecordingSink {
    events: Mutex<Vec<DomainEvent>>,
}

impl RecordingSink {
    pub fn events(&self) -> Vec<DomainEvent> {
        self.events.lock().map(|events| events.clone()).unwrap_or_default()
    }
}

impl EventSink for RecordingSink {
    fn publish(&self, event: DomainEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }
}

/// Publishes every event to each of several sinks, in order.
pub struct Fanout(pub Vec<std::sync::Arc<dyn EventSink>>);

impl EventSink for Fanout {
    fn publish(&self, event: DomainEvent) {
        if let Some((last, rest)) = self.0.split_last() {
            for sink in rest {
                sink.publish(event.clone());
            }
            last.publish(event);
        }
    }
}
