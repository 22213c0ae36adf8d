//! The digest: one mail listing the mentions and direct messages someone missed while
//! offline.
//!
//! New messages that mention someone, or reach them in a direct space, are noted as
//! digest items as they are announced ([`DigestNotes`], an [`EventSink`] off the send
//! path). A periodic sweep ([`Digests::sweep`]) takes each offline user's items once
//! the oldest has waited `delay`, keeps those still unread, and mails them in one message.
//! Taking deletes the items in the store, so across nodes each is mailed once; a mail
//! that fails puts its items back for the next sweep.

use std::sync::Arc;

use async_trait::async_trait;
use plaza_db::{
    DigestItemRecord, MembershipState, MessageRecord, ObjectId, SpaceKind, Store, Timestamp,
    UserKind,
};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::CoreResult;
use crate::events::{DomainEvent, EventSink};
use crate::identity::IdentityService;
use crate::mail::{Mail, Postman, escape_html, html_page};

/// Mentions past this many in one message are not noted (a message naming everyone is
/// an announcement, and each mention costs a membership read).
const MAX_MENTIONS: usize = 50;
/// Items older than this are dropped rather than mailed.
const MAX_AGE_MILLIS: i64 = 7 * 24 * 3600 * 1000;
/// Entries listed in one mail; the rest are counted.
const MAX_ENTRIES: usize = 20;
/// Users handled per sweep.
const USERS_PER_SWEEP: u32 = 500;
/// Messages waiting to be noted; past it new ones are dropped (and logged).
const QUEUE: usize = 10_000;

/// Whether a user has an open connection anywhere (the realtime transport knows).
#[async_trait]
pub trait OnlineUsers: Send + Sync {
    async fn is_online(&self, user_id: ObjectId) -> bool;
}

/// The users a new message is for, besides its sender: those it mentions (in
/// `mentions` or as `<mention id="...">` tags in its text).
pub fn mentioned_users(message: &MessageRecord) -> Vec<ObjectId> {
    let mut ids = Vec::new();
    let listed = message.content.get("mentions").and_then(Value::as_array);
    for mention in listed.into_iter().flatten() {
        if let Some(id) = mention.get("id").and_then(Value::as_str).and_then(|id| id.parse().ok()) {
            ids.push(id);
        }
    }
    let body = message.content.get("bodyText").and_then(Value::as_str).unwrap_or("");
    for tag in body.split("<mention").skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        let Some(start) = tag.find("id=\"").map(|at| at + 4) else { continue };
        if let Some(id) = tag[start..].split('"').next().and_then(|id| id.parse().ok()) {
            ids.push(id);
        }
    }
    ids.retain(|id| *id != message.sender_id);
    ids.sort();
    ids.dedup();
    ids.truncate(MAX_MENTIONS);
    ids
}

/// A message's text for a mail: mention tags reduced to their names, other markup
/// dropped, cut to a line.
pub fn plain_excerpt(message: &MessageRecord) -> String {
    let body = message.content.get("bodyText").and_then(Value::as_str).unwrap_or("");
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else if text.is_empty() {
        "(a message with no text)".to_owned()
    } else {
        text
    }
}

/// Notes digest items for new messages, off the send path: `publish` only queues.
pub struct DigestNotes {
    queue: mpsc::Sender<(MessageRecord, SpaceKind)>,
}

impl DigestNotes {
    /// Starts the task that writes the items. Must be called inside a Tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (queue, mut incoming) = mpsc::channel::<(MessageRecord, SpaceKind)>(QUEUE);
        tokio::spawn(async move {
            while let Some((message, kind)) = incoming.recv().await {
                if let Err(error) = note(store.as_ref(), &message, kind).await {
                    tracing::warn!(%error, message_id = %message.id, "digest items not noted");
                }
            }
        });
        DigestNotes { queue }
    }
}

impl EventSink for DigestNotes {
    fn publish(&self, event: DomainEvent) {
        let DomainEvent::Message { view, .. } = event else { return };
        let message = &view.message;
        // New messages only: an edit or a deletion is no news.
        if message.deleted || message.modified != message.created {
            return;
        }
        let kind = view.space.kind;
        let mentions = message.content.contains_key("mentions")
            || message
                .content
                .get("bodyText")
                .and_then(Value::as_str)
                .is_some_and(|body| body.contains("<mention"));
        if (kind == SpaceKind::Direct || mentions)
            && self.queue.try_send((view.message, kind)).is_err()
        {
            tracing::warn!("digest queue full: a message is left out of digests");
        }
    }
}

async fn note(store: &dyn Store, message: &MessageRecord, kind: SpaceKind) -> CoreResult<()> {
    let mut recipients = Vec::new();
    if kind == SpaceKind::Direct {
        let (members, _) = store.members(message.space_id, None, 0, 2).await?;
        recipients
            .extend(members.iter().map(|(_, user)| user.id).filter(|id| *id != message.sender_id));
    }
    for user_id in mentioned_users(message) {
        if recipients.contains(&user_id) {
            continue;
        }
        let membership = store.membership(message.space_id, user_id).await?;
        if membership.is_some_and(|m| m.state == MembershipState::Active) {
            recipients.push(user_id);
        }
    }
    let items: Vec<DigestItemRecord> = recipients
        .into_iter()
        .map(|user_id| DigestItemRecord {
            user_id,
            message_id: message.id,
            space_id: message.space_id,
            created: message.created,
        })
        .collect();
    Ok(store.add_digest_items(&items).await?)
}

/// One line of a digest.
struct Entry {
    space_id: ObjectId,
    space_title: String,
    direct: bool,
    sender: String,
    text: String,
}

/// Sends the digests.
pub struct Digests {
    store: Arc<dyn Store>,
    identity: Arc<IdentityService>,
    postman: Arc<Postman>,
    /// How long an item waits, unread and with its user offline, before it is mailed.
    delay_millis: i64,
}

impl Digests {
    pub fn new(
        store: Arc<dyn Store>,
        identity: Arc<IdentityService>,
        postman: Arc<Postman>,
        delay_millis: i64,
    ) -> Self {
        Digests { store, identity, postman, delay_millis }
    }

    /// Mails each offline user the items that have waited long enough and are still
    /// unread; answers how many mails went.
    pub async fn sweep(&self, online: &dyn OnlineUsers) -> CoreResult<u32> {
        if !self.postman.configured() {
            return Ok(0);
        }
        let now = Timestamp::now();
        let due = now.add_millis(-self.delay_millis);
        let mut sent = 0;
        for user_id in self.store.users_with_digest_items(due, USERS_PER_SWEEP).await? {
            if online.is_online(user_id).await {
                continue;
            }
            // Everything pending goes in the one mail, not only what is due: a burst of
            // mentions makes one digest, not one per sweep.
            let items = self.store.take_digest_items(user_id, now).await?;
            let user = self.store.user_by_id(user_id).await?;
            let Some(user) = user.filter(|u| u.kind == UserKind::Registered && !u.disabled) else {
                continue;
            };
            if !self.identity.wants_digest(user_id).await? {
                continue;
            }
            let (kept, entries) = self.unread(user_id, items, now).await?;
            if entries.is_empty() {
                continue;
            }
            let mail = self.mail(&user.username, user_id, &entries)?;
            if self.postman.deliver(&mail).await.sent() {
                sent += 1;
            } else {
                // Nothing is lost: the next sweep tries again.
                self.store.add_digest_items(&kept).await?;
            }
        }
        Ok(sent)
    }

    /// The items still worth mailing (unread, not deleted, still a member, not too old)
    /// and their entries.
    async fn unread(
        &self,
        user_id: ObjectId,
        items: Vec<DigestItemRecord>,
        now: Timestamp,
    ) -> CoreResult<(Vec<DigestItemRecord>, Vec<Entry>)> {
        let mut kept = Vec::new();
        let mut entries = Vec::new();
        for item in items {
            if item.created < now.add_millis(-MAX_AGE_MILLIS) {
                continue;
            }
            let Some((space, membership)) =
                self.store.space_with_membership(item.space_id, user_id).await?
            else {
                continue;
            };
            let Some(membership) = membership.filter(|m| m.state == MembershipState::Active) else {
                continue;
            };
            if membership.notification == Some(false)
                || membership.messages_last_read_time.is_some_and(|read| read >= item.created)
            {
                continue;
            }
            let Some(message) = self.store.message(item.message_id).await?.filter(|m| !m.deleted)
            else {
                continue;
            };
            let sender = self.store.user_by_id(message.sender_id).await?;
            entries.push(Entry {
                space_id: space.id,
                space_title: space.title.clone(),
                direct: space.kind == SpaceKind::Direct,
                sender: sender.map(|s| s.displayname).unwrap_or_else(|| "Someone".to_owned()),
                text: plain_excerpt(&message),
            });
            kept.push(item);
        }
        Ok((kept, entries))
    }

    fn mail(&self, to: &str, user_id: ObjectId, entries: &[Entry]) -> CoreResult<Mail> {
        let site = self.postman.site();
        let unsubscribe = format!(
            "{}/api/users/digest/unsubscribe?token={}",
            site.base_url,
            self.identity.unsubscribe_token(user_id)?
        );
        let count = entries.len();
        let subject = format!(
            "{count} message{} for you on {} while you were away",
            if count == 1 { "" } else { "s" },
            site.name
        );
        let mut text =
            format!("While you were away, you were mentioned or sent these on {}:\n\n", site.name);
        let mut list = String::from("<ul>");
        for entry in entries.iter().take(MAX_ENTRIES) {
            let link = format!("{}/#/spaces/{}/chat", site.base_url, entry.space_id);
            let place = if entry.direct {
                "a direct message".to_owned()
            } else {
                format!("in {}", entry.space_title)
            };
            text.push_str(&format!("- {}, {place}: {}\n  {link}\n", entry.sender, entry.text));
            list.push_str(&format!(
                "<li><strong>{}</strong>, <a href=\"{}\">{}</a>: {}</li>",
                escape_html(&entry.sender),
                escape_html(&link),
                escape_html(&place),
                escape_html(&entry.text)
            ));
        }
        list.push_str("</ul>");
        if count > MAX_ENTRIES {
            let more = format!("and {} more.", count - MAX_ENTRIES);
            text.push_str(&format!("{more}\n"));
            list.push_str(&format!("<p>{more}</p>"));
        }
        text.push_str(&format!(
            "\nYou get this mail because you were offline. To stop these mails: {unsubscribe}\n"
        ));
        let footer = format!(
            "You get this mail because you were offline. <a href=\"{}\">Stop these mails</a>.",
            escape_html(&unsubscribe)
        );
        let body = format!("<p>While you were away, you were mentioned or sent these:</p>{list}");
        let html = html_page(site, &body, &footer);
        Ok(Mail { to: to.to_owned(), subject, text, html, unsubscribe: Some(unsubscribe) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_db::MessageCategory;
    use serde_json::json;

    fn message(content: Value) -> MessageRecord {
        let Value::Object(content) = content else { unreachable!() };
        let now = Timestamp::now();
        MessageRecord {
            id: ObjectId::new(),
            space_id: ObjectId::new(),
            category: MessageCategory::Chat,
            sender_id: "00000000000000000000000a".parse().unwrap(),
            content,
            parent_id: None,
            chat_count: 0,
            deleted: false,
            created: now,
            modified: now,
        }
    }

    #[test]
    fn mentions_come_from_the_list_and_the_tags_without_the_sender_or_repeats() {
        let ann = "0000000000000000000000b1";
        let bob = "0000000000000000000000b2";
        let found = mentioned_users(&message(json!({
            "bodyText": format!("hi <mention id=\"{bob}\" type=\"user\" value=\"Bob\">Bob</mention> and <mention id=\"00000000000000000000000a\">me</mention>"),
            "mentions": [{"id": ann, "type": "user", "title": "Ann"}, {"id": bob}, {"id": "junk"}],
        })));
        assert_eq!(found, vec![ann.parse().unwrap(), bob.parse().unwrap()]);
        assert!(mentioned_users(&message(json!({"bodyText": "no one"}))).is_empty());
    }

    #[test]
    fn excerpts_keep_the_names_of_mentions_and_drop_markup() {
        let text = plain_excerpt(&message(json!({
            "bodyText": "Look <mention id=\"0000000000000000000000b2\">Bob</mention>,  <b>now</b>"
        })));
        assert_eq!(text, "Look Bob, now");
    }
}
