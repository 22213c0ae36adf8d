//! The Spaces envelopes around answers: `{data}` and pages of a list.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `{data: ...}`: the Spaces envelope.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Data<T> {
    pub data: T,
}

impl<T> Data<T> {
    pub fn new(data: T) -> Self {
        Data { data }
    }
}

/// A page of a list: `nextPageUrl` and `previousPageUrl` are empty strings at the ends
/// (and absent from lists that do not page that way).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// The number of entries: on this page, or in the whole list where the operation
    /// says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// The next (older) page's URL; empty on the last page.
    #[serde(rename = "nextPageUrl", skip_serializing_if = "Option::is_none")]
    pub next_page_url: Option<String>,
    /// The previous (newer) page's URL; empty on the first page.
    #[serde(rename = "previousPageUrl", skip_serializing_if = "Option::is_none")]
    pub previous_page_url: Option<String>,
    /// The space listing by page number: the first entry's position on this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<u32>,
    /// The space listing by page number: the last entry's position on this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<u32>,
    /// `/api/users/me/messages`: the spaces asked for that the caller cannot read.
    #[serde(rename = "skippedSpaces", skip_serializing_if = "Option::is_none")]
    pub skipped_spaces: Option<Vec<String>>,
    /// A post's or task's comments: the parent's `chatCount`.
    #[serde(rename = "chatCount", skip_serializing_if = "Option::is_none")]
    pub chat_count: Option<i64>,
}

impl<T> Page<T> {
    /// A page of `data` with nothing else set.
    pub fn of(data: Vec<T>) -> Self {
        Page {
            data,
            total: None,
            next_page_url: None,
            previous_page_url: None,
            from: None,
            to: None,
            skipped_spaces: None,
            chat_count: None,
        }
    }

    /// With `total` set to the number of entries on this page.
    pub fn counted(data: Vec<T>) -> Self {
        let total = Some(data.len() as u64);
        Page { total, ..Page::of(data) }
    }

    pub fn total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }

    pub fn next(mut self, url: String) -> Self {
        self.next_page_url = Some(url);
        self
    }

    pub fn previous(mut self, url: String) -> Self {
        self.previous_page_url = Some(url);
        self
    }
}

/// `{status}` of the probes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Status {
    /// `ok` (`/health`) or `ready` (`/ready`).
    pub status: String,
}

/// A JSON object whose fields the operation's description names.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(transparent)]
pub struct JsonObject(pub Map<String, Value>);
