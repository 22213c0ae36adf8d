//! The SQL of [`plaza_db::MailStore`]: password resets and digest items.

use plaza_db::{DigestItemRecord, ObjectId, PasswordResetRecord, StoreResult, Timestamp};

use crate::rows::{DbRow, Yields};

pub const RESET_COLUMNS: &str = "token_hash, user_id, created, expires_at";
pub const ITEM_COLUMNS: &str = "user_id, message_id, space_id, created";

fn millis(row: &impl Yields<i64>, column: &str) -> StoreResult<Timestamp> {
    row.value(column).map(Timestamp::from_millis)
}

pub fn id(row: &impl Yields<String>, column: &str) -> StoreResult<ObjectId> {
    crate::rows::id(&row.value(column)?)
}

pub fn reset<R: DbRow>(row: &R) -> StoreResult<PasswordResetRecord> {
    Ok(PasswordResetRecord {
        token_hash: row.value("token_hash")?,
        user_id: id(row, "user_id")?,
        created: millis(row, "created")?,
        expires_at: millis(row, "expires_at")?,
    })
}

pub fn item<R: DbRow>(row: &R) -> StoreResult<DigestItemRecord> {
    Ok(DigestItemRecord {
        user_id: id(row, "user_id")?,
        message_id: id(row, "message_id")?,
        space_id: id(row, "space_id")?,
        created: millis(row, "created")?,
    })
}

/// Implements `plaza_db::MailStore` for `$store`, which implements [`crate::SqlBackend`].
#[macro_export]
macro_rules! impl_mail_store {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            #[$crate::__private::async_trait]
            impl plaza_db::MailStore for $store {
                async fn replace_password_reset(
                    &self,
                    reset: &plaza_db::PasswordResetRecord,
                ) -> plaza_db::StoreResult<()> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
                    sqlx::query("DELETE FROM password_reset WHERE user_id = $1")
                        .bind(reset.user_id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                    let sql = format!(
                        "INSERT INTO password_reset ({}) VALUES ($1, $2, $3, $4)",
                        $crate::mail::RESET_COLUMNS
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&reset.token_hash)
                        .bind(reset.user_id.to_string())
                        .bind(reset.created.millis())
                        .bind(reset.expires_at.millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                    tx.commit().await.map_err(map_error)
                }

                async fn take_password_reset(
                    &self,
                    token_hash: &str,
                ) -> plaza_db::StoreResult<Option<plaza_db::PasswordResetRecord>> {
                    let sql = format!(
                        "DELETE FROM password_reset WHERE token_hash = $1 RETURNING {}",
                        $crate::mail::RESET_COLUMNS
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(token_hash)
                        .fetch_optional(self.writer())
                        .await
                        .map_err(map_error)?;
                    row.as_ref().map($crate::mail::reset).transpose()
                }

                async fn add_digest_items(
                    &self,
                    items: &[plaza_db::DigestItemRecord],
                ) -> plaza_db::StoreResult<()> {
                    if items.is_empty() {
                        return Ok(());
                    }
                    let mut insert = sqlx::QueryBuilder::<Db>::new(format!(
                        "INSERT INTO digest_item ({}) ",
                        $crate::mail::ITEM_COLUMNS
                    ));
                    insert.push_values(items, |mut row, item| {
                        row.push_bind(item.user_id.to_string())
                            .push_bind(item.message_id.to_string())
                            .push_bind(item.space_id.to_string())
                            .push_bind(item.created.millis());
                    });
                    insert.push(" ON CONFLICT (user_id, message_id) DO NOTHING");
                    insert.build().execute(self.writer()).await.map_err(map_error)?;
                    Ok(())
                }

                async fn users_with_digest_items(
                    &self,
                    before: plaza_db::Timestamp,
                    limit: u32,
                ) -> plaza_db::StoreResult<Vec<plaza_db::ObjectId>> {
                    let rows = sqlx::query(
                        "SELECT DISTINCT user_id FROM digest_item WHERE created <= $1 \
                         ORDER BY user_id LIMIT $2",
                    )
                    .bind(before.millis())
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_error)?;
                    rows.iter().map(|row| $crate::mail::id(row, "user_id")).collect()
                }

                async fn take_digest_items(
                    &self,
                    user_id: plaza_db::ObjectId,
                    before: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<Vec<plaza_db::DigestItemRecord>> {
                    let sql = format!(
                        "DELETE FROM digest_item WHERE user_id = $1 AND created <= $2 RETURNING {}",
                        $crate::mail::ITEM_COLUMNS
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(user_id.to_string())
                        .bind(before.millis())
                        .fetch_all(self.writer())
                        .await
                        .map_err(map_error)?;
                    let mut items = rows
                        .iter()
                        .map($crate::mail::item)
                        .collect::<plaza_db::StoreResult<Vec<_>>>()?;
                    items.sort_by_key(|item| (item.created, item.message_id));
                    Ok(items)
                }
            }
        };
    };
}
