//! The rows Plaza stores, as plain data. Validation happens in `plaza-core` before a
//! record reaches a store.

use crate::{ObjectId, Timestamp};

/// The three kinds of user account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserKind {
    /// A person who registered with a username (an email) and a password.
    Registered,
    /// A guest with a 24-hour token and no password; always a guest in spaces.
    Anonymous,
    /// The login-less account a service app acts as.
    Service,
}

impl UserKind {
    /// The stored (and wire) name: `user`, `anonymous` or `service`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Registered => "user",
            UserKind::Anonymous => "anonymous",
            UserKind::Service => "service",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(UserKind::Registered),
            "anonymous" => Some(UserKind::Anonymous),
            "service" => Some(UserKind::Service),
            _ => None,
        }
    }
}

/// A stored user account. Its `Debug` leaves out the password hash.
#[derive(Clone, PartialEq)]
pub struct UserRecord {
    pub id: ObjectId,
    pub kind: UserKind,
    /// An email for registered users; anything (even empty) for anonymous ones.
    pub username: String,
    pub displayname: String,
    /// Argon2id PHC string; `None` for anonymous and service users.
    pub password_hash: Option<String>,
    /// Profile picture URL, if the user set one.
    pub picture_url: Option<String>,
    pub timezone: Option<String>,
    /// `phone_numbers` as the JSON array clients read.
    pub phone_numbers: serde_json::Value,
    pub is_server_admin: bool,
    pub disabled: bool,
    pub created: Timestamp,
    pub modified: Timestamp,
    /// When an anonymous account lapses; `None` for the others.
    pub expires_at: Option<Timestamp>,
    /// Tokens issued before this are refused (set by a password reset).
    pub credentials_after: Option<Timestamp>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("username", &self.username)
            .field("displayname", &self.displayname)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "[redacted]"))
            .field("is_server_admin", &self.is_server_admin)
            .field("disabled", &self.disabled)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A user about to be inserted; the store fills nothing in, so this is the record itself.
pub type NewUser = UserRecord;

impl UserRecord {
    /// The key usernames are unique by: lower-cased, and absent for anonymous users
    /// (many guests call themselves "Anonymous").
    pub fn username_key(&self) -> Option<String> {
        match self.kind {
            UserKind::Anonymous => None,
            UserKind::Registered | UserKind::Service => Some(self.username.to_lowercase()),
        }
    }
}

/// A user's client settings: an id plus a JSON object of preferences.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSettingsRecord {
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub modified: Timestamp,
}

/// Whether an OAuth client acts for users (code flow) or as its own service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    OAuth,
    ServiceApp,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::OAuth => "oauth",
            ClientKind::ServiceApp => "service_app",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "oauth" => Some(ClientKind::OAuth),
            "service_app" => Some(ClientKind::ServiceApp),
            _ => None,
        }
    }
}

/// A registered OAuth2 client or service app.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthClientRecord {
    /// The public `client_id`.
    pub client_id: String,
    pub kind: ClientKind,
    pub name: String,
    /// SHA-256 of the client secret (hex); `None` for public clients, which must use PKCE.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    /// For service apps, the service-account user the app acts as.
    pub service_user_id: Option<ObjectId>,
    pub created_by: Option<ObjectId>,
    pub created: Timestamp,
    pub revoked: bool,
}

/// A one-time authorization code, stored by hash.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCodeRecord {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: ObjectId,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "access" => Some(TokenKind::Access),
            "refresh" => Some(TokenKind::Refresh),
            _ => None,
        }
    }
}

/// An opaque OAuth2 access or refresh token, stored by hash.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthTokenRecord {
    pub token_hash: String,
    pub kind: TokenKind,
    pub client_id: String,
    pub user_id: ObjectId,
    pub scope: String,
    pub expires_at: Timestamp,
    /// Access and refresh tokens issued together share a grant id, so revoking one
    /// revokes its pair.
    pub grant_id: ObjectId,
}

/// Whether a file's bytes are stored yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// An upload URL was handed out; the bytes have not arrived (or are arriving).
    Pending,
    Ready,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Pending => "pending",
            FileState::Ready => "ready",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(FileState::Pending),
            "ready" => Some(FileState::Ready),
            _ => None,
        }
    }
}

/// An uploaded (or announced) file. Its bytes live in the blob store under `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    /// A UUID the server made; also the blob's key.
    pub key: String,
    pub owner_id: ObjectId,
    /// The space the upload was meant for, when the client said.
    pub space_id: Option<ObjectId>,
    /// The client's file name, used for `Content-Disposition`.
    pub name: Option<String>,
    pub content_type: String,
    pub content_length: i64,
    pub state: FileState,
    /// The server-made thumbnail's file key.
    pub thumbnail_key: Option<String>,
    pub created: Timestamp,
    /// When a pending upload's URL stops working.
    pub expires_at: Option<Timestamp>,
}

/// A user's counts for `GET /api/users/{id}/statistics` (see `Store::user_statistics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserStatistics {
    pub spaces: i64,
    pub messages: i64,
    pub meetings: i64,
}
