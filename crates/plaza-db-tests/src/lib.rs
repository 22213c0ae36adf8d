//! The store contract suite, and the per-test databases it (and the server's integration
//! tests) run on.
//!
//! Every check is an `async fn(Arc<dyn Store>)` written once against the trait.
//! `tests/contract.rs` runs each one on SQLite always, and on PostgreSQL when
//! `PLAZA_TEST_PG_URL` names a server whose database the tests may create siblings of.
#![forbid(unsafe_code)]

pub mod contract;
mod databases;

pub use databases::{TestDatabase, pg_test_url};
