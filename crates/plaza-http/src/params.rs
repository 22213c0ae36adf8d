//! The Spaces spelling of query parameters, parsed into the core's typed requests.
//!
//! Clients send lists as commas or repeated keys (folded by `extract::Query`), flags as
//! `true`/`1` or `yes`/`y`, and numbers and times as text; each is read here once, and a
//! value that does not parse is refused with its field named (CONTRACT §3).

use plaza_core::messages::{Direction, HistoryParams, TaskState};
use plaza_core::spaces::{ListParams, PageToken};
use plaza_core::{CoreError, MessageCategory, ObjectId, SpaceKind, SpaceStatus, Thread, Timestamp};

/// The value of a parameter that was given and is not blank.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// `true`/`1` or `false`/`0` (the listing's spelling).
pub(crate) fn flag(name: &str, value: Option<&str>) -> Result<bool, CoreError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(CoreError::invalid(name, "must be true or false")),
    }
}

/// `yes`, `y`, `true`, `1` and their opposites, as the Spaces docs spell them for
/// message queries.
pub(crate) fn yes(name: &str, value: Option<&str>) -> Result<bool, CoreError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "no" | "n" | "false" | "0") => Ok(false),
        Some("yes" | "y" | "true" | "1") => Ok(true),
        Some(_) => Err(CoreError::invalid(name, "must be yes or no")),
    }
}

fn number<T: std::str::FromStr>(
    name: &str,
    value: Option<&str>,
    why: &str,
) -> Result<Option<T>, CoreError> {
    given(value)
        .map(|text| text.parse::<T>().map_err(|_| CoreError::invalid(name, why)))
        .transpose()
}

pub(crate) fn page_token(value: Option<&str>) -> Result<Option<PageToken>, CoreError> {
    given(value).map(PageToken::decode).transpose()
}

/// The raw listing parameters of `GET /api/users/me/spaces`, as the query carries them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawListing<'a> {
    pub size: Option<&'a str>,
    pub page: Option<&'a str>,
    pub search: Option<&'a str>,
    pub topicstatus: Option<&'a str>,
    pub topictype: Option<&'a str>,
    pub filtertype: Option<&'a str>,
    pub includedeleted: Option<&'a str>,
    pub pageref: Option<&'a str>,
    pub after: Option<&'a str>,
    pub page_token: Option<&'a str>,
    pub sort_by: Option<&'a str>,
}

/// The kinds a comma list names, in order (repeats are the core's to drop).
fn space_kinds(name: &str, list: &str) -> Result<Vec<SpaceKind>, CoreError> {
    let mut kinds = Vec::new();
    for part in list.split(',') {
        let add: &[SpaceKind] = match part.trim().to_ascii_lowercase().as_str() {
            "" | "group" => &[SpaceKind::Group],
            "direct" => &[SpaceKind::Direct],
            "personal" => &[SpaceKind::Personal],
            "all" => &[SpaceKind::Group, SpaceKind::Direct],
            _ => {
                return Err(CoreError::invalid(
                    name,
                    "must be group, direct, personal or all (or a comma list)",
                ));
            }
        };
        kinds.extend_from_slice(add);
    }
    Ok(kinds)
}

/// Reads the listing's parameters.
pub(crate) fn listing(raw: RawListing<'_>) -> Result<ListParams, CoreError> {
    let size = match given(raw.size) {
        None => None,
        Some(text) => Some(text.parse::<u32>().map_err(|_| {
            CoreError::invalid(
                "size",
                format!("must be 1 to {}", plaza_core::spaces::MAX_LIST_SIZE),
            )
        })?),
    };
    let page = number("page", raw.page, "must be a page number from 0")?;
    let statuses = match raw.topicstatus.map(str::trim).unwrap_or("0") {
        "" | "0" => vec![SpaceStatus::Active],
        "1" => vec![SpaceStatus::Archived],
        "2" => vec![SpaceStatus::Deleted],
        "all" => SpaceStatus::ALL.to_vec(),
        _ => return Err(CoreError::invalid("topicstatus", "must be 0, 1 or all")),
    };
    // `filtertype` is a set (clients repeat it): `pinned`, and space types, which
    // clients also send there (`filtertype=group&filtertype=direct`) and which then
    // choose the kinds when `topictype` does not.
    let mut pinned_only = false;
    let mut filter_types = Vec::new();
    for part in raw.filtertype.unwrap_or_default().split(',') {
        match part.trim().to_ascii_lowercase().as_str() {
            "" => {}
            "pinned" => pinned_only = true,
            kind @ ("group" | "direct" | "personal" | "all") => filter_types.push(kind.to_owned()),
            _ => {
                return Err(CoreError::invalid(
                    "filtertype",
                    "must be pinned or a space type (group, direct, personal, all)",
                ));
            }
        }
    }
    let kinds = match raw.topictype {
        Some(types) => space_kinds("topictype", types)?,
        None if !filter_types.is_empty() => space_kinds("filtertype", &filter_types.join(","))?,
        None => vec![SpaceKind::Group],
    };
    let by_last_message = match raw.sort_by.map(str::trim) {
        None | Some("") => false,
        Some("lastMessage.modified") => true,
        Some(_) => return Err(CoreError::invalid("sortBy", "must be lastMessage.modified")),
    };
    let after = given(raw.after)
        .map(|text| {
            Timestamp::parse(text)
                .map_err(|_| CoreError::invalid("after", "must be epoch milliseconds"))
        })
        .transpose()?;
    Ok(ListParams {
        size,
        page,
        search: raw.search.filter(|s| !s.is_empty()).map(str::to_owned),
        statuses,
        kinds,
        pinned_only,
        include_deleted: flag("includedeleted", raw.includedeleted)?,
        after,
        pageref: number("pageref", raw.pageref, "must be an integer")?,
        page_token: page_token(raw.page_token)?,
        by_last_message,
    })
}

/// The raw parameters of a history request, as the query carries them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawHistory<'a> {
    pub size: Option<u32>,
    pub ref_time: Option<&'a str>,
    pub direction: Option<&'a str>,
    pub category: Option<&'a str>,
    pub parentmsg_category: Option<&'a str>,
    pub file_only: Option<&'a str>,
    pub chatmsg_only: Option<&'a str>,
    pub searchstring: Option<&'a str>,
    pub next_ref_obj_id: Option<&'a str>,
    pub prev_ref_obj_id: Option<&'a str>,
    pub page_token: Option<&'a str>,
}

fn message_id(name: &str, value: Option<&str>) -> Result<Option<ObjectId>, CoreError> {
    number(name, value, "is not a message of this listing")
}

/// Reads a history request's parameters.
pub(crate) fn history(raw: RawHistory<'_>) -> Result<HistoryParams, CoreError> {
    let mut categories = Vec::new();
    let names = given(raw.category).map(|list| list.split(',').map(str::trim));
    for name in names.into_iter().flatten() {
        categories.push(MessageCategory::parse(name).ok_or_else(|| {
            CoreError::invalid("category", "must be chat, idea, task or meeting")
        })?);
    }
    let thread = match raw.parentmsg_category.map(str::trim) {
        None | Some("" | "none") => Thread::TopLevel,
        Some("idea") => Thread::CommentsOnCategory(MessageCategory::Idea),
        Some("task") => Thread::CommentsOnCategory(MessageCategory::Task),
        Some("any" | "all") => Thread::Any,
        Some(_) => {
            return Err(CoreError::invalid(
                "parentmsg_category",
                "must be none, idea, task or any",
            ));
        }
    };
    let ref_time = given(raw.ref_time)
        .map(|text| {
            Timestamp::parse(text)
                .map_err(|_| CoreError::invalid("refTime", "must be an ISO-8601 time or epoch ms"))
        })
        .transpose()?;
    let direction = match raw.direction.map(str::trim) {
        None | Some("" | "after") => Direction::After,
        Some("before") => Direction::Before,
        Some(_) => return Err(CoreError::invalid("direction", "must be before or after")),
    };
    Ok(HistoryParams {
        size: raw.size,
        ref_time,
        direction,
        categories,
        thread,
        files_only: yes("file_only", raw.file_only)?,
        chat_only: yes("chatmsg_only", raw.chatmsg_only)?,
        search: raw.searchstring.map(str::to_owned),
        older_than: message_id("nextRefObjId", raw.next_ref_obj_id)?,
        newer_than: message_id("prevRefObjId", raw.prev_ref_obj_id)?,
        page_token: page_token(raw.page_token)?,
    })
}

/// `/users/me/tasks?status=`: `pending`/`0`, `completed`/`1`, or every task.
pub(crate) fn task_state(value: Option<&str>) -> Result<Option<TaskState>, CoreError> {
    match value.map(str::trim) {
        None | Some("" | "all") => Ok(None),
        Some("pending" | "0") => Ok(Some(TaskState::Pending)),
        Some("completed" | "complete" | "1") => Ok(Some(TaskState::Completed)),
        Some(_) => Err(CoreError::invalid("status", "must be pending or completed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plaza_core::ErrorCode;
    use proptest::prelude::*;

    fn field(error: CoreError) -> String {
        error.fields[0].field.clone()
    }

    #[test]
    fn listing_parameters_are_read_as_clients_spell_them() {
        let bad = |raw: RawListing<'_>| listing(raw).err().map(field);
        assert_eq!(
            bad(RawListing { size: Some("x"), ..Default::default() }).as_deref(),
            Some("size")
        );
        assert_eq!(
            bad(RawListing { topicstatus: Some("3"), ..Default::default() }).as_deref(),
            Some("topicstatus")
        );
        assert_eq!(
            bad(RawListing { topictype: Some("group,odd"), ..Default::default() }).as_deref(),
            Some("topictype")
        );
        assert_eq!(
            bad(RawListing { sort_by: Some("title"), ..Default::default() }).as_deref(),
            Some("sortBy")
        );
        assert_eq!(
            bad(RawListing { page_token: Some("x"), ..Default::default() }).as_deref(),
            Some("pageToken")
        );
        let all = listing(RawListing { topictype: Some("all,personal"), ..Default::default() });
        assert_eq!(all.unwrap().kinds, [SpaceKind::Group, SpaceKind::Direct, SpaceKind::Personal]);
        let by_filter = listing(RawListing {
            filtertype: Some("pinned,direct"),
            includedeleted: Some("1"),
            ..Default::default()
        })
        .unwrap();
        assert!(by_filter.pinned_only && by_filter.include_deleted);
        assert_eq!(by_filter.kinds, [SpaceKind::Direct]);
        let none = listing(RawListing::default()).unwrap();
        assert_eq!(
            (none.kinds, none.statuses),
            (vec![SpaceKind::Group], vec![SpaceStatus::Active])
        );
    }

    #[test]
    fn history_parameters_are_read_as_clients_spell_them() {
        let bad = |raw: RawHistory<'_>| history(raw).err().map(field);
        assert_eq!(
            bad(RawHistory { category: Some("poll"), ..Default::default() }).as_deref(),
            Some("category")
        );
        assert_eq!(
            bad(RawHistory { file_only: Some("maybe"), ..Default::default() }).as_deref(),
            Some("file_only")
        );
        assert_eq!(
            bad(RawHistory { next_ref_obj_id: Some("nope"), ..Default::default() }).as_deref(),
            Some("nextRefObjId")
        );
        let parsed = history(RawHistory {
            category: Some("task, chat"),
            chatmsg_only: Some("Y"),
            parentmsg_category: Some("idea"),
            direction: Some("before"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(parsed.categories, [MessageCategory::Task, MessageCategory::Chat]);
        assert!(parsed.chat_only);
        assert_eq!(parsed.thread, Thread::CommentsOnCategory(MessageCategory::Idea));
        assert_eq!(parsed.direction, Direction::Before);
        assert_eq!(task_state(Some("1")).unwrap(), Some(TaskState::Completed));
        assert!(task_state(Some("later")).is_err());
    }

    fn texty() -> impl Strategy<Value = String> {
        prop_oneof![".{0,40}", "[0-9]{0,12}", "[a-z,]{0,20}"]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn listing_queries_parse_or_are_refused(
            size in proptest::option::of(texty()),
            page in proptest::option::of(texty()),
            search in proptest::option::of(texty()),
            topictype in proptest::option::of(texty()),
            pageref in proptest::option::of(texty()),
            page_token in proptest::option::of(texty()),
            sort_by in proptest::option::of(texty()),
        ) {
            let raw = RawListing {
                size: size.as_deref(),
                page: page.as_deref(),
                search: search.as_deref(),
                topictype: topictype.as_deref(),
                pageref: pageref.as_deref(),
                page_token: page_token.as_deref(),
                sort_by: sort_by.as_deref(),
                ..Default::default()
            };
            if let Err(error) = listing(raw) {
                prop_assert_eq!(error.code, ErrorCode::RequestInvalid);
            }
        }
    }
}
