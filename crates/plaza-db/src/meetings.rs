//! Meetings as the store keeps them: one row per meeting holding the core's state
//! document, written by compare-and-swap on `version` so that any node may change any
//! meeting without a lock (see `Store::save_meeting`).

use crate::{ObjectId, Timestamp};

/// A meeting in a space. At most one per space is active (`ended` is `None`); the
/// store enforces it. Its id is also the id of its record in the space's history
/// (a message of category `meeting`).
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingRecord {
    pub id: ObjectId,
    pub space_id: ObjectId,
    /// The core's state document (attendees, recordings, layout, ...); the store never
    /// looks inside.
    pub state: serde_json::Value,
    /// Bumped by every save; a save names the version it read.
    pub version: i64,
    pub started: Timestamp,
    pub ended: Option<Timestamp>,
    /// When the server must next look at this meeting unprompted (an attendee whose
    /// connection dropped runs out of grace), if ever.
    pub due_at: Option<Timestamp>,
}

/// The node hosting a space's media room, and the address its clients send media to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaHost {
    pub node_id: String,
    pub address: String,
}
