//! How the tasks of a room reach one another: what a peer's task is sent (network input,
//! forwarded frames, commands), the tracks they exchange, and the link the room keeps to
//! each task. Every other module builds on these types; they depend on nothing else here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use str0m::media::{KeyframeRequestKind, MediaData, MediaKind, Mid, Rid};
use str0m::net::Protocol;
use tokio::sync::{mpsc, oneshot};

use crate::MediaError;
use crate::simulcast::{Layers, Quality};

/// An identifier unique to one peer session for the process lifetime (participant ids
/// repeat when someone rejoins; this does not).
pub(crate) type PeerKey = u64;

/// Audio or video: what an admin can stop forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Microphone audio (Opus).
    Audio,
    /// Camera or screen video (VP8, H.264).
    Video,
}

impl TrackKind {
    pub(crate) fn of(kind: MediaKind) -> TrackKind {
        match kind {
            MediaKind::Audio => TrackKind::Audio,
            MediaKind::Video => TrackKind::Video,
        }
    }

    /// `audio` or `video`, as the signalling events and recording files name it.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Audio => "audio",
            TrackKind::Video => "video",
        }
    }
}

/// A track a participant publishes. Subscribers refer to it by `id`.
#[derive(Debug)]
pub(crate) struct TrackIn {
    pub id: u64,
    pub origin: String,
    pub origin_key: PeerKey,
    pub mid: Mid,
    pub kind: MediaKind,
    /// The simulcast layers and their bitrates (none or one: no simulcast).
    pub layers: Layers,
}

/// Whether a participant's audio and video are forwarded (admin mute). Read by the
/// publisher's task on every packet, hence atomics rather than a lock.
#[derive(Debug)]
pub(crate) struct Forwarding {
    audio: AtomicBool,
    video: AtomicBool,
}

impl Forwarding {
    pub fn new() -> Self {
        Forwarding { audio: AtomicBool::new(true), video: AtomicBool::new(true) }
    }

    pub fn flag(&self, kind: TrackKind) -> &AtomicBool {
        match kind {
            TrackKind::Audio => &self.audio,
            TrackKind::Video => &self.video,
        }
    }

    pub fn allows(&self, kind: TrackKind) -> bool {
        self.flag(kind).load(Ordering::Relaxed)
    }
}

/// How the room reaches one participant's task.
#[derive(Clone)]
pub(crate) struct PeerLink {
    pub key: PeerKey,
    pub participant: String,
    /// Datagrams and forwarded media: bounded, dropped when the task falls behind.
    pub media: mpsc::Sender<PeerInput>,
    /// Negotiation and track changes: never dropped.
    pub control: mpsc::UnboundedSender<Control>,
    pub forwarding: Arc<Forwarding>,
}

/// Network input and forwarded media for a peer's task: bounded, dropped when full.
pub(crate) enum PeerInput {
    Datagram { proto: Protocol, source: SocketAddr, data: Vec<u8>, received: Instant },
    Media(Arc<Forwarded>),
}

/// One frame of a publisher's track, on its way to every subscriber's task.
pub(crate) struct Forwarded {
    pub track: Arc<TrackIn>,
    pub data: MediaData,
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, MediaError>>;

/// Commands for a peer's task: unbounded (they are few), never dropped.
pub(crate) enum Control {
    AcceptOffer {
        sdp: String,
        reply: Reply<String>,
    },
    AcceptAnswer {
        sdp: String,
        reply: Reply<()>,
    },
    AddCandidate {
        candidate: String,
        reply: Reply<()>,
    },
    TrackOpened(Arc<TrackIn>),
    TrackClosed(u64),
    /// A subscriber asks this publisher for a keyframe of its track `mid` (of the
    /// simulcast layer `rid`; `None`: of every layer).
    KeyframeRequest {
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
    },
    /// Ask for keyframes of all this publisher's video (forwarding resumed).
    RequestKeyframes,
    /// Our client asks this quality of `publisher`'s simulcast video (its tile size).
    SetQuality {
        publisher: String,
        quality: Quality,
    },
    Leave,
    /// Fault injection for the isolation test: the task panics as str0m would on a bug.
    #[cfg(test)]
    Panic,
}

pub(crate) fn new_forwarding() -> Arc<Forwarding> {
    Arc::new(Forwarding::new())
}
