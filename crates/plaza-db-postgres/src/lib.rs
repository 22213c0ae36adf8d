//! PostgreSQL implementation of the Plaza store, for deployments that outgrow one machine.
//!
//! The SQL itself is shared with the SQLite backend through
//! `plaza_db_sql::impl_sql_store!`, which reaches this crate's pool and error mapping
//! through `plaza_db_sql::SqlBackend`; this crate owns the migrations, the connection
//! setup and the mapping of driver errors.
#![forbid(unsafe_code)]

use std::time::Duration;

use plaza_db::StoreError;
use plaza_db_sql::MessageSql;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A store on one PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL runs concurrent writers itself.
    writer: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`). Does not migrate: call
    /// [`PostgresStore::migrate`].
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(PostgresStore { writer: pool.clone(), pool })
    }

    /// Applies the embedded migrations that have not run yet. sqlx takes an advisory
    /// lock, so several nodes starting at once migrate exactly once.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Maps a driver error into the store's vocabulary; unique violations keep the
/// constraint (index) name PostgreSQL reports.
fn map_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        let constraint = db.constraint().unwrap_or("unknown").to_owned();
        return StoreError::Conflict { constraint };
    }
    if let sqlx::Error::RowNotFound = error {
        return StoreError::NotFound;
    }
    if plaza_db_sql::is_unavailable(&error) {
        return StoreError::Unavailable(error.into());
    }
    StoreError::Other(error.into())
}

impl plaza_db_sql::SqlBackend for PostgresStore {
    type Db = sqlx::Postgres;

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.writer
    }

    fn map_error(error: sqlx::Error) -> StoreError {
        map_error(error)
    }

    /// Busy and idle connections of the pool (`writer` is the same pool).
    fn open_connections(&self) -> (u64, u64) {
        let (size, idle) = (u64::from(self.pool.size()), self.pool.num_idle() as u64);
        (size.saturating_sub(idle), idle)
    }

    /// Each send in its own transaction: concurrent sends to one space queue on its row
    /// lock, and sends to different spaces commit in parallel.
    async fn write_message(
        &self,
        message: &plaza_db::MessageRecord,
        is_activity: bool,
    ) -> plaza_db::StoreResult<()> {
        self.insert_message_alone(message, is_activity).await
    }
}

plaza_db_sql::impl_sql_store!(PostgresStore);

// For backups (see `plaza_db_sql::impl_sql_backup!`): a read-only repeatable-read
// transaction sees one snapshot of every table while the server keeps writing. The
// Socket.IO adapter's attachment table holds only messages in transit between nodes.
impl plaza_db_sql::backup::SqlBackup for PostgresStore {
    const BACKEND: &'static str = "postgres";
    const SNAPSHOT: Option<&'static str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const RESTORE_PREPARE: &'static [&'static str] = &[];
    const TABLES_SQL: &'static str = "SELECT table_name::text FROM information_schema.tables \
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
        AND table_name NOT IN ('_sqlx_migrations', 'socket_io_attachments') ORDER BY 1";
    const COLUMNS_SQL: &'static str = "SELECT column_name::text AS name, data_type::text AS declared \
        FROM information_schema.columns WHERE table_schema = current_schema() \
        AND table_name = $1 ORDER BY ordinal_position";
}

plaza_db_sql::impl_sql_backup!(PostgresStore);
