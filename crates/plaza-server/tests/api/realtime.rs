//! The realtime API with real Socket.IO clients of both wire generations: npm
//! socket.io-client 2.x (Engine.IO v3, what Spaces clients use) and 4.x, and PyPI
//! python-socketio 4.x (EIO3) and 5.x (EIO4). `.ci/run` installs them; locally, run
//! `npm ci` in `tests/clients` and point `PLAZA_PYTHON_SIO4` / `PLAZA_PYTHON_SIO5` at
//! Pythons that have those versions. Without them these tests say so and pass, unless
//! `PLAZA_REQUIRE_CLIENTS=1` (as in CI), where a missing client fails them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt, spawn_app};

pub(crate) fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

pub(crate) fn required() -> bool {
    std::env::var("PLAZA_REQUIRE_CLIENTS").is_ok_and(|v| v == "1")
}

/// The command that runs a client, or `None` (after saying why) when it is missing.
fn client_command(kind: &str) -> Option<Command> {
    let missing = |why: String| {
        assert!(!required(), "{kind} client missing: {why}");
        eprintln!("skipping the {kind} client: {why}");
        None
    };
    match kind {
        "node-v2" | "node-v4" => {
            if !clients_dir().join("node_modules/socket.io-client-v2").exists() {
                return missing("run `npm ci` in tests/clients".into());
            }
            let mut command = Command::new("node");
            command.current_dir(clients_dir()).arg("flow.js");
            Some(command)
        }
        "python-sio4" | "python-sio5" => {
            let variable =
                if kind == "python-sio4" { "PLAZA_PYTHON_SIO4" } else { "PLAZA_PYTHON_SIO5" };
            let Ok(python) = std::env::var(variable) else {
                return missing(format!("set {variable} to a Python with that python-socketio"));
            };
            let mut command = Command::new(python);
            command.current_dir(clients_dir()).arg("flow.py");
            Some(command)
        }
        _ => unreachable!("unknown client kind {kind}"),
    }
}

/// Runs a client script with `args`; returns what it printed (one JSON line).
async fn run(mut command: Command, args: Vec<String>) -> Value {
    command.args(args);
    let output = tokio::task::spawn_blocking(move || command.output().expect("run the client"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|_| {
        panic!(
            "client printed no result: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The seed tutorial: an anonymous guest joins over REST, connects with its token in
/// the query, subscribes and sends; a member of the space receives.
async fn tutorial(app: &TestApp) -> (String, String, String) {
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Tutorial").await;
    let guest = app.anonymous("Visitor").await;
    let joined = app.get(&format!("/api/spaces/{space}/join"), Some(&jwt(&guest))).await;
    assert_eq!(joined.status.as_u16(), 200, "{}", joined.text);
    (guest, owner, space)
}

async fn check_flow(kind: &str) {
    let Some(command) = client_command(kind) else { return };
    let app = spawn_app().await;
    let (guest, owner, space) = tutorial(&app).await;
    let mut args = vec![app.base.clone()];
    if let Some(version) = kind.strip_prefix("node-") {
        args.push(version.to_owned());
    }
    args.extend([guest.clone(), owner.clone(), space.clone()]);
    let seen = run(command, args).await;
    assert_eq!(seen["errors"], json!([]), "{kind}: {seen}");

    let text = "héllo wörld ✓ 👋";
    let mine = &seen["sender"][0];
    let theirs = &seen["receiver"][0];
    for message in [mine, theirs] {
        assert_eq!(message["content"]["bodyText"], text, "{kind}: {message}");
        assert_eq!(message["category"], "chat");
        assert_eq!(message["topicId"], space.as_str());
        assert_eq!(message["topicTitle"], "Tutorial");
        assert_eq!(message["topicType"], "group");
        assert_eq!(message["sender"]["type"], "anonymous");
        assert_eq!(message["sender"]["displayname"], "Visitor");
    }
    assert_eq!(mine["_id"], theirs["_id"], "one message, two copies");
    assert_eq!(
        mine["loopbackMetadata"],
        json!({"n": 1}),
        "{kind}: the origin's copy carries loopbackMetadata"
    );
    assert!(
        theirs.get("loopbackMetadata").is_none(),
        "{kind}: only the origin gets loopbackMetadata"
    );
    assert_eq!(
        seen["sender"].as_array().unwrap().len(),
        1,
        "{kind}: the origin gets exactly one copy"
    );

    let failures = seen["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{kind}: {seen}");
    assert_eq!(failures[0]["error"]["code"], "request.malformed");
    assert_eq!(failures[1]["type"], "app.event.channel.subscription.required");
    assert_eq!(failures[1]["content"]["bodyText"], "lost", "the failed payload comes back");

    // Committed before it was announced: REST reads it back.
    let stored = app
        .get(&format!("/api/messages/{}", mine["_id"].as_str().unwrap()), Some(&jwt(&owner)))
        .await;
    assert_eq!(stored.body["data"]["content"]["bodyText"], text);
}

#[tokio::test]
async fn socket_io_client_2_runs_the_tutorial_flow() {
    check_flow("node-v2").await;
}

#[tokio::test]
async fn socket_io_client_4_runs_the_tutorial_flow() {
    check_flow("node-v4").await;
}

#[tokio::test]
async fn python_socketio_4_runs_the_tutorial_flow() {
    check_flow("python-sio4").await;
}

#[tokio::test]
async fn python_socketio_5_runs_the_tutorial_flow() {
    check_flow("python-sio5").await;
}

/// Runs a scenario of `tests/clients/scenarios.js` (socket.io-client 4.x).
pub(crate) async fn scenario(app: &TestApp, name: &str, args: Value) -> Option<Value> {
    // Only to check the clients are installed; scenarios use their own script.
    client_command("node-v4")?;
    let mut command = Command::new("node");
    command.current_dir(clients_dir()).args(["scenarios.js", &app.base, name, &args.to_string()]);
    let seen = run(command, Vec::new()).await;
    assert_eq!(seen["errors"], json!([]), "{name}: {seen}");
    Some(seen)
}

#[tokio::test]
async fn the_first_direct_message_reaches_the_other_party_unsubscribed() {
    let app = spawn_app().await;
    let (alice, _) = app.register("alice@example.com").await;
    let (bob, bob_user) = app.register("bob@example.com").await;
    let Some(seen) =
        scenario(&app, "direct", json!({"alice": alice, "bob": bob, "bobId": bob_user["_id"]}))
            .await
    else {
        return;
    };
    let got = seen["bobGot"].as_array().unwrap();
    assert_eq!(got.len(), 1, "{seen}");
    assert_eq!(got[0]["content"]["bodyText"], "first DM");
    assert_eq!(got[0]["topicType"], "direct");
    assert_eq!(got[0]["topicId"], seen["space"]);
}

#[tokio::test]
async fn presence_is_relayed_with_the_real_sender_and_disconnects_are_announced() {
    let app = spawn_app().await;
    let (alice, _) = app.register("alice@example.com").await;
    let (bob, bob_user) = app.register("bob@example.com").await;
    let space = app.create_space(&alice, "Room").await;
    app.get(&format!("/api/spaces/{space}/join"), Some(&jwt(&bob))).await;
    let Some(seen) =
        scenario(&app, "presence", json!({"alice": alice, "bob": bob, "space": space})).await
    else {
        return;
    };
    let got = seen["aliceGot"].as_array().unwrap();
    assert_eq!(got.len(), 2, "{seen}");
    assert_eq!(got[0]["category"], "app.event.presence.party.online");
    assert_eq!(got[0]["sender"]["_id"], bob_user["_id"], "the server fills sender from the token");
    assert_eq!(got[1]["category"], "app.event.presence.party.leaves");
    assert_eq!(got[1]["sender"]["_id"], bob_user["_id"]);
    assert_eq!(seen["bobGot"], json!([]), "a presence event is not echoed to its sender");
}

#[tokio::test]
async fn a_reconnecting_socket_catches_up_in_order() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (alice, _) = app.register("alice@example.com").await;
    let space = app.create_space(&owner, "Busy").await;
    app.get(&format!("/api/spaces/{space}/join"), Some(&jwt(&alice))).await;
    let Some(seen) =
        scenario(&app, "catchup", json!({"alice": alice, "owner": owner, "space": space})).await
    else {
        return;
    };
    assert_eq!(seen["replayed"], json!(["two", "three"]));
}

#[tokio::test]
async fn a_removed_user_stops_receiving_at_once() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (bob, bob_user) = app.register("bob@example.com").await;
    let space = app.create_space(&owner, "Private").await;
    app.get(&format!("/api/spaces/{space}/join"), Some(&jwt(&bob))).await;
    let Some(seen) = scenario(
        &app,
        "kick",
        json!({"owner": owner, "bob": bob, "bobId": bob_user["_id"], "space": space}),
    )
    .await
    else {
        return;
    };
    assert_eq!(seen["unsubscribed"]["channel"]["_id"], space.as_str());
    assert_eq!(seen["bobGot"], json!([]), "{seen}");
}

#[tokio::test]
async fn rest_writes_are_announced_on_the_socket() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (alice, _) = app.register("alice@example.com").await;
    let space = app.create_space(&owner, "Original").await;
    app.get(&format!("/api/spaces/{space}/join"), Some(&jwt(&alice))).await;
    let Some(seen) =
        scenario(&app, "rest", json!({"owner": owner, "alice": alice, "space": space})).await
    else {
        return;
    };
    let got = seen["got"].as_array().unwrap();
    assert_eq!(got.len(), 3, "{seen}");
    assert_eq!(
        (got[0]["category"].as_str(), got[0]["title"].as_str()),
        (Some("topic.updated"), Some("Renamed"))
    );
    assert_eq!(
        (got[1]["category"].as_str(), got[1]["deleted"].as_bool()),
        (Some("task"), Some(false))
    );
    assert_eq!(
        (got[2]["id"].as_str(), got[2]["deleted"].as_bool()),
        (seen["task"].as_str(), Some(true))
    );
}
