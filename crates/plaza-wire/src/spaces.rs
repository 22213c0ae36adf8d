//! Spaces (topics) on the wire: the space object, its members, the listing's entries,
//! membership records and invitation outcomes.

use plaza_core::spaces::SpaceView;
use plaza_core::spaces::{InviteOutcome as CoreInviteOutcome, ListedSpace as CoreListedSpace};
use plaza_core::{
    MembershipRecord, MembershipState, ObjectId, Role, SpaceKind, SpaceRecord, SpaceStatus,
    Timestamp, UserKind, UserRecord,
};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::picture_or_default;
use crate::users::Sender;

/// A space's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SpaceType {
    Group,
    /// Exactly two members, chat only.
    Direct,
    /// A user's personal meeting room.
    Personal,
}

impl From<SpaceKind> for SpaceType {
    fn from(kind: SpaceKind) -> Self {
        match kind {
            SpaceKind::Group => SpaceType::Group,
            SpaceKind::Direct => SpaceType::Direct,
            SpaceKind::Personal => SpaceType::Personal,
        }
    }
}

/// A member's role in a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    Admin,
    Member,
    Guest,
}

impl From<Role> for MemberRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => MemberRole::Admin,
            Role::Member => MemberRole::Member,
            Role::Guest => MemberRole::Guest,
        }
    }
}

/// One entry of a space's `members`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    /// The member's user id.
    #[schema(value_type = String)]
    pub member: ObjectId,
    /// `userId`, or `anonymousId` for a guest without an account.
    #[serde(rename = "memberType")]
    #[schema(pattern = "^(userId|anonymousId)$")]
    pub member_type: String,
    pub role: MemberRole,
    #[serde(rename = "joinTime")]
    #[schema(value_type = String)]
    pub join_time: Timestamp,
    pub username: String,
    pub displayname: String,
    /// The member's picture, or this server's default one.
    pub picture_url: String,
    pub phone_numbers: Value,
}

impl Member {
    pub fn of(membership: &MembershipRecord, user: &UserRecord, base_url: &str) -> Self {
        let member_type = if user.kind == UserKind::Anonymous { "anonymousId" } else { "userId" };
        Member {
            member: user.id,
            member_type: member_type.to_owned(),
            role: membership.role.into(),
            join_time: membership.join_time,
            username: user.username.clone(),
            displayname: user.displayname.clone(),
            picture_url: picture_or_default(user.picture_url.as_ref(), base_url),
            phone_numbers: user.phone_numbers.clone(),
        }
    }
}

/// A space object (§7.2 of the catalog), as its members see it: with the caller's own
/// fields (`role` ... `lastUpdateTime`) when the caller is an active member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Space {
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// The creator's user id.
    #[schema(value_type = String)]
    pub cid: ObjectId,
    pub title: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: SpaceType,
    /// 0 active, 1 archived, 2 deleted.
    pub status: i64,
    /// The space's settings (`confPin` only for admins and members, `memberOnly`,
    /// `confId`, `msgRetention`, ...): any fields clients stored.
    pub settings: Map<String, Value>,
    /// Restrictions, such as `deny_guest_access_history_msg`.
    pub restrict: Vec<String>,
    pub members: Vec<Member>,
    #[schema(value_type = String)]
    pub created: Timestamp,
    #[schema(value_type = String)]
    pub modified: Timestamp,
    /// `settings.msgRetention`, repeated at the top when set.
    #[serde(rename = "msgRetention", skip_serializing_if = "Option::is_none")]
    pub msg_retention: Option<Value>,
    /// The caller's role (members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<MemberRole>,
    /// Whether the caller pinned the space (members only; `null`: never set).
    #[serde(rename = "isPinned", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<bool>)]
    pub is_pinned: Option<Option<bool>>,
    /// The caller's notification preference (members only; `null`: never set).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<bool>)]
    pub notification: Option<Option<bool>>,
    /// Messages the caller has not read (members only).
    #[serde(rename = "unreadMessagesCount", skip_serializing_if = "Option::is_none")]
    pub unread_messages_count: Option<i64>,
    /// When the caller last read the space (members only; may be `null`).
    #[serde(rename = "messagesLastReadTime", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub messages_last_read_time: Option<Option<Timestamp>>,
    /// When the caller last opened the space (members only).
    #[serde(rename = "lastAccess", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub last_access: Option<Timestamp>,
    /// The last activity the caller can see in the space (members only).
    #[serde(rename = "lastUpdateTime", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub last_update_time: Option<Timestamp>,
    /// Direct spaces in the listing: their newest message (`null` when none).
    #[serde(rename = "lastMessage", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<LastMessage>)]
    pub last_message: Option<Option<LastMessage>>,
}

impl Space {
    /// A space with the members given, without the caller's own fields.
    pub fn of(
        space: &SpaceRecord,
        members: &[(MembershipRecord, UserRecord)],
        base_url: &str,
    ) -> Self {
        Space {
            _id: space.id,
            cid: space.creator_id,
            title: space.title.clone(),
            description: space.description.clone(),
            kind: space.kind.into(),
            status: space.status.code(),
            settings: space.settings.clone(),
            restrict: space.restrict.clone(),
            members: members.iter().map(|(m, u)| Member::of(m, u, base_url)).collect(),
            created: space.created,
            modified: space.modified,
            msg_retention: space.settings.get("msgRetention").cloned(),
            role: None,
            is_pinned: None,
            notification: None,
            unread_messages_count: None,
            messages_last_read_time: None,
            last_access: None,
            last_update_time: None,
            last_message: None,
        }
    }

    /// The PIN (`settings.confPin`) is for admins and members, who hand it to guests;
    /// guests and outsiders never read it back.
    fn hide_pin_unless_insider(&mut self, me: Option<&MembershipRecord>) {
        let insider = me.is_some_and(|m| {
            m.state == MembershipState::Active && matches!(m.role, Role::Admin | Role::Member)
        });
        if !insider {
            self.settings.remove("confPin");
        }
    }

    /// The caller's per-user fields.
    fn overlay(&mut self, membership: &MembershipRecord) {
        self.role = Some(membership.role.into());
        self.is_pinned = Some(membership.is_pinned);
        self.notification = Some(membership.notification);
        self.unread_messages_count = Some(membership.unread_count);
        self.messages_last_read_time = Some(membership.messages_last_read_time);
        self.last_access = Some(membership.last_access);
        self.last_update_time = Some(membership.activity_at);
    }
}

/// What someone outside a space who could join it sees of it: enough to decide to join
/// (title, type, status), nothing of who is in it or how it is set up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpacePreview {
    #[schema(value_type = String)]
    pub _id: ObjectId,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: SpaceType,
    /// 0 active, 1 archived, 2 deleted.
    pub status: i64,
    /// Always empty.
    pub members: Vec<Member>,
    /// Always empty.
    pub settings: Map<String, Value>,
    /// Always true.
    pub preview: bool,
}

impl SpacePreview {
    pub fn of(space: &SpaceRecord) -> Self {
        SpacePreview {
            _id: space.id,
            title: space.title.clone(),
            kind: space.kind.into(),
            status: space.status.code(),
            members: Vec::new(),
            settings: Map::new(),
            preview: true,
        }
    }
}

/// A space as `GET /api/spaces/{id}`, join and the other single-space answers show
/// it: the whole space to its members, a preview to anyone else.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SpaceAnswer {
    Full(Box<Space>),
    Preview(SpacePreview),
}

impl SpaceAnswer {
    pub fn of(view: &SpaceView, base_url: &str) -> Self {
        let Some(me) = view.me.as_ref().filter(|m| m.state == MembershipState::Active) else {
            return SpaceAnswer::Preview(SpacePreview::of(&view.space));
        };
        let mut space = Space::of(&view.space, &view.members, base_url);
        space.hide_pin_unless_insider(Some(me));
        space.overlay(me);
        SpaceAnswer::Full(Box::new(space))
    }
}

/// `anyOf` two schemas (the shapes overlap, so `oneOf` would be wrong).
fn any_of(description: &str, names: &[&str]) -> RefOr<Schema> {
    let mut builder = AnyOfBuilder::new().description(Some(description));
    for name in names {
        builder = builder.item(Ref::from_schema_name(*name));
    }
    RefOr::T(Schema::AnyOf(builder.build()))
}

// What utoipa's derive writes (it also makes the type a `PartialSchema`, and lets it be
// a generic argument, as in `Data<SpaceAnswer>`).
impl utoipa::__dev::ComposeSchema for SpaceAnswer {
    fn compose(_: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        any_of(
            "A space: the whole object to members, a preview to others",
            &["Space", "SpacePreview"],
        )
    }
}

impl ToSchema for SpaceAnswer {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Space::name().into(), Space::schema()));
        Space::schemas(schemas);
        schemas.push((SpacePreview::name().into(), SpacePreview::schema()));
        SpacePreview::schemas(schemas);
    }
}

/// A deleted space, or one the caller was removed from, as the listing shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovedSpace {
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// Always 2 (deleted).
    pub status: i64,
    #[serde(rename = "lastAccess")]
    #[schema(value_type = String)]
    pub last_access: Timestamp,
    #[serde(rename = "lastUpdateTime")]
    #[schema(value_type = String)]
    pub last_update_time: Timestamp,
    #[schema(value_type = String)]
    pub modified: Timestamp,
}

/// The newest message of a direct space, in the listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastMessage {
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// `chat`, `idea`, `task` or `meeting`.
    pub category: String,
    pub content: LastMessageContent,
}

/// What the listing shows of a last message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastMessageContent {
    /// The message's `content.bodyText` as stored (a string from every client that
    /// follows the API; `null` when it has none).
    #[serde(rename = "bodyText")]
    pub body_text: Value,
    /// The message's `content.description` as stored (`null` when it has none).
    pub description: Value,
    #[schema(value_type = String)]
    pub created: Timestamp,
    #[schema(value_type = String)]
    pub modified: Timestamp,
    pub sender: Sender,
}

/// A listing entry (`GET /api/users/me/spaces`): the space with the caller's own fields;
/// deleted spaces and spaces the caller was removed from are trimmed.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ListedSpace {
    Full(Box<Space>),
    Removed(RemovedSpace),
}

impl ListedSpace {
    pub fn of(item: &CoreListedSpace, base_url: &str) -> Self {
        let removed = item.membership.state == MembershipState::Kicked;
        if removed || item.space.status == SpaceStatus::Deleted {
            return ListedSpace::Removed(RemovedSpace {
                _id: item.space.id,
                status: SpaceStatus::Deleted.code(),
                last_access: item.membership.last_access,
                last_update_time: item.membership.activity_at,
                modified: item.space.modified.max(item.membership.modified),
            });
        }
        let mut space = Space::of(&item.space, &item.members, base_url);
        space.hide_pin_unless_insider(Some(&item.membership));
        space.overlay(&item.membership);
        if item.space.kind == SpaceKind::Direct {
            space.last_message = Some(item.last_message.as_ref().map(|(message, sender)| {
                let text = |key: &str| message.content.get(key).cloned().unwrap_or(Value::Null);
                LastMessage {
                    _id: message.id,
                    category: message.category.as_str().to_owned(),
                    content: LastMessageContent {
                        body_text: text("bodyText"),
                        description: text("description"),
                        created: message.created,
                        modified: message.modified,
                        sender: Sender::of(sender, base_url),
                    },
                }
            }));
        }
        ListedSpace::Full(Box::new(space))
    }
}

impl utoipa::__dev::ComposeSchema for ListedSpace {
    fn compose(_: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        any_of(
            "A listing entry: the space, or a deleted or left one trimmed to its times",
            &["Space", "RemovedSpace"],
        )
    }
}

impl ToSchema for ListedSpace {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Space::name().into(), Space::schema()));
        Space::schemas(schemas);
        schemas.push((RemovedSpace::name().into(), RemovedSpace::schema()));
        RemovedSpace::schemas(schemas);
    }
}

/// `{topic}`: the space just joined.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Joined {
    pub topic: SpaceAnswer,
}

/// A membership record, as the hide and unhide endpoints answer it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembershipEntry {
    /// `<spaceId>:<userId>`.
    pub _id: String,
    /// The space's status, or 4 while the caller hides it.
    pub status: i64,
    pub unread: i64,
    #[serde(rename = "targetId")]
    #[schema(value_type = String)]
    pub target_id: ObjectId,
    /// Always `topic`.
    #[serde(rename = "targetType")]
    pub target_type: String,
    #[serde(rename = "userId")]
    #[schema(value_type = String)]
    pub user_id: ObjectId,
    /// Always `user`.
    #[serde(rename = "userType")]
    pub user_type: String,
    #[serde(rename = "lastAccess")]
    #[schema(value_type = String)]
    pub last_access: Timestamp,
    pub role: MemberRole,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: SpaceType,
    #[serde(rename = "messagesLastReadTime")]
    #[schema(value_type = Option<String>)]
    pub messages_last_read_time: Option<Timestamp>,
    #[serde(rename = "isPinned")]
    pub is_pinned: Option<bool>,
    pub notification: Option<bool>,
}

impl MembershipEntry {
    pub fn of(space: &SpaceRecord, membership: &MembershipRecord) -> Self {
        MembershipEntry {
            _id: format!("{}:{}", space.id, membership.user_id),
            status: if membership.hidden { 4 } else { space.status.code() },
            unread: membership.unread_count,
            target_id: space.id,
            target_type: "topic".to_owned(),
            user_id: membership.user_id,
            user_type: "user".to_owned(),
            last_access: membership.last_access,
            role: membership.role.into(),
            title: space.title.clone(),
            kind: space.kind.into(),
            messages_last_read_time: membership.messages_last_read_time,
            is_pinned: membership.is_pinned,
            notification: membership.notification,
        }
    }
}

/// One entry of an invite answer: a user added at once, or an email invitation pending.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InviteOutcome {
    #[serde(rename = "topicId")]
    #[schema(value_type = String)]
    pub topic_id: ObjectId,
    /// The invitation's id (pending invitations only).
    #[serde(rename = "inviteId", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub invite_id: Option<ObjectId>,
    /// `userId` or `email`.
    #[serde(rename = "inviteeType")]
    pub invitee_type: String,
    /// The user id or the email address.
    pub invitee: String,
    pub role: MemberRole,
    /// `added` or `pending`.
    pub status: String,
    /// The API call that accepts the invitation (pending only).
    #[serde(rename = "joinUrl", skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
    /// The page a person opens, the mail's link (pending only).
    #[serde(rename = "webUrl", skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    /// Whether the server emailed the link (pending only).
    #[serde(rename = "mailSent", skip_serializing_if = "Option::is_none")]
    pub mail_sent: Option<bool>,
    /// Why no email went out, when `mailSent` is false.
    #[serde(rename = "mailError", skip_serializing_if = "Option::is_none")]
    pub mail_error: Option<String>,
    /// A ready-made link, when the request asked for `html`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

impl InviteOutcome {
    pub fn of(
        space_id: ObjectId,
        outcome: &CoreInviteOutcome,
        base_url: &str,
        with_html: bool,
    ) -> Self {
        match outcome {
            CoreInviteOutcome::Added { user, role } => InviteOutcome {
                topic_id: space_id,
                invite_id: None,
                invitee_type: "userId".to_owned(),
                invitee: user.id.to_string(),
                role: (*role).into(),
                status: "added".to_owned(),
                join_url: None,
                web_url: None,
                mail_sent: None,
                mail_error: None,
                html: None,
            },
            CoreInviteOutcome::Pending { invitation, mail } => {
                // The page a person opens (the mail's link); `joinUrl` stays the API call
                // that Spaces clients make.
                let web = format!("{base_url}/#/invite/{}", invitation.id);
                InviteOutcome {
                    topic_id: space_id,
                    invite_id: Some(invitation.id),
                    invitee_type: "email".to_owned(),
                    invitee: invitation.invitee.clone(),
                    role: invitation.role.into(),
                    status: "pending".to_owned(),
                    join_url: Some(format!("{base_url}/api/spaces/invites/{}/join", invitation.id)),
                    html: with_html.then(|| format!("<a href=\"{web}\">Join the space</a>")),
                    web_url: Some(web),
                    mail_sent: Some(mail.sent()),
                    mail_error: mail.problem().map(str::to_owned),
                }
            }
        }
    }
}

/// The first entry of an invite answer: the space itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitedSpace {
    #[serde(rename = "topicId")]
    #[schema(value_type = String)]
    pub topic_id: ObjectId,
    pub topic: SpaceAnswer,
}

/// An entry of an invite answer: the space first, then one outcome per invitee.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum InviteEntry {
    Space(InvitedSpace),
    Outcome(InviteOutcome),
}

/// `DELETE /api/spaces/{id}`: the space's new status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeletedSpace {
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// 2 (deleted).
    pub status: i64,
    #[schema(value_type = String)]
    pub modified: Timestamp,
}

/// A member whose role changed, or who was removed (without `role`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendeeChange {
    /// The member's user id.
    #[schema(value_type = String)]
    pub attendee: ObjectId,
    /// `userId` or `anonymousId`.
    #[serde(rename = "attendeeType")]
    pub attendee_type: String,
    /// The new role (role changes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<MemberRole>,
}

impl AttendeeChange {
    pub fn of(user: &UserRecord, role: Option<Role>) -> Self {
        let attendee_type = if user.kind == UserKind::Anonymous { "anonymousId" } else { "userId" };
        AttendeeChange {
            attendee: user.id,
            attendee_type: attendee_type.to_owned(),
            role: role.map(Into::into),
        }
    }
}

/// `markread`: the caller's read state in the space now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadState {
    #[serde(rename = "topicId")]
    #[schema(value_type = String)]
    pub topic_id: ObjectId,
    #[serde(rename = "unreadMessagesCount")]
    pub unread_messages_count: i64,
    #[serde(rename = "messagesLastReadTime")]
    #[schema(value_type = Option<String>)]
    pub messages_last_read_time: Option<Timestamp>,
}

/// The caller's preferences for a space now (`isPinned`, `notification`; `null`:
/// never set).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreferenceState {
    #[serde(rename = "topicId")]
    #[schema(value_type = String)]
    pub topic_id: ObjectId,
    #[serde(rename = "isPinned")]
    pub is_pinned: Option<bool>,
    pub notification: Option<bool>,
}
