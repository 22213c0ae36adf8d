//! The one copy of Plaza's store SQL, one file per entity.
//!
//! SQLite and PostgreSQL agree on everything the store needs: `$N` placeholders,
//! `ON CONFLICT`, `DELETE ... RETURNING`, booleans bound from Rust `bool`, times as 64-bit
//! epoch milliseconds and JSON kept as text. Rather than keep two hand-copied
//! implementations in step, each backend crate implements [`SqlBackend`] (its pools, its
//! driver-error mapping, how it writes a send) and expands [`impl_sql_store!`], which
//! expands one macro per entity: [`identity`], [`spaces`], [`messages`], [`files`],
//! [`meetings`], [`cluster`], [`audit`] and [`mail`]; [`backup`] is expanded on its own,
//! over [`backup::SqlBackup`]. Column lists and row decoders are plain generic functions
//! in [`rows`]. The backend crates still own their migrations, connection setup and
//! driver-error mapping; a query that must differ by dialect goes in the backend crate,
//! not here.
//!
//! *Why macros and not generic functions:* a statement generic over `sqlx::Database`
//! needs a bound for every value type it binds or reads, every executor and argument
//! buffer it uses, repeated on every function (Rust does not imply such bounds from a
//! trait), which would bury the SQL. Each entity's macro is expanded over the backend's
//! concrete types instead, and it reaches nothing by a name the expansion site happens
//! to have in scope: crates through `$crate::__private`, the backend through
//! [`SqlBackend`] (see [`sql_prelude!`]), the rows through `$crate::rows`.
#![forbid(unsafe_code)]

pub mod audit;
pub mod backup;
pub mod cluster;
pub mod files;
pub mod identity;
pub mod mail;
pub mod meetings;
pub mod messages;
pub mod rows;
pub mod spaces;

use std::future::Future;

use plaza_db::{MessageRecord, StoreError, StoreResult};

pub use messages::MessageSql;

/// The crates the entity macros use, so that they need none in scope at the expansion site.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use {futures_util, plaza_db, serde_json, sqlx};
}

/// What a backend gives the shared SQL: it is everything the entity macros use of the
/// store they are expanded for.
pub trait SqlBackend: Send + Sync + 'static {
    /// The sqlx database, e.g. `sqlx::Sqlite`.
    type Db: sqlx::Database;

    /// The pool for reads.
    fn reader(&self) -> &sqlx::Pool<Self::Db>;

    /// The pool for every statement that writes; it may be the reader pool.
    fn writer(&self) -> &sqlx::Pool<Self::Db>;

    /// Maps a driver error into the store's vocabulary (unique violations become
    /// `Conflict` naming the PostgreSQL constraint, an unreachable database
    /// `Unavailable`).
    fn map_error(error: sqlx::Error) -> StoreError;

    /// Busy and idle connections over the backend's pools.
    fn open_connections(&self) -> (u64, u64);

    /// `MessageStore::insert_message`: the backend decides how a send reaches the
    /// database. [`MessageSql::insert_message_alone`] writes one in its own transaction.
    fn write_message(
        &self,
        message: &MessageRecord,
        is_activity: bool,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Whether `error` means the database cannot be reached now rather than that the call
/// was wrong: the connection or pool failed, or the server is shutting down or starting
/// (SQLSTATE classes 08 and 57P).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
        }
        _ => false,
    }
}

/// The items every entity macro's code uses, each defined here from `$store`'s
/// [`SqlBackend`] implementation: `sqlx`, `plaza_db`, `serde_json`, the rows as
/// `sql_rows`, the database type `Db`, `map_error` and `optional`. Expanded at the top of
/// each entity's `const _: () = { ... };` block, so they shadow whatever the expansion
/// site has under those names and go no further than the block.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_prelude {
    ($store:ty) => {
        #[allow(unused_imports)]
        use $crate::__private::{plaza_db, serde_json, sqlx};
        #[allow(unused_imports)]
        use $crate::{SqlBackend as _, rows as sql_rows};

        #[allow(dead_code)]
        type Db = <$store as $crate::SqlBackend>::Db;

        #[allow(dead_code)]
        fn map_error(error: sqlx::Error) -> plaza_db::StoreError {
            <$store as $crate::SqlBackend>::map_error(error)
        }

        /// Runs `sql` (one `$1` parameter, at most one row) and decodes the row.
        #[allow(dead_code)]
        async fn optional<T>(
            pool: &sqlx::Pool<Db>,
            sql: String,
            key: String,
            decode: fn(&<Db as sqlx::Database>::Row) -> plaza_db::StoreResult<T>,
        ) -> plaza_db::StoreResult<Option<T>> {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .fetch_optional(pool)
                .await
                .map_err(map_error)?;
            row.as_ref().map(decode).transpose()
        }
    };
}

/// Implements `plaza_db::Store` and every part of it for `$store`, which implements
/// [`SqlBackend`]. The expansion needs nothing in scope: it uses only `$crate` paths.
///
/// The only dynamic SQL in the entity files splices constant column lists and enum
/// literals into otherwise literal statements; every value travels as a bound parameter.
#[macro_export]
macro_rules! impl_sql_store {
    ($store:ty) => {
        $crate::impl_identity_store!($store);
        $crate::impl_space_store!($store);
        $crate::impl_message_store!($store);
        $crate::impl_file_store!($store);
        $crate::impl_meeting_store!($store);
        $crate::impl_cluster_store!($store);
        $crate::impl_audit_store!($store);
        $crate::impl_mail_store!($store);

        const _: () = {
            $crate::sql_prelude!($store);

            #[$crate::__private::async_trait]
            impl plaza_db::Store for $store {
                async fn ping(&self) -> plaza_db::StoreResult<()> {
                    sqlx::query("SELECT 1").execute(self.reader()).await.map_err(map_error)?;
                    Ok(())
                }

                fn connections(&self) -> (u64, u64) {
                    <$store as $crate::SqlBackend>::open_connections(self)
                }
            }
        };
    };
}
