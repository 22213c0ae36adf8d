//! The security audit log: who did what to whom, and from where.

use crate::{ObjectId, Timestamp};

/// One security-relevant action, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Time-ordered, so newest-first paging can use it as the cursor.
    pub id: ObjectId,
    pub at: Timestamp,
    /// The acting user, when one is known (failed logins and the command line have none).
    pub actor_id: Option<ObjectId>,
    /// The actor's username at the time, or the name a failed login tried.
    pub actor_name: Option<String>,
    /// A dotted action name such as `auth.login` or `space.member.remove`.
    pub action: String,
    /// What was acted on: `user`, `space`, `message`, `client`, …
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub space_id: Option<ObjectId>,
    /// The client's address as the server saw it.
    pub client_ip: Option<String>,
    /// Action-specific facts (old and new role, client name, …); a JSON object.
    pub details: serde_json::Value,
}

/// Which audit events to list: every filter set must match; newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// An exact action, or a prefix ending in `.` (`auth.` matches `auth.login`).
    pub action: Option<String>,
    pub actor_id: Option<ObjectId>,
    pub target_id: Option<String>,
    pub space_id: Option<ObjectId>,
    /// Only events older than this one (the previous page's last id).
    pub before: Option<ObjectId>,
    pub limit: u32,
}
