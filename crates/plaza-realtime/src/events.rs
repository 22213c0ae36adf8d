//! The Spaces socket events: `SUBSCRIBE_CHANNEL`, `UNSUBSCRIBE_CHANNEL`, `SEND_MESSAGE`,
//! `SEND_PRESENCE_EVENT`, `SEND_MEDIA_SESSION_EVENTS`, and what the server itself does
//! when a socket goes away (presence `leaves`, the meeting's drop grace).
//! Every reply is a separate named event (CONTRACT §1); a malformed payload gets the
//! matching `*_FAILED` event or is logged and dropped, never closing the connection.

use plaza_core::identity::Principal;
use plaza_core::limits::rate_limited;
use plaza_core::meetings::MediaInput;
use plaza_core::messages::NewMessage;
use plaza_core::{CoreError, ErrorCode, ObjectId};
use plaza_wire::lenient::{self, Inbound};
use plaza_wire::message_input;
use plaza_wire::socket::{
    ChannelRef, ChannelSubscribed, ChannelUnsubscribed, Failed, PresenceEvent,
    SendMediaSessionEvents, SendMessage, SendPresenceEvent, SubscribeChannel,
    SubscribeChannelFailed, UnsubscribeChannel,
};
use plaza_wire::{ErrorBody, Message, Sender};
use serde::Serialize;
use serde_json::{Map, Value};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Event, SocketRef, State, TryData};

use crate::failure::error_body;
use crate::session::{Standings, is_subscribed, principal};
use crate::turn::Turn;
use crate::{RealtimeState, socket_room, space_room, subscriber_room};

/// The events this server answers, registered on every connected socket: one handler
/// that dispatches by name. socketioxide keeps a map of handlers in every socket, and
/// one entry per event made it about 700 bytes of each connection's memory.
pub(crate) fn register<A: Adapter>(socket: &SocketRef<A>) {
    socket.on_fallback(dispatch::<A>);
    socket.on_disconnect(disconnected::<A>);
}

/// Hands an event to its handler; an event this server does not know is dropped.
async fn dispatch<A: Adapter>(
    turn: Turn,
    socket: SocketRef<A>,
    io: SocketIo<A>,
    Event(event): Event,
    state: State<RealtimeState>,
    data: TryData<Value>,
) {
    match event.as_str() {
        "SUBSCRIBE_CHANNEL" => subscribe(turn, socket, state, data).await,
        "UNSUBSCRIBE_CHANNEL" => unsubscribe(turn, socket, io, state, data).await,
        "SEND_MESSAGE" => send_message(turn, socket, state, data).await,
        "SEND_PRESENCE_EVENT" => presence(turn, socket, state, data).await,
        "SEND_MEDIA_SESSION_EVENTS" => media_session(turn, socket, state, data).await,
        other => {
            if !crate::media::dispatch(other, turn, socket, io, state, data).await {
                tracing::debug!(event = other, "unknown event dropped");
            }
        }
    }
}

/// Answers an event that a socket sent before its namespace connection was refused
/// (see `vendor/socketioxide`): the event's usual failure, carrying the refusal.
pub(crate) fn refused_reply(event: &str, data: Value, refusal: &str) -> Option<(String, Value)> {
    // The refusal is an error body already; it is passed on as it is.
    let error = serde_json::from_str::<Value>(refusal)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| to_value(&ErrorBody::bare("auth.invalid_token", refusal)));
    match event {
        "SUBSCRIBE_CHANNEL" => {
            // The id exactly as sent, whatever its type.
            let space_id = data.pointer("/channel/_id").cloned().unwrap_or(Value::Null);
            let payload = SubscribeChannelFailed { channel: ChannelRef::topic(space_id), error };
            Some(("SUBSCRIBE_CHANNEL_FAILED".to_owned(), to_value(&payload)))
        }
        "SEND_MESSAGE" | "SEND_MEDIA_SESSION_EVENTS" => {
            let failed = match data {
                Value::Object(payload) => Failed::echo(payload, error, None),
                _ => Failed::bare(error),
            };
            Some((format!("{event}_FAILED"), to_value(&failed)))
        }
        _ => None,
    }
}

/// The space ids this socket is subscribed to.
fn subscriptions<A: Adapter>(socket: &SocketRef<A>) -> Vec<String> {
    socket
        .rooms()
        .iter()
        .filter_map(|room| room.strip_prefix("space:").map(str::to_owned))
        .collect()
}

/// A payload as JSON (serialising a wire type cannot fail).
fn to_value(payload: &impl Serialize) -> Value {
    serde_json::to_value(payload).unwrap_or_default()
}

fn emit<A: Adapter>(socket: &SocketRef<A>, event: &str, payload: &impl Serialize) {
    if let Err(error) = socket.emit(event, payload) {
        tracing::debug!(%error, event, "emit to socket failed");
    }
}

/// `SUBSCRIBE_CHANNEL {channel: {_id, type, password?}, lastMessageId?}`: joins the
/// space as `/join` would (guests by link, PIN in `channel.password`), subscribes, and
/// replays what a reconnecting client missed after `lastMessageId`.
async fn subscribe<A: Adapter>(
    turn: Turn,
    socket: SocketRef<A>,
    State(state): State<RealtimeState>,
    TryData(data): TryData<Value>,
) {
    turn.wait().await;
    state.metrics.socket_event("SUBSCRIBE_CHANNEL");
    let Some(principal) = principal(&socket) else { return };
    let request: SubscribeChannel = lenient::from_value(&data.unwrap_or(Value::Null));
    let space_id = request.space_id();
    let fail = |error: CoreError| {
        let payload = SubscribeChannelFailed {
            channel: ChannelRef::topic(space_id),
            error: error_body(&error),
        };
        emit(&socket, "SUBSCRIBE_CHANNEL_FAILED", &payload);
    };
    let password = request.channel.as_ref().and_then(|c| c.password.as_deref());
    let space = match state.spaces.enter(&principal, space_id, password).await {
        Ok((space, _)) => space,
        Err(error) => return fail(error),
    };
    socket.join([space_room(space.id), subscriber_room(space.id, principal.user_id())]);
    state.presence.back(&space.id.to_string(), principal.user_id());
    Standings::of(&socket).forget(space.id);
    let payload = ChannelSubscribed {
        channel: ChannelRef::space(space.id),
        dtsid: format!("{}:{}", space.id, socket.id),
        session_id: socket.id.to_string(),
    };
    emit(&socket, "CHANNEL_SUBSCRIBED", &payload);
    if let Some(last) = request.last_message_id.as_deref().filter(|l| !l.is_empty()) {
        match state.messages.catch_up(&principal, space.id, last).await {
            Ok(missed) => {
                for message in missed {
                    emit(&socket, "MESSAGE_SENT", &Message::of(&message, &state.base_url));
                }
            }
            Err(error) => tracing::debug!(%error, "catch-up refused"),
        }
    }
}

/// The party of `principal` left `space_id` through this socket: announced with the
/// space's other leaves (`presence.rs`).
fn announce_leave<A: Adapter>(
    io: &SocketIo<A>,
    state: &RealtimeState,
    principal: &Principal,
    space_id: &str,
) {
    let sender = Sender::of(&principal.user, &state.base_url);
    state.presence.left(io, space_id, principal.user_id(), sender);
}

/// `UNSUBSCRIBE_CHANNEL {channel: {_id}}`: stops delivery and tells the others.
async fn unsubscribe<A: Adapter>(
    turn: Turn,
    socket: SocketRef<A>,
    io: SocketIo<A>,
    State(state): State<RealtimeState>,
    TryData(data): TryData<Value>,
) {
    turn.wait().await;
    state.metrics.socket_event("UNSUBSCRIBE_CHANNEL");
    let Some(principal) = principal(&socket) else { return };
    let request: UnsubscribeChannel = lenient::from_value(&data.unwrap_or(Value::Null));
    let space_id = request.space_id().to_owned();
    if is_subscribed(&socket, &space_id) {
        socket.leave([space_room(&space_id), subscriber_room(&space_id, principal.user_id())]);
        if let Ok(id) = space_id.parse() {
            Standings::of(&socket).forget(id);
        }
        if let Some(plane) = &state.media {
            plane.leave_space(&space_id, &socket.id.to_string());
        }
        if let Err(error) =
            state.meetings.left_space(&principal, &space_id, &socket_room(&socket)).await
        {
            tracing::warn!(%error, space_id, "leaving the meeting on unsubscribe failed");
        }
        announce_leave(&io, &state, &principal, &space_id);
    }
    emit(
        &socket,
        "CHANNEL_UNSUBSCRIBED",
        &ChannelUnsubscribed { channel: ChannelRef::topic(space_id) },
    );
}

/// `SEND_MESSAGE`: stored through the same core call as REST, then `MESSAGE_SENT` to
/// the space; this socket's copy alone carries `loopbackMetadata`.
async fn send_message<A: Adapter>(
    turn: Turn,
    socket: SocketRef<A>,
    State(state): State<RealtimeState>,
    TryData(data): TryData<Value>,
) {
    turn.wait().await;
    state.metrics.socket_event("SEND_MESSAGE");
    let Some(principal) = principal(&socket) else { return };
    let Some(Inbound { fields: message, raw: payload }) = Inbound::<SendMessage>::parse(data.ok())
    else {
        let error = CoreError::new(
            plaza_core::ErrorCode::RequestMalformed,
            "SEND_MESSAGE takes a message object",
        );
        return emit(&socket, "SEND_MESSAGE_FAILED", &Failed::bare(error_body(&error)));
    };
    if !turn.admitted() {
        // Not stored: the client sends it again once reconnected to a running server.
        let error = CoreError::new(
            plaza_core::ErrorCode::ServiceUnavailable,
            "the server is shutting down; send this again once reconnected",
        );
        let failed = Failed::echo(payload, error_body(&error), None);
        return emit(&socket, "SEND_MESSAGE_FAILED", &failed);
    }
    let fail = |error: CoreError, kind: Option<&str>| {
        let failed = Failed::echo(payload.clone(), error_body(&error), kind);
        emit(&socket, "SEND_MESSAGE_FAILED", &failed);
    };
    let space_id = message.topic_id.clone().unwrap_or_default();
    if !is_subscribed(&socket, &space_id) {
        let error = CoreError::permission_denied(
            "subscribe to the space (SUBSCRIBE_CHANNEL) before sending to it",
        );
        return fail(error, Some("app.event.channel.subscription.required"));
    }
    let parent_id = message.parent_msg.as_ref().and_then(|p| p._id.clone());
    let content = message.content.clone().unwrap_or_default();
    let read = message_input::category(message.category.as_deref())
        .and_then(|category| Ok((category, message_input::content(content, &payload, category)?)));
    let (category, content) = match read {
        Ok(read) => read,
        Err(error) => return fail(error, None),
    };
    let origin = Some(socket_room(&socket));
    // The standing of the last chat here, if any: the core reads the membership again
    // only when it is missing or too old.
    let standings = Standings::of(&socket);
    let space = space_id.parse::<ObjectId>().ok();
    let known = space.and_then(|space| standings.get(space));
    let input = NewMessage { space_id, category, content, parent_id, origin };
    match state.messages.send_with(&principal, input, known.as_ref()).await {
        Ok((view, standing)) => {
            if let Some(standing) = standing {
                standings.put(standing);
            }
            state.metrics.message_persisted("socket");
            // The sender's own copy: with the `loopbackMetadata` it sent.
            let own = Message {
                loopback_metadata: message.loopback_metadata.clone(),
                ..Message::of(&view, &state.base_url)
            };
            emit(&socket, "MESSAGE_SENT", &own);
        }
        Err(error) => {
            if let Some(space) = space {
                standings.forget(space);
            }
            fail(error, None);
        }
    }
}

/// `SEND_PRESENCE_EVENT`: relayed as `PRESENCE_EVENT_RESPONSE` to the space's other
/// subscribers, or only to `receivers` when that list is not empty; `sender` is filled
/// in from the token.
async fn presence<A: Adapter>(
    turn: Turn,
    socket: SocketRef<A>,
    State(state): State<RealtimeState>,
    TryData(data): TryData<Value>,
) {
    turn.wait().await;
    state.metrics.socket_event("SEND_PRESENCE_EVENT");
    let Some(principal) = principal(&socket) else { return };
    let Some(Inbound { fields: event, raw: payload }) =
        Inbound::<SendPresenceEvent>::parse(data.ok())
    else {
        tracing::debug!("malformed SEND_PRESENCE_EVENT dropped");
        return;
    };
    if let Err(error) = presence_allowed(&socket, &state, &principal, &payload).await {
        let failed = Failed::echo(payload, error_body(&error), None);
        let _ = socket.emit("SEND_PRESENCE_EVENT_FAILED", &failed);
        return;
    }
    let space_id = event.topic_id.clone().unwrap_or_default();
    if !is_subscribed(&socket, &space_id) {
        tracing::debug!(space_id, "presence for an unsubscribed space dropped");
        return;
    }
    let receivers: Vec<String> = event
        .receivers
        .iter()
        .flatten()
        .filter_map(|r| r.id())
        .filter(|id| id.parse::<ObjectId>().is_ok())
        .map(|user_id| subscriber_room(&space_id, user_id))
        .collect();
    let payload = PresenceEvent::relay(payload, Sender::of(&principal.user, &state.base_url));
    if receivers.is_empty() {
        let _ = socket.to(space_room(&space_id)).emit("PRESENCE_EVENT_RESPONSE", &payload).await;
    } else {
        // Only the named receivers, and only their sockets subscribed to this space.
        let _ = socket
            .to(receivers)
            .except(socket_room(&socket))
            .emit("PRESENCE_EVENT_RESPONSE", &payload)
            .await;
    }
}

/// The largest presence event relayed: presence says who is here and what they are
/// doing, not content (which goes through `SEND_MESSAGE` and its limits).
const MAX_PRESENCE_BYTES: usize = 8 * 1024;

/// Presence fans out to a whole space, so it is bounded in size, and in rate per socket
/// and per user (whatever number of sockets or nodes the user spreads it over).
async fn presence_allowed<A: Adapter>(
    socket: &SocketRef<A>,
    state: &RealtimeState,
    principal: &Principal,
    payload: &Map<String, Value>,
) -> Result<(), CoreError> {
    let size = serde_json::to_vec(payload).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_PRESENCE_BYTES {
        return Err(CoreError::new(
            ErrorCode::RequestTooLarge,
            format!("a presence event is at most {MAX_PRESENCE_BYTES} bytes"),
        ));
    }
    let what = "presence events";
    state
        .presence_per_socket
        .check(&socket.id.to_string())
        .await
        .map_err(|wait| rate_limited(wait, what))?;
    state
        .presence_per_user
        .check(&principal.user_id().to_string())
        .await
        .map_err(|wait| rate_limited(wait, what))
}

/// On disconnect, the server itself tells each subscribed space that the party left
/// (coalesced with the space's other leaves, `presence.rs`).
async fn disconnected<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    State(state): State<RealtimeState>,
) {
    // The user's connection slot is free again at once, whoever still holds the socket.
    socket.extensions.remove::<crate::ConnectionSlot>();
    if socket.extensions.remove::<crate::session::Counted>().is_some() {
        state.metrics.socket_closed(crate::eio_version(&socket));
    }
    socket.extensions.remove::<crate::revocation::ExpiryTimer>();
    // After every event the socket sent before it went away.
    let turn = Turn::take(&socket);
    turn.wait().await;
    if let Some(plane) = &state.media {
        plane.socket_gone(&socket.id.to_string());
    }
    let Some(principal) = principal(&socket) else { return };
    let spaces = subscriptions(&socket);
    if socket.extensions.get::<crate::session::SentMeetingEvents>().is_some()
        && let Err(error) = state.meetings.connection_lost(&spaces, &socket_room(&socket)).await
    {
        tracing::warn!(%error, "starting the meeting drop grace failed");
    }
    for space_id in spaces {
        announce_leave(&io, &state, &principal, &space_id);
    }
}

/// `SEND_MEDIA_SESSION_EVENTS`: handed to the core, which relays it as
/// `MEDIA_SESSION_RESPONSE` (this socket's copy with its `loopbackMetadata`) after any
/// meeting change it causes. A refusal answers `SEND_MEDIA_SESSION_EVENTS_FAILED` with
/// the payload sent plus `error`, like `SEND_MESSAGE_FAILED`.
async fn media_session<A: Adapter>(
    turn: Turn,
    socket: SocketRef<A>,
    State(state): State<RealtimeState>,
    TryData(data): TryData<Value>,
) {
    turn.wait().await;
    state.metrics.socket_event("SEND_MEDIA_SESSION_EVENTS");
    let Some(principal) = principal(&socket) else { return };
    let Some(Inbound { fields: event, raw: payload }) =
        Inbound::<SendMediaSessionEvents>::parse(data.ok())
    else {
        let error = CoreError::new(
            plaza_core::ErrorCode::RequestMalformed,
            "SEND_MEDIA_SESSION_EVENTS takes an event object",
        );
        return emit(
            &socket,
            "SEND_MEDIA_SESSION_EVENTS_FAILED",
            &Failed::bare(error_body(&error)),
        );
    };
    let fail = |error: CoreError, kind: Option<&str>| {
        let failed = Failed::echo(payload.clone(), error_body(&error), kind);
        emit(&socket, "SEND_MEDIA_SESSION_EVENTS_FAILED", &failed);
    };
    let space_id = event.topic_id.clone().unwrap_or_default();
    let category = event.category.as_deref().unwrap_or_default();
    // A call may be offered in a direct space the caller never opened; everything
    // else belongs to a channel the socket subscribed to.
    if !category.starts_with("space.call.") && !is_subscribed(&socket, &space_id) {
        let error = CoreError::permission_denied(
            "subscribe to the space (SUBSCRIBE_CHANNEL) before sending media-session events",
        );
        return fail(error, Some("app.event.channel.subscription.required"));
    }
    socket.extensions.insert(crate::session::SentMeetingEvents);
    let input = MediaInput { space_id, payload: payload.clone(), connection: socket_room(&socket) };
    if let Err(error) = state.meetings.media_event(&principal, input).await {
        fail(error, None);
    }
}
