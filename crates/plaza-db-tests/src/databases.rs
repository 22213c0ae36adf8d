use std::sync::Arc;

use plaza_db::Store;
use plaza_db_postgres::PostgresStore;
use plaza_db_sqlite::SqliteStore;
use rand::Rng;
use sqlx::Connection;

/// The PostgreSQL server the tests may use, from `PLAZA_TEST_PG_URL`, if set.
///
/// With `PLAZA_REQUIRE_PG=1` (CI sets it) a missing URL is a failure, not a skip: a CI
/// whose database did not start must not pass the PostgreSQL tests by skipping them.
pub fn pg_test_url() -> Option<String> {
    let url = std::env::var("PLAZA_TEST_PG_URL").ok().filter(|url| !url.trim().is_empty());
    let required = std::env::var("PLAZA_REQUIRE_PG").is_ok_and(|v| v == "1");
    assert!(url.is_some() || !required, "PLAZA_REQUIRE_PG=1 but PLAZA_TEST_PG_URL is not set");
    url
}

/// A fresh, migrated database for one test, removed by [`TestDatabase::remove`].
///
/// SQLite lives in a temporary folder. PostgreSQL gets a uniquely named database on the
/// `PLAZA_TEST_PG_URL` server; set `PLAZA_TEST_KEEP_DB=1` to keep it for debugging.
pub struct TestDatabase {
    /// The URL a Plaza server would be configured with to use this database.
    pub url: String,
    pub store: Arc<dyn Store>,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite { store: SqliteStore, _folder: tempfile::TempDir },
    Postgres { store: PostgresStore, admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn sqlite() -> anyhow::Result<Self> {
        let folder = tempfile::tempdir()?;
        let url = format!("sqlite://{}", folder.path().join("plaza.db").display());
        let store = SqliteStore::connect(&url).await?;
        store.migrate().await?;
        Ok(TestDatabase {
            url,
            store: Arc::new(store.clone()),
            cleanup: Cleanup::Sqlite { store, _folder: folder },
        })
    }

    /// A new database on the `PLAZA_TEST_PG_URL` server, or `None` when it is unset.
    pub async fn postgres() -> anyhow::Result<Option<Self>> {
        let Some(admin_url) = pg_test_url() else { return Ok(None) };
        let name = format!("plaza_test_{:016x}", rand::thread_rng().r#gen::<u64>());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let mut url = url::Url::parse(&admin_url)?;
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        let store = PostgresStore::connect(&url, 5).await?;
        store.migrate().await?;
        Ok(Some(TestDatabase {
            url,
            store: Arc::new(store.clone()),
            cleanup: Cleanup::Postgres { store, admin_url, name },
        }))
    }

    /// Closes the store and deletes the database.
    pub async fn remove(self) -> anyhow::Result<()> {
        match self.cleanup {
            Cleanup::Sqlite { store, _folder } => {
                store.close().await;
                Ok(())
            }
            Cleanup::Postgres { store, admin_url, name } => {
                store.close().await;
                if std::env::var("PLAZA_TEST_KEEP_DB").is_ok_and(|keep| keep == "1") {
                    eprintln!("keeping test database {name}");
                    return Ok(());
                }
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// Run by the test below in a child process, never on its own.
    #[test]
    #[ignore = "run as a child process by requiring_postgres_turns_a_skip_into_a_failure"]
    fn probe_the_postgres_url() {
        let _ = super::pg_test_url();
    }

    fn probe(require: bool) -> std::process::ExitStatus {
        let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"));
        child
            .args(["--ignored", "--exact", "databases::tests::probe_the_postgres_url"])
            .env_remove("PLAZA_TEST_PG_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if require {
            child.env("PLAZA_REQUIRE_PG", "1");
        } else {
            child.env_remove("PLAZA_REQUIRE_PG");
        }
        child.status().expect("run the probe")
    }

    #[test]
    fn requiring_postgres_turns_a_skip_into_a_failure() {
        assert!(probe(false).success(), "without PLAZA_REQUIRE_PG a missing URL is a skip");
        assert!(!probe(true).success(), "with PLAZA_REQUIRE_PG=1 it is a failure");
    }
}
