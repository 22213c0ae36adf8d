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
use plaza_http::{message_input, wire};
use serde_json::{Map, Value, json};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};

use crate::failure::error_body;
use crate::session::SocketPrincipal;
use crate::sink::emit_all;
use crate::turn::Turn;
use crate::{RealtimeState, socket_room, space_room, subscriber_room};

/// The events this server answers, registered on every connected socket.
pub(crate) fn register<A: Adapter>(socket: &SocketRef<A>) {
    socket.on("SUBSCRIBE_CHANNEL", subscribe::<A>);
    socket.on("UNSUBSCRIBE_CHANNEL", unsubscribe::<A>);
    socket.on("SEND_MESSAGE", send_message::<A>);
    socket.on("SEND_PRESENCE_EVENT", presence::<A>);
    socket.on("SEND_MEDIA_SESSION_EVENTS", media_session::<A>);
    socket.on_disconnect(disconnected::<A>);
}

fn principal<A: Adapter>(socket: &SocketRef<A>) -> Option<plaza_core::identity::Principal> {
    socket.extensions.get::<SocketPrincipal>().map(|p| p.0)
}

/// Answers an event that a socket sent before its namespace connection was refused
/// (see `vendor/socketioxide`): the event's usual failure, carrying the refusal.
pub(crate) fn refused_reply(event: &str, data: Value, refusal: &str) -> Option<(String, Value)> {
    let error = serde_json::from_str::<Value>(refusal)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"code": "auth.invalid_token", "message": refusal}));
    match event {
        "SUBSCRIBE_CHANNEL" => {
            let space_id = data.pointer("/channel/_id").cloned().unwrap_or(Value::Null);
            let payload = json!({"channel": {"_id": space_id, "type": "topic"}, "error": error});
            Some(("SUBSCRIBE_CHANNEL_FAILED".to_owned(), payload))
        }
        "SEND_MESSAGE" | "SEND_MEDIA_SESSION_EVENTS" => {
            let mut failed = match data {
                Value::Object(payload) => payload,
                _ => Map::new(),
            };
            failed.insert("error".into(), error);
            Some((format!("{event}_FAILED"), Value::Object(failed)))
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

fn is_subscribed<A: Adapter>(socket: &SocketRef<A>, space_id: &str) -> bool {
    socket.rooms().iter().any(|room| room.strip_prefix("space:") == Some(space_id))
}

fn emit<A: Adapter>(socket: &SocketRef<A>, event: &str, payload: &Value) {
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
    let data = data.unwrap_or(Value::Null);
    let channel = data.get("channel").cloned().unwrap_or(Value::Null);
    let space_id = channel.get("_id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let fail = |error: CoreError| {
        let payload =
            json!({"channel": {"_id": space_id, "type": "topic"}, "error": error_body(&error)});
        emit(&socket, "SUBSCRIBE_CHANNEL_FAILED", &payload);
    };
    let password = channel.get("password").and_then(Value::as_str);
    let space = match state.spaces.enter(&principal, &space_id, password).await {
        Ok((space, _)) => space,
        Err(error) => return fail(error),
    };
    socket.join([space_room(space.id), subscriber_room(space.id, principal.user_id())]);
    let payload = json!({
        "channel": {"_id": space.id, "type": "topic"},
        "dtsid": format!("{}:{}", space.id, socket.id),
        "sessionId": socket.id.to_string(),
    });
    emit(&socket, "CHANNEL_SUBSCRIBED", &payload);
    if let Some(last) = data.get("lastMessageId").and_then(Value::as_str).filter(|l| !l.is_empty())
    {
        match state.messages.catch_up(&principal, space.id, last).await {
            Ok(missed) => {
                for message in missed {
                    emit(&socket, "MESSAGE_SENT", &wire::message(&message, &state.base_url));
                }
            }
            Err(error) => tracing::debug!(%error, "catch-up refused"),
        }
    }
}

fn leaves_payload(
    principal: &plaza_core::identity::Principal,
    space_id: &str,
    base_url: &str,
) -> Value {
    json!({
        "category": "app.event.presence.party.leaves",
        "topicId": space_id,
        "sender": wire::sender(&principal.user, base_url),
        "content": {"offline": true},
        "receivers": [],
    })
}

/// `UNSUBSCRIBE_CHANNEL {channel: {_id}}`: stops delivery and tells the others.
async fn unsubscribe<A: Adapter>(
    turn: Turn,
    socket: SocketRef<A>,
    State(state): State<RealtimeState>,
    TryData(data): TryData<Value>,
) {
    turn.wait().await;
    state.metrics.socket_event("UNSUBSCRIBE_CHANNEL");
    let Some(principal) = principal(&socket) else { return };
    let data = data.unwrap_or(Value::Null);
    let space_id =
        data.pointer("/channel/_id").and_then(Value::as_str).unwrap_or_default().to_owned();
    if is_subscribed(&socket, &space_id) {
        socket.leave([space_room(&space_id), subscriber_room(&space_id, principal.user_id())]);
        if let Err(error) =
            state.meetings.left_space(&principal, &space_id, &socket_room(&socket)).await
        {
            tracing::warn!(%error, space_id, "leaving the meeting on unsubscribe failed");
        }
        let io = socket.broadcast();
        let _ = io
            .to(space_room(&space_id))
            .emit(
                "PRESENCE_EVENT_RESPONSE",
                &leaves_payload(&principal, &space_id, &state.base_url),
            )
            .await;
    }
    emit(&socket, "CHANNEL_UNSUBSCRIBED", &json!({"channel": {"_id": space_id, "type": "topic"}}));
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
    let payload = match data {
        Ok(Value::Object(payload)) => payload,
        Ok(_) | Err(_) => {
            let error = CoreError::new(
                plaza_core::ErrorCode::RequestMalformed,
                "SEND_MESSAGE takes a message object",
            );
            return emit(&socket, "SEND_MESSAGE_FAILED", &json!({"error": error_body(&error)}));
        }
    };
    if !turn.admitted() {
        // Not stored: the client sends it again once reconnected to a running server.
        let error = CoreError::new(
            plaza_core::ErrorCode::ServiceUnavailable,
            "the server is shutting down; send this again once reconnected",
        );
        let mut failed = payload;
        failed.insert("error".into(), error_body(&error));
        return emit(&socket, "SEND_MESSAGE_FAILED", &Value::Object(failed));
    }
    let fail = |error: CoreError, kind: Option<&str>| {
        let mut failed = payload.clone();
        failed.insert("error".into(), error_body(&error));
        if let Some(kind) = kind {
            failed.insert("type".into(), json!(kind));
        }
        emit(&socket, "SEND_MESSAGE_FAILED", &Value::Object(failed));
    };
    let space_id = payload.get("topicId").and_then(Value::as_str).unwrap_or_default().to_owned();
    if !is_subscribed(&socket, &space_id) {
        let error = CoreError::permission_denied(
            "subscribe to the space (SUBSCRIBE_CHANNEL) before sending to it",
        );
        return fail(error, Some("app.event.channel.subscription.required"));
    }
    let parent_id = payload
        .get("parentMsg")
        .and_then(|p| p.get("_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let category = payload.get("category").and_then(Value::as_str);
    let content = payload.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
    let read = message_input::category(category)
        .and_then(|category| Ok((category, message_input::content(content, &payload, category)?)));
    let (category, content) = match read {
        Ok(read) => read,
        Err(error) => return fail(error, None),
    };
    let origin = Some(socket_room(&socket));
    let input = NewMessage { space_id, category, content, parent_id, origin };
    match state.messages.send(&principal, input).await {
        Ok(view) => {
            state.metrics.message_persisted("socket");
            let mut own = wire::message(&view, &state.base_url);
            if let Some(loopback) = payload.get("loopbackMetadata") {
                own["loopbackMetadata"] = loopback.clone();
            }
            emit(&socket, "MESSAGE_SENT", &own);
        }
        Err(error) => fail(error, None),
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
    let Ok(Value::Object(mut payload)) = data else {
        tracing::debug!("malformed SEND_PRESENCE_EVENT dropped");
        return;
    };
    if let Err(error) = presence_allowed(&socket, &state, &principal, &payload).await {
        payload.insert("error".into(), error_body(&error));
        let _ = socket.emit("SEND_PRESENCE_EVENT_FAILED", &payload);
        return;
    }
    let space_id = payload.get("topicId").and_then(Value::as_str).unwrap_or_default().to_owned();
    if !is_subscribed(&socket, &space_id) {
        tracing::debug!(space_id, "presence for an unsubscribed space dropped");
        return;
    }
    payload.insert("sender".into(), wire::sender(&principal.user, &state.base_url));
    payload.remove("loopbackMetadata");
    let receivers: Vec<String> = payload
        .get("receivers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| r.get("_id").and_then(Value::as_str).or_else(|| r.as_str()))
                .filter(|id| id.parse::<ObjectId>().is_ok())
                .map(|user_id| subscriber_room(&space_id, user_id))
                .collect()
        })
        .unwrap_or_default();
    let payload = Value::Object(payload);
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

/// On disconnect, the server itself tells each subscribed space that the party left.
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
    let Some(principal) = principal(&socket) else { return };
    let spaces = subscriptions(&socket);
    if let Err(error) = state.meetings.connection_lost(&spaces, &socket_room(&socket)).await {
        tracing::warn!(%error, "starting the meeting drop grace failed");
    }
    for space_id in spaces {
        let leaves = leaves_payload(&principal, &space_id, &state.base_url);
        emit_all(
            &io,
            vec![space_room(&space_id)],
            Some(socket_room(&socket)),
            "PRESENCE_EVENT_RESPONSE",
            &leaves,
        )
        .await;
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
    let Ok(Value::Object(payload)) = data else {
        let error = CoreError::new(
            plaza_core::ErrorCode::RequestMalformed,
            "SEND_MEDIA_SESSION_EVENTS takes an event object",
        );
        return emit(
            &socket,
            "SEND_MEDIA_SESSION_EVENTS_FAILED",
            &json!({"error": error_body(&error)}),
        );
    };
    let fail = |error: CoreError, kind: Option<&str>| {
        let mut failed = payload.clone();
        failed.insert("error".into(), error_body(&error));
        if let Some(kind) = kind {
            failed.insert("type".into(), json!(kind));
        }
        emit(&socket, "SEND_MEDIA_SESSION_EVENTS_FAILED", &Value::Object(failed));
    };
    let space_id = payload.get("topicId").and_then(Value::as_str).unwrap_or_default().to_owned();
    let category = payload.get("category").and_then(Value::as_str).unwrap_or_default();
    // A call may be offered in a direct space the caller never opened; everything
    // else belongs to a channel the socket subscribed to.
    if !category.starts_with("space.call.") && !is_subscribed(&socket, &space_id) {
        let error = CoreError::permission_denied(
            "subscribe to the space (SUBSCRIBE_CHANNEL) before sending media-session events",
        );
        return fail(error, Some("app.event.channel.subscription.required"));
    }
    let input = MediaInput { space_id, payload: payload.clone(), connection: socket_room(&socket) };
    if let Err(error) = state.meetings.media_event(&principal, input).await {
        fail(error, None);
    }
}
