//! A meeting's state and its transitions, as pure functions: what the store keeps (as
//! one JSON document) and what each change makes happen. No I/O here, so every rule of
//! the state machine is unit-tested.
//!
//! Just over 800 lines: the whole state machine in one place, so that every transition
//! can be read beside the others.

use plaza_db::{ObjectId, Timestamp, UserRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The permissions a raised hand may ask for.
pub const PERMISSIONS: [&str; 3] =
    ["PERMISSION_UNMUTE", "PERMISSION_VIDEO", "PERMISSION_SCREENSHARE"];

/// Media-state flags clients report and the server keeps (other keys are dropped).
const MEDIA_FLAGS: [&str; 7] =
    ["audio", "video", "connected", "screenshare", "selfMuted", "phone", "isCollabOnly"];

/// A person as meetings show them, captured when they join.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    #[serde(rename = "type")]
    pub kind: String,
    pub username: String,
    pub displayname: String,
    #[serde(default)]
    pub picture_url: Option<String>,
}

impl Person {
    pub fn of(user: &UserRecord) -> Self {
        Person {
            id: user.id,
            kind: user.kind.as_str().to_owned(),
            username: user.username.clone(),
            displayname: user.displayname.clone(),
            picture_url: user.picture_url.clone(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "_id": self.id,
            "type": self.kind,
            "username": self.username,
            "displayname": self.displayname,
            "picture_url": self.picture_url,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RaisedHand {
    pub requested_permissions: Vec<String>,
    pub time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attendee {
    pub person: Person,
    pub join_time: Timestamp,
    /// `None` while in the meeting.
    pub left_time: Option<Timestamp>,
    /// The last media state reported (`audio`, `video`, `screenshare`, ...).
    pub media_session: Map<String, Value>,
    /// Media-server session ids seen for this attendee, oldest first.
    pub mdsrv_sessions: Vec<String>,
    pub raised_hand: Option<RaisedHand>,
    pub granted_permissions: Vec<String>,
    /// The connection that last reported this attendee's media; losing it starts the
    /// drop grace. Never shown to clients.
    pub connection: Option<String>,
    /// The server process holding that connection: if it dies, the connection is lost
    /// with it.
    #[serde(default)]
    pub node: Option<String>,
    /// When that connection was lost, while the attendee is in their grace period.
    pub lost_at: Option<Timestamp>,
}

impl Attendee {
    pub fn present(&self) -> bool {
        self.left_time.is_none()
    }

    pub fn to_json(&self) -> Value {
        let mut person = self.person.to_json();
        let extra = json!({
            "joinTime": self.join_time,
            "leftTime": self.left_time,
            "mdsrvSessions": self.mdsrv_sessions.iter().map(|id| json!({"_id": id})).collect::<Vec<_>>(),
            "mediaSession": self.media_session,
            "raisedHand": self.raised_hand.as_ref().map(|hand| json!({
                "requestedPermissions": hand.requested_permissions,
                "time": hand.time,
            })),
            "grantedPermissions": self.granted_permissions,
        });
        if let (Some(person), Value::Object(extra)) = (person.as_object_mut(), extra) {
            person.extend(extra);
        }
        person
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    pub id: ObjectId,
    pub started_by: Person,
    pub start_time: Timestamp,
    pub end_time: Option<Timestamp>,
    /// `started`, `ended`, then `ready` once its metadata is final (and, when the SFU
    /// recorded it, its files are stored).
    pub status: String,
    pub modified: Timestamp,
    /// The SFU records the media: the recording is ready once its files are stored.
    #[serde(default)]
    pub media: bool,
    /// The stored files, once ready.
    #[serde(default)]
    pub files: Vec<RecordingFile>,
    /// Why the server stopped it (`quota`: its owner's storage is full), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

/// One stored file of a recording: a person's audio or video track (WebM).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingFile {
    /// The file's storage key (`fileId`: downloads go through the files API).
    pub file_id: String,
    pub name: String,
    /// `audio/webm` or `video/webm`.
    pub mime_type: String,
    /// Bytes.
    pub size: u64,
    /// Milliseconds, from the recording's start to the track's end.
    pub duration: u64,
    /// Whose track, when known.
    pub user_id: Option<ObjectId>,
}

impl RecordingFile {
    /// The file as a native attachment of the meeting (`content.data[]`).
    fn to_attachment(&self, recording: ObjectId) -> Value {
        let family = self.mime_type.split('/').next().unwrap_or("video");
        json!({
            "provider": "native",
            "fileId": self.file_id,
            "name": self.name,
            "fileSize": self.size,
            "fileType": family,
            "providerFileType": self.mime_type,
            "duration": self.duration,
            "userId": self.user_id,
            "recordingId": recording,
        })
    }
}

impl Recording {
    pub fn running(&self) -> bool {
        self.end_time.is_none()
    }

    fn to_json(&self) -> Value {
        json!({
            "_id": self.id,
            "startedBy": self.started_by.to_json(),
            "startTime": self.start_time,
            "endTime": self.end_time,
            "status": self.status,
            "duration": self.end_time.map(|end| end.millis() - self.start_time.millis()),
            "modified": self.modified,
            "stopReason": self.stop_reason,
            "data": self.attachments(),
        })
    }

    fn attachments(&self) -> Vec<Value> {
        self.files.iter().map(|f| f.to_attachment(self.id)).collect()
    }
}

/// A client's own report that its conference started or stopped
/// (`POST /api/analytics/video/conference/start|stop`), kept in the meeting's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceReport {
    /// `start` or `stop`.
    pub event: String,
    pub user_id: ObjectId,
    pub at: Timestamp,
    /// The duration the client reported, in seconds, if any.
    pub duration: Option<f64>,
}

/// Reports kept per meeting at most: the oldest go first, so a looping client cannot
/// grow the meeting's document without bound.
pub const MAX_CONFERENCE_REPORTS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    pub layout: String,
    pub background_theme: Option<String>,
}

/// Where an attendee's media was reported from: a connection on a server process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub connection: String,
    pub node: String,
}

/// What a change made happen, in order; each becomes one `MEDIA_SESSION_RESPONSE`.
#[derive(Debug, Clone, PartialEq)]
pub enum Happening {
    Started,
    Added(ObjectId),
    Left(ObjectId),
    Ended,
    RecordingStarted(ObjectId),
    RecordingEnded(ObjectId),
    RecordingReady(ObjectId),
    /// Everyone but `exclude` was muted.
    AllMuted {
        exclude: Vec<ObjectId>,
    },
    /// The server changed this attendee's media (an admin muted them).
    MediaChanged(ObjectId),
    PermissionRequested(ObjectId),
    PermissionGranted(ObjectId, Vec<String>),
    PermissionRejected(ObjectId, Vec<String>),
    LayoutChanged,
}

impl Happening {
    pub fn category(&self) -> &'static str {
        match self {
            Happening::Started => "app.event.meeting.started",
            Happening::Added(_) => "app.event.attendee.added",
            Happening::Left(_) => "app.event.attendee.left",
            Happening::Ended => "app.event.meeting.ended",
            Happening::RecordingStarted(_) => "app.event.recording.started",
            Happening::RecordingEnded(_) => "app.event.recording.ended",
            Happening::RecordingReady(_) => "app.event.recording.ready",
            Happening::AllMuted { .. } => "app.event.all.parties.muted",
            Happening::MediaChanged(_) => "tracksstatus",
            Happening::PermissionRequested(_) => "app.event.meeting.permission.requested",
            Happening::PermissionGranted(..) => "app.event.meeting.permission.granted",
            Happening::PermissionRejected(..) => "app.event.meeting.permission.rejected",
            Happening::LayoutChanged => "app.event.meeting.layout.changed",
        }
    }
}

/// The state of one meeting, stored whole by the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingState {
    pub media_mode: String,
    /// Who started it (its history record is theirs in the store).
    pub started_by: ObjectId,
    pub start_time: Timestamp,
    /// When the server ended it.
    pub end_time: Option<Timestamp>,
    /// When the last attendee really went away: the same as `end_time`, except when the
    /// last one dropped and the server ended the meeting after their grace.
    pub virtual_end_time: Option<Timestamp>,
    /// Everyone who joined, in joining order.
    pub attendees: Vec<Attendee>,
    /// Oldest first.
    pub recordings: Vec<Recording>,
    pub layout: Option<Layout>,
    pub modified: Timestamp,
    /// Clients' start/stop reports, oldest first (absent in meetings stored before).
    #[serde(default)]
    pub conference_reports: Vec<ConferenceReport>,
    /// Ended on purpose (`.../end`), so never reopened by a quick restart.
    #[serde(default)]
    pub closed: bool,
}

/// Keeps the known media flags of a reported `mediaSession`, and the session id.
pub fn media_flags(reported: &Map<String, Value>) -> Map<String, Value> {
    let mut kept: Map<String, Value> = MEDIA_FLAGS
        .iter()
        .filter_map(|flag| {
            reported.get(*flag).filter(|v| v.is_boolean()).map(|v| ((*flag).to_owned(), v.clone()))
        })
        .collect();
    if let Some(session) = reported.get("mdsrvSessionId").and_then(Value::as_str) {
        kept.insert("mdsrvSessionId".into(), json!(session));
    }
    kept
}

impl MeetingState {
    /// A meeting started by `starter`, whose media is `media`.
    pub fn start(
        starter: Person,
        media: Map<String, Value>,
        origin: Origin,
        at: Timestamp,
    ) -> (Self, Vec<Happening>) {
        let video = media.get("video").and_then(Value::as_bool).unwrap_or(false);
        let mut state = MeetingState {
            media_mode: if video { "video" } else { "audio" }.to_owned(),
            started_by: starter.id,
            start_time: at,
            end_time: None,
            virtual_end_time: None,
            attendees: Vec::new(),
            recordings: Vec::new(),
            layout: None,
            modified: at,
            conference_reports: Vec::new(),
            closed: false,
        };
        let mut happened = vec![Happening::Started];
        happened.extend(state.join(starter, media, origin, at));
        (state, happened)
    }

    pub fn active(&self) -> bool {
        self.end_time.is_none()
    }

    /// The ended meeting runs again, `person` joining it: media that was toggled off
    /// and on continues one meeting instead of starting another.
    pub fn reopen(
        &mut self,
        person: Person,
        media: Map<String, Value>,
        origin: Origin,
        at: Timestamp,
    ) -> Vec<Happening> {
        self.end_time = None;
        self.virtual_end_time = None;
        let mut happened = vec![Happening::Started];
        happened.extend(self.join(person, media, origin, at));
        happened
    }

    pub fn attendee(&self, id: ObjectId) -> Option<&Attendee> {
        self.attendees.iter().find(|a| a.person.id == id && a.present())
    }

    fn attendee_mut(&mut self, id: ObjectId) -> Option<&mut Attendee> {
        self.attendees.iter_mut().find(|a| a.person.id == id && a.present())
    }

    pub fn running_recording(&self) -> Option<&Recording> {
        self.recordings.iter().find(|r| r.running())
    }

    /// `person` reports media from `connection`: joins them, or updates their state
    /// (a reconnect within the grace simply continues).
    pub fn join(
        &mut self,
        person: Person,
        media: Map<String, Value>,
        origin: Origin,
        at: Timestamp,
    ) -> Vec<Happening> {
        let session = media.get("mdsrvSessionId").and_then(Value::as_str).map(str::to_owned);
        if let Some(attendee) = self.attendee_mut(person.id) {
            attendee.media_session.extend(media);
            attendee.connection = Some(origin.connection);
            attendee.node = Some(origin.node);
            attendee.lost_at = None;
            if let Some(session) = session.filter(|s| !attendee.mdsrv_sessions.contains(s)) {
                attendee.mdsrv_sessions.push(session);
            }
            return Vec::new();
        }
        let id = person.id;
        // Someone who left and comes back is the same attendee, joining again.
        self.attendees.retain(|a| a.person.id != id);
        self.attendees.push(Attendee {
            person,
            join_time: at,
            left_time: None,
            media_session: media,
            mdsrv_sessions: session.into_iter().collect(),
            raised_hand: None,
            granted_permissions: Vec::new(),
            connection: Some(origin.connection),
            node: Some(origin.node),
            lost_at: None,
        });
        vec![Happening::Added(id)]
    }

    /// `id` left at `at` (now is `now`); the last one out ends the meeting.
    pub fn leave(&mut self, id: ObjectId, at: Timestamp, now: Timestamp) -> Vec<Happening> {
        let Some(attendee) = self.attendee_mut(id) else { return Vec::new() };
        attendee.left_time = Some(at);
        attendee.connection = None;
        attendee.lost_at = None;
        attendee.raised_hand = None;
        let mut happened = vec![Happening::Left(id)];
        if !self.attendees.iter().any(Attendee::present) {
            let last_presence =
                self.attendees.iter().filter_map(|a| a.left_time).max().unwrap_or(at);
            happened.extend(self.end(now, last_presence));
        }
        happened
    }

    /// Ends the meeting on purpose: as [`MeetingState::end`], and it stays ended.
    pub fn close(&mut self, now: Timestamp) -> Vec<Happening> {
        self.closed = true;
        self.end(now, now)
    }

    /// Ends the meeting for everyone at `now`; the last real presence was at `virtual_end`.
    pub fn end(&mut self, now: Timestamp, virtual_end: Timestamp) -> Vec<Happening> {
        let mut happened = Vec::new();
        if let Some(running) = self.running_recording().map(|r| r.id) {
            happened.extend(self.stop_recording(running, now));
        }
        for attendee in self.attendees.iter_mut().filter(|a| a.present()) {
            attendee.left_time = Some(now);
            attendee.connection = None;
            attendee.lost_at = None;
            attendee.raised_hand = None;
        }
        self.end_time = Some(now);
        self.virtual_end_time = Some(virtual_end.min(now));
        happened.push(Happening::Ended);
        happened
    }

    /// The attendee reporting media from `connection`, if any, lost it at `at`.
    pub fn connection_lost(&mut self, connection: &str, at: Timestamp) -> bool {
        let mut changed = false;
        for attendee in self.attendees.iter_mut().filter(|a| a.present()) {
            if attendee.connection.as_deref() == Some(connection) && attendee.lost_at.is_none() {
                attendee.lost_at = Some(at);
                changed = true;
            }
        }
        changed
    }

    /// Every connection of server process `node` was lost at `at` (it died).
    pub fn node_lost(&mut self, node: &str, at: Timestamp) -> bool {
        let mut changed = false;
        for attendee in self.attendees.iter_mut().filter(|a| a.present()) {
            if attendee.node.as_deref() == Some(node) && attendee.lost_at.is_none() {
                attendee.lost_at = Some(at);
                changed = true;
            }
        }
        changed
    }

    /// The attendee whose media `connection` reported, if they are still in.
    pub fn attendee_on(&self, connection: &str) -> Option<ObjectId> {
        self.attendees
            .iter()
            .find(|a| a.present() && a.connection.as_deref() == Some(connection))
            .map(|a| a.person.id)
    }

    /// Attendees whose grace ran out by `now` leave, as of when they dropped.
    pub fn expire_drops(&mut self, now: Timestamp, grace_ms: i64) -> Vec<Happening> {
        let mut expired: Vec<(ObjectId, Timestamp)> = self
            .attendees
            .iter()
            .filter(|a| a.present())
            .filter_map(|a| a.lost_at.map(|lost| (a.person.id, lost)))
            .filter(|(_, lost)| lost.add_millis(grace_ms) <= now)
            .collect();
        expired.sort_by_key(|(_, lost)| *lost);
        expired.into_iter().flat_map(|(id, lost)| self.leave(id, lost, now)).collect()
    }

    /// When the server must next look at this meeting: the earliest end of a grace.
    pub fn due_at(&self, grace_ms: i64) -> Option<Timestamp> {
        if !self.active() {
            return None;
        }
        self.attendees
            .iter()
            .filter(|a| a.present())
            .filter_map(|a| a.lost_at)
            .min()
            .map(|lost| lost.add_millis(grace_ms))
    }

    pub fn start_recording(&mut self, id: ObjectId, by: Person, at: Timestamp) -> Vec<Happening> {
        self.recordings.push(Recording {
            id,
            started_by: by,
            start_time: at,
            end_time: None,
            status: "started".into(),
            modified: at,
            media: false,
            files: Vec::new(),
            stop_reason: None,
        });
        vec![Happening::RecordingStarted(id)]
    }

    /// The SFU records the media of recording `id`: it is ready once its files are in.
    pub fn recording_has_media(&mut self, id: ObjectId) -> Vec<Happening> {
        if let Some(recording) = self.recordings.iter_mut().find(|r| r.id == id && r.running()) {
            recording.media = true;
        }
        Vec::new()
    }

    /// Stops a running recording. Without media to store, its metadata (end time,
    /// duration) is final at once and it is ready; with media, it is ready when
    /// [`MeetingState::finish_recording`] brings its files.
    pub fn stop_recording(&mut self, id: ObjectId, at: Timestamp) -> Vec<Happening> {
        let Some(recording) = self.recordings.iter_mut().find(|r| r.id == id && r.running()) else {
            return Vec::new();
        };
        recording.end_time = Some(at);
        recording.modified = at;
        if recording.media {
            recording.status = "ended".into();
            return vec![Happening::RecordingEnded(id)];
        }
        recording.status = "ready".into();
        vec![Happening::RecordingEnded(id), Happening::RecordingReady(id)]
    }

    /// The server stops a running recording for `reason` (see [`Recording::stop_reason`]).
    pub fn stop_recording_because(
        &mut self,
        id: ObjectId,
        reason: &str,
        at: Timestamp,
    ) -> Vec<Happening> {
        if let Some(recording) = self.recordings.iter_mut().find(|r| r.id == id && r.running()) {
            recording.stop_reason = Some(reason.to_owned());
        }
        self.stop_recording(id, at)
    }

    /// The stored files of an ended recording: it is ready.
    pub fn finish_recording(
        &mut self,
        id: ObjectId,
        files: Vec<RecordingFile>,
        at: Timestamp,
    ) -> Vec<Happening> {
        let Some(recording) =
            self.recordings.iter_mut().find(|r| r.id == id && !r.running() && r.status != "ready")
        else {
            return Vec::new();
        };
        recording.files = files;
        recording.status = "ready".into();
        recording.modified = at;
        vec![Happening::RecordingReady(id)]
    }

    /// Every recording's files, as the meeting's attachments (`content.data[]`): what
    /// makes them readable to whoever reads the meeting.
    fn attachments(&self) -> Vec<Value> {
        self.recordings.iter().rev().flat_map(Recording::attachments).collect()
    }

    /// Mutes every attendee but `exclude`.
    pub fn mute_all(&mut self, exclude: Vec<ObjectId>) -> Vec<Happening> {
        for attendee in self.attendees.iter_mut().filter(|a| a.present()) {
            if !exclude.contains(&attendee.person.id) {
                attendee.media_session.insert("audio".into(), json!(false));
            }
        }
        vec![Happening::AllMuted { exclude }]
    }

    /// Applies media flags to one attendee; nothing happens when nothing changes.
    pub fn set_media(&mut self, id: ObjectId, flags: Map<String, Value>) -> Option<Vec<Happening>> {
        let attendee = self.attendee_mut(id)?;
        let changed = flags.iter().any(|(k, v)| attendee.media_session.get(k) != Some(v));
        attendee.media_session.extend(flags);
        Some(if changed { vec![Happening::MediaChanged(id)] } else { Vec::new() })
    }

    pub fn raise_hand(
        &mut self,
        id: ObjectId,
        permissions: Vec<String>,
        at: Timestamp,
    ) -> Option<Vec<Happening>> {
        let attendee = self.attendee_mut(id)?;
        if attendee.raised_hand.as_ref().is_some_and(|h| h.requested_permissions == permissions) {
            return Some(Vec::new());
        }
        attendee.raised_hand = Some(RaisedHand { requested_permissions: permissions, time: at });
        Some(vec![Happening::PermissionRequested(id)])
    }

    /// Answers a raised hand: granting adds the permissions, either way the hand goes
    /// down. `None` when the attendee is not in, `Some(None)` when no hand is up.
    pub fn answer_hand(
        &mut self,
        id: ObjectId,
        grant: bool,
        permissions: Vec<String>,
    ) -> Option<Option<Vec<Happening>>> {
        let attendee = self.attendee_mut(id)?;
        if attendee.raised_hand.take().is_none() {
            return Some(None);
        }
        if grant {
            for permission in &permissions {
                if !attendee.granted_permissions.contains(permission) {
                    attendee.granted_permissions.push(permission.clone());
                }
            }
            return Some(Some(vec![Happening::PermissionGranted(id, permissions)]));
        }
        Some(Some(vec![Happening::PermissionRejected(id, permissions)]))
    }

    /// Keeps a client's conference report; announces nothing.
    pub fn report_conference(&mut self, report: ConferenceReport) -> Vec<Happening> {
        if self.conference_reports.len() >= MAX_CONFERENCE_REPORTS {
            self.conference_reports.remove(0);
        }
        self.conference_reports.push(report);
        Vec::new()
    }

    pub fn set_layout(&mut self, layout: Layout) -> Vec<Happening> {
        if self.layout.as_ref() == Some(&layout) {
            return Vec::new();
        }
        self.layout = Some(layout);
        vec![Happening::LayoutChanged]
    }

    /// The meeting's `content` as clients read it (seed 002, catalog §7.6): while it
    /// runs, `attendees` lists who is in; once it ended, everyone who took part.
    /// Recordings are newest first, so the one an event is about is `recordings[0]`.
    pub fn content(&self) -> Map<String, Value> {
        let attendees: Vec<Value> = self
            .attendees
            .iter()
            .filter(|a| !self.active() || a.present())
            .map(Attendee::to_json)
            .collect();
        let recordings: Vec<Value> = self.recordings.iter().rev().map(Recording::to_json).collect();
        let content = json!({
            "bodyText": "",
            "startTime": self.start_time,
            "endTime": self.end_time,
            "virtualEndTime": self.virtual_end_time,
            "mediaMode": self.media_mode,
            "meetingStatus": if self.active() { "active" } else { "inactive" },
            "attendees": attendees,
            "recordings": recordings,
            "layout": self.layout.as_ref().map(|l| json!({"layout": l.layout, "backgroundTheme": l.background_theme})),
            "conferenceReports": self.conference_reports,
            "data": self.attachments(),
        });
        match content {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// The content of the event announcing `happening`: the meeting's content plus what
    /// is particular to it.
    pub fn event_content(&self, happening: &Happening) -> Map<String, Value> {
        let mut content = self.content();
        let attendee_of = |id: &ObjectId| {
            self.attendees.iter().find(|a| a.person.id == *id).map(Attendee::to_json)
        };
        match happening {
            Happening::Added(id) | Happening::Left(id) | Happening::PermissionRequested(id) => {
                content.insert("attendee".into(), json!(attendee_of(id)));
                content.insert("targetId".into(), json!(id));
                if let Some(hand) = self.attendee(*id).and_then(|a| a.raised_hand.as_ref()) {
                    content
                        .insert("requestedPermissions".into(), json!(hand.requested_permissions));
                }
            }
            Happening::MediaChanged(id) => {
                let attendee = attendee_of(id);
                let media = attendee.as_ref().and_then(|a| a.get("mediaSession")).cloned();
                content.insert("attendee".into(), json!(attendee));
                content.insert("targetId".into(), json!(id));
                content.insert("mediaSession".into(), media.unwrap_or(Value::Null));
            }
            Happening::PermissionGranted(id, permissions) => {
                content.insert("attendee".into(), json!(attendee_of(id)));
                content.insert("targetId".into(), json!(id));
                content.insert("grantedPermissions".into(), json!(permissions));
            }
            Happening::PermissionRejected(id, permissions) => {
                content.insert("attendee".into(), json!(attendee_of(id)));
                content.insert("targetId".into(), json!(id));
                content.insert("rejectedPermissions".into(), json!(permissions));
            }
            Happening::AllMuted { exclude } => {
                let exclude: Vec<Value> =
                    exclude.iter().map(|id| json!({"attendeeId": id})).collect();
                content.insert("exclude".into(), json!(exclude));
            }
            Happening::RecordingEnded(id) | Happening::RecordingReady(id) => {
                // The event's `data[]` is that recording's files (none until ready).
                let files = self.recordings.iter().find(|r| r.id == *id);
                content.insert(
                    "data".into(),
                    json!(files.map(Recording::attachments).unwrap_or_default()),
                );
            }
            Happening::Started
            | Happening::Ended
            | Happening::RecordingStarted(_)
            | Happening::LayoutChanged => {}
        }
        content
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str) -> Person {
        Person {
            id: ObjectId::new(),
            kind: "user".into(),
            username: format!("{name}@example.com"),
            displayname: name.into(),
            picture_url: None,
        }
    }

    fn media(video: bool) -> Map<String, Value> {
        media_flags(json!({"audio": true, "video": video, "connected": true, "bogus": 1, "mdsrvSessionId": "s1"}).as_object().unwrap())
    }

    fn origin(connection: &str) -> Origin {
        Origin { connection: connection.into(), node: "node-1".into() }
    }

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000 + millis)
    }

    #[test]
    fn the_first_attendee_starts_and_the_last_one_out_ends() {
        let (ann, bob) = (person("ann"), person("bob"));
        let (mut state, happened) =
            MeetingState::start(ann.clone(), media(true), origin("c1"), at(0));
        assert_eq!(happened, vec![Happening::Started, Happening::Added(ann.id)]);
        assert_eq!(state.media_mode, "video");
        assert_eq!(
            state.attendee(ann.id).unwrap().media_session.get("bogus"),
            None,
            "unknown flags dropped"
        );
        assert_eq!(state.attendee(ann.id).unwrap().mdsrv_sessions, vec!["s1".to_owned()]);
        assert_eq!(
            state.join(bob.clone(), media(false), origin("c2"), at(1)),
            vec![Happening::Added(bob.id)]
        );
        assert!(
            state.join(bob.clone(), media(true), origin("c2"), at(2)).is_empty(),
            "an update is no join"
        );
        assert_eq!(state.content()["attendees"].as_array().unwrap().len(), 2);
        assert_eq!(state.leave(ann.id, at(3), at(3)), vec![Happening::Left(ann.id)]);
        assert!(state.leave(ann.id, at(3), at(3)).is_empty(), "leaving twice is nothing");
        assert_eq!(
            state.content()["attendees"].as_array().unwrap().len(),
            1,
            "only who is in, while it runs"
        );
        assert_eq!(
            state.leave(bob.id, at(4), at(4)),
            vec![Happening::Left(bob.id), Happening::Ended]
        );
        let content = state.content();
        assert_eq!(content["meetingStatus"], "inactive");
        assert_eq!(content["endTime"], json!(at(4)));
        assert_eq!(content["virtualEndTime"], json!(at(4)));
        assert_eq!(content["attendees"].as_array().unwrap().len(), 2, "everyone, once ended");
    }

    #[test]
    fn a_dropped_attendee_leaves_after_the_grace_unless_they_come_back() {
        let (ann, bob) = (person("ann"), person("bob"));
        let (mut state, _) = MeetingState::start(ann.clone(), media(false), origin("c1"), at(0));
        state.join(bob.clone(), media(false), origin("c2"), at(1));
        assert!(state.connection_lost("c1", at(10)));
        assert!(!state.connection_lost("c9", at(10)), "an unknown connection changes nothing");
        assert_eq!(state.due_at(500), Some(at(510)));
        assert!(state.expire_drops(at(509), 500).is_empty());
        // Ann reconnects on a new connection within her grace: nothing happened.
        assert!(state.join(ann.clone(), media(false), origin("c3"), at(300)).is_empty());
        assert_eq!(state.due_at(500), None);
        assert!(state.expire_drops(at(10_000), 500).is_empty());
        // Both drop; each leaves as of their drop; the virtual end is the later drop.
        state.connection_lost("c3", at(1000));
        state.connection_lost("c2", at(1200));
        assert_eq!(state.expire_drops(at(1600), 500), vec![Happening::Left(ann.id)]);
        assert_eq!(
            state.expire_drops(at(1800), 500),
            vec![Happening::Left(bob.id), Happening::Ended]
        );
        assert_eq!(state.attendees[0].left_time, Some(at(1000)));
        assert_eq!((state.end_time, state.virtual_end_time), (Some(at(1800)), Some(at(1200))));
        assert_eq!(state.due_at(500), None);
    }

    #[test]
    fn a_dead_node_drops_only_its_own_attendees() {
        let (ann, bob) = (person("ann"), person("bob"));
        let (mut state, _) = MeetingState::start(ann.clone(), media(false), origin("c1"), at(0));
        let elsewhere = Origin { connection: "c2".into(), node: "node-2".into() };
        state.join(bob.clone(), media(false), elsewhere, at(1));
        assert!(state.node_lost("node-2", at(10)));
        assert!(!state.node_lost("node-2", at(11)), "already counted");
        assert_eq!(state.expire_drops(at(510), 500), vec![Happening::Left(bob.id)]);
        assert!(state.attendee(ann.id).is_some());
    }

    #[test]
    fn a_recording_with_media_is_ready_when_its_files_are_in() {
        let ann = person("ann");
        let (mut state, _) = MeetingState::start(ann.clone(), media(true), origin("c1"), at(0));
        let id = ObjectId::new();
        state.start_recording(id, ann.clone(), at(1));
        state.recording_has_media(id);
        // Stopped (or ended with the meeting): ended, not ready, no files yet.
        assert_eq!(state.stop_recording(id, at(4)), vec![Happening::RecordingEnded(id)]);
        assert_eq!(state.content()["recordings"][0]["status"], "ended");
        let ended = state.event_content(&Happening::RecordingEnded(id));
        assert_eq!(ended["data"], json!([]));
        let file = RecordingFile {
            file_id: "k1".into(),
            name: "ann-video-1.webm".into(),
            mime_type: "video/webm".into(),
            size: 1234,
            duration: 3000,
            user_id: Some(ann.id),
        };
        let happened = state.finish_recording(id, vec![file], at(6));
        assert_eq!(happened, vec![Happening::RecordingReady(id)]);
        assert!(state.finish_recording(id, Vec::new(), at(7)).is_empty(), "ready once");
        let ready = state.event_content(&Happening::RecordingReady(id));
        let item = &ready["data"][0];
        assert_eq!(
            (&item["fileId"], &item["fileType"], &item["providerFileType"], &item["fileSize"]),
            (&json!("k1"), &json!("video"), &json!("video/webm"), &json!(1234))
        );
        assert_eq!(item["recordingId"], json!(id));
        // The meeting attaches every recording's files.
        assert_eq!(state.content()["data"][0]["fileId"], "k1");
        assert_eq!(state.content()["recordings"][0]["data"][0]["duration"], 3000);
    }

    #[test]
    fn recordings_stop_with_the_meeting_and_list_newest_first() {
        let ann = person("ann");
        let (mut state, _) = MeetingState::start(ann.clone(), media(false), origin("c1"), at(0));
        let (first, second) = (ObjectId::new(), ObjectId::new());
        state.start_recording(first, ann.clone(), at(1));
        assert_eq!(
            state.stop_recording(first, at(5)),
            vec![Happening::RecordingEnded(first), Happening::RecordingReady(first)]
        );
        assert!(state.stop_recording(first, at(6)).is_empty(), "already stopped");
        state.start_recording(second, ann.clone(), at(7));
        assert_eq!(state.content()["recordings"][0]["_id"], json!(second));
        assert_eq!(state.content()["recordings"][1]["duration"], 4);
        let happened = state.leave(ann.id, at(9), at(9));
        assert_eq!(
            happened,
            vec![
                Happening::Left(ann.id),
                Happening::RecordingEnded(second),
                Happening::RecordingReady(second),
                Happening::Ended
            ]
        );
    }

    #[test]
    fn hands_mutes_and_layout_change_only_what_they_name() {
        let (ann, bob) = (person("ann"), person("bob"));
        let (mut state, _) = MeetingState::start(ann.clone(), media(false), origin("c1"), at(0));
        state.join(bob.clone(), media(false), origin("c2"), at(1));
        let unmute = vec!["PERMISSION_UNMUTE".to_owned()];
        assert_eq!(
            state.raise_hand(bob.id, unmute.clone(), at(2)),
            Some(vec![Happening::PermissionRequested(bob.id)])
        );
        assert_eq!(state.raise_hand(bob.id, unmute.clone(), at(3)), Some(vec![]), "raised already");
        assert_eq!(
            state.answer_hand(bob.id, true, unmute.clone()),
            Some(Some(vec![Happening::PermissionGranted(bob.id, unmute.clone())]))
        );
        assert_eq!(state.answer_hand(bob.id, true, unmute.clone()), Some(None), "no hand is up");
        assert_eq!(state.attendee(bob.id).unwrap().granted_permissions, unmute);
        assert_eq!(
            state.raise_hand(ObjectId::new(), unmute.clone(), at(4)),
            None,
            "not an attendee"
        );

        assert_eq!(
            state.mute_all(vec![ann.id]),
            vec![Happening::AllMuted { exclude: vec![ann.id] }]
        );
        assert_eq!(state.attendee(ann.id).unwrap().media_session["audio"], true);
        assert_eq!(state.attendee(bob.id).unwrap().media_session["audio"], false);
        let audio_off = json!({"audio": false}).as_object().cloned().unwrap();
        assert_eq!(state.set_media(bob.id, audio_off.clone()), Some(vec![]), "already muted");
        assert_eq!(state.set_media(ann.id, audio_off), Some(vec![Happening::MediaChanged(ann.id)]));

        let theme = Layout { layout: "THEME".into(), background_theme: Some("CAFE".into()) };
        assert_eq!(state.set_layout(theme.clone()), vec![Happening::LayoutChanged]);
        assert!(state.set_layout(theme).is_empty());
        assert_eq!(state.content()["layout"]["backgroundTheme"], "CAFE");
    }

    #[test]
    fn state_round_trips_through_its_stored_form() {
        let ann = person("ann");
        let (mut state, _) = MeetingState::start(ann.clone(), media(true), origin("c1"), at(0));
        state.start_recording(ObjectId::new(), ann.clone(), at(1));
        state.raise_hand(ann.id, vec!["PERMISSION_VIDEO".into()], at(2));
        let stored = serde_json::to_value(&state).unwrap();
        assert_eq!(serde_json::from_value::<MeetingState>(stored).unwrap(), state);
        assert!(
            state.content()["attendees"][0].get("connection").is_none(),
            "connections stay private"
        );
    }
}
