//! Stored files, user statistics and server secrets: the SQL of [`plaza_db::FileStore`].

/// Implements `plaza_db::FileStore` for `$store`, which implements [`crate::SqlBackend`].
#[macro_export]
macro_rules! impl_file_store {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            /// Inserts a file row.
            async fn put_file<'e, E>(executor: E, f: &plaza_db::FileRecord) -> plaza_db::StoreResult<()>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let sql = format!(
                    "INSERT INTO stored_file ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    sql_rows::FILE_COLUMNS
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
                    .bind(f.expires_at.map(plaza_db::Timestamp::millis))
                    .execute(executor)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            #[$crate::__private::async_trait]
            impl plaza_db::FileStore for $store {
                async fn insert_file(&self, file: &plaza_db::FileRecord) -> plaza_db::StoreResult<()> {
                    put_file(self.writer(), file).await
                }

                async fn file(&self, key: &str) -> plaza_db::StoreResult<Option<plaza_db::FileRecord>> {
                    let sql = format!("SELECT {} FROM stored_file WHERE file_key = $1", sql_rows::FILE_COLUMNS);
                    optional(self.reader(), sql, key.to_owned(), sql_rows::file).await
                }

                async fn complete_file(
                    &self,
                    key: &str,
                    at: plaza_db::Timestamp,
                    thumbnail: Option<&plaza_db::FileRecord>,
                ) -> plaza_db::StoreResult<bool> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
                    if let Some(thumbnail) = thumbnail {
                        put_file(&mut *tx, thumbnail).await?;
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
                        .execute(self.writer())
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
                    .fetch_one(self.reader())
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
                    .fetch_one(self.reader())
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
                        .fetch_all(self.writer())
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
                         WHERE f.file_key = $3 \
                           AND (m.category <> 'meeting' OR ms.role <> 'guest' OR m.content LIKE $4) \
                         LIMIT 1",
                    )
                    .bind(false)
                    .bind(user_id.to_string())
                    .bind(key.to_owned())
                    // A meeting's files (its recordings) reach a guest only when the guest
                    // took part: the ended meeting's content lists everyone who did.
                    .bind(format!("%\"_id\":\"{user_id}\"%"))
                    .fetch_optional(self.reader())
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
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    sqlx::query_scalar("SELECT value FROM server_secret WHERE name = $1")
                        .bind(name.to_owned())
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_error)
                }
            }
        };
    };
}
