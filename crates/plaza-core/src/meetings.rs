//! Meetings and media-session events (`SEND_MEDIA_SESSION_EVENTS` →
//! `MEDIA_SESSION_RESPONSE`): the per-space meeting state machine, the admin controls
//! (end, mute, hands, layout, recordings), media tokens, and 1:1 call signalling in
//! direct spaces.
//!
//! A meeting is one store row written by compare-and-swap, so any node may change any
//! meeting: each change reads the row, applies a pure transition (`state`), and saves
//! it only if nobody saved first, retrying otherwise. Events are published after the
//! save that caused them, in the order the transition listed them. Its history record
//! (a message of category `meeting` with the meeting's id) is rewritten in the same
//! transaction, and announced with `MESSAGE_SENT` when it starts, ends, or gains a
//! recording.

mod calls;
mod controls;
mod media;
pub mod state;

pub use calls::{CallRegistry, LocalCallRegistry, StoreCallRegistry};
pub use media::{
    MediaAdmission, MediaFlag, MediaForwarding, RecordedMedia, RecordingDone, RecordingStart,
    RecordingStop, forwarding_of,
};
pub use state::RecordingFile;

use std::sync::{Arc, OnceLock, Weak};

use plaza_db::{
    MeetingRecord, MessageCategory, MessageRecord, ObjectId, SpaceKind, SpaceRecord, SpaceStatus,
    Store, StoreError, Timestamp,
};
use serde_json::{Map, Value, json};

use crate::events::{DomainEvent, EventSink, MediaAudience, MediaEvent};
use crate::identity::{IdentityService, MediaGrant, Principal};
use crate::messages::MessageView;
use crate::spaces::access::{Action, allowed};
use crate::spaces::{reads_since, space_and_party, space_and_reader};
use crate::{CoreError, CoreResult, ErrorCode};
use state::{Happening, Layout, MeetingState, Origin, Person, media_flags};

/// A relayed media-session event is at most this large (JSON bytes).
pub const MAX_EVENT_BYTES: usize = 16 * 1024;
/// Meetings per page of history at most.
pub const MAX_HISTORY_PAGE: u32 = 200;
/// Tries of one change against concurrent saves before giving up.
/// A meeting started within this long of the space's last one ending reopens that one
/// (see `MeetingService::reopen_recent`): media toggled off and on, or a call restarted
/// at once, stays one meeting, and a space gains at most one meeting record per window
/// however often its media flaps.
pub const REOPEN_WINDOW_MS: i64 = 60_000;

const MAX_SAVE_ATTEMPTS: usize = 32;

#[derive(Debug, Clone)]
pub struct MeetingConfig {
    /// How long an attendee whose connection dropped stays in the meeting; reporting
    /// media again within it (from any connection) continues as if nothing happened.
    pub drop_grace_ms: i64,
    /// How long a 1:1 call rings before `space.call.not.answered`.
    pub ring_timeout_ms: i64,
    pub media_token_ttl_secs: i64,
    /// This server process's id among the deployment's nodes.
    pub node_id: String,
    /// A node silent this long is dead: its connections count as dropped.
    pub node_timeout_ms: i64,
}

impl Default for MeetingConfig {
    fn default() -> Self {
        MeetingConfig {
            drop_grace_ms: 30_000,
            ring_timeout_ms: 45_000,
            media_token_ttl_secs: 3600,
            node_id: ObjectId::new().to_string(),
            node_timeout_ms: 15_000,
        }
    }
}

/// A meeting as the REST API shows it.
#[derive(Debug, Clone)]
pub struct MeetingView {
    pub id: ObjectId,
    pub space: SpaceRecord,
    pub content: Map<String, Value>,
    pub created: Timestamp,
    pub modified: Timestamp,
}

/// A page of a space's meeting history.
#[derive(Debug, Clone)]
pub struct MeetingPage {
    pub meetings: Vec<MeetingView>,
    pub total: i64,
    /// The last meeting's id when more may follow (`before` for the next page).
    pub next_before: Option<ObjectId>,
}

/// `GET /api/mediasessions/mpaas/token/{spaceId}`.
#[derive(Debug, Clone)]
pub struct MediaToken {
    pub token: String,
    pub session_id: String,
    pub conf_id: String,
    pub expires_at: Timestamp,
    /// The media address of the node hosting the space's media room, when several
    /// nodes share the rooms (`None` on one node: the SDP names its address).
    pub media_address: Option<String>,
}

/// A `SEND_MEDIA_SESSION_EVENTS` payload as the transport received it.
#[derive(Debug, Clone)]
pub struct MediaInput {
    pub space_id: String,
    pub payload: Map<String, Value>,
    /// The connection it came from (its loopback copy goes there alone).
    pub connection: String,
}

/// What a raised-hand answer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandAnswer {
    Accept,
    Lower,
}

pub struct MeetingService {
    store: Arc<dyn Store>,
    events: Arc<dyn EventSink>,
    identity: Arc<IdentityService>,
    config: MeetingConfig,
    calls: Arc<dyn CallRegistry>,
    /// Changes to one space's meeting run one at a time on this node, each with the
    /// events it publishes, so that everyone hears them in the order they were stored
    /// (a relay right after the change it caused). Striped: bounded memory.
    turns: Vec<tokio::sync::Mutex<()>>,
    /// The SFU's forwarding, when this node runs one (see `media`).
    forwarding: OnceLock<Arc<dyn MediaForwarding>>,
    /// Where recorded files are stored (bound with the SFU).
    recording_files: OnceLock<Arc<crate::files::FileService>>,
    /// This service, for the tasks that finish recordings after the change that ended them.
    this: OnceLock<Weak<MeetingService>>,
}

/// How many locks the spaces' meeting changes share.
const TURN_STRIPES: usize = 64;

fn meeting_not_found() -> CoreError {
    CoreError::new(ErrorCode::MeetingNotFound, "no such meeting running in this space")
}

fn not_attending() -> CoreError {
    CoreError::new(ErrorCode::MeetingAttendeeNotFound, "that person is not in the meeting")
}

fn parse_space(id: &str) -> CoreResult<ObjectId> {
    id.parse().map_err(|_| CoreError::new(ErrorCode::TopicNotFound, "no such space"))
}

fn parse_meeting(id: &str) -> CoreResult<ObjectId> {
    id.parse().map_err(|_| meeting_not_found())
}

/// Checks the permissions a hand asks for or an answer names; none means unmute.
pub fn permissions(list: Option<&Value>, field: &str) -> CoreResult<Vec<String>> {
    let Some(list) = list.filter(|l| !l.is_null()) else {
        return Ok(vec!["PERMISSION_UNMUTE".into()]);
    };
    let invalid = || {
        CoreError::invalid(field, format!("must be a list of {}", state::PERMISSIONS.join(", ")))
    };
    let items = list.as_array().ok_or_else(invalid)?;
    let mut chosen = Vec::new();
    for item in items {
        let name = item.as_str().filter(|n| state::PERMISSIONS.contains(n)).ok_or_else(invalid)?;
        if !chosen.iter().any(|c| c == name) {
            chosen.push(name.to_owned());
        }
    }
    if chosen.is_empty() {
        chosen.push("PERMISSION_UNMUTE".into());
    }
    Ok(chosen)
}

/// A layout name or background theme: an upper-case identifier.
fn layout_word(value: Option<&str>, field: &str) -> CoreResult<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let word = value.to_ascii_uppercase();
    if word.len() > 32 || !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(CoreError::invalid(
            field,
            "must be a name of letters, digits and _ (32 at most)",
        ));
    }
    Ok(Some(word))
}

impl MeetingService {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn EventSink>,
        identity: Arc<IdentityService>,
        config: MeetingConfig,
        calls: Arc<dyn CallRegistry>,
    ) -> Self {
        let turns = (0..TURN_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect();
        MeetingService {
            store,
            events,
            identity,
            config,
            calls,
            turns,
            forwarding: OnceLock::new(),
            recording_files: OnceLock::new(),
            this: OnceLock::new(),
        }
    }

    /// Waits for this node's turn to change the meeting of `space_id`.
    async fn turn(&self, space_id: ObjectId) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        space_id.hash(&mut hasher);
        self.turns[(hasher.finish() % TURN_STRIPES as u64) as usize].lock().await
    }

    pub fn config(&self) -> &MeetingConfig {
        &self.config
    }

    /// The space and the caller, who must be an active member.
    async fn space_for(
        &self,
        principal: &Principal,
        space_id: ObjectId,
    ) -> CoreResult<(SpaceRecord, crate::spaces::access::Party, Option<Timestamp>)> {
        let (space, membership, party) =
            space_and_party(self.store.as_ref(), principal, space_id).await?;
        let Some(membership) = membership else {
            return Err(CoreError::permission_denied(
                "only members of the space take part in its meetings",
            ));
        };
        let since = reads_since(&space, &membership, party.anonymous);
        Ok((space, party, since))
    }

    /// The space, for an action only its admins may take.
    async fn controlled_space(
        &self,
        principal: &Principal,
        space_id: &str,
    ) -> CoreResult<SpaceRecord> {
        let (space, party, _) = self.space_for(principal, parse_space(space_id)?).await?;
        if !allowed(space.kind, party, Action::MeetingControl) {
            return Err(CoreError::permission_denied(
                "only the space's admins control its meetings",
            ));
        }
        Ok(space)
    }

    fn view(space: &SpaceRecord, record: &MeetingRecord, state: &MeetingState) -> MeetingView {
        MeetingView {
            id: record.id,
            space: space.clone(),
            content: state.content(),
            created: record.started,
            modified: state.modified,
        }
    }

    fn parse_state(record: &MeetingRecord) -> CoreResult<MeetingState> {
        serde_json::from_value(record.state.clone()).map_err(|e| {
            CoreError::internal(anyhow::anyhow!(
                "meeting {} has an unreadable state: {e}",
                record.id
            ))
        })
    }

    /// Applies `apply` to the space's running meeting (`meeting_id`, or whichever runs)
    /// and saves it, retrying on concurrent saves; then announces what happened.
    /// `Ok(None)` when no meeting runs (and none was named).
    async fn change<F>(
        &self,
        space: &SpaceRecord,
        meeting_id: Option<ObjectId>,
        apply: F,
    ) -> CoreResult<Option<(MeetingRecord, MeetingState)>>
    where
        F: FnMut(&mut MeetingState, Timestamp) -> CoreResult<Vec<Happening>>,
    {
        self.change_where(space, meeting_id, false, apply).await
    }

    /// Changes the meeting `meeting_id` of `space` whether it runs or ended (a recording
    /// finishing after its meeting), in this node's turn for the space.
    async fn change_any<F>(
        &self,
        space: &SpaceRecord,
        meeting_id: ObjectId,
        apply: F,
    ) -> CoreResult<Option<(MeetingRecord, MeetingState)>>
    where
        F: FnMut(&mut MeetingState, Timestamp) -> CoreResult<Vec<Happening>>,
    {
        let _turn = self.turn(space.id).await;
        self.change_where(space, Some(meeting_id), true, apply).await
    }

    async fn change_where<F>(
        &self,
        space: &SpaceRecord,
        meeting_id: Option<ObjectId>,
        ended_too: bool,
        mut apply: F,
    ) -> CoreResult<Option<(MeetingRecord, MeetingState)>>
    where
        F: FnMut(&mut MeetingState, Timestamp) -> CoreResult<Vec<Happening>>,
    {
        for _ in 0..MAX_SAVE_ATTEMPTS {
            let record = match meeting_id {
                Some(id) => Some(
                    self.store
                        .meeting(id)
                        .await?
                        .filter(|m| m.space_id == space.id && (ended_too || m.ended.is_none()))
                        .ok_or_else(meeting_not_found)?,
                ),
                None => self.store.active_meeting(space.id).await?,
            };
            let Some(mut record) = record else { return Ok(None) };
            let before = Self::parse_state(&record)?;
            let mut state = before.clone();
            let now = Timestamp::now();
            let happened = apply(&mut state, now)?;
            if state == before {
                return Ok(Some((record, state)));
            }
            state.modified = now;
            record.state = serde_json::to_value(&state)
                .map_err(|e| CoreError::internal(anyhow::anyhow!("meeting state: {e}")))?;
            record.version += 1;
            record.ended = state.end_time;
            record.due_at = state.due_at(self.config.drop_grace_ms);
            if self.store.save_meeting(&record, &state.content(), now).await? {
                self.announce(space, &record, &state, &happened);
                return Ok(Some((record, state)));
            }
        }
        Err(CoreError::new(
            ErrorCode::ServiceUnavailable,
            "the meeting is changing too fast; try again",
        ))
    }

    /// Publishes one `MEDIA_SESSION_RESPONSE` per happening, then `MESSAGE_SENT` for the
    /// history record when the meeting started, ended or a recording became ready.
    fn announce(
        &self,
        space: &SpaceRecord,
        record: &MeetingRecord,
        state: &MeetingState,
        happened: &[Happening],
    ) {
        for happening in happened {
            self.steer_forwarding(space, state, happening);
            if let Happening::RecordingEnded(id) = happening {
                self.finish_media_recording(space, record.id, state, *id);
            }
            self.publish(MediaEvent {
                id: ObjectId::new(),
                space: space.clone(),
                category: happening.category().to_owned(),
                sender: None,
                meeting_id: Some(record.id),
                content: state.event_content(happening),
                extra: Map::new(),
                audience: MediaAudience::Space,
                origin: None,
                loopback: None,
                at: state.modified,
            });
        }
        let record_changed = happened.iter().any(|h| {
            matches!(h, Happening::Started | Happening::Ended | Happening::RecordingReady(_))
        });
        if record_changed {
            let message = MessageRecord {
                id: record.id,
                space_id: space.id,
                category: MessageCategory::Meeting,
                sender_id: state.started_by,
                content: state.content(),
                parent_id: None,
                chat_count: 0,
                deleted: false,
                created: record.started,
                modified: state.modified,
            };
            let view = MessageView { message, space: space.clone(), sender: None };
            let event = DomainEvent::Message {
                view: Box::new(view),
                origin: None,
                hidden_from: Vec::new(),
            };
            self.events.publish(event);
        }
    }

    fn publish(&self, event: MediaEvent) {
        self.events.publish(DomainEvent::Media(Box::new(event)));
    }

    /// Relays a party's own event to the space (the origin gets its loopback copy).
    fn relay(
        &self,
        space: &SpaceRecord,
        principal: &Principal,
        input: &MediaInput,
        category: &str,
        meeting_id: Option<ObjectId>,
    ) {
        let mut extra = input.payload.clone();
        for key in
            ["_id", "category", "topicId", "content", "sender", "messageId", "loopbackMetadata"]
        {
            extra.remove(key);
        }
        let content =
            input.payload.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
        self.publish(MediaEvent {
            id: ObjectId::new(),
            space: space.clone(),
            category: category.to_owned(),
            sender: Some(principal.user.clone()),
            meeting_id,
            content,
            extra,
            audience: MediaAudience::Space,
            origin: Some(input.connection.clone()),
            loopback: input.payload.get("loopbackMetadata").cloned(),
            at: Timestamp::now(),
        });
    }

    /// `SEND_MEDIA_SESSION_EVENTS`: `tracksstatus` (or `trackstatus`) joins the meeting
    /// or updates one's media, starting the meeting if none runs; `connected: false`
    /// and `video.end` leave it; `space.call.*` signal 1:1 calls in direct spaces; any
    /// other category is relayed as it is. `app.event.*` categories are the server's.
    pub async fn media_event(&self, principal: &Principal, input: MediaInput) -> CoreResult<()> {
        let category =
            input.payload.get("category").and_then(Value::as_str).unwrap_or_default().to_owned();
        let valid_name = !category.is_empty()
            && category.len() <= 64
            && category.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_name {
            return Err(CoreError::invalid("category", "must name a media-session event"));
        }
        if category.starts_with("app.event.") {
            return Err(CoreError::invalid(
                "category",
                "app.event.* events come from the server alone",
            ));
        }
        if Value::Object(input.payload.clone()).to_string().len() > MAX_EVENT_BYTES {
            return Err(CoreError::new(
                ErrorCode::RequestTooLarge,
                format!("a media-session event is at most {MAX_EVENT_BYTES} bytes"),
            ));
        }
        let (space, _, _) = self.space_for(principal, parse_space(&input.space_id)?).await?;
        if space.status == SpaceStatus::Archived {
            return Err(CoreError::new(ErrorCode::TopicArchived, "the space is archived"));
        }
        if category.starts_with("space.call.") {
            return self.call_signal(&space, principal, &input, &category).await;
        }
        let _turn = self.turn(space.id).await;
        let media = input
            .payload
            .get("content")
            .and_then(|c| c.get("mediaSession"))
            .and_then(Value::as_object)
            .map(media_flags)
            .unwrap_or_default();
        let leaving = category == "video.end"
            || (matches!(category.as_str(), "tracksstatus" | "trackstatus")
                && media.get("connected") == Some(&Value::Bool(false)));
        if leaving {
            let meeting = self.store.active_meeting(space.id).await?.map(|m| m.id);
            self.relay(&space, principal, &input, &category, meeting);
            self.leave(&space, principal.user_id(), None).await?;
            return Ok(());
        }
        if matches!(category.as_str(), "tracksstatus" | "trackstatus") {
            let meeting = self.join(&space, principal, media, &input.connection).await?;
            self.relay(&space, principal, &input, &category, Some(meeting));
            return Ok(());
        }
        let meeting = self.store.active_meeting(space.id).await?.map(|m| m.id);
        self.relay(&space, principal, &input, &category, meeting);
        Ok(())
    }

    /// Joins (or updates) the principal in the running meeting, starting one if none
    /// runs. Returns the meeting's id.
    async fn join(
        &self,
        space: &SpaceRecord,
        principal: &Principal,
        media: Map<String, Value>,
        connection: &str,
    ) -> CoreResult<ObjectId> {
        let person = Person::of(&principal.user);
        let origin =
            Origin { connection: connection.to_owned(), node: self.config.node_id.clone() };
        for _ in 0..MAX_SAVE_ATTEMPTS {
            let joined = self
                .change(space, None, |state, now| {
                    Ok(state.join(person.clone(), media.clone(), origin.clone(), now))
                })
                .await?;
            if let Some((record, _)) = joined {
                return Ok(record.id);
            }
            if let Some(reopened) = self.reopen_recent(space, &person, &media, &origin).await? {
                return Ok(reopened);
            }
            let now = Timestamp::now();
            let (state, happened) =
                MeetingState::start(person.clone(), media.clone(), origin.clone(), now);
            let record = MeetingRecord {
                id: ObjectId::new(),
                space_id: space.id,
                state: serde_json::to_value(&state)
                    .map_err(|e| CoreError::internal(anyhow::anyhow!("meeting state: {e}")))?,
                version: 1,
                started: now,
                ended: None,
                due_at: None,
            };
            let summary = MessageRecord {
                id: record.id,
                space_id: space.id,
                category: MessageCategory::Meeting,
                sender_id: principal.user_id(),
                content: state.content(),
                parent_id: None,
                chat_count: 0,
                deleted: false,
                created: now,
                modified: now,
            };
            match self.store.start_meeting(&record, &summary).await {
                Ok(()) => {
                    self.announce(space, &record, &state, &happened);
                    return Ok(record.id);
                }
                // Someone else started one first: join theirs.
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(CoreError::new(
            ErrorCode::ServiceUnavailable,
            "the meeting is changing too fast; try again",
        ))
    }

    /// Reopens the space's last meeting when it ended less than [`REOPEN_WINDOW_MS`] ago,
    /// `person` joining it; `None` when there is none to reopen (or another change won
    /// the race, and the caller looks again).
    async fn reopen_recent(
        &self,
        space: &SpaceRecord,
        person: &Person,
        media: &Map<String, Value>,
        origin: &Origin,
    ) -> CoreResult<Option<ObjectId>> {
        let (newest, _) = self.store.meetings(space.id, None, None, 1).await?;
        let Some(mut record) = newest.into_iter().next() else { return Ok(None) };
        let now = Timestamp::now();
        if record.ended.is_none_or(|ended| now.millis() - ended.millis() >= REOPEN_WINDOW_MS) {
            return Ok(None);
        }
        let mut state = Self::parse_state(&record)?;
        if state.closed {
            return Ok(None);
        }
        let happened = state.reopen(person.clone(), media.clone(), origin.clone(), now);
        state.modified = now;
        record.state = serde_json::to_value(&state)
            .map_err(|e| CoreError::internal(anyhow::anyhow!("meeting state: {e}")))?;
        record.version += 1;
        record.ended = None;
        record.due_at = state.due_at(self.config.drop_grace_ms);
        match self.store.save_meeting(&record, &state.content(), now).await {
            Ok(true) => {
                self.announce(space, &record, &state, &happened);
                Ok(Some(record.id))
            }
            Ok(false) | Err(StoreError::Conflict { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// `user_id` leaves the space's running meeting; with `connection`, only if that is
    /// the connection their media came from (another device of theirs may be in it).
    async fn leave(
        &self,
        space: &SpaceRecord,
        user_id: ObjectId,
        connection: Option<&str>,
    ) -> CoreResult<()> {
        self.change(space, None, |state, now| {
            let theirs = match connection {
                Some(connection) => state.attendee_on(connection) == Some(user_id),
                None => true,
            };
            Ok(if theirs { state.leave(user_id, now, now) } else { Vec::new() })
        })
        .await?;
        Ok(())
    }

    /// `UNSUBSCRIBE_CHANNEL`: leaving the space's channel leaves its meeting.
    pub async fn left_space(
        &self,
        principal: &Principal,
        space_id: &str,
        connection: &str,
    ) -> CoreResult<()> {
        let Ok(space_id) = space_id.parse::<ObjectId>() else { return Ok(()) };
        let Some(space) = self.store.space_by_id(space_id).await? else { return Ok(()) };
        let _turn = self.turn(space.id).await;
        self.leave(&space, principal.user_id(), Some(connection)).await
    }

    /// A connection subscribed to `space_ids` went away: its attendees get the drop
    /// grace before they leave (see [`MeetingService::expire_drops`]).
    pub async fn connection_lost(&self, space_ids: &[String], connection: &str) -> CoreResult<()> {
        for space_id in space_ids {
            let Ok(space_id) = space_id.parse::<ObjectId>() else { continue };
            let Some(space) = self.store.space_by_id(space_id).await? else { continue };
            let _turn = self.turn(space.id).await;
            self.change(&space, None, |state, now| {
                state.connection_lost(connection, now);
                Ok(Vec::new())
            })
            .await?;
        }
        Ok(())
    }

    /// Lets attendees whose drop grace ran out leave (ending meetings they were last
    /// in). Any node may run it at any time: changes are compare-and-swap.
    pub async fn expire_drops(&self) -> CoreResult<usize> {
        let due = self.store.due_meetings(Timestamp::now(), 100).await?;
        let mut changed = 0;
        for record in due {
            let Some(space) = self.store.space_by_id(record.space_id).await? else { continue };
            let _turn = self.turn(space.id).await;
            let grace = self.config.drop_grace_ms;
            self.change(&space, Some(record.id), |state, now| Ok(state.expire_drops(now, grace)))
                .await
                .or_else(
                    |e| if e.code == ErrorCode::MeetingNotFound { Ok(None) } else { Err(e) },
                )?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Says this node is alive, and treats the connections of nodes that stopped
    /// saying so as dropped: their attendees get the grace, then leave. Each dead node
    /// is handled once, by whichever node notices first.
    pub async fn keep_alive(&self) -> CoreResult<usize> {
        let now = Timestamp::now();
        self.store.beat_node(&self.config.node_id, now).await?;
        let dead = self.store.take_dead_nodes(now.add_millis(-self.config.node_timeout_ms)).await?;
        let mut dropped = 0;
        for node in dead {
            tracing::warn!(
                node,
                "a node stopped answering; its meeting attendees count as dropped"
            );
            let mut after = None;
            loop {
                let page = self.store.active_meetings(after, 100).await?;
                after = page.last().map(|m| m.id);
                for record in &page {
                    let Some(space) = self.store.space_by_id(record.space_id).await? else {
                        continue;
                    };
                    let _turn = self.turn(space.id).await;
                    self.change(&space, Some(record.id), |state, now| {
                        dropped += usize::from(state.node_lost(&node, now));
                        Ok(Vec::new())
                    })
                    .await
                    .or_else(|e| {
                        if e.code == ErrorCode::MeetingNotFound { Ok(None) } else { Err(e) }
                    })?;
                }
                if page.len() < 100 {
                    break;
                }
            }
        }
        Ok(dropped)
    }

    /// A removed member leaves the space's meeting at once.
    pub async fn member_removed(&self, space_id: ObjectId, user_id: ObjectId) -> CoreResult<()> {
        self.end_media_of(space_id, user_id);
        let Some(space) = self.store.space_by_id(space_id).await? else { return Ok(()) };
        let _turn = self.turn(space.id).await;
        self.leave(&space, user_id, None).await
    }

    /// `GET /api/spaces/{id}/activemeeting`.
    pub async fn active(&self, principal: &Principal, space_id: &str) -> CoreResult<MeetingView> {
        let (space, _, _) = self.space_for(principal, parse_space(space_id)?).await?;
        let record = self.store.active_meeting(space.id).await?.ok_or_else(meeting_not_found)?;
        Ok(Self::view(&space, &record, &Self::parse_state(&record)?))
    }

    /// `GET /api/spaces/{id}/meetings`: newest first; guests see the meetings since
    /// they joined, as with messages.
    pub async fn history(
        &self,
        principal: &Principal,
        space_id: &str,
        before: Option<&str>,
        size: Option<u32>,
    ) -> CoreResult<MeetingPage> {
        // Like the message history, readable before joining by whoever could join.
        let (space, membership, party) =
            space_and_reader(self.store.as_ref(), principal, parse_space(space_id)?).await?;
        let Some(membership) = membership else {
            return Err(CoreError::permission_denied(
                "only members of the space read its meetings",
            ));
        };
        let since = reads_since(&space, &membership, party.anonymous);
        let before = match before.filter(|b| !b.is_empty()) {
            Some(b) => Some(
                b.parse::<ObjectId>()
                    .map_err(|_| CoreError::invalid("before", "is not a meeting id"))?,
            ),
            None => None,
        };
        let size = size.unwrap_or(50).clamp(1, MAX_HISTORY_PAGE);
        let (records, total) = self.store.meetings(space.id, since, before, size).await?;
        let next_before =
            (records.len() == size as usize).then(|| records.last().map(|r| r.id)).flatten();
        let meetings = records
            .iter()
            .map(|r| Ok(Self::view(&space, r, &Self::parse_state(r)?)))
            .collect::<CoreResult<Vec<_>>>()?;
        Ok(MeetingPage { meetings, total, next_before })
    }

    /// `GET /api/mediasessions/mpaas/token/{spaceId}`: a media token for a new media
    /// session in the space's conference (`settings.confId`).
    pub async fn media_token(
        &self,
        principal: &Principal,
        space_id: &str,
    ) -> CoreResult<MediaToken> {
        let (space, _, _) = self.space_for(principal, parse_space(space_id)?).await?;
        let conf_id =
            space.settings.get("confId").and_then(Value::as_str).unwrap_or_default().to_owned();
        let grant = MediaGrant {
            space_id: space.id,
            conf_id,
            session_id: uuid::Uuid::new_v4().to_string(),
        };
        let (token, expires_at) =
            self.identity.media_token(principal, &grant, self.config.media_token_ttl_secs)?;
        // Where its media will go: the space's host, taken by this node when it has none.
        let media_address = self.media_host(space.id).await?.map(|host| host.address);
        Ok(MediaToken {
            token,
            session_id: grant.session_id,
            conf_id: grant.conf_id,
            expires_at,
            media_address,
        })
    }

    fn is_direct(space: &SpaceRecord) -> bool {
        space.kind == SpaceKind::Direct
    }
}

/// Lets a [`MeetingService`] hear the domain events it reacts to (a removed member
/// leaves the meeting) without owning the sink it publishes to: it is bound once the
/// service exists.
#[derive(Default)]
pub struct MeetingReactions {
    service: OnceLock<Weak<MeetingService>>,
}

impl MeetingReactions {
    pub fn bind(&self, service: &Arc<MeetingService>) {
        let _ = self.service.set(Arc::downgrade(service));
    }
}

impl EventSink for MeetingReactions {
    fn publish(&self, event: DomainEvent) {
        let DomainEvent::MemberRemoved { space_id, user_id, .. } = event else { return };
        let Some(service) = self.service.get().and_then(Weak::upgrade) else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            if let Err(error) = service.member_removed(space_id, user_id).await {
                tracing::warn!(%error, "a removed member could not be taken out of the meeting");
            }
        });
    }
}

/// What a client reports of its conference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConferenceEvent {
    Start,
    Stop,
}

impl ConferenceEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ConferenceEvent::Start => "start",
            ConferenceEvent::Stop => "stop",
        }
    }
}
