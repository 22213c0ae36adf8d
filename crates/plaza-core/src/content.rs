//! A message's content: the fields Plaza reads, typed, and every other field kept as
//! the client wrote it (Spaces content is open: clients add their own fields).
//!
//! The stored form is a JSON document (`MessageRecord::content`); `from_document` reads
//! one (a client's, once the transport has gathered it, or a stored one being edited)
//! and `into_document` writes it back. A field Plaza reads is typed only when it has the
//! type Plaza reads it as; otherwise it passes through untouched, as it always did.

use plaza_db::{MessageCategory, ObjectId, Timestamp};
use serde_json::{Map, Value, json};

use crate::{CoreError, CoreResult};

/// Attachments per message at most.
pub const MAX_ATTACHMENTS: usize = 20;
/// Assignees per task at most.
const MAX_ASSIGNEES: usize = 100;

/// What a chat message, post or task says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageContent {
    /// `bodyText`: the text; empty only when files are attached.
    pub body_text: String,
    /// `description`: the longer text of a post or task.
    pub description: String,
    /// `data`: the files attached.
    pub attachments: Vec<Attachment>,
    /// `mentions`, as the client lists them (ids or `{_id}` objects).
    pub mentions: Option<Vec<Value>>,
    /// A task's own fields (tasks only; other categories keep such fields in `other`).
    pub task: Option<TaskFields>,
    /// Every other field, as sent.
    pub other: Map<String, Value>,
}

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Pending,
    Completed,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Completed => "completed",
        }
    }
}

/// What a task adds to a message.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFields {
    pub assignees: Vec<ObjectId>,
    /// `dueDate`, as sent: empty, or an ISO-8601 time.
    pub due_date: Option<String>,
    pub status: TaskState,
}

/// One attached file (`content.data[i]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attachment {
    /// `native` (stored here) when absent; otherwise another provider's file.
    pub provider: Option<String>,
    /// The storage key of the file (`fileId`).
    pub file_id: Option<String>,
    /// The storage key of its thumbnail.
    pub thumbnail_file: Option<String>,
    pub file_size: Option<i64>,
    /// `image`, `video`, `audio` or `document` (some clients send a MIME type).
    pub file_type: Option<String>,
    /// The MIME type.
    pub provider_file_type: Option<String>,
    pub name: Option<String>,
    /// Every other field (`path`, `width`, ...), as sent.
    pub other: Map<String, Value>,
}

impl Attachment {
    /// Whether the file is stored here (and so must be the sender's finished upload).
    pub fn is_native(&self) -> bool {
        self.provider.as_deref().is_none_or(|p| p == "native")
    }

    fn from_document(mut item: Map<String, Value>) -> Attachment {
        let mut text = |key: &str| take_if(&mut item, key, |v| v.as_str().map(str::to_owned));
        let provider = text("provider");
        let file_id = text("fileId");
        let thumbnail_file = text("thumbnailFile");
        let file_type = text("fileType");
        let provider_file_type = text("providerFileType");
        let name = text("name");
        let file_size = take_if(&mut item, "fileSize", Value::as_i64);
        Attachment {
            provider,
            file_id,
            thumbnail_file,
            file_size,
            file_type,
            provider_file_type,
            name,
            other: item,
        }
    }

    fn into_document(self) -> Value {
        let mut item = self.other;
        let fields = [
            ("provider", self.provider),
            ("fileId", self.file_id),
            ("thumbnailFile", self.thumbnail_file),
            ("fileType", self.file_type),
            ("providerFileType", self.provider_file_type),
            ("name", self.name),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                item.insert(key.to_owned(), json!(value));
            }
        }
        if let Some(size) = self.file_size {
            item.insert("fileSize".to_owned(), json!(size));
        }
        Value::Object(item)
    }
}

/// Removes `key` from `map` when `read` accepts its value; otherwise leaves it there.
fn take_if<T>(
    map: &mut Map<String, Value>,
    key: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Option<T> {
    let value = map.get(key).and_then(read)?;
    map.remove(key);
    Some(value)
}

/// A text field: absent or null reads as empty.
fn text_field(document: &mut Map<String, Value>, key: &str) -> CoreResult<String> {
    match document.remove(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(CoreError::invalid(format!("content.{key}"), "must be a string")),
    }
}

/// Task assignees as ids, from bare ids or `{_id}` objects (both forms are sent).
fn assignees(value: &Value) -> CoreResult<Vec<ObjectId>> {
    let invalid =
        || CoreError::invalid("content.assignees", "must be a list of user ids or {_id} objects");
    let items = value.as_array().ok_or_else(invalid)?;
    if items.len() > MAX_ASSIGNEES {
        return Err(CoreError::invalid(
            "content.assignees",
            format!("at most {MAX_ASSIGNEES} assignees"),
        ));
    }
    items
        .iter()
        .map(|item| {
            let id = item.as_str().or_else(|| item.get("_id").and_then(Value::as_str));
            id.and_then(|id| id.parse().ok()).ok_or_else(invalid)
        })
        .collect()
}

fn task_fields(document: &mut Map<String, Value>) -> CoreResult<TaskFields> {
    let assignees = match document.remove("assignees") {
        None => Vec::new(),
        Some(value) => assignees(&value)?,
    };
    let due_date = match document.get("dueDate") {
        None | Some(Value::Null) => None,
        Some(Value::String(date)) if date.is_empty() || Timestamp::parse(date).is_ok() => {
            take_if(document, "dueDate", |v| v.as_str().map(str::to_owned))
        }
        Some(_) => return Err(CoreError::invalid("content.dueDate", "must be an ISO-8601 time")),
    };
    let status = match document.remove("status").as_ref().and_then(Value::as_str) {
        None | Some("" | "pending") => TaskState::Pending,
        Some("completed" | "complete") => TaskState::Completed,
        Some(_) => {
            return Err(CoreError::invalid("content.status", "must be pending or completed"));
        }
    };
    Ok(TaskFields { assignees, due_date, status })
}

impl MessageContent {
    /// Reads and checks a content document for a message of `category`.
    pub fn from_document(
        mut document: Map<String, Value>,
        category: MessageCategory,
    ) -> CoreResult<MessageContent> {
        let body_text = text_field(&mut document, "bodyText")?;
        let description = text_field(&mut document, "description")?;
        let attachments = match document.remove("data") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items))
                if items.len() <= MAX_ATTACHMENTS && items.iter().all(Value::is_object) =>
            {
                items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Object(item) => Some(Attachment::from_document(item)),
                        _ => None,
                    })
                    .collect()
            }
            Some(_) => {
                return Err(CoreError::invalid(
                    "content.data",
                    format!("must be a list of at most {MAX_ATTACHMENTS} file objects"),
                ));
            }
        };
        if body_text.trim().is_empty() && attachments.is_empty() {
            return Err(CoreError::invalid(
                "content.bodyText",
                "a message needs text or an attachment",
            ));
        }
        let mentions = match document.remove("mentions") {
            None => None,
            Some(Value::Array(list)) => Some(list),
            Some(_) => return Err(CoreError::invalid("content.mentions", "must be a list")),
        };
        let task = match category {
            MessageCategory::Task => Some(task_fields(&mut document)?),
            _ => None,
        };
        Ok(MessageContent { body_text, description, attachments, mentions, task, other: document })
    }

    /// The stored form: every field the client sent, with Plaza's fields normalised.
    pub fn into_document(self) -> Map<String, Value> {
        let mut document = self.other;
        document.insert("bodyText".to_owned(), json!(self.body_text));
        document.insert("description".to_owned(), json!(self.description));
        let data: Vec<Value> =
            self.attachments.into_iter().map(Attachment::into_document).collect();
        document.insert("data".to_owned(), Value::Array(data));
        if let Some(mentions) = self.mentions {
            document.insert("mentions".to_owned(), Value::Array(mentions));
        }
        if let Some(task) = self.task {
            let assignees: Vec<Value> =
                task.assignees.iter().map(|id| json!({"_id": id})).collect();
            document.insert("assignees".to_owned(), Value::Array(assignees));
            if let Some(due) = task.due_date {
                document.insert("dueDate".to_owned(), json!(due));
            }
            document.insert("status".to_owned(), json!(task.status.as_str()));
        }
        document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(document: Value, category: MessageCategory) -> CoreResult<MessageContent> {
        let Value::Object(document) = document else { unreachable!("an object") };
        MessageContent::from_document(document, category)
    }

    #[test]
    fn task_content_is_normalised_and_checked() {
        let id = ObjectId::new().to_string();
        let task = read(
            json!({"bodyText": "Ship", "assignees": [id], "dueDate": "2026-12-01T00:00:00.000Z", "status": "complete"}),
            MessageCategory::Task,
        )
        .unwrap()
        .into_document();
        assert_eq!(task["assignees"], json!([{"_id": id}]));
        assert_eq!(task["status"], "completed");
        assert_eq!(task["description"], "");
        assert_eq!(task["data"], json!([]));
        let field = |document: Value, category| read(document, category).unwrap_err().fields;
        assert_eq!(
            field(json!({"bodyText": "x", "dueDate": "soon"}), MessageCategory::Task)[0].field,
            "content.dueDate"
        );
        assert_eq!(
            field(json!({"bodyText": "x", "assignees": ["nope"]}), MessageCategory::Task)[0].field,
            "content.assignees"
        );
        assert_eq!(
            field(json!({"bodyText": "  "}), MessageCategory::Chat)[0].field,
            "content.bodyText"
        );
        assert_eq!(
            field(json!({"bodyText": 5}), MessageCategory::Chat)[0].field,
            "content.bodyText"
        );
        assert_eq!(
            field(json!({"bodyText": "x", "mentions": "bob"}), MessageCategory::Chat)[0].field,
            "content.mentions"
        );
    }

    #[test]
    fn other_categories_keep_task_fields_and_unknown_fields_as_sent() {
        let chat = json!({"bodyText": "hi", "status": 7, "dueDate": "soon", "custom": {"a": 1}});
        let document = read(chat, MessageCategory::Chat).unwrap().into_document();
        assert_eq!(document["status"], 7);
        assert_eq!(document["dueDate"], "soon");
        assert_eq!(document["custom"], json!({"a": 1}));
    }

    #[test]
    fn attachments_are_typed_where_their_fields_have_the_right_type() {
        let files = read(
            json!({"data": [{"fileId": "k", "fileType": 3, "path": "/x", "fileSize": 12}]}),
            MessageCategory::Chat,
        )
        .unwrap();
        assert_eq!(files.body_text, "");
        let file = &files.attachments[0];
        assert!(file.is_native());
        assert_eq!(file.file_id.as_deref(), Some("k"));
        assert_eq!(file.file_type, None, "not a string: passed through");
        assert_eq!(file.file_size, Some(12));
        let round = files.clone().into_document();
        assert_eq!(
            round["data"],
            json!([{"fileId": "k", "fileType": 3, "path": "/x", "fileSize": 12}])
        );
        let too_many = json!({"data": vec![json!({}); MAX_ATTACHMENTS + 1]});
        assert!(read(too_many, MessageCategory::Chat).is_err());
        assert!(read(json!({"data": ["k"]}), MessageCategory::Chat).is_err());
    }
}
