//! Domain events: what the core announces after a change is committed. The realtime
//! transport turns them into Socket.IO emits (`MESSAGE_SENT` with category
//! `topic.updated`, ...); until then the server logs them.

use std::sync::Mutex;

use plaza_db::{ObjectId, SpaceRecord, Timestamp, UserRecord};

/// Something that happened, published only after it was stored.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    /// A space's title, description, settings or status changed (`topic.updated`).
    SpaceUpdated { space: SpaceRecord, by: ObjectId },
    /// A user was removed (or left): their sockets must stop receiving the space.
    MemberRemoved { space_id: ObjectId, user_id: ObjectId, by: ObjectId },
    /// A message was written, edited or deleted (`message.deleted`): `MESSAGE_SENT`.
    /// `origin` names the connection that sent it, which alone gets the loopback copy.
    /// Boxed: by far the largest event.
    /// `hidden_from` lists the users it must not reach: guests whose history starts
    /// after the message was written, when it is edited or deleted.
    Message {
        view: Box<crate::views::MessageView>,
        origin: Option<String>,
        hidden_from: Vec<ObjectId>,
    },
    /// A media-session event (`MEDIA_SESSION_RESPONSE`): a party's relayed one, or the
    /// server's own meeting, attendee and recording lifecycle. Boxed like messages.
    Media(Box<MediaEvent>),
    /// Credentials stopped being valid (logout, a revoked grant or client, a disabled
    /// account): the connections they opened must close, on every node.
    AccessRevoked { scope: RevokedAccess, reason: RevocationReason },
}

/// Which connections a revocation ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokedAccess {
    /// Those opened with the JWT of this id (`jti`).
    Token(String),
    /// Those opened with an access token of this OAuth grant.
    Grant(ObjectId),
    /// Those opened with any token of this OAuth client or service app.
    Client(String),
    /// Every connection of this user.
    User(ObjectId),
}

/// Why connections were ended, as told to their clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// The token was revoked (logout, `/oauth2/revoke_token`, a reused refresh token).
    TokenRevoked,
    /// The token's lifetime (or an anonymous guest's day) ran out.
    TokenExpired,
    /// The OAuth client or service app was removed.
    ClientRevoked,
    /// The account was disabled.
    AccountDisabled,
}

impl RevocationReason {
    /// The error a closed connection is told (CONTRACT §3 codes).
    pub fn error(self) -> crate::CoreError {
        use crate::ErrorCode;
        let (code, message) = match self {
            Self::TokenRevoked => (ErrorCode::AuthInvalidToken, "the token was revoked"),
            Self::TokenExpired => (ErrorCode::AuthInvalidToken, "the token expired"),
            Self::ClientRevoked => (ErrorCode::AuthInvalidToken, "the client was revoked"),
            Self::AccountDisabled => (ErrorCode::AuthAccountDisabled, "this account is disabled"),
        };
        crate::CoreError::new(code, message)
    }
}

/// One `MEDIA_SESSION_RESPONSE`, in the order the meeting's changes were stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaEvent {
    /// The event's own id (`_id`).
    pub id: ObjectId,
    pub space: SpaceRecord,
    pub category: String,
    /// Who sent it; `None` is the space server (`sender.type: "spaceserver"`).
    pub sender: Option<UserRecord>,
    /// The meeting it belongs to (`messageId`), if one is running.
    pub meeting_id: Option<ObjectId>,
    pub content: serde_json::Map<String, serde_json::Value>,
    /// Other top-level fields of a relayed event, passed on as sent (`receivers`,
    /// `spaceCallId`, `created`, ...).
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub audience: MediaAudience,
    /// The connection it came from: it gets the `loopback` copy instead of the plain one.
    pub origin: Option<String>,
    /// The origin's `loopbackMetadata`, returned to it alone.
    pub loopback: Option<serde_json::Value>,
    pub at: Timestamp,
}

/// Who receives a media-session event.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaAudience {
    /// Every connection subscribed to the space.
    Space,
    /// Every connection of these users, subscribed or not (a call ringing in a direct
    /// space must reach a callee who never opened it).
    Users(Vec<ObjectId>),
    /// The origin connection alone.
    Origin,
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
