//! `plaza backup` and `plaza restore`: an online backup taken while messages keep
//! arriving restores to a working server with everything written before it began;
//! SQLite and PostgreSQL backups load into either backend; a cut-short file, a
//! non-empty target and another schema are refused without loading anything.

use std::collections::HashMap;
use std::time::Duration;

use plaza_db_tests::TestDatabase;
use plaza_server::backup::{restore_backup, write_backup};
use plaza_server::{Overrides, Settings};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, jwt, spawn_app, spawn_app_with};

/// Settings naming the SQLite database in `dir`, or the database at `url`.
fn settings_for(dir: &std::path::Path, url: Option<&str>) -> Settings {
    let mut settings = Settings::load(None, Vec::new(), &Overrides::default()).unwrap();
    settings.server.data_dir = dir.to_owned();
    settings.database.url = url.map(|u| plaza_server::settings::SecretUrl(u.to_owned()));
    settings
}

async fn backup_of(settings: &Settings) -> Vec<u8> {
    let (_, database) = plaza_server::open_database(settings).await.unwrap();
    let mut out = Vec::new();
    let summary = write_backup(database.as_ref(), &mut out, |_| {}).await.unwrap();
    assert!(summary.rows > 10, "{summary:?}");
    out
}

async fn restore_into(settings: &Settings, backup: &[u8]) -> anyhow::Result<u64> {
    let (_, database) = plaza_server::open_database(settings).await?;
    restore_backup(database.as_ref(), backup).await
}

/// A space's whole history as the API shows it, keyed by message id, with the
/// server's own address taken out.
async fn history(app: &TestApp, token: &str, space: &str) -> HashMap<String, Value> {
    let mut messages = HashMap::new();
    let mut next = format!("/api/spaces/{space}/messages/query?size=50");
    while !next.is_empty() {
        let answer = app.get(&next.replace(&app.base, ""), Some(&jwt(token))).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let body: Value = serde_json::from_str(&answer.text.replace(&app.base, "BASE")).unwrap();
        for message in body["data"].as_array().unwrap() {
            messages.insert(message["_id"].as_str().unwrap().to_owned(), message.clone());
        }
        next = answer.body["nextPageUrl"].as_str().unwrap_or_default().to_owned();
    }
    messages
}

struct Seeded {
    app: TestApp,
    alice: String,
    space: String,
}

async fn seeded(app: TestApp) -> Seeded {
    let (alice, _) = app.register("alice@example.com").await;
    let (bob, bob_user) = app.register("bob@example.com").await;
    let space = app.create_space(&alice, "Kept").await;
    let added = app
        .post(
            &format!("/api/spaces/{space}/attendees/userId/{}", bob_user["_id"].as_str().unwrap()),
            Some(&jwt(&alice)),
            &json!({"role": "member"}),
        )
        .await;
    assert!(added.status.is_success(), "{}", added.text);
    let task = app
        .post(
            &format!("/api/spaces/{space}/tasks"),
            Some(&jwt(&alice)),
            &json!({"content": {"description": "Ship it", "bodyText": "Ship it", "status": "pending"}}),
        )
        .await;
    assert!(task.status.is_success(), "{}", task.text);
    let task_id =
        task.body["_id"].as_str().or(task.body["data"]["_id"].as_str()).unwrap().to_owned();
    for n in 0..5 {
        let chat = app
            .post(
                &format!("/api/spaces/{space}/chats"),
                Some(&jwt(&bob)),
                &json!({"content": {"bodyText": format!("hello {n} ✓")}, "parentMsg": if n == 0 { json!({"_id": task_id}) } else { Value::Null }}),
            )
            .await;
        assert!(chat.status.is_success(), "{}", chat.text);
    }
    Seeded { app, alice, space }
}

#[tokio::test]
async fn an_online_backup_restores_to_a_working_server() {
    let app = spawn_app_with(|s| s.messages.sends_per_second = 0).await;
    let Seeded { app, alice, space } = seeded(app).await;
    let before = history(&app, &alice, &space).await;

    // Messages keep arriving while the backup is taken.
    let writing = tokio::spawn({
        let (client, url, token) =
            (app.client.clone(), app.url(&format!("/api/spaces/{space}/chats")), alice.clone());
        async move {
            for n in 0..200 {
                let sent = client
                    .post(&url)
                    .header("authorization", jwt(&token))
                    .json(&json!({"content": {"bodyText": format!("during {n}")}}))
                    .send()
                    .await
                    .unwrap();
                assert!(sent.status().is_success());
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let backup = backup_of(&settings_for(&app.data_dir, None)).await;
    writing.await.unwrap();
    let after = history(&app, &alice, &space).await;

    let restored_dir = tempfile::tempdir().unwrap();
    let restored_data = restored_dir.path().join("data");
    let rows = restore_into(&settings_for(&restored_data, None), &backup).await.unwrap();
    assert!(rows > 10);
    let restored = spawn_app_with(|s| s.server.data_dir = restored_data.clone()).await;
    // The same signing key: tokens issued before still work, and so do passwords.
    let kept = history(&restored, &alice, &space).await;
    let login = restored
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "bob@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    for (id, message) in &before {
        assert_eq!(kept.get(id), Some(message), "written before the backup: {id}");
    }
    for (id, message) in &kept {
        assert_eq!(after.get(id), Some(message), "restored as it was written: {id}");
    }
    eprintln!(
        "backup: {} messages before, {} after, {} restored ({} rows)",
        before.len(),
        after.len(),
        kept.len(),
        rows
    );
    // The restored server takes new writes.
    let more = restored
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&jwt(&alice)),
            &json!({"content": {"bodyText": "after"}}),
        )
        .await;
    assert!(more.status.is_success(), "{}", more.text);
}

#[tokio::test]
async fn backups_move_between_sqlite_and_postgresql() {
    let Some(first) = TestDatabase::postgres().await.unwrap() else {
        eprintln!("PLAZA_TEST_PG_URL is not set: PostgreSQL backups skipped");
        return;
    };
    let second = TestDatabase::postgres().await.unwrap().unwrap();
    let Seeded { app, alice, space } = seeded(spawn_app().await).await;
    let original = history(&app, &alice, &space).await;
    let from_sqlite = backup_of(&settings_for(&app.data_dir, None)).await;

    // SQLite → PostgreSQL, then a backup of that PostgreSQL → another PostgreSQL.
    let folder = tempfile::tempdir().unwrap();
    restore_into(&settings_for(folder.path(), Some(&first.url)), &from_sqlite).await.unwrap();
    let from_postgres = backup_of(&settings_for(folder.path(), Some(&first.url))).await;
    restore_into(&settings_for(folder.path(), Some(&second.url)), &from_postgres).await.unwrap();
    let url = second.url.clone();
    let on_postgres = spawn_app_with(move |s| {
        s.database.url = Some(plaza_server::settings::SecretUrl(url));
    })
    .await;
    assert_eq!(history(&on_postgres, &alice, &space).await, original);
    drop(on_postgres);

    // PostgreSQL → SQLite.
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_data = sqlite_dir.path().join("data");
    restore_into(&settings_for(&sqlite_data, None), &from_postgres).await.unwrap();
    let on_sqlite = spawn_app_with(|s| s.server.data_dir = sqlite_data.clone()).await;
    assert_eq!(history(&on_sqlite, &alice, &space).await, original);
    first.remove().await.unwrap();
    second.remove().await.unwrap();
}

#[tokio::test]
async fn bad_backups_and_busy_targets_are_refused_and_load_nothing() {
    let Seeded { app, .. } = seeded(spawn_app().await).await;
    let backup = backup_of(&settings_for(&app.data_dir, None)).await;
    let text = String::from_utf8(backup.clone()).unwrap();

    // Into a database that has data already.
    let busy = restore_into(&settings_for(&app.data_dir, None), &backup).await.unwrap_err();
    assert!(busy.to_string().contains("already has data"), "{busy:#}");

    let folder = tempfile::tempdir().unwrap();
    let target = settings_for(&folder.path().join("data"), None);
    // Cut short: the trailer is missing.
    let lines: Vec<&str> = text.lines().collect();
    let cut = lines[..lines.len() - 3].join("\n") + "\n";
    let error = restore_into(&target, cut.as_bytes()).await.unwrap_err();
    assert!(format!("{error:#}").contains("cut short"), "{error:#}");
    // Another schema version.
    let mut header: Value = serde_json::from_str(lines[0]).unwrap();
    header["schema"] = json!(1);
    let other_schema = format!("{header}\n{}\n", lines[1..].join("\n"));
    let error = restore_into(&target, other_schema.as_bytes()).await.unwrap_err();
    assert!(error.to_string().contains("schema"), "{error:#}");
    // A row that does not fit its column.
    let bad_row = text.replacen("\"alice@example.com\"", "12", 1);
    assert!(restore_into(&target, bad_row.as_bytes()).await.is_err());

    // Nothing of those attempts was kept: the whole backup still loads.
    let rows = restore_into(&target, &backup).await.unwrap();
    assert!(rows > 10);
}

#[tokio::test]
async fn the_backup_and_restore_commands_work_on_their_own() {
    let Seeded { app, alice, space } = seeded(spawn_app().await).await;
    let original = history(&app, &alice, &space).await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("plaza.backup");
    let plaza = env!("CARGO_BIN_EXE_plaza");
    let backup = std::process::Command::new(plaza)
        .args(["backup", "--data-dir"])
        .arg(&app.data_dir)
        .arg("--output")
        .arg(&file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&backup.stderr);
    assert!(backup.status.success(), "{said}");
    assert!(said.contains("message: ") && said.contains("backed up"), "progress: {said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup holds secrets");
    }
    let restored_data = folder.path().join("restored");
    let restore = std::process::Command::new(plaza)
        .args(["restore", "--data-dir"])
        .arg(&restored_data)
        .arg("--input")
        .arg(&file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let restored = spawn_app_with(|s| s.server.data_dir = restored_data.clone()).await;
    assert_eq!(history(&restored, &alice, &space).await, original);
}
