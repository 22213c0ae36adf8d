//! Column lists and row decoders, shared by every entity's SQL.
//!
//! Plain functions, generic over the row type: [`DbRow`] is any sqlx row that yields the
//! column types the store reads, which both backends' rows do. The statements that use
//! these live in the entity files ([`crate::identity`], [`crate::spaces`], ...).

use plaza_db::{
    AuthCodeRecord, ClientKind, OAuthClientRecord, OAuthTokenRecord, ObjectId, StoreError,
    StoreResult, Timestamp, TokenKind, UserKind, UserRecord, UserSettingsRecord,
};

/// A row that yields values of type `T` by column name.
pub trait Yields<T> {
    fn value(&self, column: &str) -> StoreResult<T>;
}

impl<R, T> Yields<T> for R
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    T: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn value(&self, column: &str) -> StoreResult<T> {
        // A column that is missing or of the wrong type is a plain failure on both
        // backends (their `map_error` gives `StoreError::Other` for it too).
        self.try_get(column).map_err(|error| StoreError::Other(error.into()))
    }
}

/// A row of either backend: it yields every column type the store reads.
pub trait DbRow:
    Yields<String>
    + Yields<Option<String>>
    + Yields<i64>
    + Yields<Option<i64>>
    + Yields<bool>
    + Yields<Option<bool>>
{
}

impl<R> DbRow for R where
    R: Yields<String>
        + Yields<Option<String>>
        + Yields<i64>
        + Yields<Option<i64>>
        + Yields<bool>
        + Yields<Option<bool>>
{
}

fn get<T>(row: &impl Yields<T>, column: &str) -> StoreResult<T> {
    row.value(column)
}

pub const USER_COLUMNS: &str = "user_id, kind, username, displayname, \
    password_hash, picture_url, timezone, phone_numbers, is_server_admin, \
    disabled, created, modified, expires_at, credentials_after";

pub const CLIENT_COLUMNS: &str = "client_id, kind, name, secret_hash, \
    redirect_uris, service_user_id, created_by, created, revoked";

pub const CODE_COLUMNS: &str = "code_hash, client_id, user_id, \
    redirect_uri, scope, code_challenge, code_challenge_method, expires_at";

pub const TOKEN_COLUMNS: &str = "token_hash, kind, client_id, user_id, scope, expires_at, grant_id";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::other(format!("stored {what} is invalid: {value:?}"))
}

pub fn id(text: &str) -> StoreResult<ObjectId> {
    text.parse().map_err(|_| corrupt("id", text))
}

fn json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|_| corrupt("json", text))
}

pub fn user<R: DbRow>(row: &R) -> StoreResult<UserRecord> {
    let kind: String = get(row, "kind")?;
    let phone_numbers: String = get(row, "phone_numbers")?;
    Ok(UserRecord {
        id: id(&get::<String>(row, "user_id")?)?,
        kind: UserKind::parse(&kind).ok_or_else(|| corrupt("user kind", &kind))?,
        username: get(row, "username")?,
        displayname: get(row, "displayname")?,
        password_hash: get(row, "password_hash")?,
        picture_url: get(row, "picture_url")?,
        timezone: get(row, "timezone")?,
        phone_numbers: json(&phone_numbers)?,
        is_server_admin: get(row, "is_server_admin")?,
        disabled: get(row, "disabled")?,
        created: Timestamp::from_millis(get(row, "created")?),
        modified: Timestamp::from_millis(get(row, "modified")?),
        expires_at: get::<Option<i64>>(row, "expires_at")?.map(Timestamp::from_millis),
        credentials_after: get::<Option<i64>>(row, "credentials_after")?
            .map(Timestamp::from_millis),
    })
}

pub fn audit_event<R: DbRow>(row: &R) -> StoreResult<plaza_db::AuditRecord> {
    let optional_id = |column: &str| -> StoreResult<Option<ObjectId>> {
        get::<Option<String>>(row, column)?.as_deref().map(id).transpose()
    };
    let details: String = get(row, "details")?;
    Ok(plaza_db::AuditRecord {
        id: id(&get::<String>(row, "event_id")?)?,
        at: Timestamp::from_millis(get(row, "at")?),
        actor_id: optional_id("actor_id")?,
        actor_name: get(row, "actor_name")?,
        action: get(row, "action")?,
        target_kind: get(row, "target_kind")?,
        target_id: get(row, "target_id")?,
        space_id: optional_id("space_id")?,
        client_ip: get(row, "client_ip")?,
        details: json(&details)?,
    })
}

pub fn settings<R: DbRow>(row: &R) -> StoreResult<UserSettingsRecord> {
    let settings: String = get(row, "settings")?;
    Ok(UserSettingsRecord {
        id: id(&get::<String>(row, "settings_id")?)?,
        user_id: id(&get::<String>(row, "user_id")?)?,
        settings: json(&settings)?,
        modified: Timestamp::from_millis(get(row, "modified")?),
    })
}

pub fn client<R: DbRow>(row: &R) -> StoreResult<OAuthClientRecord> {
    let kind: String = get(row, "kind")?;
    let redirect_uris: String = get(row, "redirect_uris")?;
    Ok(OAuthClientRecord {
        client_id: get(row, "client_id")?,
        kind: ClientKind::parse(&kind).ok_or_else(|| corrupt("client kind", &kind))?,
        name: get(row, "name")?,
        secret_hash: get(row, "secret_hash")?,
        redirect_uris: json(&redirect_uris)?,
        service_user_id: get::<Option<String>>(row, "service_user_id")?
            .as_deref()
            .map(id)
            .transpose()?,
        created_by: get::<Option<String>>(row, "created_by")?.as_deref().map(id).transpose()?,
        created: Timestamp::from_millis(get(row, "created")?),
        revoked: get(row, "revoked")?,
    })
}

pub fn code<R: DbRow>(row: &R) -> StoreResult<AuthCodeRecord> {
    Ok(AuthCodeRecord {
        code_hash: get(row, "code_hash")?,
        client_id: get(row, "client_id")?,
        user_id: id(&get::<String>(row, "user_id")?)?,
        redirect_uri: get(row, "redirect_uri")?,
        scope: get(row, "scope")?,
        code_challenge: get(row, "code_challenge")?,
        code_challenge_method: get(row, "code_challenge_method")?,
        expires_at: Timestamp::from_millis(get(row, "expires_at")?),
    })
}

pub const SPACE_COLUMNS: &str = "s.space_id, s.kind, s.title, s.description, \
    s.status, s.settings, s.restrict_list, s.creator_id, s.unique_key, s.created, \
    s.modified";

/// Membership columns, aliased so they can sit beside space and user columns.
/// The unread count and the last message time come from the space's counters
/// (migration 0012), so that a send never writes every membership.
pub const MEMBER_COLUMNS: &str = "m.space_id AS m_space_id, \
    m.user_id AS m_user_id, m.role AS m_role, m.state AS m_state, \
    m.join_time AS m_join_time, m.hidden AS m_hidden, m.is_pinned AS m_is_pinned, \
    m.notification AS m_notification, \
    (SELECT counters.message_seq FROM space counters WHERE counters.space_id = m.space_id) \
        - m.read_seq - m.sent_since_read AS m_unread_count, \
    m.messages_last_read_time AS m_messages_last_read_time, \
    m.last_access AS m_last_access, m.activity_at AS m_activity_at, \
    (SELECT counters.last_message_at FROM space counters WHERE counters.space_id = m.space_id) \
        AS m_last_message_at, m.modified AS m_modified";

/// The read position that leaves `unread` messages of space `$space` unread.
pub fn read_seq_for(space: &str, unread: &str) -> String {
    format!("(SELECT message_seq FROM space WHERE space_id = {space}) - {unread}")
}

/// The user columns qualified by the `u` alias.
pub fn user_columns_of_u() -> String {
    USER_COLUMNS.split(", ").map(|c| format!("u.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

pub const MEMBER_ORDER: &str =
    "CASE m.role WHEN 'admin' THEN 0 WHEN 'member' THEN 1 ELSE 2 END, m.join_time, m.user_id";

pub const INVITATION_COLUMNS: &str = "invitation_id, space_id, invitee_type, \
    invitee, role, invited_by, created, accepted_by, accepted_at";

/// `%text%` for LIKE, with the wildcards in `text` escaped (ESCAPE '\\').
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub fn space<R: DbRow>(row: &R) -> StoreResult<plaza_db::SpaceRecord> {
    let kind: String = get(row, "kind")?;
    let status: i64 = get(row, "status")?;
    let settings: String = get(row, "settings")?;
    let restrict: String = get(row, "restrict_list")?;
    Ok(plaza_db::SpaceRecord {
        id: id(&get::<String>(row, "space_id")?)?,
        kind: plaza_db::SpaceKind::parse(&kind).ok_or_else(|| corrupt("space kind", &kind))?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        status: plaza_db::SpaceStatus::from_code(status)
            .ok_or_else(|| corrupt("space status", &status.to_string()))?,
        settings: json(&settings)?,
        restrict: json(&restrict)?,
        creator_id: id(&get::<String>(row, "creator_id")?)?,
        unique_key: get(row, "unique_key")?,
        created: Timestamp::from_millis(get(row, "created")?),
        modified: Timestamp::from_millis(get(row, "modified")?),
    })
}

pub fn membership<R: DbRow>(row: &R) -> StoreResult<plaza_db::MembershipRecord> {
    let role: String = get(row, "m_role")?;
    let state: String = get(row, "m_state")?;
    let last_message_at: i64 = get(row, "m_last_message_at")?;
    Ok(plaza_db::MembershipRecord {
        space_id: id(&get::<String>(row, "m_space_id")?)?,
        user_id: id(&get::<String>(row, "m_user_id")?)?,
        role: plaza_db::Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        state: plaza_db::MembershipState::parse(&state)
            .ok_or_else(|| corrupt("membership state", &state))?,
        join_time: Timestamp::from_millis(get(row, "m_join_time")?),
        hidden: get(row, "m_hidden")?,
        is_pinned: get(row, "m_is_pinned")?,
        notification: get(row, "m_notification")?,
        unread_count: get(row, "m_unread_count")?,
        messages_last_read_time: get::<Option<i64>>(row, "m_messages_last_read_time")?
            .map(Timestamp::from_millis),
        last_access: Timestamp::from_millis(get(row, "m_last_access")?),
        activity_at: Timestamp::from_millis(get(row, "m_activity_at")?),
        last_message_at: (last_message_at != 0).then(|| Timestamp::from_millis(last_message_at)),
        modified: Timestamp::from_millis(get(row, "m_modified")?),
    })
}

pub fn invitation<R: DbRow>(row: &R) -> StoreResult<plaza_db::InvitationRecord> {
    let role: String = get(row, "role")?;
    Ok(plaza_db::InvitationRecord {
        id: id(&get::<String>(row, "invitation_id")?)?,
        space_id: id(&get::<String>(row, "space_id")?)?,
        invitee_type: get(row, "invitee_type")?,
        invitee: get(row, "invitee")?,
        role: plaza_db::Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        invited_by: id(&get::<String>(row, "invited_by")?)?,
        created: Timestamp::from_millis(get(row, "created")?),
        accepted_by: get::<Option<String>>(row, "accepted_by")?.as_deref().map(id).transpose()?,
        accepted_at: get::<Option<i64>>(row, "accepted_at")?.map(Timestamp::from_millis),
    })
}

pub const MESSAGE_COLUMNS: &str = "message_id, space_id, category, sender_id, \
    content, parent_id, chat_count, deleted, created, modified";

pub fn message<R: DbRow>(row: &R) -> StoreResult<plaza_db::MessageRecord> {
    let category: String = get(row, "category")?;
    let content: String = get(row, "content")?;
    Ok(plaza_db::MessageRecord {
        id: id(&get::<String>(row, "message_id")?)?,
        space_id: id(&get::<String>(row, "space_id")?)?,
        category: plaza_db::MessageCategory::parse(&category)
            .ok_or_else(|| corrupt("message category", &category))?,
        sender_id: id(&get::<String>(row, "sender_id")?)?,
        content: json(&content)?,
        parent_id: get::<Option<String>>(row, "parent_id")?.as_deref().map(id).transpose()?,
        chat_count: get(row, "chat_count")?,
        deleted: get(row, "deleted")?,
        created: Timestamp::from_millis(get(row, "created")?),
        modified: Timestamp::from_millis(get(row, "modified")?),
    })
}

pub const MEETING_COLUMNS: &str = "meeting_id, space_id, state, version, started, ended, due_at";

pub fn meeting<R: DbRow>(row: &R) -> StoreResult<plaza_db::MeetingRecord> {
    let state: String = get(row, "state")?;
    Ok(plaza_db::MeetingRecord {
        id: id(&get::<String>(row, "meeting_id")?)?,
        space_id: id(&get::<String>(row, "space_id")?)?,
        state: json(&state)?,
        version: get(row, "version")?,
        started: Timestamp::from_millis(get(row, "started")?),
        ended: get::<Option<i64>>(row, "ended")?.map(Timestamp::from_millis),
        due_at: get::<Option<i64>>(row, "due_at")?.map(Timestamp::from_millis),
    })
}

pub const FILE_COLUMNS: &str = "file_key, owner_id, space_id, name, content_type, \
    content_length, state, thumbnail_key, created, expires_at";

pub fn file<R: DbRow>(row: &R) -> StoreResult<plaza_db::FileRecord> {
    let state: String = get(row, "state")?;
    Ok(plaza_db::FileRecord {
        key: get(row, "file_key")?,
        owner_id: id(&get::<String>(row, "owner_id")?)?,
        space_id: get::<Option<String>>(row, "space_id")?.as_deref().map(id).transpose()?,
        name: get(row, "name")?,
        content_type: get(row, "content_type")?,
        content_length: get(row, "content_length")?,
        state: plaza_db::FileState::parse(&state).ok_or_else(|| corrupt("file state", &state))?,
        thumbnail_key: get(row, "thumbnail_key")?,
        created: Timestamp::from_millis(get(row, "created")?),
        expires_at: get::<Option<i64>>(row, "expires_at")?.map(Timestamp::from_millis),
    })
}

pub fn token<R: DbRow>(row: &R) -> StoreResult<OAuthTokenRecord> {
    let kind: String = get(row, "kind")?;
    Ok(OAuthTokenRecord {
        token_hash: get(row, "token_hash")?,
        kind: TokenKind::parse(&kind).ok_or_else(|| corrupt("token kind", &kind))?,
        client_id: get(row, "client_id")?,
        user_id: id(&get::<String>(row, "user_id")?)?,
        scope: get(row, "scope")?,
        expires_at: Timestamp::from_millis(get(row, "expires_at")?),
        grant_id: id(&get::<String>(row, "grant_id")?)?,
    })
}
