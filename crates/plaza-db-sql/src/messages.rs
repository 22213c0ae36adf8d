//! Messages, their assignees and attached files: the SQL of [`plaza_db::MessageStore`],
//! and the statements of a send ([`MessageSql`]), which the backends' `write_message`
//! uses too (SQLite's group commit builds its multi-row insert from them).

use std::future::Future;

use plaza_db::{MessageRecord, StoreResult};

use crate::SqlBackend;

/// The statements of a send, implemented by [`impl_message_store!`].
pub trait MessageSql: SqlBackend {
    /// The head of an insert of message rows, each pushed by
    /// [`MessageSql::push_message_row`].
    fn message_insert() -> sqlx::QueryBuilder<Self::Db>;

    /// One row of [`MessageSql::message_insert`]: the message numbered `seq`, with the
    /// columns derived from its content and its parent's category read in the same
    /// statement.
    fn push_message_row(
        row: sqlx::query_builder::Separated<'_, Self::Db, &'static str>,
        message: &MessageRecord,
        seq: i64,
    );

    /// `MessageStore::insert_message` inside a caller's transaction.
    fn insert_message(
        tx: &mut sqlx::Transaction<'_, Self::Db>,
        message: &MessageRecord,
        is_activity: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// `MessageStore::insert_message` in a transaction of its own, on the writer.
    fn insert_message_alone(
        &self,
        message: &MessageRecord,
        is_activity: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Implements `plaza_db::MessageStore` and [`MessageSql`] for `$store`, which implements
/// [`crate::SqlBackend`].
#[macro_export]
macro_rules! impl_message_store {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            /// Replaces the rows that index a task's assignees.
            async fn put_assignees(
                tx: &mut sqlx::Transaction<'_, Db>,
                message: &plaza_db::MessageRecord,
                replacing: bool,
            ) -> plaza_db::StoreResult<()> {
                // A new message has no rows yet: skipping the delete saves a statement a send.
                if replacing {
                    sqlx::query("DELETE FROM message_assignee WHERE message_id = $1")
                        .bind(message.id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(map_error)?;
                }
                for user_id in message.assignee_ids() {
                    sqlx::query("INSERT INTO message_assignee (message_id, user_id) VALUES ($1, $2)")
                        .bind(message.id.to_string())
                        .bind(user_id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(map_error)?;
                }
                Ok(())
            }

            /// Replaces the rows that index the files a message attaches.
            async fn put_message_files(
                tx: &mut sqlx::Transaction<'_, Db>,
                message: &plaza_db::MessageRecord,
                replacing: bool,
            ) -> plaza_db::StoreResult<()> {
                // A new message has no rows yet: skipping the delete saves a statement a send.
                if replacing {
                    sqlx::query("DELETE FROM message_file WHERE message_id = $1")
                        .bind(message.id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(map_error)?;
                }
                for key in message.file_keys() {
                    sqlx::query("INSERT INTO message_file (message_id, file_key) VALUES ($1, $2)")
                        .bind(message.id.to_string())
                        .bind(key)
                        .execute(&mut **tx)
                        .await
                        .map_err(map_error)?;
                }
                Ok(())
            }

            impl $crate::MessageSql for $store {
                fn message_insert() -> sqlx::QueryBuilder<Db> {
                    sqlx::QueryBuilder::new(format!(
                        "INSERT INTO message ({}, search_text, has_files, task_status, \
                         parent_category, seq) ",
                        sql_rows::MESSAGE_COLUMNS
                    ))
                }

                fn push_message_row(
                    mut row: sqlx::query_builder::Separated<'_, Db, &'static str>,
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
                        .push_bind(message.task_status().map(str::to_owned));
                    // A subquery opens a cursor of its own for as long as the statement
                    // runs, and SQLite walks every open cursor of a table at each cursor
                    // opened and each row written: one per row made a batch of 512 sends
                    // quadratic. Most messages have no parent and need none.
                    match message.parent_id {
                        Some(parent) => row
                            .push("(SELECT parent.category FROM message parent WHERE parent.message_id = ")
                            .push_bind_unseparated(parent.to_string())
                            .push_unseparated(")"),
                        None => row.push_bind(Option::<String>::None),
                    };
                    row.push_bind(seq);
                }

                async fn insert_message(
                    tx: &mut sqlx::Transaction<'_, Db>,
                    message: &plaza_db::MessageRecord,
                    is_activity: bool,
                ) -> plaza_db::StoreResult<()> {
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
                    .map_err(map_error)?
                    .ok_or(plaza_db::StoreError::NotFound)?;
                    let mut insert = Self::message_insert();
                    insert.push_values([message], |row, message| Self::push_message_row(row, message, seq));
                    insert
                        .build()
                        .execute(&mut **tx)
                        .await
                        .map_err(map_error)?;
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
                    .map_err(map_error)?;
                    if is_activity {
                        // Direct spaces only: two memberships.
                        sqlx::query(
                            "UPDATE membership SET activity_at = $1 WHERE space_id = $2 AND state = 'active'",
                        )
                        .bind(message.created.millis())
                        .bind(message.space_id.to_string())
                        .execute(&mut **tx)
                        .await
                        .map_err(map_error)?;
                    }
                    if let Some(parent) = message.parent_id {
                        sqlx::query("UPDATE message SET chat_count = chat_count + 1 WHERE message_id = $1")
                            .bind(parent.to_string())
                            .execute(&mut **tx)
                            .await
                            .map_err(map_error)?;
                    }
                    Ok(())
                }

                async fn insert_message_alone(
                    &self,
                    message: &plaza_db::MessageRecord,
                    is_activity: bool,
                ) -> plaza_db::StoreResult<()> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
                    Self::insert_message(&mut tx, message, is_activity).await?;
                    tx.commit().await.map_err(map_error)?;
                    Ok(())
                }
            }

            #[$crate::__private::async_trait]
            impl plaza_db::MessageStore for $store {
                async fn insert_message(
                    &self,
                    message: &plaza_db::MessageRecord,
                    is_activity: bool,
                ) -> plaza_db::StoreResult<()> {
                    // The backend decides how a send reaches the database: PostgreSQL writes
                    // each in its own transaction, SQLite batches concurrent ones.
                    <$store as $crate::SqlBackend>::write_message(self, message, is_activity).await
                }

                async fn message(
                    &self,
                    id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<Option<plaza_db::MessageRecord>> {
                    let sql = format!("SELECT {} FROM message WHERE message_id = $1", sql_rows::MESSAGE_COLUMNS);
                    optional(self.reader(), sql, id.to_string(), sql_rows::message).await
                }

                async fn update_message(
                    &self,
                    message: &plaza_db::MessageRecord,
                    expected_modified: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<bool> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
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
                    put_assignees(&mut tx, message, true).await?;
                    put_message_files(&mut tx, message, true).await?;
                    tx.commit().await.map_err(map_error)?;
                    Ok(true)
                }

                async fn delete_message(
                    &self,
                    id: plaza_db::ObjectId,
                    at: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<bool> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
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
                    let mut query = sqlx::QueryBuilder::<Db>::new(format!("SELECT {columns} FROM message m"));
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
                    let rows = query.build().fetch_all(self.reader()).await.map_err(map_error)?;
                    rows.iter().map(sql_rows::message).collect()
                }
            }
        };
    };
}
