//! Migrations keep what is already stored. The SQLite migration that rebuilds the
//! `message` table (0006) is checked on a database written under the schema before it:
//! every row, comment count, attachment and assignee must survive, and nothing that
//! references a message may be cascaded away while the table is replaced. The move of
//! unread counters onto read positions (0012) must keep every count a user saw.

use std::path::Path;

use plaza_db::stores::*;
use plaza_db::{MessageCategory, MessageQuery, ObjectId};
use plaza_db_sqlite::SqliteStore;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

#[tokio::test]
async fn the_sqlite_message_rebuild_keeps_every_row_and_reference() {
    // The schema as of migration 0005.
    let (_folder, url, pool) = database_migrated_to(5).await;

    let (ann, bob, space) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
    let (post, comment, task) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
    let statements = [
        insert_ann_and_bob(ann, bob),
        format!(
            "INSERT INTO space (space_id, kind, title, description, status, settings, \
             restrict_list, creator_id, created, modified) VALUES \
             ('{space}', 'group', 'Old', '', 0, '{{}}', '[]', '{ann}', 1, 1)"
        ),
        format!(
            "INSERT INTO message (message_id, space_id, category, sender_id, content, parent_id, \
             chat_count, deleted, created, modified, search_text, has_files, task_status) VALUES \
             ('{post}', '{space}', 'idea', '{ann}', '{{\"bodyText\":\"Plan\",\"data\":[{{\"fileId\":\"k1\"}}]}}', NULL, 1, 0, 10, 10, 'plan', 1, NULL), \
             ('{comment}', '{space}', 'chat', '{bob}', '{{\"bodyText\":\"+1\"}}', '{post}', 0, 0, 11, 11, '+1', 0, NULL), \
             ('{task}', '{space}', 'task', '{ann}', '{{\"bodyText\":\"Do\",\"status\":\"pending\"}}', NULL, 0, 0, 12, 12, 'do', 0, 'pending')"
        ),
        format!("INSERT INTO message_file (message_id, file_key) VALUES ('{post}', 'k1')"),
        format!("INSERT INTO message_assignee (message_id, user_id) VALUES ('{task}', '{bob}')"),
    ];
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&pool)
            .await
            .expect("seed the old schema");
    }
    pool.close().await;

    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate to the latest");

    let kept = store.message(post).await.expect("read").expect("the post survived");
    assert_eq!((kept.chat_count, kept.content["bodyText"].as_str()), (1, Some("Plan")));
    assert_eq!(store.message(comment).await.expect("read").and_then(|c| c.parent_id), Some(post));
    let mut assigned = MessageQuery::in_space(space, None, 10);
    assigned.assignee = Some(bob);
    let found = store.query_messages(&assigned).await.expect("query");
    assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), vec![task], "assignees kept");
    let mut with_files = MessageQuery::in_space(space, None, 10);
    with_files.files_only = true;
    let found = store.query_messages(&with_files).await.expect("query");
    assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), vec![post], "file flags kept");

    let (files, assignees, violations): (i64, i64, i64) = {
        let pool = SqlitePoolOptions::new().connect(&url).await.expect("open");
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.expect("count") }
        };
        let files = count("SELECT COUNT(*) FROM message_file").await;
        let assignees = count("SELECT COUNT(*) FROM message_assignee").await;
        let violations: Vec<(String,)> =
            sqlx::query_as("PRAGMA foreign_key_check").fetch_all(&pool).await.unwrap_or_default();
        (files, assignees, violations.len() as i64)
    };
    assert_eq!((files, assignees, violations), (1, 1, 0), "nothing cascaded, nothing dangling");

    // The rebuilt table takes meeting records and still cascades with its space.
    let mut meeting_record = store.message(task).await.expect("read").expect("task");
    meeting_record.id = ObjectId::new();
    meeting_record.category = MessageCategory::Meeting;
    store.insert_message(&meeting_record, false).await.expect("meeting records are allowed");
    store.close().await;
}

/// Migration 0012 moves unread counters from every membership onto read positions in the
/// space's message sequence: the counts a user saw before the upgrade are the counts after.
#[tokio::test]
async fn the_sqlite_counter_move_keeps_unread_counts_and_last_message_times() {
    let (_folder, url, pool) = database_migrated_to(11).await;

    let (ann, bob, space) = (ObjectId::new(), ObjectId::new(), ObjectId::new());
    let statements = [
        insert_ann_and_bob(ann, bob),
        format!(
            "INSERT INTO space (space_id, kind, title, description, status, settings, \
             restrict_list, creator_id, created, modified, message_seq) VALUES \
             ('{space}', 'group', 'Old', '', 0, '{{}}', '[]', '{ann}', 1, 1, 3)"
        ),
        format!(
            "INSERT INTO message (message_id, space_id, category, sender_id, content, \
             chat_count, deleted, created, modified, search_text, has_files, seq) VALUES \
             ('{}', '{space}', 'chat', '{ann}', '{{}}', 0, 0, 10, 10, '', 0, 1), \
             ('{}', '{space}', 'chat', '{ann}', '{{}}', 0, 0, 11, 11, '', 0, 2), \
             ('{}', '{space}', 'chat', '{ann}', '{{}}', 0, 0, 12, 12, '', 0, 3)",
            ObjectId::new(),
            ObjectId::new(),
            ObjectId::new()
        ),
        format!(
            "INSERT INTO membership (space_id, user_id, role, state, join_time, unread_count, \
             last_access, activity_at, last_message_at, modified) VALUES \
             ('{space}', '{ann}', 'admin', 'active', 1, 0, 1, 1, 12, 1), \
             ('{space}', '{bob}', 'member', 'active', 1, 2, 1, 1, 12, 1)"
        ),
    ];
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&pool).await.expect("seed 0011");
    }
    pool.close().await;

    let store = SqliteStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate to the latest");
    let view = |user| {
        let store = store.clone();
        async move { store.membership(space, user).await.expect("read").expect("member") }
    };
    let (ann_view, bob_view) = (view(ann).await, view(bob).await);
    assert_eq!((ann_view.unread_count, bob_view.unread_count), (0, 2));
    assert_eq!(bob_view.last_message_at.map(plaza_db::Timestamp::millis), Some(12));
    store.close().await;
}

/// A new SQLite database in a temp folder (kept while the folder lives), migrated up to
/// and including `version`: its URL and a one-connection pool on it.
async fn database_migrated_to(version: i64) -> (tempfile::TempDir, String, sqlx::SqlitePool) {
    let folder = tempfile::tempdir().expect("temp folder");
    let url = format!("sqlite://{}", folder.path().join("plaza.db").display());
    let options: SqliteConnectOptions = url.parse().expect("url");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.create_if_missing(true).foreign_keys(true))
        .await
        .expect("open");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plaza-db-sqlite/migrations");
    let mut before = sqlx::migrate::Migrator::new(dir).await.expect("read migrations");
    before.migrations =
        before.migrations.iter().filter(|m| m.version <= version).cloned().collect();
    before.run(&pool).await.expect("migrate the old schema");
    (folder, url, pool)
}

/// The statement that stores the users Ann and Bob, valid under every schema tested here.
fn insert_ann_and_bob(ann: ObjectId, bob: ObjectId) -> String {
    format!(
        "INSERT INTO app_user (user_id, kind, username, username_key, displayname, \
         phone_numbers, is_server_admin, disabled, created, modified) VALUES \
         ('{ann}', 'user', 'ann@example.com', 'ann@example.com', 'Ann', '[]', 0, 0, 1, 1), \
         ('{bob}', 'user', 'bob@example.com', 'bob@example.com', 'Bob', '[]', 0, 0, 1, 1)"
    )
}
