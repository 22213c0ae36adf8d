//! This node's SFU (`plaza-media`) as the socket handlers see it: the media sessions
//! it runs (signalled over this node's sockets, or relayed from another node's), what
//! each publishes, and the session task that relays the engine's offers to its socket
//! and turns what the engine reports (connected, tracks, closed) into meeting changes
//! and room-wide events.
//!
//! A session's participant id in the SFU room is its session id (the media token's
//! `sid`), and the room is the space: the server's offers name each forwarded stream
//! (msid) by its publisher's session id, which `MEDIA_PARTICIPANTS` lists as `streamId`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use plaza_core::ObjectId;
use plaza_core::identity::Principal;
use plaza_core::limits::{LocalRateLimiter, Rate};
use plaza_core::meetings::{
    MediaFlag, MediaForwarding, MeetingService, RecordingStart, RecordingStop,
};
use plaza_media::{
    LeaveReason, MediaConfig, MediaError, MediaServer, PeerEvent, PeerEvents, PeerHandle,
    RoomEvent, TrackKind,
};
use plaza_wire::media::{
    IceServer, MediaActiveSpeaker, MediaForwarding as ForwardingEvent, MediaParticipant,
    MediaParticipants, MediaSdp, MediaSessionEnded,
};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use tokio::sync::broadcast;

use crate::node_bus::{NodeBus, Relayed, RemoteSession, each_once};
use crate::sink::emit_all;
use crate::space_room;

/// Where a session's signalling goes back to: the socket, on this node or (through the
/// adapter, by its own room) on the node that relayed the session here.
pub(crate) enum Outlet<A: Adapter> {
    Socket(SocketRef<A>),
    Remote { io: SocketIo<A>, socket_id: String },
}

impl<A: Adapter> Outlet<A> {
    pub(crate) fn socket_id(&self) -> String {
        match self {
            Outlet::Socket(socket) => socket.id.to_string(),
            Outlet::Remote { socket_id, .. } => socket_id.clone(),
        }
    }

    /// The socket's own room (`sock:<id>`): the meeting's connection of its person.
    pub(crate) fn connection(&self) -> String {
        crate::socket_room_of(&self.socket_id())
    }

    pub(crate) async fn emit(&self, event: &str, payload: &impl serde::Serialize) {
        match self {
            Outlet::Socket(socket) => {
                if let Err(error) = socket.emit(event, payload) {
                    tracing::debug!(%error, event, "emit to socket failed");
                }
            }
            Outlet::Remote { io, .. } => {
                emit_all(io, vec![self.connection()], None, event, payload).await;
            }
        }
    }
}

/// Offers a socket may make per second (a publisher renegotiates when a camera or a
/// screen share goes on or off: a few a minute), and at once.
const OFFERS_PER_SECOND: u32 = 2;
const OFFER_BURST: u32 = 6;
/// Trickled candidates a socket may send per second, and at once (a browser gathers
/// a dozen or so at the start).
const CANDIDATES_PER_SECOND: u32 = 10;
const CANDIDATE_BURST: u32 = 40;

/// One media session signalled on this node.
struct Session {
    handle: PeerHandle,
    /// Held while an answer to the client's offer is made and sent, and while a server
    /// offer is sent: so the client never hears the server's offer before the answer to
    /// its own (the engine makes its next offer right after answering).
    signalling: Signalling,
    space_id: ObjectId,
    user_id: ObjectId,
    displayname: String,
    /// The socket that signals it.
    socket_id: String,
    /// The node that socket is on, when not this one (it relayed the session here).
    origin: Option<String>,
    audio_tracks: u32,
    video_tracks: u32,
    /// Ended by its own `MEDIA_LEAVE`: no `MEDIA_SESSION_ENDED` is due.
    left_by_client: bool,
    /// Ended because its socket went away: its person gets the meeting's drop grace.
    socket_gone: bool,
}

/// How a session's end came about, beyond the engine's reason.
#[derive(Debug, Clone, Copy, Default)]
struct Ending {
    left_by_client: bool,
    socket_gone: bool,
}

impl Session {
    fn participant(&self, session_id: &str) -> MediaParticipant {
        MediaParticipant {
            session_id: session_id.to_owned(),
            user_id: self.user_id.to_string(),
            displayname: self.displayname.clone(),
            audio: self.audio_tracks > 0,
            video: self.video_tracks > 0,
            screenshare: self.video_tracks > 1,
            stream_id: session_id.to_owned(),
        }
    }

    /// The meeting flags its tracks stand for: a microphone, a camera (the first video
    /// track), a screen share (a second one; the engine does not tell them apart).
    fn published(&self) -> Vec<MediaFlag> {
        let mut flags = Vec::new();
        if self.audio_tracks > 0 {
            flags.push(MediaFlag::Audio);
        }
        if self.video_tracks > 0 {
            flags.push(MediaFlag::Video);
        }
        if self.video_tracks > 1 {
            flags.push(MediaFlag::Screenshare);
        }
        flags
    }
}

/// The order of a session's SDP messages to its client (see `Session::signalling`).
pub(crate) type Signalling = Arc<tokio::sync::Mutex<()>>;

/// Settings of the media plane, from `[media]`.
#[derive(Debug, Clone)]
pub struct MediaPlaneConfig {
    pub engine: MediaConfig,
    pub ice_servers: Vec<IceServer>,
    /// Where recordings are written while they run (a folder per recording); their
    /// files move to the file storage once finished.
    pub recordings_dir: std::path::PathBuf,
}

/// The SFU of this node and the sessions signalled through it.
pub struct MediaPlane {
    server: MediaServer,
    ice_servers: Vec<IceServer>,
    sessions: Mutex<HashMap<String, Session>>,
    /// The number of the last roster taken (`roster`), never below the clock in µs.
    last_roster: std::sync::atomic::AtomicU64,
    recordings_dir: std::path::PathBuf,
    /// The rooms being recorded, by recording: held so that a recording outlives its
    /// room emptying (the meeting ending is what stops it).
    recordings: Mutex<HashMap<ObjectId, plaza_media::Room>>,
    /// Whose sessions appear in running recordings (session id → user), kept after a
    /// session ends until its recordings stop, to name the people in the files.
    recorded_people: Mutex<HashMap<String, ObjectId>>,
    offers: LocalRateLimiter,
    candidates: LocalRateLimiter,
    /// The other nodes, when several share the media rooms (`node_bus`).
    bus: OnceLock<Arc<NodeBus>>,
}

/// Why a session's signalling was refused by the plane itself.
pub(crate) enum JoinRefusal {
    Full,
    Duplicate,
    Other(MediaError),
}

impl MediaPlane {
    /// Binds the SFU's UDP (and ICE-TCP) listeners.
    pub async fn start(config: MediaPlaneConfig) -> Result<Arc<MediaPlane>, MediaError> {
        let server = MediaServer::bind(config.engine).await?;
        tracing::info!(
            udp = %server.local_addr(),
            announced = %server.announced_addr(),
            tcp = ?server.announced_tcp_addr(),
            "media plane listening"
        );
        Ok(Arc::new(MediaPlane {
            server,
            ice_servers: config.ice_servers,
            sessions: Mutex::default(),
            last_roster: std::sync::atomic::AtomicU64::default(),
            recordings_dir: config.recordings_dir,
            recordings: Mutex::default(),
            recorded_people: Mutex::default(),
            offers: LocalRateLimiter::new(Rate {
                per_second: OFFERS_PER_SECOND,
                burst: OFFER_BURST,
            }),
            candidates: LocalRateLimiter::new(Rate {
                per_second: CANDIDATES_PER_SECOND,
                burst: CANDIDATE_BURST,
            }),
            bus: OnceLock::new(),
        }))
    }

    /// Shares the media rooms with the other nodes on `bus` (once).
    pub(crate) fn bind_bus(&self, bus: Arc<NodeBus>) {
        let _ = self.bus.set(bus);
    }

    pub(crate) fn bus(&self) -> Option<&Arc<NodeBus>> {
        self.bus.get()
    }

    /// Whether this node has a media room for `space_id`.
    pub(crate) fn has_room(&self, space_id: ObjectId) -> bool {
        self.server.room(&space_id.to_string()).is_some()
    }

    /// Whether recording `recording_id` runs here or left its dumps here.
    pub(crate) fn holds_recording(&self, recording_id: ObjectId) -> bool {
        lock(&self.recordings).contains_key(&recording_id)
            || self.recordings_dir.join(recording_id.to_string()).is_dir()
    }

    /// The address clients send UDP media to (what the SDP announces).
    pub fn announced_addr(&self) -> std::net::SocketAddr {
        self.server.announced_addr()
    }

    pub(crate) fn max_video_kbps(&self) -> u32 {
        self.server.max_video_kbps()
    }

    /// Finishes every running recording (the server is stopping): their files are
    /// closed and playable, and stored when their meeting ends (`recover_recording`).
    pub async fn finish_recordings(&self) {
        let rooms: Vec<(ObjectId, plaza_media::Room)> = lock(&self.recordings).drain().collect();
        for (id, room) in rooms {
            if let Err(error) = room.stop_recording().await {
                tracing::warn!(%error, recording = %id, "a recording did not finish cleanly");
            }
        }
    }

    /// The files of a recording another process of this node made, from the frame dumps
    /// in its folder (a clean stop leaves finished files and their dumps; a crash leaves
    /// the dumps): `None` when there is no such folder.
    fn recover_recording(
        &self,
        recording_id: ObjectId,
    ) -> Option<plaza_core::meetings::RecordingDone> {
        let folder = self.recordings_dir.join(recording_id.to_string());
        if !folder.is_dir() {
            return None;
        }
        Some(Box::pin(async move {
            let rebuilt = tokio::task::spawn_blocking(move || {
                let dumps = plaza_media::recording_dumps(&folder)
                    .map_err(|e| format!("{}: {e}", folder.display()))?;
                let mut files = Vec::new();
                for dump in dumps {
                    let output = dump.with_extension("webm");
                    match plaza_media::rebuild_recording(&dump, &output) {
                        Ok(file) => files.push(plaza_core::meetings::RecordedMedia {
                            user_id: None,
                            path: file.path,
                            mime_type: file.mime_type.to_owned(),
                            bytes: file.bytes,
                            duration_ms: file.duration_ms,
                        }),
                        Err(error) => tracing::warn!(%error, "a recorded track was lost"),
                    }
                }
                Ok(files)
            })
            .await;
            rebuilt.map_err(|e| e.to_string())?
        }))
    }

    pub(crate) fn ice_servers(&self) -> Vec<IceServer> {
        self.ice_servers.clone()
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits `session_id` into the room of `space_id` for `principal` on `socket_id`
    /// (a socket of node `origin` when that is not this one); with the room's event
    /// stream subscribed before any offer is accepted.
    pub(crate) fn join(
        &self,
        space_id: ObjectId,
        session_id: &str,
        principal: &Principal,
        socket_id: &str,
        origin: Option<String>,
    ) -> Result<(PeerEvents, broadcast::Receiver<RoomEvent>, Signalling), JoinRefusal> {
        let mut sessions = self.sessions();
        if sessions.contains_key(session_id) {
            return Err(JoinRefusal::Duplicate);
        }
        let (handle, events) =
            self.server.join(&space_id.to_string(), session_id).map_err(|error| match error {
                MediaError::RoomFull { .. } => JoinRefusal::Full,
                MediaError::AlreadyJoined { .. } => JoinRefusal::Duplicate,
                other => JoinRefusal::Other(other),
            })?;
        let room_events = handle.room().events();
        let signalling = Signalling::default();
        if handle.room().is_recording() {
            lock(&self.recorded_people).insert(session_id.to_owned(), principal.user_id());
        }
        sessions.insert(
            session_id.to_owned(),
            Session {
                handle,
                signalling: signalling.clone(),
                space_id,
                user_id: principal.user_id(),
                displayname: principal.user.displayname.clone(),
                socket_id: socket_id.to_owned(),
                origin,
                audio_tracks: 0,
                video_tracks: 0,
                left_by_client: false,
                socket_gone: false,
            },
        );
        Ok((events, room_events, signalling))
    }

    /// The handle of `session_id` when `socket_id` signals it, and its signalling order.
    pub(crate) fn handle_of(
        &self,
        session_id: &str,
        socket_id: &str,
    ) -> Option<(PeerHandle, Signalling)> {
        self.sessions()
            .get(session_id)
            .filter(|s| s.socket_id == socket_id)
            .map(|s| (s.handle.clone(), s.signalling.clone()))
    }

    /// Ends `session_id` at its socket's request.
    pub(crate) fn leave(&self, session_id: &str, socket_id: &str) -> bool {
        let mut sessions = self.sessions();
        let Some(session) = sessions.get_mut(session_id).filter(|s| s.socket_id == socket_id)
        else {
            return false;
        };
        session.left_by_client = true;
        session.handle.leave();
        true
    }

    /// Ends every session `socket_id` signals in `space_id` (it unsubscribed).
    pub(crate) fn leave_space(&self, space_id: &str, socket_id: &str) {
        if let Some(bus) = self.bus() {
            let relayed =
                bus.take_where(|s| s.socket_id == socket_id && s.space_id.to_string() == space_id);
            for host in hosts_of(&relayed) {
                let (socket_id, space_id) = (socket_id.to_owned(), space_id.to_owned());
                bus.send(&host, Relayed::LeaveSpace { socket_id, space_id });
            }
        }
        let mut sessions = self.sessions();
        for session in sessions
            .values_mut()
            .filter(|s| s.socket_id == socket_id && s.space_id.to_string() == space_id)
        {
            session.left_by_client = true;
            session.handle.leave();
        }
    }

    /// `socket_id` disconnected: its sessions end now (nobody can signal them any
    /// more, and a revoked or removed user must not keep receiving media); their people
    /// get the meeting's drop grace, within which a new session keeps their place.
    pub(crate) fn socket_gone(&self, socket_id: &str) {
        if let Some(bus) = self.bus() {
            let relayed = bus.take_where(|s| s.socket_id == socket_id);
            for host in hosts_of(&relayed) {
                bus.send(&host, Relayed::SocketGone { socket_id: socket_id.to_owned() });
            }
        }
        let mut sessions = self.sessions();
        for session in sessions.values_mut().filter(|s| s.socket_id == socket_id) {
            session.socket_gone = true;
            session.handle.leave();
        }
    }

    /// The nodes whose sockets signal sessions hosted here.
    pub(crate) fn origins(&self) -> Vec<String> {
        each_once(self.sessions().values().filter_map(|s| s.origin.clone()))
    }

    /// Node `origin` died: the sessions its sockets signalled end as if those sockets
    /// had disconnected (their people get the drop grace).
    pub(crate) fn origin_gone(&self, origin: &str) {
        let mut sessions = self.sessions();
        for session in sessions.values_mut().filter(|s| s.origin.as_deref() == Some(origin)) {
            session.socket_gone = true;
            session.handle.leave();
        }
    }

    /// Whether `socket_id` may make another offer now.
    pub(crate) async fn offer_allowed(&self, socket_id: &str) -> Result<(), std::time::Duration> {
        use plaza_core::limits::RateLimiter;
        self.offers.check(socket_id).await
    }

    pub(crate) async fn candidate_allowed(
        &self,
        socket_id: &str,
    ) -> Result<(), std::time::Duration> {
        use plaza_core::limits::RateLimiter;
        self.candidates.check(socket_id).await
    }

    /// Everyone with a media session in the room of `space_id` on this node, and the
    /// roster's number. A later roster has a larger number: the answer to a join and
    /// the rosters sent to the space travel different ways between nodes and may
    /// arrive in either order, so clients keep the list with the largest. Numbered
    /// from the clock (µs), so that a room's new host goes on above its old one.
    pub(crate) fn roster(&self, space_id: ObjectId) -> (Vec<MediaParticipant>, u64) {
        use std::sync::atomic::Ordering;
        let sessions = self.sessions();
        let mut list: Vec<MediaParticipant> = sessions
            .iter()
            .filter(|(_, s)| s.space_id == space_id)
            .map(|(id, s)| s.participant(id))
            .collect();
        // Taken under the sessions' lock: the numbers follow the rosters' order.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_micros()).unwrap_or(u64::MAX));
        let after = |last: u64| now.max(last + 1);
        let previous = self
            .last_roster
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| Some(after(last)))
            .unwrap_or_default();
        drop(sessions);
        list.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        (list, after(previous))
    }

    /// Counts a track of `session_id` published (`+1`) or withdrawn (`-1`); answers the
    /// meeting flag that changed with it, if any.
    fn track_changed(
        &self,
        session_id: &str,
        kind: TrackKind,
        published: bool,
    ) -> Option<(MediaFlag, bool)> {
        let mut sessions = self.sessions();
        let session = sessions.get_mut(session_id)?;
        let count = match kind {
            TrackKind::Audio => &mut session.audio_tracks,
            TrackKind::Video => &mut session.video_tracks,
        };
        let before = *count;
        *count = if published { before + 1 } else { before.saturating_sub(1) };
        let after = *count;
        match (kind, before.min(after), before.max(after)) {
            (TrackKind::Audio, 0, 1) => Some((MediaFlag::Audio, published)),
            (TrackKind::Video, 0, 1) => Some((MediaFlag::Video, published)),
            (TrackKind::Video, 1, 2) => Some((MediaFlag::Screenshare, published)),
            _ => None,
        }
    }

    fn published(&self, session_id: &str) -> Vec<MediaFlag> {
        self.sessions().get(session_id).map(Session::published).unwrap_or_default()
    }

    /// Forgets an ended session (telling the node that relayed it); answers how its end
    /// came about.
    fn remove(&self, session_id: &str) -> Ending {
        let Some(session) = self.sessions().remove(session_id) else {
            return Ending::default();
        };
        if let (Some(origin), Some(bus)) = (&session.origin, self.bus()) {
            bus.send(origin, Relayed::Ended { session_id: session_id.to_owned() });
        }
        Ending { left_by_client: session.left_by_client, socket_gone: session.socket_gone }
    }

    fn end_sessions_here(&self, space_id: ObjectId, user_id: Option<ObjectId>) {
        let sessions = self.sessions();
        for session in sessions
            .values()
            .filter(|s| s.space_id == space_id && user_id.is_none_or(|id| s.user_id == id))
        {
            session.handle.leave();
        }
    }

    /// Admin controls of forwarding, applied to this node's sessions.
    pub(crate) fn set_forwarding_here(
        &self,
        space_id: ObjectId,
        user_id: ObjectId,
        audio: bool,
        video: bool,
    ) {
        let sessions = self.sessions();
        for (session_id, session) in
            sessions.iter().filter(|(_, s)| s.space_id == space_id && s.user_id == user_id)
        {
            let room = session.handle.room();
            for (kind, on) in [(TrackKind::Audio, audio), (TrackKind::Video, video)] {
                if let Err(error) = room.set_forwarding(session_id, kind, on) {
                    tracing::debug!(%error, session_id, "forwarding not changed");
                }
            }
        }
    }

    /// A control another node relayed: applied to this node's sessions.
    pub(crate) fn apply_relayed(&self, message: &Relayed) {
        match *message {
            Relayed::Forwarding { space_id, user_id, audio, video } => {
                self.set_forwarding_here(space_id, user_id, audio, video);
            }
            Relayed::EndSessions { space_id, user_id } => {
                self.end_sessions_here(space_id, Some(user_id));
            }
            Relayed::EndRoom { space_id } => self.end_sessions_here(space_id, None),
            _ => {}
        }
    }

    /// Starts recording the room of `space_id` here, if this node has it.
    fn start_recording_here(&self, space_id: ObjectId, recording_id: ObjectId) -> RecordingStart {
        let Some(room) = self.server.room(&space_id.to_string()) else {
            return RecordingStart::NoRoom;
        };
        let folder = self.recordings_dir.join(recording_id.to_string());
        if let Err(error) = room.start_recording(folder) {
            tracing::warn!(%error, %space_id, "the recording did not start");
            return RecordingStart::NoRoom;
        }
        let people: Vec<(String, ObjectId)> = self
            .sessions()
            .iter()
            .filter(|(_, s)| s.space_id == space_id)
            .map(|(id, s)| (id.clone(), s.user_id))
            .collect();
        lock(&self.recorded_people).extend(people);
        lock(&self.recordings).insert(recording_id, room);
        RecordingStart::Here
    }
}

/// The hosts of relayed sessions, each once.
fn hosts_of(relayed: &[(String, RemoteSession)]) -> Vec<String> {
    each_once(relayed.iter().map(|(_, s)| s.host.clone()))
}

/// Every control applies to this node's sessions and, with several nodes, is told to
/// the others (the room may be hosted by any of them).
impl MediaForwarding for MediaPlane {
    fn shared_address(&self) -> Option<String> {
        self.bus().map(|_| self.server.announced_addr().to_string())
    }

    fn end_sessions(&self, space_id: ObjectId, user_id: ObjectId) {
        self.end_sessions_here(space_id, Some(user_id));
        if let Some(bus) = self.bus() {
            bus.broadcast(Relayed::EndSessions { space_id, user_id });
        }
    }

    fn end_room(&self, space_id: ObjectId) {
        self.end_sessions_here(space_id, None);
        if let Some(bus) = self.bus() {
            bus.broadcast(Relayed::EndRoom { space_id });
        }
    }

    fn start_recording(
        &self,
        space_id: ObjectId,
        meeting_id: ObjectId,
        recording_id: ObjectId,
    ) -> RecordingStart {
        match (self.start_recording_here(space_id, recording_id), self.bus()) {
            (RecordingStart::NoRoom, Some(bus)) => {
                bus.broadcast(Relayed::StartRecording { space_id, meeting_id, recording_id });
                RecordingStart::Relayed
            }
            (started, _) => started,
        }
    }

    fn recording_bytes(&self, recording_id: ObjectId) -> Option<u64> {
        lock(&self.recordings).get(&recording_id).and_then(plaza_media::Room::recording_bytes)
    }

    fn stop_recording(
        &self,
        space_id: ObjectId,
        meeting_id: ObjectId,
        recording_id: ObjectId,
    ) -> RecordingStop {
        let Some(room) = lock(&self.recordings).remove(&recording_id) else {
            // Not recording here: this process started after the one that recorded it
            // (stopped, or killed): its files are rebuilt from their frame dumps. Or
            // another node records it.
            return match (self.recover_recording(recording_id), self.bus()) {
                (Some(done), _) => RecordingStop::Here(done),
                (None, Some(bus)) => {
                    bus.broadcast(Relayed::StopRecording { space_id, meeting_id, recording_id });
                    RecordingStop::Relayed
                }
                (None, None) => RecordingStop::NotRunning,
            };
        };
        let people = lock(&self.recorded_people).clone();
        // Sessions gone and in no running recording any more are forgotten.
        let still_recording = lock(&self.recordings).len();
        if still_recording == 0 {
            let live: Vec<String> = self.sessions().keys().cloned().collect();
            lock(&self.recorded_people).retain(|session, _| live.contains(session));
        }
        RecordingStop::Here(Box::pin(async move {
            let files = room.stop_recording().await.map_err(|e| e.to_string())?;
            Ok(files
                .into_iter()
                .map(|file| plaza_core::meetings::RecordedMedia {
                    user_id: people.get(&file.participant).copied(),
                    path: file.path,
                    mime_type: file.mime_type.to_owned(),
                    bytes: file.bytes,
                    duration_ms: file.duration_ms,
                })
                .collect())
        }))
    }

    fn set_forwarding(&self, space_id: ObjectId, user_id: ObjectId, audio: bool, video: bool) {
        self.set_forwarding_here(space_id, user_id, audio, video);
        if let Some(bus) = self.bus() {
            bus.broadcast(Relayed::Forwarding { space_id, user_id, audio, video });
        }
    }
}

/// What a session task needs to know of its session.
pub(crate) struct SessionContext<A: Adapter> {
    pub plane: Arc<MediaPlane>,
    pub meetings: Arc<MeetingService>,
    pub io: SocketIo<A>,
    pub outlet: Outlet<A>,
    pub principal: Principal,
    pub space_id: ObjectId,
    pub session_id: String,
    pub signalling: Signalling,
}

/// Tells the space who has a media session on this node and what they publish.
pub(crate) async fn announce_participants<A: Adapter>(
    plane: &MediaPlane,
    io: &SocketIo<A>,
    space_id: ObjectId,
) {
    let (participants, roster_version) = plane.roster(space_id);
    let payload =
        MediaParticipants { topic_id: space_id.to_string(), participants, roster_version };
    emit_all(io, vec![space_room(space_id)], None, "MEDIA_PARTICIPANTS", &payload).await;
}

/// Runs one media session's signalling until it ends: the engine's offers go to the
/// socket; its transport connecting joins the meeting; tracks published or withdrawn
/// change the person's media state; the end leaves the meeting (at once when the
/// person left, through the drop grace when the transport was lost).
pub(crate) async fn run_session<A: Adapter>(
    context: SessionContext<A>,
    mut events: PeerEvents,
    mut room_events: broadcast::Receiver<RoomEvent>,
) {
    let SessionContext { plane, meetings, io, outlet, principal, space_id, session_id, signalling } =
        context;
    let connection = outlet.connection();
    let mut room_open = true;
    let reason = loop {
        tokio::select! {
            event = events.next() => match event {
                Some(PeerEvent::Offer(sdp)) => {
                    let _in_order = signalling.lock().await;
                    let offer = MediaSdp {
                        session_id: Some(session_id.clone()),
                        sdp: Some(sdp),
                        sdp_deflate: None,
                    };
                    outlet.emit("MEDIA_OFFER", &offer).await;
                }
                Some(PeerEvent::Connected) => {
                    let published = plane.published(&session_id);
                    if let Err(error) = meetings
                        .media_connected(&principal, space_id, &session_id, &published, &connection)
                        .await
                    {
                        tracing::warn!(%error, session_id, "joining the meeting on media connect failed");
                    }
                }
                Some(PeerEvent::Closed(reason)) => break reason,
                None => break LeaveReason::Left,
            },
            event = room_events.recv(), if room_open => match event {
                Ok(event) => {
                    room_event(&plane, &meetings, &io, &principal, space_id, &session_id, event).await;
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, session_id, "media room events lagged");
                }
                Err(broadcast::error::RecvError::Closed) => room_open = false,
            },
        }
    };
    let ending = plane.remove(&session_id);
    let outcome = match &reason {
        LeaveReason::Left if !ending.socket_gone => {
            meetings.media_left(space_id, principal.user_id(), &connection).await
        }
        _ => meetings.media_lost(space_id, &connection).await,
    };
    if let Err(error) = outcome {
        tracing::warn!(%error, session_id, "leaving the meeting on media end failed");
    }
    if !ending.left_by_client && !ending.socket_gone {
        let ended = MediaSessionEnded {
            topic_id: space_id.to_string(),
            session_id: session_id.clone(),
            reason: match reason {
                LeaveReason::Left => "left",
                LeaveReason::Disconnected => "disconnected",
                LeaveReason::Failed(_) => "failed",
            }
            .to_owned(),
        };
        outlet.emit("MEDIA_SESSION_ENDED", &ended).await;
    }
    announce_participants(&plane, &io, space_id).await;
}

/// One room event, handled by the session it is about (so each is handled once).
async fn room_event<A: Adapter>(
    plane: &MediaPlane,
    meetings: &MeetingService,
    io: &SocketIo<A>,
    principal: &Principal,
    space_id: ObjectId,
    session_id: &str,
    event: RoomEvent,
) {
    let topic_id = space_id.to_string();
    let user_id = principal.user_id().to_string();
    match event {
        RoomEvent::TrackPublished { participant, kind } if participant == session_id => {
            track_changed(plane, meetings, io, principal, space_id, session_id, kind, true).await;
        }
        RoomEvent::TrackUnpublished { participant, kind } if participant == session_id => {
            track_changed(plane, meetings, io, principal, space_id, session_id, kind, false).await;
        }
        RoomEvent::ForwardingChanged { participant, kind, forwarding }
            if participant == session_id =>
        {
            let payload = ForwardingEvent {
                topic_id: topic_id.clone(),
                session_id: participant,
                user_id,
                kind: kind.as_str().to_owned(),
                forwarding,
            };
            emit_all(io, vec![space_room(&topic_id)], None, "MEDIA_FORWARDING", &payload).await;
        }
        RoomEvent::ActiveSpeaker { participant } if participant == session_id => {
            let payload =
                MediaActiveSpeaker { topic_id: topic_id.clone(), session_id: participant, user_id };
            emit_all(io, vec![space_room(&topic_id)], None, "MEDIA_ACTIVE_SPEAKER", &payload).await;
        }
        _ => {}
    }
}

/// A track of the session's person went on or off: their meeting media state follows
/// (their own change), and the space hears the new participant list.
#[allow(clippy::too_many_arguments, reason = "the session's context, passed through")]
async fn track_changed<A: Adapter>(
    plane: &MediaPlane,
    meetings: &MeetingService,
    io: &SocketIo<A>,
    principal: &Principal,
    space_id: ObjectId,
    session_id: &str,
    kind: TrackKind,
    published: bool,
) {
    if let Some((flag, on)) = plane.track_changed(session_id, kind, published)
        && let Err(error) = meetings.media_published(space_id, principal.user_id(), flag, on).await
    {
        tracing::debug!(%error, session_id, "media state not updated");
    }
    announce_participants(plane, io, space_id).await;
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
