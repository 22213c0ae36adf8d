//! Messages over REST: create chats, posts and tasks, read, edit and delete them, and
//! page through a space's history. The socket's `SEND_MESSAGE` calls the same core.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use plaza_core::messages::NewMessage;
use plaza_core::{CoreError, MessageCategory, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path, Query};
use crate::{AppState, base_url, wire};

pub fn router() -> Router<AppState> {
    let mut router = Router::new();
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
}

/// A create body: `content` plus the fields some clients put at the top level.
#[derive(Deserialize, Default)]
struct CreateBody {
    #[serde(default)]
    content: Map<String, Value>,
    #[serde(default, rename = "parentMsg")]
    parent: Option<Value>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

async fn create(
    state: AppState,
    headers: HeaderMap,
    principal: plaza_core::identity::Principal,
    space_id: String,
    category: MessageCategory,
    body: CreateBody,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
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
    let input = NewMessage {
        space_id,
        category: category.as_str().to_owned(),
        content: body.content,
        top_level,
        parent_id,
        origin: None,
    };
    let view = state.messages.send(&principal, input).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": wire::message(&view, &base_url(&state, &headers))})),
    ))
}

/// POST /api/spaces/{id}/chats
async fn create_chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    create(state, headers, principal, space_id, MessageCategory::Chat, body).await
}

/// POST /api/spaces/{id}/ideas: a post.
async fn create_idea(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    create(state, headers, principal, space_id, MessageCategory::Idea, body).await
}

/// POST /api/spaces/{id}/tasks
async fn create_task(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    create(state, headers, principal, space_id, MessageCategory::Task, body).await
}

/// GET /api/messages/{id}: `{data: message}`.
async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(message_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let view = state.messages.get(&principal, &message_id).await?;
    Ok(axum::Json(json!({"data": wire::message(&view, &base_url(&state, &headers))})))
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default)]
    content: Map<String, Value>,
    /// The `modified` the client last saw: a stale one is refused.
    #[serde(default)]
    modified: Option<String>,
}

/// POST|PATCH /api/messages/{id}: changes the content fields sent.
async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(message_id): Path<String>,
    Json(body): Json<UpdateBody>,
) -> ApiResult<axum::Json<Value>> {
    let expected = body
        .modified
        .as_deref()
        .map(|m| {
            Timestamp::parse(m)
                .map_err(|_| CoreError::invalid("modified", "must be an ISO-8601 time"))
        })
        .transpose()?;
    let view = state.messages.update(&principal, &message_id, body.content, expected).await?;
    Ok(axum::Json(json!({"data": wire::message(&view, &base_url(&state, &headers))})))
}

/// DELETE /api/messages/{id}
async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(message_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let view = state.messages.delete(&principal, &message_id).await?;
    Ok(axum::Json(json!({"data": wire::message(&view, &base_url(&state, &headers))})))
}

#[derive(Deserialize)]
struct BulkDeleteBody {
    #[serde(rename = "messageIds", alias = "messages")]
    message_ids: Vec<String>,
}

/// POST /api/messages/deletemessages: `{messageIds: [...]}` (at most 100); answers a
/// per-id report in the Spaces field names (`notFoundMmessages` is spelled as the API
/// spells it).
async fn delete_many(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<BulkDeleteBody>,
) -> ApiResult<axum::Json<Value>> {
    let report = state.messages.delete_many(&principal, &body.message_ids).await?;
    let not_deleted: Vec<Value> = report
        .not_deleted
        .iter()
        .map(|(id, error)| json!({"_id": id, "reason": {"code": error.code.as_str(), "message": error.message}}))
        .collect();
    Ok(axum::Json(json!({
        "deletedMessages": report.deleted,
        "notFoundMmessages": report.not_found,
        "notDeletedMessages": not_deleted,
        "noPermittedMessages": report.not_permitted,
    })))
}

#[derive(Deserialize, Default)]
struct HistoryQuery {
    size: Option<u32>,
    /// The oldest message of the current page: the next page starts before it.
    #[serde(rename = "nextRefObjId")]
    before: Option<String>,
    category: Option<String>,
}

/// Which messages a history request reads, and the path its page URLs repeat.
struct Selection<'a> {
    space_id: &'a str,
    categories: &'a [MessageCategory],
    parent: Option<&'a str>,
    path: String,
}

async fn page(
    state: &AppState,
    headers: &HeaderMap,
    principal: &plaza_core::identity::Principal,
    selection: Selection<'_>,
    query: &HistoryQuery,
) -> ApiResult<axum::Json<Value>> {
    let size = query.size.unwrap_or(30).clamp(1, plaza_core::messages::MAX_PAGE);
    let views = state
        .messages
        .history(
            principal,
            selection.space_id,
            selection.categories,
            selection.parent,
            query.before.as_deref().filter(|b| !b.is_empty()),
            size,
        )
        .await?;
    let base = base_url(state, headers);
    let data: Vec<Value> = views.iter().map(|v| wire::message(v, &base)).collect();
    let next = match views.last() {
        Some(last) if views.len() == size as usize => {
            format!("{}?size={size}&nextRefObjId={}", selection.path, last.message.id)
        }
        _ => String::new(),
    };
    Ok(axum::Json(
        json!({"data": data, "total": data.len(), "nextPageUrl": next, "previousPageUrl": ""}),
    ))
}

/// GET /api/spaces/{id}/messages/query (and /byref): history, newest first.
async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Value>> {
    let categories = match query.category.as_deref().filter(|c| !c.is_empty()) {
        None => MessageCategory::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|c| {
                MessageCategory::parse(c.trim())
                    .ok_or_else(|| CoreError::invalid("category", "must be chat, idea or task"))
            })
            .collect::<Result<_, _>>()?,
    };
    let selection = Selection {
        space_id: &space_id,
        categories: &categories,
        parent: None,
        path: format!("/api/spaces/{space_id}/messages/query"),
    };
    page(&state, &headers, &principal, selection, &query).await
}

/// GET /api/spaces/{id}/ideas: the space's posts.
async fn list_ideas(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Value>> {
    let path = format!("/api/spaces/{space_id}/ideas");
    let selection =
        Selection { space_id: &space_id, categories: &[MessageCategory::Idea], parent: None, path };
    page(&state, &headers, &principal, selection, &query).await
}

/// GET /api/spaces/{id}/tasks: the space's tasks.
async fn list_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Value>> {
    let path = format!("/api/spaces/{space_id}/tasks");
    let selection =
        Selection { space_id: &space_id, categories: &[MessageCategory::Task], parent: None, path };
    page(&state, &headers, &principal, selection, &query).await
}

/// GET /api/ideas/{id}/messages and /api/tasks/{id}/messages: comments on a post or
/// task, with the parent's `chatCount` beside them.
async fn comments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(message_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Value>> {
    let parent = state.messages.get(&principal, &message_id).await?;
    let space_id = parent.message.space_id.to_string();
    let path = format!("/api/ideas/{message_id}/messages");
    let selection = Selection {
        space_id: &space_id,
        categories: &[MessageCategory::Chat],
        parent: Some(&message_id),
        path,
    };
    let axum::Json(mut body) = page(&state, &headers, &principal, selection, &query).await?;
    body["chatCount"] = json!(parent.message.chat_count);
    Ok(axum::Json(body))
}
