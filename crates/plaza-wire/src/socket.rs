//! The Socket.IO event payloads of the `/chat` namespace (CONTRACT §1), both ways.
//!
//! Inbound payloads are read with [`crate::lenient`]: a field of the wrong type reads as
//! absent, and what a handler does with an absent field is unchanged. Payloads that the
//! server echoes or relays (`*_FAILED`, presence) keep every field the client sent.

use plaza_core::{ObjectId, SpaceRecord, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::ErrorBody;
use crate::lenient::{self, IdRef};
use crate::spaces::SpaceType;
use crate::users::Sender;

// ---- inbound ----

/// `channel` of `SUBSCRIBE_CHANNEL` and `UNSUBSCRIBE_CHANNEL`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ChannelRequest {
    /// The space's id.
    #[serde(default, deserialize_with = "lenient::field")]
    pub _id: Option<String>,
    /// `topic` (not read).
    #[serde(rename = "type", default, deserialize_with = "lenient::field")]
    pub kind: Option<String>,
    /// The space's PIN, for guests joining a space that has one.
    #[serde(default, deserialize_with = "lenient::field")]
    pub password: Option<String>,
}

/// `SUBSCRIBE_CHANNEL {channel: {_id, type, password?}, lastMessageId?}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SubscribeChannel {
    #[serde(default, deserialize_with = "lenient::object")]
    pub channel: Option<ChannelRequest>,
    /// The newest message the client has: what came after it is replayed.
    #[serde(rename = "lastMessageId", default, deserialize_with = "lenient::field")]
    pub last_message_id: Option<String>,
}

impl SubscribeChannel {
    /// The space's id, empty when absent.
    pub fn space_id(&self) -> &str {
        self.channel.as_ref().and_then(|c| c._id.as_deref()).unwrap_or_default()
    }
}

/// `UNSUBSCRIBE_CHANNEL {channel: {_id}}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UnsubscribeChannel {
    #[serde(default, deserialize_with = "lenient::object")]
    pub channel: Option<ChannelRequest>,
}

impl UnsubscribeChannel {
    /// The space's id, empty when absent.
    pub fn space_id(&self) -> &str {
        self.channel.as_ref().and_then(|c| c._id.as_deref()).unwrap_or_default()
    }
}

/// `SEND_MESSAGE`: a message to store and fan out. Every field, these included, is
/// also handed to the core as sent (`top_level`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SendMessage {
    /// The space's id.
    #[serde(rename = "topicId", default, deserialize_with = "lenient::field")]
    pub topic_id: Option<String>,
    /// `chat` (when absent), `idea` or `task`.
    #[serde(default, deserialize_with = "lenient::field")]
    pub category: Option<String>,
    /// The message's content (`bodyText`, `data`, ...): any fields.
    #[serde(default, deserialize_with = "lenient::field")]
    pub content: Option<Map<String, Value>>,
    /// The post or task this chat answers.
    #[serde(rename = "parentMsg", default, deserialize_with = "lenient::object")]
    pub parent_msg: Option<IdRef>,
    /// Anything; echoed on the sender's own `MESSAGE_SENT` only.
    #[serde(rename = "loopbackMetadata", default, deserialize_with = "lenient::present")]
    pub loopback_metadata: Option<Value>,
}

/// One entry of `receivers`: `{_id}` or a bare id; anything else names nobody.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Receiver {
    Ref(IdRef),
    Id(String),
    Other(Value),
}

// By hand: an untagged derive would also read `["<id>"]` as `{_id}`.
impl<'de> Deserialize<'de> for Receiver {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(match value {
            Value::String(id) => Receiver::Id(id),
            Value::Object(ref object) => match object.get("_id") {
                Some(Value::String(id)) => Receiver::Ref(IdRef { _id: Some(id.clone()) }),
                _ => Receiver::Other(value),
            },
            other => Receiver::Other(other),
        })
    }
}

impl Receiver {
    pub fn id(&self) -> Option<&str> {
        match self {
            Receiver::Ref(r) => r._id.as_deref(),
            Receiver::Id(id) => Some(id),
            Receiver::Other(_) => None,
        }
    }
}

/// `SEND_PRESENCE_EVENT {category, topicId, content?, receivers?}`: relayed as
/// `PRESENCE_EVENT_RESPONSE`, with every field the client sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SendPresenceEvent {
    /// The space's id.
    #[serde(rename = "topicId", default, deserialize_with = "lenient::field")]
    pub topic_id: Option<String>,
    /// `app.event.presence.party.online`, `...typing`, ... (not read by the server).
    #[serde(default, deserialize_with = "lenient::field")]
    pub category: Option<String>,
    /// Only these users' sockets in the space get it; everyone when empty or absent.
    #[serde(default, deserialize_with = "lenient::field")]
    pub receivers: Option<Vec<Receiver>>,
}

/// `SEND_MEDIA_SESSION_EVENTS {category, topicId, content, ...}`: handed to the core
/// as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SendMediaSessionEvents {
    /// The space's id.
    #[serde(rename = "topicId", default, deserialize_with = "lenient::field")]
    pub topic_id: Option<String>,
    /// `space.call.*` (allowed before subscribing), `app.event.*`, ...
    #[serde(default, deserialize_with = "lenient::field")]
    pub category: Option<String>,
}

// ---- outbound ----

/// `{_id, type: "topic"}`: the channel an event is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelRef {
    /// The space's id, as the client named it.
    #[schema(value_type = String)]
    pub _id: Value,
    /// Always `topic`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ChannelRef {
    pub fn topic(id: impl Into<Value>) -> Self {
        ChannelRef { _id: id.into(), kind: "topic".to_owned() }
    }

    pub fn space(id: ObjectId) -> Self {
        ChannelRef::topic(id.to_string())
    }
}

/// `CHANNEL_SUBSCRIBED`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelSubscribed {
    pub channel: ChannelRef,
    /// `<spaceId>:<socketId>`.
    pub dtsid: String,
    /// The socket's id.
    #[serde(rename = "sessionId")]
    pub session_id: String,
}

/// `CHANNEL_UNSUBSCRIBED`: after `UNSUBSCRIBE_CHANNEL`, or when the user was removed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelUnsubscribed {
    pub channel: ChannelRef,
}

/// `SUBSCRIBE_CHANNEL_FAILED`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscribeChannelFailed<E = ErrorBody> {
    pub channel: ChannelRef,
    pub error: E,
}

/// `SEND_MESSAGE_FAILED`, `SEND_PRESENCE_EVENT_FAILED`, `SEND_MEDIA_SESSION_EVENTS_FAILED`:
/// the payload as sent (when it was an object), with `error` (and `type` for some
/// refusals) set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Failed<E = ErrorBody> {
    /// Every field of the payload sent.
    #[serde(flatten)]
    pub payload: Map<String, Value>,
    pub error: E,
    /// `app.event.channel.subscription.required` when the socket had not subscribed.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl<E> Failed<E> {
    /// The payload sent, with `error` (and `type`, when given) in place of its own.
    pub fn echo(mut payload: Map<String, Value>, error: E, kind: Option<&str>) -> Self {
        payload.remove("error");
        if kind.is_some() {
            payload.remove("type");
        }
        Failed { payload, error, kind: kind.map(str::to_owned) }
    }

    /// Only `error`, for a payload that was not an object.
    pub fn bare(error: E) -> Self {
        Failed { payload: Map::new(), error, kind: None }
    }
}

/// `PRESENCE_EVENT_RESPONSE`: a presence event as its sender sent it (`category`,
/// `topicId`, `content`, `receivers`, any other field), `sender` filled in by the server
/// and `loopbackMetadata` removed; or the server's own `app.event.presence.party.leaves`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PresenceEvent {
    pub sender: Sender,
    /// Every other field.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl PresenceEvent {
    /// A client's presence event, relayed.
    pub fn relay(mut payload: Map<String, Value>, sender: Sender) -> Self {
        payload.remove("sender");
        payload.remove("loopbackMetadata");
        PresenceEvent { sender, fields: payload }
    }

    /// The server's own notice that a party left the space.
    pub fn leaves(sender: Sender, space_id: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("category".into(), "app.event.presence.party.leaves".into());
        fields.insert("topicId".into(), space_id.into());
        fields.insert("content".into(), serde_json::json!({"offline": true}));
        fields.insert("receivers".into(), Value::Array(Vec::new()));
        PresenceEvent { sender, fields }
    }
}

/// The sender of `topic.updated`: who changed the space.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserRef {
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// Always `user`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// What `topic.updated` says changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicUpdatedContent {
    pub title: String,
    pub description: String,
    /// 0 active, 1 archived, 2 deleted.
    pub status: i64,
}

/// `MESSAGE_SENT` with category `topic.updated`: a space's title, description or
/// status changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicUpdated {
    /// Always `topic.updated`.
    pub category: String,
    #[serde(rename = "topicId")]
    #[schema(value_type = String)]
    pub topic_id: ObjectId,
    #[serde(rename = "topicTitle")]
    pub topic_title: String,
    #[serde(rename = "topicType")]
    pub topic_type: SpaceType,
    pub sender: UserRef,
    pub content: TopicUpdatedContent,
    #[schema(value_type = String)]
    pub created: Timestamp,
    #[schema(value_type = String)]
    pub modified: Timestamp,
}

impl TopicUpdated {
    pub fn of(space: &SpaceRecord, by: ObjectId) -> Self {
        TopicUpdated {
            category: "topic.updated".to_owned(),
            topic_id: space.id,
            topic_title: space.title.clone(),
            topic_type: space.kind.into(),
            sender: UserRef { _id: by, kind: "user".to_owned() },
            content: TopicUpdatedContent {
                title: space.title.clone(),
                description: space.description.clone(),
                status: space.status.code(),
            },
            created: space.modified,
            modified: space.modified,
        }
    }
}

/// `SESSION_ENDED`: the credentials this socket connected with were revoked (or the
/// account disabled); the server disconnects it next.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionEnded {
    #[serde(flatten)]
    pub error: ErrorBody,
    /// `logout`, `grant_revoked`, `token_revoked`, `client_revoked`, `account_disabled`, ...
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lenient::{Inbound, from_value};
    use serde_json::json;

    fn send(value: Value) -> Inbound<SendMessage> {
        Inbound::parse(Some(value)).expect("an object")
    }

    #[test]
    fn only_objects_are_inbound_payloads() {
        assert!(Inbound::<SendMessage>::parse(Some(json!([1]))).is_none());
        assert!(Inbound::<SendMessage>::parse(Some(json!("x"))).is_none());
        assert!(Inbound::<SendMessage>::parse(None).is_none());
    }

    #[test]
    fn fields_of_the_wrong_type_read_as_absent_and_the_raw_payload_is_kept() {
        let payload = json!({
            "topicId": 5,
            "category": ["idea"],
            "content": "text",
            "parentMsg": ["abc"],
            "extra": {"kept": true},
        });
        let message = send(payload.clone());
        assert_eq!(message.fields.topic_id, None);
        assert_eq!(message.fields.category, None);
        assert_eq!(message.fields.content, None);
        assert_eq!(message.fields.parent_msg, None);
        assert_eq!(message.fields.loopback_metadata, None);
        assert_eq!(Value::Object(message.raw), payload);
    }

    #[test]
    fn well_formed_fields_are_read() {
        let message = send(json!({
            "topicId": "s1",
            "category": "task",
            "content": {"bodyText": "hi"},
            "parentMsg": {"_id": "p1"},
            "loopbackMetadata": null,
        }));
        assert_eq!(message.fields.topic_id.as_deref(), Some("s1"));
        assert_eq!(message.fields.category.as_deref(), Some("task"));
        assert_eq!(message.fields.content, json!({"bodyText": "hi"}).as_object().cloned());
        assert_eq!(message.fields.parent_msg.and_then(|p| p._id).as_deref(), Some("p1"));
        // Present but null: echoed as null on the sender's copy, as before.
        assert_eq!(message.fields.loopback_metadata, Some(Value::Null));
        let odd_parent = send(json!({"parentMsg": {"_id": 7}}));
        assert_eq!(odd_parent.fields.parent_msg.and_then(|p| p._id), None);
    }

    #[test]
    fn a_subscription_reads_any_value() {
        let request: SubscribeChannel = from_value(&json!({
            "channel": {"_id": "s1", "password": "1234"},
            "lastMessageId": "m1",
        }));
        assert_eq!(request.space_id(), "s1");
        assert_eq!(request.channel.and_then(|c| c.password).as_deref(), Some("1234"));
        assert_eq!(request.last_message_id.as_deref(), Some("m1"));
        for odd in
            [json!(null), json!([1]), json!({"channel": "s1"}), json!({"channel": {"_id": 1}})]
        {
            let request: SubscribeChannel = from_value(&odd);
            assert_eq!(request.space_id(), "", "{odd}");
            let request: UnsubscribeChannel = from_value(&odd);
            assert_eq!(request.space_id(), "", "{odd}");
        }
    }

    #[test]
    fn receivers_are_ids_or_refs_and_nothing_else() {
        let event: SendPresenceEvent = from_value(&json!({
            "topicId": "s1",
            "receivers": [{"_id": "a"}, "b", {"_id": 3}, ["c"], 4, {}],
        }));
        let ids: Vec<Option<&str>> = event.receivers.iter().flatten().map(Receiver::id).collect();
        assert_eq!(ids, [Some("a"), Some("b"), None, None, None, None]);
        let event: SendPresenceEvent = from_value(&json!({"receivers": {"_id": "a"}}));
        assert!(event.receivers.is_none());
    }

    #[test]
    fn a_failure_echoes_the_payload_with_error_and_type_in_place() {
        let payload = json!({"topicId": "s1", "error": "old", "type": "mine"});
        let error = ErrorBody::bare("permission.denied", "no");
        let kept =
            Failed::echo(payload.as_object().cloned().unwrap_or_default(), error.clone(), None);
        assert_eq!(
            serde_json::to_value(&kept).unwrap_or_default(),
            json!({"topicId": "s1", "type": "mine", "error": {"code": "permission.denied", "message": "no"}})
        );
        let typed =
            Failed::echo(payload.as_object().cloned().unwrap_or_default(), error, Some("t"));
        assert_eq!(
            serde_json::to_value(&typed).unwrap_or_default(),
            json!({"topicId": "s1", "type": "t", "error": {"code": "permission.denied", "message": "no"}})
        );
    }
}
