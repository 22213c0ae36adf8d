//! The media-signalling socket events (docs/decisions.md, "Media signalling"): joining a
//! space's SFU room with a media token, the SDP offers and answers both ways, trickled
//! candidates, leaving, and what the server tells a room (participants, active speaker,
//! forwarding). Failures are `<EVENT>_FAILED`: the payload sent plus `error`
//! ([`crate::socket::Failed`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::lenient;

// ---- inbound ----

/// `MEDIA_JOIN {topicId, token}`: enter the space's media room; the socket must have
/// subscribed to the space (`SUBSCRIBE_CHANNEL`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MediaJoin {
    /// The space's id.
    #[serde(rename = "topicId", default, deserialize_with = "lenient::field")]
    pub topic_id: Option<String>,
    /// The media token of `GET /api/mediasessions/mpaas/token/{spaceId}`, issued to this
    /// socket's user for this space; its session id becomes the media session's.
    #[serde(default, deserialize_with = "lenient::field")]
    pub token: Option<String>,
}

/// `MEDIA_OFFER {sessionId, sdp}` from a client (what it publishes, first or changed;
/// answered by the server's `MEDIA_ANSWER`), and from the server (the others' tracks to
/// receive or stop; answered by the client's `MEDIA_ANSWER`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct MediaSdp {
    /// The media session (`sessionId` of `MEDIA_JOINED`).
    #[serde(rename = "sessionId", default, deserialize_with = "lenient::field")]
    pub session_id: Option<String>,
    /// The SDP offer or answer.
    #[serde(default, deserialize_with = "lenient::field")]
    pub sdp: Option<String>,
    /// From a client, instead of `sdp`: the SDP compressed (raw DEFLATE, RFC 1951, in
    /// base64), for the answers of large rooms: a socket packet is at most 100 kB, and a
    /// browser's answer grows by 1 to 2 kB per m-line, two m-lines per person. At most
    /// 512 KiB once inflated. The server's own SDPs are always plain `sdp`.
    #[serde(
        rename = "sdpDeflate",
        default,
        deserialize_with = "lenient::field",
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_deflate: Option<String>,
}

/// `MEDIA_CANDIDATE {sessionId, candidate}`: a trickled ICE candidate of the client
/// (`candidate:...`). Optional: the server is ICE-lite and learns the client's address
/// from its connectivity checks.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MediaCandidate {
    #[serde(rename = "sessionId", default, deserialize_with = "lenient::field")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::field")]
    pub candidate: Option<String>,
}

/// `MEDIA_LEAVE {sessionId}`: ends the media session; its person leaves the meeting.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MediaLeave {
    #[serde(rename = "sessionId", default, deserialize_with = "lenient::field")]
    pub session_id: Option<String>,
}

/// `MEDIA_QUALITY {sessionId, publisher, quality}`: the quality the client wants of a
/// publisher's simulcast camera (the size of its tile): `low`, `medium` or `high`. The
/// server still lowers it when the bandwidth towards the client is short; videos never
/// asked about come at `high`. Refusals only (`MEDIA_QUALITY_FAILED`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MediaQuality {
    /// The client's own media session.
    #[serde(rename = "sessionId", default, deserialize_with = "lenient::field")]
    pub session_id: Option<String>,
    /// The publisher's `sessionId` (its `streamId`).
    #[serde(default, deserialize_with = "lenient::field")]
    pub publisher: Option<String>,
    /// `low`, `medium` or `high`.
    #[serde(default, deserialize_with = "lenient::field")]
    pub quality: Option<String>,
}

// ---- outbound ----

/// A TURN or STUN server the client may use (`media.ice_servers`), shaped as
/// `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// One person's media session in a room, and what they publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MediaParticipant {
    #[serde(rename = "sessionId")]
    pub session_id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    pub displayname: String,
    /// Publishes a microphone.
    pub audio: bool,
    /// Publishes a camera (their first video track).
    pub video: bool,
    /// Publishes a second video track: a screen share.
    pub screenshare: bool,
    /// The stream id (`a=msid`) of this person's tracks in the server's offers: a
    /// remote track whose stream has this id is theirs. Equal to `sessionId`.
    #[serde(rename = "streamId")]
    pub stream_id: String,
}

/// `MEDIA_JOINED`: the socket's media session in the space's room; next, the client
/// sends its `MEDIA_OFFER`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaJoined {
    #[serde(rename = "topicId")]
    pub topic_id: String,
    #[serde(rename = "sessionId")]
    pub session_id: String,
    /// TURN/STUN servers for the client's `RTCPeerConnection` (often none: the server's
    /// own address is in its SDP).
    #[serde(rename = "iceServers")]
    pub ice_servers: Vec<IceServer>,
    /// Everyone in the room, this session included.
    pub participants: Vec<MediaParticipant>,
    /// The number of this list of participants: a `MEDIA_PARTICIPANTS` with a larger
    /// one is newer (it may arrive first), a smaller one older.
    #[serde(rename = "rosterVersion")]
    pub roster_version: u64,
    /// The most a client should send of one video (camera or screen share), in kbit/s
    /// (`media.max_video_kbps`); the server's answers also carry it as `b=AS`.
    #[serde(rename = "maxVideoKbps")]
    pub max_video_kbps: u32,
    /// The media address (`ip:port`, UDP) of the node hosting the room: with several
    /// nodes, not necessarily the one this socket is connected to.
    #[serde(rename = "mediaAddress")]
    pub media_address: String,
}

/// `MEDIA_PARTICIPANTS`, to the space: who has a media session and what they publish,
/// after anyone joins, leaves, or publishes or stops a track.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaParticipants {
    #[serde(rename = "topicId")]
    pub topic_id: String,
    pub participants: Vec<MediaParticipant>,
    /// The number of this list: clients keep the list with the largest (see
    /// `MediaJoined::roster_version`).
    #[serde(rename = "rosterVersion")]
    pub roster_version: u64,
}

/// `MEDIA_ACTIVE_SPEAKER`, to the space: someone else became the active speaker (from
/// the audio levels, at most a few times a second).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaActiveSpeaker {
    #[serde(rename = "topicId")]
    pub topic_id: String,
    #[serde(rename = "sessionId")]
    pub session_id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
}

/// `MEDIA_FORWARDING`, to the space: the SFU stopped or resumed forwarding someone's
/// audio or video (an admin's mute or video off, their own unmute).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaForwarding {
    #[serde(rename = "topicId")]
    pub topic_id: String,
    #[serde(rename = "sessionId")]
    pub session_id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    /// `audio` or `video`.
    pub kind: String,
    pub forwarding: bool,
}

/// `MEDIA_SESSION_ENDED`, to the session's socket: the server closed it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaSessionEnded {
    #[serde(rename = "topicId")]
    pub topic_id: String,
    #[serde(rename = "sessionId")]
    pub session_id: String,
    /// `disconnected` (ICE consent lapsed, DTLS closed), `failed` (an error inside the
    /// media engine), `left` (ended by the server, e.g. the socket's token expired).
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lenient::from_value;
    use serde_json::json;

    #[test]
    fn fields_of_the_wrong_type_read_as_absent() {
        let join: MediaJoin = from_value(&json!({"topicId": 7, "token": "t"}));
        assert_eq!(join.topic_id, None);
        assert_eq!(join.token.as_deref(), Some("t"));
        let offer: MediaSdp = from_value(&json!({"sessionId": "s", "sdp": {"x": 1}}));
        assert_eq!(offer.session_id.as_deref(), Some("s"));
        assert_eq!(offer.sdp, None);
    }

    #[test]
    fn a_participant_names_its_stream() {
        let participant = MediaParticipant {
            session_id: "s1".into(),
            user_id: "u".into(),
            displayname: "Ann".into(),
            audio: true,
            video: false,
            screenshare: false,
            stream_id: "s1".into(),
        };
        let value = serde_json::to_value(&participant).unwrap();
        assert_eq!(value["streamId"], "s1");
        assert_eq!(value["sessionId"], "s1");
    }
}
