//! Holes an outside attacker pass found (issue 23), each tried the way the attacker did.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{jwt, spawn_app};

/// An item of another provider cannot carry one of our file keys, and never makes the
/// file readable: only native attachments are checked, so only they count.
#[tokio::test]
async fn another_providers_item_cannot_smuggle_a_file_key() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (thief, _) = app.register("thief@example.com").await;
    let private = app.create_space(&owner, "Private").await;
    let key = crate::compat::upload_text(&app, &owner).await;
    let item =
        json!({"fileId": key, "provider": "native", "fileType": "document", "name": "a.txt"});
    let sent = app
        .post(
            &format!("/api/spaces/{private}/chats"),
            Some(&jwt(&owner)),
            &json!({"content": {"bodyText": "secret", "data": [item]}}),
        )
        .await;
    assert!(sent.status.is_success(), "{}", sent.text);

    // The key leaks; the thief posts it as a Google Drive item in a space of their own.
    let own = app.create_space(&thief, "Mine").await;
    for field in ["fileId", "thumbnailFile"] {
        let mut smuggled = json!({"fileId": "drive-123", "provider": "gdrive", "name": "x"});
        smuggled[field] = json!(key);
        app.post(
            &format!("/api/spaces/{own}/chats"),
            Some(&jwt(&thief)),
            &json!({"content": {"bodyText": "mine now", "data": [smuggled]}}),
        )
        .await
        .assert_error(400, "request.invalid");
    }
    // A real link to another provider's file is still welcome, and grants nothing here.
    let link = json!({"fileId": "drive-123", "provider": "gdrive", "name": "Plan"});
    let linked = app
        .post(
            &format!("/api/spaces/{own}/chats"),
            Some(&jwt(&thief)),
            &json!({"content": {"bodyText": "a link", "data": [link]}}),
        )
        .await;
    assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.text);
    let download = app.get(&format!("/api/files/{key}"), Some(&jwt(&thief))).await;
    assert!(
        !download.status.is_success() && !download.status.is_redirection(),
        "{}",
        download.status
    );
    let urls = app
        .post("/api/files/getdownloadurl", Some(&jwt(&thief)), &json!({"fileKeys": [key]}))
        .await;
    assert!(!urls.text.contains("/api/files/download/"), "{}", urls.text);
}
