//! 1:1 call signalling in direct spaces (`space.call.*`, catalog §6.5). The parties'
//! own events are relayed to every connection of both (the callee may never have
//! opened the space); the server adds `space.call.offer.sent` for the caller,
//! `space.call.offer.accepted` when the callee answers, and `space.call.not.answered`
//! when an offer rings out. Which offers still ring is a [`CallRegistry`], local or
//! shared by the nodes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use plaza_db::{ObjectId, SpaceRecord, Timestamp};
use serde_json::{Map, Value, json};

use super::{MediaInput, MeetingService};
use crate::CoreError;
use crate::CoreResult;
use crate::events::{DomainEvent, EventSink, MediaAudience, MediaEvent};
use crate::identity::Principal;

/// The categories parties send.
const PARTY_CATEGORIES: [&str; 5] = [
    "space.call.offer",
    "space.call.accepted",
    "space.call.rejected",
    "space.call.cancelled",
    "space.call.ended",
];

/// Which offers are still ringing, by `spaceCallId`: shared by every node when the
/// deployment has several, so that an answer taken by one node stops the ring timer
/// another node runs.
#[async_trait]
pub trait CallRegistry: Send + Sync {
    /// Records an offer as ringing, for at least `ttl`.
    async fn ring(&self, call_id: &str, ttl: Duration);
    /// Stops the ringing; whether it was still ringing (true for one caller only).
    async fn answer(&self, call_id: &str) -> bool;
}

/// Ringing offers in this process: enough for one node.
#[derive(Default)]
pub struct LocalCallRegistry {
    ringing: Mutex<HashMap<String, std::time::Instant>>,
}

#[async_trait]
impl CallRegistry for LocalCallRegistry {
    async fn ring(&self, call_id: &str, ttl: Duration) {
        if let Ok(mut ringing) = self.ringing.lock() {
            let now = std::time::Instant::now();
            ringing.retain(|_, until| *until > now);
            ringing.insert(call_id.to_owned(), now + ttl);
        }
    }

    async fn answer(&self, call_id: &str) -> bool {
        let now = std::time::Instant::now();
        self.ringing
            .lock()
            .ok()
            .and_then(|mut r| r.remove(call_id))
            .is_some_and(|until| until > now)
    }
}

/// Ringing calls in the store: for nodes that share a database but no Redis.
pub struct StoreCallRegistry {
    store: Arc<dyn plaza_db::Store>,
}

impl StoreCallRegistry {
    pub fn new(store: Arc<dyn plaza_db::Store>) -> Self {
        StoreCallRegistry { store }
    }
}

#[async_trait]
impl CallRegistry for StoreCallRegistry {
    async fn ring(&self, call_id: &str, ttl: Duration) {
        let until = Timestamp::now().add_millis(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        if let Err(error) = self.store.ring_call(call_id, until).await {
            tracing::warn!(%error, "could not record a ringing call");
        }
    }

    async fn answer(&self, call_id: &str) -> bool {
        self.store.answer_call(call_id, Timestamp::now()).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "could not answer a ringing call");
            false
        })
    }
}

/// The two parties of a direct space.
fn parties(space: &SpaceRecord) -> Vec<ObjectId> {
    space
        .unique_key
        .as_deref()
        .and_then(|k| k.strip_prefix("direct:"))
        .map(|pair| pair.split(':').filter_map(|id| id.parse().ok()).collect())
        .unwrap_or_default()
}

fn server_event(
    space: &SpaceRecord,
    category: &str,
    call_id: &str,
    audience: MediaAudience,
    origin: Option<String>,
) -> DomainEvent {
    let mut content = Map::new();
    content.insert("spaceCallId".into(), json!(call_id));
    let mut extra = Map::new();
    extra.insert("spaceCallId".into(), json!(call_id));
    DomainEvent::Media(Box::new(MediaEvent {
        id: ObjectId::new(),
        space: space.clone(),
        category: category.to_owned(),
        sender: None,
        meeting_id: None,
        content,
        extra,
        audience,
        origin,
        loopback: None,
        at: Timestamp::now(),
    }))
}

impl MeetingService {
    pub(super) async fn call_signal(
        &self,
        space: &SpaceRecord,
        principal: &Principal,
        input: &MediaInput,
        category: &str,
    ) -> CoreResult<()> {
        if !Self::is_direct(space) {
            return Err(CoreError::invalid(
                "category",
                "space.call.* events belong to direct spaces",
            ));
        }
        if !PARTY_CATEGORIES.contains(&category) {
            return Err(CoreError::invalid(
                "category",
                format!("a party sends one of {}", PARTY_CATEGORIES.join(", ")),
            ));
        }
        let offer = category == "space.call.offer";
        let call_id = match input.payload.get("spaceCallId").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && id.len() <= 64 => id.to_owned(),
            Some(_) => {
                return Err(CoreError::invalid("spaceCallId", "must be at most 64 characters"));
            }
            None if offer => uuid::Uuid::new_v4().to_string(),
            None => return Err(CoreError::invalid("spaceCallId", "names the call this answers")),
        };
        let parties = parties(space);
        let mut extra = input.payload.clone();
        for key in
            ["_id", "category", "topicId", "content", "sender", "messageId", "loopbackMetadata"]
        {
            extra.remove(key);
        }
        extra.insert("spaceCallId".into(), json!(call_id));
        let content =
            input.payload.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
        self.publish(MediaEvent {
            id: ObjectId::new(),
            space: space.clone(),
            category: category.to_owned(),
            sender: Some(principal.user.clone()),
            meeting_id: None,
            content,
            extra,
            audience: MediaAudience::Users(parties.clone()),
            origin: Some(input.connection.clone()),
            loopback: input.payload.get("loopbackMetadata").cloned(),
            at: Timestamp::now(),
        });
        match category {
            "space.call.offer" => {
                let ring = Duration::from_millis(self.config.ring_timeout_ms.max(0) as u64);
                // Kept a while past the ring, so the timer still finds it.
                self.calls.ring(&call_id, ring + Duration::from_secs(60)).await;
                self.events.publish(server_event(
                    space,
                    "space.call.offer.sent",
                    &call_id,
                    MediaAudience::Origin,
                    Some(input.connection.clone()),
                ));
                let calls = self.calls.clone();
                let events: Arc<dyn EventSink> = self.events.clone();
                let space = space.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(ring).await;
                    if calls.answer(&call_id).await {
                        events.publish(server_event(
                            &space,
                            "space.call.not.answered",
                            &call_id,
                            MediaAudience::Users(parties),
                            None,
                        ));
                    }
                });
            }
            "space.call.accepted" if self.calls.answer(&call_id).await => {
                self.events.publish(server_event(
                    space,
                    "space.call.offer.accepted",
                    &call_id,
                    MediaAudience::Users(parties),
                    None,
                ));
            }
            "space.call.rejected" | "space.call.cancelled" => {
                self.calls.answer(&call_id).await;
            }
            _ => {}
        }
        Ok(())
    }
}
