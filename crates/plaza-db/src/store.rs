use async_trait::async_trait;

use crate::{
    AuthCodeRecord, OAuthClientRecord, OAuthTokenRecord, ObjectId, StoreResult, Timestamp,
    UserRecord, UserSettingsRecord,
};

/// Everything Plaza persists, behind one seam.
///
/// Each method is one atomic operation. Implementations map driver errors into
/// [`crate::StoreError`]: a unique violation becomes `Conflict` naming its constraint, a
/// missing row on an update becomes `NotFound`. Both backends must pass the contract
/// suite in `plaza-db-tests`; the method order here is the order in each implementation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers (used by `/ready`).
    async fn ping(&self) -> StoreResult<()>;

    // ---- users ----

    /// Inserts a user. `Conflict { constraint: "user_username_key" }` when another
    /// registered or service user has the same username (case-insensitively).
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()>;

    async fn user_by_id(&self, id: ObjectId) -> StoreResult<Option<UserRecord>>;

    /// Looks a registered or service user up by username, case-insensitively.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>>;

    /// Registered and service users in id order, starting after `after`.
    async fn list_users(&self, after: Option<ObjectId>, limit: u32)
    -> StoreResult<Vec<UserRecord>>;

    /// Sets or clears the disabled flag. `NotFound` when there is no such user.
    async fn set_user_disabled(&self, id: ObjectId, disabled: bool) -> StoreResult<()>;

    /// Sets or clears server-admin rights. `NotFound` when there is no such user.
    async fn set_server_admin(&self, id: ObjectId, admin: bool) -> StoreResult<()>;

    /// Claims the one-time "first registered user" mark. Exactly one caller ever gets
    /// `true`, however many race.
    async fn claim_first_admin(&self) -> StoreResult<bool>;

    // ---- user settings ----

    async fn user_settings(&self, user_id: ObjectId) -> StoreResult<Option<UserSettingsRecord>>;

    /// Inserts or replaces the settings row of `settings.user_id`.
    async fn put_user_settings(&self, settings: &UserSettingsRecord) -> StoreResult<()>;

    // ---- registration invitations ----

    /// Records that `email` may register while registration is by invitation.
    async fn insert_registration_invite(
        &self,
        email: &str,
        invited_by: Option<ObjectId>,
        at: Timestamp,
    ) -> StoreResult<()>;

    /// Removes the invitation for `email`; `true` when there was one.
    async fn take_registration_invite(&self, email: &str) -> StoreResult<bool>;

    // ---- revoked JWTs ----

    /// Remembers that the JWT with this `jti` is revoked until it would have expired.
    async fn revoke_jwt(&self, jti: &str, expires_at: Timestamp) -> StoreResult<()>;

    async fn is_jwt_revoked(&self, jti: &str) -> StoreResult<bool>;

    /// Forgets revocations, codes and tokens that expired before `now`.
    async fn purge_expired_credentials(&self, now: Timestamp) -> StoreResult<u64>;

    // ---- OAuth clients and service apps ----

    /// `Conflict { constraint: "oauth_client_pkey" }` on a duplicate `client_id`.
    async fn insert_oauth_client(&self, client: &OAuthClientRecord) -> StoreResult<()>;

    async fn oauth_client(&self, client_id: &str) -> StoreResult<Option<OAuthClientRecord>>;

    /// All clients (revoked included), oldest first.
    async fn list_oauth_clients(&self) -> StoreResult<Vec<OAuthClientRecord>>;

    /// Marks the client revoked and deletes its codes and tokens. `NotFound` if absent.
    async fn revoke_oauth_client(&self, client_id: &str) -> StoreResult<()>;

    // ---- OAuth codes and tokens ----

    async fn insert_auth_code(&self, code: &AuthCodeRecord) -> StoreResult<()>;

    /// Removes and returns the code with this hash: a code can be redeemed only once.
    async fn take_auth_code(&self, code_hash: &str) -> StoreResult<Option<AuthCodeRecord>>;

    async fn insert_oauth_token(&self, token: &OAuthTokenRecord) -> StoreResult<()>;

    async fn oauth_token(&self, token_hash: &str) -> StoreResult<Option<OAuthTokenRecord>>;

    /// Deletes every token of the grant; returns how many were deleted.
    async fn revoke_oauth_grant(&self, grant_id: ObjectId) -> StoreResult<u64>;
}
