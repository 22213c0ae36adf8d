//! The security audit log over REST, for server admins: `GET /api/admin/audit`.

use axum::extract::State;
use axum::routing::get;
use plaza_core::audit::{AuditQuery, AuditRecord, MAX_PAGE};
use plaza_core::{CoreError, ObjectId};
use plaza_wire::Page;
use plaza_wire::files::AuditEvent;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::error::ApiResult;
use crate::extract::{Auth, Query};
use crate::{AppState, Routes};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    Routes::new().route("/api/admin/audit", get(list))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    /// An action (`auth.login`) or a prefix ending in `.` (`space.`).
    action: Option<String>,
    /// Only events by this user id.
    actor: Option<String>,
    /// Only events about this target id (a user, space, message or client).
    target: Option<String>,
    /// Only events in this space.
    space: Option<String>,
    /// The last event id of the previous page.
    before: Option<String>,
    /// Events per page, 1 to 200 (default 50).
    size: Option<u32>,
}

fn object_id(field: &str, value: Option<String>) -> Result<Option<ObjectId>, CoreError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().map_err(|_| CoreError::invalid(field, "must be an id")))
        .transpose()
}

/// The JSON shape of one audit event (the command line prints it too).
pub fn event(record: &AuditRecord) -> Value {
    serde_json::to_value(AuditEvent::of(record)).unwrap_or_default()
}

/// GET /api/admin/audit?action=&actor=&target=&space=&before=&size=: security events,
/// newest first; `nextPageUrl` continues. Server admins only.
#[utoipa::path(
    get,
    path = "/api/admin/audit",
    tag = "admin",
    operation_id = "adminListAuditEvents",
    params(AuditParams),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data, nextPageUrl}`, newest first", body = Page<AuditEvent>))
)]
async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(params): Query<AuditParams>,
) -> ApiResult<axum::Json<Page<AuditEvent>>> {
    let size = params.size.unwrap_or(50);
    let query = AuditQuery {
        action: params.action.clone().filter(|a| !a.is_empty()),
        actor_id: object_id("actor", params.actor.clone())?,
        target_id: params.target.clone().filter(|t| !t.is_empty()),
        space_id: object_id("space", params.space.clone())?,
        before: object_id("before", params.before)?,
        limit: size,
    };
    let events = state.identity.audit().list(Some(&principal), query.clone()).await?;
    let next = match events.last() {
        Some(last) if events.len() == size as usize && size <= MAX_PAGE => {
            let mut next = url::form_urlencoded::Serializer::new(String::new());
            for (key, value) in [
                ("action", params.action),
                ("actor", params.actor),
                ("target", params.target),
                ("space", params.space),
            ] {
                if let Some(value) = value.filter(|v| !v.is_empty()) {
                    next.append_pair(key, &value);
                }
            }
            next.append_pair("before", &last.id.to_string());
            next.append_pair("size", &size.to_string());
            format!("/api/admin/audit?{}", next.finish())
        }
        _ => String::new(),
    };
    let data: Vec<AuditEvent> = events.iter().map(AuditEvent::of).collect();
    Ok(axum::Json(Page::of(data).next(next)))
}
