//! Schemas of the main answers for the OpenAPI document. The JSON itself is built by
//! [`crate::wire`]; these name its important fields and leave the rest open (no
//! `additionalProperties: false`), so they describe without over-promising. Ids are
//! 24 hexadecimal characters; times are ISO-8601 UTC strings.
#![allow(dead_code, reason = "documentation only: the answers are built by `wire`")]

use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A user (`GET /api/users/me`, lists of people, `data` of admin answers).
#[derive(ToSchema)]
pub(crate) struct User {
    _id: String,
    username: Option<String>,
    displayname: Option<String>,
    picture_url: Option<String>,
    /// `user`, `anonymous` or `service`.
    #[schema(rename = "type")]
    kind: Option<String>,
    #[schema(rename = "aType")]
    a_type: Option<String>,
    permissions: Option<Vec<String>>,
    #[schema(rename = "isServerAdmin")]
    is_server_admin: Option<bool>,
    disabled: Option<bool>,
    created: Option<String>,
}

/// The answer of register and login.
#[derive(ToSchema)]
pub(crate) struct IssuedToken {
    /// The JWT to send as `Authorization: jwt <token>`.
    token: String,
    #[schema(rename = "tokenType")]
    token_type: String,
    expires: Option<String>,
    user: User,
}

/// `{token}`: an anonymous guest's JWT.
#[derive(ToSchema)]
pub(crate) struct Token {
    token: String,
}

/// A space (topic). Deleted spaces in the listing carry only `_id`, `status` and times;
/// someone outside a space who could join it sees its preview (`preview: true`): `_id`,
/// `title`, `type` and `status`, with no members and no settings.
#[derive(ToSchema)]
pub(crate) struct Space {
    _id: String,
    title: Option<String>,
    description: Option<String>,
    /// `group`, `direct` or `personal`.
    #[schema(rename = "type")]
    kind: Option<String>,
    /// 0 active, 1 archived, 2 deleted (4 in a hidden membership record).
    status: i64,
    settings: Option<Map<String, Value>>,
    members: Option<Vec<Map<String, Value>>>,
    /// The caller's role, when the caller is a member.
    role: Option<String>,
    created: Option<String>,
    modified: Option<String>,
    /// True on a non-member's preview.
    preview: Option<bool>,
}

/// A message: chat, post (`idea`) or task, or a server event in a space.
#[derive(ToSchema)]
pub(crate) struct Message {
    _id: String,
    category: String,
    #[schema(rename = "topicId")]
    topic_id: String,
    sender: Map<String, Value>,
    content: Map<String, Value>,
    created: String,
    modified: String,
}

/// A meeting: the message envelope with the meeting's fields in `content`.
#[derive(ToSchema)]
pub(crate) struct Meeting {
    _id: String,
    category: String,
    #[schema(rename = "topicId")]
    topic_id: String,
    content: Map<String, Value>,
    created: Option<String>,
    modified: Option<String>,
}

/// `{data: ...}`: the Spaces envelope.
#[derive(ToSchema)]
pub(crate) struct Data<T> {
    data: T,
}

/// A page of a list: `nextPageUrl` is empty on the last page.
#[derive(ToSchema)]
pub(crate) struct Page<T> {
    data: Vec<T>,
    total: Option<u64>,
    #[schema(rename = "nextPageUrl")]
    next_page_url: Option<String>,
    #[schema(rename = "previousPageUrl")]
    previous_page_url: Option<String>,
}

/// `{status}` of the probes.
#[derive(ToSchema)]
pub(crate) struct Status {
    status: String,
}

/// The RFC 6749 §5.1 token response.
#[derive(ToSchema)]
pub(crate) struct TokenResponse {
    access_token: String,
    /// `bearer` (user tokens) or `service_app` (service apps): the `Authorization`
    /// scheme to send the token with.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    scope: String,
    /// Only for grants that issue one.
    refresh_token: Option<String>,
}

/// An OAuth client or service app as admins see it.
#[derive(ToSchema)]
pub(crate) struct OAuthClient {
    #[schema(rename = "clientId")]
    client_id: String,
    /// `oauth` or `service_app`.
    kind: String,
    name: String,
    public: bool,
    #[schema(rename = "redirectUris")]
    redirect_uris: Vec<String>,
    /// Only in the answer that creates it.
    #[schema(rename = "clientSecret")]
    client_secret: Option<String>,
}

/// `{topic}`: the space just joined.
#[derive(ToSchema)]
pub(crate) struct Joined {
    topic: Space,
}

/// One member of a space.
#[derive(ToSchema)]
pub(crate) struct Member {
    /// The member's user id.
    member: String,
    /// `userId` or `anonymousId`.
    #[schema(rename = "memberType")]
    member_type: String,
    /// `admin`, `member` or `guest`.
    role: String,
    username: Option<String>,
    displayname: Option<String>,
}

/// A JSON object; the operation's description names its fields.
#[derive(ToSchema)]
pub(crate) struct JsonObject(Map<String, Value>);
