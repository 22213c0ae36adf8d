//! Messages over REST: create chats, posts and tasks, read, edit and delete them, and
//! page through a space's history. The socket's `SEND_MESSAGE` calls the same core.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use plaza_core::messages::{HistoryPage, HistoryParams, Mine, NewMessage};
use plaza_core::{CoreError, MessageCategory, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path, Query};
use plaza_wire::messages::DeleteReport;
use plaza_wire::{Data, Message, Page};

use crate::{AppState, Routes, base_url};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_chat,
    create_idea,
    create_task,
    read,
    update,
    remove,
    delete_many,
    query,
    list_ideas,
    list_tasks,
    comments,
    my_ideas,
    my_tasks,
    my_attachments,
    my_messages
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    let mut router = Routes::new();
    for prefix in ["/api/spaces", "/api/topics"] {
        router = router
            .route(&format!("{prefix}/{{space_id}}/chats"), post(create_chat))
            .route(&format!("{prefix}/{{space_id}}/ideas"), post(create_idea).get(list_ideas))
            .route(&format!("{prefix}/{{space_id}}/tasks"), post(create_task).get(list_tasks))
            .route(&format!("{prefix}/{{space_id}}/messages/query"), get(query))
            .route(&format!("{prefix}/{{space_id}}/messages/byref"), get(query));
    }
    router
        .route("/api/messages/deletemessages", post(delete_many))
        .route("/api/messages/{message_id}", get(read).post(update).patch(update).delete(remove))
        .route("/api/ideas/{message_id}/messages", get(comments))
        .route("/api/tasks/{message_id}/messages", get(comments))
        .route("/api/users/me/messages", get(my_messages))
        .route("/api/users/me/ideas", get(my_ideas))
        .route("/api/users/me/tasks", get(my_tasks))
        .route("/api/users/me/attachments/natives", get(my_attachments))
}

/// A create body: `content` plus the fields some clients put at the top level.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = NewMessageBody)]
struct CreateBody {
    /// `bodyText`, `description`, `data` (attachments), `assignees`, ...
    #[serde(default)]
    content: Map<String, Value>,
    /// The post or task this chat comments on: an id or `{_id}`.
    #[serde(default, rename = "parentMsg")]
    parent: Option<Value>,
    /// Other top-level fields (`status`, `dueDate`, ...) are kept.
    #[serde(flatten)]
    #[schema(ignore)]
    rest: Map<String, Value>,
}

async fn create(
    state: AppState,
    headers: HeaderMap,
    principal: plaza_core::identity::Principal,
    space_id: String,
    category: MessageCategory,
    body: CreateBody,
) -> ApiResult<(StatusCode, axum::Json<Data<Message>>)> {
    let mut top_level = body.rest;
    // REST task creation sends `status` as 0 (pending) or 1 (completed).
    if let Some(code) = top_level.get("status").and_then(Value::as_i64) {
        top_level.insert("status".into(), json!(if code == 1 { "completed" } else { "pending" }));
    }
    let parent_id = body
        .parent
        .as_ref()
        .and_then(|p| p.get("_id").and_then(Value::as_str).or_else(|| p.as_str()))
        .map(str::to_owned);
    let content = plaza_wire::message_input::content(body.content, &top_level, category)?;
    let input = NewMessage { space_id, category, content, parent_id, origin: None };
    let view = state.messages.send(&principal, input).await?;
    state.metrics.message_persisted("rest");
    Ok((
        StatusCode::CREATED,
        axum::Json(Data::new(Message::of(&view, &base_url(&state, &headers)))),
    ))
}

/// POST /api/spaces/{id}/chats: sends a chat message.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/chats",
    tag = "messages",
    operation_id = "createChat",
    params(("space_id" = String, Path, description = "The space's id")),
    request_body = CreateBody,
    security(("authorization" = [])),
    responses((status = 201, description = "`{data: message}`", body = Data<Message>))
)]
async fn create_chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, axum::Json<Data<Message>>)> {
    create(state, headers, principal, space_id, MessageCategory::Chat, body).await
}

/// POST /api/spaces/{id}/ideas: a post.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/ideas",
    tag = "messages",
    operation_id = "createIdea",
    params(("space_id" = String, Path, description = "The space's id")),
    request_body = CreateBody,
    security(("authorization" = [])),
    responses((status = 201, description = "`{data: message}`", body = Data<Message>))
)]
async fn create_idea(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, axum::Json<Data<Message>>)> {
    create(state, headers, principal, space_id, MessageCategory::Idea, body).await
}

/// POST /api/spaces/{id}/tasks: creates a task (`status` 0 pending, 1 completed).
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/tasks",
    tag = "messages",
    operation_id = "createTask",
    params(("space_id" = String, Path, description = "The space's id")),
    request_body = CreateBody,
    security(("authorization" = [])),
    responses((status = 201, description = "`{data: message}`", body = Data<Message>))
)]
async fn create_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, axum::Json<Data<Message>>)> {
    create(state, headers, principal, space_id, MessageCategory::Task, body).await
}

/// GET /api/messages/{id}: `{data: message}`.
#[utoipa::path(
    get,
    path = "/api/messages/{message_id}",
    tag = "messages",
    operation_id = "getMessage",
    params(("message_id" = String, Path, description = "The message's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: message}`", body = Data<Message>))
)]
async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(message_id): Path<String>,
) -> ApiResult<axum::Json<Data<Message>>> {
    let view = state.messages.get(&principal, &message_id).await?;
    Ok(axum::Json(Data::new(Message::of(&view, &base_url(&state, &headers)))))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = MessageUpdateBody)]
struct UpdateBody {
    #[serde(default)]
    content: Map<String, Value>,
    /// The `modified` the client last saw: a stale one is refused.
    #[serde(default)]
    modified: Option<String>,
}

/// POST|PATCH /api/messages/{id}: changes the content fields sent.
///
/// A `modified` older than the message's is refused (`message.conflict`).
#[utoipa::path(
    post,
    path = "/api/messages/{message_id}",
    tag = "messages",
    operation_id = "updateMessage",
    params(("message_id" = String, Path, description = "The message's id")),
    request_body = UpdateBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: message}`", body = Data<Message>))
)]
async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(message_id): Path<String>,
    Json(body): Json<UpdateBody>,
) -> ApiResult<axum::Json<Data<Message>>> {
    let expected = body
        .modified
        .as_deref()
        .map(|m| {
            Timestamp::parse(m)
                .map_err(|_| CoreError::invalid("modified", "must be an ISO-8601 time"))
        })
        .transpose()?;
    let view = state.messages.update(&principal, &message_id, body.content, expected).await?;
    Ok(axum::Json(Data::new(Message::of(&view, &base_url(&state, &headers)))))
}

/// DELETE /api/messages/{id}: deletes a message (its sender or a space admin).
#[utoipa::path(
    delete,
    path = "/api/messages/{message_id}",
    tag = "messages",
    operation_id = "deleteMessage",
    params(("message_id" = String, Path, description = "The message's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: message}` with `deleted: true`", body = Data<Message>))
)]
async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(message_id): Path<String>,
) -> ApiResult<axum::Json<Data<Message>>> {
    let view = state.messages.delete(&principal, &message_id).await?;
    Ok(axum::Json(Data::new(Message::of(&view, &base_url(&state, &headers)))))
}

/// The ids to delete: a bare array (the documented body) or `{messageIds}`.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
enum BulkDeleteBody {
    Ids(Vec<String>),
    Object {
        #[serde(rename = "messageIds", alias = "messages")]
        message_ids: Vec<String>,
    },
}

impl BulkDeleteBody {
    fn message_ids(&self) -> &[String] {
        match self {
            BulkDeleteBody::Ids(ids) | BulkDeleteBody::Object { message_ids: ids } => ids,
        }
    }
}

/// POST /api/messages/deletemessages: a bare JSON array of ids, as the Spaces docs give
/// it, or `{messageIds: [...]}` (at most 100); answers a per-id report in the Spaces
/// field names (`notFoundMmessages` is spelled as the API spells it), refusals as
/// `{messageId, reason: {code, message}}`.
#[utoipa::path(
    post,
    path = "/api/messages/deletemessages",
    tag = "messages",
    operation_id = "deleteMessages",
    request_body = BulkDeleteBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{deletedMessages, notFoundMmessages, notDeletedMessages, noPermittedMessages}`", body = DeleteReport))
)]
async fn delete_many(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<BulkDeleteBody>,
) -> ApiResult<axum::Json<DeleteReport>> {
    let report = state.messages.delete_many(&principal, body.message_ids()).await?;
    Ok(axum::Json(DeleteReport::of(&report)))
}

/// The parameters of every history listing, in the Spaces spelling.
#[derive(Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// Messages per page.
    size: Option<u32>,
    /// Messages from this time (epoch milliseconds or ISO-8601).
    #[serde(rename = "refTime")]
    ref_time: Option<String>,
    /// `before` or `after` `refTime`.
    direction: Option<String>,
    /// Only this category (`chat`, `idea`, `task`, ...).
    category: Option<String>,
    /// Only comments on posts or tasks of this category.
    parentmsg_category: Option<String>,
    /// `true`: only messages with attachments.
    file_only: Option<String>,
    /// `true`: only chats that are not comments.
    chatmsg_only: Option<String>,
    /// Only messages whose text contains this.
    searchstring: Option<String>,
    /// Echoed unchanged in the page URLs.
    pageref: Option<String>,
    /// Messages older than this message id.
    #[serde(rename = "nextRefObjId")]
    next_ref_obj_id: Option<String>,
    /// Messages newer than this message id.
    #[serde(rename = "prevRefObjId")]
    prev_ref_obj_id: Option<String>,
    /// Where to continue, from a previous page's URLs.
    #[serde(rename = "pageToken")]
    page_token: Option<String>,
    /// `/users/me/tasks` only.
    status: Option<String>,
}

impl HistoryQuery {
    fn params(&self) -> Result<HistoryParams, plaza_core::CoreError> {
        crate::params::history(crate::params::RawHistory {
            size: self.size,
            ref_time: self.ref_time.as_deref(),
            direction: self.direction.as_deref(),
            category: self.category.as_deref(),
            parentmsg_category: self.parentmsg_category.as_deref(),
            file_only: self.file_only.as_deref(),
            chatmsg_only: self.chatmsg_only.as_deref(),
            searchstring: self.searchstring.as_deref(),
            next_ref_obj_id: self.next_ref_obj_id.as_deref(),
            prev_ref_obj_id: self.prev_ref_obj_id.as_deref(),
            page_token: self.page_token.as_deref(),
        })
    }

    /// The URL of a neighbouring page: the same filters, a new anchor.
    fn page_url(&self, path: &str, size: u32, anchor: (&str, String)) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("size", size.to_string())];
        let filters = [
            ("category", &self.category),
            ("parentmsg_category", &self.parentmsg_category),
            ("file_only", &self.file_only),
            ("chatmsg_only", &self.chatmsg_only),
            ("searchstring", &self.searchstring),
            ("status", &self.status),
            ("pageref", &self.pageref),
        ];
        pairs.extend(filters.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
        pairs.push(anchor);
        format!("{path}?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    }

    /// The Spaces page body: `{data, total, nextPageUrl, previousPageUrl}`, newest first.
    fn body(&self, page: &HistoryPage, path: &str, base: &str) -> Page<Message> {
        let data: Vec<Message> = page.views.iter().map(|v| Message::of(v, base)).collect();
        let url = |key: &'static str, id: Option<plaza_core::ObjectId>| {
            id.map_or_else(String::new, |id| self.page_url(path, page.size, (key, id.to_string())))
        };
        Page::counted(data)
            .next(url("nextRefObjId", page.older))
            .previous(url("prevRefObjId", page.newer))
    }
}

/// GET /api/spaces/{id}/messages/query (and /byref): history, newest first, with
/// every filter of the Spaces query.
#[utoipa::path(
    get,
    path = "/api/spaces/{space_id}/messages/query",
    tag = "messages",
    operation_id = "queryMessages",
    params(("space_id" = String, Path, description = "The space's id"), HistoryQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`, newest first", body = Page<Message>))
)]
async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Page<Message>>> {
    let page = state.messages.history(&principal, &space_id, &query.params()?).await?;
    let path = format!("/api/spaces/{space_id}/messages/query");
    Ok(axum::Json(query.body(&page, &path, &base_url(&state, &headers))))
}

/// GET /api/spaces/{id}/ideas and /tasks: the space's posts or tasks.
async fn list_category(
    state: AppState,
    headers: HeaderMap,
    principal: plaza_core::identity::Principal,
    space_id: String,
    category: MessageCategory,
    query: HistoryQuery,
) -> ApiResult<axum::Json<Page<Message>>> {
    // The path names the category: whatever the query says of it is not read.
    let unfiltered = HistoryQuery { category: None, ..query.clone() };
    let params = HistoryParams { categories: vec![category], ..unfiltered.params()? };
    let page = state.messages.history(&principal, &space_id, &params).await?;
    let path = format!("/api/spaces/{space_id}/{}s", category.as_str());
    Ok(axum::Json(query.body(&page, &path, &base_url(&state, &headers))))
}

/// GET /api/spaces/{id}/ideas: the space's posts, newest first.
#[utoipa::path(
    get,
    path = "/api/spaces/{space_id}/ideas",
    tag = "messages",
    operation_id = "listIdeas",
    params(("space_id" = String, Path, description = "The space's id"), HistoryQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`, newest first", body = Page<Message>))
)]
async fn list_ideas(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Page<Message>>> {
    list_category(state, headers, principal, space_id, MessageCategory::Idea, query).await
}

/// GET /api/spaces/{id}/tasks: the space's tasks, newest first.
#[utoipa::path(
    get,
    path = "/api/spaces/{space_id}/tasks",
    tag = "messages",
    operation_id = "listTasks",
    params(("space_id" = String, Path, description = "The space's id"), HistoryQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`, newest first", body = Page<Message>))
)]
async fn list_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Page<Message>>> {
    list_category(state, headers, principal, space_id, MessageCategory::Task, query).await
}

/// GET /api/ideas/{id}/messages and /api/tasks/{id}/messages: comments on a post or
/// task, with the parent's `chatCount` beside them.
#[utoipa::path(
    get,
    path = "/api/ideas/{message_id}/messages",
    tag = "messages",
    operation_id = "listComments",
    params(("message_id" = String, Path, description = "The post's or task's id"), HistoryQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl, chatCount}`", body = Page<Message>))
)]
async fn comments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(message_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Page<Message>>> {
    let parent = state.messages.get(&principal, &message_id).await?;
    // The path names the thread: whatever the query says of categories is not read.
    let unthreaded = HistoryQuery { category: None, parentmsg_category: None, ..query.clone() };
    let params = HistoryParams {
        thread: plaza_core::Thread::CommentsOn(parent.message.id),
        categories: vec![MessageCategory::Chat],
        ..unthreaded.params()?
    };
    let space_id = parent.message.space_id.to_string();
    let page = state.messages.history(&principal, &space_id, &params).await?;
    let path = format!("/api/{}s/{message_id}/messages", parent.message.category.as_str());
    let mut body = query.body(&page, &path, &base_url(&state, &headers));
    body.chat_count = Some(parent.message.chat_count);
    Ok(axum::Json(body))
}

/// GET /api/users/me/ideas: the caller's posts across their spaces.
#[utoipa::path(
    get,
    path = "/api/users/me/ideas",
    tag = "messages",
    operation_id = "myIdeas",
    params(HistoryQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`, newest first", body = Page<Message>))
)]
async fn my_ideas(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Page<Message>>> {
    let page = state.messages.mine(&principal, Mine::Ideas, &query.params()?).await?;
    Ok(axum::Json(query.body(&page, "/api/users/me/ideas", &base_url(&state, &headers))))
}

/// GET /api/users/me/tasks?status=pending|completed: tasks assigned to the caller.
#[utoipa::path(
    get,
    path = "/api/users/me/tasks",
    tag = "messages",
    operation_id = "myTasks",
    params(HistoryQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`, newest first", body = Page<Message>))
)]
async fn my_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Page<Message>>> {
    let which = Mine::Tasks { status: crate::params::task_state(query.status.as_deref())? };
    let page = state.messages.mine(&principal, which, &query.params()?).await?;
    Ok(axum::Json(query.body(&page, "/api/users/me/tasks", &base_url(&state, &headers))))
}

/// GET /api/users/me/attachments/natives: messages with native attachments in the
/// caller's spaces, newest first.
#[utoipa::path(
    get,
    path = "/api/users/me/attachments/natives",
    tag = "messages",
    operation_id = "myAttachments",
    params(HistoryQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`, newest first", body = Page<Message>))
)]
async fn my_attachments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Page<Message>>> {
    let page = state.messages.mine(&principal, Mine::Attachments, &query.params()?).await?;
    let path = "/api/users/me/attachments/natives";
    Ok(axum::Json(query.body(&page, path, &base_url(&state, &headers))))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ChangesQuery {
    /// Up to 15 space ids, comma-separated.
    #[serde(default)]
    spacelist: String,
    size: Option<u32>,
    includedeleted: Option<String>,
    /// Epoch milliseconds (or ISO-8601): only messages changed after it.
    after: Option<String>,
    #[serde(rename = "pageToken")]
    page_token: Option<String>,
    pageref: Option<String>,
}

/// GET /api/users/me/messages?spacelist=a,b: messages changed in up to 15 spaces,
/// oldest change first, for clients that sync.
#[utoipa::path(
    get,
    path = "/api/users/me/messages",
    tag = "messages",
    operation_id = "myMessages",
    params(ChangesQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl, skippedSpaces}`, oldest change first", body = Page<Message>))
)]
async fn my_messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Query(query): Query<ChangesQuery>,
) -> ApiResult<axum::Json<Page<Message>>> {
    let spaces: Vec<String> = query
        .spacelist
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let after = query
        .after
        .as_deref()
        .filter(|a| !a.trim().is_empty())
        .map(|a| {
            Timestamp::parse(a)
                .map_err(|_| CoreError::invalid("after", "must be epoch milliseconds or ISO-8601"))
        })
        .transpose()?;
    let include_deleted = matches!(
        query.includedeleted.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "yes" | "y" | "1")
    );
    let page = state
        .messages
        .changes(
            &principal,
            &spaces,
            after,
            include_deleted,
            crate::params::page_token(query.page_token.as_deref())?.as_ref(),
            query.size,
        )
        .await?;
    let base = base_url(&state, &headers);
    let data: Vec<Message> = page.views.iter().map(|v| Message::of(v, &base)).collect();
    let next = page.next.as_ref().map_or_else(String::new, |token| {
        let mut pairs = vec![
            ("spacelist", query.spacelist.clone()),
            ("size", page.size.to_string()),
            ("pageToken", token.encode()),
        ];
        if include_deleted {
            pairs.push(("includedeleted", "true".to_owned()));
        }
        if let Some(pageref) = &query.pageref {
            pairs.push(("pageref", pageref.clone()));
        }
        format!("/api/users/me/messages?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    });
    let mut body = Page::counted(data).next(next).previous(String::new());
    body.skipped_spaces = Some(page.skipped);
    Ok(axum::Json(body))
}
