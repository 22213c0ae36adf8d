//! Several `plaza serve` processes on one PostgreSQL database, fanning out through
//! Redis: clients on different nodes see every message, presence and meeting event
//! once; kicks and limits hold across nodes; a node killed mid-traffic loses no
//! acknowledged message and its clients resume on the others.
//!
//! Runs when `PLAZA_TEST_PG_URL` and `PLAZA_TEST_REDIS_URL` are set (CI sets both);
//! `PLAZA_REQUIRE_CLUSTER=1` makes their absence a failure.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use plaza_client::RealtimeClient;
use plaza_client::realtime::Credentials;
use plaza_db_tests::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, jwt};

const WAIT: Duration = Duration::from_secs(15);

fn redis_url() -> Option<String> {
    std::env::var("PLAZA_TEST_REDIS_URL").ok().filter(|u| !u.trim().is_empty())
}

/// The database and Redis the cluster uses, or `None` (the test is skipped) when
/// they are not configured and not required.
async fn services() -> Option<(TestDatabase, String)> {
    let required = std::env::var("PLAZA_REQUIRE_CLUSTER").is_ok_and(|v| v == "1");
    let redis = redis_url();
    let database = TestDatabase::postgres().await.expect("create a PostgreSQL database");
    match (database, redis) {
        (Some(database), Some(redis)) => Some((database, redis)),
        (database, _) => {
            assert!(!required, "PLAZA_TEST_PG_URL and PLAZA_TEST_REDIS_URL are required");
            if let Some(database) = database {
                database.remove().await.expect("remove the database");
            }
            None
        }
    }
}

/// One `plaza serve` process.
struct Node {
    child: Child,
    base: String,
    _folder: tempfile::TempDir,
}

impl Node {
    async fn start(database_url: &str, redis: &str, prefix: &str, extra: &[(&str, &str)]) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let folder = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_plaza"));
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                database_url,
            ])
            .arg("--data-dir")
            .arg(folder.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PLAZA__")) {
            command.env_remove(key);
        }
        command
            .env("PLAZA__MEDIA__UDP_LISTEN", "127.0.0.1:0")
            .env("PLAZA__REALTIME__ADAPTER", redis)
            .env("PLAZA__REALTIME__CHANNEL_PREFIX", prefix)
            .env("PLAZA__MESSAGES__SENDS_PER_SECOND", "0")
            // These tests attach no files; a real cluster uses S3 or a shared disk.
            .env("PLAZA__FILES__LOCAL_IS_SHARED", "true");
        for (key, value) in extra {
            command.env(key, value);
        }
        let child = command.spawn().expect("start plaza");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(answer) = http.get(format!("{base}/ready")).send().await
                && answer.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "node on port {port} did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Node { child, base, _folder: folder }
    }

    /// SIGKILL: no goodbye to anyone.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn call(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.header("authorization", jwt(token));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.expect("request");
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn register(node: &Node, username: &str) -> (String, String) {
    let (status, body) = call(
        reqwest::Method::POST,
        format!("{}/api/auth/register", node.base),
        None,
        Some(json!({"username": username, "password": PASSWORD})),
    )
    .await;
    assert!(status.is_success(), "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let id = body["user"]["_id"].as_str().unwrap().to_owned();
    (token, id)
}

/// A group space `owner` creates through `create_on`, with `members` added through
/// `add_on` (a different node, when the test wants the writes to cross nodes).
async fn group_space(
    create_on: &Node,
    add_on: &Node,
    owner: &str,
    title: &str,
    members: &[&str],
) -> String {
    let (status, created) = call(
        reqwest::Method::POST,
        format!("{}/api/spaces/invite", create_on.base),
        Some(owner),
        Some(json!({"topic": {"title": title, "type": "group"}, "invitees": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let space = created["data"][0]["topicId"].as_str().unwrap().to_owned();
    for member in members {
        let (status, body) = call(
            reqwest::Method::POST,
            format!("{}/api/spaces/{space}/attendees/userId/{member}", add_on.base),
            Some(owner),
            Some(json!({"role": "member"})),
        )
        .await;
        assert!(status.is_success(), "{body}");
    }
    space
}

/// A client on a node, logging the events it receives by name.
struct Client {
    socket: RealtimeClient,
    log: Vec<(String, Value)>,
}

impl Client {
    async fn on(node: &Node, token: &str, space: &str, last: Option<&str>) -> Client {
        let mut socket = RealtimeClient::connect(&node.base, "/chat", &Credentials::jwt(token))
            .await
            .expect("connect");
        socket.subscribe(space, last).unwrap();
        socket.wait_for("CHANNEL_SUBSCRIBED", WAIT).await.expect("subscribed");
        Client { socket, log: Vec::new() }
    }

    /// Reads events until `done` holds for the log, or panics after a while.
    async fn until(&mut self, what: &str, done: impl Fn(&[(String, Value)]) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.log) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.socket.next_event()).await {
                Ok(Some(event)) => self.log.push((event.name, event.payload)),
                Ok(None) => panic!("connection closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}; log: {:?}", self.names()),
            }
        }
    }

    /// Reads whatever else arrives within a short while.
    async fn settle(&mut self) {
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(400), self.socket.next_event()).await
        {
            self.log.push((event.name, event.payload));
        }
    }

    fn names(&self) -> Vec<String> {
        self.log
            .iter()
            .map(|(name, payload)| format!("{name}:{}", payload["category"].as_str().unwrap_or("")))
            .collect()
    }

    fn count(&self, name: &str) -> usize {
        self.log.iter().filter(|(n, _)| n == name).count()
    }

    fn messages(&self) -> Vec<String> {
        self.log
            .iter()
            .filter(|(n, p)| n == "MESSAGE_SENT" && p["category"] == "chat")
            .filter_map(|(_, p)| p["_id"].as_str().map(str::to_owned))
            .collect()
    }

    fn media(&self) -> Vec<String> {
        self.log
            .iter()
            .filter(|(n, _)| n == "MEDIA_SESSION_RESPONSE")
            .map(|(_, p)| p["category"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn chats(log: &[(String, Value)]) -> usize {
    log.iter().filter(|(n, p)| n == "MESSAGE_SENT" && p["category"] == "chat").count()
}

#[tokio::test]
async fn three_nodes_deliver_everything_once_and_survive_losing_one() {
    let Some((database, redis)) = services().await else { return };
    let prefix = format!("plaza-test-{:x}", rand::random::<u64>());
    let grace =
        [("PLAZA__MEETINGS__DROP_GRACE_MS", "500"), ("PLAZA__REALTIME__NODE_TIMEOUT_MS", "600")];
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Node::start(&database.url, &redis, &prefix, &grace).await);
    }

    // Accounts made on different nodes; tokens from one node work on all.
    let (ann, _) = register(&nodes[0], "ann@example.com").await;
    let (bob, bob_id) = register(&nodes[1], "bob@example.com").await;
    let (cat, cat_id) = register(&nodes[2], "cat@example.com").await;
    let space = group_space(&nodes[1], &nodes[2], &ann, "Cluster", &[&bob_id, &cat_id]).await;

    let mut a = Client::on(&nodes[0], &ann, &space, None).await;
    let mut b = Client::on(&nodes[1], &bob, &space, None).await;
    let mut c = Client::on(&nodes[2], &cat, &space, None).await;

    // Messages: ten from each node, each reaching all three clients once.
    for n in 0..10 {
        for (client, who) in [(&a, "ann"), (&b, "bob"), (&c, "cat")] {
            client.socket.send_chat(&space, &format!("{who} {n}"), Some(json!(n))).unwrap();
        }
    }
    for client in [&mut a, &mut b, &mut c] {
        client.until("30 messages", |log| chats(log) >= 30).await;
    }

    // Presence from node 1 reaches the others once, not its sender.
    a.socket
        .emit("SEND_PRESENCE_EVENT", &json!({"category": "app.event.presence.party.online", "topicId": space, "content": {"offline": false}, "receivers": []}))
        .unwrap();
    for client in [&mut b, &mut c] {
        client
            .until("presence", |log| log.iter().any(|(n, _)| n == "PRESENCE_EVENT_RESPONSE"))
            .await;
    }

    // A meeting started on node 2 and joined from node 3.
    let tracks = json!({"category": "tracksstatus", "topicId": space, "content": {"mediaSession": {"audio": true, "video": false, "connected": true}}});
    b.socket.emit("SEND_MEDIA_SESSION_EVENTS", &tracks).unwrap();
    a.until("b's tracks", |log| {
        log.iter().any(|(n, p)| n == "MEDIA_SESSION_RESPONSE" && p["category"] == "tracksstatus")
    })
    .await;
    c.socket.emit("SEND_MEDIA_SESSION_EVENTS", &tracks).unwrap();
    for client in [&mut a, &mut b, &mut c] {
        client
            .until("both tracks", |log| {
                log.iter()
                    .filter(|(n, p)| {
                        n == "MEDIA_SESSION_RESPONSE" && p["category"] == "tracksstatus"
                    })
                    .count()
                    >= 2
            })
            .await;
    }
    for client in [&mut a, &mut b, &mut c] {
        client.settle().await;
        assert_eq!(
            client.media(),
            [
                "app.event.meeting.started",
                "app.event.attendee.added",
                "tracksstatus",
                "app.event.attendee.added",
                "tracksstatus"
            ],
            "every meeting event once, in order"
        );

        let seen = client.messages();
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (30, 30), "each message once");
    }

    assert_eq!(a.count("PRESENCE_EVENT_RESPONSE"), 0, "not to its sender");
    assert_eq!((b.count("PRESENCE_EVENT_RESPONSE"), c.count("PRESENCE_EVENT_RESPONSE")), (1, 1));

    // Node 3 dies mid-traffic. What its client saw acknowledged must be stored.
    let before_kill = c.messages().last().cloned();
    // Some of Cat's late messages are acknowledged before the kill, however loaded the
    // machine, so that the check below has something to check.
    let late_acks = |log: &[(String, Value)]| {
        log.iter()
            .filter(|(n, p)| {
                n == "MESSAGE_SENT"
                    && p.get("loopbackMetadata").is_some_and(|l| l.get("late").is_some())
            })
            .count()
    };
    for n in 0..3 {
        c.socket.send_chat(&space, &format!("cat late {n}"), Some(json!({"late": n}))).unwrap();
    }
    c.until("Cat's first late acknowledgements", |log| late_acks(log) >= 3).await;
    for n in 3..20 {
        // Fails once Cat's node is gone; what she sent before must not be lost.
        let _ = c.socket.send_chat(&space, &format!("cat late {n}"), Some(json!({"late": n})));
        a.socket.send_chat(&space, &format!("ann late {n}"), None).unwrap();
        if n == 10 {
            nodes[2].kill();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Whatever reached Cat before the node died, including her own acknowledgements.
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(300), c.socket.next_event()).await
    {
        c.log.push((event.name, event.payload));
    }
    let acknowledged: Vec<String> = c
        .log
        .iter()
        .filter(|(n, p)| {
            n == "MESSAGE_SENT"
                && p.get("loopbackMetadata").is_some_and(|l| l.get("late").is_some())
        })
        .filter_map(|(_, p)| p["_id"].as_str().map(str::to_owned))
        .collect();
    let seen_before: Vec<String> = c.messages();
    a.until("ann's late messages", |log| {
        log.iter()
            .filter(|(n, p)| {
                n == "MESSAGE_SENT"
                    && p["content"]["bodyText"].as_str().is_some_and(|t| t.starts_with("ann late"))
            })
            .count()
            >= 17
    })
    .await;

    // Cat was in the meeting through the dead node: the others notice the node is
    // gone, give her the grace, and she leaves.
    let killed_at = Instant::now();
    for client in [&mut a, &mut b] {
        client
            .until("cat leaving the meeting", |log| {
                log.iter().any(|(n, p)| {
                    n == "MEDIA_SESSION_RESPONSE"
                        && p["category"] == "app.event.attendee.left"
                        && p["content"]["attendee"]["_id"] == cat_id.as_str()
                })
            })
            .await;
    }
    assert!(killed_at.elapsed() < Duration::from_secs(10));

    // Everything stored, read through a surviving node.
    let (status, history) = call(
        reqwest::Method::GET,
        format!("{}/api/spaces/{space}/messages/query?size=50&category=chat", nodes[0].base),
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut stored: HashSet<String> = HashSet::new();
    let mut page = history;
    loop {
        for message in page["data"].as_array().unwrap() {
            stored.insert(message["_id"].as_str().unwrap().to_owned());
        }
        let next = page["nextPageUrl"].as_str().unwrap_or_default().to_owned();
        if next.is_empty() {
            break;
        }
        let next = if next.starts_with('/') { format!("{}{next}", nodes[0].base) } else { next };
        page = call(reqwest::Method::GET, next, Some(&ann), None).await.1;
    }
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged message {id} was lost");
    }
    assert!(
        !acknowledged.is_empty(),
        "some of Cat's late messages were acknowledged before the kill"
    );
    assert!(before_kill.is_some());

    // Cat reconnects to node 2 and catches up from her last message. Her own late
    // sends were acknowledged at once while Ann's, stored just before them, were still
    // on their way from node 1 when node 3 died: catch-up sends other senders'
    // messages of the moment before the anchor again, so nothing is missing, and
    // Cat (like every Spaces client) keys messages by id.
    let last = seen_before.last().cloned();
    let mut again = Client::on(&nodes[1], &cat, &space, last.as_deref()).await;
    let expected = stored.len();
    let has_all = |log: &[(String, Value)]| {
        let mut ids: HashSet<&str> = seen_before.iter().map(String::as_str).collect();
        ids.extend(
            log.iter()
                .filter(|(n, p)| n == "MESSAGE_SENT" && p["category"] == "chat")
                .filter_map(|(_, p)| p["_id"].as_str()),
        );
        ids.len() >= expected
    };
    again.until("catch-up", has_all).await;
    again.settle().await;
    let mut everything: HashMap<String, usize> = HashMap::new();
    for id in seen_before.iter().chain(again.messages().iter()) {
        *everything.entry(id.clone()).or_default() += 1;
    }
    assert_eq!(everything.len(), expected, "nothing missing after resuming");
    let caught_up = again.messages();
    let distinct: HashSet<&String> = caught_up.iter().collect();
    assert_eq!(distinct.len(), caught_up.len(), "one connection gets each message once");
    let repeated = everything.values().filter(|&&n| n > 1).count();
    println!("catch-up sent {repeated} messages Cat had seen (the overlap before her anchor)");

    // A kick from node 1 reaches Bob on node 2: he stops hearing the space.
    let (status, _) = call(
        reqwest::Method::DELETE,
        format!("{}/api/spaces/{space}/attendees/userId/{bob_id}", nodes[0].base),
        Some(&ann),
        None,
    )
    .await;
    assert!(status.is_success());
    b.until("kick", |log| log.iter().any(|(n, _)| n == "CHANNEL_UNSUBSCRIBED")).await;
    let heard = b.count("MESSAGE_SENT");
    a.socket.send_chat(&space, "after the kick", None).unwrap();
    again
        .until("after the kick", |log| {
            log.iter().any(|(_, p)| p["content"]["bodyText"] == "after the kick")
        })
        .await;
    b.settle().await;
    assert_eq!(b.count("MESSAGE_SENT"), heard, "a removed member hears nothing more");

    drop(nodes);
    database.remove().await.expect("remove the database");
}

#[tokio::test]
async fn the_send_limit_is_counted_across_nodes() {
    let Some((database, redis)) = services().await else { return };
    send_limit_across_nodes(database, &redis).await;
}

#[tokio::test]
async fn the_send_limit_is_counted_across_nodes_sharing_only_postgres() {
    let Some((database, _)) = services().await else { return };
    send_limit_across_nodes(database, "postgres").await;
}

/// Two nodes on `adapter`; one user's REST sends alternate between them.
async fn send_limit_across_nodes(database: TestDatabase, adapter: &str) {
    let prefix = format!("plaza-test-{:x}", rand::random::<u32>());
    let limits = [("PLAZA__MESSAGES__SENDS_PER_SECOND", "1"), ("PLAZA__MESSAGES__SEND_BURST", "4")];
    let first = Node::start(&database.url, adapter, &prefix, &limits).await;
    let second = Node::start(&database.url, adapter, &prefix, &limits).await;
    let (ann, _) = register(&first, "ann@example.com").await;
    let space = group_space(&first, &first, &ann, "Limits", &[]).await;
    let mut statuses = Vec::new();
    for n in 0..6 {
        let node = if n % 2 == 0 { &first } else { &second };
        let (status, body) = call(
            reqwest::Method::POST,
            format!("{}/api/spaces/{space}/chats", node.base),
            Some(&ann),
            Some(json!({"content": {"bodyText": format!("n{n}")}})),
        )
        .await;
        statuses.push(status.as_u16());
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["code"], "request.rate_limited");
        }
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429, 429], "one budget on both nodes");
    drop((first, second));
    database.remove().await.expect("remove the database");
}

/// A Redis server of the test's own, so that it can be stopped and started again.
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    fn start(port: u16) -> Option<OwnRedis> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        Some(OwnRedis { child, port })
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn nodes_ride_out_a_redis_restart_and_their_clients_catch_up() {
    let Some((database, _)) = services().await else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let Some(mut redis) = OwnRedis::start(port) else {
        let required = std::env::var("PLAZA_REQUIRE_CLUSTER").is_ok_and(|v| v == "1");
        assert!(!required, "redis-server is needed to restart Redis under the nodes");
        database.remove().await.expect("remove the database");
        return;
    };
    redis.wait_ready().await;
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = "plaza-restart";
    let first = Node::start(&database.url, &url, prefix, &[]).await;
    let second = Node::start(&database.url, &url, prefix, &[]).await;
    let (ann, _) = register(&first, "ann@example.com").await;
    let (bob, bob_id) = register(&second, "bob@example.com").await;
    let space = group_space(&first, &first, &ann, "Restart", &[&bob_id]).await;
    let post = |text: &'static str| {
        let (base, token, space) = (first.base.clone(), ann.clone(), space.clone());
        async move {
            let (status, body) = call(
                reqwest::Method::POST,
                format!("{base}/api/spaces/{space}/chats"),
                Some(&token),
                Some(json!({"content": {"bodyText": text}})),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["data"]["_id"].as_str().unwrap().to_owned()
        }
    };
    let mut b = Client::on(&second, &bob, &space, None).await;
    let before = post("before").await;
    b.until("before", |log| chats(log) == 1).await;

    // Redis goes away; a message sent meanwhile is stored but cannot cross nodes.
    redis.stop();
    let during = post("during").await;
    let redis = OwnRedis::start(port).expect("restart redis-server");
    redis.wait_ready().await;

    // Bob's node, back on Redis, closes his socket; he reconnects and catches up.
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, b.socket.next_event()).await {
            Ok(Some(event)) => b.log.push((event.name, event.payload)),
            Ok(None) => break,
            Err(_) => panic!("Bob's socket was not closed after the Redis gap"),
        }
    }
    let mut back = Client::on(&second, &bob, &space, Some(&before)).await;
    back.until("the missed message", |log| chats(log) >= 1).await;
    assert_eq!(back.messages(), [during], "caught up with what Redis could not carry");
    // And events cross nodes again.
    let after = post("after").await;
    back.until("after", |log| chats(log) >= 2).await;
    assert_eq!(back.messages().last(), Some(&after));
    drop((first, second, redis));
    database.remove().await.expect("remove the database");
}

#[tokio::test]
async fn a_node_refuses_to_start_with_files_on_its_own_disk() {
    let Some((database, redis)) = services().await else { return };
    let folder = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_plaza"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &database.url])
        .arg("--data-dir")
        .arg(folder.path())
        .env("PLAZA__REALTIME__ADAPTER", &redis)
        .env("RUST_LOG", "error");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PLAZA__")) {
        command.env_remove(key);
    }
    command.env("PLAZA__REALTIME__ADAPTER", &redis);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert!(!output.status.success(), "it started");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("files.storage = \"s3\""), "{stderr}");
    database.remove().await.expect("remove the database");
}

#[tokio::test]
async fn two_nodes_fan_out_through_postgres_without_redis() {
    let Some((database, _)) = services().await else { return };
    let prefix = format!("pt{:x}", rand::random::<u32>());
    let first = Node::start(&database.url, "postgres", &prefix, &[]).await;
    let second = Node::start(&database.url, "postgres", &prefix, &[]).await;
    let (ann, _) = register(&first, "ann@example.com").await;
    let (bob, bob_id) = register(&second, "bob@example.com").await;
    let space = group_space(&second, &first, &ann, "No Redis", &[&bob_id]).await;
    let mut a = Client::on(&first, &ann, &space, None).await;
    let mut b = Client::on(&second, &bob, &space, None).await;
    for n in 0..5 {
        a.socket.send_chat(&space, &format!("ann {n}"), None).unwrap();
        b.socket.send_chat(&space, &format!("bob {n}"), None).unwrap();
    }
    for client in [&mut a, &mut b] {
        client.until("10 messages", |log| chats(log) >= 10).await;
        client.settle().await;
        let seen = client.messages();
        assert_eq!((seen.len(), seen.iter().collect::<HashSet<_>>().len()), (10, 10));
    }
    b.socket
        .emit("SEND_PRESENCE_EVENT", &json!({"category": "app.event.presence.party.online", "topicId": space, "content": {}, "receivers": []}))
        .unwrap();
    a.until("presence", |log| log.iter().any(|(n, _)| n == "PRESENCE_EVENT_RESPONSE")).await;
    drop((first, second));
    database.remove().await.expect("remove the database");
}

/// Issue 23, item 3: a logout and an account disabled on one node end the sockets
/// their credentials opened on the others within seconds, each told why.
#[tokio::test]
async fn revocation_on_one_node_ends_sockets_on_the_others() {
    let Some((database, redis)) = services().await else { return };
    let prefix = format!("rv{:x}", rand::random::<u32>());
    let first = Node::start(&database.url, &redis, &prefix, &[]).await;
    let second = Node::start(&database.url, &redis, &prefix, &[]).await;
    let (ann, _) = register(&first, "ann@example.com").await;
    let (bob, bob_id) = register(&second, "bob@example.com").await;
    let space = group_space(&first, &second, &ann, "Revoked", &[&bob_id]).await;

    async fn ended(client: &mut Client, reason: &str) -> Duration {
        let started = Instant::now();
        client.until("SESSION_ENDED", |log| log.iter().any(|(n, _)| n == "SESSION_ENDED")).await;
        let (_, payload) = client.log.iter().find(|(n, _)| n == "SESSION_ENDED").unwrap();
        assert_eq!(payload["reason"], reason, "{payload}");
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            while client.socket.next_event().await.is_some() {}
        })
        .await;
        assert!(closed.is_ok(), "the namespace is disconnected after SESSION_ENDED");
        started.elapsed()
    }

    let mut ann_on_second = Client::on(&second, &ann, &space, None).await;
    let (status, _) =
        call(reqwest::Method::POST, format!("{}/api/auth/logout", first.base), Some(&ann), None)
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let took = ended(&mut ann_on_second, "token_revoked").await;
    println!("a logout on node 1 ended the socket on node 2 in {took:?}");

    let mut bob_on_first = Client::on(&first, &bob, &space, None).await;
    let admin = register(&second, "admin2@example.com").await; // not an admin: refused
    let (status, _) = call(
        reqwest::Method::POST,
        format!("{}/api/admin/users/{bob_id}/disable", second.base),
        Some(&admin.0),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only a server admin disables accounts");
    let (ann_again, _) = {
        let (status, body) = call(
            reqwest::Method::POST,
            format!("{}/api/auth/login", second.base),
            None,
            Some(json!({"username": "ann@example.com", "password": PASSWORD})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (body["token"].as_str().unwrap().to_owned(), ())
    };
    let (status, body) = call(
        reqwest::Method::POST,
        format!("{}/api/admin/users/{bob_id}/disable", second.base),
        Some(&ann_again),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let took = ended(&mut bob_on_first, "account_disabled").await;
    println!("disabling on node 2 ended the socket on node 1 in {took:?}");
    drop((first, second));
    database.remove().await.expect("remove the database");
}

/// One person's media in a meeting across nodes: their socket on one node, a Rust
/// WebRTC client, and everything their socket heard.
struct MediaPeer {
    socket: RealtimeClient,
    token: String,
    space: String,
    media: plaza_media::client::MediaClient,
    session: String,
    /// The media address the host named (`MEDIA_JOINED`).
    address: String,
    heard: Vec<(String, Value)>,
}

/// A media token for `space` from `node`, and the media address its answer names.
async fn media_token(node: &Node, token: &str, space: &str) -> (String, String) {
    let (status, body) = call(
        reqwest::Method::GET,
        format!("{}/api/mediasessions/mpaas/token/{space}", node.base),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let address = body["mediaAddress"].as_str().expect("mediaAddress with several nodes");
    (body["token"].as_str().unwrap().to_owned(), address.to_owned())
}

impl MediaPeer {
    /// Subscribes on `node` and joins the space's media there.
    async fn join(node: &Node, token: &str, space: &str) -> MediaPeer {
        let socket = RealtimeClient::connect(&node.base, "/chat", &Credentials::jwt(token))
            .await
            .expect("connect");
        let mut peer = MediaPeer {
            socket,
            token: token.to_owned(),
            space: space.to_owned(),
            media: plaza_media::client::MediaClient::start(Default::default()).await.unwrap(),
            session: String::new(),
            address: String::new(),
            heard: Vec::new(),
        };
        peer.socket.subscribe(space, None).unwrap();
        peer.socket.wait_for("CHANNEL_SUBSCRIBED", WAIT).await.expect("subscribed");
        peer.media_join(node).await;
        peer
    }

    /// A new media session through `node`: token, `MEDIA_JOIN`, offer and answer.
    async fn media_join(&mut self, node: &Node) {
        let (media_token, named) = media_token(node, &self.token, &self.space).await;
        let join = json!({"topicId": self.space, "token": media_token});
        self.socket.emit("MEDIA_JOIN", &join).unwrap();
        let joined = self.next("MEDIA_JOINED").await;
        self.session = joined["sessionId"].as_str().unwrap().to_owned();
        self.address = joined["mediaAddress"].as_str().unwrap().to_owned();
        assert_eq!(self.address, named, "the token and the join name the same host");
        let offer = self.media.create_offer().await.unwrap();
        let offer = json!({"sessionId": self.session, "sdp": offer});
        self.socket.emit("MEDIA_OFFER", &offer).unwrap();
        let answer = self.next("MEDIA_ANSWER").await;
        self.media.accept_answer(answer["sdp"].as_str().unwrap()).await.unwrap();
    }

    /// Logs events until `name` comes (answering the server's offers on the way).
    async fn next(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = tokio::time::timeout(left, self.socket.next_event())
                .await
                .unwrap_or_else(|_| panic!("no {name} within {WAIT:?}: {:?}", self.names()))
                .expect("connection open");
            let found = event.name == name;
            self.heard.push((event.name, event.payload.clone()));
            if found {
                return event.payload;
            }
        }
    }

    /// Handles what arrived: the server's offers are answered.
    async fn pump(&mut self) {
        for event in self.socket.drain() {
            if event.name == "MEDIA_OFFER" && event.payload["sessionId"] == self.session.as_str() {
                let answer = self.media.accept_offer(event.payload["sdp"].as_str().unwrap()).await;
                let reply = json!({"sessionId": self.session, "sdp": answer.unwrap()});
                self.socket.emit("MEDIA_ANSWER", &reply).unwrap();
            }
            self.heard.push((event.name, event.payload));
        }
    }

    fn receives_from(&self, other: &MediaPeer, frames: u64) -> bool {
        use plaza_media::TrackKind;
        let stats = self.media.stats();
        stats.received(&other.session, TrackKind::Audio).frames > frames
            && stats.received(&other.session, TrackKind::Video).frames > frames / 4
    }

    fn names(&self) -> Vec<&str> {
        self.heard.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// How many meeting events of `category` were about `user_id`.
    fn attendee_events(&self, category: &str, user_id: &str) -> usize {
        self.heard
            .iter()
            .filter(|(n, p)| n == "MEDIA_SESSION_RESPONSE" && p["category"] == category)
            .filter(|(_, p)| p.to_string().contains(user_id))
            .count()
    }
}

/// Pumps both peers until each receives the other's audio and video.
async fn media_flows(a: &mut MediaPeer, b: &mut MediaPeer, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        a.pump().await;
        b.pump().await;
        if a.receives_from(b, 25) && b.receives_from(a, 25) {
            return;
        }
        assert!(Instant::now() < deadline, "no media both ways {what}: {:?}", a.names());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_meeting_across_nodes_meets_on_its_host_and_moves_when_the_host_dies() {
    let Some((database, redis)) = services().await else { return };
    let prefix = format!("plaza-test-{:x}", rand::random::<u64>());
    // The host's death is noticed within about a second; people keep their place 20 s.
    let timing =
        [("PLAZA__MEETINGS__DROP_GRACE_MS", "20000"), ("PLAZA__REALTIME__NODE_TIMEOUT_MS", "1200")];
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Node::start(&database.url, &redis, &prefix, &timing).await);
    }
    let (ann, ann_id) = register(&nodes[0], "ann@example.com").await;
    let (bob, bob_id) = register(&nodes[1], "bob@example.com").await;
    let space = group_space(&nodes[0], &nodes[1], &ann, "Media across nodes", &[&bob_id]).await;

    // The first node to issue a media token for the space hosts its room: node 3, on
    // which neither person's socket is.
    let (_, host_address) = media_token(&nodes[2], &ann, &space).await;
    let mut a = MediaPeer::join(&nodes[0], &ann, &space).await;
    let mut b = MediaPeer::join(&nodes[1], &bob, &space).await;
    assert_eq!((a.address.as_str(), b.address.as_str()), (&*host_address, &*host_address));
    media_flows(&mut a, &mut b, "through node 3").await;

    // A recording started through node 1 and stopped through node 2 is recorded and
    // stored by node 3, the host.
    let meeting = a
        .heard
        .iter()
        .find(|(n, p)| {
            n == "MEDIA_SESSION_RESPONSE" && p["category"] == "app.event.meeting.started"
        })
        .map(|(_, p)| p["messageId"].as_str().unwrap().to_owned())
        .expect("the meeting started");
    let path = |node: &Node, tail: &str| {
        format!("{}/api/spaces/{space}/meetings/{meeting}/{tail}", node.base)
    };
    let post = reqwest::Method::POST;
    let (status, body) =
        call(post.clone(), path(&nodes[0], "recordings"), Some(&ann), Some(json!({}))).await;
    assert!(status.is_success(), "{body}");
    let recording = body["data"][0]["content"]["recordings"][0]["_id"].as_str().unwrap().to_owned();
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        a.pump().await;
        b.pump().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stop = path(&nodes[1], &format!("recordings/{recording}/stop"));
    let (status, body) = call(post.clone(), stop, Some(&ann), Some(json!({}))).await;
    assert!(status.is_success(), "{body}");
    let ready = loop {
        let event = b.next("MEDIA_SESSION_RESPONSE").await;
        if event["category"] == "app.event.recording.ready" {
            break event;
        }
    };
    let files = ready["content"]["data"].as_array().cloned().unwrap_or_default();
    let mut types: Vec<&str> =
        files.iter().filter_map(|f| f["providerFileType"].as_str()).collect();
    types.sort();
    assert_eq!(types, ["audio/webm", "audio/webm", "video/webm", "video/webm"], "{ready}");
    for file in &files {
        let duration = file["duration"].as_f64().unwrap();
        assert!((1500.0..4000.0).contains(&duration), "{file}");
    }

    // An admin's mute through node 2 reaches the host: Bob's audio stops at Ann's.
    let (status, body) = call(
        reqwest::Method::POST,
        path(&nodes[1], &format!("attendees/user/{bob_id}/mediastate")),
        Some(&ann),
        Some(json!({"audio": false})),
    )
    .await;
    assert!(status.is_success(), "{body}");
    let muted = loop {
        let event = a.next("MEDIA_FORWARDING").await;
        if event["userId"] == bob_id.as_str() && event["kind"] == "audio" {
            break event;
        }
    };
    assert_eq!(muted["forwarding"], false, "{muted}");

    // Node 3 dies: both sessions are told to move, and join again through their own
    // node; the first of those nodes to claim the space hosts it now.
    nodes[2].kill();
    let died = Instant::now();
    for peer in [&mut a, &mut b] {
        let ended = peer.next("MEDIA_SESSION_ENDED").await;
        assert_eq!(
            (ended["sessionId"].as_str(), ended["reason"].as_str()),
            (Some(&*peer.session), Some("moved"))
        );
    }
    let noticed = died.elapsed();
    for (peer, node) in [(&mut a, &nodes[0]), (&mut b, &nodes[1])] {
        peer.media = plaza_media::client::MediaClient::start(Default::default()).await.unwrap();
        peer.media_join(node).await;
    }
    assert_eq!(a.address, b.address, "one new host for both");
    assert_ne!(a.address, host_address);
    media_flows(&mut a, &mut b, "after the move").await;
    let resumed = died.elapsed();
    eprintln!("host killed: sessions told to move after {noticed:?}, media back after {resumed:?}");
    assert!(resumed < Duration::from_secs(10), "media resumed after {resumed:?}");

    // Their places were kept: at most one left/added pair per person (here: none).
    for peer in [&mut a, &mut b] {
        peer.pump().await;
        for id in [&ann_id, &bob_id] {
            assert!(peer.attendee_events("app.event.attendee.left", id) <= 1);
            assert!(peer.attendee_events("app.event.attendee.added", id) <= 2);
        }
    }
    database.remove().await.expect("remove the database");
}

/// The browser side of the test above (`web/e2e/cluster-meeting.spec.ts`): Ann's
/// Chromium on node 1 and Bob's on node 2 meet on node 3, see and hear each other, and
/// keep doing so on another node once node 3 is killed.
#[tokio::test]
async fn two_browsers_on_different_nodes_meet_and_resume_when_the_host_dies() {
    if !crate::web::browser_available() {
        return;
    }
    let Some((database, redis)) = services().await else { return };
    let prefix = format!("plaza-test-{:x}", rand::random::<u64>());
    let timing = [
        ("PLAZA__REALTIME__NODE_TIMEOUT_MS", "1500"),
        // The browsers sign up and sign in several times within a second.
        ("PLAZA__LIMITS__AUTH_PER_SECOND", "0"),
    ];
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Node::start(&database.url, &redis, &prefix, &timing).await);
    }
    let env = [
        ("PLAZA_URL", nodes[0].base.clone()),
        ("PLAZA_URL_B", nodes[1].base.clone()),
        ("PLAZA_URL_HOST", nodes[2].base.clone()),
        ("PLAZA_HOST_PID", nodes[2].child.id().to_string()),
    ];
    let spec = ["e2e/cluster-meeting.spec.ts"];
    let said =
        crate::web::playwright(&spec, &env, "plaza-e2e-cluster", Duration::from_secs(240)).await;
    assert!(said.contains("1 passed"), "the scenario ran (not skipped):\n{said}");
    eprintln!("{said}");
    database.remove().await.expect("remove the database");
}
