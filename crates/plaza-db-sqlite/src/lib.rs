//! SQLite implementation of the Plaza store: the embedded default.
//!
//! The database runs in WAL mode, so readers never block the one writer. Writes go
//! through a pool of one connection: concurrent writers queue in order on it instead of
//! contending for SQLite's lock, whose busy handler backs off by sleeping (up to 100 ms a
//! turn), which made sends under load slow and bursty. The busy timeout remains for
//! other processes (`plaza backup`) that open the same file. The SQL itself is shared with
//! the PostgreSQL backend through `plaza_db_sql::impl_sql_store!`, which reaches this crate's
//! pools and error mapping through `plaza_db_sql::SqlBackend`; this crate owns the
//! migrations, the connection setup, the mapping of driver errors and the group commit.
#![forbid(unsafe_code)]

mod batch;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use plaza_db::StoreError;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A store on one SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    /// Readers: several, as WAL lets them run beside the writer.
    pool: SqlitePool,
    /// The one writing connection.
    writer: SqlitePool,
    /// Concurrent sends, written together (see `batch`).
    batcher: Arc<batch::SendBatcher>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path/to/file.db`).
    /// Does not migrate: call [`SqliteStore::migrate`].
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(SqliteStore { pool, writer, batcher: Arc::default() })
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Maps a driver error into the store's vocabulary.
///
/// SQLite names the violated columns, not the index (`UNIQUE constraint failed:
/// app_user.username_key`), so the constraint names used by PostgreSQL are recovered here.
fn map_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        let message = db.message();
        let constraint = [
            ("app_user.username_key", "user_username_key"),
            ("app_user.user_id", "app_user_pkey"),
            ("oauth_client.client_id", "oauth_client_pkey"),
            ("oauth_token.token_hash", "oauth_token_pkey"),
            ("oauth_code.code_hash", "oauth_code_pkey"),
            ("space.unique_key", "space_unique_key"),
            ("space.space_id", "space_pkey"),
            ("membership.space_id, membership.user_id", "membership_pkey"),
            ("invitation.invitation_id", "invitation_pkey"),
            ("meeting.space_id", "meeting_active_key"),
            ("meeting.meeting_id", "meeting_pkey"),
        ]
        .iter()
        .find(|(columns, _)| message.contains(columns))
        .map_or("unknown", |(_, name)| name);
        return StoreError::Conflict { constraint: constraint.to_owned() };
    }
    if let sqlx::Error::RowNotFound = error {
        return StoreError::NotFound;
    }
    if plaza_db_sql::is_unavailable(&error) {
        return StoreError::Unavailable(error.into());
    }
    StoreError::Other(error.into())
}

impl plaza_db_sql::SqlBackend for SqliteStore {
    type Db = sqlx::Sqlite;

    fn reader(&self) -> &SqlitePool {
        &self.pool
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    fn map_error(error: sqlx::Error) -> StoreError {
        map_error(error)
    }

    /// Busy and idle connections over the reader pool and the writer.
    fn open_connections(&self) -> (u64, u64) {
        let (size, idle) = (
            u64::from(self.pool.size()) + u64::from(self.writer.size()),
            (self.pool.num_idle() + self.writer.num_idle()) as u64,
        );
        (size.saturating_sub(idle), idle)
    }

    /// Concurrent sends are written together (see `batch`).
    async fn write_message(
        &self,
        message: &plaza_db::MessageRecord,
        is_activity: bool,
    ) -> plaza_db::StoreResult<()> {
        self.write_batched(message, is_activity).await
    }
}

plaza_db_sql::impl_sql_store!(SqliteStore);

// For backups (see `plaza_db_sql::impl_sql_backup!`). In WAL mode a read transaction
// sees one snapshot from its first read, while the server keeps writing.
impl plaza_db_sql::backup::SqlBackup for SqliteStore {
    const BACKEND: &'static str = "sqlite";
    const SNAPSHOT: Option<&'static str> = None;
    // Comments may be loaded before the post they belong to; keys are checked at commit.
    const RESTORE_PREPARE: &'static [&'static str] = &["PRAGMA defer_foreign_keys = ON"];
    const TABLES_SQL: &'static str = "SELECT name FROM sqlite_master WHERE type = 'table' \
        AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name";
    const COLUMNS_SQL: &'static str =
        "SELECT name, type AS declared FROM pragma_table_info($1) ORDER BY cid";
}

plaza_db_sql::impl_sql_backup!(SqliteStore);
