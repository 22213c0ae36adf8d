//! Meetings and their history: the SQL of [`plaza_db::MeetingStore`].

/// Implements `plaza_db::MeetingStore` for `$store`, which implements [`crate::SqlBackend`].
#[macro_export]
macro_rules! impl_meeting_store {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            #[$crate::__private::async_trait]
            impl plaza_db::MeetingStore for $store {
                async fn start_meeting(
                    &self,
                    meeting: &plaza_db::MeetingRecord,
                    summary: &plaza_db::MessageRecord,
                ) -> plaza_db::StoreResult<()> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
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
                    <$store as $crate::MessageSql>::insert_message(&mut tx, summary, false).await?;
                    tx.commit().await.map_err(map_error)?;
                    Ok(())
                }

                async fn meeting(
                    &self,
                    id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<Option<plaza_db::MeetingRecord>> {
                    let sql = format!("SELECT {} FROM meeting WHERE meeting_id = $1", sql_rows::MEETING_COLUMNS);
                    optional(self.reader(), sql, id.to_string(), sql_rows::meeting).await
                }

                async fn active_meeting(
                    &self,
                    space_id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<Option<plaza_db::MeetingRecord>> {
                    let sql = format!(
                        "SELECT {} FROM meeting WHERE space_id = $1 AND ended IS NULL",
                        sql_rows::MEETING_COLUMNS
                    );
                    optional(self.reader(), sql, space_id.to_string(), sql_rows::meeting).await
                }

                async fn save_meeting(
                    &self,
                    meeting: &plaza_db::MeetingRecord,
                    summary: &serde_json::Map<String, serde_json::Value>,
                    at: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<bool> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
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
                    // A meeting's recordings are its attachments: whoever reads the
                    // meeting reads their files. Files are only ever added to it.
                    for key in plaza_db::attached_file_keys(summary) {
                        sqlx::query(
                            "INSERT INTO message_file (message_id, file_key) VALUES ($1, $2) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(meeting.id.to_string())
                        .bind(key)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                    }
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
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_error)?;
                    let total: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM meeting WHERE space_id = $1 AND started >= $2",
                    )
                    .bind(space_id.to_string())
                    .bind(since)
                    .fetch_one(self.reader())
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
                        .fetch_all(self.reader())
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
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_error)?;
                    rows.iter().map(sql_rows::meeting).collect()
                }
            }
        };
    };
}
