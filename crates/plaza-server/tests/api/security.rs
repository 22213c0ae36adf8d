//! Holes an outside attacker pass found (issue 23), each tried the way the attacker did.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::compat::RawSocket;
use crate::helpers::{PASSWORD, TestApp, jwt, now_secs, spawn_app, spawn_app_with};

/// An item of another provider cannot carry one of our file keys, and never makes the
/// file readable: only native attachments are checked, so only they count.
#[tokio::test]
async fn another_providers_item_cannot_smuggle_a_file_key() {
    let app = spawn_app().await;
    smuggling_is_refused_on(&app).await;
}

async fn smuggling_is_refused_on(app: &TestApp) {
    let (owner, _) = app.register("owner-smuggle@example.com").await;
    let (thief, _) = app.register("thief-smuggle@example.com").await;
    let private = app.create_space(&owner, "Private").await;
    let key = crate::compat::upload_text(app, &owner).await;
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
    app.add_member(&admin, &space, member_id, "member").await;
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

/// Item 1: ids made around one's own tell nothing about each other. The old generator
/// gave ids of one process a constant middle and a +1 counter.
#[tokio::test]
async fn ids_made_around_ones_own_cannot_be_computed() {
    let app = spawn_app().await;
    ids_on(&app).await;
}

async fn ids_on(app: &TestApp) {
    let (owner, _) = app.register("owner-ids@example.com").await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(app.create_space(&owner, &format!("Space {n}")).await);
    }
    let random = |id: &str| u64::from_str_radix(&id[8..], 16).unwrap();
    for pair in ids.windows(2) {
        let (a, b) = (random(&pair[0]), random(&pair[1]));
        assert_ne!(a >> 24, b >> 24, "{pair:?} share their middle");
        assert_ne!(b.wrapping_sub(a), 1, "{pair:?} are counter neighbours");
    }
    // The attacker's move: the id after one's own names nothing.
    let (guest_token, guest) = (app.anonymous("Mallory").await, ids[2].clone());
    let next = format!("{}{:016x}", &guest[..8], random(&guest).wrapping_add(1));
    app.get(&format!("/api/spaces/{next}"), Some(&jwt(&guest_token)))
        .await
        .assert_error(404, "topic.not_found");
}

/// Item 4: someone outside a space who could join it sees a preview (title, type,
/// status), never who is in it; once in, the whole space.
#[tokio::test]
async fn a_non_member_sees_a_preview_without_members() {
    let app = spawn_app().await;
    preview_on(&app).await;
}

async fn preview_on(app: &TestApp) {
    let (owner, _) = app.register("owner-preview@example.com").await;
    let space = app.create_space(&owner, "Town hall").await;
    let outsider = app.anonymous("Curious").await;
    let preview = app.get(&format!("/api/spaces/{space}"), Some(&jwt(&outsider))).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["preview"], true);
    assert_eq!(preview.body["title"], "Town hall");
    assert_eq!(preview.body["members"], json!([]));
    assert!(
        !preview.text.contains("owner-preview@example.com"),
        "no e-mail address: {}",
        preview.text
    );
    for hidden in ["cid", "description", "restrict", "role"] {
        assert!(preview.body.get(hidden).is_none(), "{hidden} is for members: {}", preview.text);
    }
    app.get(&format!("/api/spaces/{space}/members"), Some(&jwt(&outsider)))
        .await
        .assert_error(403, "permission.denied");
    let joined = app.get(&format!("/api/spaces/{space}/join"), Some(&jwt(&outsider))).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    let member_view = app.get(&format!("/api/spaces/{space}"), Some(&jwt(&outsider))).await;
    assert!(member_view.body.get("preview").is_none());
    assert!(member_view.body["members"].as_array().unwrap().len() >= 2, "{}", member_view.text);
}

/// Item 5: PIN attempts are counted per caller and per space, right or wrong, on REST
/// and on sockets alike; an exhausted budget refuses even the right PIN, and the audit
/// log records the burst once.
#[tokio::test]
async fn space_pin_attempts_are_throttled_per_caller_and_per_space() {
    let app = spawn_app_with(|settings| {
        settings.limits.pin_attempts_per_second = 1;
        settings.limits.pin_attempt_burst = 3;
    })
    .await;
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Locked").await;
    let pinned = app
        .post(
            &format!("/api/spaces/{space}"),
            Some(&jwt(&owner)),
            &json!({"settings": {"confPin": "4321"}}),
        )
        .await;
    assert_eq!(pinned.status, StatusCode::OK, "{}", pinned.text);
    let join = format!("/api/spaces/{space}/join");
    let guesser = app.anonymous("Guesser").await;
    for pin in ["0000", "0001", "0002"] {
        app.get_with_pin(&join, &guesser, pin).await.assert_error(403, "topic.password_invalid");
    }
    // The caller's budget is spent: the right PIN is refused too, on REST and socket.
    let refused = app.get_with_pin(&join, &guesser, "4321").await;
    refused.assert_error(429, "request.rate_limited");
    let mut socket = RawSocket::open(&app.base, 4, &guesser).await;
    let connect = socket.connect_frame(&guesser);
    socket.send(connect).await;
    let channel = json!({"_id": space, "type": "topic", "password": "4321"});
    socket.emit("SUBSCRIBE_CHANNEL", json!({"channel": channel})).await;
    let failed = socket.event_named("SUBSCRIBE_CHANNEL_FAILED", Duration::from_secs(5)).await;
    assert_eq!(failed.expect("refused on the socket too")["error"]["code"], "request.rate_limited");
    // The space's budget (three times a caller's) runs out across callers.
    let mut others = Vec::new();
    for n in 0..15 {
        others.push(app.anonymous(&format!("Other {n}")).await);
    }
    let mut refused_at = None;
    for (n, other) in others.iter().enumerate() {
        let answer = app.get_with_pin(&join, other, "9999").await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(n);
            break;
        }
        answer.assert_error(403, "topic.password_invalid");
    }
    assert!(refused_at.is_some(), "the space's own budget bounds guesses from many callers");
    let audit = app.get("/api/admin/audit?action=space.pin.throttled", Some(&jwt(&owner))).await;
    let events = audit.body["data"].as_array().unwrap();
    let budgets: Vec<&str> =
        events.iter().map(|e| e["details"]["budget"].as_str().unwrap()).collect();
    assert!(budgets.contains(&"caller") && budgets.contains(&"space"), "{}", audit.text);
    assert_eq!(budgets.iter().filter(|b| **b == "caller").count(), 1, "a burst is one entry");
}

/// Item 7: an Engine.IO packet over `maxPayload` (100 kB) is refused on both versions
/// and both transports, and nothing of it is stored.
#[tokio::test]
async fn oversized_packets_are_refused_on_every_transport() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Big").await;
    let huge = "x".repeat(300_000);
    for eio in [3, 4] {
        let mut socket = RawSocket::subscribed(&app.base, eio, &owner, &space).await;
        let message = json!({"channel": {"_id": space, "type": "topic"}, "category": "chat", "content": {"bodyText": huge}});
        socket.emit("SEND_MESSAGE", message).await;
        assert!(socket.closed_within(Duration::from_secs(5)).await, "EIO{eio}: websocket closed");
        // Polling: the POST carrying the packet is refused.
        let handshake = app
            .client
            .get(app.url(&format!(
                "/socket.io/?EIO={eio}&transport=polling&token={owner}&tokenType=jwt"
            )))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let open = &handshake[handshake.find('{').unwrap()..];
        let open = &open[..=open.find('}').unwrap()];
        let sid = serde_json::from_str::<serde_json::Value>(open).unwrap()["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        let packet =
            format!("42/chat,{}", json!(["SEND_MESSAGE", {"content": {"bodyText": huge}}]));
        let body = if eio == 3 { format!("{}:{packet}", packet.chars().count()) } else { packet };
        let posted = app
            .client
            .post(app.url(&format!("/socket.io/?EIO={eio}&transport=polling&sid={sid}")))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(!posted.status().is_success(), "EIO{eio} polling: {}", posted.status());
    }
    let history = app.get(&format!("/api/spaces/{space}/messages"), Some(&jwt(&owner))).await;
    assert!(!history.text.contains("xxxxxxxxxx"), "nothing of it was stored");
}

/// Item 8: presence events are bounded in size and in rate, per socket and per user
/// across sockets; what is refused is answered and not relayed.
#[tokio::test]
async fn presence_is_bounded_in_size_and_rate() {
    let app = spawn_app_with(|settings| {
        settings.limits.presence_per_second = 1;
        settings.limits.presence_burst = 5;
    })
    .await;
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Presence").await;
    let guest = app.anonymous("Chatty").await;
    let mut listener = RawSocket::subscribed(&app.base, 4, &owner, &space).await;
    let mut first = RawSocket::subscribed(&app.base, 4, &guest, &space).await;
    let mut second = RawSocket::subscribed(&app.base, 3, &guest, &space).await;
    let presence = |n: usize, padding: usize| json!({"category": "app.event.presence.party.online", "topicId": space, "content": {"n": n, "pad": "p".repeat(padding)}, "receivers": []});
    first.emit("SEND_PRESENCE_EVENT", presence(0, 20_000)).await;
    let failed = first.event_named("SEND_PRESENCE_EVENT_FAILED", Duration::from_secs(5)).await;
    assert_eq!(failed.expect("answered")["error"]["code"], "request.too_large");
    // 8 each from two sockets: each socket's burst is 5, the user's together 10.
    for n in 1..=8 {
        first.emit("SEND_PRESENCE_EVENT", presence(n, 10)).await;
        second.emit("SEND_PRESENCE_EVENT", presence(100 + n, 10)).await;
    }
    let mut relayed = Vec::new();
    while let Some(event) =
        listener.event_named("PRESENCE_EVENT_RESPONSE", Duration::from_secs(1)).await
    {
        relayed.push(event["content"]["n"].as_u64().unwrap());
    }
    assert!(!relayed.contains(&0), "the oversized event was not relayed");
    let from_first = relayed.iter().filter(|n| **n < 100).count();
    let from_second = relayed.len() - from_first;
    assert!(from_first <= 6 && from_second <= 6, "per socket: {relayed:?}");
    assert!(relayed.len() <= 11, "per user across sockets: {relayed:?}");
    assert!(relayed.len() >= 5, "within the limits they go through: {relayed:?}");
}

/// Item 9: media toggled on and off 150 times makes one meeting, not 150.
#[tokio::test]
async fn media_flapping_makes_one_meeting() {
    let app = spawn_app_with(|settings| settings.messages.sends_per_second = 0).await;
    flapping_on(&app).await;
}

async fn flapping_on(app: &TestApp) {
    let (owner, _) = app.register("owner-flap@example.com").await;
    let space = app.create_space(&owner, "Flap").await;
    let guest = app.anonymous("Flapper").await;
    let mut client = plaza_client::RealtimeClient::connect(
        &app.base,
        "/chat",
        &plaza_client::realtime::Credentials::jwt(&guest),
    )
    .await
    .expect("connect");
    client.subscribe(&space, None).unwrap();
    client.wait_for("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.expect("subscribed");
    let on = json!({"category": "tracksstatus", "topicId": space, "content": {"mediaSession": {"audio": true, "video": false, "connected": true}}});
    let off = json!({"category": "video.end", "topicId": space, "content": {}});
    for _ in 0..150 {
        client.emit("SEND_MEDIA_SESSION_EVENTS", &on).unwrap();
        client.emit("SEND_MEDIA_SESSION_EVENTS", &off).unwrap();
    }
    // A socket's events are handled in order: once this chat is back, all were.
    client.send_chat(&space, "done", None).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let event =
            tokio::time::timeout(left, client.next_event()).await.expect("in time").unwrap();
        if event.name == "MESSAGE_SENT" && event.payload["content"]["bodyText"] == "done" {
            break;
        }
    }
    let history = app.get(&format!("/api/spaces/{space}/meetings"), Some(&jwt(&owner))).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    assert_eq!(history.body["total"], 1, "{}", history.text);
}

/// Item 10: a client that never finishes its headers, or idles on a kept-alive
/// connection, is cut off; one address holds a bounded number of connections.
#[tokio::test]
async fn slow_and_greedy_connections_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|settings| {
        settings.limits.header_read_timeout_secs = 1;
        settings.limits.connections_per_address = 4;
    })
    .await;
    let address = app.base.trim_start_matches("http://").to_owned();
    async fn closed_by_server(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
        let mut buffer = vec![0u8; 4096];
        let ended = tokio::time::timeout(within, async {
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        ended.is_ok()
    }
    // Slowloris: headers begun, never finished.
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: plaza\r\nX-Slow: ").await.unwrap();
    assert!(closed_by_server(&mut slow, Duration::from_secs(5)).await, "unfinished headers");
    // Kept alive, then idle.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: plaza\r\n\r\n").await.unwrap();
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    assert!(closed_by_server(&mut idle, Duration::from_secs(5)).await, "idle keep-alive");
    // The cap: four held, the fifth closed at once, a place again once one goes.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fifth = tokio::net::TcpStream::connect(&address).await.unwrap();
    assert!(closed_by_server(&mut fifth, Duration::from_millis(500)).await, "over the cap");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = app.get("/health", None).await;
    assert_eq!(answer.status, StatusCode::OK);
}

/// Low: a service-app token asked for a narrow scope has no API access, on REST and
/// on sockets; the default scope still has.
#[tokio::test]
async fn a_service_app_token_is_held_to_its_scope() {
    let app = spawn_app().await;
    let (admin, _) = app.register("admin@example.com").await;
    let created =
        app.post("/api/admin/service-apps", Some(&jwt(&admin)), &json!({"name": "Bot"})).await;
    let client_id = created.body["data"]["clientId"].as_str().unwrap().to_owned();
    let secret = created.body["data"]["clientSecret"].as_str().unwrap().to_owned();
    let token = |scope: Option<&'static str>| {
        let (app, client_id, secret) = (&app, client_id.clone(), secret.clone());
        async move {
            let mut form = vec![("grant_type", "client_credentials")];
            if let Some(scope) = scope {
                form.push(("scope", scope));
            }
            let granted = app
                .send(
                    app.request(reqwest::Method::POST, "/oauth2/access_token", None)
                        .basic_auth(&client_id, Some(&secret))
                        .form(&form),
                )
                .await;
            assert_eq!(granted.status, StatusCode::OK, "{}", granted.text);
            granted.body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let narrow = token(Some("email")).await;
    let me = app.get("/api/users/me", Some(&format!("service_app {narrow}"))).await;
    me.assert_error(403, "permission.denied");
    let refused = plaza_client::RealtimeClient::connect(
        &app.base,
        "/chat",
        &plaza_client::realtime::Credentials::jwt(&narrow),
    )
    .await;
    assert!(refused.is_err(), "nor on a socket");
    let full = token(None).await;
    let me = app.get("/api/users/me", Some(&format!("service_app {full}"))).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
}

/// Low: no answer of the API may be framed; its HTML pages carry a content security
/// policy; downloads run nothing.
#[tokio::test]
async fn pages_cannot_be_framed_and_downloads_are_sandboxed() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    for path in ["/api/docs/", "/oauth2/authorize?response_type=code&client_id=x"] {
        let answer = app.send(app.request(reqwest::Method::GET, path, None)).await;
        assert_eq!(answer.headers["x-frame-options"], "DENY", "{path}");
        if answer.headers["content-type"].to_str().unwrap().starts_with("text/html") {
            let policy = answer.headers["content-security-policy"].to_str().unwrap();
            assert!(policy.contains("frame-ancestors 'none'"), "{path}: {policy}");
        }
    }
    let key = crate::compat::upload_text(&app, &owner).await;
    let url = app
        .post("/api/files/getdownloadurl", Some(&jwt(&owner)), &json!({"fileKeys": [key]}))
        .await
        .body["data"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = app.client.get(&url).send().await.unwrap();
    assert!(download.status().is_success());
    let policy = download.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("sandbox"), "{policy}");
}

/// Low: a `Host` header the server is not known by does not build its absolute URLs.
#[tokio::test]
async fn only_trusted_hosts_build_absolute_urls() {
    let app =
        spawn_app_with(|settings| settings.server.allowed_hosts = vec!["plaza.lan".into()]).await;
    let config = |host: &str| {
        app.send(
            app.request(reqwest::Method::GET, "/api/service-configurations", None)
                .header("host", host),
        )
    };
    let evil = config("evil.example").await;
    let url = evil.body["spaces"]["server_url"].as_str().unwrap();
    assert!(!url.contains("evil.example"), "{url}");
    assert_eq!(evil.headers["vary"], "Host");
    let lan = config("plaza.lan:8080").await;
    assert_eq!(lan.body["spaces"]["server_url"], "http://plaza.lan:8080");
    let local = config("localhost:1234").await;
    assert_eq!(local.body["spaces"]["server_url"], "http://localhost:1234");
}

/// Low: names that look the same are not two accounts; guests are told apart from
/// registered users wherever they appear (the web client marks them, from `type`).
#[tokio::test]
async fn look_alike_names_are_refused() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;
    for username in ["ann\u{200b}@example.com", "\u{0430}nn@example.com", "ANN@example.com"] {
        let answer = app
            .post(
                "/api/auth/register",
                None,
                &json!({"username": username, "password": PASSWORD, "displayname": "Ann"}),
            )
            .await;
        assert!(answer.status.is_client_error(), "{username:?} registered: {}", answer.text);
    }
    let answer = app
        .post("/api/anonymous/auth", None, &json!({"displayname": "Ann\u{200d}", "username": "x"}))
        .await;
    answer.assert_error(400, "request.invalid");
    let guest = app.anonymous("Ann").await;
    let me = app.get("/api/users/me", Some(&jwt(&guest))).await;
    assert_eq!(me.body["aType"], "anonymous", "{}", me.text);
}

/// Low: looking people up by address needs an account, so a free anonymous token
/// learns nothing of who has one.
#[tokio::test]
async fn guests_cannot_probe_addresses_for_accounts() {
    let app = spawn_app().await;
    let (owner, _) = app.register("host@example.com").await;
    let guest = app.anonymous("Probe").await;
    for email in ["host@example.com", "nobody@example.com"] {
        app.get(&format!("/api/users/meetingroom/{email}"), Some(&jwt(&guest)))
            .await
            .assert_error(403, "permission.denied");
    }
    let room = app.get("/api/users/meetingroom/host@example.com", Some(&jwt(&owner))).await;
    assert_eq!(room.status, StatusCode::OK, "{}", room.text);
}

/// Low (and the review pass): a guest cut off from the history cannot comment on an
/// older post; an archived space's messages are edited and deleted by nobody.
#[tokio::test]
async fn the_history_cut_and_the_archive_hold_on_every_write() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Old posts").await;
    let post = app
        .post(
            &format!("/api/spaces/{space}/ideas"),
            Some(&jwt(&owner)),
            &json!({"content": {"bodyText": "before the guest", "description": "old"}}),
        )
        .await;
    assert!(post.status.is_success(), "{}", post.text);
    let post_id =
        post.body["data"]["_id"].as_str().or(post.body["_id"].as_str()).unwrap().to_owned();
    let guest = app.anonymous("Late").await;
    app.get(&format!("/api/spaces/{space}/join"), Some(&jwt(&guest))).await;
    let comment = app
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&jwt(&guest)),
            &json!({"content": {"bodyText": "hi"}, "parentMsg": {"_id": post_id}}),
        )
        .await;
    comment.assert_error(400, "request.invalid");
    let own_comment = app
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&jwt(&owner)),
            &json!({"content": {"bodyText": "mine"}, "parentMsg": {"_id": post_id}}),
        )
        .await;
    assert!(own_comment.status.is_success(), "members still comment: {}", own_comment.text);

    let archived =
        app.post(&format!("/api/spaces/{space}"), Some(&jwt(&owner)), &json!({"status": 1})).await;
    assert!(archived.status.is_success(), "{}", archived.text);
    app.send(
        app.request(
            reqwest::Method::PATCH,
            &format!("/api/messages/{post_id}"),
            Some(&jwt(&owner)),
        )
        .json(&json!({"content": {"bodyText": "rewritten"}})),
    )
    .await
    .assert_error(403, "topic.archived");
    app.delete(&format!("/api/messages/{post_id}"), Some(&jwt(&owner)))
        .await
        .assert_error(403, "topic.archived");
}

/// The controls that rest on storage (attachment indexing, the preview, meeting
/// records, ids in the listings) hold on PostgreSQL as on SQLite. Runs when
/// `PLAZA_TEST_PG_URL` is set, as in CI (`PLAZA_REQUIRE_PG=1` makes it required).
#[tokio::test]
async fn storage_controls_hold_on_postgres() {
    let Some(database) =
        plaza_db_tests::TestDatabase::postgres().await.expect("create a PostgreSQL database")
    else {
        return;
    };
    let url = database.url.clone();
    let app = spawn_app_with(|settings| {
        settings.database.url = Some(plaza_server::settings::SecretUrl(url));
        settings.messages.sends_per_second = 0;
    })
    .await;
    smuggling_is_refused_on(&app).await;
    preview_on(&app).await;
    flapping_on(&app).await;
    ids_on(&app).await;
    app.stop().await.unwrap();
    database.remove().await.unwrap();
}

/// Review pass: an edit of a message older than a guest's join does not reach that
/// guest's open socket (REST and catch-up refuse it too); edits of what they may read do.
#[tokio::test]
async fn edits_of_older_messages_do_not_reach_cut_off_guests() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Edits").await;
    let chat = |text: &'static str| {
        let (app, owner, space) = (&app, owner.clone(), space.clone());
        async move {
            let sent = app
                .post(
                    &format!("/api/spaces/{space}/chats"),
                    Some(&jwt(&owner)),
                    &json!({"content": {"bodyText": text}}),
                )
                .await;
            assert!(sent.status.is_success(), "{}", sent.text);
            sent.body["data"]["_id"].as_str().or(sent.body["_id"].as_str()).unwrap().to_owned()
        }
    };
    let edit = |id: String, text: &'static str| {
        let (app, owner) = (&app, owner.clone());
        async move {
            let edited = app
                .send(
                    app.request(
                        reqwest::Method::PATCH,
                        &format!("/api/messages/{id}"),
                        Some(&jwt(&owner)),
                    )
                    .json(&json!({"content": {"bodyText": text}})),
                )
                .await;
            assert!(edited.status.is_success(), "{}", edited.text);
        }
    };
    let old = chat("before the guest").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let guest = app.anonymous("Late").await;
    let mut guest_socket = RawSocket::subscribed(&app.base, 3, &guest, &space).await;
    let mut owner_socket = RawSocket::subscribed(&app.base, 4, &owner, &space).await;
    edit(old, "secret rewrite").await;
    let to_owner = owner_socket.event_named("MESSAGE_SENT", Duration::from_secs(5)).await;
    assert_eq!(to_owner.expect("members get edits")["content"]["bodyText"], "secret rewrite");
    let new = chat("after the guest").await;
    edit(new, "visible rewrite").await;
    let mut seen = Vec::new();
    while let Some(event) =
        guest_socket.event_named("MESSAGE_SENT", Duration::from_millis(800)).await
    {
        seen.push(event["content"]["bodyText"].as_str().unwrap_or_default().to_owned());
    }
    assert!(!seen.iter().any(|t| t == "secret rewrite"), "{seen:?}");
    assert!(seen.iter().any(|t| t == "visible rewrite"), "{seen:?}");
}
