//! The audit log: the SQL of [`plaza_db::AuditStore`].

/// Implements `plaza_db::AuditStore` for `$store`, which implements [`crate::SqlBackend`].
#[macro_export]
macro_rules! impl_audit_store {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            #[$crate::__private::async_trait]
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
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(())
                }

                async fn audit_events(
                    &self,
                    query: &plaza_db::AuditQuery,
                ) -> plaza_db::StoreResult<Vec<plaza_db::AuditRecord>> {
                    let mut sql = sqlx::QueryBuilder::<Db>::new(
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
                    let rows = sql.build().fetch_all(self.reader()).await.map_err(map_error)?;
                    rows.iter().map(sql_rows::audit_event).collect()
                }

                async fn purge_audit_events(
                    &self,
                    before: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM audit_event WHERE at < $1")
                        .bind(before.millis())
                        .execute(self.writer())
                        .await
                        .map_err(map_error)?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}
