//! Stored spaces, memberships and invitations.

use crate::{ObjectId, Timestamp};

/// What kind of space this is; fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpaceKind {
    Group,
    /// Exactly two members, chat only.
    Direct,
    /// A user's personal meeting room, one per user.
    Personal,
}

impl SpaceKind {
    pub const ALL: [SpaceKind; 3] = [SpaceKind::Group, SpaceKind::Direct, SpaceKind::Personal];

    pub fn as_str(self) -> &'static str {
        match self {
            SpaceKind::Group => "group",
            SpaceKind::Direct => "direct",
            SpaceKind::Personal => "personal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        SpaceKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// `status` on the wire: 0 normal, 1 archived, 2 deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpaceStatus {
    Active,
    Archived,
    Deleted,
}

impl SpaceStatus {
    pub const ALL: [SpaceStatus; 3] =
        [SpaceStatus::Active, SpaceStatus::Archived, SpaceStatus::Deleted];

    pub fn code(self) -> i64 {
        match self {
            SpaceStatus::Active => 0,
            SpaceStatus::Archived => 1,
            SpaceStatus::Deleted => 2,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        SpaceStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A stored space.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceRecord {
    pub id: ObjectId,
    pub kind: SpaceKind,
    pub title: String,
    pub description: String,
    pub status: SpaceStatus,
    /// The `settings` object clients read (PIN, memberOnly, media options, ...).
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// The `restrict` list, e.g. `deny_guest_access_history_msg`.
    pub restrict: Vec<String>,
    /// The creator (`cid`); for personal spaces, the owner.
    pub creator_id: ObjectId,
    /// Makes get-or-create race-free: `direct:<id>:<id>` (sorted) or `personal:<owner>`.
    pub unique_key: Option<String>,
    pub created: Timestamp,
    pub modified: Timestamp,
}

/// A member's role in a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    Member,
    Guest,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Member, Role::Guest];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Guest => "guest",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Where a user stands with a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MembershipState {
    Active,
    /// Removed by someone else: "deleted" for that user in listings, and kept out.
    Kicked,
    /// Left of their own accord: gone from their listings, free to come back by link.
    Left,
}

impl MembershipState {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipState::Active => "active",
            MembershipState::Kicked => "kicked",
            MembershipState::Left => "left",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(MembershipState::Active),
            "kicked" => Some(MembershipState::Kicked),
            "left" => Some(MembershipState::Left),
            _ => None,
        }
    }
}

/// One user's relation to one space, with their per-user view of it.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipRecord {
    pub space_id: ObjectId,
    pub user_id: ObjectId,
    pub role: Role,
    pub state: MembershipState,
    /// Guests read only what was created after this.
    pub join_time: Timestamp,
    pub hidden: bool,
    pub is_pinned: Option<bool>,
    pub notification: Option<bool>,
    pub unread_count: i64,
    pub messages_last_read_time: Option<Timestamp>,
    pub last_access: Timestamp,
    /// The space's latest "recent activity" (copied to every membership so that each
    /// user's listing is an index range scan).
    pub activity_at: Timestamp,
    /// When the space's latest message was written, if any.
    pub last_message_at: Option<Timestamp>,
    pub modified: Timestamp,
}

impl MembershipRecord {
    /// A user who joins (or is added to) a space at `at` with `role`: active, nothing
    /// unread, and the join counting as the space's latest activity.
    pub fn joining(space_id: ObjectId, user_id: ObjectId, role: Role, at: Timestamp) -> Self {
        MembershipRecord {
            space_id,
            user_id,
            role,
            state: MembershipState::Active,
            join_time: at,
            hidden: false,
            is_pinned: None,
            notification: None,
            unread_count: 0,
            messages_last_read_time: Some(at),
            last_access: at,
            activity_at: at,
            last_message_at: None,
            modified: at,
        }
    }

    /// This membership after the user is (re)admitted with `role` at `at`: an active
    /// member keeps the higher of the two roles, a removed one comes back with `role`.
    pub fn readmitted(self, role: Role, at: Timestamp) -> Self {
        match self.state {
            MembershipState::Active => {
                MembershipRecord { role: self.role.min(role), modified: at, ..self }
            }
            MembershipState::Kicked | MembershipState::Left => MembershipRecord {
                role,
                state: MembershipState::Active,
                join_time: at,
                modified: at,
                ..self
            },
        }
    }
}

/// A change to a member's standing, made under the space's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    SetRole(Role),
    /// Remove the member (kicked or left), if their role is still `only_if` when set.
    Remove {
        state: MembershipState,
        only_if: Option<Role>,
    },
}

/// What became of a [`MemberChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChangeOutcome {
    Done,
    /// Refused: the space would have no active admin left.
    LastAdmin,
    /// Refused: the member's role changed before the change could apply.
    RoleChanged,
}

/// A pending or accepted invitation to a space.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationRecord {
    pub id: ObjectId,
    pub space_id: ObjectId,
    /// `email` or `userId`.
    pub invitee_type: String,
    /// Lower-case email, or a user id.
    pub invitee: String,
    pub role: Role,
    pub invited_by: ObjectId,
    pub created: Timestamp,
    pub accepted_by: Option<ObjectId>,
    pub accepted_at: Option<Timestamp>,
}

/// Which memberships a listing wants.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingFilter {
    pub kinds: Vec<SpaceKind>,
    pub statuses: Vec<SpaceStatus>,
    pub pinned_only: bool,
    /// Include kicked memberships, hidden spaces, and archived spaces the user does not
    /// administer.
    pub include_deleted: bool,
    /// Only spaces with activity (or a membership change) after this.
    pub after: Option<Timestamp>,
    /// Order by last message time instead of recent activity.
    pub by_last_message: bool,
}

/// A position in a listing: the sort time and id of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingCursor {
    pub time: i64,
    pub id: ObjectId,
}

/// How to page a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingPage {
    /// Skip this many items (the deprecated `page` parameter).
    Offset(u32),
    /// Items after this one, in listing order.
    After(Option<ListingCursor>),
    /// Items before this one, returned in listing order.
    Before(ListingCursor),
}

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageCategory {
    Chat,
    /// A post.
    Idea,
    Task,
    /// A meeting's record in the space's history, written by the server (its id is the
    /// meeting's id) and kept up to date as the meeting runs.
    Meeting,
}

impl MessageCategory {
    pub const ALL: [MessageCategory; 4] = [
        MessageCategory::Chat,
        MessageCategory::Idea,
        MessageCategory::Task,
        MessageCategory::Meeting,
    ];

    /// What people write; meeting records come from the server alone.
    pub const WRITTEN: [MessageCategory; 3] =
        [MessageCategory::Chat, MessageCategory::Idea, MessageCategory::Task];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageCategory::Chat => "chat",
            MessageCategory::Idea => "idea",
            MessageCategory::Task => "task",
            MessageCategory::Meeting => "meeting",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        MessageCategory::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// A stored chat message, post or task.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: ObjectId,
    pub space_id: ObjectId,
    pub category: MessageCategory,
    pub sender_id: ObjectId,
    /// `content` as clients read it: bodyText, description, data[], assignees, ...
    pub content: serde_json::Map<String, serde_json::Value>,
    /// The post or task this message comments on.
    pub parent_id: Option<ObjectId>,
    /// Comments on this post or task.
    pub chat_count: i64,
    pub deleted: bool,
    pub created: Timestamp,
    pub modified: Timestamp,
}

impl MessageRecord {
    /// What a text search matches: the lowercased title and description.
    pub fn search_text(&self) -> String {
        let text = |key: &str| {
            self.content.get(key).and_then(serde_json::Value::as_str).unwrap_or("").to_lowercase()
        };
        let (body, description) = (text("bodyText"), text("description"));
        if description.is_empty() { body } else { format!("{body}\n{description}") }
    }

    /// Whether the message carries file attachments.
    pub fn has_files(&self) -> bool {
        self.content
            .get("data")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|files| !files.is_empty())
    }

    /// A task's status (`pending` or `completed`); `None` for other categories.
    pub fn task_status(&self) -> Option<&str> {
        (self.category == MessageCategory::Task)
            .then(|| self.content.get("status").and_then(serde_json::Value::as_str))
            .flatten()
    }

    /// The users a task is assigned to.
    pub fn assignee_ids(&self) -> Vec<ObjectId> {
        let Some(assignees) = self.content.get("assignees").and_then(serde_json::Value::as_array)
        else {
            return Vec::new();
        };
        let mut ids: Vec<ObjectId> = assignees
            .iter()
            .filter_map(|a| a.get("_id").and_then(serde_json::Value::as_str))
            .filter_map(|id| id.parse().ok())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

impl MessageRecord {
    /// The file keys the message's attachments name (`fileId` and `thumbnailFile`).
    pub fn file_keys(&self) -> Vec<String> {
        attached_file_keys(&self.content)
    }
}

/// The file keys a message content's attachments name (`data[].fileId` and
/// `thumbnailFile`): the files readers of that message may read.
pub fn attached_file_keys(content: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let Some(files) = content.get("data").and_then(serde_json::Value::as_array) else {
        return Vec::new();
    };
    // Only native items name files stored here; another provider's item is a link
    // whose ids are that provider's, and never makes one of our files readable.
    let native = |f: &&serde_json::Value| {
        f.get("provider").and_then(serde_json::Value::as_str).is_none_or(|p| p == "native")
    };
    let mut keys: Vec<String> = files
        .iter()
        .filter(native)
        .flat_map(|f| ["fileId", "thumbnailFile"].map(|k| f.get(k)))
        .filter_map(|k| k.and_then(serde_json::Value::as_str))
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Whose messages a query reads.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageScope {
    /// These spaces, each readable from the given time on (a guest's join time) or
    /// entirely.
    Spaces(Vec<(ObjectId, Option<Timestamp>)>),
    /// Every space where this user is an active member, guests seeing only what came
    /// after they joined; deleted spaces never.
    MemberOf(ObjectId),
}

/// Where a message sits in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread {
    /// Not a comment.
    TopLevel,
    /// Comments on this post or task.
    CommentsOn(ObjectId),
    /// Comments on posts, or on tasks.
    CommentsOnCategory(MessageCategory),
    /// Anything.
    Any,
}

/// The key a query sorts and pages by (with the message id breaking ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOrder {
    Created,
    Modified,
    /// The order the messages of a space were stored in (commit order). With it,
    /// `after` names a message by its id alone: its time is not looked at.
    Stored,
}

/// A filtered, keyset-paged read of messages.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageQuery {
    pub scope: MessageScope,
    pub categories: Vec<MessageCategory>,
    pub thread: Thread,
    pub files_only: bool,
    /// A substring the lowercased title or description must contain.
    pub search: Option<String>,
    pub include_deleted: bool,
    pub sender: Option<ObjectId>,
    /// Only tasks assigned to this user.
    pub assignee: Option<ObjectId>,
    /// Only tasks with this status.
    pub task_status: Option<String>,
    pub order: MessageOrder,
    /// Only messages strictly after this `(key, id)` position.
    pub after: Option<(Timestamp, ObjectId)>,
    /// Only messages strictly before this `(key, id)` position.
    pub before: Option<(Timestamp, ObjectId)>,
    /// Which end of the range the page is taken from, and its order.
    pub newest_first: bool,
    pub limit: u32,
}

impl MessageQuery {
    /// Everything top-level in `scope`, newest first.
    pub fn new(scope: MessageScope, limit: u32) -> Self {
        MessageQuery {
            scope,
            categories: MessageCategory::ALL.to_vec(),
            thread: Thread::TopLevel,
            files_only: false,
            search: None,
            include_deleted: false,
            sender: None,
            assignee: None,
            task_status: None,
            order: MessageOrder::Created,
            after: None,
            before: None,
            newest_first: true,
            limit,
        }
    }

    /// Everything top-level in one space, newest first.
    pub fn in_space(space_id: ObjectId, since: Option<Timestamp>, limit: u32) -> Self {
        MessageQuery::new(MessageScope::Spaces(vec![(space_id, since)]), limit)
    }
}
