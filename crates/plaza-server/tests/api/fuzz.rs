//! Socket event payloads from a generator: every event the server handles, with
//! arbitrary JSON (and no payload at all), sent over one real connection. None may
//! crash the server, close that connection or disturb another one.

use std::time::Duration;

use plaza_client::RealtimeClient;
use plaza_client::realtime::Credentials;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

use crate::helpers::{jwt, spawn_app_with};

const EVENTS: [&str; 6] = [
    "SUBSCRIBE_CHANNEL",
    "UNSUBSCRIBE_CHANNEL",
    "SEND_MESSAGE",
    "SEND_PRESENCE_EVENT",
    "SEND_MEDIA_SESSION_EVENTS",
    "NO_SUCH_EVENT",
];

/// JSON shaped like what the events take, with the space's id often in the right place.
fn payload(space: String) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,30}".prop_map(Value::from),
        Just(Value::from(space)),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            proptest::collection::btree_map(
                "channel|_id|topicId|category|content|bodyText|data|parentMsg|lastMessageId|receivers|password|loopbackMetadata|mediaSession|.{0,6}",
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[tokio::test]
async fn arbitrary_event_payloads_never_break_a_connection() {
    let app = spawn_app_with(|s| s.messages.sends_per_second = 0).await;
    let (owner, _) = app.register("owner@example.com").await;
    let (watcher, _) = app.register("watcher@example.com").await;
    let space = app.create_space(&owner, "Fuzzed").await;
    let mut fuzzed =
        RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(&owner)).await.unwrap();
    let mut other =
        RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(&watcher)).await.unwrap();

    let mut runner = TestRunner::deterministic();
    let strategy = payload(space.clone());
    let mut sent = 0;
    for round in 0..300 {
        let event = EVENTS[round % EVENTS.len()];
        let value = strategy.new_tree(&mut runner).unwrap().current();
        let emitted = if round % 17 == 0 {
            // No data at all, or a bare string.
            fuzzed.emit(event, &Value::String("x".into()))
        } else {
            fuzzed.emit(event, &value)
        };
        emitted.unwrap();
        sent += 1;
    }
    // The fuzzed connection still works: a chat round-trips on it.
    fuzzed.subscribe(&space, None).unwrap();
    fuzzed.wait_for("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.unwrap();
    fuzzed.send_chat(&space, "still here", Some(json!("check"))).unwrap();
    loop {
        let event = fuzzed.wait_for("MESSAGE_SENT", Duration::from_secs(10)).await.unwrap();
        if event.payload["loopbackMetadata"] == "check" {
            break;
        }
    }
    // So does another user's, and the server answers.
    other.subscribe(&space, None).unwrap();
    let refused_or_joined = other.next_event().await.expect("the other connection is open");
    assert!(refused_or_joined.name.starts_with("CHANNEL_SUBSCRIBED"), "{}", refused_or_joined.name);
    assert!(app.get("/api/users/me", Some(&jwt(&owner))).await.status.is_success());
    eprintln!("fuzz: {sent} socket events with generated payloads");
}

/// Upload headers from a generator: each PUT to a signed upload URL carries an
/// arbitrary `Content-Type` and a body of arbitrary length. The server answers each
/// without a 5xx, and a file is finished only by a PUT whose type and length are the
/// ones announced, with exactly the bytes sent.
#[tokio::test]
async fn arbitrary_upload_headers_never_finish_a_file_they_do_not_match() {
    let app = spawn_app_with(|s| s.limits.uploads_per_second = 0).await;
    let (owner, _) = app.register("owner@example.com").await;
    let mut runner = TestRunner::deterministic();
    let headers = (
        prop_oneof![
            Just("text/plain".to_owned()),
            Just("text/plain; charset=utf-8".to_owned()),
            Just("TEXT/PLAIN".to_owned()),
            "[ -~]{0,40}",
            "[a-z]{1,8}/[a-z+.-]{1,12}(; ?[a-z]+=[a-z0-9-]+)?",
        ],
        0usize..12,
    );
    let mut finished = 0;
    for _ in 0..80 {
        let (content_type, length) = headers.new_tree(&mut runner).unwrap().current();
        let announced = app
            .post(
                "/api/files/getuploadurl",
                Some(&jwt(&owner)),
                &json!({"files": [{"Content-Type": "text/plain", "Content-Length": 5}]}),
            )
            .await;
        let url = announced.body["data"][0]["url"].as_str().unwrap().to_owned();
        let key = announced.body["data"][0]["fileKey"].as_str().unwrap().to_owned();
        let mut request = app.client.put(&url).body(vec![b'x'; length]);
        if let Ok(value) = reqwest::header::HeaderValue::from_str(&content_type) {
            request = request.header("content-type", value);
        }
        let answer = request.send().await.unwrap();
        assert!(answer.status().as_u16() < 500, "{content_type:?} {length}: {}", answer.status());
        let download = app.get(&format!("/api/files/{key}"), Some(&jwt(&owner))).await;
        let matches = length == 5
            && content_type.split(';').next().unwrap().trim().eq_ignore_ascii_case("text/plain");
        if answer.status().is_success() {
            assert!(matches, "finished by {content_type:?} with {length} bytes");
            assert_eq!(download.status.as_u16(), 303, "{}", download.text);
            finished += 1;
        } else {
            assert!(!download.status.is_redirection(), "a refused upload is not readable");
        }
    }
    assert!(finished > 0, "the generator never produced the announced headers");
}
