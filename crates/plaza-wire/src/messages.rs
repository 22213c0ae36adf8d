//! Messages, meetings and media-session events on the wire: what REST answers and what
//! `MESSAGE_SENT` and `MEDIA_SESSION_RESPONSE` carry.

use plaza_core::events::MediaEvent as CoreMediaEvent;
use plaza_core::meetings::MeetingView;
use plaza_core::messages::MessageView;
use plaza_core::{ObjectId, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::DEFAULT_PICTURE_PATH;
use crate::spaces::SpaceType;
use crate::users::Sender;

/// `{_id}` of a message's parent (a post or task a chat answers).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParentRef {
    #[schema(value_type = String)]
    pub _id: ObjectId,
}

/// A message (chat, post `idea`, task) or a server record in a space, as `MESSAGE_SENT`
/// and the REST API carry it. A deleted message carries `deleted: true`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// `chat`, `idea`, `task` or `meeting`.
    pub category: String,
    /// The space's id.
    #[serde(rename = "topicId")]
    #[schema(value_type = String)]
    pub topic_id: ObjectId,
    #[serde(rename = "topicTitle")]
    pub topic_title: String,
    #[serde(rename = "topicType")]
    pub topic_type: SpaceType,
    pub sender: Sender,
    /// The content as the sender wrote it (`bodyText`, `description`, `data` with the
    /// attachments, each native one with a `path` (and `thumbnailPath`) that redirects
    /// to the file, `assignees`, `dueDate`, `status`, `mentions`, and any other field).
    pub content: Map<String, Value>,
    /// The post or task this chat answers; `null` for top-level messages.
    #[serde(rename = "parentMsg")]
    pub parent_msg: Option<ParentRef>,
    /// Answers to a post or task.
    #[serde(rename = "chatCount")]
    pub chat_count: i64,
    pub deleted: bool,
    #[schema(value_type = String)]
    pub created: Timestamp,
    #[schema(value_type = String)]
    pub modified: Timestamp,
    /// Only on the sender's own copy of `MESSAGE_SENT`: the `loopbackMetadata` it sent.
    #[serde(rename = "loopbackMetadata", skip_serializing_if = "Option::is_none")]
    pub loopback_metadata: Option<Value>,
}

/// A message's content with a `path` (and `thumbnailPath`) on each native attachment:
/// stable URLs that answer an authorised `GET` with a redirect to the file.
fn content_with_paths(content: &Map<String, Value>, base_url: &str) -> Map<String, Value> {
    let mut content = content.clone();
    if let Some(Value::Array(items)) = content.get_mut("data") {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            if item.get("provider").and_then(Value::as_str).unwrap_or("native") != "native" {
                continue;
            }
            for (key, path) in [("fileId", "path"), ("thumbnailFile", "thumbnailPath")] {
                if let Some(file) = item.get(key).and_then(Value::as_str).filter(|f| !f.is_empty())
                {
                    let url = format!("{base_url}/api/files/{file}");
                    item.insert(path.to_owned(), Value::String(url));
                }
            }
        }
    }
    content
}

/// Meeting content with the default picture for people who have none (attendees,
/// the attendee an event is about, and who started each recording).
fn with_default_pictures(content: &Map<String, Value>, base_url: &str) -> Map<String, Value> {
    let mut content = content.clone();
    let fill = |person: &mut Value| {
        if let Some(person) = person.as_object_mut()
            && person.get("picture_url").is_none_or(Value::is_null)
        {
            let url = format!("{base_url}{DEFAULT_PICTURE_PATH}");
            person.insert("picture_url".into(), Value::String(url));
        }
    };
    if let Some(Value::Array(attendees)) = content.get_mut("attendees") {
        attendees.iter_mut().for_each(fill);
    }
    if let Some(attendee) = content.get_mut("attendee") {
        fill(attendee);
    }
    if let Some(Value::Array(recordings)) = content.get_mut("recordings") {
        for recording in recordings {
            if let Some(by) = recording.get_mut("startedBy") {
                fill(by);
            }
        }
    }
    content
}

impl Message {
    pub fn of(view: &MessageView, base_url: &str) -> Self {
        let message = &view.message;
        let (sender, content) = match &view.sender {
            Some(user) => {
                (Sender::of(user, base_url), content_with_paths(&message.content, base_url))
            }
            None => (
                Sender::space_server(&view.space),
                with_default_pictures(&message.content, base_url),
            ),
        };
        Message {
            _id: message.id,
            category: message.category.as_str().to_owned(),
            topic_id: message.space_id,
            topic_title: view.space.title.clone(),
            topic_type: view.space.kind.into(),
            sender,
            content,
            parent_msg: message.parent_id.map(|_id| ParentRef { _id }),
            chat_count: message.chat_count,
            deleted: message.deleted,
            created: message.created,
            modified: message.modified,
            loopback_metadata: None,
        }
    }
}

/// A meeting object (`/activemeeting`, `/meetings`): the message envelope with the
/// meeting's fields in `content` (catalog §7.4, §7.6).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Meeting {
    /// The meeting's id (also its record's message id).
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// `meeting`; the meeting controls answer the event's category here.
    pub category: String,
    #[serde(rename = "topicId")]
    #[schema(value_type = String)]
    pub topic_id: ObjectId,
    #[serde(rename = "topicTitle")]
    pub topic_title: String,
    #[serde(rename = "topicType")]
    pub topic_type: SpaceType,
    /// Always the space's server (`spaceserver`).
    pub sender: Sender,
    /// `startTime`, `endTime`, `mediaMode`, `meetingStatus` (`active`, `inactive`),
    /// `attendees`, `recordings`, `layout`, ...
    pub content: Map<String, Value>,
    #[schema(value_type = String)]
    pub created: Timestamp,
    #[schema(value_type = String)]
    pub modified: Timestamp,
}

impl Meeting {
    pub fn of(view: &MeetingView, base_url: &str) -> Self {
        Meeting {
            _id: view.id,
            category: "meeting".to_owned(),
            topic_id: view.space.id,
            topic_title: view.space.title.clone(),
            topic_type: view.space.kind.into(),
            sender: Sender::space_server(&view.space),
            content: with_default_pictures(&view.content, base_url),
            created: view.created,
            modified: view.modified,
        }
    }
}

/// `MEDIA_SESSION_RESPONSE` (seed 002): a media-session event relayed or announced in a
/// space. Fields the sender added to its `SEND_MEDIA_SESSION_EVENTS` pass through.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaEvent {
    /// The event's id.
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// The meeting's id; `null` for events outside a meeting (calls).
    #[serde(rename = "messageId")]
    #[schema(value_type = Option<String>)]
    pub message_id: Option<ObjectId>,
    #[serde(rename = "topicId")]
    #[schema(value_type = String)]
    pub topic_id: ObjectId,
    #[serde(rename = "topicTitle")]
    pub topic_title: String,
    #[serde(rename = "topicType")]
    pub topic_type: SpaceType,
    /// `app.event.meeting.started`, `app.event.attendee.added`, `space.call.*`, ...
    pub category: String,
    /// Who caused it, or the space's server.
    pub sender: Sender,
    pub content: Map<String, Value>,
    /// When the event happened.
    #[schema(value_type = String)]
    pub modified: Timestamp,
    /// As the sender gave it, else when the event happened.
    #[schema(value_type = String)]
    pub created: Value,
    /// Only on the origin socket's own copy: the `loopbackMetadata` it sent.
    #[serde(rename = "loopbackMetadata", skip_serializing_if = "Option::is_none")]
    pub loopback_metadata: Option<Value>,
    /// Any other field the sender put in its event.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MediaEvent {
    /// One copy of the event: `loopback` is the origin's own.
    pub fn of(event: &CoreMediaEvent, base_url: &str, loopback: bool) -> Self {
        let mut extra = event.extra.clone();
        for key in [
            "_id",
            "messageId",
            "topicId",
            "topicTitle",
            "topicType",
            "category",
            "sender",
            "content",
            "modified",
        ] {
            extra.remove(key);
        }
        let created =
            extra.remove("created").unwrap_or_else(|| Value::String(event.at.to_string()));
        let own = extra.remove("loopbackMetadata");
        let loopback_metadata = match &event.loopback {
            Some(metadata) if loopback => Some(metadata.clone()),
            _ => own,
        };
        MediaEvent {
            _id: event.id,
            message_id: event.meeting_id,
            topic_id: event.space.id,
            topic_title: event.space.title.clone(),
            topic_type: event.space.kind.into(),
            category: event.category.clone(),
            sender: match &event.sender {
                Some(user) => Sender::of(user, base_url),
                None => Sender::space_server(&event.space),
            },
            content: with_default_pictures(&event.content, base_url),
            modified: event.at,
            created,
            loopback_metadata,
            extra,
        }
    }
}

/// Why one message of a bulk delete was not deleted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeleteRefusal {
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// `{code, message}` of the refusal.
    pub reason: RefusalReason,
}

/// `{code, message}`: a refusal's error code and text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefusalReason {
    pub code: String,
    pub message: String,
}

/// The answer of `POST /api/messages/deletemessages`, in the Spaces field names
/// (`notFoundMmessages` is spelled as the API spells it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeleteReport {
    #[serde(rename = "deletedMessages")]
    pub deleted_messages: Vec<String>,
    #[serde(rename = "notFoundMmessages")]
    pub not_found_messages: Vec<String>,
    /// Failed for another reason.
    #[serde(rename = "notDeletedMessages")]
    pub not_deleted_messages: Vec<DeleteRefusal>,
    /// The caller may not delete these.
    #[serde(rename = "noPermittedMessages")]
    pub no_permitted_messages: Vec<DeleteRefusal>,
}

impl DeleteReport {
    pub fn of(report: &plaza_core::messages::BulkDeleteReport) -> Self {
        let refusals = |refused: &[(String, plaza_core::CoreError)]| {
            refused
                .iter()
                .map(|(id, error)| DeleteRefusal {
                    message_id: id.clone(),
                    reason: RefusalReason {
                        code: error.code.as_str().to_owned(),
                        message: error.message.to_string(),
                    },
                })
                .collect()
        };
        DeleteReport {
            deleted_messages: report.deleted.clone(),
            not_found_messages: report.not_found.clone(),
            not_deleted_messages: refusals(&report.not_deleted),
            no_permitted_messages: refusals(&report.not_permitted),
        }
    }
}
