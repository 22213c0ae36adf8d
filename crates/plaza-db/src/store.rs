use async_trait::async_trait;

use crate::{
    AuditQuery, AuditRecord, AuthCodeRecord, DigestItemRecord, FileRecord, InvitationRecord,
    ListingFilter, ListingPage, MediaHost, MeetingRecord, MemberChange, MemberChangeOutcome,
    MembershipRecord, MessageQuery, MessageRecord, OAuthClientRecord, OAuthTokenRecord, ObjectId,
    PasswordResetRecord, SpaceRecord, StoreResult, Timestamp, UserRecord, UserSettingsRecord,
    UserStatistics,
};

/// Everything Plaza persists, behind one seam: one sub-trait per entity
/// ([`IdentityStore`], [`SpaceStore`], [`MessageStore`], [`FileStore`], [`MeetingStore`],
/// [`ClusterStore`], [`AuditStore`], [`MailStore`]). A `dyn Store` reaches every part's methods; code
/// holding a concrete store brings the parts into scope with `use plaza_db::stores::*`.
///
/// Each method is one atomic operation. Implementations map driver errors into
/// [`crate::StoreError`]: a unique violation becomes `Conflict` naming its constraint, a
/// missing row on an update becomes `NotFound`. Both backends must pass the contract
/// suite in `plaza-db-tests`; the method order here is the order in each implementation.
#[async_trait]
pub trait Store:
    IdentityStore
    + SpaceStore
    + MessageStore
    + FileStore
    + MeetingStore
    + ClusterStore
    + AuditStore
    + MailStore
    + Send
    + Sync
    + 'static
{
    /// Checks that the database answers (used by `/ready`).
    async fn ping(&self) -> StoreResult<()>;

    /// Open connections to the database: (busy, idle), for `/metrics`.
    fn connections(&self) -> (u64, u64);
}

/// Accounts, their settings, registration invitations, revoked JWTs, OAuth clients, service apps, codes and tokens. Part of [`Store`].
#[async_trait]
pub trait IdentityStore: Send + Sync {
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

    /// Replaces a user's password hash and sets `credentials_after` to now, so that
    /// tokens issued before are refused. `NotFound` when there is no such user.
    async fn set_password_hash(&self, id: ObjectId, hash: &str) -> StoreResult<()>;

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

    /// Removes and returns the token with this hash: of concurrent takers, one wins.
    async fn take_oauth_token(&self, token_hash: &str) -> StoreResult<Option<OAuthTokenRecord>>;

    /// Deletes every token of the grant; returns how many were deleted.
    async fn revoke_oauth_grant(&self, grant_id: ObjectId) -> StoreResult<u64>;

    /// Remembers that refresh token `token_hash` of grant `grant_id` was redeemed, until
    /// `expires_at`.
    async fn remember_used_refresh(
        &self,
        token_hash: &str,
        grant_id: ObjectId,
        expires_at: Timestamp,
    ) -> StoreResult<()>;

    /// The grant of a refresh token that was already redeemed, if it is remembered.
    async fn used_refresh_grant(&self, token_hash: &str) -> StoreResult<Option<ObjectId>>;
}

/// Spaces, memberships and invitations to spaces. Part of [`Store`].
#[async_trait]
pub trait SpaceStore: Send + Sync {
    // ---- spaces ----

    /// Inserts a space with its first membership, atomically. `Conflict { constraint:
    /// "space_unique_key" }` when a space with the same `unique_key` exists.
    async fn insert_space(&self, space: &SpaceRecord, first: &MembershipRecord) -> StoreResult<()>;

    async fn space_by_id(&self, id: ObjectId) -> StoreResult<Option<SpaceRecord>>;

    async fn space_by_unique_key(&self, key: &str) -> StoreResult<Option<SpaceRecord>>;

    /// Replaces title, description, status, settings, restrict and modified.
    /// `NotFound` when there is no such space.
    async fn update_space(&self, space: &SpaceRecord) -> StoreResult<()>;

    /// Records "recent activity" at `at` on every membership of the space.
    async fn touch_space_activity(&self, space_id: ObjectId, at: Timestamp) -> StoreResult<()>;

    // ---- memberships ----

    async fn membership(
        &self,
        space_id: ObjectId,
        user_id: ObjectId,
    ) -> StoreResult<Option<MembershipRecord>>;

    /// A space and `user_id`'s membership in it (of any state), read together: the
    /// lookup every space-scoped call starts with. `None` when there is no such space.
    async fn space_with_membership(
        &self,
        space_id: ObjectId,
        user_id: ObjectId,
    ) -> StoreResult<Option<(SpaceRecord, Option<MembershipRecord>)>>;

    /// Inserts or replaces a membership (keyed by space and user).
    async fn put_membership(&self, membership: &MembershipRecord) -> StoreResult<()>;

    /// Writes only the member's own view of the space (hidden, pinned, notification,
    /// unread count, read time, last access), never role or state, and only while the
    /// membership is active: `false` otherwise. So a user's own writes cannot undo a
    /// concurrent kick or role change.
    async fn update_member_view(&self, membership: &MembershipRecord) -> StoreResult<bool>;

    /// Sets `last_access` to `at` on each active membership `(space, user)` named whose
    /// last access is older, in one transaction (visits are written in batches).
    async fn touch_members(
        &self,
        visits: &[(ObjectId, ObjectId)],
        at: Timestamp,
    ) -> StoreResult<()>;

    /// Changes a member's role or removes them, unless that would leave the space
    /// without an active admin (`LastAdmin`) or their role is no longer the one the
    /// caller checked (`RoleChanged`). Serialised per space, so two admins demoting each
    /// other at once cannot both succeed. `NotFound` when the user is not an active
    /// member.
    async fn change_member_keeping_an_admin(
        &self,
        space_id: ObjectId,
        user_id: ObjectId,
        change: MemberChange,
        at: Timestamp,
    ) -> StoreResult<MemberChangeOutcome>;

    /// Active members with their users, admins first then by join time; `search`
    /// matches display name or username (case-insensitive "contains"). Also returns the
    /// total number of matches.
    async fn members(
        &self,
        space_id: ObjectId,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> StoreResult<(Vec<(MembershipRecord, UserRecord)>, u64)>;

    /// Up to `per_space` active members of each space (admins first), for previews.
    async fn member_previews(
        &self,
        space_ids: &[ObjectId],
        per_space: u32,
    ) -> StoreResult<Vec<(MembershipRecord, UserRecord)>>;

    /// One page of a user's memberships with their spaces, in listing order (most recent
    /// first, ties by id).
    async fn list_memberships(
        &self,
        user_id: ObjectId,
        filter: &ListingFilter,
        page: ListingPage,
        limit: u32,
    ) -> StoreResult<Vec<(SpaceRecord, MembershipRecord)>>;

    /// Users who share an active space with `user_id` (not the user), by display name;
    /// `search` as in [`Store::members`].
    async fn colleagues(
        &self,
        user_id: ObjectId,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<UserRecord>>;

    /// The other parties of `user_id`'s direct spaces (hidden ones included).
    async fn direct_partners(
        &self,
        user_id: ObjectId,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<UserRecord>>;

    // ---- invitations ----

    async fn insert_invitation(&self, invitation: &InvitationRecord) -> StoreResult<()>;

    async fn invitation(&self, id: ObjectId) -> StoreResult<Option<InvitationRecord>>;

    /// Marks an invitation accepted by `user_id`, once: `false` if it already was.
    async fn accept_invitation(
        &self,
        id: ObjectId,
        user_id: ObjectId,
        at: Timestamp,
    ) -> StoreResult<bool>;
}

/// Messages: writes, edits, deletions and every query over them. Part of [`Store`].
#[async_trait]
pub trait MessageStore: Send + Sync {
    // ---- messages ----

    /// Stores a new message and, in the same transaction: counts it unread for every
    /// other active member, records it as the space's last message (and, when
    /// `is_activity`, as the space's latest activity), and counts a comment on its parent.
    async fn insert_message(&self, message: &MessageRecord, is_activity: bool) -> StoreResult<()>;

    async fn message(&self, id: ObjectId) -> StoreResult<Option<MessageRecord>>;

    /// Replaces content and `modified`, but only while the stored `modified` is still
    /// `expected_modified`: `false` when someone changed it first.
    async fn update_message(
        &self,
        message: &MessageRecord,
        expected_modified: Timestamp,
    ) -> StoreResult<bool>;

    /// Marks a message deleted and empties its content; a comment stops counting on its
    /// parent. `false` when it was already deleted or does not exist.
    async fn delete_message(&self, id: ObjectId, at: Timestamp) -> StoreResult<bool>;

    /// The messages `query` selects: the `limit` nearest its newest (or oldest) end,
    /// in that order.
    async fn query_messages(&self, query: &MessageQuery) -> StoreResult<Vec<MessageRecord>>;
}

/// Uploaded files, what makes them readable, and the secrets nodes share. Part of [`Store`].
#[async_trait]
pub trait FileStore: Send + Sync {
    // ---- files ----

    async fn insert_file(&self, file: &FileRecord) -> StoreResult<()>;

    async fn file(&self, key: &str) -> StoreResult<Option<FileRecord>>;

    /// Marks a pending upload ready, unless it expired before `at`, and in the same
    /// transaction stores its server-made `thumbnail` (a ready file). `false` when the
    /// file was not pending or its URL had expired.
    async fn complete_file(
        &self,
        key: &str,
        at: Timestamp,
        thumbnail: Option<&FileRecord>,
    ) -> StoreResult<bool>;

    /// Gives a file the name a message shows for it, unless it already has one.
    async fn name_file(&self, key: &str, name: &str) -> StoreResult<()>;

    /// What `GET /api/users/{id}/statistics` counts for a user: the spaces they are an
    /// active member of (deleted spaces aside), the messages, posts and tasks they sent
    /// that are not deleted, and the meetings held in those spaces.
    async fn user_statistics(&self, user_id: ObjectId) -> StoreResult<UserStatistics>;

    /// Bytes the user's files take: ready ones, and pending ones not yet expired at `at`
    /// (a quota must count uploads in flight).
    async fn file_bytes_of(&self, owner_id: ObjectId, at: Timestamp) -> StoreResult<i64>;

    /// Removes up to `limit` pending uploads that expired before `at` and returns them,
    /// so that their partial blobs can be deleted.
    async fn take_expired_files(&self, at: Timestamp, limit: u32) -> StoreResult<Vec<FileRecord>>;

    /// Whether `user_id` can read a live (not deleted) message that attaches file `key`:
    /// an active member of its space, and for guests one written after they joined.
    async fn file_readable_through_message(
        &self,
        key: &str,
        user_id: ObjectId,
    ) -> StoreResult<bool>;

    // ---- server secrets ----

    /// The secret called `name`, storing `candidate` first if there is none yet; every
    /// caller (every node) gets the same value.
    async fn secret(&self, name: &str, candidate: &str, at: Timestamp) -> StoreResult<String>;
}

/// Meetings, saved whole by compare-and-swap. Part of [`Store`].
#[async_trait]
pub trait MeetingStore: Send + Sync {
    // ---- meetings ----

    /// Starts a meeting: stores `meeting` and its history record `summary` (as
    /// `insert_message` would) in one transaction. `StoreError::Conflict` with
    /// constraint `meeting_active_key` when the space already has an active meeting.
    async fn start_meeting(
        &self,
        meeting: &MeetingRecord,
        summary: &MessageRecord,
    ) -> StoreResult<()>;

    async fn meeting(&self, id: ObjectId) -> StoreResult<Option<MeetingRecord>>;

    /// The space's active meeting, if one is running.
    async fn active_meeting(&self, space_id: ObjectId) -> StoreResult<Option<MeetingRecord>>;

    /// Writes `meeting` (state, ended, due_at) as version `meeting.version`, but only
    /// while the stored version is still `meeting.version - 1`; in the same transaction
    /// replaces its history record's content with `summary` and sets its `modified` to
    /// `at`. `false` when another save came first: read again and retry.
    async fn save_meeting(
        &self,
        meeting: &MeetingRecord,
        summary: &serde_json::Map<String, serde_json::Value>,
        at: Timestamp,
    ) -> StoreResult<bool>;

    /// The space's meetings started at or after `since`, newest first, before the
    /// meeting `before` when given; and how many there are in all (after `since`).
    async fn meetings(
        &self,
        space_id: ObjectId,
        since: Option<Timestamp>,
        before: Option<ObjectId>,
        limit: u32,
    ) -> StoreResult<(Vec<MeetingRecord>, i64)>;

    /// Up to `limit` active meetings whose `due_at` has come by `at`, most overdue first.
    async fn due_meetings(&self, at: Timestamp, limit: u32) -> StoreResult<Vec<MeetingRecord>>;

    /// The running meetings (any space) after `after` in id order, up to `limit`.
    async fn active_meetings(
        &self,
        after: Option<ObjectId>,
        limit: u32,
    ) -> StoreResult<Vec<MeetingRecord>>;
}

/// What several nodes share through the database: heartbeats, rate budgets, ringing calls. Part of [`Store`].
#[async_trait]
pub trait ClusterStore: Send + Sync {
    // ---- nodes ----

    /// Records that server process `node_id` is alive at `at`.
    async fn beat_node(&self, node_id: &str, at: Timestamp) -> StoreResult<()>;

    /// Removes and returns the nodes last seen before `before`: each dead node is
    /// returned once, to whichever live node asks first.
    async fn take_dead_nodes(&self, before: Timestamp) -> StoreResult<Vec<String>>;

    /// The nodes last seen at or after `since` (alive), in id order.
    async fn live_nodes(&self, since: Timestamp) -> StoreResult<Vec<String>>;

    // ---- media hosts ----

    /// The node that hosts the media room of `space_id`, taking it for `node_id` (at
    /// `address`, from `at`) when no node hosts it or its host was last seen before
    /// `alive_since`. One statement: nodes claiming at once all get the same host.
    async fn claim_media_host(
        &self,
        space_id: ObjectId,
        node_id: &str,
        address: &str,
        alive_since: Timestamp,
        at: Timestamp,
    ) -> StoreResult<MediaHost>;

    // ---- shared limits (deployments without Redis) ----

    /// Counts one action on rate-limit `key` (GCRA: one action per `interval_micros`,
    /// bursts of `burst`): `None` when allowed, else how many microseconds to wait.
    async fn take_rate(
        &self,
        key: &str,
        now_micros: i64,
        interval_micros: i64,
        burst: i64,
    ) -> StoreResult<Option<i64>>;

    /// Records a 1:1 call as ringing until `until`.
    async fn ring_call(&self, call_id: &str, until: Timestamp) -> StoreResult<()>;

    /// Stops a ringing call: `true` for the one caller that found it still ringing.
    async fn answer_call(&self, call_id: &str, now: Timestamp) -> StoreResult<bool>;
}

/// The security audit log. Part of [`Store`].
#[async_trait]
pub trait AuditStore: Send + Sync {
    // ---- audit log ----

    /// Appends one event to the audit log.
    async fn insert_audit_event(&self, event: &AuditRecord) -> StoreResult<()>;

    /// The events `query` selects, newest first, up to `query.limit`.
    async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditRecord>>;

    /// Forgets events from before `before`; answers how many went.
    async fn purge_audit_events(&self, before: Timestamp) -> StoreResult<u64>;
}

/// What the email features keep: password-reset tokens and digest items. Part of
/// [`Store`].
#[async_trait]
pub trait MailStore: Send + Sync {
    // ---- password resets ----

    /// Stores `reset` as its user's only pending reset: earlier ones stop working.
    async fn replace_password_reset(&self, reset: &PasswordResetRecord) -> StoreResult<()>;

    /// Removes and answers the reset whose token hashes to `token_hash`: one caller
    /// alone gets it, so a token works once.
    async fn take_password_reset(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<PasswordResetRecord>>;

    // ---- digest items ----

    /// Adds items; one already there (same user and message) is kept as it is.
    async fn add_digest_items(&self, items: &[DigestItemRecord]) -> StoreResult<()>;

    /// Users with an item written at or before `before`, up to `limit`.
    async fn users_with_digest_items(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ObjectId>>;

    /// Removes and answers the user's items written at or before `before`, oldest first:
    /// one caller (one node) alone gets each item.
    async fn take_digest_items(
        &self,
        user_id: ObjectId,
        before: Timestamp,
    ) -> StoreResult<Vec<DigestItemRecord>>;
}
