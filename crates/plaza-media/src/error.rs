//! Errors the media engine reports to its caller (the signalling layer), each one clear
//! enough to be sent on to the client as the reason of a refusal event.

use thiserror::Error;

/// What went wrong with a request to the media engine.
#[derive(Debug, Error)]
pub enum MediaError {
    /// The configuration cannot work (e.g. no address to announce).
    #[error("media configuration: {0}")]
    Config(String),

    /// The UDP media socket could not be opened.
    #[error("media socket {addr}: {source}")]
    Socket {
        /// The address that was asked for.
        addr: std::net::SocketAddr,
        /// Why the operating system refused.
        source: std::io::Error,
    },

    /// The room already holds `max_participants` people.
    #[error("room {room} is full: at most {limit} participants")]
    RoomFull {
        /// The room (meeting or space id).
        room: String,
        /// The configured limit.
        limit: usize,
    },

    /// The participant already has a media session in that room.
    #[error("participant {participant} is already in room {room}")]
    AlreadyJoined {
        /// The room (meeting or space id).
        room: String,
        /// The participant id.
        participant: String,
    },

    /// No such participant in that room.
    #[error("participant {participant} is not in room {room}")]
    NotInRoom {
        /// The room (meeting or space id).
        room: String,
        /// The participant id.
        participant: String,
    },

    /// The SDP text does not parse.
    #[error("malformed SDP: {0}")]
    MalformedSdp(String),

    /// The SDP parses but cannot be negotiated (no m-lines, no fingerprint, ...).
    #[error("SDP refused: {0}")]
    SdpRefused(String),

    /// An answer arrived while no offer of ours was waiting for one (or a newer offer
    /// replaced it).
    #[error("no offer is waiting for an answer")]
    NoPendingOffer,

    /// An ICE candidate line that does not parse.
    #[error("malformed ICE candidate: {0}")]
    MalformedCandidate(String),

    /// The participant's media session has ended (left, failed or closed by the server).
    #[error("the media session has ended")]
    SessionEnded,

    /// The room is being recorded already (start), or is not (stop).
    #[error("room {room}: {what}")]
    RecordingState {
        /// The room.
        room: String,
        /// `already recording` or `not recording`.
        what: &'static str,
    },

    /// A recording file could not be written or finished.
    #[error("recording: {0}")]
    Recording(String),
}
