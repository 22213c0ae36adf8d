//! Holes an outside attacker pass found (issue 23), each tried the way the attacker did.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::compat::RawSocket;
use crate::helpers::{PASSWORD, TestApp, jwt, now_secs, spawn_app};

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

/// Reads `socket` until the server disconnects it; it must have been told why first.
async fn assert_ended(socket: &mut RawSocket, code: &str, reason: &str, what: &str) {
    let events = socket
        .events_until_disconnected(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("{what}: still connected 5 s later"));
    let (_, ended) = events
        .iter()
        .find(|(name, _)| name == "SESSION_ENDED")
        .unwrap_or_else(|| panic!("{what}: disconnected without SESSION_ENDED: {events:?}"));
    assert_eq!((ended["code"].as_str(), ended["reason"].as_str()), (Some(code), Some(reason)));
}

/// A chat posted over REST reaches `socket`, which is therefore still connected.
async fn assert_still_served(app: &TestApp, token: &str, space: &str, socket: &mut RawSocket) {
    let text = format!("still here {}", rand::random::<u32>());
    let sent = app
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&jwt(token)),
            &json!({"content": {"bodyText": text}}),
        )
        .await;
    assert!(sent.status.is_success(), "{}", sent.text);
    let delivered = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let (name, payload) = socket.next_event().await;
            if name == "MESSAGE_SENT" && payload["content"]["bodyText"] == text.as_str() {
                return;
            }
        }
    })
    .await;
    assert!(delivered.is_ok(), "the other connection still gets the space's messages");
}

async fn login(app: &TestApp, username: &str) -> String {
    let answer = app
        .post("/api/auth/login", None, &json!({"username": username, "password": PASSWORD}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["token"].as_str().unwrap().to_owned()
}

/// Item 3: logging out ends the sockets that token opened, on both Engine.IO versions,
/// and only those: the same user's other session goes on.
#[tokio::test]
async fn logout_ends_the_sockets_its_token_opened() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Room").await;
    for eio in [3, 4] {
        let session = login(&app, "owner@example.com").await;
        let mut revoked = RawSocket::subscribed(&app.base, eio, &session, &space).await;
        let mut other = RawSocket::subscribed(&app.base, eio, &owner, &space).await;
        let out = app.post("/api/auth/logout", Some(&jwt(&session)), &json!({})).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
        assert_ended(&mut revoked, "auth.invalid_token", "token_revoked", &format!("EIO{eio}"))
            .await;
        assert_still_served(&app, &owner, &space, &mut other).await;
    }
}

/// Item 3: disabling an account ends every socket it holds, whichever token opened it.
#[tokio::test]
async fn disabling_an_account_ends_all_its_sockets() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let space = app.create_space(&admin, "Room").await;
    let member_id = member_user["_id"].as_str().unwrap();
    let added = app
        .post(
            &format!("/api/spaces/{space}/attendees/userId/{member_id}"),
            Some(&jwt(&admin)),
            &json!({"role": "member"}),
        )
        .await;
    assert!(added.status.is_success(), "{}", added.text);
    let second = login(&app, "member@example.com").await;
    let mut on_v3 = RawSocket::subscribed(&app.base, 3, &member, &space).await;
    let mut on_v4 = RawSocket::subscribed(&app.base, 4, &second, &space).await;
    let mut admins = RawSocket::subscribed(&app.base, 4, &admin, &space).await;
    let disabled = app
        .post(&format!("/api/admin/users/{member_id}/disable"), Some(&jwt(&admin)), &json!({}))
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    assert_ended(&mut on_v3, "auth.account_disabled", "account_disabled", "EIO3").await;
    assert_ended(&mut on_v4, "auth.account_disabled", "account_disabled", "EIO4").await;
    assert_still_served(&app, &admin, &space, &mut admins).await;
}

/// Item 3: a socket ends when its token's lifetime does, though nobody revoked it.
#[tokio::test]
async fn a_socket_ends_when_its_token_expires() {
    let app = spawn_app().await;
    let (owner, user) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Room").await;
    let (key, kid, _) = crate::tokens::server_key(&app).await;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid);
    for eio in [3, 4] {
        let claims = crate::tokens::claims_for(user["_id"].as_str().unwrap(), now_secs() + 2);
        let short = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        let mut socket = RawSocket::subscribed(&app.base, eio, &short, &space).await;
        assert_ended(&mut socket, "auth.invalid_token", "token_expired", &format!("EIO{eio}"))
            .await;
    }
}

/// Item 3: removing a service app ends the sockets its tokens opened.
#[tokio::test]
async fn removing_a_service_app_ends_its_sockets() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let created =
        app.post("/api/admin/service-apps", Some(&jwt(&admin)), &json!({"name": "Bot"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let client_id = created.body["data"]["clientId"].as_str().unwrap().to_owned();
    let secret = created.body["data"]["clientSecret"].as_str().unwrap();
    let granted = app
        .send(
            app.request(reqwest::Method::POST, "/oauth2/access_token", None)
                .basic_auth(&client_id, Some(secret))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
    let token = granted.body["access_token"].as_str().unwrap().to_owned();
    let mut bot = RawSocket::open(&app.base, 4, &token).await;
    let connect = bot.connect_frame(&token);
    bot.send(connect).await;
    assert!(bot.next_text().await.starts_with("40/chat"), "the bot is connected");
    let removed = app
        .send(app.request(
            reqwest::Method::DELETE,
            &format!("/api/admin/service-apps/{client_id}"),
            Some(&jwt(&admin)),
        ))
        .await;
    assert!(removed.status.is_success(), "{}", removed.text);
    assert_ended(&mut bot, "auth.invalid_token", "client_revoked", "service app").await;
}
