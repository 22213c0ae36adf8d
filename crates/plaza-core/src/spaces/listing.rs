//! `GET /api/users/me/spaces`: every parameter of the Spaces listing, on keyset pages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plaza_db::{
    ListingCursor, ListingFilter, ListingPage, MembershipRecord, ObjectId, SpaceKind, SpaceRecord,
    SpaceStatus, Timestamp, UserRecord,
};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use super::SpaceService;
use crate::identity::Principal;
use crate::{CoreError, CoreResult};

const DEFAULT_SIZE: u32 = 10;
/// Spaces one listing page holds at most.
pub const MAX_LIST_SIZE: u32 = 50;
const MAX_PATTERN: usize = 256;
/// How many rows one scan step reads while a search filters them.
const SEARCH_BATCH: u32 = 200;
/// Members shown with each listed space.
const PREVIEW_MEMBERS: u32 = 10;

/// What a caller asks of the listing. The transport parses the Spaces query spelling
/// (`topictype=all`, `filtertype=pinned`, `topicstatus=1`, ...) into these; the rules
/// that are Plaza's own (page sizes, what combines, search patterns) are checked here.
#[derive(Debug, Clone)]
pub struct ListParams {
    /// Spaces per page (`None`: the default); 0 is refused, more than the maximum is cut.
    pub size: Option<u32>,
    /// A page number: numbered pages instead of keyset pages.
    pub page: Option<u32>,
    /// A case-insensitive regular expression over titles (and direct partners' names).
    pub search: Option<String>,
    pub statuses: Vec<SpaceStatus>,
    pub kinds: Vec<SpaceKind>,
    pub pinned_only: bool,
    pub include_deleted: bool,
    /// Only spaces changed after this time.
    pub after: Option<Timestamp>,
    /// A counter echoed in the page URLs.
    pub pageref: Option<i64>,
    /// Where to continue, from a previous page.
    pub page_token: Option<PageToken>,
    /// Ordered by the last message rather than by activity.
    pub by_last_message: bool,
}

impl Default for ListParams {
    /// The listing a client gets with no parameters: active group spaces.
    fn default() -> Self {
        ListParams {
            size: None,
            page: None,
            search: None,
            statuses: vec![SpaceStatus::Active],
            kinds: vec![SpaceKind::Group],
            pinned_only: false,
            include_deleted: false,
            after: None,
            pageref: None,
            page_token: None,
            by_last_message: false,
        }
    }
}

/// The opaque `pageToken`: base64url JSON naming the item to continue from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    /// `true`: the items after the reference; `false`: the items before it.
    #[serde(rename = "next")]
    pub forward: bool,
    #[serde(rename = "refTime")]
    pub time: i64,
    #[serde(rename = "refObjId")]
    pub id: String,
}

impl PageToken {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a token this server issued; anything else is refused as `pageToken`.
    pub fn decode(text: &str) -> CoreResult<PageToken> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| Self::invalid())?;
        let token: PageToken = serde_json::from_slice(&bytes).map_err(|_| Self::invalid())?;
        token.position()?;
        Ok(token)
    }

    fn invalid() -> CoreError {
        CoreError::invalid("pageToken", "is not a token this server issued")
    }

    /// Which way the token points, and the item it names.
    pub(crate) fn position(&self) -> CoreResult<(bool, ListingCursor)> {
        let id: ObjectId = self.id.parse().map_err(|_| Self::invalid())?;
        Ok((self.forward, ListingCursor { time: self.time, id }))
    }
}

/// One listed space with the caller's membership and a preview of its members.
#[derive(Debug, Clone)]
pub struct ListedSpace {
    pub space: SpaceRecord,
    pub membership: MembershipRecord,
    pub members: Vec<(MembershipRecord, UserRecord)>,
    /// For direct spaces, the latest message and its sender (seed 003 `lastMessage`).
    pub last_message: Option<(plaza_db::MessageRecord, UserRecord)>,
}

/// A page of the listing, with what the transport needs to build the page URLs.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub items: Vec<ListedSpace>,
    pub size: u32,
    /// Set in page mode: (from, to) absolute indexes, and the page number.
    pub page_mode: Option<(u32, Option<(u32, u32)>)>,
    pub next: Option<PageToken>,
    pub previous: Option<PageToken>,
    pub pageref: Option<i64>,
}

/// Compiles a user's search pattern safely: Rust regexes run in linear time, and the
/// size limits refuse patterns that would compile into something huge.
pub(crate) fn search_regex(pattern: &str) -> CoreResult<Regex> {
    if pattern.chars().count() > MAX_PATTERN {
        return Err(CoreError::invalid(
            "search",
            format!("must be at most {MAX_PATTERN} characters"),
        ));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(256 * 1024)
        .dfa_size_limit(1024 * 1024)
        .nest_limit(32)
        .build()
        .map_err(|_| {
            CoreError::invalid("search", "is not a valid regular expression (or is too complex)")
        })
}

pub(crate) struct Parsed {
    size: u32,
    page: Option<u32>,
    search: Option<Regex>,
    filter: ListingFilter,
    token: Option<(bool, ListingCursor)>,
    pageref: Option<i64>,
}

pub(crate) fn parse(params: &ListParams) -> CoreResult<Parsed> {
    let size = match params.size {
        None => DEFAULT_SIZE,
        Some(0) => return Err(CoreError::invalid("size", format!("must be 1 to {MAX_LIST_SIZE}"))),
        Some(n) => n.min(MAX_LIST_SIZE),
    };
    if params.page.is_some()
        && (params.after.is_some() || params.pageref.is_some() || params.page_token.is_some())
    {
        return Err(CoreError::invalid(
            "page",
            "cannot be combined with after, pageref or pageToken",
        ));
    }
    let mut kinds = Vec::new();
    for kind in &params.kinds {
        if !kinds.contains(kind) {
            kinds.push(*kind);
        }
    }
    if kinds.is_empty() {
        kinds.push(SpaceKind::Group);
    }
    let statuses = if params.statuses.is_empty() {
        vec![SpaceStatus::Active]
    } else {
        params.statuses.clone()
    };
    let search =
        params.search.as_deref().filter(|s| !s.is_empty()).map(search_regex).transpose()?;
    let token = params.page_token.as_ref().map(PageToken::position).transpose()?;
    Ok(Parsed {
        size,
        page: params.page,
        search,
        filter: ListingFilter {
            kinds,
            statuses,
            pinned_only: params.pinned_only,
            include_deleted: params.include_deleted,
            after: params.after,
            by_last_message: params.by_last_message,
        },
        token,
        pageref: params.pageref,
    })
}

fn cursor_of(item: &ListedSpace, by_last_message: bool) -> ListingCursor {
    let time = if by_last_message {
        item.membership.last_message_at.map_or(0, Timestamp::millis)
    } else {
        item.membership.activity_at.millis()
    };
    ListingCursor { time, id: item.space.id }
}

impl SpaceService {
    /// `GET /api/users/me/spaces` (and `/topics`).
    pub async fn list(&self, principal: &Principal, params: &ListParams) -> CoreResult<ListPage> {
        let parsed = parse(params)?;
        let user = principal.user_id();
        let size = parsed.size;
        let by_last_message = parsed.filter.by_last_message;

        if let Some(page) = parsed.page {
            let skip =
                page.checked_mul(size).ok_or_else(|| CoreError::invalid("page", "is too large"))?;
            // One row more than needed tells whether a next page exists.
            let items = self.scan(user, &parsed, ListingPage::Offset(0), skip, size + 1).await?;
            let has_next = items.len() > size as usize;
            let items: Vec<_> = items.into_iter().take(size as usize).collect();
            let range = (!items.is_empty()).then(|| (skip, skip + items.len() as u32 - 1));
            let items = self.with_previews(items).await?;
            return Ok(ListPage {
                size,
                page_mode: Some((if has_next { page + 1 } else { page }, range)),
                next: None,
                previous: None,
                pageref: None,
                items,
            });
        }

        let forward = parsed.token.is_none_or(|(forward, _)| forward);
        let start = match parsed.token {
            None => ListingPage::After(None),
            Some((true, cursor)) => ListingPage::After(Some(cursor)),
            Some((false, cursor)) => ListingPage::Before(cursor),
        };
        let mut items = self.scan(user, &parsed, start, 0, size + 1).await?;
        // The extra row says whether more lie beyond, in the direction of travel.
        let more = items.len() > size as usize;
        if forward {
            items.truncate(size as usize);
        } else if more {
            items.drain(..items.len() - size as usize);
        }
        let first = items.first().map(|i| cursor_of(i, by_last_message));
        let last = items.last().map(|i| cursor_of(i, by_last_message));
        let token = |forward: bool, cursor: ListingCursor| PageToken {
            forward,
            time: cursor.time,
            id: cursor.id.to_string(),
        };
        let (has_next, has_previous) =
            if forward { (more, parsed.token.is_some()) } else { (true, more) };
        let items = self.with_previews(items).await?;
        Ok(ListPage {
            size,
            page_mode: None,
            next: last.filter(|_| has_next).map(|c| token(true, c)),
            previous: first.filter(|_| has_previous).map(|c| token(false, c)),
            pageref: parsed.pageref,
            items,
        })
    }

    /// Reads listing rows from `start`, skipping `skip` matches, until `want` matches
    /// are found: a search filters in batches, so a deep page costs one index range
    /// scan either way.
    async fn scan(
        &self,
        user: ObjectId,
        parsed: &Parsed,
        start: ListingPage,
        mut skip: u32,
        want: u32,
    ) -> CoreResult<Vec<ListedSpace>> {
        let by_last_message = parsed.filter.by_last_message;
        let Some(search) = &parsed.search else {
            let page = match start {
                ListingPage::Offset(_) => ListingPage::Offset(skip),
                other => other,
            };
            let rows = self.store.list_memberships(user, &parsed.filter, page, want).await?;
            return Ok(rows
                .into_iter()
                .map(|(space, membership)| ListedSpace {
                    space,
                    membership,
                    members: Vec::new(),
                    last_message: None,
                })
                .collect());
        };
        let backwards = matches!(start, ListingPage::Before(_));
        let mut found: Vec<ListedSpace> = Vec::new();
        let mut page = match start {
            ListingPage::Offset(_) => ListingPage::After(None),
            other => other,
        };
        loop {
            let rows =
                self.store.list_memberships(user, &parsed.filter, page, SEARCH_BATCH).await?;
            let exhausted = rows.len() < SEARCH_BATCH as usize;
            let mut batch: Vec<ListedSpace> = rows
                .into_iter()
                .map(|(space, membership)| ListedSpace {
                    space,
                    membership,
                    members: Vec::new(),
                    last_message: None,
                })
                .collect();
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else { break };
            page = if backwards {
                ListingPage::Before(cursor_of(first, by_last_message))
            } else {
                ListingPage::After(Some(cursor_of(last, by_last_message)))
            };
            batch = self.matching(batch, search, user).await?;
            if backwards {
                // Walking back: the batch is in listing order, keep the latest matches.
                batch.extend(found);
                found = batch;
                if found.len() >= want as usize || exhausted {
                    let extra = found.len().saturating_sub(want as usize);
                    found.drain(..extra);
                    break;
                }
            } else {
                for item in batch {
                    if skip > 0 {
                        skip -= 1;
                    } else {
                        found.push(item);
                    }
                }
                if found.len() >= want as usize || exhausted {
                    found.truncate(want as usize);
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Keeps the spaces whose title (for direct spaces: the other party's name or
    /// username) matches.
    async fn matching(
        &self,
        batch: Vec<ListedSpace>,
        search: &Regex,
        user: ObjectId,
    ) -> CoreResult<Vec<ListedSpace>> {
        let direct: Vec<ObjectId> = batch
            .iter()
            .filter(|i| i.space.kind == SpaceKind::Direct)
            .map(|i| i.space.id)
            .collect();
        let partners = self.store.member_previews(&direct, 2).await?;
        Ok(batch
            .into_iter()
            .filter(|item| {
                search.is_match(&item.space.title)
                    || partners.iter().any(|(m, u)| {
                        m.space_id == item.space.id
                            && u.id != user
                            && (search.is_match(&u.displayname) || search.is_match(&u.username))
                    })
            })
            .collect())
    }

    async fn with_previews(&self, mut items: Vec<ListedSpace>) -> CoreResult<Vec<ListedSpace>> {
        let ids: Vec<ObjectId> = items.iter().map(|i| i.space.id).collect();
        // Grouped once: partitioning the whole list for each space moved every preview
        // row once per space, quadratic in the page size.
        let mut previews: std::collections::HashMap<ObjectId, Vec<_>> =
            std::collections::HashMap::with_capacity(ids.len());
        for (membership, user) in self.store.member_previews(&ids, PREVIEW_MEMBERS).await? {
            previews.entry(membership.space_id).or_default().push((membership, user));
        }
        for item in &mut items {
            item.members = previews.remove(&item.space.id).unwrap_or_default();
            if item.space.kind == SpaceKind::Direct {
                // Direct spaces have no guests, so nothing is cut from their history.
                let latest = plaza_db::MessageQuery::in_space(item.space.id, None, 1);
                let latest = self.store.query_messages(&latest).await?;
                if let Some(message) = latest.into_iter().next()
                    && let Some(sender) = self.store.user_by_id(message.sender_id).await?
                {
                    item.last_message = Some((message, sender));
                }
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_reject_forgeries() {
        let id = ObjectId::new();
        let token = PageToken { forward: true, time: 42, id: id.to_string() };
        let (forward, cursor) = PageToken::decode(&token.encode()).unwrap().position().unwrap();
        assert!(forward);
        assert_eq!(cursor, ListingCursor { time: 42, id });
        assert!(PageToken::decode("not base64 !").is_err());
        assert!(PageToken::decode(&URL_SAFE_NO_PAD.encode(b"{\"next\":true}")).is_err());
    }

    #[test]
    fn search_patterns_are_bounded() {
        assert!(search_regex("^team").unwrap().is_match("Team Alpha"));
        assert!(search_regex("alpha$").unwrap().is_match("Team Alpha"));
        assert!(search_regex("(a+)+$").is_ok(), "linear-time engine: no catastrophic backtracking");
        assert!(search_regex("[").is_err());
        assert!(search_regex("a{1000}{1000}").is_err(), "compiles too large");
        assert!(search_regex(&"a".repeat(300)).is_err());
    }

    #[test]
    fn plazas_own_rules_are_checked() {
        let bad = |params: ListParams| parse(&params).err().map(|e| e.fields[0].field.clone());
        assert_eq!(
            bad(ListParams { size: Some(0), ..Default::default() }).as_deref(),
            Some("size")
        );
        assert_eq!(parse(&ListParams { size: Some(500), ..Default::default() }).unwrap().size, 50);
        let token = PageToken { forward: true, time: 1, id: ObjectId::new().to_string() };
        assert_eq!(
            bad(ListParams { page: Some(1), page_token: Some(token), ..Default::default() })
                .as_deref(),
            Some("page")
        );
        assert_eq!(
            bad(ListParams { search: Some("[".into()), ..Default::default() }).as_deref(),
            Some("search")
        );
        let kinds = vec![SpaceKind::Direct, SpaceKind::Direct, SpaceKind::Group];
        let parsed = parse(&ListParams { kinds, ..Default::default() }).unwrap();
        assert_eq!(parsed.filter.kinds, [SpaceKind::Direct, SpaceKind::Group]);
        let none = parse(&ListParams { kinds: vec![], statuses: vec![], ..Default::default() });
        let none = none.unwrap();
        assert_eq!(none.filter.kinds, [SpaceKind::Group]);
        assert_eq!(none.filter.statuses, [SpaceStatus::Active]);
    }
}
