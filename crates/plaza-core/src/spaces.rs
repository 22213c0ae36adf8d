//! Spaces: creation, joining, membership, invitations, roles, direct and personal
//! spaces, and each user's view of them. Every rule of the role table is enforced
//! here, through [`access::allowed`].

pub mod access;
pub(crate) mod listing;
mod pins;

use std::sync::Arc;

use plaza_db::{
    InvitationRecord, MemberChange, MemberChangeOutcome, MembershipRecord, MembershipState,
    ObjectId, Role, SpaceKind, SpaceRecord, SpaceStatus, Store, StoreError, Timestamp, UserKind,
    UserRecord,
};
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::audit::{AuditEntry, AuditLog};
use crate::events::{DomainEvent, EventSink};
use crate::identity::Principal;
use crate::{CoreError, CoreResult, ErrorCode};
use access::{Action, Party, allowed};

pub use listing::{ListPage, ListParams, ListedSpace, PageToken};

const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 4096;
const MAX_SETTINGS_BYTES: usize = 16 * 1024;
const MAX_INVITEES: usize = 100;
/// Members embedded in a space object; the full list is paged at `/members`.
pub const MEMBERS_IN_SPACE: u32 = 100;

/// A live space (not deleted) and `user_id`'s membership in it, whatever its state, in
/// one read.
async fn live_space_with_membership(
    store: &dyn Store,
    space_id: ObjectId,
    user_id: ObjectId,
) -> CoreResult<(SpaceRecord, Option<MembershipRecord>)> {
    store
        .space_with_membership(space_id, user_id)
        .await?
        .filter(|(s, _)| s.status != SpaceStatus::Deleted)
        .ok_or_else(not_found)
}

/// A live space (not deleted), the caller's active membership in it if any, and the
/// party they act as: the one lookup every space-scoped service starts with.
pub(crate) async fn space_and_party(
    store: &dyn Store,
    principal: &Principal,
    space_id: ObjectId,
) -> CoreResult<(SpaceRecord, Option<MembershipRecord>, Party)> {
    let (space, membership) =
        live_space_with_membership(store, space_id, principal.user_id()).await?;
    let membership = membership.filter(|m| m.state == MembershipState::Active);
    let party = Party {
        role: membership.as_ref().map(|m| m.role),
        anonymous: principal.user.kind == UserKind::Anonymous,
    };
    Ok((space, membership, party))
}

/// Whether the caller, with `mine` (any state) and `pin`, may join `space` by link.
fn check_can_join(
    space: &SpaceRecord,
    mine: Option<&MembershipRecord>,
    pin: Option<&str>,
) -> CoreResult<()> {
    if mine.is_some_and(|m| m.state == MembershipState::Kicked) {
        return Err(deny("you were removed from this space"));
    }
    match space.kind {
        SpaceKind::Direct => return Err(deny("direct spaces are only for their two members")),
        SpaceKind::Group | SpaceKind::Personal => {}
    }
    if space.status == SpaceStatus::Archived {
        return Err(CoreError::new(ErrorCode::TopicArchived, "the space is archived"));
    }
    if space.settings.get("memberOnly") == Some(&Value::Bool(true)) {
        return Err(CoreError::new(
            ErrorCode::TopicMemberOnly,
            "only invited members may join this space",
        ));
    }
    check_pin(space, pin)
}

/// The space and the membership `principal` reads it with: their own active one, or,
/// for someone who could join it by link now (the test `GET /api/spaces/{id}` makes),
/// that of a guest joining now, which is not stored: reading does not join (clients
/// read ideas, tasks and meetings before they call `/join`). `None` for whoever could
/// not join. A PIN-protected space needs its PIN, so only `/join` opens it.
pub(crate) async fn space_and_reader(
    store: &dyn Store,
    principal: &Principal,
    space_id: ObjectId,
) -> CoreResult<(SpaceRecord, Option<MembershipRecord>, Party)> {
    let (space, mine) = live_space_with_membership(store, space_id, principal.user_id()).await?;
    let anonymous = principal.user.kind == UserKind::Anonymous;
    if let Some(active) = mine.as_ref().filter(|m| m.state == MembershipState::Active) {
        let party = Party { role: Some(active.role), anonymous };
        return Ok((space, Some(active.clone()), party));
    }
    if check_can_join(&space, mine.as_ref(), None).is_err() {
        return Ok((space, None, Party { role: None, anonymous }));
    }
    let guest =
        MembershipRecord::joining(space.id, principal.user_id(), Role::Guest, Timestamp::now());
    Ok((space, Some(guest), Party { role: Some(Role::Guest), anonymous }))
}

/// The `restrict` entry that keeps guests to what was created after they joined; new
/// spaces have it, and an admin may clear it (`POST /api/spaces/{id}`).
pub const GUEST_HISTORY_CUT: &str = "deny_guest_access_history_msg";

/// The time from which `membership` may read `space`: guests see only what came after
/// they joined when the space's `restrict` says so (CONTRACT §4), else everything.
/// The store applies the same rule in the queries that join memberships themselves
/// (`MessageScope::MemberOf`, `file_readable_through_message`).
pub(crate) fn reads_since(
    space: &SpaceRecord,
    membership: &MembershipRecord,
    anonymous: bool,
) -> Option<Timestamp> {
    let guest = anonymous || membership.role == Role::Guest;
    let cut = space.restrict.iter().any(|r| r == GUEST_HISTORY_CUT);
    (guest && cut).then_some(membership.join_time)
}

/// A space with the members shown alongside it.
#[derive(Debug, Clone)]
pub struct SpaceView {
    pub space: SpaceRecord,
    pub members: Vec<(MembershipRecord, UserRecord)>,
    /// The caller's own membership, if any.
    pub me: Option<MembershipRecord>,
}

/// One invitee of a create or invite call.
#[derive(Debug, Clone)]
pub struct Invitee {
    /// `email` or `userId` (`userid` accepted).
    pub invitee_type: String,
    pub invitee: String,
    pub role: Option<String>,
}

/// What happened to one invitee.
#[derive(Debug, Clone)]
pub enum InviteOutcome {
    /// A user id: added to the space at once.
    Added { user: UserRecord, role: Role },
    /// An email: an invitation to accept by link.
    Pending { invitation: InvitationRecord },
}

/// The changes of `POST /api/spaces/{id}`; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct SpaceUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Merged into the settings object, key by key.
    pub settings: Option<Map<String, Value>>,
    pub restrict: Option<Vec<String>>,
    /// 0 to unarchive, 1 to archive.
    pub status: Option<i64>,
    pub msg_retention: Option<Value>,
}

/// `isPinned` / `notification` preference changes; the outer `None` leaves a field alone.
#[derive(Debug, Default, Clone, Copy)]
pub struct Preference {
    pub is_pinned: Option<Option<bool>>,
    pub notification: Option<Option<bool>>,
}

pub struct SpaceService {
    store: Arc<dyn Store>,
    events: Arc<dyn EventSink>,
    audit: AuditLog,
    joins: JoinActivity,
    pins: pins::PinGuard,
}

/// Coalesces the "recent activity" that members joining give a space.
///
/// Recording activity writes every membership of the space, so a crowd joining a large
/// space (guests following a link to a town hall) would cost O(members) each: quadratic.
/// A join within [`JoinActivity::WINDOW_MILLIS`] of the last join-activity this process recorded
/// for the same space records none; the listing order then reflects joins to within that
/// window. Everything else that counts as activity is recorded every time.
#[derive(Default)]
struct JoinActivity {
    recorded: std::sync::Mutex<std::collections::HashMap<ObjectId, Timestamp>>,
}

impl JoinActivity {
    const WINDOW_MILLIS: i64 = 1_000;
    /// Past this many spaces, entries older than the window are dropped.
    const PRUNE_AT: usize = 10_000;

    /// Whether a join at `now` should record activity (and, if so, notes that it will).
    fn should_record(&self, space_id: ObjectId, now: Timestamp) -> bool {
        let Ok(mut recorded) = self.recorded.lock() else { return true };
        if recorded
            .get(&space_id)
            .is_some_and(|at| now.millis() - at.millis() < Self::WINDOW_MILLIS)
        {
            return false;
        }
        if recorded.len() >= Self::PRUNE_AT {
            recorded.retain(|_, at| now.millis() - at.millis() < Self::WINDOW_MILLIS);
        }
        recorded.insert(space_id, now);
        true
    }
}

fn not_found() -> CoreError {
    CoreError::new(ErrorCode::TopicNotFound, "no such space")
}

fn party(principal: &Principal, membership: Option<&MembershipRecord>) -> Party {
    Party {
        role: membership.filter(|m| m.state == MembershipState::Active).map(|m| m.role),
        anonymous: principal.user.kind == UserKind::Anonymous,
    }
}

fn deny(message: &'static str) -> CoreError {
    CoreError::permission_denied(message)
}

fn check_text(field: &str, text: &str, max: usize, required: bool) -> CoreResult<String> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(CoreError::invalid(field, format!("must be at most {max} characters")));
    }
    Ok(text.to_owned())
}

/// Settings a new group or personal space starts with (the shape clients read).
fn default_settings() -> Map<String, Value> {
    let conf_id: u32 = rand::thread_rng().gen_range(100_000_000..1_000_000_000);
    let value = json!({
        "confId": conf_id.to_string(),
        "mdSrv": "mpaas",
        "mdOpts": [],
        "mdProviders": ["mpaas"],
        "mdLic": ["video", "audio"],
        "memberOnly": false,
        "allowPasswordInURL": false,
        "passwordRequired": {"allGuests": false},
        "autoStart": false,
        "hideAutoStartPrompt": false,
        "mpaasSettings": {
            "eventConference": {"enable": false},
            "mixerMode": "OPTIMIZED_PROCESSED",
            "maxResolution": "720P",
        },
    });
    value.as_object().cloned().unwrap_or_default()
}

/// Checks the settings keys Plaza acts on; other keys are kept as clients sent them.
fn validate_settings(settings: &Map<String, Value>) -> CoreResult<()> {
    for (key, value) in settings {
        let ok = match key.as_str() {
            "confPin" => {
                value.is_null()
                    || value.as_str().is_some_and(|pin| {
                        pin.len() <= 32 && pin.chars().all(|c| c.is_ascii_alphanumeric())
                    })
            }
            "memberOnly" | "allowPasswordInURL" | "autoStart" | "hideAutoStartPrompt" => {
                value.is_boolean()
            }
            "passwordRequired" => value
                .as_object()
                .is_some_and(|o| o.iter().all(|(k, v)| k == "allGuests" && v.is_boolean())),
            "confId" => false,
            _ => true,
        };
        if !ok {
            let message = match key.as_str() {
                "confPin" => "must be up to 32 letters or digits, or null",
                "passwordRequired" => "must be {\"allGuests\": true|false}",
                "confId" => "is assigned by the server",
                _ => "must be true or false",
            };
            return Err(CoreError::invalid(format!("settings.{key}"), message));
        }
    }
    if Value::Object(settings.clone()).to_string().len() > MAX_SETTINGS_BYTES {
        return Err(CoreError::invalid(
            "settings",
            format!("must be at most {MAX_SETTINGS_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The space's PIN (`settings.confPin`), when one is set: then everyone who is not yet
/// a member must give it to join.
fn required_pin(space: &SpaceRecord) -> Option<&str> {
    space.settings.get("confPin").and_then(Value::as_str).filter(|p| !p.is_empty())
}

fn check_pin(space: &SpaceRecord, given: Option<&str>) -> CoreResult<()> {
    let Some(pin) = required_pin(space) else { return Ok(()) };
    match given.map(str::trim).filter(|g| !g.is_empty()) {
        None => {
            Err(CoreError::new(ErrorCode::TopicPasswordRequired, "this space needs its password"))
        }
        Some(given)
            if given.len() == pin.len()
                && given.bytes().zip(pin.bytes()).fold(0, |a, (x, y)| a | (x ^ y)) == 0 =>
        {
            Ok(())
        }
        Some(_) => {
            Err(CoreError::new(ErrorCode::TopicPasswordInvalid, "the space password is wrong"))
        }
    }
}

fn parse_role(role: Option<&str>, default: Role) -> CoreResult<Role> {
    match role.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(text) => Role::parse(&text.to_ascii_lowercase())
            .ok_or_else(|| CoreError::invalid("role", "must be admin, member or guest")),
    }
}

/// `user`, `userId` or `userid` name registered users; `anonymous`/`anonymousId` guests.
pub fn parse_user_type(text: &str) -> CoreResult<UserKind> {
    match text.to_ascii_lowercase().as_str() {
        "user" | "userid" => Ok(UserKind::Registered),
        "anonymous" | "anonymousid" => Ok(UserKind::Anonymous),
        _ => Err(CoreError::invalid("userType", "must be user or anonymous")),
    }
}

impl SpaceService {
    pub fn new(store: Arc<dyn Store>, events: Arc<dyn EventSink>) -> Self {
        let audit = AuditLog::new(store.clone());
        SpaceService {
            store,
            events,
            audit,
            joins: JoinActivity::default(),
            pins: pins::PinGuard::default(),
        }
    }

    /// Bounds attempts at space PINs per caller and per space (see `spaces/pins.rs`).
    pub fn with_pin_limiters(
        mut self,
        per_caller: Arc<dyn crate::limits::RateLimiter>,
        per_space: Arc<dyn crate::limits::RateLimiter>,
    ) -> Self {
        self.pins = pins::PinGuard::new(per_caller, per_space);
        self
    }

    async fn space(&self, id: &str) -> CoreResult<SpaceRecord> {
        let id: ObjectId = id.parse().map_err(|_| not_found())?;
        self.store
            .space_by_id(id)
            .await?
            .filter(|s| s.status != SpaceStatus::Deleted)
            .ok_or_else(not_found)
    }

    async fn view(
        &self,
        space: SpaceRecord,
        me: Option<MembershipRecord>,
    ) -> CoreResult<SpaceView> {
        let (members, _) = self.store.members(space.id, None, 0, MEMBERS_IN_SPACE).await?;
        Ok(SpaceView { space, members, me })
    }

    async fn user(&self, id: &str) -> CoreResult<UserRecord> {
        let missing = || CoreError::new(ErrorCode::UserNotFound, "no such user");
        let id: ObjectId = id.parse().map_err(|_| missing())?;
        self.store.user_by_id(id).await?.ok_or_else(missing)
    }

    /// `POST /api/spaces/invite`: creates a group space (the caller is its admin) and
    /// invites people to it.
    pub async fn create(
        &self,
        principal: &Principal,
        title: &str,
        description: Option<&str>,
        invitees: &[Invitee],
    ) -> CoreResult<(SpaceView, Vec<InviteOutcome>)> {
        if principal.user.kind == UserKind::Anonymous {
            return Err(deny("anonymous users cannot create spaces"));
        }
        if invitees.len() > MAX_INVITEES {
            return Err(CoreError::invalid(
                "invitees",
                format!("at most {MAX_INVITEES} at a time"),
            ));
        }
        let now = Timestamp::now();
        let space = SpaceRecord {
            id: ObjectId::new(),
            kind: SpaceKind::Group,
            title: check_text("topic.title", title, MAX_TITLE, true)?,
            description: check_text(
                "topic.description",
                description.unwrap_or_default(),
                MAX_DESCRIPTION,
                false,
            )?,
            status: SpaceStatus::Active,
            settings: default_settings(),
            restrict: vec![GUEST_HISTORY_CUT.to_owned()],
            creator_id: principal.user_id(),
            unique_key: None,
            created: now,
            modified: now,
        };
        let me = MembershipRecord::joining(space.id, principal.user_id(), Role::Admin, now);
        // Check every invitee before anything is written.
        let targets = self.resolve_invitees(principal, &space, Some(Role::Admin), invitees).await?;
        self.store.insert_space(&space, &me).await?;
        let outcomes = self.apply_invitees(principal, &space, true, targets).await?;
        Ok((self.view(space, Some(me)).await?, outcomes))
    }

    /// Validates invitees and the caller's right to invite each with their role.
    async fn resolve_invitees(
        &self,
        principal: &Principal,
        space: &SpaceRecord,
        caller_role: Option<Role>,
        invitees: &[Invitee],
    ) -> CoreResult<Vec<(Invitee, Role, Option<UserRecord>)>> {
        let caller =
            Party { role: caller_role, anonymous: principal.user.kind == UserKind::Anonymous };
        let mut targets = Vec::with_capacity(invitees.len());
        for (i, invitee) in invitees.iter().enumerate() {
            let role = parse_role(invitee.role.as_deref(), Role::Member).map_err(|_| {
                CoreError::invalid(format!("invitees[{i}].role"), "must be admin, member or guest")
            })?;
            if !allowed(space.kind, caller, Action::Invite(role)) {
                return Err(deny("you may not invite people with this role to this space"));
            }
            match invitee.invitee_type.to_ascii_lowercase().as_str() {
                "userid" | "user" => {
                    let user = self.user(invitee.invitee.trim()).await.map_err(|_| {
                        CoreError::invalid(
                            format!("invitees[{i}].invitee"),
                            "is not a known user id",
                        )
                    })?;
                    let role = if user.kind == UserKind::Anonymous { Role::Guest } else { role };
                    targets.push((invitee.clone(), role, Some(user)));
                }
                "email" => {
                    let email = crate::identity::validate_email(
                        &format!("invitees[{i}].invitee"),
                        &invitee.invitee,
                    )?;
                    targets.push((
                        Invitee { invitee: email.to_lowercase(), ..invitee.clone() },
                        role,
                        None,
                    ));
                }
                _ => {
                    return Err(CoreError::invalid(
                        format!("invitees[{i}].inviteeType"),
                        "must be email or userId",
                    ));
                }
            }
        }
        Ok(targets)
    }

    /// Puts `user_id` in the space with `role`: a newcomer or someone who left or was
    /// removed comes in with it; an active member keeps the higher of their role and
    /// `role` (an invitation never demotes), the change made under the space's lock.
    async fn admit(
        &self,
        space: &SpaceRecord,
        user_id: ObjectId,
        role: Role,
        existing: Option<MembershipRecord>,
    ) -> CoreResult<MembershipRecord> {
        let now = Timestamp::now();
        let membership = match existing {
            Some(active) if active.state == MembershipState::Active => {
                if role >= active.role {
                    return Ok(active);
                }
                match self
                    .store
                    .change_member_keeping_an_admin(
                        space.id,
                        user_id,
                        MemberChange::SetRole(role),
                        now,
                    )
                    .await
                {
                    Ok(_) => MembershipRecord { role, modified: now, ..active },
                    Err(StoreError::NotFound) => {
                        // Removed meanwhile: they come back with the new role.
                        let fresh = MembershipRecord::joining(space.id, user_id, role, now);
                        self.store.put_membership(&fresh).await?;
                        fresh
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            Some(gone) => {
                let back = gone.readmitted(role, now);
                self.store.put_membership(&back).await?;
                back
            }
            None => {
                let fresh = MembershipRecord::joining(space.id, user_id, role, now);
                self.store.put_membership(&fresh).await?;
                fresh
            }
        };
        // A member joining or changing role is "recent activity" for everyone; joins are
        // coalesced (see `JoinActivity`).
        if self.joins.should_record(space.id, now) {
            self.store.touch_space_activity(space.id, now).await?;
        }
        Ok(membership)
    }

    async fn apply_invitees(
        &self,
        principal: &Principal,
        space: &SpaceRecord,
        inviter_is_admin: bool,
        targets: Vec<(Invitee, Role, Option<UserRecord>)>,
    ) -> CoreResult<Vec<InviteOutcome>> {
        let mut outcomes = Vec::with_capacity(targets.len());
        for (invitee, role, user) in targets {
            let now = Timestamp::now();
            match user {
                Some(user) => {
                    let existing = self.store.membership(space.id, user.id).await?;
                    if existing.as_ref().is_some_and(|m| m.state == MembershipState::Kicked)
                        && !inviter_is_admin
                    {
                        return Err(deny("only admins may bring back someone who was removed"));
                    }
                    let membership = self.admit(space, user.id, role, existing).await?;
                    outcomes.push(InviteOutcome::Added { user, role: membership.role });
                }
                None => {
                    let invitation = InvitationRecord {
                        id: ObjectId::new(),
                        space_id: space.id,
                        invitee_type: "email".to_owned(),
                        invitee: invitee.invitee,
                        role,
                        invited_by: principal.user_id(),
                        created: now,
                        accepted_by: None,
                        accepted_at: None,
                    };
                    self.store.insert_invitation(&invitation).await?;
                    outcomes.push(InviteOutcome::Pending { invitation });
                }
            }
        }
        Ok(outcomes)
    }

    /// `POST /api/spaces/{id}/invite`.
    pub async fn invite(
        &self,
        principal: &Principal,
        space_id: &str,
        invitees: &[Invitee],
    ) -> CoreResult<Vec<InviteOutcome>> {
        let space = self.space(space_id).await?;
        if invitees.is_empty() || invitees.len() > MAX_INVITEES {
            return Err(CoreError::invalid(
                "invitees",
                format!("needs 1 to {MAX_INVITEES} invitees"),
            ));
        }
        if space.status == SpaceStatus::Archived {
            return Err(CoreError::new(ErrorCode::TopicArchived, "the space is archived"));
        }
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        let role = party(principal, mine.as_ref()).role;
        let targets = self.resolve_invitees(principal, &space, role, invitees).await?;
        self.apply_invitees(principal, &space, role == Some(Role::Admin), targets).await
    }

    /// `GET /api/spaces/{id}`: members see it; others who could join it (with the PIN
    /// where one is needed) see its preview, without joining: a view with no members and
    /// no membership of theirs, which the transports show as title, type and status only
    /// (who is in a space is for those in it, as `/members` says).
    pub async fn get(
        &self,
        principal: &Principal,
        space_id: &str,
        pin: Option<&str>,
    ) -> CoreResult<SpaceView> {
        let space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if party(principal, mine.as_ref()).role.is_none() {
            self.pins.attempt(&self.audit, principal, &space, pin).await?;
            check_can_join(&space, mine.as_ref(), pin)?;
            return Ok(SpaceView { space, members: Vec::new(), me: None });
        }
        self.view(space, mine).await
    }

    /// `GET /api/spaces/{id}/join`: members refresh; anyone else who may join becomes a
    /// guest (their `joinTime` bounds the history they can read).
    pub async fn join(
        &self,
        principal: &Principal,
        space_id: &str,
        pin: Option<&str>,
    ) -> CoreResult<SpaceView> {
        let (space, membership) = self.enter(principal, space_id, pin).await?;
        self.view(space, Some(membership)).await
    }

    /// Joins as [`SpaceService::join`] does, without the member preview of a space view:
    /// a socket subscribing to a space needs only the space and its membership, and
    /// reading the preview costs a sort over the space's members each time.
    pub async fn enter(
        &self,
        principal: &Principal,
        space_id: &str,
        pin: Option<&str>,
    ) -> CoreResult<(SpaceRecord, MembershipRecord)> {
        let id: ObjectId = space_id.parse().map_err(|_| not_found())?;
        let (space, mine) =
            live_space_with_membership(self.store.as_ref(), id, principal.user_id()).await?;
        let now = Timestamp::now();
        if let Some(active) = mine.as_ref().filter(|m| m.state == MembershipState::Active) {
            let refreshed = MembershipRecord { last_access: now, ..active.clone() };
            self.store.update_member_view(&refreshed).await?;
            return Ok((space, refreshed));
        }
        self.pins.attempt(&self.audit, principal, &space, pin).await?;
        check_can_join(&space, mine.as_ref(), pin)?;
        let membership = self.admit(&space, principal.user_id(), Role::Guest, mine).await?;
        Ok((space, membership))
    }

    /// `GET /api/spaces/invites/{inviteId}/join`: the invited email's owner joins with
    /// the invited role; an anonymous guest with the link joins as a guest.
    pub async fn accept_invitation(
        &self,
        principal: &Principal,
        invitation_id: &str,
        pin: Option<&str>,
    ) -> CoreResult<SpaceView> {
        let missing = || CoreError::new(ErrorCode::InvitationNotFound, "no such invitation");
        let id: ObjectId = invitation_id.parse().map_err(|_| missing())?;
        let invitation = self.store.invitation(id).await?.ok_or_else(missing)?;
        let space_id = invitation.space_id.to_string();
        let space = self.space(&space_id).await?;
        // A link in a guest's hands is a link to the space: it joins them as a guest on
        // the usual terms (PIN, memberOnly) and leaves the invitation for its invitee.
        if principal.user.kind == UserKind::Anonymous {
            return self.join(principal, &space_id, pin).await;
        }
        if !principal.user.username.eq_ignore_ascii_case(&invitation.invitee) {
            return Err(deny("this invitation is for another email address"));
        }
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if mine.as_ref().is_some_and(|m| m.state == MembershipState::Kicked) {
            return Err(deny("you were removed from this space"));
        }
        match invitation.accepted_by {
            // Used once, by them: it grants nothing again (a demoted admin cannot get
            // their role back with it); they are in, or may join like anyone.
            Some(by) if by == principal.user_id() => {
                return self.join(principal, &space_id, pin).await;
            }
            Some(_) => {
                return Err(CoreError::new(
                    ErrorCode::InvitationAccepted,
                    "this invitation was already used",
                ));
            }
            None => {}
        }
        if space.status == SpaceStatus::Archived {
            return Err(CoreError::new(ErrorCode::TopicArchived, "the space is archived"));
        }
        if invitation.role == Role::Guest {
            self.pins.attempt(&self.audit, principal, &space, pin).await?;
            check_pin(&space, pin)?;
        }
        let now = Timestamp::now();
        if !self.store.accept_invitation(id, principal.user_id(), now).await? {
            return Err(CoreError::new(
                ErrorCode::InvitationAccepted,
                "this invitation was already used",
            ));
        }
        let membership = self.admit(&space, principal.user_id(), invitation.role, mine).await?;
        let membership = MembershipRecord { last_access: now, ..membership };
        self.store.update_member_view(&membership).await?;
        self.view(space, Some(membership)).await
    }

    /// `POST /api/spaces/{id}`: admins change title, description, settings, restrict
    /// and archive state. Title and status changes announce `topic.updated`.
    pub async fn update(
        &self,
        principal: &Principal,
        space_id: &str,
        update: SpaceUpdate,
    ) -> CoreResult<SpaceView> {
        let mut space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        let me = party(principal, mine.as_ref());
        if !allowed(space.kind, me, Action::UpdateSpace) {
            return Err(deny("only admins of this space may change it"));
        }
        let archiving = match update.status {
            None => None,
            Some(0) => Some(SpaceStatus::Active),
            Some(1) => Some(SpaceStatus::Archived),
            Some(_) => {
                return Err(CoreError::invalid("status", "must be 0 (active) or 1 (archived)"));
            }
        };
        if archiving.is_some_and(|s| s != space.status)
            && !allowed(space.kind, me, Action::ArchiveSpace)
        {
            return Err(deny("this space cannot be archived"));
        }
        let changes_content = update.title.is_some()
            || update.description.is_some()
            || update.settings.is_some()
            || update.restrict.is_some()
            || update.msg_retention.is_some();
        if space.status == SpaceStatus::Archived
            && archiving != Some(SpaceStatus::Active)
            && changes_content
        {
            return Err(CoreError::new(
                ErrorCode::TopicArchived,
                "unarchive the space before changing it",
            ));
        }
        let pin_before = required_pin(&space).map(str::to_owned);
        let status_before = space.status;
        let mut announce = false;
        if let Some(title) = &update.title {
            let title = check_text("title", title, MAX_TITLE, true)?;
            announce |= title != space.title;
            space.title = title;
        }
        if let Some(description) = &update.description {
            space.description = check_text("description", description, MAX_DESCRIPTION, false)?;
        }
        if let Some(settings) = &update.settings {
            validate_settings(settings)?;
            for (key, value) in settings {
                space.settings.insert(key.clone(), value.clone());
            }
            // The size bound holds for the whole object, not just each change.
            if Value::Object(space.settings.clone()).to_string().len() > MAX_SETTINGS_BYTES {
                return Err(CoreError::invalid(
                    "settings",
                    format!("would grow past {MAX_SETTINGS_BYTES} bytes"),
                ));
            }
        }
        if let Some(retention) = update.msg_retention {
            if !retention.is_object() {
                return Err(CoreError::invalid("msgRetention", "must be an object"));
            }
            space.settings.insert("msgRetention".to_owned(), retention);
        }
        if let Some(restrict) = update.restrict {
            if restrict.len() > 32 || restrict.iter().any(|r| r.is_empty() || r.len() > 64) {
                return Err(CoreError::invalid("restrict", "must be at most 32 short names"));
            }
            space.restrict = restrict;
        }
        if let Some(status) = archiving {
            announce |= status != space.status;
            space.status = status;
        }
        let now = Timestamp::now();
        space.modified = now;
        self.store.update_space(&space).await?;
        if space.status != status_before {
            let action = if space.status == SpaceStatus::Archived {
                "space.archive"
            } else {
                "space.unarchive"
            };
            self.audit
                .record(
                    AuditEntry::new(principal, action).target("space", space.id).space(space.id),
                )
                .await;
        }
        let pin_after = required_pin(&space);
        if pin_before.as_deref() != pin_after {
            self.audit
                .record(
                    AuditEntry::new(principal, "space.pin.change")
                        .target("space", space.id)
                        .space(space.id)
                        .detail("pinRequired", pin_after.is_some()),
                )
                .await;
        }
        if announce {
            self.store.touch_space_activity(space.id, now).await?;
            self.events.publish(DomainEvent::SpaceUpdated {
                space: space.clone(),
                by: principal.user_id(),
            });
        }
        self.view(space, mine).await
    }

    /// `DELETE /api/spaces/{id}`: admins only; the space stays listed as deleted.
    pub async fn delete(&self, principal: &Principal, space_id: &str) -> CoreResult<SpaceRecord> {
        let mut space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if !allowed(space.kind, party(principal, mine.as_ref()), Action::DeleteSpace) {
            return Err(deny("only admins of this space may delete it"));
        }
        let now = Timestamp::now();
        space.status = SpaceStatus::Deleted;
        space.modified = now;
        self.store.update_space(&space).await?;
        self.store.touch_space_activity(space.id, now).await?;
        self.events
            .publish(DomainEvent::SpaceUpdated { space: space.clone(), by: principal.user_id() });
        self.audit
            .record(
                AuditEntry::new(principal, "space.delete")
                    .target("space", space.id)
                    .space(space.id)
                    .detail("title", space.title.clone()),
            )
            .await;
        Ok(space)
    }

    /// `GET /api/spaces/{id}/members`: for anyone who can read the space.
    pub async fn members(
        &self,
        principal: &Principal,
        space_id: &str,
        search: Option<&str>,
        page: u32,
        size: u32,
    ) -> CoreResult<(Vec<(MembershipRecord, UserRecord)>, u64)> {
        let space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if !allowed(space.kind, party(principal, mine.as_ref()), Action::ReadMessages) {
            return Err(deny("only members may list the members of this space"));
        }
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > 128) {
            return Err(CoreError::invalid("search", "must be at most 128 characters"));
        }
        let offset =
            page.checked_mul(size).ok_or_else(|| CoreError::invalid("page", "is too large"))?;
        Ok(self.store.members(space.id, search, offset, size).await?)
    }

    /// `POST /api/spaces/{id}/attendees/{type}/{userId}`: admins set a role, adding the
    /// user when they are not a member yet; the last admin stays an admin.
    pub async fn set_role(
        &self,
        principal: &Principal,
        space_id: &str,
        attendee_type: &str,
        user_id: &str,
        role: &str,
    ) -> CoreResult<(UserRecord, Role)> {
        let space = self.space(space_id).await?;
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        if !allowed(space.kind, party(principal, mine.as_ref()), Action::ChangeRole) {
            return Err(deny("only admins of this space may change roles"));
        }
        let kind = parse_user_type(attendee_type)?;
        let role = parse_role(Some(role), Role::Member)?;
        let target = self.user(user_id).await?;
        if (target.kind == UserKind::Anonymous || kind == UserKind::Anonymous)
            && role != Role::Guest
        {
            return Err(CoreError::invalid("role", "anonymous users can only be guests"));
        }
        let now = Timestamp::now();
        let existing = self.store.membership(space.id, target.id).await?;
        let previous = existing
            .as_ref()
            .filter(|m| m.state == MembershipState::Active)
            .map(|m| m.role.as_str());
        match existing {
            Some(m) if m.state == MembershipState::Active => {
                let change = MemberChange::SetRole(role);
                match self
                    .store
                    .change_member_keeping_an_admin(space.id, target.id, change, now)
                    .await
                {
                    Ok(MemberChangeOutcome::Done) => {}
                    Ok(_) => return Err(last_admin()),
                    Err(StoreError::NotFound) => return Err(member_not_found()),
                    Err(other) => return Err(other.into()),
                }
            }
            // An admin may add anyone, or bring back someone who left or was removed.
            other => {
                let membership = match other {
                    Some(m) => MembershipRecord { role, ..m.readmitted(role, now) },
                    None => MembershipRecord::joining(space.id, target.id, role, now),
                };
                self.store.put_membership(&membership).await?;
            }
        }
        self.store.touch_space_activity(space.id, now).await?;
        self.audit
            .record(
                AuditEntry::new(principal, "space.member.role")
                    .target("user", target.id)
                    .space(space.id)
                    .detail("role", role.as_str())
                    .detail("previousRole", previous),
            )
            .await;
        Ok((target, role))
    }

    /// `DELETE /api/spaces/{id}/attendees/{type}/{userId}`: admins remove anyone but
    /// the last admin, members remove guests, and anyone may leave.
    pub async fn remove(
        &self,
        principal: &Principal,
        space_id: &str,
        attendee_type: &str,
        user_id: &str,
    ) -> CoreResult<UserRecord> {
        let space = self.space(space_id).await?;
        parse_user_type(attendee_type)?;
        let target = self.user(user_id).await?;
        let theirs = self
            .store
            .membership(space.id, target.id)
            .await?
            .filter(|m| m.state == MembershipState::Active)
            .ok_or_else(member_not_found)?;
        let leaving = target.id == principal.user_id();
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        let me = party(principal, mine.as_ref());
        let permitted = if space.kind == SpaceKind::Direct {
            false
        } else if leaving {
            me.role.is_some()
        } else {
            allowed(space.kind, me, Action::Remove(theirs.role))
        };
        if !permitted {
            return Err(deny("you may not remove this party from this space"));
        }
        // Leaving is not being removed: a user who left may come back by link.
        let change = if leaving {
            MemberChange::Remove { state: MembershipState::Left, only_if: None }
        } else {
            // Checked again under the space's lock: the target may be promoted meanwhile.
            let only_if = (me.role != Some(Role::Admin)).then_some(theirs.role);
            MemberChange::Remove { state: MembershipState::Kicked, only_if }
        };
        let now = Timestamp::now();
        match self.store.change_member_keeping_an_admin(space.id, target.id, change, now).await {
            Ok(MemberChangeOutcome::Done) => {}
            Ok(MemberChangeOutcome::LastAdmin) => return Err(last_admin()),
            Ok(MemberChangeOutcome::RoleChanged) => {
                return Err(deny("this party's role changed; try again"));
            }
            Err(StoreError::NotFound) => return Err(member_not_found()),
            Err(other) => return Err(other.into()),
        }
        self.store.touch_space_activity(space.id, now).await?;
        self.events.publish(DomainEvent::MemberRemoved {
            space_id: space.id,
            user_id: target.id,
            by: principal.user_id(),
        });
        if !leaving {
            self.audit
                .record(
                    AuditEntry::new(principal, "space.member.remove")
                        .target("user", target.id)
                        .space(space.id)
                        .detail("role", theirs.role.as_str()),
                )
                .await;
        }
        Ok(target)
    }

    /// `GET /api/spaces/direct/{userType}/{userId}`: the direct space of the caller and
    /// that user, created on first use. With an anonymous party, the two must share a
    /// space.
    pub async fn direct(
        &self,
        principal: &Principal,
        user_type: &str,
        user_id: &str,
    ) -> CoreResult<SpaceView> {
        let kind = parse_user_type(user_type)?;
        let other = self.user(user_id).await?;
        if (other.kind == UserKind::Anonymous) != (kind == UserKind::Anonymous) {
            return Err(CoreError::new(ErrorCode::UserNotFound, "no such user of this type"));
        }
        if other.id == principal.user_id() {
            return Err(CoreError::invalid("userId", "a direct space needs another user"));
        }
        if other.disabled || other.expires_at.is_some_and(|end| end <= Timestamp::now()) {
            return Err(CoreError::new(
                ErrorCode::UserNotFound,
                "this user is no longer available",
            ));
        }
        let (low, high) = (principal.user_id().min(other.id), principal.user_id().max(other.id));
        let key = format!("direct:{low}:{high}");
        let space = match self.store.space_by_unique_key(&key).await? {
            Some(space) => space,
            None => {
                if principal.user.kind == UserKind::Anonymous || other.kind == UserKind::Anonymous {
                    let shared =
                        self.store.colleagues(principal.user_id(), None, 0, u32::MAX).await?;
                    let shares = shared.iter().any(|u| u.id == other.id)
                        || (other.kind == UserKind::Anonymous
                            && self.share_a_space(principal.user_id(), other.id).await?);
                    if !shares {
                        return Err(deny("a direct space with a guest needs a space you share"));
                    }
                }
                let now = Timestamp::now();
                let space = SpaceRecord {
                    id: ObjectId::new(),
                    kind: SpaceKind::Direct,
                    title: String::new(),
                    description: String::new(),
                    status: SpaceStatus::Active,
                    settings: Map::new(),
                    restrict: Vec::new(),
                    creator_id: principal.user_id(),
                    unique_key: Some(key.clone()),
                    created: now,
                    modified: now,
                };
                let mine =
                    MembershipRecord::joining(space.id, principal.user_id(), Role::Member, now);
                match self.store.insert_space(&space, &mine).await {
                    Ok(()) => space,
                    // Someone created it at the same moment: use theirs.
                    Err(StoreError::Conflict { .. }) => {
                        self.store.space_by_unique_key(&key).await?.ok_or_else(not_found)?
                    }
                    Err(other) => return Err(other.into()),
                }
            }
        };
        // Both parties are always members (this also repairs a half-finished create).
        let now = Timestamp::now();
        for user in [principal.user_id(), other.id] {
            if self.store.membership(space.id, user).await?.is_none() {
                self.store
                    .put_membership(&MembershipRecord::joining(space.id, user, Role::Member, now))
                    .await?;
            }
        }
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        self.view(space, mine).await
    }

    async fn share_a_space(&self, a: ObjectId, b: ObjectId) -> CoreResult<bool> {
        // Guests are not "colleagues" (that list is registered users only), so check
        // the guest's memberships directly.
        let filter = plaza_db::ListingFilter {
            kinds: vec![SpaceKind::Group, SpaceKind::Personal],
            statuses: vec![SpaceStatus::Active],
            pinned_only: false,
            include_deleted: false,
            after: None,
            by_last_message: false,
        };
        let theirs = self
            .store
            .list_memberships(b, &filter, plaza_db::ListingPage::After(None), 500)
            .await?;
        for (space, _) in theirs {
            if self
                .store
                .membership(space.id, a)
                .await?
                .is_some_and(|m| m.state == MembershipState::Active)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `GET /api/users/meetingroom/{email}`: a registered user's personal meeting room,
    /// created on first use (the owner is its admin). Looking people up by address is
    /// for registered users: its answer tells whether the address has an account, which
    /// a free anonymous token must not learn (guests join a room by its link instead).
    pub async fn personal_room(&self, principal: &Principal, email: &str) -> CoreResult<SpaceView> {
        if principal.user.kind != UserKind::Registered {
            return Err(deny("looking people up by e-mail address needs an account"));
        }
        let owner = self
            .store
            .user_by_username(email.trim())
            .await?
            .filter(|u| u.kind == UserKind::Registered && !u.disabled)
            .ok_or_else(|| CoreError::new(ErrorCode::UserNotFound, "no user with this email"))?;
        let key = format!("personal:{}", owner.id);
        let space = match self.store.space_by_unique_key(&key).await? {
            Some(space) => space,
            None => {
                let now = Timestamp::now();
                let space = SpaceRecord {
                    id: ObjectId::new(),
                    kind: SpaceKind::Personal,
                    title: format!("{}'s meeting room", owner.displayname),
                    description: String::new(),
                    status: SpaceStatus::Active,
                    settings: default_settings(),
                    restrict: vec![GUEST_HISTORY_CUT.to_owned()],
                    creator_id: owner.id,
                    unique_key: Some(key.clone()),
                    created: now,
                    modified: now,
                };
                let admin = MembershipRecord::joining(space.id, owner.id, Role::Admin, now);
                match self.store.insert_space(&space, &admin).await {
                    Ok(()) => space,
                    Err(StoreError::Conflict { .. }) => {
                        self.store.space_by_unique_key(&key).await?.ok_or_else(not_found)?
                    }
                    Err(other) => return Err(other.into()),
                }
            }
        };
        let mine = self.store.membership(space.id, principal.user_id()).await?;
        let mut view = self.view(space, mine).await?;
        // Someone looking a room up to join it learns the room, not who is in it.
        if party(principal, view.me.as_ref()).role.is_none() {
            view.members.clear();
        }
        Ok(view)
    }

    /// The caller's active membership; removed and departed users have none.
    async fn my_membership(
        &self,
        principal: &Principal,
        space_id: &str,
    ) -> CoreResult<(SpaceRecord, MembershipRecord)> {
        let id: ObjectId = space_id.parse().map_err(|_| not_found())?;
        let space = self.store.space_by_id(id).await?.ok_or_else(not_found)?;
        let membership = self
            .store
            .membership(space.id, principal.user_id())
            .await?
            .filter(|m| m.state == MembershipState::Active)
            .ok_or_else(|| {
                CoreError::new(ErrorCode::TopicMemberNotFound, "you are not in this space")
            })?;
        Ok((space, membership))
    }

    /// Stores the caller's own view of a space (never their role or state).
    async fn save_view(&self, membership: &MembershipRecord) -> CoreResult<()> {
        if self.store.update_member_view(membership).await? {
            Ok(())
        } else {
            Err(CoreError::new(ErrorCode::TopicMemberNotFound, "you are not in this space"))
        }
    }

    /// `POST /api/users/me/spaces/{id}/markread`.
    pub async fn mark_read(
        &self,
        principal: &Principal,
        space_id: &str,
    ) -> CoreResult<MembershipRecord> {
        let (_, membership) = self.my_membership(principal, space_id).await?;
        let now = Timestamp::now();
        let membership = MembershipRecord {
            unread_count: 0,
            messages_last_read_time: Some(now),
            last_access: now,
            modified: now,
            ..membership
        };
        self.save_view(&membership).await?;
        Ok(membership)
    }

    /// `POST /api/users/me/spaces/{id}/hide` and `.../unhide`: only the caller's list
    /// changes.
    pub async fn set_hidden(
        &self,
        principal: &Principal,
        space_id: &str,
        hidden: bool,
    ) -> CoreResult<(SpaceRecord, MembershipRecord)> {
        let (space, membership) = self.my_membership(principal, space_id).await?;
        let membership = MembershipRecord { hidden, modified: Timestamp::now(), ..membership };
        self.save_view(&membership).await?;
        Ok((space, membership))
    }

    /// `POST /api/users/me/topics/{id}/preference`: pin and notification choices.
    pub async fn set_preference(
        &self,
        principal: &Principal,
        space_id: &str,
        preference: Preference,
    ) -> CoreResult<MembershipRecord> {
        let (_, mut membership) = self.my_membership(principal, space_id).await?;
        if let Some(pinned) = preference.is_pinned {
            membership.is_pinned = pinned;
        }
        if let Some(notification) = preference.notification {
            membership.notification = notification;
        }
        membership.modified = Timestamp::now();
        self.save_view(&membership).await?;
        Ok(membership)
    }

    /// `GET /api/users/{id|me}/colleagues` and `.../people/withdm`: for the caller only.
    /// Answers up to `size + 1` people from `page * size` on: the extra one tells the
    /// caller a next page exists.
    pub async fn people(
        &self,
        principal: &Principal,
        user: &str,
        direct_only: bool,
        search: Option<&str>,
        page: u32,
        size: u32,
    ) -> CoreResult<Vec<UserRecord>> {
        if user != "me" && user != principal.user_id().to_string() {
            return Err(deny("you can only list your own colleagues"));
        }
        let search = search
            .map(|s| s.trim().trim_start_matches('^').trim_end_matches('$'))
            .filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > 128) {
            return Err(CoreError::invalid("search", "must be at most 128 characters"));
        }
        let offset =
            page.checked_mul(size).ok_or_else(|| CoreError::invalid("page", "is too large"))?;
        let limit = size.saturating_add(1);
        let people = if direct_only {
            self.store.direct_partners(principal.user_id(), search, offset, limit).await?
        } else {
            self.store.colleagues(principal.user_id(), search, offset, limit).await?
        };
        Ok(people)
    }
}

fn member_not_found() -> CoreError {
    CoreError::new(ErrorCode::TopicMemberNotFound, "this user is not an active member of the space")
}

fn last_admin() -> CoreError {
    CoreError::new(ErrorCode::TopicLastAdmin, "a space must keep at least one admin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_record_activity_once_a_window_per_space() {
        let joins = JoinActivity::default();
        let (town_hall, other) = (ObjectId::new(), ObjectId::new());
        let t0 = Timestamp::from_millis(1_000_000);
        assert!(joins.should_record(town_hall, t0));
        assert!(!joins.should_record(town_hall, t0.add_millis(999)), "coalesced");
        assert!(joins.should_record(other, t0.add_millis(999)), "per space");
        assert!(joins.should_record(town_hall, t0.add_millis(1_000)), "next window");
        assert!(!joins.should_record(town_hall, t0.add_millis(1_500)));
    }

    #[test]
    fn old_entries_are_dropped_once_many_spaces_are_tracked() {
        let joins = JoinActivity::default();
        let t0 = Timestamp::from_millis(1_000_000);
        for _ in 0..JoinActivity::PRUNE_AT {
            joins.should_record(ObjectId::new(), t0);
        }
        assert!(joins.should_record(ObjectId::new(), t0.add_millis(5_000)));
        assert_eq!(joins.recorded.lock().expect("lock").len(), 1, "only the fresh entry is kept");
    }
}
