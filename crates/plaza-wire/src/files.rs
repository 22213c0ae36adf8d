//! Files and the audit log on the wire.

use plaza_core::audit::AuditRecord;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One signed upload URL: `PUT` the file's bytes there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadUrl {
    /// Absolute, signed, short-lived.
    pub url: String,
    /// The key the file is known by once uploaded (`content.data[].fileId`).
    #[serde(rename = "fileKey")]
    pub file_key: String,
}

/// A stored file, as the upload's `PUT` answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadedFile {
    #[serde(rename = "fileKey")]
    pub file_key: String,
    #[serde(rename = "contentType")]
    pub content_type: String,
    #[serde(rename = "contentLength")]
    pub content_length: i64,
    /// The thumbnail's key, for pictures the server could shrink; else `null`.
    #[serde(rename = "thumbnailFile")]
    pub thumbnail_file: Option<String>,
}

/// One signed download URL with what is known of the file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DownloadUrl {
    #[serde(rename = "fileKey")]
    pub file_key: String,
    /// Absolute, signed, short-lived.
    pub url: String,
    #[serde(rename = "contentType")]
    pub content_type: String,
    #[serde(rename = "contentLength")]
    pub content_length: i64,
    /// The file's name as uploaded; `null` when none was given.
    pub name: Option<String>,
    #[serde(rename = "thumbnailFile")]
    pub thumbnail_file: Option<String>,
}

/// `{_id, username}` of who acted; `_id` is null for failed logins and the command
/// line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditActor {
    pub _id: Option<String>,
    pub username: Option<String>,
}

/// `{type, _id}` of what was acted on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditTarget {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub _id: Option<String>,
}

/// One security event, as `GET /api/admin/audit` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEvent {
    pub _id: String,
    /// ISO-8601 UTC.
    pub at: String,
    /// `auth.login`, `auth.login.failed`, `space.member.role`, `message.delete`, ...
    pub action: String,
    pub actor: AuditActor,
    pub target: AuditTarget,
    #[serde(rename = "spaceId")]
    pub space_id: Option<String>,
    /// The client's address as the server saw it.
    pub ip: Option<String>,
    /// Action-specific facts (old and new role, client name, ...).
    pub details: Value,
}

impl AuditEvent {
    pub fn of(record: &AuditRecord) -> Self {
        AuditEvent {
            _id: record.id.to_string(),
            at: record.at.to_string(),
            action: record.action.clone(),
            actor: AuditActor {
                _id: record.actor_id.map(|id| id.to_string()),
                username: record.actor_name.clone(),
            },
            target: AuditTarget { kind: record.target_kind.clone(), _id: record.target_id.clone() },
            space_id: record.space_id.map(|id| id.to_string()),
            ip: record.client_ip.clone(),
            details: record.details.clone(),
        }
    }
}
