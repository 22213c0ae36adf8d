//! Spaces: creation, joining, membership, invitations, roles, direct and personal
//! spaces, and each user's view of them. Every rule of the role table is enforced
//! here, through [`access::allowed`].

pub mod access;
mod create;
mod joining;
pub(crate) mod listing;
mod members;
mod own_view;
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

pub use listing::{ListPage, ListParams, ListedSpace, MAX_LIST_SIZE, PageToken};

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
    /// An email: an invitation to accept by link, and what became of its mail.
    Pending { invitation: InvitationRecord, mail: crate::mail::MailStatus },
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
    /// Mails email invitations.
    postman: Arc<crate::mail::Postman>,
    /// Members' visits (`enter`) waiting to be written as their last access.
    visits: Visits,
}

/// Writes members' visits to spaces (`last_access`) in batches: the first visit wakes
/// a writer, which gathers what else comes within [`Visits::GATHER`] (at most
/// [`Visits::BATCH`]) and writes it in one transaction. A visit is stored within a
/// fraction of a second, or lost with the process (it only orders the space list).
struct Visits {
    store: Arc<dyn Store>,
    queue: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<(ObjectId, ObjectId)>>,
}

impl Visits {
    const GATHER: std::time::Duration = std::time::Duration::from_millis(100);
    const BATCH: usize = 2_000;

    fn new(store: Arc<dyn Store>) -> Visits {
        Visits { store, queue: std::sync::OnceLock::new() }
    }

    fn record(&self, space_id: ObjectId, user_id: ObjectId) {
        // The writer starts with the first visit (inside the runtime), and stops once
        // the service is gone and the queue is drained.
        let queue = self.queue.get_or_init(|| {
            let (queue, visits) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(Self::write(self.store.clone(), visits));
            queue
        });
        let _ = queue.send((space_id, user_id));
    }

    async fn write(
        store: Arc<dyn Store>,
        mut visits: tokio::sync::mpsc::UnboundedReceiver<(ObjectId, ObjectId)>,
    ) {
        while let Some(first) = visits.recv().await {
            let mut batch = std::collections::HashSet::from([first]);
            let until = tokio::time::Instant::now() + Self::GATHER;
            while batch.len() < Self::BATCH {
                match tokio::time::timeout_at(until, visits.recv()).await {
                    Ok(Some(visit)) => {
                        batch.insert(visit);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let batch: Vec<(ObjectId, ObjectId)> = batch.into_iter().collect();
            if let Err(error) = store.touch_members(&batch, Timestamp::now()).await {
                tracing::warn!(%error, visits = batch.len(), "members' last access not written");
            }
        }
    }
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
        Some(given) if crate::identity::same_secret(given, pin) => Ok(()),
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
            visits: Visits::new(store.clone()),
            store,
            events,
            audit,
            joins: JoinActivity::default(),
            pins: pins::PinGuard::default(),
            postman: Arc::new(crate::mail::Postman::none("")),
        }
    }

    /// Mails email invitations through `postman`.
    pub fn with_postman(mut self, postman: Arc<crate::mail::Postman>) -> Self {
        self.postman = postman;
        self
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
