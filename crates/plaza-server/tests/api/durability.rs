//! Nothing acknowledged is lost: clients send as fast as the server answers, the
//! server is killed with SIGKILL mid-stream and started again, and every message whose
//! `MESSAGE_SENT` reached its sender must be stored, each exactly once. On SQLite, and
//! on PostgreSQL when `PLAZA_TEST_PG_URL` is set. Stopped with SIGTERM instead, the
//! server drains: every message it stored was also acknowledged to its sender.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::TryStreamExt;
use plaza_client::RealtimeClient;
use plaza_client::realtime::Credentials;
use plaza_client::rest::Plaza;
use plaza_db_tests::TestDatabase;
use serde_json::json;

use crate::helpers::{PASSWORD, ServerProcess};

/// Senders, each with this many messages in flight.
const SENDERS: usize = 3;
const WINDOW: usize = 8;

/// How the server is stopped mid-stream.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    Kill,
    Terminate,
}

async fn acknowledged_messages_survive(stop: Stop, database_url: Option<&str>) {
    let folder = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = ServerProcess::start(port, folder.path(), database_url).await;
    let base = format!("http://127.0.0.1:{port}");
    let plaza = Plaza::new(&base).unwrap();
    let owner = plaza.register("owner@example.com", PASSWORD, None).await.unwrap();
    let owner_api = plaza.with_jwt(&owner.token);
    let space = owner_api.create_space("Durable").await.unwrap();
    let mut tokens = vec![owner.token.clone()];
    for n in 1..SENDERS {
        let sender =
            plaza.register(&format!("sender{n}@example.com"), PASSWORD, None).await.unwrap();
        owner_api.add_member(&space.id, &sender.user.id, "member").await.unwrap();
        tokens.push(sender.token);
    }

    // Each sender keeps WINDOW messages in flight and records which were acknowledged
    // (its own MESSAGE_SENT copy, which carries the loopbackMetadata it sent).
    let mut tasks = Vec::new();
    for (who, token) in tokens.into_iter().enumerate() {
        let (base, space) = (base.clone(), space.id.clone());
        tasks.push(tokio::spawn(async move {
            let mut client =
                RealtimeClient::connect(&base, "/chat", &Credentials::jwt(token)).await.unwrap();
            client.subscribe(&space, None).unwrap();
            client.wait_for("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.unwrap();
            let mut acked: HashMap<String, String> = HashMap::new();
            let mut next = 0;
            let send = |client: &RealtimeClient, next: &mut usize| {
                let text = format!("sender {who} message {next}");
                *next += 1;
                client.send_chat(&space, &text, Some(json!(text))).is_ok()
            };
            for _ in 0..WINDOW {
                send(&client, &mut next);
            }
            // Until the connection dies under us.
            while let Some(event) = client.next_event().await {
                if event.name == "MESSAGE_SENT"
                    && let Some(text) = event.payload["loopbackMetadata"].as_str()
                {
                    acked
                        .insert(text.to_owned(), event.payload["_id"].as_str().unwrap().to_owned());
                    if !send(&client, &mut next) {
                        break;
                    }
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let server = match stop {
        Stop::Kill => server.restart().await,
        Stop::Terminate => {
            let mut server = server;
            let status = server.terminate();
            assert!(status.success(), "a graceful stop exits cleanly: {status}");
            ServerProcess::start(port, folder.path(), database_url).await
        }
    };
    let mut acknowledged: HashMap<String, String> = HashMap::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    assert!(acknowledged.len() >= 20, "the senders got going: {}", acknowledged.len());

    let stored: Vec<_> = owner_api.history(&space.id).try_collect().await.unwrap();
    let mut texts = HashSet::new();
    for message in &stored {
        assert!(
            texts.insert(message.content.body_text.clone()),
            "stored twice: {}",
            message.content.body_text
        );
    }
    let ids: HashSet<&str> = stored.iter().map(|m| m.id.as_str()).collect();
    let lost: Vec<_> = acknowledged.iter().filter(|(_, id)| !ids.contains(id.as_str())).collect();
    assert!(lost.is_empty(), "{} acknowledged messages lost, e.g. {:?}", lost.len(), lost.first());
    if stop == Stop::Terminate {
        // Drained: what was taken in was finished and answered before the connections
        // closed, so nothing is stored that its sender does not know about.
        let acked: HashSet<&str> = acknowledged.values().map(String::as_str).collect();
        let unanswered: Vec<_> = stored.iter().filter(|m| !acked.contains(m.id.as_str())).collect();
        assert!(
            unanswered.is_empty(),
            "{} stored messages never acknowledged, e.g. {:?}",
            unanswered.len(),
            unanswered.first().map(|m| &m.content.body_text)
        );
    }
    eprintln!(
        "durability: {} acknowledged before the stop, {} stored (unacknowledged ones may or may not be)",
        acknowledged.len(),
        stored.len()
    );
    drop(server);
}

#[tokio::test]
async fn acknowledged_messages_survive_a_kill_on_sqlite() {
    acknowledged_messages_survive(Stop::Kill, None).await;
}

#[tokio::test]
async fn a_graceful_stop_answers_every_message_it_stored() {
    acknowledged_messages_survive(Stop::Terminate, None).await;
}

#[tokio::test]
async fn acknowledged_messages_survive_a_kill_on_postgres() {
    let Some(database) = TestDatabase::postgres().await.expect("create database") else {
        eprintln!("PLAZA_TEST_PG_URL is not set: PostgreSQL durability test skipped");
        return;
    };
    acknowledged_messages_survive(Stop::Kill, Some(&database.url)).await;
    database.remove().await.unwrap();
}
