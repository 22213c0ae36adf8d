//! The one copy of Plaza's store SQL.
//!
//! Long (over 2 000 lines) because it is one macro: every statement of both backends.
//! Splitting it by entity into files of plain functions is issue 25's next step; the
//! trait is already split (`plaza_db::store`), one impl block per part.
//!
//! SQLite and PostgreSQL agree on everything the store needs: `$N` placeholders,
//! `ON CONFLICT`, `DELETE ... RETURNING`, booleans bound from Rust `bool`, times as 64-bit
//! epoch milliseconds and JSON kept as text. Rather than keep two hand-copied
//! implementations in step, each backend crate expands [`impl_sql_store!`] over its own
//! concrete sqlx types. The backend crates still own their migrations, connection setup
//! and driver-error mapping; a query that must differ by dialect goes in the backend
//! crate, not here.
#![forbid(unsafe_code)]

pub mod backup;
mod mail;

/// Whether `error` means the database cannot be reached now rather than that the call
/// was wrong: the connection or pool failed, or the server is shutting down or starting
/// (SQLSTATE classes 08 and 57P).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
        }
        _ => false,
    }
}

/// Implements `plaza_db::Store` for `$store` on the sqlx database `$db`.
///
/// `$db` is a full path such as `sqlx::Sqlite`. The expansion site must provide: fields
/// `pool: sqlx::Pool<$db>` (reads) and `writer: sqlx::Pool<$db>` (every statement that
/// writes; it may be a clone of `pool`) on `$store`; an inherent
/// `async fn write_message(&self, &MessageRecord, is_activity: bool) -> StoreResult<()>`
/// (`sql_rows::insert_message_alone(&self.writer, ..)` does it one message at a time);
/// an inherent `fn open_connections(&self) -> (u64, u64)` (busy, idle, over its pools);
/// and a function `map_error(sqlx::Error) -> plaza_db::StoreError` in scope. It must depend
/// on `sqlx`, `async-trait`, `serde_json` and `plaza-db`.
#[macro_export]
macro_rules! impl_sql_store {
    ($store:ty, $db:path) => {
        mod sql_rows {
            use plaza_db::{
                AuthCodeRecord, ClientKind, OAuthClientRecord, OAuthTokenRecord, ObjectId,
                StoreError, StoreResult, Timestamp, TokenKind, UserKind, UserRecord,
                UserSettingsRecord,
            };
            use sqlx::Row;

            type DbRow = <$db as sqlx::Database>::Row;

            pub(super) const USER_COLUMNS: &str = "user_id, kind, username, displayname, \
                password_hash, picture_url, timezone, phone_numbers, is_server_admin, \
                disabled, created, modified, expires_at, credentials_after";

            pub(super) const CLIENT_COLUMNS: &str = "client_id, kind, name, secret_hash, \
                redirect_uris, service_user_id, created_by, created, revoked";

            pub(super) const CODE_COLUMNS: &str = "code_hash, client_id, user_id, \
                redirect_uri, scope, code_challenge, code_challenge_method, expires_at";

            pub(super) const TOKEN_COLUMNS: &str =
                "token_hash, kind, client_id, user_id, scope, expires_at, grant_id";

            fn corrupt(what: &str, value: &str) -> StoreError {
                StoreError::other(format!("stored {what} is invalid: {value:?}"))
            }

            pub(super) fn id(text: &str) -> StoreResult<ObjectId> {
                text.parse().map_err(|_| corrupt("id", text))
            }

            fn get<'r, T>(row: &'r DbRow, column: &str) -> StoreResult<T>
            where
                T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                row.try_get(column).map_err(super::map_error)
            }

            fn json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
                serde_json::from_str(text).map_err(|_| corrupt("json", text))
            }

            pub(super) fn user(row: &DbRow) -> StoreResult<UserRecord> {
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
                    expires_at: get::<Option<i64>>(row, "expires_at")?
                        .map(Timestamp::from_millis),
                    credentials_after: get::<Option<i64>>(row, "credentials_after")?
                        .map(Timestamp::from_millis),
                })
            }

            pub(super) fn audit_event(row: &DbRow) -> StoreResult<plaza_db::AuditRecord> {
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

            /// Sets one boolean column of a user; `column` is always a literal of ours.
            pub(super) async fn set_user_flag(
                pool: &sqlx::Pool<$db>,
                column: &'static str,
                id: ObjectId,
                value: bool,
            ) -> StoreResult<()> {
                let sql = format!("UPDATE app_user SET {column} = $1, modified = $2 WHERE user_id = $3");
                let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(value)
                    .bind(Timestamp::now().millis())
                    .bind(id.to_string())
                    .execute(pool)
                    .await
                    .map_err(super::map_error)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            pub(super) fn settings(row: &DbRow) -> StoreResult<UserSettingsRecord> {
                let settings: String = get(row, "settings")?;
                Ok(UserSettingsRecord {
                    id: id(&get::<String>(row, "settings_id")?)?,
                    user_id: id(&get::<String>(row, "user_id")?)?,
                    settings: json(&settings)?,
                    modified: Timestamp::from_millis(get(row, "modified")?),
                })
            }

            pub(super) fn client(row: &DbRow) -> StoreResult<OAuthClientRecord> {
                let kind: String = get(row, "kind")?;
                let redirect_uris: String = get(row, "redirect_uris")?;
                Ok(OAuthClientRecord {
                    client_id: get(row, "client_id")?,
                    kind: ClientKind::parse(&kind)
                        .ok_or_else(|| corrupt("client kind", &kind))?,
                    name: get(row, "name")?,
                    secret_hash: get(row, "secret_hash")?,
                    redirect_uris: json(&redirect_uris)?,
                    service_user_id: get::<Option<String>>(row, "service_user_id")?
                        .as_deref()
                        .map(id)
                        .transpose()?,
                    created_by: get::<Option<String>>(row, "created_by")?
                        .as_deref()
                        .map(id)
                        .transpose()?,
                    created: Timestamp::from_millis(get(row, "created")?),
                    revoked: get(row, "revoked")?,
                })
            }

            pub(super) fn code(row: &DbRow) -> StoreResult<AuthCodeRecord> {
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

            pub(super) const SPACE_COLUMNS: &str = "s.space_id, s.kind, s.title, s.description, \
                s.status, s.settings, s.restrict_list, s.creator_id, s.unique_key, s.created, \
                s.modified";

            /// Membership columns, aliased so they can sit beside space and user columns.
            /// The unread count and the last message time come from the space's counters
            /// (migration 0012), so that a send never writes every membership.
            pub(super) const MEMBER_COLUMNS: &str = "m.space_id AS m_space_id, \
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
            pub(super) fn read_seq_for(space: &str, unread: &str) -> String {
                format!("(SELECT message_seq FROM space WHERE space_id = {space}) - {unread}")
            }

            /// The user columns qualified by the `u` alias.
            pub(super) fn user_columns_of_u() -> String {
                USER_COLUMNS.split(", ").map(|c| format!("u.{}", c.trim())).collect::<Vec<_>>().join(", ")
            }

            pub(super) const MEMBER_ORDER: &str =
                "CASE m.role WHEN 'admin' THEN 0 WHEN 'member' THEN 1 ELSE 2 END, m.join_time, m.user_id";

            pub(super) const INVITATION_COLUMNS: &str = "invitation_id, space_id, invitee_type, \
                invitee, role, invited_by, created, accepted_by, accepted_at";

            /// `%text%` for LIKE, with the wildcards in `text` escaped (ESCAPE '\\').
            pub(super) fn contains_pattern(text: &str) -> String {
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

            /// Runs `sql` (one `$1` parameter, at most one row) and decodes the row.
            pub(super) async fn optional<T>(
                pool: &sqlx::Pool<$db>,
                sql: String,
                key: String,
                decode: fn(&DbRow) -> StoreResult<T>,
            ) -> StoreResult<Option<T>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(key)
                    .fetch_optional(pool)
                    .await
                    .map_err(super::map_error)?;
                row.as_ref().map(decode).transpose()
            }

            pub(super) fn space(row: &DbRow) -> StoreResult<plaza_db::SpaceRecord> {
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

            pub(super) fn membership(row: &DbRow) -> StoreResult<plaza_db::MembershipRecord> {
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

            pub(super) fn invitation(row: &DbRow) -> StoreResult<plaza_db::InvitationRecord> {
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

            /// Replaces the rows that index a task's assignees.
            pub(super) async fn put_assignees(
                tx: &mut sqlx::Transaction<'_, $db>,
                message: &plaza_db::MessageRecord,
                replacing: bool,
            ) -> StoreResult<()> {
                // A new message has no rows yet: skipping the delete saves a statement a send.
                if replacing {
                    sqlx::query("DELETE FROM message_assignee WHERE message_id = $1")
                        .bind(message.id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(super::map_error)?;
                }
                for user_id in message.assignee_ids() {
                    sqlx::query("INSERT INTO message_assignee (message_id, user_id) VALUES ($1, $2)")
                        .bind(message.id.to_string())
                        .bind(user_id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(super::map_error)?;
                }
                Ok(())
            }

            /// Binds a membership's columns in the order of `PUT_MEMBERSHIP`.
            pub(super) async fn put_membership<'e, E>(executor: E, m: &plaza_db::MembershipRecord) -> StoreResult<()>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO membership (space_id, user_id, role, state, join_time, hidden, \
                     is_pinned, notification, read_seq, sent_since_read, messages_last_read_time, \
                     last_access, activity_at, modified) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {}, 0, $10, $11, $12, $13) \
                     ON CONFLICT (space_id, user_id) DO UPDATE SET role = excluded.role, \
                     state = excluded.state, join_time = excluded.join_time, hidden = excluded.hidden, \
                     is_pinned = excluded.is_pinned, notification = excluded.notification, \
                     read_seq = excluded.read_seq, sent_since_read = 0, \
                     messages_last_read_time = excluded.messages_last_read_time, \
                     last_access = excluded.last_access, activity_at = excluded.activity_at, \
                     modified = excluded.modified",
                    read_seq_for("$1", "$9")
                )))
                .bind(m.space_id.to_string())
                .bind(m.user_id.to_string())
                .bind(m.role.as_str())
                .bind(m.state.as_str())
                .bind(m.join_time.millis())
                .bind(m.hidden)
                .bind(m.is_pinned)
                .bind(m.notification)
                .bind(m.unread_count)
                .bind(m.messages_last_read_time.map(Timestamp::millis))
                .bind(m.last_access.millis())
                .bind(m.activity_at.millis())
                .bind(m.modified.millis())
                .execute(executor)
                .await
                .map_err(super::map_error)?;
                Ok(())
            }

            /// Users sharing an active space (`direct_only`: a direct space) with `user_id`.
            pub(super) async fn people(
                pool: &sqlx::Pool<$db>,
                user_id: ObjectId,
                direct_only: bool,
                search: Option<&str>,
                offset: u32,
                limit: u32,
            ) -> StoreResult<Vec<UserRecord>> {
                let direct = if direct_only {
                    " AND s.kind = 'direct'"
                } else {
                    " AND theirs.state = 'active' AND mine.state = 'active'"
                };
                let search_sql = if search.is_some() {
                    " AND (LOWER(u.displayname) LIKE $2 ESCAPE '\\' OR LOWER(u.username) LIKE $2 ESCAPE '\\')"
                } else {
                    " AND $2 = $2"
                };
                let sql = format!(
                    "SELECT DISTINCT {} FROM membership mine \
                     JOIN membership theirs ON theirs.space_id = mine.space_id \
                     JOIN space s ON s.space_id = mine.space_id \
                     JOIN app_user u ON u.user_id = theirs.user_id \
                     WHERE mine.user_id = $1 AND theirs.user_id <> $1 AND u.kind <> 'anonymous' \
                     AND s.status <> 2{direct}{search_sql} \
                     ORDER BY u.displayname, u.username, u.user_id LIMIT $3 OFFSET $4",
                    user_columns_of_u()
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user_id.to_string())
                    .bind(search.map(contains_pattern).unwrap_or_default())
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(pool)
                    .await
                    .map_err(super::map_error)?;
                rows.iter().map(user).collect()
            }

            pub(super) const MESSAGE_COLUMNS: &str = "message_id, space_id, category, sender_id, \
                content, parent_id, chat_count, deleted, created, modified";

            pub(super) fn message(row: &DbRow) -> StoreResult<plaza_db::MessageRecord> {
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

            /// The head of an insert of message rows, each pushed by [`push_message_row`].
            pub(super) fn message_insert() -> sqlx::QueryBuilder<$db> {
                sqlx::QueryBuilder::new(format!(
                    "INSERT INTO message ({MESSAGE_COLUMNS}, search_text, has_files, task_status, \
                     parent_category, seq) "
                ))
            }

            /// One row of [`message_insert`]: the message numbered `seq`, with the columns
            /// derived from its content and its parent's category read in the same statement.
            pub(super) fn push_message_row(
                mut row: sqlx::query_builder::Separated<'_, $db, &'static str>,
                message: &plaza_db::MessageRecord,
                seq: i64,
            ) {
                row.push_bind(message.id.to_string())
                    .push_bind(message.space_id.to_string())
                    .push_bind(message.category.as_str())
                    .push_bind(message.sender_id.to_string())
                    .push_bind(serde_json::Value::Object(message.content.clone()).to_string())
                    .push_bind(message.parent_id.map(|id| id.to_string()))
                    .push_bind(message.chat_count)
                    .push_bind(message.deleted)
                    .push_bind(message.created.millis())
                    .push_bind(message.modified.millis())
                    .push_bind(message.search_text())
                    .push_bind(message.has_files())
                    .push_bind(message.task_status().map(str::to_owned))
                    .push("(SELECT parent.category FROM message parent WHERE parent.message_id = ")
                    .push_bind_unseparated(message.parent_id.map(|id| id.to_string()))
                    .push_unseparated(")")
                    .push_bind(seq);
            }

            /// `Store::insert_message` inside a caller's transaction.
            pub(super) async fn insert_message(
                tx: &mut sqlx::Transaction<'_, $db>,
                message: &plaza_db::MessageRecord,
                is_activity: bool,
            ) -> StoreResult<()> {
                // The space row is locked first: concurrent sends in one space then queue
                // on it instead of locking its memberships in different orders and
                // deadlocking (PostgreSQL would abort one after its deadlock timeout).
                // The same statement numbers the message in its space's storage order.
                let seq: i64 = sqlx::query_scalar(
                    "UPDATE space SET message_seq = message_seq + 1, last_message_at = $2 \
                     WHERE space_id = $1 RETURNING message_seq",
                )
                .bind(message.space_id.to_string())
                .bind(message.created.millis())
                .fetch_optional(&mut **tx)
                .await
                .map_err(super::map_error)?
                .ok_or(StoreError::NotFound)?;
                let mut insert = message_insert();
                insert.push_values([message], |row, message| push_message_row(row, message, seq));
                insert
                    .build()
                    .execute(&mut **tx)
                    .await
                    .map_err(super::map_error)?;
                put_assignees(tx, message, false).await?;
                put_message_files(tx, message, false).await?;
                // Only the sender's membership is written: their own message is not unread
                // to them. Everyone else's unread count follows from the space's sequence.
                sqlx::query(
                    "UPDATE membership SET sent_since_read = sent_since_read + 1 \
                     WHERE space_id = $1 AND user_id = $2 AND state = 'active'",
                )
                .bind(message.space_id.to_string())
                .bind(message.sender_id.to_string())
                .execute(&mut **tx)
                .await
                .map_err(super::map_error)?;
                if is_activity {
                    // Direct spaces only: two memberships.
                    sqlx::query(
                        "UPDATE membership SET activity_at = $1 WHERE space_id = $2 AND state = 'active'",
                    )
                    .bind(message.created.millis())
                    .bind(message.space_id.to_string())
                    .execute(&mut **tx)
                    .await
                    .map_err(super::map_error)?;
                }
                if let Some(parent) = message.parent_id {
                    sqlx::query("UPDATE message SET chat_count = chat_count + 1 WHERE message_id = $1")
                        .bind(parent.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(super::map_error)?;
                }
                Ok(())
            }

            /// `Store::insert_message` in a transaction of its own.
            pub(super) async fn insert_message_alone(
                writer: &sqlx::Pool<$db>,
                message: &plaza_db::MessageRecord,
                is_activity: bool,
            ) -> StoreResult<()> {
                let mut tx = writer.begin().await.map_err(super::map_error)?;
                insert_message(&mut tx, message, is_activity).await?;
                tx.commit().await.map_err(super::map_error)?;
                Ok(())
            }

            pub(super) const MEETING_COLUMNS: &str =
                "meeting_id, space_id, state, version, started, ended, due_at";

            pub(super) fn meeting(row: &DbRow) -> StoreResult<plaza_db::MeetingRecord> {
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

            pub(super) const FILE_COLUMNS: &str = "file_key, owner_id, space_id, name, content_type, \
                content_length, state, thumbnail_key, created, expires_at";

            pub(super) fn file(row: &DbRow) -> StoreResult<plaza_db::FileRecord> {
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

            /// Inserts a file row.
            pub(super) async fn put_file<'e, E>(executor: E, f: &plaza_db::FileRecord) -> StoreResult<()>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let sql = format!(
                    "INSERT INTO stored_file ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(f.key.clone())
                    .bind(f.owner_id.to_string())
                    .bind(f.space_id.map(|s| s.to_string()))
                    .bind(f.name.clone())
                    .bind(f.content_type.clone())
                    .bind(f.content_length)
                    .bind(f.state.as_str())
                    .bind(f.thumbnail_key.clone())
                    .bind(f.created.millis())
                    .bind(f.expires_at.map(Timestamp::millis))
                    .execute(executor)
                    .await
                    .map_err(super::map_error)?;
                Ok(())
            }

            /// Replaces the rows that index the files a message attaches.
            pub(super) async fn put_message_files(
                tx: &mut sqlx::Transaction<'_, $db>,
                message: &plaza_db::MessageRecord,
                replacing: bool,
            ) -> StoreResult<()> {
                // A new message has no rows yet: skipping the delete saves a statement a send.
                if replacing {
                    sqlx::query("DELETE FROM message_file WHERE message_id = $1")
                        .bind(message.id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(super::map_error)?;
                }
                for key in message.file_keys() {
                    sqlx::query("INSERT INTO message_file (message_id, file_key) VALUES ($1, $2)")
                        .bind(message.id.to_string())
                        .bind(key)
                        .execute(&mut **tx)
                        .await
                        .map_err(super::map_error)?;
                }
                Ok(())
            }

            pub(super) fn token(row: &DbRow) -> StoreResult<OAuthTokenRecord> {
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
        }

        // The only dynamic SQL below splices the constant column lists above into
        // otherwise literal statements; every value travels as a bound parameter.
        #[async_trait::async_trait]
        impl plaza_db::Store for $store {
            async fn ping(&self) -> plaza_db::StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_error)?;
                Ok(())
            }

            fn connections(&self) -> (u64, u64) {
                self.open_connections()
            }

        }

        #[async_trait::async_trait]
        impl plaza_db::IdentityStore for $store {
            async fn insert_user(&self, user: &plaza_db::UserRecord) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO app_user ({}, username_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    sql_rows::USER_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user.id.to_string())
                    .bind(user.kind.as_str())
                    .bind(&user.username)
                    .bind(&user.displayname)
                    .bind(&user.password_hash)
                    .bind(&user.picture_url)
                    .bind(&user.timezone)
                    .bind(user.phone_numbers.to_string())
                    .bind(user.is_server_admin)
                    .bind(user.disabled)
                    .bind(user.created.millis())
                    .bind(user.modified.millis())
                    .bind(user.expires_at.map(plaza_db::Timestamp::millis))
                    .bind(user.credentials_after.map(plaza_db::Timestamp::millis))
                    .bind(user.username_key())
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn user_by_id(
                &self,
                id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::UserRecord>> {
                let sql =
                    format!("SELECT {} FROM app_user WHERE user_id = $1", sql_rows::USER_COLUMNS);
                sql_rows::optional(&self.pool, sql, id.to_string(), sql_rows::user).await
            }

            async fn user_by_username(
                &self,
                username: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::UserRecord>> {
                let sql = format!(
                    "SELECT {} FROM app_user WHERE username_key = $1",
                    sql_rows::USER_COLUMNS
                );
                sql_rows::optional(&self.pool, sql, username.to_lowercase(), sql_rows::user).await
            }

            async fn list_users(
                &self,
                after: Option<plaza_db::ObjectId>,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<plaza_db::UserRecord>> {
                // In the order accounts were made: (created, id) after the anchor's, or
                // after its id's second when it is gone. Every id is 24 hex digits, so
                // with no anchor the empty string sorts before all of them.
                let sql = format!(
                    "SELECT {} FROM app_user WHERE kind <> 'anonymous' \
                     AND (created, user_id) > (COALESCE((SELECT anchor.created FROM app_user anchor \
                     WHERE anchor.user_id = $1), $3), $1) \
                     ORDER BY created, user_id LIMIT $2",
                    sql_rows::USER_COLUMNS
                );
                let after_created = after.map_or(i64::MIN, |id| i64::from(id.seconds()) * 1000);
                let after = after.map(|id| id.to_string()).unwrap_or_default();
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after)
                    .bind(i64::from(limit))
                    .bind(after_created)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_error)?;
                rows.iter().map(sql_rows::user).collect()
            }

            async fn set_user_disabled(
                &self,
                id: plaza_db::ObjectId,
                disabled: bool,
            ) -> plaza_db::StoreResult<()> {
                sql_rows::set_user_flag(&self.writer, "disabled", id, disabled).await
            }

            async fn set_password_hash(
                &self,
                id: plaza_db::ObjectId,
                hash: &str,
            ) -> plaza_db::StoreResult<()> {
                let now = plaza_db::Timestamp::now().millis();
                let done = sqlx::query(
                    "UPDATE app_user SET password_hash = $1, modified = $2, credentials_after = $2 \
                     WHERE user_id = $3",
                )
                .bind(hash)
                .bind(now)
                .bind(id.to_string())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                if done.rows_affected() == 0 {
                    return Err(plaza_db::StoreError::NotFound);
                }
                Ok(())
            }

            async fn set_server_admin(
                &self,
                id: plaza_db::ObjectId,
                admin: bool,
            ) -> plaza_db::StoreResult<()> {
                sql_rows::set_user_flag(&self.writer, "is_server_admin", id, admin).await
            }

            async fn claim_first_admin(&self) -> plaza_db::StoreResult<bool> {
                // A conditional update is atomic on both engines: one caller flips the
                // mark, every other caller matches no row.
                let done = sqlx::query(
                    "UPDATE plaza_meta SET value = '1' \
                     WHERE meta_key = 'first_admin_claimed' AND value = '0'",
                )
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(done.rows_affected() == 1)
            }


            async fn user_settings(
                &self,
                user_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::UserSettingsRecord>> {
                let row = sqlx::query(
                    "SELECT settings_id, user_id, settings, modified FROM user_settings \
                     WHERE user_id = $1",
                )
                .bind(user_id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_error)?;
                row.as_ref().map(sql_rows::settings).transpose()
            }

            async fn put_user_settings(
                &self,
                settings: &plaza_db::UserSettingsRecord,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO user_settings (user_id, settings_id, settings, modified) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id) DO UPDATE SET settings_id = excluded.settings_id, \
                     settings = excluded.settings, modified = excluded.modified",
                )
                .bind(settings.user_id.to_string())
                .bind(settings.id.to_string())
                .bind(serde_json::Value::Object(settings.settings.clone()).to_string())
                .bind(settings.modified.millis())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(())
            }


            async fn insert_registration_invite(
                &self,
                email: &str,
                invited_by: Option<plaza_db::ObjectId>,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO registration_invite (email_key, invited_by, created) \
                     VALUES ($1, $2, $3) ON CONFLICT (email_key) DO NOTHING",
                )
                .bind(email.to_lowercase())
                .bind(invited_by.map(|id| id.to_string()))
                .bind(at.millis())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            async fn take_registration_invite(&self, email: &str) -> plaza_db::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM registration_invite WHERE email_key = $1")
                    .bind(email.to_lowercase())
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(done.rows_affected() > 0)
            }


            async fn revoke_jwt(
                &self,
                jti: &str,
                expires_at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO revoked_jwt (jti, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at.millis())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            async fn is_jwt_revoked(&self, jti: &str) -> plaza_db::StoreResult<bool> {
                let row = sqlx::query("SELECT 1 FROM revoked_jwt WHERE jti = $1")
                    .bind(jti)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(row.is_some())
            }

            async fn purge_expired_credentials(
                &self,
                now: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<u64> {
                let mut purged = 0;
                for (sql, at) in [
                    ("DELETE FROM revoked_jwt WHERE expires_at < $1", now.millis()),
                    ("DELETE FROM oauth_code WHERE expires_at < $1", now.millis()),
                    ("DELETE FROM oauth_token WHERE expires_at < $1", now.millis()),
                    ("DELETE FROM ringing_call WHERE until < $1", now.millis()),
                    ("DELETE FROM used_refresh_token WHERE expires_at < $1", now.millis()),
                    // Rate limits are kept in microseconds.
                    ("DELETE FROM rate_limit WHERE tat < $1", now.millis().saturating_mul(1000)),
                ] {
                    let done = sqlx::query(sql)
                        .bind(at)
                        .execute(&self.writer)
                        .await
                        .map_err(map_error)?;
                    purged += done.rows_affected();
                }
                Ok(purged)
            }


            async fn insert_oauth_client(
                &self,
                client: &plaza_db::OAuthClientRecord,
            ) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO oauth_client ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    sql_rows::CLIENT_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&client.client_id)
                    .bind(client.kind.as_str())
                    .bind(&client.name)
                    .bind(&client.secret_hash)
                    .bind(serde_json::to_string(&client.redirect_uris).map_err(plaza_db::StoreError::other)?)
                    .bind(client.service_user_id.map(|id| id.to_string()))
                    .bind(client.created_by.map(|id| id.to_string()))
                    .bind(client.created.millis())
                    .bind(client.revoked)
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn oauth_client(
                &self,
                client_id: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::OAuthClientRecord>> {
                let sql = format!(
                    "SELECT {} FROM oauth_client WHERE client_id = $1",
                    sql_rows::CLIENT_COLUMNS
                );
                sql_rows::optional(&self.pool, sql, client_id.to_owned(), sql_rows::client).await
            }

            async fn list_oauth_clients(
                &self,
            ) -> plaza_db::StoreResult<Vec<plaza_db::OAuthClientRecord>> {
                let sql = format!(
                    "SELECT {} FROM oauth_client ORDER BY created, client_id",
                    sql_rows::CLIENT_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(map_error)?;
                rows.iter().map(sql_rows::client).collect()
            }

            async fn revoke_oauth_client(&self, client_id: &str) -> plaza_db::StoreResult<()> {
                let mut tx = self.writer.begin().await.map_err(map_error)?;
                let done = sqlx::query("UPDATE oauth_client SET revoked = $1 WHERE client_id = $2")
                    .bind(true)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                if done.rows_affected() == 0 {
                    return Err(plaza_db::StoreError::NotFound);
                }
                for sql in [
                    "DELETE FROM oauth_code WHERE client_id = $1",
                    "DELETE FROM oauth_token WHERE client_id = $1",
                ] {
                    sqlx::query(sql)
                        .bind(client_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                }
                tx.commit().await.map_err(map_error)?;
                Ok(())
            }


            async fn insert_auth_code(
                &self,
                code: &plaza_db::AuthCodeRecord,
            ) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO oauth_code ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    sql_rows::CODE_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&code.code_hash)
                    .bind(&code.client_id)
                    .bind(code.user_id.to_string())
                    .bind(&code.redirect_uri)
                    .bind(&code.scope)
                    .bind(&code.code_challenge)
                    .bind(&code.code_challenge_method)
                    .bind(code.expires_at.millis())
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn take_auth_code(
                &self,
                code_hash: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::AuthCodeRecord>> {
                let sql = format!(
                    "DELETE FROM oauth_code WHERE code_hash = $1 RETURNING {}",
                    sql_rows::CODE_COLUMNS
                );
                sql_rows::optional(&self.writer, sql, code_hash.to_owned(), sql_rows::code).await
            }

            async fn insert_oauth_token(
                &self,
                token: &plaza_db::OAuthTokenRecord,
            ) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO oauth_token ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    sql_rows::TOKEN_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&token.token_hash)
                    .bind(token.kind.as_str())
                    .bind(&token.client_id)
                    .bind(token.user_id.to_string())
                    .bind(&token.scope)
                    .bind(token.expires_at.millis())
                    .bind(token.grant_id.to_string())
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn oauth_token(
                &self,
                token_hash: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::OAuthTokenRecord>> {
                let sql = format!(
                    "SELECT {} FROM oauth_token WHERE token_hash = $1",
                    sql_rows::TOKEN_COLUMNS
                );
                sql_rows::optional(&self.pool, sql, token_hash.to_owned(), sql_rows::token).await
            }

            async fn take_oauth_token(
                &self,
                token_hash: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::OAuthTokenRecord>> {
                let sql = format!(
                    "DELETE FROM oauth_token WHERE token_hash = $1 RETURNING {}",
                    sql_rows::TOKEN_COLUMNS
                );
                sql_rows::optional(&self.writer, sql, token_hash.to_owned(), sql_rows::token).await
            }

            async fn revoke_oauth_grant(
                &self,
                grant_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM oauth_token WHERE grant_id = $1")
                    .bind(grant_id.to_string())
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(done.rows_affected())
            }

            async fn remember_used_refresh(
                &self,
                token_hash: &str,
                grant_id: plaza_db::ObjectId,
                expires_at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO used_refresh_token (token_hash, grant_id, expires_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (token_hash) DO NOTHING",
                )
                .bind(token_hash.to_owned())
                .bind(grant_id.to_string())
                .bind(expires_at.millis())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            async fn used_refresh_grant(
                &self,
                token_hash: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::ObjectId>> {
                let grant: Option<String> = sqlx::query_scalar(
                    "SELECT grant_id FROM used_refresh_token WHERE token_hash = $1",
                )
                .bind(token_hash.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_error)?;
                grant.as_deref().map(sql_rows::id).transpose()
            }

        }

        #[async_trait::async_trait]
        impl plaza_db::SpaceStore for $store {
            async fn insert_space(
                &self,
                space: &plaza_db::SpaceRecord,
                first: &plaza_db::MembershipRecord,
            ) -> plaza_db::StoreResult<()> {
                let mut tx = self.writer.begin().await.map_err(map_error)?;
                sqlx::query(
                    "INSERT INTO space (space_id, kind, title, description, status, settings, \
                     restrict_list, creator_id, unique_key, created, modified) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(space.id.to_string())
                .bind(space.kind.as_str())
                .bind(&space.title)
                .bind(&space.description)
                .bind(space.status.code())
                .bind(serde_json::Value::Object(space.settings.clone()).to_string())
                .bind(serde_json::to_string(&space.restrict).map_err(plaza_db::StoreError::other)?)
                .bind(space.creator_id.to_string())
                .bind(&space.unique_key)
                .bind(space.created.millis())
                .bind(space.modified.millis())
                .execute(&mut *tx)
                .await
                .map_err(map_error)?;
                sql_rows::put_membership(&mut *tx, first).await?;
                tx.commit().await.map_err(map_error)?;
                Ok(())
            }

            async fn space_by_id(
                &self,
                id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::SpaceRecord>> {
                let sql = format!("SELECT {} FROM space s WHERE s.space_id = $1", sql_rows::SPACE_COLUMNS);
                sql_rows::optional(&self.pool, sql, id.to_string(), sql_rows::space).await
            }

            async fn space_by_unique_key(
                &self,
                key: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::SpaceRecord>> {
                let sql = format!("SELECT {} FROM space s WHERE s.unique_key = $1", sql_rows::SPACE_COLUMNS);
                sql_rows::optional(&self.pool, sql, key.to_owned(), sql_rows::space).await
            }

            async fn update_space(&self, space: &plaza_db::SpaceRecord) -> plaza_db::StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE space SET title = $1, description = $2, status = $3, settings = $4, \
                     restrict_list = $5, modified = $6 WHERE space_id = $7",
                )
                .bind(&space.title)
                .bind(&space.description)
                .bind(space.status.code())
                .bind(serde_json::Value::Object(space.settings.clone()).to_string())
                .bind(serde_json::to_string(&space.restrict).map_err(plaza_db::StoreError::other)?)
                .bind(space.modified.millis())
                .bind(space.id.to_string())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                if done.rows_affected() == 0 {
                    return Err(plaza_db::StoreError::NotFound);
                }
                Ok(())
            }

            async fn touch_space_activity(
                &self,
                space_id: plaza_db::ObjectId,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<()> {
                // Only active members: a removed user's entry stops tracking the space.
                sqlx::query(
                    "UPDATE membership SET activity_at = $1 WHERE space_id = $2 AND activity_at < $1 \
                     AND state = 'active'",
                )
                    .bind(at.millis())
                    .bind(space_id.to_string())
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }


            async fn membership(
                &self,
                space_id: plaza_db::ObjectId,
                user_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::MembershipRecord>> {
                let sql = format!(
                    "SELECT {} FROM membership m WHERE m.space_id = $1 AND m.user_id = $2",
                    sql_rows::MEMBER_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(space_id.to_string())
                    .bind(user_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                row.as_ref().map(sql_rows::membership).transpose()
            }

            async fn space_with_membership(
                &self,
                space_id: plaza_db::ObjectId,
                user_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<(plaza_db::SpaceRecord, Option<plaza_db::MembershipRecord>)>> {
                let sql = format!(
                    "SELECT {}, {} FROM space s LEFT JOIN membership m \
                     ON m.space_id = s.space_id AND m.user_id = $2 WHERE s.space_id = $1",
                    sql_rows::SPACE_COLUMNS,
                    sql_rows::MEMBER_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(space_id.to_string())
                    .bind(user_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                let Some(row) = row else { return Ok(None) };
                let space = sql_rows::space(&row)?;
                let member: Option<String> = sqlx::Row::try_get(&row, "m_user_id").map_err(map_error)?;
                let membership = member.map(|_| sql_rows::membership(&row)).transpose()?;
                Ok(Some((space, membership)))
            }

            async fn put_membership(
                &self,
                membership: &plaza_db::MembershipRecord,
            ) -> plaza_db::StoreResult<()> {
                sql_rows::put_membership(&self.writer, membership).await
            }

            async fn update_member_view(
                &self,
                m: &plaza_db::MembershipRecord,
            ) -> plaza_db::StoreResult<bool> {
                let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE membership SET hidden = $1, is_pinned = $2, notification = $3, \
                     read_seq = {}, sent_since_read = 0, messages_last_read_time = $5, \
                     last_access = $6, modified = $7 \
                     WHERE space_id = $8 AND user_id = $9 AND state = 'active'",
                    sql_rows::read_seq_for("$8", "$4")
                )))
                .bind(m.hidden)
                .bind(m.is_pinned)
                .bind(m.notification)
                .bind(m.unread_count)
                .bind(m.messages_last_read_time.map(plaza_db::Timestamp::millis))
                .bind(m.last_access.millis())
                .bind(m.modified.millis())
                .bind(m.space_id.to_string())
                .bind(m.user_id.to_string())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn change_member_keeping_an_admin(
                &self,
                space_id: plaza_db::ObjectId,
                user_id: plaza_db::ObjectId,
                change: plaza_db::MemberChange,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<plaza_db::MemberChangeOutcome> {
                use plaza_db::{MemberChange, MemberChangeOutcome, Role};
                let mut tx = self.writer.begin().await.map_err(map_error)?;
                // Writing the space row first serialises changes per space: a row lock on
                // PostgreSQL, the database write lock on SQLite.
                sqlx::query("UPDATE space SET modified = modified WHERE space_id = $1")
                    .bind(space_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                let current: Option<String> = sqlx::query_scalar(
                    "SELECT role FROM membership WHERE space_id = $1 AND user_id = $2 AND state = 'active'",
                )
                .bind(space_id.to_string())
                .bind(user_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_error)?;
                let Some(current) = current else {
                    return Err(plaza_db::StoreError::NotFound);
                };
                if let MemberChange::Remove { only_if: Some(expected), .. } = change
                    && expected.as_str() != current
                {
                    return Ok(MemberChangeOutcome::RoleChanged);
                }
                let stays_admin = change == MemberChange::SetRole(Role::Admin);
                if current == "admin" && !stays_admin {
                    let other_admins: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM membership WHERE space_id = $1 AND state = 'active' \
                         AND role = 'admin' AND user_id <> $2",
                    )
                    .bind(space_id.to_string())
                    .bind(user_id.to_string())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_error)?;
                    if other_admins == 0 {
                        return Ok(MemberChangeOutcome::LastAdmin);
                    }
                }
                let query = match change {
                    MemberChange::SetRole(role) => sqlx::query(
                        "UPDATE membership SET role = $1, modified = $2 WHERE space_id = $3 AND user_id = $4",
                    )
                    .bind(role.as_str()),
                    MemberChange::Remove { state, .. } => sqlx::query(
                        "UPDATE membership SET state = $1, modified = $2 WHERE space_id = $3 AND user_id = $4",
                    )
                    .bind(state.as_str()),
                };
                query
                    .bind(at.millis())
                    .bind(space_id.to_string())
                    .bind(user_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                tx.commit().await.map_err(map_error)?;
                Ok(MemberChangeOutcome::Done)
            }

            async fn members(
                &self,
                space_id: plaza_db::ObjectId,
                search: Option<&str>,
                offset: u32,
                limit: u32,
            ) -> plaza_db::StoreResult<(Vec<(plaza_db::MembershipRecord, plaza_db::UserRecord)>, u64)> {
                let search_sql = if search.is_some() {
                    " AND (LOWER(u.displayname) LIKE $2 ESCAPE '\\' OR LOWER(u.username) LIKE $2 ESCAPE '\\')"
                } else {
                    " AND $2 = $2"
                };
                let pattern = search.map(sql_rows::contains_pattern).unwrap_or_default();
                let from = format!(
                    "FROM membership m JOIN app_user u ON u.user_id = m.user_id \
                     WHERE m.space_id = $1 AND m.state = 'active'{search_sql}"
                );
                let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {from}")))
                    .bind(space_id.to_string())
                    .bind(&pattern)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_error)?;
                let sql = format!(
                    "SELECT {}, {} {from} ORDER BY {} LIMIT $3 OFFSET $4",
                    sql_rows::MEMBER_COLUMNS,
                    sql_rows::user_columns_of_u(),
                    sql_rows::MEMBER_ORDER
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(space_id.to_string())
                    .bind(&pattern)
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_error)?;
                let members = rows
                    .iter()
                    .map(|row| Ok((sql_rows::membership(row)?, sql_rows::user(row)?)))
                    .collect::<plaza_db::StoreResult<Vec<_>>>()?;
                Ok((members, u64::try_from(total).unwrap_or(0)))
            }

            async fn member_previews(
                &self,
                space_ids: &[plaza_db::ObjectId],
                per_space: u32,
            ) -> plaza_db::StoreResult<Vec<(plaza_db::MembershipRecord, plaza_db::UserRecord)>> {
                if space_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT * FROM (SELECT {}, {}, ROW_NUMBER() OVER (PARTITION BY m.space_id ORDER BY {}) AS rank_in_space \
                     FROM membership m JOIN app_user u ON u.user_id = m.user_id \
                     WHERE m.state = 'active' AND m.space_id IN (",
                    sql_rows::MEMBER_COLUMNS,
                    sql_rows::user_columns_of_u(),
                    sql_rows::MEMBER_ORDER
                ));
                let mut ids = query.separated(", ");
                for id in space_ids {
                    ids.push_bind(id.to_string());
                }
                query.push(")) ranked WHERE rank_in_space <= ");
                query.push_bind(i64::from(per_space));
                let rows = query.build().fetch_all(&self.pool).await.map_err(map_error)?;
                rows.iter().map(|row| Ok((sql_rows::membership(row)?, sql_rows::user(row)?))).collect()
            }

            async fn list_memberships(
                &self,
                user_id: plaza_db::ObjectId,
                filter: &plaza_db::ListingFilter,
                page: plaza_db::ListingPage,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<(plaza_db::SpaceRecord, plaza_db::MembershipRecord)>> {
                let column = if filter.by_last_message { "s.last_message_at" } else { "m.activity_at" };
                // Kinds and statuses come from our enums, so they are spliced as literals.
                let kinds = filter.kinds.iter().map(|k| format!("'{}'", k.as_str())).collect::<Vec<_>>().join(", ");
                let statuses = filter.statuses.iter().map(|s| s.code().to_string()).collect::<Vec<_>>().join(", ");
                let mut query = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {}, {} FROM membership m JOIN space s ON s.space_id = m.space_id WHERE m.user_id = ",
                    sql_rows::SPACE_COLUMNS,
                    sql_rows::MEMBER_COLUMNS
                ));
                query.push_bind(user_id.to_string());
                if kinds.is_empty() || statuses.is_empty() {
                    return Ok(Vec::new());
                }
                query.push(format!(" AND s.kind IN ({kinds}) AND s.status IN ({statuses})"));
                if filter.pinned_only {
                    query.push(" AND m.is_pinned = ").push_bind(true);
                }
                // Spaces a user left are gone from their list, deleted entries included.
                query.push(" AND m.state <> 'left'");
                if !filter.include_deleted {
                    query
                        .push(" AND m.state = 'active' AND m.hidden = ")
                        .push_bind(false)
                        .push(" AND NOT (s.status = 1 AND m.role <> 'admin')");
                }
                if let Some(after) = filter.after {
                    query
                        .push(" AND (m.activity_at > ")
                        .push_bind(after.millis())
                        .push(" OR m.modified > ")
                        .push_bind(after.millis())
                        .push(")");
                }
                let descending = match page {
                    plaza_db::ListingPage::Offset(_) | plaza_db::ListingPage::After(None) => true,
                    plaza_db::ListingPage::After(Some(cursor)) => {
                        query
                            .push(format!(" AND ({column}, m.space_id) < ("))
                            .push_bind(cursor.time)
                            .push(", ")
                            .push_bind(cursor.id.to_string())
                            .push(")");
                        true
                    }
                    plaza_db::ListingPage::Before(cursor) => {
                        query
                            .push(format!(" AND ({column}, m.space_id) > ("))
                            .push_bind(cursor.time)
                            .push(", ")
                            .push_bind(cursor.id.to_string())
                            .push(")");
                        false
                    }
                };
                let direction = if descending { "DESC" } else { "ASC" };
                query.push(format!(" ORDER BY {column} {direction}, m.space_id {direction} LIMIT "));
                query.push_bind(i64::from(limit));
                if let plaza_db::ListingPage::Offset(offset) = page {
                    query.push(" OFFSET ").push_bind(i64::from(offset));
                }
                let rows = query.build().fetch_all(&self.pool).await.map_err(map_error)?;
                let mut page_rows = rows
                    .iter()
                    .map(|row| Ok((sql_rows::space(row)?, sql_rows::membership(row)?)))
                    .collect::<plaza_db::StoreResult<Vec<_>>>()?;
                if !descending {
                    page_rows.reverse();
                }
                Ok(page_rows)
            }

            async fn colleagues(
                &self,
                user_id: plaza_db::ObjectId,
                search: Option<&str>,
                offset: u32,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<plaza_db::UserRecord>> {
                sql_rows::people(&self.pool, user_id, false, search, offset, limit).await
            }

            async fn direct_partners(
                &self,
                user_id: plaza_db::ObjectId,
                search: Option<&str>,
                offset: u32,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<plaza_db::UserRecord>> {
                sql_rows::people(&self.pool, user_id, true, search, offset, limit).await
            }


            async fn insert_invitation(
                &self,
                invitation: &plaza_db::InvitationRecord,
            ) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO invitation ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    sql_rows::INVITATION_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(invitation.id.to_string())
                    .bind(invitation.space_id.to_string())
                    .bind(&invitation.invitee_type)
                    .bind(&invitation.invitee)
                    .bind(invitation.role.as_str())
                    .bind(invitation.invited_by.to_string())
                    .bind(invitation.created.millis())
                    .bind(invitation.accepted_by.map(|id| id.to_string()))
                    .bind(invitation.accepted_at.map(plaza_db::Timestamp::millis))
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn invitation(
                &self,
                id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::InvitationRecord>> {
                let sql = format!(
                    "SELECT {} FROM invitation WHERE invitation_id = $1",
                    sql_rows::INVITATION_COLUMNS
                );
                sql_rows::optional(&self.pool, sql, id.to_string(), sql_rows::invitation).await
            }

            async fn accept_invitation(
                &self,
                id: plaza_db::ObjectId,
                user_id: plaza_db::ObjectId,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE invitation SET accepted_by = $1, accepted_at = $2 \
                     WHERE invitation_id = $3 AND accepted_by IS NULL",
                )
                .bind(user_id.to_string())
                .bind(at.millis())
                .bind(id.to_string())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(done.rows_affected() == 1)
            }

        }

        #[async_trait::async_trait]
        impl plaza_db::MessageStore for $store {
            async fn insert_message(
                &self,
                message: &plaza_db::MessageRecord,
                is_activity: bool,
            ) -> plaza_db::StoreResult<()> {
                // The backend decides how a send reaches the database: PostgreSQL writes
                // each in its own transaction, SQLite batches concurrent ones.
                self.write_message(message, is_activity).await
            }

            async fn message(
                &self,
                id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::MessageRecord>> {
                let sql = format!("SELECT {} FROM message WHERE message_id = $1", sql_rows::MESSAGE_COLUMNS);
                sql_rows::optional(&self.pool, sql, id.to_string(), sql_rows::message).await
            }

            async fn update_message(
                &self,
                message: &plaza_db::MessageRecord,
                expected_modified: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<bool> {
                let mut tx = self.writer.begin().await.map_err(map_error)?;
                let done = sqlx::query(
                    "UPDATE message SET content = $1, modified = $2, search_text = $3, \
                     has_files = $4, task_status = $5 \
                     WHERE message_id = $6 AND modified = $7 AND deleted = $8",
                )
                .bind(serde_json::Value::Object(message.content.clone()).to_string())
                .bind(message.modified.millis())
                .bind(message.search_text())
                .bind(message.has_files())
                .bind(message.task_status())
                .bind(message.id.to_string())
                .bind(expected_modified.millis())
                .bind(false)
                .execute(&mut *tx)
                .await
                .map_err(map_error)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                sql_rows::put_assignees(&mut tx, message, true).await?;
                sql_rows::put_message_files(&mut tx, message, true).await?;
                tx.commit().await.map_err(map_error)?;
                Ok(true)
            }

            async fn delete_message(
                &self,
                id: plaza_db::ObjectId,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<bool> {
                let mut tx = self.writer.begin().await.map_err(map_error)?;
                let parent: Option<Option<String>> = sqlx::query_scalar(
                    "UPDATE message SET deleted = $1, content = '{}', modified = $2, \
                     search_text = '', has_files = $4, task_status = NULL \
                     WHERE message_id = $3 AND deleted = $4 RETURNING parent_id",
                )
                .bind(true)
                .bind(at.millis())
                .bind(id.to_string())
                .bind(false)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_error)?;
                let Some(parent) = parent else {
                    return Ok(false);
                };
                sqlx::query("DELETE FROM message_assignee WHERE message_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                sqlx::query("DELETE FROM message_file WHERE message_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                if let Some(parent) = parent {
                    sqlx::query("UPDATE message SET chat_count = chat_count - 1 WHERE message_id = $1 AND chat_count > 0")
                        .bind(parent)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                }
                tx.commit().await.map_err(map_error)?;
                Ok(true)
            }

            async fn query_messages(
                &self,
                filter: &plaza_db::MessageQuery,
            ) -> plaza_db::StoreResult<Vec<plaza_db::MessageRecord>> {
                use plaza_db::{MessageOrder, MessageScope, Thread};
                if filter.categories.is_empty() || filter.limit == 0 {
                    return Ok(Vec::new());
                }
                let columns = sql_rows::MESSAGE_COLUMNS
                    .split(", ")
                    .map(|c| format!("m.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut query = sqlx::QueryBuilder::<$db>::new(format!("SELECT {columns} FROM message m"));
                match &filter.scope {
                    MessageScope::Spaces(spaces) => {
                        if spaces.is_empty() {
                            return Ok(Vec::new());
                        }
                        query.push(" WHERE (");
                        for (i, (space_id, since)) in spaces.iter().enumerate() {
                            if i > 0 {
                                query.push(" OR ");
                            }
                            query.push("(m.space_id = ").push_bind(space_id.to_string());
                            query.push(" AND m.created >= ").push_bind(since.map_or(i64::MIN, plaza_db::Timestamp::millis));
                            query.push(")");
                        }
                        query.push(")");
                    }
                    MessageScope::MemberOf(user_id) => {
                        query
                            .push(" JOIN membership ms ON ms.space_id = m.space_id AND ms.user_id = ")
                            .push_bind(user_id.to_string())
                            .push(" AND ms.state = 'active'")
                            .push(" JOIN space s ON s.space_id = m.space_id AND s.status <> 2")
                            .push(" AND (ms.role <> 'guest' OR m.created >= ms.join_time")
                            .push(" OR s.restrict_list NOT LIKE '%\"deny_guest_access_history_msg\"%') WHERE 1 = 1");
                    }
                }
                // Categories come from our enum, so they are spliced as literals.
                let categories = filter.categories.iter().map(|c| format!("'{}'", c.as_str())).collect::<Vec<_>>().join(", ");
                query.push(format!(" AND m.category IN ({categories})"));
                match filter.thread {
                    Thread::TopLevel => {
                        query.push(" AND m.parent_id IS NULL");
                    }
                    Thread::CommentsOn(parent) => {
                        query.push(" AND m.parent_id = ").push_bind(parent.to_string());
                    }
                    Thread::CommentsOnCategory(category) => {
                        query.push(format!(" AND m.parent_category = '{}'", category.as_str()));
                    }
                    Thread::Any => {}
                }
                if filter.files_only {
                    query.push(" AND m.has_files = ").push_bind(true);
                }
                if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
                    let escaped = search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    query.push(" AND m.search_text LIKE ").push_bind(format!("%{escaped}%")).push(" ESCAPE '\\'");
                }
                if !filter.include_deleted {
                    query.push(" AND m.deleted = ").push_bind(false);
                }
                if let Some(sender) = filter.sender {
                    query.push(" AND m.sender_id = ").push_bind(sender.to_string());
                }
                if let Some(assignee) = filter.assignee {
                    query
                        .push(" AND m.message_id IN (SELECT a.message_id FROM message_assignee a WHERE a.user_id = ")
                        .push_bind(assignee.to_string())
                        .push(")");
                }
                if let Some(status) = &filter.task_status {
                    query.push(" AND m.task_status = ").push_bind(status.clone());
                }
                let key = match filter.order {
                    MessageOrder::Created => "m.created",
                    MessageOrder::Modified => "m.modified",
                    MessageOrder::Stored => "m.seq",
                };
                if filter.order == MessageOrder::Stored {
                    // Positions are messages: compared by their sequence in the space.
                    for (bound, comparison) in [(filter.after, ">"), (filter.before, "<")] {
                        if let Some((_, id)) = bound {
                            query
                                .push(format!(" AND m.seq {comparison} COALESCE((SELECT anchor.seq FROM message anchor WHERE anchor.message_id = "))
                                .push_bind(id.to_string())
                                .push(format!(" AND anchor.space_id = m.space_id), {})", if comparison == ">" { "-1" } else { "0" }));
                        }
                    }
                } else if let Some((at, id)) = filter.after {
                    query.push(format!(" AND ({key}, m.message_id) > ("))
                        .push_bind(at.millis())
                        .push(", ")
                        .push_bind(id.to_string())
                        .push(")");
                }
                if let Some((at, id)) = filter.before.filter(|_| filter.order != MessageOrder::Stored) {
                    query.push(format!(" AND ({key}, m.message_id) < ("))
                        .push_bind(at.millis())
                        .push(", ")
                        .push_bind(id.to_string())
                        .push(")");
                }
                let direction = if filter.newest_first { "DESC" } else { "ASC" };
                query
                    .push(format!(" ORDER BY {key} {direction}, m.message_id {direction} LIMIT "))
                    .push_bind(i64::from(filter.limit));
                let rows = query.build().fetch_all(&self.pool).await.map_err(map_error)?;
                rows.iter().map(sql_rows::message).collect()
            }
        }

        #[async_trait::async_trait]
        impl plaza_db::FileStore for $store {
            async fn insert_file(&self, file: &plaza_db::FileRecord) -> plaza_db::StoreResult<()> {
                sql_rows::put_file(&self.writer, file).await
            }

            async fn file(&self, key: &str) -> plaza_db::StoreResult<Option<plaza_db::FileRecord>> {
                let sql = format!("SELECT {} FROM stored_file WHERE file_key = $1", sql_rows::FILE_COLUMNS);
                sql_rows::optional(&self.pool, sql, key.to_owned(), sql_rows::file).await
            }

            async fn complete_file(
                &self,
                key: &str,
                at: plaza_db::Timestamp,
                thumbnail: Option<&plaza_db::FileRecord>,
            ) -> plaza_db::StoreResult<bool> {
                let mut tx = self.writer.begin().await.map_err(map_error)?;
                if let Some(thumbnail) = thumbnail {
                    sql_rows::put_file(&mut *tx, thumbnail).await?;
                }
                let done = sqlx::query(
                    "UPDATE stored_file SET state = 'ready', expires_at = NULL, thumbnail_key = $1 \
                     WHERE file_key = $2 AND state = 'pending' AND expires_at >= $3",
                )
                .bind(thumbnail.map(|t| t.key.clone()))
                .bind(key.to_owned())
                .bind(at.millis())
                .execute(&mut *tx)
                .await
                .map_err(map_error)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                tx.commit().await.map_err(map_error)?;
                Ok(true)
            }

            async fn name_file(&self, key: &str, name: &str) -> plaza_db::StoreResult<()> {
                sqlx::query("UPDATE stored_file SET name = $1 WHERE file_key = $2 AND name IS NULL")
                    .bind(name.to_owned())
                    .bind(key.to_owned())
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn user_statistics(
                &self,
                user_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<plaza_db::UserStatistics> {
                let (spaces, messages, meetings): (i64, i64, i64) = sqlx::query_as(
                    "SELECT \
                       (SELECT COUNT(*) FROM membership m JOIN space s ON s.space_id = m.space_id \
                        WHERE m.user_id = $1 AND m.state = 'active' AND s.status <> 2), \
                       (SELECT COUNT(*) FROM message WHERE sender_id = $1 AND NOT deleted \
                        AND category <> 'meeting'), \
                       (SELECT COUNT(*) FROM meeting mt JOIN membership m ON m.space_id = mt.space_id \
                        JOIN space s ON s.space_id = m.space_id \
                        WHERE m.user_id = $1 AND m.state = 'active' AND s.status <> 2)",
                )
                .bind(user_id.to_string())
                .fetch_one(&self.pool)
                .await
                .map_err(map_error)?;
                Ok(plaza_db::UserStatistics { spaces, messages, meetings })
            }

            async fn file_bytes_of(
                &self,
                owner_id: plaza_db::ObjectId,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<i64> {
                let total: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(SUM(content_length) AS BIGINT) FROM stored_file WHERE owner_id = $1 \
                     AND (state = 'ready' OR expires_at >= $2)",
                )
                .bind(owner_id.to_string())
                .bind(at.millis())
                .fetch_one(&self.pool)
                .await
                .map_err(map_error)?;
                Ok(total.unwrap_or(0))
            }

            async fn take_expired_files(
                &self,
                at: plaza_db::Timestamp,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<plaza_db::FileRecord>> {
                let sql = format!(
                    "DELETE FROM stored_file WHERE file_key IN (SELECT file_key FROM stored_file \
                     WHERE state = 'pending' AND expires_at < $1 LIMIT $2) \
                     AND state = 'pending' RETURNING {}",
                    sql_rows::FILE_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(at.millis())
                    .bind(i64::from(limit))
                    .fetch_all(&self.writer)
                    .await
                    .map_err(map_error)?;
                rows.iter().map(sql_rows::file).collect()
            }

            async fn file_readable_through_message(
                &self,
                key: &str,
                user_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<bool> {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(1 AS BIGINT) FROM message_file f \
                     JOIN message m ON m.message_id = f.message_id AND m.deleted = $1 \
                     JOIN space s ON s.space_id = m.space_id AND s.status <> 2 \
                     JOIN membership ms ON ms.space_id = m.space_id AND ms.user_id = $2 \
                       AND ms.state = 'active' AND (ms.role <> 'guest' OR m.created >= ms.join_time \
                       OR s.restrict_list NOT LIKE '%\"deny_guest_access_history_msg\"%') \
                     WHERE f.file_key = $3 LIMIT 1",
                )
                .bind(false)
                .bind(user_id.to_string())
                .bind(key.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_error)?;
                Ok(found.is_some())
            }

            async fn secret(
                &self,
                name: &str,
                candidate: &str,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<String> {
                sqlx::query(
                    "INSERT INTO server_secret (name, value, created) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name.to_owned())
                .bind(candidate.to_owned())
                .bind(at.millis())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                sqlx::query_scalar("SELECT value FROM server_secret WHERE name = $1")
                    .bind(name.to_owned())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_error)
            }
        }

        #[async_trait::async_trait]
        impl plaza_db::MeetingStore for $store {
            async fn start_meeting(
                &self,
                meeting: &plaza_db::MeetingRecord,
                summary: &plaza_db::MessageRecord,
            ) -> plaza_db::StoreResult<()> {
                let mut tx = self.writer.begin().await.map_err(map_error)?;
                // The meeting first: a second start in the same space fails here, before
                // any history is written.
                let sql = format!(
                    "INSERT INTO meeting ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    sql_rows::MEETING_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(meeting.id.to_string())
                    .bind(meeting.space_id.to_string())
                    .bind(meeting.state.to_string())
                    .bind(meeting.version)
                    .bind(meeting.started.millis())
                    .bind(meeting.ended.map(plaza_db::Timestamp::millis))
                    .bind(meeting.due_at.map(plaza_db::Timestamp::millis))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                sql_rows::insert_message(&mut tx, summary, false).await?;
                tx.commit().await.map_err(map_error)?;
                Ok(())
            }

            async fn meeting(
                &self,
                id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::MeetingRecord>> {
                let sql = format!("SELECT {} FROM meeting WHERE meeting_id = $1", sql_rows::MEETING_COLUMNS);
                sql_rows::optional(&self.pool, sql, id.to_string(), sql_rows::meeting).await
            }

            async fn active_meeting(
                &self,
                space_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::MeetingRecord>> {
                let sql = format!(
                    "SELECT {} FROM meeting WHERE space_id = $1 AND ended IS NULL",
                    sql_rows::MEETING_COLUMNS
                );
                sql_rows::optional(&self.pool, sql, space_id.to_string(), sql_rows::meeting).await
            }

            async fn save_meeting(
                &self,
                meeting: &plaza_db::MeetingRecord,
                summary: &serde_json::Map<String, serde_json::Value>,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<bool> {
                let mut tx = self.writer.begin().await.map_err(map_error)?;
                let done = sqlx::query(
                    "UPDATE meeting SET state = $1, version = $2, ended = $3, due_at = $4 \
                     WHERE meeting_id = $5 AND version = $6",
                )
                .bind(meeting.state.to_string())
                .bind(meeting.version)
                .bind(meeting.ended.map(plaza_db::Timestamp::millis))
                .bind(meeting.due_at.map(plaza_db::Timestamp::millis))
                .bind(meeting.id.to_string())
                .bind(meeting.version - 1)
                .execute(&mut *tx)
                .await
                .map_err(map_error)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                sqlx::query("UPDATE message SET content = $1, modified = $2 WHERE message_id = $3")
                    .bind(serde_json::Value::Object(summary.clone()).to_string())
                    .bind(at.millis())
                    .bind(meeting.id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                tx.commit().await.map_err(map_error)?;
                Ok(true)
            }

            async fn meetings(
                &self,
                space_id: plaza_db::ObjectId,
                since: Option<plaza_db::Timestamp>,
                before: Option<plaza_db::ObjectId>,
                limit: u32,
            ) -> plaza_db::StoreResult<(Vec<plaza_db::MeetingRecord>, i64)> {
                let since = since.map_or(i64::MIN, plaza_db::Timestamp::millis);
                // Newest first by (started, id): "before this meeting" is a keyset bound at
                // that meeting's start, or at its id's second when it is gone. With no
                // bound, the id sorts after every id and the time after every time.
                let (before_started, before) = match before {
                    Some(id) => (i64::from(id.seconds()) * 1000, id.to_string()),
                    None => (i64::MAX, "g".repeat(24)),
                };
                let sql = format!(
                    "SELECT {} FROM meeting WHERE space_id = $1 AND started >= $2 \
                     AND (started, meeting_id) < (COALESCE((SELECT anchor.started FROM meeting anchor \
                     WHERE anchor.meeting_id = $3), $5), $3) \
                     ORDER BY started DESC, meeting_id DESC LIMIT $4",
                    sql_rows::MEETING_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(space_id.to_string())
                    .bind(since)
                    .bind(before)
                    .bind(i64::from(limit))
                    .bind(before_started)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_error)?;
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM meeting WHERE space_id = $1 AND started >= $2",
                )
                .bind(space_id.to_string())
                .bind(since)
                .fetch_one(&self.pool)
                .await
                .map_err(map_error)?;
                Ok((rows.iter().map(sql_rows::meeting).collect::<plaza_db::StoreResult<_>>()?, total))
            }

            async fn due_meetings(
                &self,
                at: plaza_db::Timestamp,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<plaza_db::MeetingRecord>> {
                let sql = format!(
                    "SELECT {} FROM meeting WHERE due_at <= $1 AND ended IS NULL \
                     ORDER BY due_at LIMIT $2",
                    sql_rows::MEETING_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(at.millis())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_error)?;
                rows.iter().map(sql_rows::meeting).collect()
            }

            async fn active_meetings(
                &self,
                after: Option<plaza_db::ObjectId>,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<plaza_db::MeetingRecord>> {
                let sql = format!(
                    "SELECT {} FROM meeting WHERE ended IS NULL AND meeting_id > $1 \
                     ORDER BY meeting_id LIMIT $2",
                    sql_rows::MEETING_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after.map(|a| a.to_string()).unwrap_or_default())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_error)?;
                rows.iter().map(sql_rows::meeting).collect()
            }
        }

        #[async_trait::async_trait]
        impl plaza_db::ClusterStore for $store {
            async fn beat_node(
                &self,
                node_id: &str,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO node (node_id, seen_at) VALUES ($1, $2) \
                     ON CONFLICT (node_id) DO UPDATE SET seen_at = excluded.seen_at",
                )
                .bind(node_id.to_owned())
                .bind(at.millis())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            async fn take_dead_nodes(
                &self,
                before: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<Vec<String>> {
                sqlx::query_scalar("DELETE FROM node WHERE seen_at < $1 RETURNING node_id")
                    .bind(before.millis())
                    .fetch_all(&self.writer)
                    .await
                    .map_err(map_error)
            }

            async fn take_rate(
                &self,
                key: &str,
                now_micros: i64,
                interval_micros: i64,
                burst: i64,
            ) -> plaza_db::StoreResult<Option<i64>> {
                // GCRA in one upsert: the row moves on only when the action is allowed.
                let moved: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO rate_limit (limit_key, tat) VALUES ($1, $2 + $3) \
                     ON CONFLICT (limit_key) DO UPDATE SET tat = \
                       (CASE WHEN rate_limit.tat > $2 THEN rate_limit.tat ELSE $2 END) + $3 \
                     WHERE (CASE WHEN rate_limit.tat > $2 THEN rate_limit.tat ELSE $2 END) \
                       + $3 - $4 * $3 <= $2 \
                     RETURNING tat",
                )
                .bind(key.to_owned())
                .bind(now_micros)
                .bind(interval_micros)
                .bind(burst)
                .fetch_optional(&self.writer)
                .await
                .map_err(map_error)?;
                if moved.is_some() {
                    return Ok(None);
                }
                let tat: i64 = sqlx::query_scalar("SELECT tat FROM rate_limit WHERE limit_key = $1")
                    .bind(key.to_owned())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(Some((tat + interval_micros - burst * interval_micros - now_micros).max(1)))
            }

            async fn ring_call(
                &self,
                call_id: &str,
                until: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO ringing_call (call_id, until) VALUES ($1, $2) \
                     ON CONFLICT (call_id) DO UPDATE SET until = excluded.until",
                )
                .bind(call_id.to_owned())
                .bind(until.millis())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            async fn answer_call(
                &self,
                call_id: &str,
                now: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<bool> {
                let taken: Option<i64> = sqlx::query_scalar(
                    "DELETE FROM ringing_call WHERE call_id = $1 RETURNING until",
                )
                .bind(call_id.to_owned())
                .fetch_optional(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(taken.is_some_and(|until| until >= now.millis()))
            }

        }

        #[async_trait::async_trait]
        impl plaza_db::AuditStore for $store {
            async fn insert_audit_event(
                &self,
                event: &plaza_db::AuditRecord,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_event (event_id, at, actor_id, actor_name, action, \
                     target_kind, target_id, space_id, client_ip, details) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(event.id.to_string())
                .bind(event.at.millis())
                .bind(event.actor_id.map(|id| id.to_string()))
                .bind(event.actor_name.clone())
                .bind(event.action.clone())
                .bind(event.target_kind.clone())
                .bind(event.target_id.clone())
                .bind(event.space_id.map(|id| id.to_string()))
                .bind(event.client_ip.clone())
                .bind(event.details.to_string())
                .execute(&self.writer)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            async fn audit_events(
                &self,
                query: &plaza_db::AuditQuery,
            ) -> plaza_db::StoreResult<Vec<plaza_db::AuditRecord>> {
                let mut sql = sqlx::QueryBuilder::<$db>::new(
                    "SELECT event_id, at, actor_id, actor_name, action, target_kind, target_id, \
                     space_id, client_ip, details FROM audit_event WHERE 1 = 1",
                );
                match query.action.as_deref() {
                    Some(prefix) if prefix.ends_with('.') => {
                        // substr, not LIKE: action names may hold `_`, a LIKE wildcard.
                        let length = i32::try_from(prefix.len()).unwrap_or(i32::MAX);
                        sql.push(" AND substr(action, 1, ").push_bind(length).push(") = ");
                        sql.push_bind(prefix.to_owned());
                    }
                    Some(action) => {
                        sql.push(" AND action = ").push_bind(action.to_owned());
                    }
                    None => {}
                }
                if let Some(actor) = query.actor_id {
                    sql.push(" AND actor_id = ").push_bind(actor.to_string());
                }
                if let Some(target) = &query.target_id {
                    sql.push(" AND target_id = ").push_bind(target.clone());
                }
                if let Some(space) = query.space_id {
                    sql.push(" AND space_id = ").push_bind(space.to_string());
                }
                if let Some(before) = query.before {
                    // Newest first by (at, id); a purged anchor bounds at its id's second.
                    sql.push(" AND (at, event_id) < (COALESCE((SELECT anchor.at FROM audit_event anchor WHERE anchor.event_id = ")
                        .push_bind(before.to_string())
                        .push("), ")
                        .push_bind(i64::from(before.seconds()) * 1000)
                        .push("), ")
                        .push_bind(before.to_string())
                        .push(")");
                }
                sql.push(" ORDER BY at DESC, event_id DESC LIMIT ").push_bind(i64::from(query.limit));
                let rows = sql.build().fetch_all(&self.pool).await.map_err(map_error)?;
                rows.iter().map(sql_rows::audit_event).collect()
            }

            async fn purge_audit_events(
                &self,
                before: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM audit_event WHERE at < $1")
                    .bind(before.millis())
                    .execute(&self.writer)
                    .await
                    .map_err(map_error)?;
                Ok(done.rows_affected())
            }
        }
        $crate::impl_mail_store!($store, $db);
    };
}
