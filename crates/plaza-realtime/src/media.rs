//! The media-signalling socket events (docs/decisions.md, "Media signalling"):
//! `MEDIA_JOIN`, `MEDIA_OFFER`, `MEDIA_ANSWER`, `MEDIA_CANDIDATE`, `MEDIA_LEAVE`,
//! `MEDIA_QUALITY`. The
//! token and meeting rules are the core's (`MeetingService::admit_media`, ...); the
//! SFU is this node's (`media_plane`), or another node's: with several nodes a space's
//! room lives on its host (`MeetingService::media_host`), and the events of sessions
//! hosted elsewhere are relayed there (`node_bus`), whose answers reach the socket
//! through the adapter. Every refusal is `<EVENT>_FAILED`: the payload sent plus
//! `error`, as `SEND_MESSAGE_FAILED`.

use plaza_core::limits::rate_limited;
use plaza_core::{CoreError, ErrorCode};
use plaza_media::{MAX_SDP_BYTES, MediaError, PeerHandle, Quality};
use plaza_wire::lenient::Inbound;
use plaza_wire::media::{
    MediaCandidate, MediaJoin, MediaJoined, MediaLeave, MediaQuality, MediaSdp,
};
use plaza_wire::socket::Failed;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};

use crate::RealtimeState;
use crate::failure::error_body;
use crate::media_plane::{
    JoinRefusal, MediaPlane, Outlet, SessionContext, Signalling, announce_participants, run_session,
};
use crate::node_bus::{Relayed, RemoteSession};
use crate::turn::Turn;

/// The largest SDP accepted in a media event. Engine.IO refuses any packet over
/// `MAX_PAYLOAD` (100 kB) before it reaches a handler (a WebSocket message over it
/// closes the connection); below that, an SDP over this bound gets `request.too_large`.
/// A browser's offer is a few kB per m-line.
pub const MAX_SIGNAL_SDP_BYTES: usize = 64 * 1024;

/// The events of a joined media session, which [`signal`] handles.
const SESSION_EVENTS: [&str; 5] =
    ["MEDIA_OFFER", "MEDIA_ANSWER", "MEDIA_CANDIDATE", "MEDIA_LEAVE", "MEDIA_QUALITY"];

/// Handles a media event from a socket (`events::dispatch`): `MEDIA_JOIN`, or an
/// event of a joined session, in the socket's order, counted, then [`signal`]. `false`
/// for any other event.
pub(crate) async fn dispatch<A: Adapter>(
    event: &str,
    turn: Turn,
    socket: SocketRef<A>,
    io: SocketIo<A>,
    state: State<RealtimeState>,
    data: TryData<Value>,
) -> bool {
    if event == "MEDIA_JOIN" {
        join(turn, socket, io, state, data).await;
        return true;
    }
    let Some(event) = SESSION_EVENTS.into_iter().find(|known| *known == event) else {
        return false;
    };
    let (State(state), TryData(data)) = (state, data);
    turn.wait().await;
    state.metrics.socket_event(event);
    signal(&state, Outlet::Socket(socket), event, data.ok()).await;
    true
}

/// Answers `<event>_FAILED` with the payload sent and `error`.
async fn fail<A: Adapter>(
    outlet: &Outlet<A>,
    event: &str,
    payload: Map<String, Value>,
    error: &CoreError,
    kind: Option<&str>,
) {
    let failed = Failed::echo(payload, error_body(error), kind);
    outlet.emit(&format!("{event}_FAILED"), &failed).await;
}

/// The payload as sent and its fields, or the malformed-payload failure already sent.
async fn parse<A: Adapter, T: DeserializeOwned + Default>(
    outlet: &Outlet<A>,
    event: &str,
    data: Option<Value>,
) -> Option<Inbound<T>> {
    let parsed = Inbound::<T>::parse(data);
    if parsed.is_none() {
        let error = CoreError::new(ErrorCode::RequestMalformed, format!("{event} takes an object"));
        outlet.emit(&format!("{event}_FAILED"), &Failed::bare(error_body(&error))).await;
    }
    parsed
}

fn plane(state: &RealtimeState) -> Result<&std::sync::Arc<MediaPlane>, CoreError> {
    state.media.as_ref().ok_or_else(|| {
        CoreError::new(
            ErrorCode::MediaDisabled,
            "this server runs no media plane (media.enabled = false)",
        )
    })
}

fn session_not_found() -> CoreError {
    CoreError::new(
        ErrorCode::MediaSessionNotFound,
        "no media session of this connection has that sessionId",
    )
}

/// The engine's refusal as the client is told it.
fn media_error(error: MediaError) -> CoreError {
    match error {
        MediaError::MalformedSdp(_) | MediaError::SdpRefused(_) => {
            CoreError::invalid("sdp", error.to_string())
        }
        MediaError::MalformedCandidate(_) => CoreError::invalid("candidate", error.to_string()),
        MediaError::NoPendingOffer => {
            CoreError::invalid("sdp", "no offer of the server is waiting for an answer")
        }
        MediaError::SessionEnded | MediaError::NotInRoom { .. } => session_not_found(),
        other => CoreError::internal(anyhow::anyhow!(other)),
    }
}

/// `MEDIA_JOIN {topicId, token}` → `MEDIA_JOINED` (then `MEDIA_PARTICIPANTS` to the
/// space), or `MEDIA_JOIN_FAILED`; relayed to the room's host when that is another node.
async fn join<A: Adapter>(
    turn: Turn,
    socket: SocketRef<A>,
    io: SocketIo<A>,
    State(state): State<RealtimeState>,
    TryData(data): TryData<Value>,
) {
    turn.wait().await;
    state.metrics.socket_event("MEDIA_JOIN");
    let outlet = Outlet::Socket(socket.clone());
    let Some(principal) = crate::session::principal(&socket) else { return };
    let Some(Inbound { fields: request, raw: payload }) =
        parse::<A, MediaJoin>(&outlet, "MEDIA_JOIN", data.ok()).await
    else {
        return;
    };
    let plane = match plane(&state) {
        Ok(plane) => plane.clone(),
        Err(error) => return fail(&outlet, "MEDIA_JOIN", payload, &error, None).await,
    };
    let space_id = request.topic_id.clone().unwrap_or_default();
    if !crate::session::is_subscribed(&socket, &space_id) {
        let error = CoreError::permission_denied(
            "subscribe to the space (SUBSCRIBE_CHANNEL) before joining its media",
        );
        let kind = Some("app.event.channel.subscription.required");
        return fail(&outlet, "MEDIA_JOIN", payload, &error, kind).await;
    }
    let token = request.token.clone().unwrap_or_default();
    let admitted = async {
        let admission = state.meetings.admit_media(&principal, &space_id, &token).await?;
        let host = state.meetings.media_host(admission.space.id).await?;
        Ok::<_, CoreError>((admission, host))
    }
    .await;
    let (admission, host) = match admitted {
        Ok(admitted) => admitted,
        Err(error) => return fail(&outlet, "MEDIA_JOIN", payload, &error, None).await,
    };
    if let (Some(host), Some(bus)) = (host, plane.bus())
        && host.node_id != bus.node_id()
    {
        let socket_id = outlet.socket_id();
        let session = RemoteSession {
            host: host.node_id.clone(),
            socket_id: socket_id.clone(),
            space_id: admission.space.id,
        };
        bus.relayed(&admission.session_id, session);
        let join = Relayed::Join { socket_id, space_id, token, payload: Value::Object(payload) };
        return bus.send(&host.node_id, join);
    }
    join_here(&state, &plane, io, outlet, principal, admission, None, payload).await;
}

/// `MEDIA_JOIN` relayed by node `origin`, whose socket `socket_id` sent it: this node
/// hosts the space's room.
pub(crate) async fn join_relayed<A: Adapter>(
    state: &RealtimeState,
    io: SocketIo<A>,
    origin: String,
    socket_id: String,
    space_id: &str,
    token: &str,
    payload: Value,
) {
    let outlet = Outlet::Remote { io: io.clone(), socket_id };
    let payload = match payload {
        Value::Object(payload) => payload,
        _ => Map::new(),
    };
    let admitted = async {
        let plane = plane(state)?.clone();
        let (principal, admission) = state.meetings.admit_relayed_media(space_id, token).await?;
        Ok::<_, CoreError>((plane, principal, admission))
    }
    .await;
    match admitted {
        Ok((plane, principal, admission)) => {
            join_here(state, &plane, io, outlet, principal, admission, Some(origin), payload).await;
        }
        Err(error) => fail(&outlet, "MEDIA_JOIN", payload, &error, None).await,
    }
}

/// Joins the admitted session into this node's room and starts its task.
#[allow(clippy::too_many_arguments, reason = "the join's context, passed through")]
async fn join_here<A: Adapter>(
    state: &RealtimeState,
    plane: &std::sync::Arc<MediaPlane>,
    io: SocketIo<A>,
    outlet: Outlet<A>,
    principal: plaza_core::identity::Principal,
    admission: plaza_core::meetings::MediaAdmission,
    origin: Option<String>,
    payload: Map<String, Value>,
) {
    let space = admission.space.id;
    let socket_id = outlet.socket_id();
    let joined = plane.join(space, &admission.session_id, &principal, &socket_id, origin);
    let (events, room_events, signalling) = match joined {
        Ok(joined) => joined,
        Err(refusal) => {
            let error = match refusal {
                JoinRefusal::Full => CoreError::new(
                    ErrorCode::MeetingFull,
                    "the meeting's media room is full (media.max_participants)",
                ),
                JoinRefusal::Duplicate => CoreError::new(
                    ErrorCode::ResourceConflict,
                    "this media session is in the room already: get a new media token",
                ),
                JoinRefusal::Other(error) => media_error(error),
            };
            return fail(&outlet, "MEDIA_JOIN", payload, &error, None).await;
        }
    };
    let (participants, roster_version) = plane.roster(space);
    let joined = MediaJoined {
        topic_id: space.to_string(),
        session_id: admission.session_id.clone(),
        ice_servers: plane.ice_servers(),
        participants,
        roster_version,
        max_video_kbps: plane.max_video_kbps(),
        media_address: plane.announced_addr().to_string(),
    };
    outlet.emit("MEDIA_JOINED", &joined).await;
    announce_participants(plane, &io, space).await;
    let context = SessionContext {
        plane: plane.clone(),
        meetings: state.meetings.clone(),
        io,
        outlet,
        principal,
        space_id: space,
        session_id: admission.session_id,
        signalling,
    };
    tokio::spawn(run_session(context, events, room_events));
}

/// One of a session's other events (`MEDIA_OFFER`, `MEDIA_ANSWER`, `MEDIA_CANDIDATE`,
/// `MEDIA_LEAVE`, `MEDIA_QUALITY`) from the socket `outlet` reaches: relayed to the
/// room's host when the session runs on another node, else handled here.
pub(crate) async fn signal<A: Adapter>(
    state: &RealtimeState,
    outlet: Outlet<A>,
    event: &str,
    data: Option<Value>,
) {
    if let (Some(plane), Outlet::Socket(_)) = (&state.media, &outlet)
        && let Some(bus) = plane.bus()
    {
        let session_id = data.as_ref().and_then(|d| d.get("sessionId")).and_then(Value::as_str);
        let socket_id = outlet.socket_id();
        if let Some(host) = session_id.and_then(|id| bus.host_of(id, &socket_id)) {
            let payload = data.unwrap_or(Value::Null);
            let signal = Relayed::Signal { socket_id, event: event.to_owned(), payload };
            return bus.send(&host, signal);
        }
    }
    match event {
        "MEDIA_OFFER" => offer(state, &outlet, data).await,
        "MEDIA_ANSWER" => answer(state, &outlet, data).await,
        "MEDIA_CANDIDATE" => candidate(state, &outlet, data).await,
        "MEDIA_LEAVE" => leave(state, &outlet, data).await,
        "MEDIA_QUALITY" => quality(state, &outlet, data).await,
        other => tracing::debug!(event = other, "not a media event"),
    }
}

/// The session `session_id` names, when this socket signals it; else the failure.
fn session_of<A: Adapter>(
    state: &RealtimeState,
    outlet: &Outlet<A>,
    session_id: Option<&str>,
) -> Result<(std::sync::Arc<MediaPlane>, PeerHandle, Signalling), CoreError> {
    let plane = plane(state)?;
    let (handle, signalling) = plane
        .handle_of(session_id.unwrap_or_default(), &outlet.socket_id())
        .ok_or_else(session_not_found)?;
    Ok((plane.clone(), handle, signalling))
}

/// The SDP of an offer or answer: `sdp` (present, not empty, at most
/// [`MAX_SIGNAL_SDP_BYTES`]) or `sdpDeflate` inflated (at most [`MAX_SDP_BYTES`]).
fn sdp_of(request: &MediaSdp) -> Result<String, CoreError> {
    if let Some(packed) = request.sdp_deflate.as_deref() {
        return inflate_sdp(packed);
    }
    let sdp =
        request.sdp.as_deref().filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            CoreError::invalid("sdp", "must be an SDP (a string starting with v=0)")
        })?;
    if sdp.len() > MAX_SIGNAL_SDP_BYTES {
        return Err(CoreError::new(
            ErrorCode::RequestTooLarge,
            format!(
                "an SDP is at most {MAX_SIGNAL_SDP_BYTES} bytes; send a larger one as sdpDeflate"
            ),
        ));
    }
    Ok(sdp.to_owned())
}

/// `sdpDeflate`: base64 of a raw DEFLATE stream, inflated to at most [`MAX_SDP_BYTES`]
/// (read one byte further to tell "exactly the limit" from "more": a small stream that
/// inflates to gigabytes stops there).
fn inflate_sdp(packed: &str) -> Result<String, CoreError> {
    use base64::Engine as _;
    use std::io::Read as _;
    let invalid =
        || CoreError::invalid("sdpDeflate", "must be base64 of a raw DEFLATE stream of an SDP");
    let bytes = base64::engine::general_purpose::STANDARD.decode(packed).map_err(|_| invalid())?;
    let mut sdp = Vec::new();
    flate2::read::DeflateDecoder::new(bytes.as_slice())
        .take(MAX_SDP_BYTES as u64 + 1)
        .read_to_end(&mut sdp)
        .map_err(|_| invalid())?;
    if sdp.len() > MAX_SDP_BYTES {
        return Err(CoreError::new(
            ErrorCode::RequestTooLarge,
            format!("an SDP is at most {MAX_SDP_BYTES} bytes once inflated"),
        ));
    }
    String::from_utf8(sdp).ok().filter(|s| !s.trim().is_empty()).ok_or_else(invalid)
}

/// `MEDIA_OFFER {sessionId, sdp}` (the client's own tracks, first or changed) →
/// `MEDIA_ANSWER {sessionId, sdp}`, or `MEDIA_OFFER_FAILED`.
async fn offer<A: Adapter>(state: &RealtimeState, outlet: &Outlet<A>, data: Option<Value>) {
    let Some(Inbound { fields: request, raw: payload }) =
        parse::<A, MediaSdp>(outlet, "MEDIA_OFFER", data).await
    else {
        return;
    };
    let answered = async {
        let (plane, handle, signalling) = session_of(state, outlet, request.session_id.as_deref())?;
        plane
            .offer_allowed(&outlet.socket_id())
            .await
            .map_err(|wait| rate_limited(wait, "media offers"))?;
        let sdp = sdp_of(&request)?;
        // Held until the answer is sent: the server's next offer waits for it.
        let in_order = signalling.lock_owned().await;
        let answer = handle.accept_offer(&sdp).await.map_err(media_error)?;
        Ok::<_, CoreError>((answer, in_order))
    }
    .await;
    match answered {
        Ok((sdp, _in_order)) => {
            let answer = MediaSdp {
                session_id: request.session_id.clone(),
                sdp: Some(sdp),
                sdp_deflate: None,
            };
            outlet.emit("MEDIA_ANSWER", &answer).await;
        }
        Err(error) => fail(outlet, "MEDIA_OFFER", payload, &error, None).await,
    }
}

/// `MEDIA_ANSWER {sessionId, sdp}`: the client's answer to the server's `MEDIA_OFFER`;
/// nothing follows unless it is refused (`MEDIA_ANSWER_FAILED`).
async fn answer<A: Adapter>(state: &RealtimeState, outlet: &Outlet<A>, data: Option<Value>) {
    let Some(Inbound { fields: request, raw: payload }) =
        parse::<A, MediaSdp>(outlet, "MEDIA_ANSWER", data).await
    else {
        return;
    };
    let accepted = async {
        // Not rate-limited: an answer only completes an offer of the server's, and the
        // server makes one at a time.
        let (_, handle, _) = session_of(state, outlet, request.session_id.as_deref())?;
        let sdp = sdp_of(&request)?;
        handle.accept_answer(&sdp).await.map_err(media_error)
    }
    .await;
    if let Err(error) = accepted {
        fail(outlet, "MEDIA_ANSWER", payload, &error, None).await;
    }
}

/// `MEDIA_CANDIDATE {sessionId, candidate}`: a trickled candidate; refusals only
/// (`MEDIA_CANDIDATE_FAILED`).
async fn candidate<A: Adapter>(state: &RealtimeState, outlet: &Outlet<A>, data: Option<Value>) {
    let Some(Inbound { fields: request, raw: payload }) =
        parse::<A, MediaCandidate>(outlet, "MEDIA_CANDIDATE", data).await
    else {
        return;
    };
    let added = async {
        let (plane, handle, _) = session_of(state, outlet, request.session_id.as_deref())?;
        plane
            .candidate_allowed(&outlet.socket_id())
            .await
            .map_err(|wait| rate_limited(wait, "media candidates"))?;
        let candidate =
            request
                .candidate
                .as_deref()
                .filter(|c| !c.is_empty() && c.len() <= 1024)
                .ok_or_else(|| CoreError::invalid("candidate", "must be an ICE candidate line"))?;
        handle.add_remote_candidate(candidate).await.map_err(media_error)
    }
    .await;
    if let Err(error) = added {
        fail(outlet, "MEDIA_CANDIDATE", payload, &error, None).await;
    }
}

/// `MEDIA_LEAVE {sessionId}`: ends the session; its person leaves the meeting at once.
async fn leave<A: Adapter>(state: &RealtimeState, outlet: &Outlet<A>, data: Option<Value>) {
    let Some(Inbound { fields: request, raw: payload }) =
        parse::<A, MediaLeave>(outlet, "MEDIA_LEAVE", data).await
    else {
        return;
    };
    let left = plane(state).and_then(|plane| {
        let session_id = request.session_id.as_deref().unwrap_or_default();
        plane.leave(session_id, &outlet.socket_id()).then_some(()).ok_or_else(session_not_found)
    });
    if let Err(error) = left {
        fail(outlet, "MEDIA_LEAVE", payload, &error, None).await;
    }
}

/// `MEDIA_QUALITY {sessionId, publisher, quality}`: the layer of a publisher's simulcast
/// video this session wants; refusals only (`MEDIA_QUALITY_FAILED`).
async fn quality<A: Adapter>(state: &RealtimeState, outlet: &Outlet<A>, data: Option<Value>) {
    let Some(Inbound { fields: request, raw: payload }) =
        parse::<A, MediaQuality>(outlet, "MEDIA_QUALITY", data).await
    else {
        return;
    };
    let set = (|| {
        let (_, handle, _) = session_of(state, outlet, request.session_id.as_deref())?;
        let quality = request.quality.as_deref().and_then(Quality::parse).ok_or_else(|| {
            CoreError::invalid("quality", "must be \"low\", \"medium\" or \"high\"")
        })?;
        // Only someone in the room: the session keeps one entry per publisher named.
        let publisher = request
            .publisher
            .as_deref()
            .filter(|publisher| handle.room().participants().iter().any(|p| p == publisher))
            .ok_or_else(|| {
                CoreError::invalid("publisher", "must be the sessionId of someone in the room")
            })?;
        handle.set_quality(publisher, quality);
        Ok::<_, CoreError>(())
    })();
    if let Err(error) = set {
        fail(outlet, "MEDIA_QUALITY", payload, &error, None).await;
    }
}
