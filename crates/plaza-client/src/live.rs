//! A realtime session that survives lost connections: [`LiveClient`] wraps
//! [`RealtimeClient`], turns the server's events into typed [`LiveEvent`]s, and when the
//! connection drops it reconnects (with backoff), subscribes again to every space with
//! the last message it saw (`lastMessageId`), and hands over what it missed, oldest
//! first and never twice.
//!
//! ```no_run
//! # async fn demo() -> Result<(), plaza_client::RealtimeError> {
//! use plaza_client::live::{LiveClient, LiveEvent};
//! use plaza_client::realtime::Credentials;
//!
//! let mut live = LiveClient::connect("https://plaza.example.com", Credentials::jwt("…")).await?;
//! live.subscribe("5f1e…").await?;
//! while let Some(event) = live.next().await {
//!     if let LiveEvent::MessageSent(message) = event {
//!         println!("{}: {}", message.sender.displayname, message.content.body_text);
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::realtime::{Credentials, Event, RealtimeClient, RealtimeError};
use crate::rest::{Message, Sender};

/// How many delivered messages are remembered to drop repeats after a catch-up.
const REMEMBERED: usize = 4096;

/// A presence or media-session event (`PRESENCE_EVENT_RESPONSE`,
/// `MEDIA_SESSION_RESPONSE`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SpaceEvent {
    #[serde(default)]
    pub category: String,
    #[serde(rename = "topicId", default)]
    pub space_id: String,
    #[serde(default)]
    pub sender: Option<Sender>,
    #[serde(default)]
    pub content: Map<String, Value>,
    /// The running meeting, on media-session events.
    #[serde(rename = "messageId", default)]
    pub meeting_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What the server said, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// A message was written, edited or deleted (`MESSAGE_SENT`).
    MessageSent(Box<Message>),
    /// A space changed (`MESSAGE_SENT` of category `topic.updated`).
    SpaceUpdated(Value),
    PresenceEvent(Box<SpaceEvent>),
    MediaSessionEvent(Box<SpaceEvent>),
    Subscribed {
        space_id: String,
    },
    /// Unsubscribed, or removed from the space.
    Unsubscribed {
        space_id: String,
    },
    /// The server refused something this client sent (`*_FAILED`): `error` is
    /// `{code, message}`, `payload` what was sent.
    Refused {
        event: String,
        code: String,
        message: String,
        payload: Value,
    },
    /// The connection was lost and is back; what was missed follows.
    Reconnected,
    /// Anything else the server sent.
    Other(Event),
}

/// How [`LiveClient`] retries a lost connection.
#[derive(Debug, Clone)]
pub struct Reconnect {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Give up after this many failed attempts in a row (`None`: never).
    pub max_attempts: Option<u32>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_attempts: None,
        }
    }
}

pub struct LiveClient {
    base: String,
    credentials: Credentials,
    reconnect: Reconnect,
    client: Option<RealtimeClient>,
    /// Subscribed spaces, in subscription order, with the newest message seen in each.
    spaces: Vec<String>,
    last_seen: HashMap<String, String>,
    delivered: HashSet<(String, String)>,
    delivered_order: VecDeque<(String, String)>,
    pending: VecDeque<LiveEvent>,
}

impl LiveClient {
    /// Connects to `/chat` on the server at `base`.
    pub async fn connect(base: &str, credentials: Credentials) -> Result<Self, RealtimeError> {
        let client = RealtimeClient::connect(base, "/chat", &credentials).await?;
        Ok(LiveClient {
            base: base.to_owned(),
            credentials,
            reconnect: Reconnect::default(),
            client: Some(client),
            spaces: Vec::new(),
            last_seen: HashMap::new(),
            delivered: HashSet::new(),
            delivered_order: VecDeque::new(),
            pending: VecDeque::new(),
        })
    }

    /// Sets how lost connections are retried.
    pub fn with_reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Subscribes to a space (joining it by link as `/join` would) and waits for the
    /// server's answer. It is subscribed again after every reconnect.
    pub async fn subscribe(&mut self, space_id: &str) -> Result<(), RealtimeError> {
        self.subscribe_from(space_id, None).await?;
        if !self.spaces.iter().any(|s| s == space_id) {
            self.spaces.push(space_id.to_owned());
        }
        Ok(())
    }

    async fn subscribe_from(
        &mut self,
        space_id: &str,
        last: Option<&str>,
    ) -> Result<(), RealtimeError> {
        self.client.as_ref().ok_or(RealtimeError::Closed)?.subscribe(space_id, last)?;
        loop {
            let client = self.client.as_mut().ok_or(RealtimeError::Closed)?;
            let event = client.next_event().await.ok_or(RealtimeError::Closed)?;
            let answered_channel = event.payload["channel"]["_id"].as_str() == Some(space_id);
            match event.name.as_str() {
                "CHANNEL_SUBSCRIBED" if answered_channel => return Ok(()),
                "SUBSCRIBE_CHANNEL_FAILED" if answered_channel => {
                    return Err(RealtimeError::Refused { data: event.payload["error"].clone() });
                }
                _ => {
                    if let Some(typed) = self.typed(event) {
                        self.pending.push_back(typed);
                    }
                }
            }
        }
    }

    /// Leaves a space's channel.
    pub fn unsubscribe(&mut self, space_id: &str) -> Result<(), RealtimeError> {
        self.spaces.retain(|s| s != space_id);
        self.emit("UNSUBSCRIBE_CHANNEL", &json!({"channel": {"_id": space_id, "type": "topic"}}))
    }

    /// Emits any event (`SEND_PRESENCE_EVENT`, `SEND_MEDIA_SESSION_EVENTS`, ...).
    pub fn emit(&self, name: &str, payload: &Value) -> Result<(), RealtimeError> {
        self.client.as_ref().ok_or(RealtimeError::Closed)?.emit(name, payload)
    }

    /// Sends a chat message; it comes back as [`LiveEvent::MessageSent`] once stored.
    pub fn send_chat(&self, space_id: &str, text: &str) -> Result<(), RealtimeError> {
        self.client.as_ref().ok_or(RealtimeError::Closed)?.send_chat(space_id, text, None)
    }

    /// The next event; on a lost connection, reconnects first (then yields
    /// [`LiveEvent::Reconnected`] and the missed messages). `None` once reconnecting
    /// has given up.
    pub async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let received = match self.client.as_mut() {
                Some(client) => client.next_event().await,
                None => None,
            };
            match received {
                Some(event) => {
                    if let Some(typed) = self.typed(event) {
                        return Some(typed);
                    }
                }
                None => {
                    self.client = None;
                    if !self.reconnect().await {
                        return None;
                    }
                    self.pending.push_front(LiveEvent::Reconnected);
                }
            }
        }
    }

    /// Connects again and resubscribes each space from its last message; whether it
    /// worked before the attempts ran out.
    async fn reconnect(&mut self) -> bool {
        let mut delay = self.reconnect.first_delay;
        let mut attempts = 0;
        loop {
            tokio::time::sleep(delay).await;
            attempts += 1;
            match self.resume().await {
                Ok(()) => return true,
                Err(error) => {
                    tracing::debug!(%error, attempts, "reconnecting failed");
                    self.client = None;
                    if self.reconnect.max_attempts.is_some_and(|max| attempts >= max) {
                        return false;
                    }
                    delay = (delay * 2).min(self.reconnect.max_delay);
                }
            }
        }
    }

    async fn resume(&mut self) -> Result<(), RealtimeError> {
        self.client = Some(RealtimeClient::connect(&self.base, "/chat", &self.credentials).await?);
        for space_id in self.spaces.clone() {
            let last = self.last_seen.get(&space_id).cloned();
            self.subscribe_from(&space_id, last.as_deref()).await?;
        }
        Ok(())
    }

    /// Types an event; `None` for a message already delivered (a catch-up overlaps
    /// what arrived live).
    fn typed(&mut self, event: Event) -> Option<LiveEvent> {
        let channel = || event.payload["channel"]["_id"].as_str().unwrap_or_default().to_owned();
        Some(match event.name.as_str() {
            "MESSAGE_SENT" if event.payload["category"] == "topic.updated" => {
                LiveEvent::SpaceUpdated(event.payload)
            }
            "MESSAGE_SENT" => match serde_json::from_value::<Message>(event.payload.clone()) {
                Ok(message) => {
                    let key = (message.id.clone(), message.modified.clone());
                    if !self.delivered.insert(key.clone()) {
                        return None;
                    }
                    self.delivered_order.push_back(key);
                    if self.delivered_order.len() > REMEMBERED
                        && let Some(old) = self.delivered_order.pop_front()
                    {
                        self.delivered.remove(&old);
                    }
                    let newest = self.last_seen.get(&message.space_id);
                    if newest.is_none_or(|seen| *seen < message.id) {
                        self.last_seen.insert(message.space_id.clone(), message.id.clone());
                    }
                    LiveEvent::MessageSent(Box::new(message))
                }
                Err(_) => LiveEvent::Other(event),
            },
            "PRESENCE_EVENT_RESPONSE" | "MEDIA_SESSION_RESPONSE" => {
                let presence = event.name == "PRESENCE_EVENT_RESPONSE";
                match serde_json::from_value::<SpaceEvent>(event.payload.clone()) {
                    Ok(typed) if presence => LiveEvent::PresenceEvent(Box::new(typed)),
                    Ok(typed) => LiveEvent::MediaSessionEvent(Box::new(typed)),
                    Err(_) => LiveEvent::Other(event),
                }
            }
            "CHANNEL_SUBSCRIBED" => LiveEvent::Subscribed { space_id: channel() },
            "CHANNEL_UNSUBSCRIBED" => {
                let space_id = channel();
                self.spaces.retain(|s| *s != space_id);
                LiveEvent::Unsubscribed { space_id }
            }
            name if name.ends_with("_FAILED") => {
                let error = &event.payload["error"];
                LiveEvent::Refused {
                    event: event.name.clone(),
                    code: error["code"].as_str().unwrap_or_default().to_owned(),
                    message: error["message"].as_str().unwrap_or_default().to_owned(),
                    payload: event.payload,
                }
            }
            _ => LiveEvent::Other(event),
        })
    }

    /// Leaves cleanly.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            client.close().await;
        }
    }
}
