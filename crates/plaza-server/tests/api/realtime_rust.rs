//! The realtime API driven by our own Rust client (`plaza-client`, Engine.IO v4 over a
//! WebSocket): the tutorial flow, failures that keep the connection, catch-up after a
//! dropped connection, posts and tasks, and the per-user send limit.

use std::time::Duration;

use plaza_client::realtime::Credentials;
use plaza_client::{RealtimeClient, RealtimeError};
use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt, spawn_app, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);

async fn connect(app: &TestApp, token: &str) -> RealtimeClient {
    RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(token)).await.expect("connect")
}

async fn subscribed(app: &TestApp, token: &str, space: &str) -> RealtimeClient {
    let mut client = connect(app, token).await;
    client.subscribe(space, None).unwrap();
    let event = client.wait_for("CHANNEL_SUBSCRIBED", WAIT).await.unwrap();
    assert_eq!(event.payload["channel"]["_id"], space);
    client
}

/// The space's owner and a member, both subscribed, with the space and their tokens.
async fn two_in_a_space(app: &TestApp) -> (RealtimeClient, RealtimeClient, String, String, String) {
    let (owner, _) = app.register("owner@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let space = app.create_space(&owner, "Rust").await;
    let added = app
        .post(
            &format!(
                "/api/spaces/{space}/attendees/userId/{}",
                member_user["_id"].as_str().unwrap()
            ),
            Some(&jwt(&owner)),
            &json!({"role": "member"}),
        )
        .await;
    assert!(added.status.is_success(), "{}", added.text);
    let owner_socket = subscribed(app, &owner, &space).await;
    let member_socket = subscribed(app, &member, &space).await;
    (owner_socket, member_socket, space, owner, member)
}

#[tokio::test]
async fn the_rust_client_chats_with_loopback_only_on_its_own_copy() {
    let app = spawn_app().await;
    let (mut owner, mut member, space, owner_token, _) = two_in_a_space(&app).await;
    owner.send_chat(&space, "from rust", Some(json!({"tag": 7}))).unwrap();
    let mine = owner.wait_for("MESSAGE_SENT", WAIT).await.unwrap().payload;
    let theirs = member.wait_for("MESSAGE_SENT", WAIT).await.unwrap().payload;
    assert_eq!(mine["_id"], theirs["_id"]);
    assert_eq!(theirs["content"]["bodyText"], "from rust");
    assert_eq!(mine["loopbackMetadata"], json!({"tag": 7}));
    assert!(theirs.get("loopbackMetadata").is_none());
    let stored = app
        .get(&format!("/api/messages/{}", mine["_id"].as_str().unwrap()), Some(&jwt(&owner_token)))
        .await;
    assert_eq!(stored.body["data"]["content"]["bodyText"], "from rust", "committed first");

    // Posts and tasks over the socket, with top-level task fields.
    let task = json!({
        "category": "task", "topicId": space, "content": {"bodyText": "Ship"},
        "assignees": [], "dueDate": "2026-12-24T10:00:00.000Z", "status": "pending",
    });
    member.emit("SEND_MESSAGE", &task).unwrap();
    let sent = owner.wait_for("MESSAGE_SENT", WAIT).await.unwrap().payload;
    assert_eq!(
        (sent["category"].as_str(), sent["content"]["status"].as_str()),
        (Some("task"), Some("pending"))
    );
    assert_eq!(sent["content"]["dueDate"], "2026-12-24T10:00:00.000Z");

    // Failures answer with an event and keep the connection.
    member.emit("SEND_MESSAGE", &json!("not an object")).unwrap();
    let failed = member.wait_for("SEND_MESSAGE_FAILED", WAIT).await.unwrap().payload;
    assert_eq!(failed["error"]["code"], "request.malformed");
    member
        .emit(
            "SEND_MESSAGE",
            &json!({"category": "chat", "topicId": space, "content": {"bodyText": " "}}),
        )
        .unwrap();
    let failed = member.wait_for("SEND_MESSAGE_FAILED", WAIT).await.unwrap().payload;
    assert_eq!(failed["error"]["code"], "request.invalid");
    member.send_chat(&space, "still here", None).unwrap();
    let after = owner.wait_for("MESSAGE_SENT", WAIT).await.unwrap().payload;
    assert_eq!(after["content"]["bodyText"], "still here");
    owner.close().await;
    member.close().await;
}

#[tokio::test]
async fn a_bad_token_is_refused_with_a_json_code() {
    let app = spawn_app().await;
    let refused =
        RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt("not-a-token")).await;
    let Err(RealtimeError::Refused { data }) = refused else {
        panic!("expected a refusal, got {:?}", refused.map(|c| c.sid().to_owned()));
    };
    let message: Value = serde_json::from_str(data["message"].as_str().unwrap()).unwrap();
    assert_eq!(message["code"], "auth.invalid_token");
}

#[tokio::test]
async fn a_dropped_client_resumes_from_its_last_message() {
    let app = spawn_app().await;
    let (mut owner, mut member, space, _, member_token) = two_in_a_space(&app).await;
    owner.send_chat(&space, "seen", None).unwrap();
    owner.wait_for("MESSAGE_SENT", WAIT).await.unwrap();
    let last = member.wait_for("MESSAGE_SENT", WAIT).await.unwrap().payload;
    drop(member); // the connection is lost without a goodbye
    for text in ["missed 1", "missed 2", "missed 3"] {
        owner.send_chat(&space, text, None).unwrap();
        owner.wait_for("MESSAGE_SENT", WAIT).await.unwrap();
    }
    let mut back = connect(&app, &member_token).await;
    back.subscribe(&space, last["_id"].as_str()).unwrap();
    let mut replayed = Vec::new();
    while replayed.len() < 3 {
        let event = back.wait_for("MESSAGE_SENT", WAIT).await.unwrap();
        replayed.push(event.payload["content"]["bodyText"].as_str().unwrap().to_owned());
    }
    assert_eq!(replayed, ["missed 1", "missed 2", "missed 3"], "in order, nothing lost");
    owner.send_chat(&space, "live", None).unwrap();
    let live = back.wait_for("MESSAGE_SENT", WAIT).await.unwrap();
    assert_eq!(live.payload["content"]["bodyText"], "live", "and no duplicates before live ones");
}

#[tokio::test]
async fn a_flooding_user_is_slowed_on_the_socket_and_over_rest() {
    let app = spawn_app_with(|settings| {
        settings.messages.sends_per_second = 1;
        settings.messages.send_burst = 3;
    })
    .await;
    let (mut owner, mut member, space, owner_token, _) = two_in_a_space(&app).await;
    for i in 0..4 {
        owner.send_chat(&space, &format!("flood {i}"), Some(json!({"i": i}))).unwrap();
    }
    let failed = owner.wait_for("SEND_MESSAGE_FAILED", WAIT).await.unwrap().payload;
    assert_eq!(failed["error"]["code"], "request.rate_limited");
    assert_eq!(failed["error"]["retryAfter"], 1);
    assert_eq!(failed["loopbackMetadata"], json!({"i": 3}), "the refused payload comes back");
    let rest = app
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&jwt(&owner_token)),
            &json!({"content": {"bodyText": "x"}}),
        )
        .await;
    rest.assert_error(429, "request.rate_limited");
    assert_eq!(rest.body["retryAfter"], 1);
    assert_eq!(rest.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));

    // Others are not slowed, and the flooder may send again once the bucket refills.
    member.send_chat(&space, "unaffected", None).unwrap();
    loop {
        let event =
            tokio::time::timeout(WAIT, member.next_event()).await.unwrap().expect("connected");
        assert_ne!(event.name, "SEND_MESSAGE_FAILED", "{:?}", event.payload);
        if event.payload["content"]["bodyText"] == "unaffected" {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    owner.drain();
    owner.send_chat(&space, "patient", None).unwrap();
    let event = owner.wait_for("MESSAGE_SENT", WAIT).await.unwrap();
    assert_eq!(event.payload["content"]["bodyText"], "patient");
}

#[tokio::test]
async fn events_of_one_socket_are_handled_in_the_order_sent() {
    let app = spawn_app().await;
    let (_, mut member, space, owner_token, _) = two_in_a_space(&app).await;
    // Subscribe and send at once, without waiting for CHANNEL_SUBSCRIBED in between.
    let eager = connect(&app, &owner_token).await;
    eager.subscribe(&space, None).unwrap();
    for i in 0..20 {
        eager.send_chat(&space, &format!("n{i}"), None).unwrap();
    }
    let mut received = Vec::new();
    while received.len() < 20 {
        let event = member.wait_for("MESSAGE_SENT", WAIT).await.unwrap();
        received.push(event.payload["content"]["bodyText"].as_str().unwrap().to_owned());
    }
    let expected: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
    assert_eq!(received, expected, "delivered in the order sent");
    let history = app
        .get(&format!("/api/spaces/{space}/messages/query?size=20"), Some(&jwt(&owner_token)))
        .await;
    let mut stored: Vec<String> = history.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["bodyText"].as_str().unwrap().to_owned())
        .collect();
    stored.reverse();
    assert_eq!(stored, expected, "stored in the order sent");
}

/// What an observer's roster becomes from the presence events it reads until `done`
/// holds (or `limit` passes): an `online` adds its sender, a `leaves` removes it. Counts
/// the leaves seen per party too.
async fn follow_roster(
    limit: Duration,
    observer: &mut RealtimeClient,
    roster: &mut std::collections::BTreeSet<String>,
    leaves: &mut std::collections::BTreeMap<String, usize>,
    done: impl Fn(&std::collections::BTreeSet<String>) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done(roster) {
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, observer.next_event()).await else {
            return;
        };
        if event.name != "PRESENCE_EVENT_RESPONSE" {
            continue;
        }
        let party = event.payload["sender"]["_id"].as_str().unwrap_or_default().to_owned();
        match event.payload["category"].as_str() {
            Some("app.event.presence.party.online") => {
                roster.insert(party);
            }
            Some("app.event.presence.party.leaves") => {
                roster.remove(&party);
                *leaves.entry(party).or_default() += 1;
            }
            _ => {}
        }
    }
}

/// A storm: every guest of a space drops at once and half of them come straight back.
/// The observer's roster (built from `online` and the server's `party.leaves`) ends with
/// exactly those who came back and the party that kept a second connection; each party
/// that went away is announced once, and the party still connected is not announced.
#[tokio::test]
async fn the_roster_is_right_after_a_storm_of_disconnects_and_reconnects() {
    const GUESTS: usize = 24;
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Storm").await;
    let mut observer = subscribed(&app, &owner, &space).await;
    let online = json!({"category": "app.event.presence.party.online", "topicId": space,
        "content": {"desktop": true}, "receivers": []});
    let mut guests = Vec::new();
    for n in 0..GUESTS {
        let token = app.anonymous(&format!("Guest {n}")).await;
        let id = app.user_id(&token).await;
        guests.push((token, id));
    }
    let mut sockets = Vec::new();
    for (token, _) in &guests {
        let socket = subscribed(&app, token, &space).await;
        socket.emit("SEND_PRESENCE_EVENT", &online).unwrap();
        sockets.push(socket);
    }
    // The last guest has a second connection, which stays.
    let second = subscribed(&app, &guests[GUESTS - 1].0, &space).await;
    let (mut roster, mut leaves) = Default::default();
    follow_roster(WAIT, &mut observer, &mut roster, &mut leaves, |r| r.len() == GUESTS).await;
    assert_eq!(roster.len(), GUESTS, "everyone announced themselves");

    // Everyone drops at once; the first half reconnects at once and says so again.
    drop(sockets);
    let back = futures_util::future::join_all(guests[..GUESTS / 2].iter().map(|(token, _)| {
        let (app, space, online) = (&app, &space, &online);
        async move {
            let socket = subscribed(app, token, space).await;
            socket.emit("SEND_PRESENCE_EVENT", online).unwrap();
            socket
        }
    }))
    .await;
    let expected: std::collections::BTreeSet<String> = guests[..GUESTS / 2]
        .iter()
        .chain(std::iter::once(&guests[GUESTS - 1]))
        .map(|(_, id)| id.clone())
        .collect();
    follow_roster(WAIT, &mut observer, &mut roster, &mut leaves, |r| *r == expected).await;
    // And whatever still comes once every batch went out.
    const { assert!(GUESTS >= plaza_realtime::STORM_PARTIES, "a storm, by the server's measure") };
    let settle = plaza_realtime::STORM_QUIET * 3;
    follow_roster(settle, &mut observer, &mut roster, &mut leaves, |_| false).await;
    assert_eq!(roster, expected, "the roster after the storm");
    for (_, id) in &guests[GUESTS / 2..GUESTS - 1] {
        assert_eq!(leaves.get(id), Some(&1), "a party that went is announced once");
    }
    assert_eq!(leaves.get(&guests[GUESTS - 1].1), None, "a party still connected did not leave");
    assert!(leaves.values().all(|&n| n == 1), "no party announced twice: {leaves:?}");
    drop((back, second));
}

/// A socket's chats reuse its standing in the space (no membership read per chat), but
/// what changes it counts at once: an archived space refuses the next chat, and once
/// the space is active again the member chats again.
#[tokio::test]
async fn a_sockets_cached_standing_gives_way_to_archiving() {
    let app = spawn_app().await;
    let (mut owner, mut member, space, owner_token, _) = two_in_a_space(&app).await;
    for text in ["one", "two"] {
        member.send_chat(&space, text, None).unwrap();
        let sent = owner.wait_for("MESSAGE_SENT", WAIT).await.unwrap().payload;
        assert_eq!(sent["content"]["bodyText"], text);
    }
    let path = format!("/api/spaces/{space}");
    let archived = app.post(&path, Some(&jwt(&owner_token)), &json!({"status": 1})).await;
    assert!(archived.status.is_success(), "{}", archived.text);
    member.send_chat(&space, "after archiving", None).unwrap();
    let failed = member.wait_for("SEND_MESSAGE_FAILED", WAIT).await.unwrap().payload;
    assert_eq!(failed["error"]["code"], "topic.archived", "{failed}");
    let restored = app.post(&path, Some(&jwt(&owner_token)), &json!({"status": 0})).await;
    assert!(restored.status.is_success(), "{}", restored.text);
    member.send_chat(&space, "three", None).unwrap();
    // The owner heard the two `topic.updated` first.
    let chat = loop {
        let sent = owner.wait_for("MESSAGE_SENT", WAIT).await.unwrap().payload;
        if sent["category"] == "chat" {
            break sent;
        }
    };
    assert_eq!(chat["content"]["bodyText"], "three");
}
