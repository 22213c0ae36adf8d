//! Plaza's media plane: a WebRTC SFU (selective forwarding unit) on the `str0m` crate,
//! sans-IO and ICE-lite.
//!
//! # How media flows
//!
//! ```text
//!   client A ──UDP──┐                          ┌── peer task A (Rtc A) ──┐
//!   client B ──UDP──┤  one socket  ─ demux ─▶  ├── peer task B (Rtc B) ──┤─ room: links,
//!   client C ──UDP──┘  (udp_listen)            └── peer task C (Rtc C) ──┘  tracks, mute,
//!                         ▲                               │                 speaker, events
//!                         └──────── send_to ◀─────────────┘
//! ```
//!
//! - **One UDP socket** ([`MediaConfig::udp_listen`]) carries all sessions. The server is
//!   ICE-lite: it announces one host candidate ([`MediaConfig::public_ip`], or the listen
//!   address) and answers the clients' connectivity checks. A datagram goes to the session
//!   whose ICE username fragment its STUN USERNAME names, and then by source address
//!   (DTLS, SRTP); see `demux`.
//! - **ICE-TCP** ([`MediaConfig::tcp_listen`], RFC 6544) for networks that drop UDP: a
//!   passive TCP candidate; each connection carries one session's packets in RFC 4571
//!   frames and belongs to the session its first STUN request names; see `tcp`.
//! - **One task per participant** owns that participant's `str0m::Rtc`. A panic in it
//!   (str0m panics on internal bugs by design) ends that task only: a watcher sees the
//!   `JoinError`, withdraws the participant from the room and reports
//!   [`RoomEvent::Left`] with [`LeaveReason::Failed`]. (The release profile must keep
//!   `panic = "unwind"` for this.)
//! - **Forwarding is frame-level**, as str0m's `chat` SFU example does: the publisher's
//!   task receives depacketized frames (`Event::MediaData`) and hands an `Arc` of each to
//!   every other participant's task, which writes it with its own `Writer`. Each leg thus
//!   has its own SSRCs, sequence numbers, NACK/RTX buffer, TWCC feedback and pacing, and
//!   payload types are matched per subscriber (a browser may number Opus 111, another
//!   109). RTP-level forwarding (str0m's RTP mode) would save a depacketize/packetize per
//!   packet but makes the SFU rewrite SSRCs, sequence numbers and payload types itself and
//!   lose str0m's per-leg feedback; it is the optimisation to measure against later.
//! - **Keyframes**: a subscriber's PLI/FIR is relayed to the publisher of that track
//!   (throttled to one per 500 ms per track); a subscriber that connects, accepts new
//!   m-lines or sees video resumed asks for one itself; a publisher's lost packets beyond
//!   NACK recovery trigger one.
//! - **Admin mute** ([`Room::set_forwarding`]) stops the publisher's task from forwarding
//!   that person's audio or video; the media still arrives, nobody receives it.
//! - **Simulcast**: a camera sent as several layers reaches each subscriber as the one
//!   layer its asked quality ([`PeerHandle::set_quality`]) and the bandwidth estimated
//!   towards it allow, switched only on a keyframe of the new layer (see `simulcast`).
//!   `max_video_kbps` caps what a client sends of one video (`b=AS` in our answers).
//! - **Active speaker** comes from the audio-level header extension (RFC 6464), evaluated
//!   every 400 ms ([`RoomEvent::ActiveSpeaker`]).
//!
//! # Deployment
//!
//! Open the UDP port of `udp_listen` (and the TCP port of `tcp_listen` for clients whose
//! network drops UDP) to clients. Behind a 1:1 NAT (a cloud VM's public address), set
//! `public_ip` to the public address: it is what clients are told to send to. On a LAN or
//! loopback nothing else is needed: the server is ICE-lite with a host candidate, and the
//! clients' checks reach it directly; no STUN or TURN server is involved. Clients behind
//! restrictive NATs that allow neither need a TURN server of their own (handed to them as
//! `ice_servers`, to come with the signalling).
//!
//! # Signalling (what the integration needs)
//!
//! The Socket.IO layer is to call this API; nothing here knows about sockets or tokens.
//! 1. Authorise the client with the media token of
//!    `GET /api/mediasessions/mpaas/token/{spaceId}` (the room id is the space or meeting
//!    id the token names), then [`MediaServer::join`] → [`PeerHandle`] and [`PeerEvents`].
//!    [`MediaError::RoomFull`] and [`MediaError::AlreadyJoined`] become refusal events.
//! 2. Client offer event → [`PeerHandle::accept_offer`] → answer event (or an error event
//!    with the [`MediaError`] text: malformed SDP etc.). The server's host candidate is in
//!    the answer; trickled client candidates go to [`PeerHandle::add_remote_candidate`]
//!    (optional for ICE-lite).
//! 3. Relay [`PeerEvents`]: [`PeerEvent::Offer`] (others' tracks to receive or stop) as
//!    an offer event; the client's answer → [`PeerHandle::accept_answer`]. Offers come one
//!    at a time; a client offer crossing ours wins (ours is re-made after it).
//! 4. [`Room::events`] drives the meeting state: `Connected` (attendee joined, meeting
//!    started), `Left` (attendee left; the room disappears with its last participant),
//!    `TrackPublished`/`TrackUnpublished` (camera, microphone, screen share on and off:
//!    the client's own renegotiations), `ActiveSpeaker`, `ForwardingChanged`.
//! 5. Admin controls → [`Room::set_forwarding`]; leaving → [`PeerHandle::leave`] (or drop
//!    every clone of the handle, e.g. when the socket disconnects).
//!
//! [`client::MediaClient`] is a Rust WebRTC client on str0m (its own UDP socket) that
//! publishes generated Opus-shaped audio and VP8-shaped video and counts what it
//! receives: for tests and load tools.

mod config;
mod demux;
mod error;
mod handle;
mod link;
mod peer;
mod recording;
mod room;
mod server;
mod simulcast;
mod speaker;
mod tcp;

pub mod client;
pub mod loopback;

#[cfg(test)]
mod sfu_tests;

pub use config::MediaConfig;
pub use error::MediaError;
pub use handle::{PeerEvent, PeerEvents, PeerHandle};
pub use link::TrackKind;
pub use peer::{CONNECT_TIMEOUT, MAX_SDP_BYTES};
pub use recording::{RecordedFile, rebuild as rebuild_recording, recording_dumps};
pub use room::{LeaveReason, Room, RoomEvent, RoomStats};
pub use server::MediaServer;
pub use simulcast::Quality;
pub use speaker::{SPEAKER_EVALUATION_INTERVAL, SPEECH_THRESHOLD_DBOV, SWITCH_MARGIN_DB};
