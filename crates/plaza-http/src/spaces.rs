//! Spaces over REST: create, read, update, delete, join, members, invitations, roles,
//! direct spaces, personal rooms, the listing and each user's state. Every
//! `/api/spaces/...` path also answers as `/api/topics/...`.
//!
//! Long because it holds one thin handler (with its OpenAPI annotation) per `/api/spaces`
//! route, about forty of them; the rules are in `plaza_core::spaces`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{MethodRouter, get, post};
use plaza_core::CoreError;
use plaza_core::spaces::{Invitee, ListPage, SpaceUpdate};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path, Query};
use plaza_wire::spaces::{AttendeeChange, DeletedSpace, InviteEntry, InvitedSpace};
use plaza_wire::{Data, InviteOutcome, Joined, ListedSpace, Member, Page, SpaceAnswer, User};

use crate::{AppState, Routes, base_url};

mod own;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    read,
    update,
    remove_space,
    join,
    members,
    invite,
    accept_invitation,
    set_role,
    remove_attendee,
    direct,
    personal_room,
    list,
    own::mark_read,
    own::hide,
    own::unhide,
    own::preference,
    colleagues,
    people_with_dm
))]
pub(crate) struct Doc;

/// The header that carries a space's PIN.
const PIN_HEADER: &str = "spaces-x-space-password";

fn pin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(PIN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "null")
}

/// Registers `path` under `/api/spaces` and its older `/api/topics` spelling.
fn both(router: Routes, path: &str, route: MethodRouter<AppState>) -> Routes {
    router
        .route(&format!("/api/spaces{path}"), route.clone())
        .route(&format!("/api/topics{path}"), route)
}

/// Registers `path` under `/api/users/me/spaces` and `/api/users/me/topics`.
fn mine(router: Routes, path: &str, route: MethodRouter<AppState>) -> Routes {
    router
        .route(&format!("/api/users/me/spaces{path}"), route.clone())
        .route(&format!("/api/users/me/topics{path}"), route)
}

pub(crate) fn routes() -> Routes {
    let mut router = Routes::new();
    router = both(router, "/invite", post(create));
    router = both(router, "/{space_id}", get(read).post(update).delete(remove_space));
    router = both(router, "/{space_id}/join", get(join));
    router = both(router, "/{space_id}/join/", get(join));
    router = both(router, "/{space_id}/members", get(members));
    router = both(router, "/{space_id}/invite", post(invite));
    router = both(router, "/invites/{invite_id}/join", get(accept_invitation));
    router = both(
        router,
        "/{space_id}/attendees/{attendee_type}/{user_id}",
        post(set_role).delete(remove_attendee),
    );
    router = both(router, "/direct/{user_type}/{user_id}", get(direct));
    router = mine(router, "", get(list));
    router = mine(router, "/{space_id}/markread", post(own::mark_read));
    router = mine(router, "/{space_id}/hide", post(own::hide));
    router = mine(router, "/{space_id}/unhide", post(own::unhide));
    router = mine(router, "/{space_id}/preference", post(own::preference));
    router
        .route("/api/users/meetingroom/{email}", get(personal_room))
        .route("/api/users/{user}/colleagues", get(colleagues))
        .route("/api/users/{user}/people/withdm", get(people_with_dm))
}

#[derive(Deserialize, ToSchema)]
struct TopicBody {
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct InviteeBody {
    #[serde(rename = "inviteeType")]
    invitee_type: String,
    invitee: String,
    #[serde(default)]
    role: Option<String>,
}

impl From<InviteeBody> for Invitee {
    fn from(body: InviteeBody) -> Self {
        Invitee { invitee_type: body.invitee_type, invitee: body.invitee, role: body.role }
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NewSpaceBody)]
struct CreateBody {
    topic: TopicBody,
    #[serde(default)]
    invitees: Vec<InviteeBody>,
    #[serde(default, rename = "informChannel")]
    inform_channel: Option<String>,
}

fn wants_html(channel: Option<&str>) -> bool {
    channel.is_some_and(|c| c.eq_ignore_ascii_case("client"))
}

/// POST /api/spaces/invite: create a group space and invite people;
/// answers `{data: [{topicId, ...}]}`.
#[utoipa::path(
    post,
    path = "/api/spaces/invite",
    tag = "spaces",
    operation_id = "createSpace",
    request_body = CreateBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [{topicId, topic}, ...one entry per invitee]}` (200, not 201: the Spaces clients check for 200)", body = Data<Vec<InviteEntry>>))
)]
async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Json(body): Json<CreateBody>,
) -> ApiResult<(StatusCode, axum::Json<Data<Vec<InviteEntry>>>)> {
    if body.topic.kind.as_deref().is_some_and(|k| k != "group") {
        return Err(CoreError::invalid("topic.type", "only group spaces are created here").into());
    }
    let invitees: Vec<Invitee> = body.invitees.into_iter().map(Invitee::from).collect();
    let (view, outcomes) = state
        .spaces
        .create(&principal, &body.topic.title, body.topic.description.as_deref(), &invitees)
        .await?;
    let base = base_url(&state, &headers);
    let html = wants_html(body.inform_channel.as_deref());
    let space = InvitedSpace { topic_id: view.space.id, topic: SpaceAnswer::of(&view, &base) };
    let mut data = vec![InviteEntry::Space(space)];
    data.extend(
        outcomes
            .iter()
            .map(|o| InviteEntry::Outcome(InviteOutcome::of(view.space.id, o, &base, html))),
    );
    Ok((StatusCode::OK, axum::Json(Data::new(data))))
}

/// GET /api/spaces/{id}: the bare space object.
#[utoipa::path(
    get,
    path = "/api/spaces/{space_id}",
    tag = "spaces",
    operation_id = "getSpace",
    params(("space_id" = String, Path, description = "The space's id"), ("spaces-x-space-password" = Option<String>, Header, description = "The space's PIN, for guests of a PIN-protected space")),
    security(("authorization" = [])),
    responses((status = 200, description = "The space", body = SpaceAnswer))
)]
async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
) -> ApiResult<axum::Json<SpaceAnswer>> {
    let view = state.spaces.get(&principal, &space_id, pin(&headers)).await?;
    Ok(axum::Json(SpaceAnswer::of(&view, &base_url(&state, &headers))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SpaceUpdateBody)]
struct UpdateBody {
    title: Option<String>,
    description: Option<String>,
    settings: Option<Map<String, Value>>,
    restrict: Option<Vec<String>>,
    status: Option<i64>,
    #[serde(rename = "msgRetention")]
    msg_retention: Option<Value>,
    /// Some clients echo the id back; it must be this space's.
    #[serde(rename = "_id")]
    id: Option<String>,
}

/// POST /api/spaces/{id}: admins change title, description, settings, restrict, status.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}",
    tag = "spaces",
    operation_id = "updateSpace",
    params(("space_id" = String, Path, description = "The space's id")),
    request_body = UpdateBody,
    security(("authorization" = [])),
    responses((status = 200, description = "The changed space", body = SpaceAnswer))
)]
async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<UpdateBody>,
) -> ApiResult<axum::Json<SpaceAnswer>> {
    if body.id.as_deref().is_some_and(|id| id != space_id) {
        return Err(CoreError::invalid("_id", "does not match the space in the path").into());
    }
    let update = SpaceUpdate {
        title: body.title,
        description: body.description,
        settings: body.settings,
        restrict: body.restrict,
        status: body.status,
        msg_retention: body.msg_retention,
    };
    let view = state.spaces.update(&principal, &space_id, update).await?;
    Ok(axum::Json(SpaceAnswer::of(&view, &base_url(&state, &headers))))
}

/// DELETE /api/spaces/{id}: admins delete the space (its status becomes 2).
#[utoipa::path(
    delete,
    path = "/api/spaces/{space_id}",
    tag = "spaces",
    operation_id = "deleteSpace",
    params(("space_id" = String, Path, description = "The space's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{_id, status, modified}`", body = DeletedSpace))
)]
async fn remove_space(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
) -> ApiResult<axum::Json<DeletedSpace>> {
    let space = state.spaces.delete(&principal, &space_id).await?;
    Ok(axum::Json(DeletedSpace {
        _id: space.id,
        status: space.status.code(),
        modified: space.modified,
    }))
}

/// GET /api/spaces/{id}/join: answers `{topic}`.
#[utoipa::path(
    get,
    path = "/api/spaces/{space_id}/join",
    tag = "spaces",
    operation_id = "joinSpace",
    params(("space_id" = String, Path, description = "The space's id"), ("spaces-x-space-password" = Option<String>, Header, description = "The space's PIN, for guests of a PIN-protected space")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{topic}`", body = Joined))
)]
async fn join(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
) -> ApiResult<axum::Json<Joined>> {
    let view = state.spaces.join(&principal, &space_id, pin(&headers)).await?;
    Ok(axum::Json(Joined { topic: SpaceAnswer::of(&view, &base_url(&state, &headers)) }))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// The page number, from 0.
    #[param(pattern = "^[0-9]*$")]
    page: Option<String>,
    /// Entries per page.
    #[param(pattern = "^[0-9]*$")]
    size: Option<String>,
    /// Only entries whose name or username contains this.
    search: Option<String>,
}

impl PageQuery {
    fn paging(&self, default_size: u32, max_size: u32) -> ApiResult<(u32, u32)> {
        let page = match self.page.as_deref().filter(|p| !p.is_empty()) {
            None => 0,
            Some(p) => {
                p.parse().map_err(|_| CoreError::invalid("page", "must be a page number from 0"))?
            }
        };
        let size = match self.size.as_deref().filter(|s| !s.is_empty()) {
            None => default_size,
            Some(s) => match s.parse::<u32>() {
                Ok(0) | Err(_) => {
                    return Err(
                        CoreError::invalid("size", format!("must be 1 to {max_size}")).into()
                    );
                }
                Ok(n) => n.min(max_size),
            },
        };
        Ok((page, size))
    }
}

/// `nextPageUrl` / `previousPageUrl` for page-numbered lists.
fn page_urls(
    path: &str,
    page: u32,
    size: u32,
    search: Option<&str>,
    has_next: bool,
) -> (String, String) {
    let search = search
        .filter(|s| !s.is_empty())
        .map(|s| {
            format!(
                "&search={}",
                url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    let next = if has_next {
        format!("{path}?page={}&size={size}{search}", page + 1)
    } else {
        String::new()
    };
    let previous = if page > 0 {
        format!("{path}?page={}&size={size}{search}", page - 1)
    } else {
        String::new()
    };
    (next, previous)
}

/// GET /api/spaces/{id}/members?page=&size=&search=: the members, a page at a time.
#[utoipa::path(
    get,
    path = "/api/spaces/{space_id}/members",
    tag = "spaces",
    operation_id = "listMembers",
    params(("space_id" = String, Path, description = "The space's id"), PageQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`", body = Page<Member>))
)]
async fn members(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<Member>>> {
    let (page, size) = query.paging(30, 100)?;
    let (members, total) =
        state.spaces.members(&principal, &space_id, query.search.as_deref(), page, size).await?;
    let base = base_url(&state, &headers);
    let data: Vec<Member> = members.iter().map(|(m, u)| Member::of(m, u, &base)).collect();
    let has_next = u64::from(page) * u64::from(size) + (data.len() as u64) < total;
    let path = format!("/api/spaces/{space_id}/members");
    let (next, previous) = page_urls(&path, page, size, query.search.as_deref(), has_next);
    Ok(axum::Json(Page::of(data).total(total).next(next).previous(previous)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = SpaceInviteBody)]
struct InviteBody {
    invitees: Vec<InviteeBody>,
    #[serde(default, rename = "informChannel")]
    inform_channel: Option<String>,
}

/// POST /api/spaces/{id}/invite: answers `{data: [per invitee]}`.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/invite",
    tag = "spaces",
    operation_id = "inviteToSpace",
    params(("space_id" = String, Path, description = "The space's id")),
    request_body = InviteBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [one entry per invitee]}`", body = Data<Vec<InviteOutcome>>))
)]
async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<InviteBody>,
) -> ApiResult<axum::Json<Data<Vec<InviteOutcome>>>> {
    let invitees: Vec<Invitee> = body.invitees.into_iter().map(Invitee::from).collect();
    let outcomes = state.spaces.invite(&principal, &space_id, &invitees).await?;
    let base = base_url(&state, &headers);
    let html = wants_html(body.inform_channel.as_deref());
    let id = space_id.parse().map_err(|_| CoreError::invalid("spaceId", "is not an id"))?;
    let data: Vec<InviteOutcome> =
        outcomes.iter().map(|o| InviteOutcome::of(id, o, &base, html)).collect();
    Ok(axum::Json(Data::new(data)))
}

/// GET /api/spaces/invites/{inviteId}/join: answers `{topic}`.
#[utoipa::path(
    get,
    path = "/api/spaces/invites/{invite_id}/join",
    tag = "spaces",
    operation_id = "acceptInvitation",
    params(("invite_id" = String, Path, description = "The invitation's id"), ("spaces-x-space-password" = Option<String>, Header, description = "The space's PIN, for guests of a PIN-protected space")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{topic}`", body = Joined))
)]
async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(invite_id): Path<String>,
) -> ApiResult<axum::Json<Joined>> {
    let view = state.spaces.accept_invitation(&principal, &invite_id, pin(&headers)).await?;
    Ok(axum::Json(Joined { topic: SpaceAnswer::of(&view, &base_url(&state, &headers)) }))
}

#[derive(Deserialize, ToSchema)]
struct RoleBody {
    role: String,
}

/// POST /api/spaces/{id}/attendees/{attendeeType}/{userId}: admins set a member's
/// `{role}`.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/attendees/{attendee_type}/{user_id}",
    tag = "spaces",
    operation_id = "setMemberRole",
    params(("space_id" = String, Path, description = "The space's id"), ("attendee_type" = String, Path, description = "`userId` or `anonymousId`"), ("user_id" = String, Path, description = "The member's user id")),
    request_body = RoleBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{attendee, attendeeType, role}`", body = AttendeeChange))
)]
async fn set_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((space_id, attendee_type, user_id)): Path<(String, String, String)>,
    Json(body): Json<RoleBody>,
) -> ApiResult<axum::Json<AttendeeChange>> {
    let (user, role) =
        state.spaces.set_role(&principal, &space_id, &attendee_type, &user_id, &body.role).await?;
    Ok(axum::Json(AttendeeChange::of(&user, Some(role))))
}

/// DELETE /api/spaces/{id}/attendees/{attendeeType}/{userId}: removes a member (admins)
/// or leaves (oneself).
#[utoipa::path(
    delete,
    path = "/api/spaces/{space_id}/attendees/{attendee_type}/{user_id}",
    tag = "spaces",
    operation_id = "removeMember",
    params(("space_id" = String, Path, description = "The space's id"), ("attendee_type" = String, Path, description = "`userId` or `anonymousId`"), ("user_id" = String, Path, description = "The member's user id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{attendee, attendeeType}`", body = AttendeeChange))
)]
async fn remove_attendee(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((space_id, attendee_type, user_id)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<AttendeeChange>> {
    let user = state.spaces.remove(&principal, &space_id, &attendee_type, &user_id).await?;
    Ok(axum::Json(AttendeeChange::of(&user, None)))
}

/// GET /api/spaces/direct/{userType}/{userId}: `{data: [space]}`.
#[utoipa::path(
    get,
    path = "/api/spaces/direct/{user_type}/{user_id}",
    tag = "spaces",
    operation_id = "directSpace",
    params(("user_type" = String, Path, description = "`userId` (or `user`)"), ("user_id" = String, Path, description = "The other person's user id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [space]}`", body = Data<Vec<SpaceAnswer>>))
)]
async fn direct(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path((user_type, user_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Data<Vec<SpaceAnswer>>>> {
    let view = state.spaces.direct(&principal, &user_type, &user_id).await?;
    Ok(axum::Json(Data::new(vec![SpaceAnswer::of(&view, &base_url(&state, &headers))])))
}

/// GET /api/users/meetingroom/{email}: `{data: space}`.
#[utoipa::path(
    get,
    path = "/api/users/meetingroom/{email}",
    tag = "spaces",
    operation_id = "personalRoom",
    params(("email" = String, Path, description = "The owner's username (email)")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: space}`", body = Data<SpaceAnswer>))
)]
async fn personal_room(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(email): Path<String>,
) -> ApiResult<axum::Json<Data<SpaceAnswer>>> {
    let view = state.spaces.personal_room(&principal, &email).await?;
    Ok(axum::Json(Data::new(SpaceAnswer::of(&view, &base_url(&state, &headers)))))
}

/// The parameters of the Spaces listing (catalog §3.2).
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Spaces per page.
    #[param(pattern = "^[0-9]*$")]
    size: Option<String>,
    /// A page number: switches to numbered pages.
    #[param(pattern = "^[0-9]*$")]
    page: Option<String>,
    /// Only spaces whose title contains this.
    search: Option<String>,
    /// Only spaces with this status.
    topicstatus: Option<String>,
    /// Only spaces of this type (`group`, `direct`, ...).
    topictype: Option<String>,
    /// A named filter of the Spaces listing.
    filtertype: Option<String>,
    /// `true`: include deleted spaces and spaces the caller was removed from.
    includedeleted: Option<String>,
    /// Echoed in the page URLs.
    pageref: Option<String>,
    /// Only spaces changed after this time (epoch milliseconds or ISO-8601).
    after: Option<String>,
    /// Where to continue, from a previous page's URLs.
    #[serde(rename = "pageToken")]
    page_token: Option<String>,
    /// The order of the listing.
    #[serde(rename = "sortBy")]
    sort_by: Option<String>,
}

impl ListQuery {
    fn raw(&self) -> crate::params::RawListing<'_> {
        crate::params::RawListing {
            size: self.size.as_deref(),
            page: self.page.as_deref(),
            search: self.search.as_deref(),
            topicstatus: self.topicstatus.as_deref(),
            topictype: self.topictype.as_deref(),
            filtertype: self.filtertype.as_deref(),
            includedeleted: self.includedeleted.as_deref(),
            pageref: self.pageref.as_deref(),
            after: self.after.as_deref(),
            page_token: self.page_token.as_deref(),
            sort_by: self.sort_by.as_deref(),
        }
    }
}

/// A listing URL with `changes` applied to the request's parameters.
fn listing_url(path: &str, query: &ListQuery, changes: &[(&str, Option<String>)]) -> String {
    let mut pairs: Vec<(&str, String)> = [
        ("size", &query.size),
        ("page", &query.page),
        ("search", &query.search),
        ("topicstatus", &query.topicstatus),
        ("topictype", &query.topictype),
        ("filtertype", &query.filtertype),
        ("includedeleted", &query.includedeleted),
        ("pageref", &query.pageref),
        ("after", &query.after),
        ("pageToken", &query.page_token),
        ("sortBy", &query.sort_by),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    for (key, value) in changes {
        pairs.retain(|(k, _)| k != key);
        if let Some(value) = value {
            pairs.push((key, value.clone()));
        }
    }
    let query: String =
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{path}?{query}")
}

/// GET /api/users/me/spaces (and /topics): every parameter of the Spaces listing.
#[utoipa::path(
    get,
    path = "/api/users/me/spaces",
    tag = "spaces",
    operation_id = "listMySpaces",
    params(ListQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}` (and `from`, `to` in page mode)", body = Page<ListedSpace>))
)]
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::Json<Page<ListedSpace>>> {
    let params = crate::params::listing(query.raw())?;
    let page: ListPage = state.spaces.list(&principal, &params).await?;
    let base = base_url(&state, &headers);
    let data: Vec<ListedSpace> =
        page.items.iter().map(|item| ListedSpace::of(item, &base)).collect();
    let path = uri.path();
    let size = Some(page.size.to_string());
    let mut body = Page::counted(data);
    match page.page_mode {
        Some((next_page, range)) => {
            let current: u32 = params.page.unwrap_or(0);
            let page_url = |number: u32| {
                listing_url(
                    path,
                    &query,
                    &[("page", Some(number.to_string())), ("size", size.clone())],
                )
            };
            let next = if next_page > current { page_url(next_page) } else { String::new() };
            let previous = if current > 0 { page_url(current - 1) } else { String::new() };
            if let Some((from, to)) = range {
                body.from = Some(from);
                body.to = Some(to);
            }
            body.next_page_url = Some(next);
            body.previous_page_url = Some(previous);
        }
        None => {
            // An echo: a counter at the edge of i64 is simply not carried on.
            let pageref =
                |step: i64| page.pageref.and_then(|r| r.checked_add(step)).map(|r| r.to_string());
            let next = page
                .next
                .as_ref()
                .map(|t| {
                    listing_url(
                        path,
                        &query,
                        &[
                            ("pageToken", Some(t.encode())),
                            ("pageref", pageref(1)),
                            ("size", size.clone()),
                        ],
                    )
                })
                .unwrap_or_default();
            let previous = page
                .previous
                .as_ref()
                .map(|t| {
                    listing_url(
                        path,
                        &query,
                        &[
                            ("pageToken", Some(t.encode())),
                            ("pageref", pageref(-1)),
                            ("size", size.clone()),
                        ],
                    )
                })
                .unwrap_or_default();
            body.next_page_url = Some(next);
            body.previous_page_url = Some(previous);
        }
    }
    Ok(axum::Json(body))
}

async fn people(
    state: &AppState,
    headers: &HeaderMap,
    principal: &plaza_core::identity::Principal,
    user: &str,
    direct_only: bool,
    query: &PageQuery,
    path: &str,
) -> ApiResult<axum::Json<Page<User>>> {
    let (page, size) = query.paging(10, 50)?;
    // One extra row tells whether there is a next page.
    let mut found = state
        .spaces
        .people(principal, user, direct_only, query.search.as_deref(), page, size)
        .await?;
    let has_next = found.len() > size as usize;
    found.truncate(size as usize);
    let base = base_url(state, headers);
    let data: Vec<User> = found.iter().map(|u| User::of(u, &base)).collect();
    let (next, previous) = page_urls(path, page, size, query.search.as_deref(), has_next);
    Ok(axum::Json(Page::counted(data).next(next).previous(previous)))
}

/// GET /api/users/{id|me}/colleagues: people who share a space with the caller.
#[utoipa::path(
    get,
    path = "/api/users/{user}/colleagues",
    tag = "spaces",
    operation_id = "colleagues",
    params(("user" = String, Path, description = "`me` or the caller's user id"), PageQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`", body = Page<User>))
)]
async fn colleagues(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(user): Path<String>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<User>>> {
    let path = format!("/api/users/{user}/colleagues");
    people(&state, &headers, &principal, &user, false, &query, &path).await
}

/// GET /api/users/{id|me}/people/withdm: people the caller has a direct space with.
#[utoipa::path(
    get,
    path = "/api/users/{user}/people/withdm",
    tag = "spaces",
    operation_id = "peopleWithDirectSpaces",
    params(("user" = String, Path, description = "`me` or the caller's user id"), PageQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, total, nextPageUrl, previousPageUrl}`", body = Page<User>))
)]
async fn people_with_dm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(user): Path<String>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<User>>> {
    let path = format!("/api/users/{user}/people/withdm");
    people(&state, &headers, &principal, &user, true, &query, &path).await
}
