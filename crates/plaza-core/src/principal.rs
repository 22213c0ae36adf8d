//! Who is calling: an authenticated user and how they authenticated. Made by
//! `identity::IdentityService::authenticate`, read by every service (and the audit log),
//! so it lives apart from the identity service itself.

use plaza_db::{ObjectId, Timestamp, UserKind, UserRecord};

/// How a request authenticated; logout and revocation act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    Jwt { jti: String, expires_at: Timestamp },
    OAuth { grant_id: ObjectId, client_id: String, scope: String, expires_at: Timestamp },
    ServiceApp { jti: String, expires_at: Timestamp, client_id: String },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRecord,
    pub session: Session,
}

impl Principal {
    pub fn user_id(&self) -> ObjectId {
        self.user.id
    }

    /// Server-admin powers need the admin's own session: a token an OAuth client or
    /// service app holds never carries them.
    pub fn is_server_admin(&self) -> bool {
        self.user.is_server_admin
            && self.user.kind == UserKind::Registered
            && matches!(self.session, Session::Jwt { .. })
    }

    /// Whether this is a user's own session (not a token held by an app for them).
    pub fn is_own_session(&self) -> bool {
        matches!(self.session, Session::Jwt { .. })
    }
}
