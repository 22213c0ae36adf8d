//! Reading messages: a space's history with every filter of the Spaces message query,
//! the caller's own posts and tasks across spaces, and changed messages for sync.

use plaza_db::{
    MessageCategory, MessageOrder, MessageQuery, MessageRecord, MessageScope, ObjectId, Thread,
    Timestamp,
};

use super::{MAX_PAGE, MessageService, MessageView};
pub use crate::content::TaskState;
use crate::identity::Principal;
use crate::spaces::listing::PageToken;
use crate::{CoreError, CoreResult};

/// Characters a text search may have at most.
const MAX_SEARCH: usize = 200;
/// Spaces one `/users/me/messages` request may name.
pub const MAX_SPACE_LIST: usize = 15;

/// What a history request asks (`messages/query`, `/ideas`, `/tasks`, comments, the
/// cross-space lists), parsed by the transport; the limits are checked here.
#[derive(Debug, Clone)]
pub struct HistoryParams {
    pub size: Option<u32>,
    /// Read from this time (`refTime`), in `direction`.
    pub ref_time: Option<Timestamp>,
    pub direction: Direction,
    /// The categories to show; all of them when empty.
    pub categories: Vec<MessageCategory>,
    /// Which messages by thread: top-level ones (the default), comments on posts or
    /// tasks, comments on one message, or any.
    pub thread: Thread,
    pub files_only: bool,
    /// Chats only (narrows `categories`).
    pub chat_only: bool,
    /// Text to look for (case-insensitive).
    pub search: Option<String>,
    /// `nextRefObjId`: the page older than this message.
    pub older_than: Option<ObjectId>,
    /// `prevRefObjId`: the page newer than this message.
    pub newer_than: Option<ObjectId>,
    pub page_token: Option<PageToken>,
}

impl Default for HistoryParams {
    fn default() -> Self {
        HistoryParams {
            size: None,
            ref_time: None,
            direction: Direction::After,
            categories: Vec::new(),
            thread: Thread::TopLevel,
            files_only: false,
            chat_only: false,
            search: None,
            older_than: None,
            newer_than: None,
            page_token: None,
        }
    }
}

/// Which side of `refTime` a page reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Before,
    After,
}

/// A page of messages, newest first, and where the neighbouring pages start.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub views: Vec<MessageView>,
    pub size: u32,
    /// The oldest message here, when older ones may follow (`nextRefObjId`).
    pub older: Option<ObjectId>,
    /// The newest message here, when newer ones may follow (`prevRefObjId`).
    pub newer: Option<ObjectId>,
}

/// Whose messages a cross-space listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mine {
    /// Posts the caller wrote.
    Ideas,
    /// Tasks assigned to the caller, optionally in one state.
    Tasks { status: Option<TaskState> },
    /// Messages (comments included) with file attachments.
    Attachments,
}

/// A page of changed messages, oldest change first, and the token of the next one.
#[derive(Debug, Clone)]
pub struct ChangesPage {
    pub views: Vec<MessageView>,
    pub size: u32,
    pub next: Option<PageToken>,
    /// Requested spaces the caller cannot read (left, removed, or never a member).
    pub skipped: Vec<String>,
}

/// The categories asked for, each once; every category when none is named.
fn categories(asked: &[MessageCategory]) -> Vec<MessageCategory> {
    if asked.is_empty() {
        return MessageCategory::ALL.to_vec();
    }
    let mut categories = Vec::new();
    for category in asked {
        if !categories.contains(category) {
            categories.push(*category);
        }
    }
    categories
}

fn search(text: Option<&str>) -> CoreResult<Option<String>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > MAX_SEARCH {
        return Err(CoreError::invalid(
            "searchstring",
            format!("must be at most {MAX_SEARCH} characters"),
        ));
    }
    Ok(Some(text.to_lowercase()))
}

fn page_size(size: Option<u32>, default: u32) -> u32 {
    size.unwrap_or(default).clamp(1, MAX_PAGE)
}

/// Where a page starts: the newest end, or strictly before or after a position.
enum Anchor {
    Newest,
    Before((Timestamp, ObjectId)),
    After((Timestamp, ObjectId)),
}

/// The smallest id, so that `(t, MIN)` sorts before every message created at `t`.
const MIN_ID: &str = "000000000000000000000000";
const MAX_ID: &str = "ffffffffffffffffffffffff";

fn time_position(at: Timestamp, last_of_millisecond: bool) -> (Timestamp, ObjectId) {
    let id = if last_of_millisecond { MAX_ID } else { MIN_ID };
    (at, id.parse().unwrap_or_else(|_| ObjectId::new()))
}

impl MessageService {
    /// The `(created, id)` position of a message in `space_id`, for paging around it.
    async fn position_of(
        &self,
        field: &str,
        id: ObjectId,
        space_id: Option<ObjectId>,
    ) -> CoreResult<(Timestamp, ObjectId)> {
        let invalid = || CoreError::invalid(field, "is not a message of this listing");
        let anchor = self.store.message(id).await?.ok_or_else(invalid)?;
        if space_id.is_some_and(|space| anchor.space_id != space) {
            return Err(invalid());
        }
        Ok((anchor.created, anchor.id))
    }

    async fn anchor(
        &self,
        params: &HistoryParams,
        space_id: Option<ObjectId>,
    ) -> CoreResult<Anchor> {
        if let Some(id) = params.older_than {
            return Ok(Anchor::Before(self.position_of("nextRefObjId", id, space_id).await?));
        }
        if let Some(id) = params.newer_than {
            return Ok(Anchor::After(self.position_of("prevRefObjId", id, space_id).await?));
        }
        if let Some(token) = &params.page_token {
            let (forward, cursor) = token.position()?;
            let position = (Timestamp::from_millis(cursor.time), cursor.id);
            return Ok(if forward { Anchor::After(position) } else { Anchor::Before(position) });
        }
        let Some(at) = params.ref_time else { return Ok(Anchor::Newest) };
        Ok(match params.direction {
            Direction::After => Anchor::After(time_position(at, true)),
            Direction::Before => Anchor::Before(time_position(at, false)),
        })
    }

    /// Runs `query` from `anchor`, one extra row telling whether more lie beyond, and
    /// returns the page newest first with its neighbours.
    async fn page(
        &self,
        mut query: MessageQuery,
        anchor: Anchor,
    ) -> CoreResult<(Vec<MessageRecord>, Option<ObjectId>, Option<ObjectId>)> {
        let size = query.limit;
        query.limit = size + 1;
        let (anchored, newest_first) = match anchor {
            Anchor::Newest => (false, true),
            Anchor::Before(position) => {
                query.before = Some(position);
                (true, true)
            }
            Anchor::After(position) => {
                query.after = Some(position);
                (true, false)
            }
        };
        query.newest_first = newest_first;
        let mut records = self.store.query_messages(&query).await?;
        let more_beyond = records.len() > size as usize;
        records.truncate(size as usize);
        if !newest_first {
            records.reverse();
        }
        let (more_older, more_newer) =
            if newest_first { (more_beyond, anchored) } else { (anchored, more_beyond) };
        let older = records.last().filter(|_| more_older).map(|m| m.id);
        let newer = records.first().filter(|_| more_newer).map(|m| m.id);
        Ok((records, older, newer))
    }

    /// A page of a space's history with the Spaces query filters, newest first.
    pub async fn history(
        &self,
        principal: &Principal,
        space_id: &str,
        params: &HistoryParams,
    ) -> CoreResult<HistoryPage> {
        let space_id: ObjectId = space_id.parse().map_err(|_| super::topic_not_found())?;
        let (space, membership, party) =
            crate::spaces::space_and_reader(self.store.as_ref(), principal, space_id).await?;
        let Some(membership) = membership else {
            return Err(CoreError::permission_denied("only members may read this space"));
        };
        let since = Self::reads_since(&space, &membership, party.anonymous);
        let size = page_size(params.size, 30);
        let mut query = MessageQuery::in_space(space.id, since, size);
        query.categories = categories(&params.categories);
        if params.chat_only {
            query.categories.retain(|c| *c == MessageCategory::Chat);
        }
        query.files_only = params.files_only;
        query.search = search(params.search.as_deref())?;
        query.thread = params.thread;
        let anchor = self.anchor(params, Some(space.id)).await?;
        let (records, older, newer) = self.page(query, anchor).await?;
        let views = self.with_senders(records).await?;
        Ok(HistoryPage { views, size, older, newer })
    }

    /// The caller's posts, or the tasks assigned to them, across their spaces, newest
    /// first (`/users/me/ideas`, `/users/me/tasks`).
    pub async fn mine(
        &self,
        principal: &Principal,
        which: Mine,
        params: &HistoryParams,
    ) -> CoreResult<HistoryPage> {
        let me = principal.user_id();
        let size = page_size(params.size, 30);
        let mut query = MessageQuery::new(MessageScope::MemberOf(me), size);
        match which {
            Mine::Ideas => {
                query.categories = vec![MessageCategory::Idea];
                query.sender = Some(me);
            }
            Mine::Attachments => {
                query.files_only = true;
                query.thread = Thread::Any;
            }
            Mine::Tasks { status } => {
                query.categories = vec![MessageCategory::Task];
                query.assignee = Some(me);
                query.task_status = status.map(|state| state.as_str().to_owned());
            }
        }
        let anchor = self.anchor(params, None).await?;
        let (records, older, newer) = self.page(query, anchor).await?;
        let views = self.with_senders(records).await?;
        Ok(HistoryPage { views, size, older, newer })
    }

    /// Messages changed in the given spaces (at most 15), oldest change first, after
    /// `after` (`/users/me/messages`): what a client syncs.
    pub async fn changes(
        &self,
        principal: &Principal,
        space_ids: &[String],
        after: Option<Timestamp>,
        include_deleted: bool,
        page_token: Option<&PageToken>,
        size: Option<u32>,
    ) -> CoreResult<ChangesPage> {
        if space_ids.is_empty() || space_ids.len() > MAX_SPACE_LIST {
            return Err(CoreError::invalid(
                "spacelist",
                format!("names 1 to {MAX_SPACE_LIST} space ids"),
            ));
        }
        let mut scopes = Vec::new();
        let mut skipped = Vec::new();
        for raw in space_ids {
            let id: ObjectId = raw.trim().parse().map_err(|_| {
                CoreError::invalid("spacelist", format!("{raw:?} is not a space id"))
            })?;
            let readable = match self.space_and_party(principal, id).await {
                Ok((space, Some(membership), party)) => {
                    Some((space.id, Self::reads_since(&space, &membership, party.anonymous)))
                }
                Ok((_, None, _)) => None,
                Err(error) if error.code == crate::ErrorCode::TopicNotFound => None,
                Err(error) => return Err(error),
            };
            match readable {
                Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
                Some(_) => {}
                None => skipped.push(raw.clone()),
            }
        }
        let size = page_size(size, 10);
        let mut query = MessageQuery {
            thread: Thread::Any,
            include_deleted,
            order: MessageOrder::Modified,
            newest_first: false,
            ..MessageQuery::new(MessageScope::Spaces(scopes), size)
        };
        query.after = match page_token {
            Some(token) => {
                let (_, cursor) = token.position()?;
                Some((Timestamp::from_millis(cursor.time), cursor.id))
            }
            None => after.map(|at| time_position(at, true)),
        };
        let records = self.store.query_messages(&query).await?;
        let next = records.last().filter(|_| records.len() == size as usize).map(|last| {
            PageToken { forward: true, time: last.modified.millis(), id: last.id.to_string() }
        });
        let views = self.with_senders(records).await?;
        Ok(ChangesPage { views, size, next, skipped })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_normalised() {
        use MessageCategory::{Chat, Task};
        assert_eq!(categories(&[Task, Chat, Task]), [Task, Chat]);
        assert_eq!(categories(&[]), MessageCategory::ALL);
        assert_eq!(search(Some("  Hello ")).unwrap().as_deref(), Some("hello"));
        assert!(search(Some(&"x".repeat(201))).is_err());
        let (at, first) = time_position(Timestamp::from_millis(5), false);
        let (_, last) = time_position(at, true);
        assert!(first < ObjectId::new() && ObjectId::new() < last);
    }
}
