//! Meetings over REST (catalog §3.8): the active meeting, the history, the admin
//! controls, raised hands, recordings, and media tokens. Every change is announced on
//! the socket as `MEDIA_SESSION_RESPONSE` by the core.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use plaza_core::CoreError;
use plaza_core::meetings::{ConferenceEvent, HandAnswer, MeetingView, permissions};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::IntoParams;

use crate::error::ApiResult;
use crate::extract::{Auth, JsonOrForm, Path, Query};
use plaza_wire::meetings::{AnswerHandBody, LayoutBody, MediaToken, MuteAllBody, RaiseHandBody};
use plaza_wire::{Data, Meeting, Page};

use crate::{AppState, Routes, base_url};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    active,
    history,
    end,
    mute_all,
    media_state,
    raise_hand,
    accept_hand,
    lower_hand,
    layout,
    start_recording,
    stop_recording,
    media_token,
    conference_start,
    conference_stop
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    let mut router = Routes::new();
    for prefix in ["/api/spaces", "/api/topics"] {
        let meeting = format!("{prefix}/{{space_id}}/meetings/{{meeting_id}}");
        router = router
            .route(&format!("{prefix}/{{space_id}}/activemeeting"), get(active))
            .route(&format!("{prefix}/{{space_id}}/activemeetings"), get(active))
            .route(&format!("{prefix}/{{space_id}}/meetings"), get(history))
            .route(&format!("{meeting}/end"), post(end))
            .route(&format!("{meeting}/muteall"), post(mute_all))
            .route(
                &format!("{meeting}/attendees/{{attendee_type}}/{{attendee_id}}/mediastate"),
                post(media_state),
            )
            .route(&format!("{meeting}/attendees/raisedhands"), post(raise_hand))
            .route(&format!("{meeting}/attendees/raisedhands/accept"), post(accept_hand))
            .route(&format!("{meeting}/attendees/raisedhands/lower"), post(lower_hand))
            .route(&format!("{meeting}/layout"), post(layout))
            .route(&format!("{meeting}/recordings"), post(start_recording))
            .route(&format!("{meeting}/recordings/{{recording_id}}/stop"), post(stop_recording));
    }
    router
        .route("/api/mediasessions/mpaas/token/{space_id}", get(media_token))
        .route("/api/analytics/video/conference/start", post(conference_start))
        .route("/api/analytics/video/conference/stop", post(conference_stop))
}

/// A control's body: any JSON object (or form), read into its `plaza-wire` type with
/// [`read`].
type Body = JsonOrForm<Map<String, Value>>;

/// The typed reading of a control's body (fields of another type read as absent).
fn read<T: serde::de::DeserializeOwned + Default>(body: Map<String, Value>) -> T {
    plaza_wire::lenient::from_value(&Value::Object(body))
}

fn meeting_body(
    state: &AppState,
    headers: &HeaderMap,
    view: &MeetingView,
) -> axum::Json<Data<Meeting>> {
    axum::Json(Data::new(Meeting::of(view, &base_url(state, headers))))
}

/// GET /api/spaces/{id}/activemeeting: the bare meeting object, 404 when none runs.
#[utoipa::path(
    get,
    path = "/api/spaces/{space_id}/activemeeting",
    tag = "meetings",
    operation_id = "activeMeeting",
    params(("space_id" = String, Path, description = "The space's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "The meeting", body = Meeting))
)]
async fn active(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
) -> ApiResult<axum::Json<Meeting>> {
    let view = state.meetings.active(&principal, &space_id).await?;
    Ok(axum::Json(Meeting::of(&view, &base_url(&state, &headers))))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// Meetings per page (default 50).
    size: Option<u32>,
    /// Only meetings before this one (from `nextPageUrl`).
    before: Option<String>,
}

/// GET /api/spaces/{id}/meetings?size=&before=: `{total, data, nextPageUrl}`, newest
/// first.
#[utoipa::path(
    get,
    path = "/api/spaces/{space_id}/meetings",
    tag = "meetings",
    operation_id = "meetingHistory",
    params(("space_id" = String, Path, description = "The space's id"), HistoryQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{total, data, nextPageUrl}`", body = Page<Meeting>))
)]
async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> ApiResult<axum::Json<Page<Meeting>>> {
    let page =
        state.meetings.history(&principal, &space_id, query.before.as_deref(), query.size).await?;
    let base = base_url(&state, &headers);
    let data: Vec<Meeting> = page.meetings.iter().map(|m| Meeting::of(m, &base)).collect();
    let size = query.size.unwrap_or(50);
    let next = page.next_before.map_or(String::new(), |before| {
        format!("{base}/api/spaces/{space_id}/meetings?size={size}&before={before}")
    });
    Ok(axum::Json(Page::of(data).total(u64::try_from(page.total).unwrap_or_default()).next(next)))
}

/// POST .../meetings/{mid}/end: ends the meeting for everyone.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/end",
    tag = "meetings",
    operation_id = "endMeeting",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`", body = Data<Meeting>))
)]
async fn end(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path((space_id, meeting_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    let view = state.meetings.end(&principal, &space_id, &meeting_id).await?;
    Ok(meeting_body(&state, &headers, &view))
}

/// A list of ids in a body field (ids or `{_id}` / `{attendeeId}` objects).
fn ids(list: Option<&Value>, field: &str) -> ApiResult<Vec<String>> {
    let Some(list) = list.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let invalid = || CoreError::invalid(field, "must be a list of attendee ids");
    let items = list.as_array().ok_or_else(invalid)?;
    let mut found = Vec::with_capacity(items.len());
    for item in items {
        let id = item
            .as_str()
            .or_else(|| item.get("attendeeId").and_then(Value::as_str))
            .or_else(|| item.get("_id").and_then(Value::as_str))
            .ok_or_else(invalid)?;
        found.push(id.to_owned());
    }
    Ok(found)
}

/// POST .../meetings/{mid}/muteall: mutes everyone but the `exclusionList`.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/muteall",
    tag = "meetings",
    operation_id = "muteAll",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id")),
    request_body(content = MuteAllBody, description = "`{exclusionList?: [attendee ids]}`"),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`", body = Data<Meeting>))
)]
async fn mute_all(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path((space_id, meeting_id)): Path<(String, String)>,
    JsonOrForm(body): Body,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    let body: MuteAllBody = read(body);
    let exclusion = ids(body.exclusion_list.as_ref(), "exclusionList")?;
    let view = state.meetings.mute_all(&principal, &space_id, &meeting_id, &exclusion).await?;
    Ok(meeting_body(&state, &headers, &view))
}

/// The attendee types a path may name; the id alone identifies the person.
const ATTENDEE_TYPES: [&str; 6] =
    ["user", "userId", "anonymous", "anonymousId", "service", "serviceId"];

/// POST .../attendees/{type}/{id}/mediastate: sets `{audio?, video?, screenshare?}`.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/attendees/{attendee_type}/{attendee_id}/mediastate",
    tag = "meetings",
    operation_id = "setMediaState",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id"), ("attendee_type" = String, Path, description = "`user`, `userId`, `anonymous`, `anonymousId`, `service` or `serviceId`"), ("attendee_id" = String, Path, description = "The attendee's id")),
    request_body(content = Object, description = "`{audio?, video?, screenshare?}`"),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`", body = Data<Meeting>))
)]
async fn media_state(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path((space_id, meeting_id, attendee_type, attendee_id)): Path<(
        String,
        String,
        String,
        String,
    )>,
    JsonOrForm(body): Body,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    if !ATTENDEE_TYPES.contains(&attendee_type.as_str()) {
        return Err(CoreError::invalid("attendeeType", "must be user or anonymous").into());
    }
    let view = state
        .meetings
        .set_media_state(&principal, &space_id, &meeting_id, &attendee_id, &body)
        .await?;
    Ok(meeting_body(&state, &headers, &view))
}

/// POST .../attendees/raisedhands: raises the caller's hand for `requestedPermissions`.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/attendees/raisedhands",
    tag = "meetings",
    operation_id = "raiseHand",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id")),
    request_body(content = RaiseHandBody, description = "`{requestedPermissions}`"),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`", body = Data<Meeting>))
)]
async fn raise_hand(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path((space_id, meeting_id)): Path<(String, String)>,
    JsonOrForm(body): Body,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    let body: RaiseHandBody = read(body);
    let requested = permissions(body.requested_permissions.as_ref(), "requestedPermissions")?;
    let view = state.meetings.raise_hand(&principal, &space_id, &meeting_id, requested).await?;
    Ok(meeting_body(&state, &headers, &view))
}

async fn answer_hand(
    state: AppState,
    headers: HeaderMap,
    principal: plaza_core::identity::Principal,
    (space_id, meeting_id): (String, String),
    body: Map<String, Value>,
    answer: HandAnswer,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    let body: AnswerHandBody = read(body);
    let (field, list) = match answer {
        HandAnswer::Accept => ("grantedPermissions", body.granted_permissions.as_ref()),
        HandAnswer::Lower => ("rejectedPermissions", body.rejected_permissions.as_ref()),
    };
    let named = permissions(list, field)?;
    let attendee = body
        .attendee_id
        .as_deref()
        .ok_or_else(|| CoreError::invalid("attendeeId", "is required"))?;
    let view = state
        .meetings
        .answer_hand(&principal, &space_id, &meeting_id, attendee, answer, named)
        .await?;
    Ok(meeting_body(&state, &headers, &view))
}

/// POST .../attendees/raisedhands/accept: grants a raised hand's permissions.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/attendees/raisedhands/accept",
    tag = "meetings",
    operation_id = "acceptHand",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id")),
    request_body(content = AnswerHandBody, description = "`{grantedPermissions, attendeeId, attendeeType}`"),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`", body = Data<Meeting>))
)]
async fn accept_hand(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(ids): Path<(String, String)>,
    JsonOrForm(body): Body,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    answer_hand(state, headers, principal, ids, body, HandAnswer::Accept).await
}

/// POST .../attendees/raisedhands/lower: lowers a raised hand.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/attendees/raisedhands/lower",
    tag = "meetings",
    operation_id = "lowerHand",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id")),
    request_body(content = AnswerHandBody, description = "`{rejectedPermissions, attendeeId, attendeeType}`"),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`", body = Data<Meeting>))
)]
async fn lower_hand(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(ids): Path<(String, String)>,
    JsonOrForm(body): Body,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    answer_hand(state, headers, principal, ids, body, HandAnswer::Lower).await
}

/// What a conference analytics report carries: `{vcid: "topic_<spaceId>", tags:
/// ["user_<userId>"], duration?}` (the tags name the reporter, whom the token names).
#[derive(Deserialize, Default, utoipa::ToSchema)]
struct ConferenceReportBody {
    #[serde(default)]
    vcid: String,
    #[serde(default)]
    #[allow(dead_code, reason = "the reporter is the caller; kept for the schema")]
    tags: Vec<String>,
    duration: Option<f64>,
}

async fn report_conference(
    state: AppState,
    headers: HeaderMap,
    principal: plaza_core::identity::Principal,
    body: ConferenceReportBody,
    event: ConferenceEvent,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    let view =
        state.meetings.report_conference(&principal, &body.vcid, event, body.duration).await?;
    Ok(meeting_body(&state, &headers, &view))
}

/// POST /api/analytics/video/conference/start: a client reports that its conference
/// started; kept in the running meeting's history (`conferenceReports`).
#[utoipa::path(
    post,
    path = "/api/analytics/video/conference/start",
    tag = "meetings",
    operation_id = "reportConferenceStart",
    request_body = ConferenceReportBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`; 404 `meeting.not_found` when no meeting runs", body = Data<Meeting>))
)]
async fn conference_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    JsonOrForm(body): JsonOrForm<ConferenceReportBody>,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    report_conference(state, headers, principal, body, ConferenceEvent::Start).await
}

/// POST /api/analytics/video/conference/stop: a client reports that its conference
/// stopped (`duration` in seconds).
#[utoipa::path(
    post,
    path = "/api/analytics/video/conference/stop",
    tag = "meetings",
    operation_id = "reportConferenceStop",
    request_body = ConferenceReportBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`; 404 `meeting.not_found` when no meeting runs", body = Data<Meeting>))
)]
async fn conference_stop(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    JsonOrForm(body): JsonOrForm<ConferenceReportBody>,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    report_conference(state, headers, principal, body, ConferenceEvent::Stop).await
}

/// POST .../meetings/{mid}/layout: sets `{layout, backgroundTheme?}`.
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/layout",
    tag = "meetings",
    operation_id = "setLayout",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id")),
    request_body(content = LayoutBody, description = "`{layout, backgroundTheme?}`"),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: meeting}`", body = Data<Meeting>))
)]
async fn layout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path((space_id, meeting_id)): Path<(String, String)>,
    JsonOrForm(body): Body,
) -> ApiResult<axum::Json<Data<Meeting>>> {
    let body: LayoutBody = read(body);
    let (layout, theme) = (body.layout.as_deref(), body.background_theme.as_deref());
    let view = state.meetings.set_layout(&principal, &space_id, &meeting_id, layout, theme).await?;
    Ok(meeting_body(&state, &headers, &view))
}

/// The recording calls' answer: `{data: [event]}` with the recording at
/// `data[0].content.recordings[0]` (catalog §3.8).
fn recording_body(
    view: &MeetingView,
    base: &str,
    category: &str,
) -> axum::Json<Data<Vec<Meeting>>> {
    let mut event = Meeting::of(view, base);
    event.category = category.to_owned();
    axum::Json(Data::new(vec![event]))
}

/// POST .../meetings/{mid}/recordings: starts recording (no body).
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/recordings",
    tag = "meetings",
    operation_id = "startRecording",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [event]}`, the recording at `data[0].content.recordings[0]`", body = Data<Vec<Meeting>>))
)]
async fn start_recording(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path((space_id, meeting_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Data<Vec<Meeting>>>> {
    let (view, _) = state.meetings.start_recording(&principal, &space_id, &meeting_id).await?;
    Ok(recording_body(&view, &base_url(&state, &headers), "app.event.recording.started"))
}

/// POST .../meetings/{mid}/recordings/{rid}/stop: stops a recording (no body).
#[utoipa::path(
    post,
    path = "/api/spaces/{space_id}/meetings/{meeting_id}/recordings/{recording_id}/stop",
    tag = "meetings",
    operation_id = "stopRecording",
    params(("space_id" = String, Path, description = "The space's id"), ("meeting_id" = String, Path, description = "The meeting's id"), ("recording_id" = String, Path, description = "The recording's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [event]}`", body = Data<Vec<Meeting>>))
)]
async fn stop_recording(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path((space_id, meeting_id, recording_id)): Path<(String, String, String)>,
) -> ApiResult<axum::Json<Data<Vec<Meeting>>>> {
    let view =
        state.meetings.stop_recording(&principal, &space_id, &meeting_id, &recording_id).await?;
    Ok(recording_body(&view, &base_url(&state, &headers), "app.event.recording.ended"))
}

/// GET /api/mediasessions/mpaas/token/{spaceId}: a media token, `{token, sessionId, confId}`.
#[utoipa::path(
    get,
    path = "/api/mediasessions/mpaas/token/{space_id}",
    tag = "meetings",
    operation_id = "mediaToken",
    params(("space_id" = String, Path, description = "The space's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{token, sessionId, confId, expires}`", body = MediaToken))
)]
async fn media_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
) -> ApiResult<axum::Json<MediaToken>> {
    let issued = state.meetings.media_token(&principal, &space_id).await?;
    Ok(axum::Json(MediaToken::of(&issued)))
}
