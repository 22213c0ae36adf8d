//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and
//! their body and query types: served at `GET /api/openapi.json`, browsable with Swagger
//! UI at `/api/docs` (compiled in, no CDN). Both without authentication.
//!
//! Each module lists its handlers in a `Doc`; [`spec`] merges them and adds what the
//! annotations cannot say: the security schemes, the error answer of every operation, the
//! routes one handler serves under a second path or method, and the older `/api/topics`
//! and `/api/users/me/topics` spellings (documented as deprecated copies).

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Deprecated, Ref, RefOr, ResponseBuilder};
use utoipa_swagger_ui::SwaggerUi;

use crate::{AppState, Routes};
use plaza_wire::media::{
    IceServer, MediaActiveSpeaker, MediaCandidate, MediaForwarding, MediaJoin, MediaJoined,
    MediaLeave, MediaParticipant, MediaParticipants, MediaQuality, MediaSdp, MediaSessionEnded,
};
use plaza_wire::socket::{
    ChannelSubscribed, ChannelUnsubscribed, Failed, PresenceEvent, SendMediaSessionEvents,
    SendMessage, SendPresenceEvent, SessionEnded, SubscribeChannel, SubscribeChannelFailed,
    TopicUpdated, UnsubscribeChannel,
};
use plaza_wire::{
    ErrorBody, FieldErrorBody, MediaEvent, Message, RemovedSpace, Space, SpacePreview,
};

/// The security scheme of the `Authorization` header.
pub(crate) const AUTHORIZATION: &str = "authorization";
/// HTTP Basic client authentication at the OAuth token endpoints.
pub(crate) const CLIENT_BASIC: &str = "client_basic";

const SPEC_PATH: &str = "/api/openapi.json";
pub(crate) const UI_PATH: &str = "/api/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plaza",
        description = "Plaza's REST API: the Avaya Spaces collaboration API under `/api/`, \
            its OAuth2 provider under `/oauth2/`, and the probes. Errors answer \
            `{code, message}` (see `docs/errors.md`). Every `/api/spaces/...` path also \
            answers as `/api/topics/...`, and `/api/users/me/spaces...` as \
            `/api/users/me/topics...`: the older spellings are listed as deprecated copies.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(openapi_json),
    // The socket payloads, which no operation names: here so that the document (and the
    // SDK types generated from it) describe the realtime side too.
    components(schemas(
        ErrorBody,
        FieldErrorBody,
        // What the hand-written `anyOf`s of `SpaceAnswer` and `ListedSpace` point at.
        Space,
        SpacePreview,
        RemovedSpace,
        Message,
        MediaEvent,
        SubscribeChannel,
        UnsubscribeChannel,
        SendMessage,
        SendPresenceEvent,
        SendMediaSessionEvents,
        ChannelSubscribed,
        ChannelUnsubscribed,
        SubscribeChannelFailed,
        Failed,
        PresenceEvent,
        TopicUpdated,
        SessionEnded,
        // Media signalling (docs/decisions.md, "Media signalling").
        MediaJoin,
        MediaSdp,
        MediaCandidate,
        MediaLeave,
        MediaQuality,
        IceServer,
        MediaParticipant,
        MediaJoined,
        MediaParticipants,
        MediaActiveSpeaker,
        MediaForwarding,
        MediaSessionEnded,
    )),
    tags(
        (name = "meta", description = "Probes, discovery, keys and this description"),
        (name = "auth", description = "Sign-up, sign-in and sign-out"),
        (name = "users", description = "The current user and their settings"),
        (name = "oauth2", description = "The OAuth2 provider (RFC 6749, PKCE, RFC 7009)"),
        (name = "admin", description = "Server administration, for server admins"),
        (name = "spaces", description = "Spaces (topics), members, invitations, roles"),
        (name = "messages", description = "Chats, posts (ideas) and tasks"),
        (name = "files", description = "Uploads, downloads and attachment links"),
        (name = "meetings", description = "Meetings, their controls, recordings, media tokens"),
    )
)]
struct Root;

/// Handlers documented under one path and method that the router also serves under
/// another: (documented method, documented path, other method, other path).
const SAME_HANDLER: &[(HttpMethod, &str, HttpMethod, &str)] = &[
    (
        HttpMethod::Post,
        "/api/messages/{message_id}",
        HttpMethod::Patch,
        "/api/messages/{message_id}",
    ),
    (
        HttpMethod::Get,
        "/api/spaces/{space_id}/join",
        HttpMethod::Get,
        "/api/spaces/{space_id}/join/",
    ),
    (
        HttpMethod::Get,
        "/api/spaces/{space_id}/messages/query",
        HttpMethod::Get,
        "/api/spaces/{space_id}/messages/byref",
    ),
    (
        HttpMethod::Get,
        "/api/ideas/{message_id}/messages",
        HttpMethod::Get,
        "/api/tasks/{message_id}/messages",
    ),
    (
        HttpMethod::Get,
        "/api/spaces/{space_id}/activemeeting",
        HttpMethod::Get,
        "/api/spaces/{space_id}/activemeetings",
    ),
    (
        HttpMethod::Delete,
        "/api/admin/oauth-clients/{client_id}",
        HttpMethod::Delete,
        "/api/admin/service-apps/{client_id}",
    ),
];

/// The older spellings every path under the first prefix also answers under.
const OLDER_SPELLINGS: &[(&str, &str)] =
    &[("/api/spaces", "/api/topics"), ("/api/users/me/spaces", "/api/users/me/topics")];

const METHODS: [HttpMethod; 5] =
    [HttpMethod::Get, HttpMethod::Post, HttpMethod::Put, HttpMethod::Patch, HttpMethod::Delete];

/// Each module's part of the document.
fn parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        Root::openapi(),
        crate::meta::Doc::openapi(),
        crate::auth::Doc::openapi(),
        crate::users::Doc::openapi(),
        crate::oauth::Doc::openapi(),
        crate::admin::Doc::openapi(),
        crate::audit::Doc::openapi(),
        crate::spaces::Doc::openapi(),
        crate::messages::Doc::openapi(),
        crate::files::Doc::openapi(),
        crate::meetings::Doc::openapi(),
    ]
}

fn operation_mut<'a>(item: &'a mut PathItem, method: &HttpMethod) -> &'a mut Option<Operation> {
    match method {
        HttpMethod::Get => &mut item.get,
        HttpMethod::Post => &mut item.post,
        HttpMethod::Put => &mut item.put,
        HttpMethod::Delete => &mut item.delete,
        HttpMethod::Options => &mut item.options,
        HttpMethod::Head => &mut item.head,
        HttpMethod::Patch => &mut item.patch,
        HttpMethod::Trace => &mut item.trace,
    }
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "Get",
        HttpMethod::Post => "Post",
        HttpMethod::Put => "Put",
        HttpMethod::Delete => "Delete",
        HttpMethod::Options => "Options",
        HttpMethod::Head => "Head",
        HttpMethod::Patch => "Patch",
        HttpMethod::Trace => "Trace",
    }
}

/// `POST /api/x: does y.` → `Does y.`: the path is already the operation's key.
fn tidy_summary(summary: &str) -> String {
    let summary = summary.replace('\n', " ");
    let starts_with_method = ["GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "POST|PATCH "]
        .iter()
        .any(|m| summary.starts_with(m));
    match summary.split_once(": ") {
        Some((_, rest)) if starts_with_method && !rest.is_empty() => {
            let mut chars = rest.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
        _ => summary,
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
        .build()
        .into()
}

/// The whole document.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut parts = parts().into_iter();
    let mut doc = parts.next().unwrap_or_else(Root::openapi);
    for part in parts {
        doc.merge(part);
    }
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();

    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        AUTHORIZATION,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`jwt <token>` (a Plaza session JWT, as register and login answer it), \
             `bearer <token>` (an OAuth2 access token) or `service_app <token>` (a service \
             app's token). The scheme is case-insensitive.",
        ))),
    );
    let mut basic = Http::new(HttpAuthScheme::Basic);
    basic.description =
        Some("OAuth2 client authentication (RFC 6749 §2.3.1): client id and secret".to_owned());
    components.add_security_scheme(CLIENT_BASIC, SecurityScheme::Http(basic));

    // One handler, a second path or method.
    for (from_method, from, to_method, to) in SAME_HANDLER {
        // A missing one leaves `to` undocumented, which the API tests report.
        let Some(mut operation) = doc
            .paths
            .paths
            .get_mut(*from)
            .and_then(|item| operation_mut(item, from_method).clone())
        else {
            continue;
        };
        operation.operation_id = operation.operation_id.map(|id| {
            let suffix = to.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
            if from_method == to_method {
                format!("{id}_{suffix}")
            } else {
                format!("{id}_{}", method_name(to_method).to_ascii_lowercase())
            }
        });
        let item = doc.paths.paths.entry((*to).to_owned()).or_default();
        *operation_mut(item, to_method) = Some(operation);
    }

    // The older spellings, as deprecated copies.
    let copies: Vec<(String, PathItem)> = doc
        .paths
        .paths
        .iter()
        .filter_map(|(path, item)| {
            OLDER_SPELLINGS.iter().find_map(|(current, older)| {
                let rest = path.strip_prefix(current)?;
                (rest.is_empty() || rest.starts_with('/')).then(|| {
                    let mut item = item.clone();
                    for method in &METHODS {
                        if let Some(operation) = operation_mut(&mut item, method) {
                            operation.deprecated = Some(Deprecated::True);
                            operation.operation_id =
                                operation.operation_id.take().map(|id| format!("{id}_topics"));
                            operation.description = Some(format!(
                                "The older spelling of `{path}`.{}",
                                operation
                                    .description
                                    .as_deref()
                                    .map(|d| format!("\n\n{d}"))
                                    .unwrap_or_default()
                            ));
                        }
                    }
                    (format!("{older}{rest}"), item)
                })
            })
        })
        .collect();
    doc.paths.paths.extend(copies);

    // Every operation: a tidy summary, and errors in the `{code, message}` shape.
    for item in doc.paths.paths.values_mut() {
        for method in &METHODS {
            let Some(operation) = operation_mut(item, method) else { continue };
            operation.summary = operation.summary.as_deref().map(tidy_summary);
            let responses = &mut operation.responses.responses;
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                responses.entry("401".to_owned()).or_insert_with(|| {
                    error_response("`auth.required` or `auth.invalid_token`: no usable credentials")
                });
            }
            responses.entry("default".to_owned()).or_insert_with(|| {
                error_response("An error: see `docs/errors.md` for each code and its status")
            });
        }
    }
    doc
}

/// The document as JSON, built once.
pub fn spec_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| spec().to_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
}

/// GET /api/openapi.json: this API's OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], spec_json())
}

pub(crate) fn routes() -> Routes {
    Routes::new().route(SPEC_PATH, get(openapi_json))
}

/// Swagger UI at `/api/docs`, reading [`SPEC_PATH`].
pub(crate) fn swagger_ui() -> Router<AppState> {
    SwaggerUi::new(UI_PATH).config(utoipa_swagger_ui::Config::from(SPEC_PATH)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two modules' schemas with one name would silently keep only the first.
    #[test]
    fn schema_names_are_not_shared_by_different_schemas() {
        let mut seen = std::collections::BTreeMap::new();
        for part in parts() {
            for (name, schema) in part.components.map(|c| c.schemas).unwrap_or_default() {
                let json = serde_json::to_string(&schema).unwrap_or_default();
                if let Some(previous) = seen.insert(name.clone(), json.clone()) {
                    assert_eq!(previous, json, "two different schemas are named {name}");
                }
            }
        }
    }

    #[test]
    fn summaries_lose_their_method_and_path() {
        assert_eq!(tidy_summary("GET /health: the process is up."), "The process is up.");
        assert_eq!(tidy_summary("DELETE /api/spaces/{id}"), "DELETE /api/spaces/{id}");
        assert_eq!(tidy_summary("Creates a user."), "Creates a user.");
    }
}
