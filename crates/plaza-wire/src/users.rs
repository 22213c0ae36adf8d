//! People and credentials on the wire: users, senders, tokens, settings, OAuth clients.

use plaza_core::identity::IssuedToken as CoreIssuedToken;
use plaza_core::{
    OAuthClientRecord, ObjectId, SpaceRecord, Timestamp, UserKind, UserRecord, UserSettingsRecord,
};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::picture_or_default;

/// What kind of account a user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    /// A registered person.
    User,
    /// A guest who joined by link, without an account.
    Anonymous,
    /// A service app's own user.
    Service,
}

impl From<UserKind> for UserType {
    fn from(kind: UserKind) -> Self {
        match kind {
            UserKind::Registered => UserType::User,
            UserKind::Anonymous => UserType::Anonymous,
            UserKind::Service => UserType::Service,
        }
    }
}

/// Who sent a message or an event: a user's kind, or the space's own server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SenderType {
    User,
    Anonymous,
    Service,
    /// The server itself (meeting records and events).
    Spaceserver,
}

impl From<UserKind> for SenderType {
    fn from(kind: UserKind) -> Self {
        match kind {
            UserKind::Registered => SenderType::User,
            UserKind::Anonymous => SenderType::Anonymous,
            UserKind::Service => SenderType::Service,
        }
    }
}

/// A user (`GET /api/users/me`, lists of people, `data` of admin answers).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// The user's id.
    #[schema(value_type = String)]
    pub _id: ObjectId,
    /// The sign-in name (an email address for registered users).
    pub username: String,
    pub displayname: String,
    /// The picture's URL: the user's own, or this server's default picture.
    pub picture_url: String,
    /// The same as `picture_url` (older clients read this name).
    pub picturefile: String,
    /// The same as `type`.
    #[serde(rename = "aType")]
    pub a_type: UserType,
    #[serde(rename = "type")]
    pub kind: UserType,
    /// The permission groups Spaces clients look for: `USERSELF_PERMISSION_GROUP`, and
    /// `IT_ADMIN_PERMISSION_GROUP` for server admins; none for guests.
    pub permissions: Vec<String>,
    /// An IANA time zone name, when the user set one.
    pub timezone: Option<String>,
    /// The user's phone numbers, as they stored them.
    pub phone_numbers: Value,
    #[schema(value_type = String)]
    pub created: Timestamp,
    #[schema(value_type = String)]
    pub lastupdatetime: Timestamp,
    #[serde(rename = "isServerAdmin")]
    pub is_server_admin: bool,
    /// A disabled account can no longer sign in.
    pub disabled: bool,
}

/// The permission groups Spaces clients look for in `permissions`.
fn permissions(user: &UserRecord) -> Vec<String> {
    let groups: &[&str] = match user.kind {
        UserKind::Anonymous => &[],
        UserKind::Registered if user.is_server_admin => {
            &["USERSELF_PERMISSION_GROUP", "IT_ADMIN_PERMISSION_GROUP"]
        }
        UserKind::Registered | UserKind::Service => &["USERSELF_PERMISSION_GROUP"],
    };
    groups.iter().map(|g| (*g).to_owned()).collect()
}

impl User {
    /// A user as `GET /api/users/me` shows it.
    pub fn of(user: &UserRecord, base_url: &str) -> Self {
        let picture = picture_or_default(user.picture_url.as_ref(), base_url);
        User {
            _id: user.id,
            username: user.username.clone(),
            displayname: user.displayname.clone(),
            picture_url: picture.clone(),
            picturefile: picture,
            a_type: user.kind.into(),
            kind: user.kind.into(),
            permissions: permissions(user),
            timezone: user.timezone.clone(),
            phone_numbers: user.phone_numbers.clone(),
            created: user.created,
            lastupdatetime: user.modified,
            is_server_admin: user.is_server_admin,
            disabled: user.disabled,
        }
    }
}

/// A message's or event's sender as Spaces clients read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sender {
    /// The user's id; for `spaceserver`, the space's id.
    #[schema(value_type = String)]
    pub _id: ObjectId,
    #[serde(rename = "type")]
    pub kind: SenderType,
    /// `spaceserver` for the server itself.
    pub username: String,
    /// For the server itself, the space's title.
    pub displayname: String,
    /// The picture's URL (the default one for users without); `null` for the server.
    pub picture_url: Option<String>,
}

impl Sender {
    /// A user as the sender of a message or event.
    pub fn of(user: &UserRecord, base_url: &str) -> Self {
        Sender {
            _id: user.id,
            kind: user.kind.into(),
            username: user.username.clone(),
            displayname: user.displayname.clone(),
            picture_url: Some(picture_or_default(user.picture_url.as_ref(), base_url)),
        }
    }

    /// The sender of the server's own events and records in a space (seed 002).
    pub fn space_server(space: &SpaceRecord) -> Self {
        Sender {
            _id: space.id,
            kind: SenderType::Spaceserver,
            username: "spaceserver".to_owned(),
            displayname: space.title.clone(),
            picture_url: None,
        }
    }
}

/// The answer to register and login: `{token, tokenType, expires, user}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The JWT to send as `Authorization: jwt <token>`.
    pub token: String,
    /// Always `jwt`.
    #[serde(rename = "tokenType")]
    #[schema(example = "jwt")]
    pub token_type: String,
    /// When the token expires.
    #[schema(value_type = String)]
    pub expires: Timestamp,
    pub user: User,
}

impl IssuedToken {
    pub fn of(issued: &CoreIssuedToken, base_url: &str) -> Self {
        IssuedToken {
            token: issued.token.clone(),
            token_type: "jwt".to_owned(),
            expires: issued.expires_at,
            user: User::of(&issued.user, base_url),
        }
    }
}

/// `{token}`: an anonymous guest's JWT.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Token {
    /// The JWT to send as `Authorization: jwt <token>`.
    pub token: String,
}

/// A settings record as clients read it: the preferences (any fields the client
/// stored) plus `_id` and `modified`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Settings {
    /// The settings object's id.
    #[schema(value_type = String)]
    pub _id: ObjectId,
    #[schema(value_type = String)]
    pub modified: Timestamp,
    /// Every preference the client stored (`emailDigest`: email a digest of missed
    /// mentions and direct messages, true when absent).
    #[serde(flatten)]
    pub preferences: Map<String, Value>,
}

impl Settings {
    pub fn of(record: &UserSettingsRecord) -> Self {
        let mut preferences = record.settings.clone();
        // The record's own fields win over stored keys of the same name.
        preferences.remove("_id");
        preferences.remove("modified");
        Settings { _id: record.id, modified: record.modified, preferences }
    }
}

/// An OAuth client or service app as admins see it (never its secret hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthClient {
    #[serde(rename = "clientId")]
    pub client_id: String,
    /// `oauth` or `service_app`.
    pub kind: String,
    pub name: String,
    /// True for a client without a secret (PKCE only).
    pub public: bool,
    #[serde(rename = "redirectUris")]
    pub redirect_uris: Vec<String>,
    /// A service app's own user.
    #[serde(rename = "serviceUserId")]
    #[schema(value_type = Option<String>)]
    pub service_user_id: Option<ObjectId>,
    #[schema(value_type = String)]
    pub created: Timestamp,
    pub revoked: bool,
    /// Only in the answer that creates it (or resets it).
    #[serde(rename = "clientSecret", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl OAuthClient {
    pub fn of(client: &OAuthClientRecord, secret: Option<&str>) -> Self {
        OAuthClient {
            client_id: client.client_id.clone(),
            kind: client.kind.as_str().to_owned(),
            name: client.name.clone(),
            public: client.secret_hash.is_none(),
            redirect_uris: client.redirect_uris.clone(),
            service_user_id: client.service_user_id,
            created: client.created,
            revoked: client.revoked,
            client_secret: secret.map(str::to_owned),
        }
    }
}

/// The RFC 6749 §5.1 token response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// `bearer` (user tokens) or `service_app` (service apps): the `Authorization`
    /// scheme to send the token with.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub scope: String,
    /// Only for grants that issue one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// `{mailSent: true}`: a password-reset mail went out (or would have, for an unknown
/// address: the answer does not tell).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailSent {
    #[serde(rename = "mailSent")]
    pub mail_sent: bool,
}

/// `{passwordChanged: true}`: the reset worked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PasswordChanged {
    #[serde(rename = "passwordChanged")]
    pub password_changed: bool,
}

/// `{emailDigest: false}`: the digest is off for this user now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DigestSetting {
    #[serde(rename = "emailDigest")]
    pub email_digest: bool,
}

/// `{email}`: who an admin's invitation went to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invited {
    pub email: String,
}

/// The features this server offers the caller (`/api/users/me/featuresrollout`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Features {
    pub chat: bool,
    pub posts: bool,
    pub tasks: bool,
    #[serde(rename = "directSpaces")]
    pub direct_spaces: bool,
    #[serde(rename = "fileSharing")]
    pub file_sharing: bool,
    pub meetings: bool,
    #[serde(rename = "guestAccess")]
    pub guest_access: bool,
    /// Whether meetings can be dialled into (`/api/confnumbers` lists numbers).
    #[serde(rename = "dialIn")]
    pub dial_in: bool,
}

/// A user's counts (`/api/users/{userId}/statistics`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Statistics {
    #[serde(rename = "userId")]
    pub user_id: String,
    /// Spaces they are in.
    pub spaces: i64,
    /// Messages they sent.
    pub messages: i64,
    /// Meetings held in their spaces.
    pub meetings: i64,
}
