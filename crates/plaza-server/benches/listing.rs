//! Space-listing cost by depth: `cargo bench -p plaza-server --bench listing`.
//!
//! Seeds 10 000 spaces for one user, then times `SpaceService::list` (the code behind
//! `GET /api/users/me/spaces`) for the first page, a page ~9 500 items deep reached by
//! `pageToken` (keyset), and the same depth by the deprecated `page` parameter (OFFSET),
//! on SQLite and, when `PLAZA_TEST_PG_URL` is set, on PostgreSQL. A keyset page deep in
//! the list should cost about what the first page costs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plaza_core::events::LogSink;
use plaza_core::identity::{Principal, Session};
use plaza_core::spaces::{ListParams, PageToken, SpaceService};
use plaza_core::{ObjectId, Timestamp};
use plaza_db::{
    ListingCursor, ListingFilter, ListingPage, MembershipRecord, Role, SpaceKind, SpaceRecord,
    SpaceStatus, Store, UserKind, UserRecord,
};
use plaza_db_tests::TestDatabase;

const SPACES: usize = 10_000;
const PAGE: u32 = 50;
const DEPTH: u32 = 9_500;
const ROUNDS: usize = 200;

fn user() -> UserRecord {
    let now = Timestamp::now();
    UserRecord {
        id: ObjectId::new(),
        kind: UserKind::Registered,
        username: "bench@example.com".into(),
        displayname: "Bench".into(),
        password_hash: None,
        picture_url: None,
        timezone: None,
        phone_numbers: serde_json::json!([]),
        is_server_admin: false,
        disabled: false,
        created: now,
        modified: now,
        expires_at: None,
        credentials_after: None,
    }
}

async fn seed(store: &Arc<dyn Store>, user: &UserRecord) -> anyhow::Result<()> {
    store.insert_user(user).await?;
    let base = Timestamp::now().millis() - SPACES as i64;
    for i in 0..SPACES {
        let at = Timestamp::from_millis(base + i as i64);
        let space = SpaceRecord {
            id: ObjectId::new(),
            kind: SpaceKind::Group,
            title: format!("space {i}"),
            description: String::new(),
            status: SpaceStatus::Active,
            settings: serde_json::Map::new(),
            restrict: Vec::new(),
            creator_id: user.id,
            unique_key: None,
            created: at,
            modified: at,
        };
        let membership = MembershipRecord::joining(space.id, user.id, Role::Admin, at);
        store.insert_space(&space, &membership).await?;
    }
    Ok(())
}

async fn analyze(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query("ANALYZE").execute(&mut connection).await?;
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await?;
        sqlx::query("ANALYZE").execute(&mut connection).await?;
    }
    Ok(())
}

/// Median and 95th percentile of `ROUNDS` runs of `run`.
async fn time<F, Fut>(mut run: F) -> anyhow::Result<(Duration, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    for _ in 0..10 {
        run().await?;
    }
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let got = run().await?;
        samples.push(started.elapsed());
        anyhow::ensure!(got == PAGE as usize, "a page held {got} spaces");
    }
    samples.sort();
    Ok((samples[ROUNDS / 2], samples[ROUNDS * 95 / 100]))
}

async fn bench(name: &str, database: TestDatabase) -> anyhow::Result<()> {
    let store = database.store.clone();
    let user = user();
    let started = Instant::now();
    seed(&store, &user).await?;
    println!("{name}: seeded {SPACES} spaces in {:.1} s", started.elapsed().as_secs_f64());
    // A live server's statistics are current (autovacuum, or SQLite's optimizer stats
    // after ANALYZE); right after a bulk load they are not, so refresh them as a running
    // deployment would have.
    analyze(&database.url).await?;
    let spaces = SpaceService::new(store.clone(), Arc::new(LogSink));
    let principal = Principal {
        user: user.clone(),
        session: Session::Jwt { jti: String::new(), expires_at: Timestamp::now() },
    };

    // The pageToken a client would hold DEPTH items down the list.
    let filter = ListingFilter {
        kinds: vec![SpaceKind::Group],
        statuses: vec![SpaceStatus::Active],
        pinned_only: false,
        include_deleted: false,
        after: None,
        by_last_message: false,
    };
    let at_depth =
        store.list_memberships(user.id, &filter, ListingPage::Offset(DEPTH - 1), 1).await?;
    let (space, membership) =
        at_depth.first().ok_or_else(|| anyhow::anyhow!("no item at depth"))?;
    let cursor = ListingCursor { time: membership.activity_at.millis(), id: space.id };
    let token = PageToken { forward: true, time: cursor.time, id: cursor.id.to_string() };

    let size = Some(PAGE);
    let cases = [
        ("first page", ListParams { size, ..Default::default() }),
        (
            "keyset page at 9 500 (pageToken)",
            ListParams { size, page_token: Some(token), ..Default::default() },
        ),
        (
            "offset page at 9 500 (page=190)",
            ListParams { size, page: Some(DEPTH / PAGE), ..Default::default() },
        ),
        (
            "search page (regex, scans)",
            ListParams { size, search: Some("space 9".into()), ..Default::default() },
        ),
    ];
    for (label, params) in cases {
        let (median, p95) = time(|| {
            let spaces = &spaces;
            let principal = &principal;
            let params = params.clone();
            async move {
                Ok(spaces
                    .list(principal, &params)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .items
                    .len())
            }
        })
        .await?;
        println!(
            "{name}: {label:<36} median {:>8.0} µs   p95 {:>8.0} µs",
            median.as_secs_f64() * 1e6,
            p95.as_secs_f64() * 1e6
        );
    }
    database.remove().await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is expected.
    bench("sqlite", TestDatabase::sqlite().await?).await?;
    match TestDatabase::postgres().await? {
        Some(database) => bench("postgres", database).await?,
        None => println!("postgres: skipped (set PLAZA_TEST_PG_URL)"),
    }
    Ok(())
}
