//! Rooms: the participants of one meeting, the tracks they publish, who forwards what,
//! and the room's event stream.
//!
//! A room holds no `Rtc`: each participant's lives in its own task (see `peer`). The room
//! is the shared directory those tasks consult (behind short-held locks) to find one
//! another, and the place where a task that ended, however it ended, is cleaned up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use tokio::sync::broadcast;

use crate::MediaError;
use crate::demux::{Demux, Route};
use crate::link::{Control, Forwarded, PeerKey, PeerLink, TrackIn, TrackKind};
use crate::recording::{RecordedFile, Recorder};
use crate::speaker::{SPEAKER_EVALUATION_INTERVAL, SpeakerDetector};

/// Why a participant's media session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveReason {
    /// The signalling side ended it ([`crate::PeerHandle::leave`] or dropping the handle).
    Left,
    /// The transport closed: ICE consent lost, DTLS closed by the other side.
    Disconnected,
    /// The session failed inside the engine (a WebRTC error, or a panic of its task);
    /// only this participant is affected.
    Failed(String),
}

/// What happens in a room, for the signalling layer (meeting state, active speaker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// A participant was admitted (their offer/answer may still be under way).
    Joined {
        /// The participant id.
        participant: String,
    },
    /// A participant's transport is up (ICE and DTLS): media can flow.
    Connected {
        /// The participant id.
        participant: String,
    },
    /// A participant started sending a track; every other participant is offered it.
    TrackPublished {
        /// The publisher.
        participant: String,
        /// Audio or video.
        kind: TrackKind,
    },
    /// A participant stopped sending a track (camera off, screen share ended, by
    /// renegotiation); the others stop receiving it. A participant who leaves gets
    /// [`RoomEvent::Left`] only.
    TrackUnpublished {
        /// The publisher.
        participant: String,
        /// Audio or video.
        kind: TrackKind,
    },
    /// A participant's media session ended; the others stop receiving their tracks.
    Left {
        /// The participant id.
        participant: String,
        /// Why.
        reason: LeaveReason,
    },
    /// Forwarding of someone's audio or video was stopped or resumed.
    ForwardingChanged {
        /// Whose media.
        participant: String,
        /// Audio or video.
        kind: TrackKind,
        /// Whether it is forwarded now.
        forwarding: bool,
    },
    /// Someone else became the active speaker (at most a few times a second).
    ActiveSpeaker {
        /// The participant id.
        participant: String,
    },
}

#[derive(Default)]
struct Members {
    peers: HashMap<String, PeerLink>,
    tracks: Vec<Arc<TrackIn>>,
}

/// Counters of a room (for tests and the benchmark).
#[derive(Debug, Default)]
pub(crate) struct RoomCounters {
    pub forwarded: AtomicU64,
    pub dropped: AtomicU64,
    pub sent_datagrams: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub recording_dropped: AtomicU64,
}

/// What a room's sessions have done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomStats {
    /// Media frames handed from a publisher's task to a subscriber's.
    pub forwarded_frames: u64,
    /// Frames dropped because a subscriber's task was behind.
    pub dropped_frames: u64,
    /// Datagrams the room's sessions sent (RTP, RTCP, STUN, DTLS).
    pub sent_datagrams: u64,
    /// Their bytes.
    pub sent_bytes: u64,
    /// Frames the recording could not keep up with.
    pub recording_dropped_frames: u64,
}

pub(crate) struct RoomShared {
    pub id: String,
    max_participants: usize,
    members: Mutex<Members>,
    /// The links of every participant, rebuilt on join and leave, so that a publisher's
    /// task clones one `Arc` per packet instead of locking `members`.
    links: RwLock<Arc<[PeerLink]>>,
    events: broadcast::Sender<RoomEvent>,
    speaker: Mutex<SpeakerDetector>,
    pub counters: RoomCounters,
    /// The running recording, handed every forwarded frame.
    recorder: RwLock<Option<Recorder>>,
    demux: Arc<Demux>,
    directory: Weak<Rooms>,
}

/// The rooms of a server, by id.
#[derive(Default)]
pub(crate) struct Rooms {
    map: Mutex<HashMap<String, Arc<RoomShared>>>,
}

impl Rooms {
    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<RoomShared>>> {
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops an empty room, so that the next join starts a fresh one (the meeting ended).
    /// Joining holds the same lock while admitting, so a room is never dropped under a
    /// participant being admitted.
    fn forget_if_empty(&self, id: &str) {
        let mut rooms = self.lock();
        if rooms.get(id).is_some_and(|room| room.is_empty()) {
            rooms.remove(id);
        }
    }
}

/// How many room events a slow listener may fall behind before it misses some.
const ROOM_EVENT_BACKLOG: usize = 256;

impl RoomShared {
    pub fn new(
        id: String,
        max_participants: usize,
        demux: Arc<Demux>,
        directory: Weak<Rooms>,
        runtime: &tokio::runtime::Handle,
    ) -> Arc<Self> {
        let (events, _) = broadcast::channel(ROOM_EVENT_BACKLOG);
        let room = Arc::new(RoomShared {
            id,
            max_participants,
            members: Mutex::default(),
            links: RwLock::new(Arc::from(Vec::new())),
            events,
            speaker: Mutex::default(),
            counters: RoomCounters::default(),
            recorder: RwLock::new(None),
            demux,
            directory,
        });
        runtime.spawn(evaluate_speakers(Arc::downgrade(&room)));
        room
    }

    fn members(&self) -> MutexGuard<'_, Members> {
        // Nothing under this lock panics halfway through an update; see `Demux::read`.
        self.members.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits a participant: refuses at the limit or when already present; returns the
    /// tracks published so far, which the newcomer subscribes to.
    pub fn admit(&self, link: PeerLink) -> Result<Vec<Arc<TrackIn>>, MediaError> {
        let mut members = self.members();
        if members.peers.contains_key(&link.participant) {
            return Err(MediaError::AlreadyJoined {
                room: self.id.clone(),
                participant: link.participant.clone(),
            });
        }
        if members.peers.len() >= self.max_participants {
            return Err(MediaError::RoomFull {
                room: self.id.clone(),
                limit: self.max_participants,
            });
        }
        let participant = link.participant.clone();
        members.peers.insert(participant.clone(), link);
        self.rebuild_links(&members);
        let tracks = members.tracks.clone();
        drop(members);
        self.emit(RoomEvent::Joined { participant });
        Ok(tracks)
    }

    /// A participant's task started receiving a track: every other participant is told.
    pub fn publish(&self, track: Arc<TrackIn>) {
        let mut members = self.members();
        members.tracks.push(track.clone());
        for link in members.peers.values().filter(|link| link.key != track.origin_key) {
            // A closed channel means that task is ending; its cleanup follows.
            let _ = link.control.send(Control::TrackOpened(track.clone()));
        }
        drop(members);
        self.emit(RoomEvent::TrackPublished {
            participant: track.origin.clone(),
            kind: TrackKind::of(track.kind),
        });
    }

    /// A participant stopped sending a track (camera off, screen share ended): everyone
    /// else stops receiving it.
    pub fn unpublish(&self, track: &TrackIn) {
        let mut members = self.members();
        members.tracks.retain(|published| published.id != track.id);
        for link in members.peers.values().filter(|link| link.key != track.origin_key) {
            let _ = link.control.send(Control::TrackClosed(track.id));
        }
        drop(members);
        self.emit(RoomEvent::TrackUnpublished {
            participant: track.origin.clone(),
            kind: TrackKind::of(track.kind),
        });
    }

    /// Cleans up after a participant's task ended, whatever the way (including a panic):
    /// their tracks are withdrawn from everyone, their socket routes forgotten.
    pub fn remove(&self, key: PeerKey, participant: &str, reason: LeaveReason) {
        let mut members = self.members();
        if members.peers.get(participant).map(|link| link.key) != Some(key) {
            return;
        }
        members.peers.remove(participant);
        let (gone, kept): (Vec<_>, Vec<_>) =
            members.tracks.drain(..).partition(|track| track.origin_key == key);
        members.tracks = kept;
        for link in members.peers.values() {
            for track in &gone {
                let _ = link.control.send(Control::TrackClosed(track.id));
            }
        }
        self.rebuild_links(&members);
        let now_empty = members.peers.is_empty();
        drop(members);
        self.speaker().forget(participant);
        self.demux.unregister(key);
        if now_empty && let Some(directory) = self.directory.upgrade() {
            directory.forget_if_empty(&self.id);
        }
        self.emit(RoomEvent::Left { participant: participant.to_owned(), reason });
    }

    /// Routes datagrams naming `ufrag` (a session's new ICE credentials) to that session.
    pub fn route_ufrag(&self, key: PeerKey, participant: &str, ufrag: String) {
        let Some(link) = self.link(participant).filter(|link| link.key == key) else { return };
        self.demux.register(ufrag, Route { key, input: link.media });
    }

    pub fn is_empty(&self) -> bool {
        self.members().peers.is_empty()
    }

    fn rebuild_links(&self, members: &Members) {
        let links: Arc<[PeerLink]> = members.peers.values().cloned().collect();
        *self.links.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = links;
    }

    /// Everyone's links, for forwarding one packet.
    pub fn links(&self) -> Arc<[PeerLink]> {
        self.links.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn link(&self, participant: &str) -> Option<PeerLink> {
        self.members().peers.get(participant).cloned()
    }

    pub fn emit(&self, event: RoomEvent) {
        // No listener is fine: the signalling layer may not watch this room.
        let _ = self.events.send(event);
    }

    /// Hands a forwarded frame to the running recording, if any.
    pub fn record(&self, frame: &Arc<Forwarded>) {
        let recorder = self.recorder.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(recorder) = recorder.as_ref()
            && !recorder.offer(frame)
        {
            self.counters.recording_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Asks the task publishing `track` for a keyframe of layer `rid` (`None`: every
    /// layer) unless that session is gone, or the participant rejoined since (their new
    /// session has new tracks).
    pub fn ask_keyframe(
        &self,
        track: &TrackIn,
        rid: Option<str0m::media::Rid>,
        kind: str0m::media::KeyframeRequestKind,
    ) {
        if let Some(link) = self.link(&track.origin)
            && link.key == track.origin_key
        {
            let _ = link.control.send(Control::KeyframeRequest { mid: track.mid, rid, kind });
        }
    }

    pub fn speaker(&self) -> MutexGuard<'_, SpeakerDetector> {
        self.speaker.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The room's speaker clock: evaluates the levels gathered since the last tick. Holds the
/// room weakly so that it ends with the room.
async fn evaluate_speakers(room: Weak<RoomShared>) {
    let mut ticks = tokio::time::interval(SPEAKER_EVALUATION_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(room) = room.upgrade() else { return };
        let change = room.speaker().evaluate();
        if let Some(participant) = change {
            room.emit(RoomEvent::ActiveSpeaker { participant });
        }
    }
}

/// A room, as the signalling layer sees it.
#[derive(Clone)]
pub struct Room {
    pub(crate) shared: Arc<RoomShared>,
}

impl Room {
    /// The room id (meeting or space id).
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The participants with a media session, in no particular order.
    pub fn participants(&self) -> Vec<String> {
        self.shared.members().peers.keys().cloned().collect()
    }

    /// The room's events from now on. A listener more than 256 events behind loses the
    /// oldest (`RecvError::Lagged`) rather than slowing the room down.
    pub fn events(&self) -> broadcast::Receiver<RoomEvent> {
        self.shared.events.subscribe()
    }

    /// The active speaker now, if anyone has spoken.
    pub fn active_speaker(&self) -> Option<String> {
        self.shared.speaker().current().map(str::to_owned)
    }

    /// Stops (`false`) or resumes (`true`) forwarding `participant`'s audio or video to
    /// everyone (the admin's mute, "turn video off"). Their media still reaches the
    /// server; nobody receives it. Resuming video asks the publisher for a keyframe so that
    /// the picture comes back at once.
    pub fn set_forwarding(
        &self,
        participant: &str,
        kind: TrackKind,
        forwarding: bool,
    ) -> Result<(), MediaError> {
        let link = self.shared.link(participant).ok_or_else(|| MediaError::NotInRoom {
            room: self.shared.id.clone(),
            participant: participant.to_owned(),
        })?;
        let was = link.forwarding.flag(kind).swap(forwarding, Ordering::Relaxed);
        if was == forwarding {
            return Ok(());
        }
        if forwarding && kind == TrackKind::Video {
            let _ = link.control.send(Control::RequestKeyframes);
        }
        if !forwarding && kind == TrackKind::Audio {
            self.shared.speaker().forget(participant);
        }
        self.shared.emit(RoomEvent::ForwardingChanged {
            participant: participant.to_owned(),
            kind,
            forwarding,
        });
        Ok(())
    }

    /// Whether `participant`'s audio or video is forwarded (`None`: not in the room).
    pub fn is_forwarding(&self, participant: &str, kind: TrackKind) -> Option<bool> {
        self.shared.link(participant).map(|link| link.forwarding.allows(kind))
    }

    /// Starts recording everything the room forwards into `directory` (see
    /// `recording`): every publisher is asked for a keyframe so that video starts at once.
    pub fn start_recording(&self, directory: std::path::PathBuf) -> Result<(), MediaError> {
        let mut recorder =
            self.shared.recorder.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if recorder.is_some() {
            return Err(MediaError::RecordingState {
                room: self.shared.id.clone(),
                what: "already recording",
            });
        }
        // The recorder keeps a simulcast camera's largest layer: when that changes (a
        // layer comes on), its keyframe is asked for rather than waited for.
        let room = Arc::downgrade(&self.shared);
        let ask: crate::recording::KeyframeAsk = Arc::new(move |track: &TrackIn, rid| {
            if let Some(room) = room.upgrade() {
                room.ask_keyframe(track, Some(rid), str0m::media::KeyframeRequestKind::Pli);
            }
        });
        *recorder = Some(Recorder::start(directory, ask)?);
        drop(recorder);
        for link in self.shared.links().iter() {
            let _ = link.control.send(Control::RequestKeyframes);
        }
        Ok(())
    }

    /// Stops the recording and finishes its files (closed, indexed, playable).
    pub async fn stop_recording(&self) -> Result<Vec<RecordedFile>, MediaError> {
        let recorder = self
            .shared
            .recorder
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .ok_or_else(|| MediaError::RecordingState {
                room: self.shared.id.clone(),
                what: "not recording",
            })?;
        recorder.stop().await
    }

    /// The bytes the running recording has written so far (`None`: not recording).
    pub fn recording_bytes(&self) -> Option<u64> {
        let recorder = self.shared.recorder.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        recorder.as_ref().map(Recorder::bytes)
    }

    /// Whether the room is being recorded.
    pub fn is_recording(&self) -> bool {
        self.shared.recorder.read().unwrap_or_else(|poisoned| poisoned.into_inner()).is_some()
    }

    /// What the room's sessions have done so far.
    pub fn stats(&self) -> RoomStats {
        let counters = &self.shared.counters;
        RoomStats {
            forwarded_frames: counters.forwarded.load(Ordering::Relaxed),
            dropped_frames: counters.dropped.load(Ordering::Relaxed),
            sent_datagrams: counters.sent_datagrams.load(Ordering::Relaxed),
            sent_bytes: counters.sent_bytes.load(Ordering::Relaxed),
            recording_dropped_frames: counters.recording_dropped.load(Ordering::Relaxed),
        }
    }
}
