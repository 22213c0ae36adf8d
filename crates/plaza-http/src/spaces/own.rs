//! The caller's own view of a space: read state, hiding, pinning and notifications.

use axum::extract::State;
use plaza_core::spaces::Preference;
use plaza_wire::spaces::{PreferenceState, ReadState};
use plaza_wire::{Data, MembershipEntry};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path};

/// POST /api/users/me/spaces/{id}/markread: everything in the space is read.
#[utoipa::path(
    post,
    path = "/api/users/me/spaces/{space_id}/markread",
    tag = "spaces",
    operation_id = "markSpaceRead",
    params(("space_id" = String, Path, description = "The space's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: {topicId, unreadMessagesCount, messagesLastReadTime}}`", body = Data<ReadState>))
)]
pub(super) async fn mark_read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
) -> ApiResult<axum::Json<Data<ReadState>>> {
    let membership = state.spaces.mark_read(&principal, &space_id).await?;
    Ok(axum::Json(Data::new(ReadState {
        topic_id: membership.space_id,
        unread_messages_count: membership.unread_count,
        messages_last_read_time: membership.messages_last_read_time,
    })))
}

async fn set_hidden(
    state: &AppState,
    principal: &plaza_core::identity::Principal,
    space_id: &str,
    hidden: bool,
) -> ApiResult<axum::Json<MembershipEntry>> {
    let (space, membership) = state.spaces.set_hidden(principal, space_id, hidden).await?;
    Ok(axum::Json(MembershipEntry::of(&space, &membership)))
}

/// POST /api/users/me/spaces/{id}/hide: the membership record, `status: 4`.
#[utoipa::path(
    post,
    path = "/api/users/me/spaces/{space_id}/hide",
    tag = "spaces",
    operation_id = "hideSpace",
    params(("space_id" = String, Path, description = "The space's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "The membership record", body = MembershipEntry))
)]
pub(super) async fn hide(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
) -> ApiResult<axum::Json<MembershipEntry>> {
    set_hidden(&state, &principal, &space_id, true).await
}

/// POST /api/users/me/spaces/{id}/unhide: the space shows in the listing again.
#[utoipa::path(
    post,
    path = "/api/users/me/spaces/{space_id}/unhide",
    tag = "spaces",
    operation_id = "unhideSpace",
    params(("space_id" = String, Path, description = "The space's id")),
    security(("authorization" = [])),
    responses((status = 200, description = "The membership record", body = MembershipEntry))
)]
pub(super) async fn unhide(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
) -> ApiResult<axum::Json<MembershipEntry>> {
    set_hidden(&state, &principal, &space_id, false).await
}

/// `Some(None)` for an explicit null, `None` for an absent field.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<bool>>, D::Error> {
    Option::<bool>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PreferenceBody {
    #[serde(default, rename = "isPinned", deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    is_pinned: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    notification: Option<Option<bool>>,
}

/// POST /api/users/me/topics/{id}/preference: `{isPinned, notification}`, each
/// true, false or null; absent fields are left alone.
#[utoipa::path(
    post,
    path = "/api/users/me/spaces/{space_id}/preference",
    tag = "spaces",
    operation_id = "setSpacePreference",
    params(("space_id" = String, Path, description = "The space's id")),
    request_body = PreferenceBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: {topicId, isPinned, notification}}`", body = Data<PreferenceState>))
)]
pub(super) async fn preference(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(space_id): Path<String>,
    Json(body): Json<PreferenceBody>,
) -> ApiResult<axum::Json<Data<PreferenceState>>> {
    let preference = Preference { is_pinned: body.is_pinned, notification: body.notification };
    let membership = state.spaces.set_preference(&principal, &space_id, preference).await?;
    Ok(axum::Json(Data::new(PreferenceState {
        topic_id: membership.space_id,
        is_pinned: membership.is_pinned,
        notification: membership.notification,
    })))
}
