//! Group commit of concurrent sends.
//!
//! SQLite has one writer, and every statement is a round trip to the connection's worker
//! thread, each one waiting behind whatever else the runtime has to do. A send written on
//! its own takes five of them (begin, number, insert, sender's membership, commit), so
//! under load sends queue on the writer and throughput falls to a few hundred a second.
//! Here the sends that arrive while a batch is being written wait for the next batch, and
//! a batch is written with one statement per step whatever its size: the space counters
//! move by how many messages each space gets, the messages go in one multi-row insert, and
//! the senders' memberships and parents' comment counts follow in one statement each.
//! If a batch fails (a space deleted meanwhile, a duplicate id) nothing of it is kept and
//! its sends are written one by one, so each caller gets its own outcome.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use plaza_db::{MessageRecord, ObjectId, StoreError, StoreResult};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::oneshot;

use plaza_db_sql::MessageSql;

use crate::{SqliteStore, map_error};

/// The most sends written in one transaction. The message insert binds 14 values a
/// row, well under SQLite's limit of 32 766.
const MOST_IN_A_BATCH: usize = 512;

struct PendingSend {
    message: MessageRecord,
    is_activity: bool,
    done: oneshot::Sender<StoreResult<()>>,
}

/// Sends waiting for the writer, and the turn to write them.
#[derive(Default)]
pub(crate) struct SendBatcher {
    pending: Mutex<Vec<PendingSend>>,
    turn: tokio::sync::Mutex<()>,
}

impl SendBatcher {
    fn take_pending(&self) -> Vec<PendingSend> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SqliteStore {
    /// The backend's `write_message`: queues the send, then either finds it written by
    /// the batch before, or writes every queued send as the next batch.
    pub(crate) async fn write_batched(
        &self,
        message: &MessageRecord,
        is_activity: bool,
    ) -> StoreResult<()> {
        let (done, mut outcome) = oneshot::channel();
        self.batcher.pending.lock().unwrap_or_else(PoisonError::into_inner).push(PendingSend {
            message: message.clone(),
            is_activity,
            done,
        });
        let turn = self.batcher.turn.lock().await;
        if let Ok(result) = outcome.try_recv() {
            return result;
        }
        let mut batch = self.batcher.take_pending();
        while !batch.is_empty() {
            let rest = batch.split_off(batch.len().min(MOST_IN_A_BATCH));
            self.write_batch(std::mem::replace(&mut batch, rest)).await;
        }
        drop(turn);
        outcome.await.unwrap_or_else(|_| Err(StoreError::other("the send was never written")))
    }

    async fn write_batch(&self, batch: Vec<PendingSend>) {
        if batch.len() > 1 {
            match self.write_together(&batch).await {
                Ok(()) => {
                    for send in batch {
                        // The caller may have gone; its message is stored all the same.
                        let _ = send.done.send(Ok(()));
                    }
                    return;
                }
                Err(error) => {
                    tracing::debug!(
                        ?error,
                        sends = batch.len(),
                        "batch failed; writing one by one"
                    );
                }
            }
        }
        for send in batch {
            let result = self.insert_message_alone(&send.message, send.is_activity).await;
            let _ = send.done.send(result);
        }
    }

    async fn write_together(&self, batch: &[PendingSend]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_error)?;
        let mut first_seq = number_messages(&mut tx, batch).await?;

        let mut insert = Self::message_insert();
        insert.push_values(batch, |row, send| {
            let seq = first_seq.entry(send.message.space_id).or_default();
            Self::push_message_row(row, &send.message, *seq);
            *seq += 1;
        });
        insert.build().execute(&mut *tx).await.map_err(map_error)?;

        let links = |pairs: Vec<(String, String)>, table: &str, column: &str| {
            (!pairs.is_empty()).then(|| {
                let mut query = QueryBuilder::<Sqlite>::new(format!(
                    "INSERT INTO {table} (message_id, {column}) "
                ));
                query.push_values(pairs, |mut row, (message, other)| {
                    row.push_bind(message).push_bind(other);
                });
                query
            })
        };
        let assignees = batch
            .iter()
            .flat_map(|s| {
                let id = s.message.id.to_string();
                s.message.assignee_ids().into_iter().map(move |user| (id.clone(), user.to_string()))
            })
            .collect();
        let files = batch
            .iter()
            .flat_map(|s| {
                let id = s.message.id.to_string();
                s.message.file_keys().into_iter().map(move |key| (id.clone(), key))
            })
            .collect();
        for mut query in [
            links(assignees, "message_assignee", "user_id"),
            links(files, "message_file", "file_key"),
        ]
        .into_iter()
        .flatten()
        {
            query.build().execute(&mut *tx).await.map_err(map_error)?;
        }

        // Senders' own messages are not unread to them.
        let mut sent: HashMap<(ObjectId, ObjectId), i64> = HashMap::new();
        for send in batch {
            *sent.entry((send.message.space_id, send.message.sender_id)).or_default() += 1;
        }
        let mut query = QueryBuilder::<Sqlite>::new(
            "UPDATE membership SET sent_since_read = sent_since_read + v.column3 FROM (",
        );
        query.push_values(sent, |mut row, ((space, sender), count)| {
            row.push_bind(space.to_string()).push_bind(sender.to_string()).push_bind(count);
        });
        query.push(
            ") AS v WHERE membership.space_id = v.column1 AND membership.user_id = v.column2 \
             AND membership.state = 'active'",
        );
        query.build().execute(&mut *tx).await.map_err(map_error)?;

        // Direct spaces' messages are listing activity for both members.
        let activity: HashMap<ObjectId, i64> = batch
            .iter()
            .filter(|s| s.is_activity)
            .map(|s| (s.message.space_id, s.message.created.millis()))
            .collect();
        if !activity.is_empty() {
            let mut query =
                QueryBuilder::<Sqlite>::new("UPDATE membership SET activity_at = v.column2 FROM (");
            query.push_values(activity, |mut row, (space, at)| {
                row.push_bind(space.to_string()).push_bind(at);
            });
            query.push(
                ") AS v WHERE membership.space_id = v.column1 AND membership.state = 'active'",
            );
            query.build().execute(&mut *tx).await.map_err(map_error)?;
        }

        let mut comments: HashMap<ObjectId, i64> = HashMap::new();
        for parent in batch.iter().filter_map(|s| s.message.parent_id) {
            *comments.entry(parent).or_default() += 1;
        }
        if !comments.is_empty() {
            let mut query = QueryBuilder::<Sqlite>::new(
                "UPDATE message SET chat_count = chat_count + v.column2 FROM (",
            );
            query.push_values(comments, |mut row, (parent, count)| {
                row.push_bind(parent.to_string()).push_bind(count);
            });
            query.push(") AS v WHERE message.message_id = v.column1");
            query.build().execute(&mut *tx).await.map_err(map_error)?;
        }
        tx.commit().await.map_err(map_error)?;
        Ok(())
    }
}

/// Moves each space's message counter past the batch's messages in it (and its last
/// message time to the batch's last), answering the number of each space's first
/// message in the batch. `NotFound` when a space is missing.
async fn number_messages(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &[PendingSend],
) -> StoreResult<HashMap<ObjectId, i64>> {
    let mut per_space: HashMap<ObjectId, (i64, i64)> = HashMap::new();
    for send in batch {
        let entry = per_space.entry(send.message.space_id).or_default();
        entry.0 += 1;
        entry.1 = send.message.created.millis();
    }
    let spaces = per_space.len();
    let mut query = QueryBuilder::<Sqlite>::new(
        "UPDATE space SET message_seq = message_seq + v.column2, last_message_at = v.column3 FROM (",
    );
    query.push_values(&per_space, |mut row, (space, (count, last))| {
        row.push_bind(space.to_string()).push_bind(*count).push_bind(*last);
    });
    query.push(") AS v WHERE space.space_id = v.column1 RETURNING space_id, message_seq");
    let rows = query.build().fetch_all(&mut **tx).await.map_err(map_error)?;
    if rows.len() != spaces {
        return Err(StoreError::NotFound);
    }
    let mut first = HashMap::with_capacity(spaces);
    for row in rows {
        let space: String = row.try_get("space_id").map_err(map_error)?;
        let last: i64 = row.try_get("message_seq").map_err(map_error)?;
        let space: ObjectId =
            space.parse().map_err(|_| StoreError::other("stored space id is invalid"))?;
        let (count, _) = per_space[&space];
        first.insert(space, last - count + 1);
    }
    Ok(first)
}
