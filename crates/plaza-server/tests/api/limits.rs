//! Limits per client address, per user and per connection: sign-in attempts, uploads,
//! open sockets, and clients that stop reading.

use std::time::Duration;

use plaza_client::RealtimeError;
use plaza_client::realtime::Credentials;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, jwt, spawn_app_with};

fn login_body() -> Value {
    json!({"username": "someone@example.com", "password": "a wrong password"})
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address_and_forwarded_for_is_not_trusted_by_default() {
    let app = spawn_app_with(|settings| {
        settings.limits.auth_per_second = 1;
        settings.limits.auth_burst = 3;
    })
    .await;
    // Six attempts at once (checking a password takes long enough in a debug build for
    // the budget to refill between sequential ones), over all three ways to sign in,
    // each claiming another address: an untrusted peer cannot spread its attempts over
    // made-up X-Forwarded-For values, and the three share one budget.
    let attempts = (0..6).map(|n| {
        let (path, body) = match n % 3 {
            0 => ("/api/auth/login", login_body()),
            1 => ("/api/anonymous/auth", json!({"displayname": "Guest"})),
            _ => (
                "/api/auth/register",
                json!({"username": format!("new{n}@example.com"), "password": PASSWORD}),
            ),
        };
        let request = app
            .request(reqwest::Method::POST, path, None)
            .header("x-forwarded-for", format!("10.0.0.{n}"))
            .json(&body);
        app.send(request)
    });
    let answers = futures_util::future::join_all(attempts).await;
    let limited: Vec<_> = answers.iter().filter(|a| a.status.as_u16() == 429).collect();
    assert_eq!(limited.len(), 3, "{:?}", answers.iter().map(|a| &a.text).collect::<Vec<_>>());
    for answer in &limited {
        answer.assert_error(429, "request.rate_limited");
        assert!(answer.headers.get("retry-after").is_some(), "{:?}", answer.headers);
        assert!(answer.body["retryAfter"].as_u64().is_some_and(|s| s >= 1));
    }
    // The budget refills at the sustained rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.post("/api/auth/login", None, &login_body())
        .await
        .assert_error(401, "auth.invalid_credentials");
}

#[tokio::test]
async fn a_trusted_proxy_passes_on_the_client_address() {
    let app = spawn_app_with(|settings| {
        settings.limits.auth_per_second = 1;
        settings.limits.auth_burst = 1;
        settings.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let from = |client: &str| {
        app.request(reqwest::Method::POST, "/api/auth/login", None)
            .header("x-forwarded-for", format!("203.0.113.9, {client}"))
            .json(&login_body())
    };
    // Two at once from one client (one allowed, one not): sequential attempts would
    // leave time for the budget to refill while the password is checked.
    let (first, second) =
        tokio::join!(app.send(from("198.51.100.1")), app.send(from("198.51.100.1")));
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [401, 429], "{} / {}", first.text, second.text);
    // Another client behind the same proxy has its own budget.
    app.send(from("198.51.100.2")).await.assert_error(401, "auth.invalid_credentials");
    // The audit log records the client, not the proxy.
    let admin = app
        .post(
            "/api/auth/register",
            None,
            &json!({"username": "root@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(admin.status, StatusCode::CREATED, "{}", admin.text);
    let token = admin.body["token"].as_str().unwrap();
    let failed = app.get("/api/admin/audit?action=auth.login.failed", Some(&jwt(token))).await;
    let addresses: Vec<&str> =
        failed.body["data"].as_array().unwrap().iter().map(|e| e["ip"].as_str().unwrap()).collect();
    assert_eq!(addresses, ["198.51.100.2", "198.51.100.1"], "{}", failed.text);
}

#[tokio::test]
async fn upload_requests_are_limited_per_user() {
    let app = spawn_app_with(|settings| {
        settings.limits.uploads_per_second = 1;
        settings.limits.upload_burst = 2;
    })
    .await;
    let (alice, _) = app.register("alice@example.com").await;
    let (bob, _) = app.register("bob@example.com").await;
    let ask = |token: String| {
        let app = &app;
        async move {
            app.post(
                "/api/files/getuploadurl",
                Some(&jwt(&token)),
                &json!({"files": [{"Content-Type": "text/plain", "Content-Length": 3}]}),
            )
            .await
        }
    };
    for _ in 0..2 {
        let answer = ask(alice.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    ask(alice.clone()).await.assert_error(429, "request.rate_limited");
    let other = ask(bob).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_connections() {
    let app = spawn_app_with(|settings| settings.limits.connections_per_user = 2).await;
    let (token, _) = app.register("many@example.com").await;
    let (other, _) = app.register("other@example.com").await;
    let connect = |token: String| {
        let base = app.base.clone();
        async move {
            plaza_client::RealtimeClient::connect(&base, "/chat", &Credentials::jwt(&token)).await
        }
    };
    let first = connect(token.clone()).await.expect("first connection");
    let _second = connect(token.clone()).await.expect("second connection");
    let refused = connect(token.clone()).await;
    let Err(RealtimeError::Refused { data }) = refused else {
        panic!("a third connection was not refused");
    };
    let message: Value = serde_json::from_str(data["message"].as_str().unwrap()).unwrap();
    assert_eq!(message["code"], "request.rate_limited", "{message}");
    // Other users are not affected.
    let _theirs = connect(other).await.expect("another user's connection");
    // A closed connection gives its slot back.
    first.close().await;
    let mut again = None;
    for _ in 0..50 {
        if let Ok(client) = connect(token.clone()).await {
            again = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the closed connection's slot never came back");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_at_its_next_heartbeat() {
    let app = spawn_app_with(|settings| {
        settings.limits.socket_queue = 16;
        settings.limits.connections_per_user = 1;
        settings.messages.sends_per_second = 0;
        settings.realtime.ping_interval_ms = 500;
        settings.realtime.ping_timeout_ms = 2000;
    })
    .await;
    let (owner, _) = app.register("owner@example.com").await;
    let (reader, reader_user) = app.register("reader@example.com").await;
    let space = app.create_space(&owner, "Firehose").await;
    let added = app
        .post(
            &format!(
                "/api/spaces/{space}/attendees/userId/{}",
                reader_user["_id"].as_str().unwrap()
            ),
            Some(&jwt(&owner)),
            &json!({"role": "member"}),
        )
        .await;
    assert!(added.status.is_success(), "{}", added.text);
    // Subscribed, then never read again.
    let stalled = crate::compat::RawSocket::subscribed(&app.base, 4, &reader, &space).await;
    let connect_again = || {
        let (base, token) = (app.base.clone(), reader.clone());
        async move {
            plaza_client::RealtimeClient::connect(&base, "/chat", &Credentials::jwt(&token)).await
        }
    };
    assert!(connect_again().await.is_err(), "the stalled socket holds the user's one slot");
    // Far more than the socket's queue and both ends' TCP buffers hold.
    let body = "x".repeat(60_000);
    let mut dropped = false;
    for sent in 0..2_000 {
        let chat = app
            .post(
                &format!("/api/spaces/{space}/chats"),
                Some(&jwt(&owner)),
                &json!({"content": {"bodyText": body}}),
            )
            .await;
        assert!(chat.status.is_success(), "{}", chat.text);
        if sent % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(600)).await;
            match connect_again().await {
                Ok(client) => {
                    client.close().await;
                    dropped = true;
                    break;
                }
                Err(error) => eprintln!("after {sent} sends: {error}"),
            }
        }
    }
    assert!(dropped, "the server kept a client that read nothing");
    drop(stalled);
}
