//! Node heartbeats, rate limits and ringing calls: the SQL of [`plaza_db::ClusterStore`].

/// Implements `plaza_db::ClusterStore` for `$store`, which implements [`crate::SqlBackend`].
#[macro_export]
macro_rules! impl_cluster_store {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            #[$crate::__private::async_trait]
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
                    .execute(self.writer())
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
                        .fetch_all(self.writer())
                        .await
                        .map_err(map_error)
                }

                async fn live_nodes(
                    &self,
                    since: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<Vec<String>> {
                    sqlx::query_scalar("SELECT node_id FROM node WHERE seen_at >= $1 ORDER BY node_id")
                        .bind(since.millis())
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_error)
                }

                async fn claim_media_host(
                    &self,
                    space_id: plaza_db::ObjectId,
                    node_id: &str,
                    address: &str,
                    alive_since: plaza_db::Timestamp,
                    at: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<plaza_db::MediaHost> {
                    // Taken over only from a host that stopped beating; the claimer's own
                    // row is refreshed (its address may have changed with a restart).
                    sqlx::query(
                        "INSERT INTO media_host (space_id, node_id, address, since) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (space_id) DO UPDATE SET node_id = excluded.node_id, \
                           address = excluded.address, since = excluded.since \
                         WHERE media_host.node_id = excluded.node_id OR NOT EXISTS ( \
                           SELECT 1 FROM node WHERE node.node_id = media_host.node_id \
                           AND node.seen_at >= $5)",
                    )
                    .bind(space_id.to_string())
                    .bind(node_id.to_owned())
                    .bind(address.to_owned())
                    .bind(at.millis())
                    .bind(alive_since.millis())
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    let (node_id, address): (String, String) = sqlx::query_as(
                        "SELECT node_id, address FROM media_host WHERE space_id = $1",
                    )
                    .bind(space_id.to_string())
                    .fetch_one(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(plaza_db::MediaHost { node_id, address })
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
                    .fetch_optional(self.writer())
                    .await
                    .map_err(map_error)?;
                    if moved.is_some() {
                        return Ok(None);
                    }
                    let tat: i64 = sqlx::query_scalar("SELECT tat FROM rate_limit WHERE limit_key = $1")
                        .bind(key.to_owned())
                        .fetch_one(self.reader())
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
                    .execute(self.writer())
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
                    .fetch_optional(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(taken.is_some_and(|until| until >= now.millis()))
                }

            }
        };
    };
}
