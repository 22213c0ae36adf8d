//! Chat messages, posts ("ideas") and tasks: writing, reading, editing, deleting, and
//! catching up. REST and the socket call the same methods, so behaviour is written
//! once; every change is announced only after it is stored.

use std::collections::HashMap;
use std::sync::Arc;

use plaza_db::{
    MembershipRecord, MessageCategory, MessageOrder, MessageQuery, MessageRecord, ObjectId,
    SpaceKind, SpaceRecord, SpaceStatus, Store, Thread, Timestamp, UserKind, UserRecord,
};
use serde_json::{Map, Value};

use crate::audit::{AuditEntry, AuditLog};
use crate::events::{DomainEvent, EventSink};
use crate::files::FileService;
use crate::identity::Principal;
use crate::limits::{RateLimiter, rate_limited};
use crate::spaces::access::{Action, Party, allowed};
use crate::{CoreError, CoreResult, ErrorCode};

mod query;
pub use crate::content::{Attachment, MAX_ATTACHMENTS, MessageContent, TaskFields};
pub use query::{
    ChangesPage, Direction, HistoryPage, HistoryParams, MAX_SPACE_LIST, Mine, TaskState,
};

/// Messages per page of history at most.
pub const MAX_PAGE: u32 = 50;
/// Ids one bulk delete may name.
pub const MAX_BULK_DELETE: usize = 100;

/// What a bulk delete did with each id.
#[derive(Debug, Default)]
pub struct BulkDeleteReport {
    pub deleted: Vec<String>,
    pub not_found: Vec<String>,
    /// Ids the caller may not delete, with the refusal.
    pub not_permitted: Vec<(String, CoreError)>,
    /// Ids that failed for another reason, with why.
    pub not_deleted: Vec<(String, CoreError)>,
}

/// An archived space's history is frozen: written to by nobody, on any path.
fn refuse_archived(space: &SpaceRecord) -> CoreResult<()> {
    if space.status == SpaceStatus::Archived {
        return Err(CoreError::new(ErrorCode::TopicArchived, "the space is archived"));
    }
    Ok(())
}

/// How far before a catch-up's anchor other senders' messages are sent again (see
/// `MessageService::catch_up`): the time a message takes from one node to another.
const CATCH_UP_OVERLAP_MS: i64 = 2_000;
const CATCH_UP_OVERLAP_MESSAGES: u32 = 100;
/// Messages replayed to one reconnecting socket at most.
pub const MAX_CATCH_UP: u32 = 500;

/// A message as a client sends it (socket `SEND_MESSAGE` or REST create).
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub space_id: String,
    /// `chat`, `idea` or `task`.
    pub category: MessageCategory,
    pub content: MessageContent,
    /// The post or task this is a comment on.
    pub parent_id: Option<String>,
    /// The connection it came from, which alone gets the loopback copy.
    pub origin: Option<String>,
}

pub use crate::views::MessageView;

/// How long a [`Standing`] is trusted without reading the store again.
pub const STANDING_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// What a caller's chats in one space were last checked against: the space and the
/// caller's active membership, read at one moment. A subscribed socket keeps it so that
/// its next chats skip that read (docs/decisions.md, "A socket's standing in a space"):
/// every party may chat, so a chat needs only an active membership in a live,
/// unarchived space, and a standing older than [`STANDING_TTL`] is read again.
#[derive(Debug, Clone)]
pub struct Standing {
    space: SpaceRecord,
    membership: MembershipRecord,
    user_id: ObjectId,
    read_at: std::time::Instant,
}

impl Standing {
    /// The space it is about.
    pub fn space_id(&self) -> ObjectId {
        self.space.id
    }
}

pub struct MessageService {
    store: Arc<dyn Store>,
    events: Arc<dyn EventSink>,
    files: Arc<FileService>,
    max_content_bytes: usize,
    /// Counts each user's sends (chats, posts and tasks alike).
    send_limiter: Arc<dyn RateLimiter>,
    audit: AuditLog,
    clock: SpaceClock,
}

/// Creation times that never repeat within a space on one node: ids are random after
/// their second, so two messages of one millisecond would list in either order, and
/// history is ordered by `(created, id)`. Each send takes the later of now and one
/// millisecond past the last send hashed to its slot (collisions only make it stricter;
/// a slot would run ahead of the clock only past 1 000 sends a second).
struct SpaceClock([std::sync::atomic::AtomicI64; SpaceClock::SLOTS]);

impl Default for SpaceClock {
    fn default() -> Self {
        SpaceClock(std::array::from_fn(|_| std::sync::atomic::AtomicI64::new(0)))
    }
}

impl SpaceClock {
    const SLOTS: usize = 1024;

    fn next(&self, space: ObjectId) -> Timestamp {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        space.hash(&mut hasher);
        let slot = &self.0[(hasher.finish() as usize) % Self::SLOTS];
        let now = Timestamp::now().millis();
        let previous = slot
            .fetch_update(
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
                |last| Some(now.max(last + 1)),
            )
            .unwrap_or(now);
        Timestamp::from_millis(now.max(previous + 1))
    }
}

fn not_found() -> CoreError {
    CoreError::new(ErrorCode::MessageNotFound, "no such message")
}

fn topic_not_found() -> CoreError {
    CoreError::new(ErrorCode::TopicNotFound, "no such space")
}

/// Checks what Plaza limits in a message's content and gives its stored form.
fn stored_content(content: MessageContent, max_bytes: usize) -> CoreResult<Map<String, Value>> {
    let document = content.into_document();
    // Serialised once to measure it: cheap next to the write it guards.
    let size = serde_json::to_vec(&document).map_or(usize::MAX, |bytes| bytes.len());
    if size > max_bytes {
        return Err(CoreError::new(
            ErrorCode::MessageTooLarge,
            format!("a message is at most {max_bytes} bytes"),
        ));
    }
    Ok(document)
}

impl MessageService {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn EventSink>,
        files: Arc<FileService>,
        max_content_bytes: usize,
        send_limiter: Arc<dyn RateLimiter>,
    ) -> Self {
        let audit = AuditLog::new(store.clone());
        let clock = SpaceClock::default();
        MessageService { store, events, files, max_content_bytes, send_limiter, audit, clock }
    }

    /// The space and the caller's active membership in it, if any.
    async fn space_and_party(
        &self,
        principal: &Principal,
        space_id: ObjectId,
    ) -> CoreResult<(SpaceRecord, Option<MembershipRecord>, Party)> {
        crate::spaces::space_and_party(self.store.as_ref(), principal, space_id).await
    }

    /// The time from which `membership` may read `space` (see `spaces::reads_since`).
    fn reads_since(
        space: &SpaceRecord,
        membership: &MembershipRecord,
        anonymous: bool,
    ) -> Option<Timestamp> {
        crate::spaces::reads_since(space, membership, anonymous)
    }

    /// Writes a chat message, post or task, then announces it.
    pub async fn send(&self, principal: &Principal, input: NewMessage) -> CoreResult<MessageView> {
        self.send_with(principal, input, None).await.map(|(view, _)| view)
    }

    /// As [`MessageService::send`]; a chat reuses `known` instead of reading the space and
    /// the caller's membership when it is the caller's standing in that space and still
    /// fresh. Answers, beside the message, the standing a next chat may reuse.
    pub async fn send_with(
        &self,
        principal: &Principal,
        input: NewMessage,
        known: Option<&Standing>,
    ) -> CoreResult<(MessageView, Option<Standing>)> {
        // Counted before any work, so that a flood costs the server as little as possible.
        if let Err(wait) = self.send_limiter.check(&principal.user_id().to_string()).await {
            return Err(rate_limited(wait, "messages"));
        }
        let space_id: ObjectId = input.space_id.parse().map_err(|_| topic_not_found())?;
        let category = input.category;
        if !MessageCategory::WRITTEN.contains(&category) {
            return Err(CoreError::invalid("category", "must be chat, idea or task"));
        }
        let known = known.filter(|known| {
            category == MessageCategory::Chat
                && known.space.id == space_id
                && known.user_id == principal.user_id()
                && known.read_at.elapsed() < STANDING_TTL
        });
        let (space, membership, party, read_at) = match known {
            Some(known) => {
                let party = Party {
                    role: Some(known.membership.role),
                    anonymous: principal.user.kind == UserKind::Anonymous,
                };
                (known.space.clone(), Some(known.membership.clone()), party, known.read_at)
            }
            None => {
                let read_at = std::time::Instant::now();
                let (space, membership, party) = self.space_and_party(principal, space_id).await?;
                (space, membership, party, read_at)
            }
        };
        if membership.is_none() {
            return Err(CoreError::permission_denied("only members of the space may write in it"));
        }
        refuse_archived(&space)?;
        let action = match category {
            MessageCategory::Chat => Action::SendChat,
            MessageCategory::Idea | MessageCategory::Task => Action::CreatePostOrTask,
            MessageCategory::Meeting => unreachable!("refused above"),
        };
        if !allowed(space.kind, party, action) {
            return Err(CoreError::permission_denied(match space.kind {
                SpaceKind::Direct => "direct spaces hold chat messages only",
                _ => "guests may only chat",
            }));
        }
        let parent_id = match input.parent_id.as_deref().filter(|p| !p.is_empty()) {
            None => None,
            Some(parent) => {
                let parent: ObjectId = parent
                    .parse()
                    .map_err(|_| CoreError::invalid("parentMsg._id", "is not a message id"))?;
                // A post is commented on by those who may read it: a guest cut off from
                // the history before their join cannot reach older posts this way either.
                let since =
                    membership.as_ref().and_then(|m| Self::reads_since(&space, m, party.anonymous));
                let found = self.store.message(parent).await?.filter(|p| {
                    p.space_id == space.id && !p.deleted && since.is_none_or(|s| p.created >= s)
                });
                match found {
                    Some(p)
                        if matches!(p.category, MessageCategory::Idea | MessageCategory::Task)
                            && category == MessageCategory::Chat =>
                    {
                        Some(p.id)
                    }
                    Some(_) => {
                        return Err(CoreError::invalid(
                            "parentMsg._id",
                            "comments are chat messages on a post or task",
                        ));
                    }
                    None => {
                        return Err(CoreError::invalid(
                            "parentMsg._id",
                            "no such post or task in this space",
                        ));
                    }
                }
            }
        };
        let mut content = input.content;
        self.files.attach(principal.user_id(), &mut content.attachments).await?;
        let content = stored_content(content, self.max_content_bytes)?;
        let now = self.clock.next(space.id);
        let message = MessageRecord {
            id: ObjectId::new(),
            space_id: space.id,
            category,
            sender_id: principal.user_id(),
            content,
            parent_id,
            chat_count: 0,
            deleted: false,
            created: now,
            modified: now,
        };
        // Direct-space messages are "recent activity" for the listing (seed 003).
        self.store.insert_message(&message, space.kind == SpaceKind::Direct).await?;
        let standing = membership.map(|membership| Standing {
            space: space.clone(),
            membership,
            user_id: principal.user_id(),
            read_at,
        });
        let view = MessageView { message, space, sender: Some(principal.user.clone()) };
        self.announce(&view, input.origin);
        Ok((view, standing))
    }

    fn announce(&self, view: &MessageView, origin: Option<String>) {
        let hidden_from = Vec::new();
        self.events.publish(DomainEvent::Message {
            view: Box::new(view.clone()),
            origin,
            hidden_from,
        });
    }

    /// Announces an edit or a deletion, never to the guests cut off from the message.
    async fn announce_change(&self, view: &MessageView) -> CoreResult<()> {
        let hidden_from = self.cut_off_from(&view.space, view.message.created).await?;
        let view = Box::new(view.clone());
        self.events.publish(DomainEvent::Message { view, origin: None, hidden_from });
        Ok(())
    }

    /// The members of `space` whose history starts after `created`: guests who joined
    /// after a message was written may not read it, live or not. Edits are rare, so
    /// reading the member list then is cheap next to the guarantee.
    async fn cut_off_from(
        &self,
        space: &SpaceRecord,
        created: Timestamp,
    ) -> CoreResult<Vec<ObjectId>> {
        if !space.restrict.iter().any(|r| r == crate::spaces::GUEST_HISTORY_CUT) {
            return Ok(Vec::new());
        }
        let mut hidden = Vec::new();
        let mut offset = 0u32;
        loop {
            let (page, total) = self.store.members(space.id, None, offset, 500).await?;
            for (membership, user) in &page {
                let anonymous = user.kind == UserKind::Anonymous;
                if Self::reads_since(space, membership, anonymous)
                    .is_some_and(|since| created < since)
                {
                    hidden.push(user.id);
                }
            }
            offset += u32::try_from(page.len()).unwrap_or(u32::MAX);
            if page.is_empty() || u64::from(offset) >= total {
                return Ok(hidden);
            }
        }
    }

    async fn readable(&self, principal: &Principal, id: &str) -> CoreResult<(MessageView, Party)> {
        let id: ObjectId = id.parse().map_err(|_| not_found())?;
        let message = self.store.message(id).await?.ok_or_else(not_found)?;
        let (space, membership, party) = self.space_and_party(principal, message.space_id).await?;
        let Some(membership) = membership else { return Err(not_found()) };
        if Self::reads_since(&space, &membership, party.anonymous)
            .is_some_and(|since| message.created < since)
        {
            return Err(not_found());
        }
        let sender = match message.category {
            MessageCategory::Meeting => None,
            _ => Some(self.store.user_by_id(message.sender_id).await?.ok_or_else(not_found)?),
        };
        Ok((MessageView { message, space, sender }, party))
    }

    /// `GET /api/messages/{id}`.
    pub async fn get(&self, principal: &Principal, id: &str) -> CoreResult<MessageView> {
        let (view, _) = self.readable(principal, id).await?;
        if view.message.deleted {
            return Err(not_found());
        }
        Ok(view)
    }

    fn may_change(view: &MessageView, party: Party, principal: &Principal) -> bool {
        let own = view.message.sender_id == principal.user_id();
        let action = match (own, view.message.category) {
            // The server keeps meeting records; nobody edits or deletes them.
            (_, MessageCategory::Meeting) => return false,
            (false, _) => Action::EditOthersMessage,
            (true, MessageCategory::Chat) => Action::EditOwnChat,
            (true, _) => Action::EditOwnPostOrTask,
        };
        allowed(view.space.kind, party, action)
    }

    /// Whether this is a task's assignee (still able to write in the space) changing
    /// only its status: whoever does a task may mark it done, or not done.
    fn assignee_sets_status(
        view: &MessageView,
        party: Party,
        principal: &Principal,
        changes: &Map<String, Value>,
    ) -> bool {
        let me = principal.user_id().to_string();
        view.message.category == MessageCategory::Task
            && changes.keys().all(|key| key == "status")
            && allowed(view.space.kind, party, Action::SendChat)
            && view.message.content.get("assignees").and_then(Value::as_array).is_some_and(|list| {
                list.iter().any(|a| a.get("_id").and_then(Value::as_str) == Some(me.as_str()))
            })
    }

    /// `POST|PATCH /api/messages/{id}`: changes the content fields sent. With
    /// `expected_modified`, a message changed since then is a conflict.
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        changes: Map<String, Value>,
        expected_modified: Option<Timestamp>,
    ) -> CoreResult<MessageView> {
        let (mut view, party) = self.readable(principal, id).await?;
        if view.message.deleted {
            return Err(not_found());
        }
        refuse_archived(&view.space)?;
        if !Self::may_change(&view, party, principal)
            && !Self::assignee_sets_status(&view, party, principal, &changes)
        {
            return Err(CoreError::permission_denied("you may not edit this message"));
        }
        if expected_modified.is_some_and(|expected| expected != view.message.modified) {
            return Err(CoreError::new(
                ErrorCode::MessageConflict,
                "the message changed since you read it",
            ));
        }
        let mut content = view.message.content.clone();
        for (key, value) in changes {
            content.insert(key, value);
        }
        let mut content = MessageContent::from_document(content, view.message.category)?;
        // Attachments stay the sender's files, whoever edits.
        self.files.attach(view.message.sender_id, &mut content.attachments).await?;
        let content = stored_content(content, self.max_content_bytes)?;
        let previous = view.message.modified;
        view.message.content = content;
        view.message.modified = Timestamp::now().max(previous.add_millis(1));
        if !self.store.update_message(&view.message, previous).await? {
            return Err(CoreError::new(
                ErrorCode::MessageConflict,
                "the message changed since you read it",
            ));
        }
        self.announce_change(&view).await?;
        Ok(view)
    }

    /// `DELETE /api/messages/{id}`: announced as `MESSAGE_SENT` with `deleted: true`.
    pub async fn delete(&self, principal: &Principal, id: &str) -> CoreResult<MessageView> {
        let (mut view, party) = self.readable(principal, id).await?;
        if view.message.deleted {
            return Err(not_found());
        }
        refuse_archived(&view.space)?;
        if !Self::may_change(&view, party, principal) {
            return Err(CoreError::permission_denied("you may not delete this message"));
        }
        let now = Timestamp::now().max(view.message.modified.add_millis(1));
        if !self.store.delete_message(view.message.id, now).await? {
            return Err(not_found());
        }
        view.message.deleted = true;
        view.message.content = Map::new();
        view.message.modified = now;
        self.announce_change(&view).await?;
        let author = view.message.sender_id;
        self.audit
            .record(
                AuditEntry::new(principal, "message.delete")
                    .target("message", view.message.id)
                    .space(view.message.space_id)
                    .detail("ownMessage", author == principal.user_id()),
            )
            .await;
        Ok(view)
    }

    /// `POST /api/messages/deletemessages`: deletes up to 100 messages, each on its own
    /// terms, and reports what became of every id.
    pub async fn delete_many(
        &self,
        principal: &Principal,
        ids: &[String],
    ) -> CoreResult<BulkDeleteReport> {
        if ids.is_empty() || ids.len() > MAX_BULK_DELETE {
            return Err(CoreError::invalid(
                "messageIds",
                format!("needs 1 to {MAX_BULK_DELETE} ids"),
            ));
        }
        let mut report = BulkDeleteReport::default();
        for id in ids {
            match self.delete(principal, id).await {
                Ok(_) => report.deleted.push(id.clone()),
                Err(error) => match error.code {
                    ErrorCode::MessageNotFound | ErrorCode::TopicNotFound => {
                        report.not_found.push(id.clone())
                    }
                    ErrorCode::PermissionDenied => report.not_permitted.push((id.clone(), error)),
                    _ => report.not_deleted.push((id.clone(), error)),
                },
            }
        }
        Ok(report)
    }

    /// Everything written in a space after the message `after` that the caller may
    /// read, oldest first: what a reconnecting socket missed.
    pub async fn catch_up(
        &self,
        principal: &Principal,
        space_id: ObjectId,
        after: &str,
    ) -> CoreResult<Vec<MessageView>> {
        let after: ObjectId = after
            .parse()
            .map_err(|_| CoreError::invalid("lastMessageId", "is not a message id"))?;
        let (space, membership, party) = self.space_and_party(principal, space_id).await?;
        let Some(membership) = membership else { return Ok(Vec::new()) };
        let Some(anchor) = self.store.message(after).await?.filter(|m| m.space_id == space.id)
        else {
            return Ok(Vec::new());
        };
        let since = Self::reads_since(&space, &membership, party.anonymous);
        // By storage order, not creation time: a message created before the anchor
        // but stored after it (a concurrent send) was not seen either.
        let query = MessageQuery {
            thread: Thread::Any,
            include_deleted: true,
            order: MessageOrder::Stored,
            after: Some((anchor.created, anchor.id)),
            newest_first: false,
            ..MessageQuery::in_space(space.id, since, MAX_CATCH_UP)
        };
        // With several nodes, delivery order is not storage order: another node's
        // message stored just before the anchor may still have been on its way (and
        // lost with a dying node) when the anchor reached the client, which is often
        // its own send, acknowledged at once. Those of other senders stored in the
        // moment before the anchor come again first; clients key messages by `_id`.
        // (One sender's messages reach a client in the order they were stored.)
        let overlap = MessageQuery {
            after: None,
            before: Some((anchor.created, anchor.id)),
            newest_first: true,
            limit: CATCH_UP_OVERLAP_MESSAGES,
            ..query.clone()
        };
        let window_start = anchor.created.add_millis(-CATCH_UP_OVERLAP_MS);
        let mut messages: Vec<MessageRecord> = self
            .store
            .query_messages(&overlap)
            .await?
            .into_iter()
            .filter(|m| m.sender_id != anchor.sender_id && m.created >= window_start)
            .collect();
        messages.reverse();
        messages.extend(self.store.query_messages(&query).await?);
        self.with_senders(messages).await
    }

    /// Pairs messages with their spaces and senders, each looked up once.
    async fn with_senders(&self, messages: Vec<MessageRecord>) -> CoreResult<Vec<MessageView>> {
        let mut senders: HashMap<ObjectId, UserRecord> = HashMap::new();
        let mut spaces: HashMap<ObjectId, SpaceRecord> = HashMap::new();
        let mut views = Vec::with_capacity(messages.len());
        for message in messages {
            let meeting = message.category == MessageCategory::Meeting;
            if !meeting && !senders.contains_key(&message.sender_id) {
                let Some(user) = self.store.user_by_id(message.sender_id).await? else { continue };
                senders.insert(user.id, user);
            }
            if !spaces.contains_key(&message.space_id) {
                let Some(space) = self.store.space_by_id(message.space_id).await? else { continue };
                spaces.insert(space.id, space);
            }
            let sender = (!meeting).then(|| senders[&message.sender_id].clone());
            let space = spaces[&message.space_id].clone();
            views.push(MessageView { message, space, sender });
        }
        Ok(views)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_in_one_space_never_share_a_millisecond() {
        let clock = SpaceClock::default();
        let (a, b) = (ObjectId::new(), ObjectId::new());
        let start = Timestamp::now().millis();
        let times: Vec<i64> = (0..500).map(|_| clock.next(a).millis()).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        assert!(times[499] - start < 1_000, "no further ahead than the sends made");
        // Another space starts from the clock, not after the first space's last send
        // (unless both hash to one slot, which is only stricter).
        let other = clock.next(b).millis();
        assert!(other >= start);
    }

    #[test]
    fn content_over_the_limit_is_refused_as_too_large() {
        let content = MessageContent { body_text: "x".repeat(70_000), ..Default::default() };
        let error = stored_content(content, 65_536).unwrap_err();
        assert_eq!(error.code, ErrorCode::MessageTooLarge);
        let small = MessageContent { body_text: "hi".into(), ..Default::default() };
        assert_eq!(stored_content(small, 65_536).unwrap()["bodyText"], "hi");
    }
}
