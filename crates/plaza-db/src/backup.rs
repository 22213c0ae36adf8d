//! Online backups: every table read in one consistent snapshot, written as portable
//! rows that either backend can load, so a backup also moves a deployment from SQLite
//! to PostgreSQL (or back).

use async_trait::async_trait;
use serde_json::Value;

use crate::StoreResult;

/// The tables a backup holds, parents before children, which is also the order a
/// restore loads them in. A table missing here fails the backup contract test.
pub const BACKUP_TABLES: &[&str] = &[
    "plaza_meta",
    "app_user",
    "user_settings",
    "registration_invite",
    "password_reset",
    "revoked_jwt",
    "oauth_client",
    "oauth_code",
    "oauth_token",
    "used_refresh_token",
    "space",
    "membership",
    "invitation",
    "message",
    "message_assignee",
    "stored_file",
    "message_file",
    "digest_item",
    "server_secret",
    "meeting",
    "node",
    "media_host",
    "rate_limit",
    "ringing_call",
    "audit_event",
];

/// Receives a backup as it is read.
pub trait BackupSink {
    /// A table begins: its columns, and how many rows follow.
    fn table(&mut self, name: &str, columns: &[String], rows: u64) -> StoreResult<()>;
    /// One row of the current table, a value per column: strings, integers,
    /// booleans or nulls.
    fn row(&mut self, values: Vec<Value>) -> StoreResult<()>;
}

/// What a restore reads, in the order a sink received it.
#[derive(Debug, Clone, PartialEq)]
pub enum BackupItem {
    Table { name: String, columns: Vec<String> },
    Row(Vec<Value>),
}

/// Gives a restore its items; `None` at the end.
pub trait BackupSource {
    fn next_item(&mut self) -> StoreResult<Option<BackupItem>>;
}

/// Taking and loading backups; implemented by each backend.
#[async_trait]
pub trait Backup: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The newest migration applied: a backup loads only into the same schema.
    async fn schema_version(&self) -> StoreResult<i64>;

    /// Every table of [`BACKUP_TABLES`], read in one snapshot while the server keeps
    /// running, each table's rows in an order a restore can load.
    async fn export(&self, sink: &mut (dyn BackupSink + Send)) -> StoreResult<()>;

    /// Loads a backup in one transaction into this database, which must hold no users,
    /// spaces or messages yet; answers how many rows were loaded.
    async fn import(&self, source: &mut (dyn BackupSource + Send)) -> StoreResult<u64>;
}
