//! A message as Spaces clients write it, over REST or the socket, read into the core's
//! typed `NewMessage` parts. Shared by both transports so they read it the same way.

use plaza_core::messages::MessageContent;
use plaza_core::{CoreError, MessageCategory};
use serde_json::{Map, Value};

/// Fields some clients put at the top level of the payload instead of in `content`.
const TOP_LEVEL_FALLBACKS: [&str; 6] =
    ["bodyText", "description", "assignees", "dueDate", "status", "mentions"];

/// The content of a new message: `content`, completed by the top-level fallbacks that
/// `content` lacks (clients send them empty at the top level, so only a real value
/// counts), then read for `category`.
pub fn content(
    mut content: Map<String, Value>,
    top_level: &Map<String, Value>,
    category: MessageCategory,
) -> Result<MessageContent, CoreError> {
    for key in TOP_LEVEL_FALLBACKS {
        if content.contains_key(key) {
            continue;
        }
        let Some(value) = top_level.get(key).filter(|v| !v.is_null()) else { continue };
        let empty = value.as_str().is_some_and(str::is_empty)
            || value.as_array().is_some_and(Vec::is_empty);
        if !empty {
            content.insert(key.to_owned(), value.clone());
        }
    }
    MessageContent::from_document(content, category)
}

/// The category a client names (`chat` when it names none).
pub fn category(name: Option<&str>) -> Result<MessageCategory, CoreError> {
    MessageCategory::parse(name.unwrap_or("chat"))
        .filter(|c| MessageCategory::WRITTEN.contains(c))
        .ok_or_else(|| CoreError::invalid("category", "must be chat, idea or task"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn top_level_fields_fill_in_what_content_lacks() {
        let id = plaza_core::ObjectId::new().to_string();
        let task = content(
            object(json!({"bodyText": "Ship"})),
            &object(json!({"assignees": [id], "status": "complete", "bodyText": "ignored"})),
            MessageCategory::Task,
        )
        .unwrap();
        assert_eq!(task.body_text, "Ship");
        assert_eq!(task.task.unwrap().assignees[0].to_string(), id);
        let empty_top = content(
            object(json!({"bodyText": "  "})),
            &object(json!({"bodyText": ""})),
            MessageCategory::Chat,
        );
        assert!(empty_top.is_err(), "an empty top-level text does not count");
        let from_top =
            content(Map::new(), &object(json!({"bodyText": "hi"})), MessageCategory::Chat);
        assert_eq!(from_top.unwrap().body_text, "hi");
    }

    #[test]
    fn categories_are_the_written_ones() {
        assert_eq!(category(None).unwrap(), MessageCategory::Chat);
        assert_eq!(category(Some("task")).unwrap(), MessageCategory::Task);
        assert!(category(Some("meeting")).is_err());
        assert!(category(Some("poll")).is_err());
    }
}
