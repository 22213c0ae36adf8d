//! What real Spaces client programs do, exactly as they do it (issue 22): raw Engine.IO
//! frames where the point is the frames, python-socketio 4 where it is the behaviour,
//! and the REST calls the published scripts make.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TestApp, jwt, spawn_app, spawn_app_with};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw Engine.IO WebSocket client of either generation.
pub(crate) struct RawSocket {
    socket: Socket,
    eio: u8,
}

impl RawSocket {
    /// Opens the WebSocket (the token on the handshake URL, as Spaces clients send it)
    /// and reads the open packet; on EIO3, also the implicit root-namespace `40`.
    pub(crate) async fn open(base: &str, eio: u8, token: &str) -> RawSocket {
        let url = format!(
            "{}/socket.io/?EIO={eio}&transport=websocket&token={token}&tokenType=jwt",
            base.replace("http", "ws")
        );
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket");
        let mut raw = RawSocket { socket, eio };
        assert!(raw.next_text().await.starts_with('0'), "the Engine.IO open packet");
        if eio == 3 {
            // EIO3 connects the root namespace by itself (refused with a bad token).
            let root = raw.next_text().await;
            assert!(root == "40" || root.starts_with("44{"), "root namespace: {root}");
        }
        raw
    }

    pub(crate) async fn send(&mut self, frame: String) {
        self.socket.send(Message::text(frame)).await.expect("send a frame");
    }

    /// The namespace CONNECT the client of this generation sends for `/chat`.
    pub(crate) fn connect_frame(&self, token: &str) -> String {
        match self.eio {
            3 => format!("40/chat?token={token}&tokenType=jwt,"),
            _ => format!("40/chat,{}", json!({"token": token, "tokenType": "jwt"})),
        }
    }

    pub(crate) async fn emit(&mut self, event: &str, payload: Value) {
        self.send(format!("42/chat,{}", json!([event, payload]))).await;
    }

    /// The next text frame, answering the server's pings (EIO4) on the way.
    pub(crate) async fn next_text(&mut self) -> String {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) if text.as_str() == "2" => {
                    self.send("3".into()).await;
                }
                Ok(Some(Ok(Message::Text(text)))) => return text.to_string(),
                Ok(Some(Ok(_))) => continue,
                other => panic!("EIO{}: the socket ended: {other:?}", self.eio),
            }
        }
    }

    /// The next `/chat` event as `(name, payload)`.
    pub(crate) async fn next_event(&mut self) -> (String, Value) {
        loop {
            let text = self.next_text().await;
            if let Some(body) = text.strip_prefix("42/chat,") {
                let array: Value = serde_json::from_str(body).expect("event JSON");
                return (array[0].as_str().unwrap_or_default().to_owned(), array[1].clone());
            }
        }
    }

    /// Whether the server closes the WebSocket within `wait` (pings answered on the way).
    pub(crate) async fn closed_within(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                        let _ = self.socket.send(Message::text("3")).await;
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => continue,
                }
            }
        })
        .await
        .is_ok()
    }

    /// Connects `/chat` and subscribes to `space`.
    pub(crate) async fn subscribed(base: &str, eio: u8, token: &str, space: &str) -> RawSocket {
        let mut raw = RawSocket::open(base, eio, token).await;
        let connect = raw.connect_frame(token);
        raw.send(connect).await;
        raw.emit("SUBSCRIBE_CHANNEL", json!({"channel": {"_id": space, "type": "topic"}})).await;
        let subscribed = raw.event_named("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await;
        assert!(subscribed.is_some(), "EIO{eio}: subscribed");
        raw
    }

    /// The `/chat` events that arrive until the server disconnects the namespace (its
    /// `41/chat` frame), or `None` when it does not within `wait`.
    pub(crate) async fn events_until_disconnected(
        &mut self,
        wait: Duration,
    ) -> Option<Vec<(String, Value)>> {
        tokio::time::timeout(wait, async {
            let mut events = Vec::new();
            loop {
                let text = self.next_text().await;
                if text == "41/chat" || text.starts_with("41/chat,") {
                    return events;
                }
                if let Some(body) = text.strip_prefix("42/chat,") {
                    let array: Value = serde_json::from_str(body).expect("event JSON");
                    events
                        .push((array[0].as_str().unwrap_or_default().to_owned(), array[1].clone()));
                }
            }
        })
        .await
        .ok()
    }

    /// Events until `name` arrives (or `None` when none does within `wait`).
    pub(crate) async fn event_named(&mut self, name: &str, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, async {
            loop {
                let (event, payload) = self.next_event().await;
                if event == name {
                    return payload;
                }
            }
        })
        .await
        .ok()
    }
}

/// Uploads a small text file as `token`'s user; returns its key.
pub(crate) async fn upload_text(app: &TestApp, token: &str) -> String {
    let bytes = b"plain text attachment".to_vec();
    let upload = app
        .post(
            "/api/files/getuploadurl",
            Some(&jwt(token)),
            &json!({"files": [{"Content-Type": "text/plain", "Content-Length": bytes.len()}]}),
        )
        .await;
    let slot = &upload.body["data"][0];
    let put = app
        .client
        .put(slot["url"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    slot["fileKey"].as_str().unwrap().to_owned()
}

async fn owner_and_space(app: &TestApp) -> (String, String) {
    let (owner, _) = app.register("owner@example.com").await;
    let space = app.create_space(&owner, "Compat").await;
    (owner, space)
}

/// Item 1: the EIO3 acknowledgement is `40/chat`, the frame the published load-test
/// scripts compare exactly; EIO4 keeps `40/chat,{"sid":...}`.
#[tokio::test]
async fn the_eio3_namespace_acknowledgement_has_no_comma() {
    let app = spawn_app().await;
    let (owner, _) = owner_and_space(&app).await;
    let mut v3 = RawSocket::open(&app.base, 3, &owner).await;
    let connect = v3.connect_frame(&owner);
    v3.send(connect).await;
    assert_eq!(v3.next_text().await, "40/chat");
    let mut v4 = RawSocket::open(&app.base, 4, &owner).await;
    let connect = v4.connect_frame(&owner);
    v4.send(connect).await;
    let acknowledged = v4.next_text().await;
    let sid = acknowledged.strip_prefix("40/chat,").expect("EIO4 acknowledgement");
    assert!(serde_json::from_str::<Value>(sid).unwrap()["sid"].is_string(), "{acknowledged}");
}

/// Item 2: 100 clients per generation emit SUBSCRIBE_CHANNEL right behind the
/// namespace CONNECT, before its acknowledgement: none is lost.
#[tokio::test]
async fn events_sent_before_the_acknowledgement_are_not_lost() {
    let app = spawn_app_with(|settings| settings.limits.connections_per_user = 0).await;
    let (owner, space) = owner_and_space(&app).await;
    for eio in [3, 4] {
        let count: usize =
            std::env::var("COMPAT_N").ok().and_then(|n| n.parse().ok()).unwrap_or(100);
        let clients = (0..count).map(|_| {
            let (base, token, space) = (app.base.clone(), owner.clone(), space.clone());
            tokio::spawn(async move {
                let mut raw = RawSocket::open(&base, eio, &token).await;
                let connect = raw.connect_frame(&token);
                raw.send(connect).await;
                raw.emit("SUBSCRIBE_CHANNEL", json!({"channel": {"_id": space, "type": "topic"}}))
                    .await;
                raw.event_named("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.is_some()
            })
        });
        let mut lost = 0;
        for client in futures_util::future::join_all(clients).await {
            if !client.unwrap() {
                lost += 1;
            }
        }
        println!("EIO{eio}: {lost} of {count} subscriptions sent before the acknowledgement lost");
        assert_eq!(lost, 0, "EIO{eio}");
    }
}

/// Item 2, refused: what was sent before a refused CONNECT gets its failure event.
/// Over long-polling, one POST carries the CONNECT and the events behind it, as a
/// naive client's first flush does; the server reads them all before the token check
/// answers.
#[tokio::test]
async fn events_sent_before_a_refused_connect_get_their_failure_event() {
    let app = spawn_app().await;
    let (_, space) = owner_and_space(&app).await;
    let url = app.url("/socket.io/?EIO=4&transport=polling");
    let open = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    let handshake: Value = serde_json::from_str(open.trim_start_matches('0')).unwrap();
    let polling = format!("{url}&sid={}", handshake["sid"].as_str().unwrap());
    let subscribe = json!(["SUBSCRIBE_CHANNEL", {"channel": {"_id": space, "type": "topic"}}]);
    let send = json!(["SEND_MESSAGE", {"topicId": space, "content": {"bodyText": "x"}}]);
    let body = format!(
        "40/chat,{}\u{1e}42/chat,{subscribe}\u{1e}42/chat,{send}",
        json!({"token": "not-a-token", "tokenType": "jwt"})
    );
    let posted = app.client.post(&polling).body(body).send().await.unwrap();
    assert!(posted.status().is_success());
    let mut packets = Vec::new();
    while packets.len() < 3 {
        let text = app.client.get(&polling).send().await.unwrap().text().await.unwrap();
        // Pings aside.
        packets.extend(text.split('\u{1e}').filter(|p| *p != "2").map(str::to_owned));
    }
    assert!(packets[0].starts_with("44/chat,"), "{packets:?}");
    let event = |packet: &str| -> Value {
        serde_json::from_str(packet.strip_prefix("42/chat,").expect("an event")).unwrap()
    };
    let failed = event(&packets[1]);
    assert_eq!(failed[0], "SUBSCRIBE_CHANNEL_FAILED");
    assert_eq!(failed[1]["channel"]["_id"], json!(space));
    assert!(failed[1]["error"]["code"].as_str().is_some_and(|c| c.starts_with("auth.")));
    let failed = event(&packets[2]);
    assert_eq!(failed[0], "SEND_MESSAGE_FAILED");
    assert_eq!(failed[1]["content"]["bodyText"], "x");
}

/// Item 2, bounded: a client cannot grow the queue of early events without limit; one
/// more than it keeps closes the connection.
#[tokio::test]
async fn early_events_are_bounded() {
    let app = spawn_app().await;
    let (owner, space) = owner_and_space(&app).await;
    let url = app.url("/socket.io/?EIO=4&transport=polling");
    let open = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    let handshake: Value = serde_json::from_str(open.trim_start_matches('0')).unwrap();
    let polling = format!("{url}&sid={}", handshake["sid"].as_str().unwrap());
    let subscribe = json!(["SUBSCRIBE_CHANNEL", {"channel": {"_id": space, "type": "topic"}}]);
    let mut body = format!("40/chat,{}", json!({"token": owner, "tokenType": "jwt"}));
    for _ in 0..65 {
        body.push_str(&format!("\u{1e}42/chat,{subscribe}"));
    }
    app.client.post(&polling).body(body).send().await.unwrap();
    // The session is gone: polling it again is refused.
    let mut closed = false;
    for _ in 0..20 {
        let answer = app.client.get(&polling).send().await.unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        if !status.is_success() || text.split('\u{1e}').any(|p| p == "1") {
            closed = true;
            break;
        }
        assert!(!text.contains("CHANNEL_SUBSCRIBED"), "65 early events were taken: {text}");
    }
    assert!(closed, "the connection stayed open");
}

/// Item 2 with the real naive client: python-socketio 4 emitting straight after
/// `connect()` returns loses no subscription.
#[tokio::test]
async fn python_socketio_4_emitting_at_once_loses_nothing() {
    let Ok(python) = std::env::var("PLAZA_PYTHON_SIO4") else {
        assert!(!crate::realtime::required(), "PLAZA_PYTHON_SIO4 is not set");
        eprintln!("skipping: set PLAZA_PYTHON_SIO4 to a Python with python-socketio 4");
        return;
    };
    let app = spawn_app_with(|settings| settings.limits.connections_per_user = 0).await;
    let (owner, space) = owner_and_space(&app).await;
    let mut command = std::process::Command::new(python);
    command
        .current_dir(crate::realtime::clients_dir())
        .args(["naive.py", &app.base, &owner, &space, "100"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    println!("python-socketio 4, naive: {result}");
    assert_eq!(result, json!({"subscribed": 100, "lost": 0}));
}

/// Item 3: presence with `receivers` reaches only the named receivers, and only where
/// they subscribed to that space.
#[tokio::test]
async fn targeted_presence_reaches_only_its_receivers() {
    let app = spawn_app().await;
    let (owner, space) = owner_and_space(&app).await;
    let other_space = app.create_space(&owner, "Elsewhere").await;
    let mut people = Vec::new();
    for name in ["newcomer", "bystander"] {
        let (token, user) = app.register(&format!("{name}@example.com")).await;
        let id = user["_id"].as_str().unwrap().to_owned();
        for space in [&space, &other_space] {
            let added = app
                .post(
                    &format!("/api/spaces/{space}/attendees/userId/{id}"),
                    Some(&jwt(&owner)),
                    &json!({"role": "member"}),
                )
                .await;
            assert!(added.status.is_success(), "{}", added.text);
        }
        people.push((token, id));
    }
    let subscribed = async |token: &str, space: &str| {
        let mut raw = RawSocket::open(&app.base, 3, token).await;
        raw.send(raw.connect_frame(token)).await;
        assert_eq!(raw.next_text().await, "40/chat");
        raw.emit("SUBSCRIBE_CHANNEL", json!({"channel": {"_id": space, "type": "topic"}})).await;
        raw.event_named("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.unwrap();
        raw
    };
    let mut answering = subscribed(&owner, &space).await;
    let mut newcomer = subscribed(&people[0].0, &space).await;
    let mut bystander = subscribed(&people[1].0, &space).await;
    // The newcomer's other socket, subscribed to another space only.
    let mut newcomer_elsewhere = subscribed(&people[0].0, &other_space).await;
    let answer = json!({
        "category": "app.event.presence.party.online",
        "topicId": space,
        "content": {"status": "online"},
        "receivers": [{"_id": people[0].1, "type": "user"}],
    });
    answering.emit("SEND_PRESENCE_EVENT", answer).await;
    let got = newcomer.event_named("PRESENCE_EVENT_RESPONSE", Duration::from_secs(5)).await;
    assert_eq!(got.expect("the receiver hears it")["topicId"], json!(space));
    let quiet = Duration::from_millis(700);
    assert!(bystander.event_named("PRESENCE_EVENT_RESPONSE", quiet).await.is_none());
    assert!(newcomer_elsewhere.event_named("PRESENCE_EVENT_RESPONSE", quiet).await.is_none());
    // Without receivers, everyone subscribed to the space hears it.
    let broadcast =
        json!({"category": "app.event.presence.party.online", "topicId": space, "content": {}});
    answering.emit("SEND_PRESENCE_EVENT", broadcast).await;
    assert!(
        bystander.event_named("PRESENCE_EVENT_RESPONSE", Duration::from_secs(5)).await.is_some()
    );
}

/// Item 4: an attachment's `path` is the same absolute URL live and over REST.
#[tokio::test]
async fn attachment_paths_are_absolute_live_and_over_rest() {
    let app = spawn_app().await;
    let (owner, space) = owner_and_space(&app).await;
    let key = upload_text(&app, &owner).await;
    let mut raw = RawSocket::open(&app.base, 4, &owner).await;
    raw.send(raw.connect_frame(&owner)).await;
    raw.emit("SUBSCRIBE_CHANNEL", json!({"channel": {"_id": space, "type": "topic"}})).await;
    raw.event_named("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.unwrap();
    let item =
        json!({"fileId": key, "provider": "native", "fileType": "text/plain", "name": "a.txt"});
    raw.emit(
        "SEND_MESSAGE",
        json!({"topicId": space, "category": "chat", "content": {"bodyText": "file", "data": [item]}}),
    )
    .await;
    let live = raw.event_named("MESSAGE_SENT", Duration::from_secs(10)).await.unwrap();
    let live_path = live["content"]["data"][0]["path"].as_str().unwrap().to_owned();
    assert!(live_path.starts_with(&app.base), "{live_path}");
    let id = live["_id"].as_str().unwrap();
    let rest = app.get(&format!("/api/messages/{id}"), Some(&jwt(&owner))).await;
    assert_eq!(rest.body["data"]["content"]["data"][0]["path"], json!(live_path), "{}", rest.text);
}

/// Item 5: the documented body of a bulk delete is a bare array of ids.
#[tokio::test]
async fn bulk_delete_takes_a_bare_array() {
    let app = spawn_app().await;
    let (owner, space) = owner_and_space(&app).await;
    let (other, other_user) = app.register("other@example.com").await;
    let other_id = other_user["_id"].as_str().unwrap();
    app.post(
        &format!("/api/spaces/{space}/attendees/userId/{other_id}"),
        Some(&jwt(&owner)),
        &json!({"role": "member"}),
    )
    .await;
    let send = async |token: &str| {
        let sent = app
            .post(
                &format!("/api/spaces/{space}/chats"),
                Some(&jwt(token)),
                &json!({"content": {"bodyText": "x"}}),
            )
            .await;
        sent.body["data"]["_id"].as_str().unwrap().to_owned()
    };
    let (mine, theirs) = (send(&other).await, send(&owner).await);
    let report =
        app.post("/api/messages/deletemessages", Some(&jwt(&other)), &json!([mine, theirs])).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text);
    assert_eq!(report.body["deletedMessages"], json!([mine]));
    assert_eq!(report.body["noPermittedMessages"][0]["messageId"], json!(theirs));
    assert_eq!(report.body["noPermittedMessages"][0]["reason"]["code"], "permission.denied");
}

/// Items 7 and 11: repeated list parameters are a set, scalars take the last value,
/// and a trailing slash names the same route.
#[tokio::test]
async fn repeated_parameters_and_trailing_slashes_are_understood() {
    let app = spawn_app().await;
    let (owner, space) = owner_and_space(&app).await;
    let auth = jwt(&owner);
    let both = app
        .get("/api/users/me/spaces?filtertype=group&filtertype=direct&size=1&size=5", Some(&auth))
        .await;
    assert_eq!(both.status, StatusCode::OK, "{}", both.text);
    assert_eq!(both.body["data"][0]["_id"], json!(space));
    app.get("/api/users/me/spaces?filtertype=odd", Some(&auth))
        .await
        .assert_error(400, "request.invalid");
    let history = app
        .get(
            &format!("/api/spaces/{space}/messages/query?category=chat&category=idea"),
            Some(&auth),
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let id = app.user_id(&owner).await;
    for path in [format!("/api/users/{id}/colleagues/"), "/api/users/me/".to_owned()] {
        let answer = app.get(&path, Some(&auth)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
    }
    let spaces = app.get("/api/users/me/spaces/?size=1", Some(&auth)).await;
    assert_eq!(spaces.status, StatusCode::OK, "{}", spaces.text);
    // Swagger UI keeps its own slash rule.
    assert_eq!(app.get("/api/docs/", None).await.status, StatusCode::OK);
}

/// Item 8: creating a space answers 200.
#[tokio::test]
async fn creating_a_space_answers_200() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let created = app
        .post(
            "/api/spaces/invite",
            Some(&jwt(&owner)),
            &json!({"topic": {"title": "T"}, "invitees": []}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
}

/// Item 9: the endpoints clients call on start-up.
#[tokio::test]
async fn start_up_endpoints_answer() {
    let app = spawn_app_with(|settings| {
        settings.meetings.dial_in_numbers = vec![plaza_http::DialInNumber {
            number: "+1 555 0100".into(),
            country: Some("US".into()),
            label: None,
        }];
    })
    .await;
    let (owner, space) = owner_and_space(&app).await;
    let auth = jwt(&owner);
    let flavors = app.get("/api/flavor", Some(&auth)).await;
    assert_eq!(flavors.status, StatusCode::OK);
    assert_eq!(flavors.body[0]["urls"]["apis"], json!(app.base));
    assert_eq!(flavors.body[0]["urls"]["socket"], json!(app.base));
    let flavor_id = flavors.body[0]["flavorId"].clone();
    for email in ["owner@example.com", "nobody@example.com"] {
        let answer = app.get(&format!("/api/flavor/email/{email}"), Some(&auth)).await;
        assert_eq!(answer.body, json!({"useGlobal": true, "flavorId": flavor_id}), "{email}");
    }
    let numbers = app.get("/api/confnumbers", Some(&auth)).await;
    assert_eq!(numbers.body, json!({"data": [{"number": "+1 555 0100", "country": "US"}]}));
    let features = app.get("/api/users/me/featuresrollout", Some(&auth)).await;
    assert_eq!(features.status, StatusCode::OK);
    assert_eq!(features.body["data"]["dialIn"], true);
    let guest = app.anonymous("Guest").await;
    app.get("/api/users/me/featuresrollout", Some(&jwt(&guest)))
        .await
        .assert_error(403, "permission.denied");

    // Statistics are real counts.
    for text in ["one", "two"] {
        app.post(
            &format!("/api/spaces/{space}/chats"),
            Some(&auth),
            &json!({"content": {"bodyText": text}}),
        )
        .await;
    }
    let id = app.user_id(&owner).await;
    let stats = app.get(&format!("/api/users/{id}/statistics"), Some(&auth)).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.text);
    assert_eq!(stats.body["data"]["messages"], 2);
    assert_eq!(stats.body["data"]["meetings"], 0);
    assert!(stats.body["data"]["spaces"].as_i64().unwrap() >= 1, "{}", stats.text);
    assert_eq!(app.get("/api/users/me/statistics", Some(&auth)).await.body, stats.body);
    let (other, _) = app.register("other@example.com").await;
    app.get(&format!("/api/users/{id}/statistics"), Some(&jwt(&other)))
        .await
        .assert_error(403, "permission.denied");

    // Analytics reports land in the running meeting's history.
    let vcid = json!({"vcid": format!("topic_{space}"), "tags": [format!("user_{id}")]});
    app.post("/api/analytics/video/conference/start", Some(&auth), &vcid)
        .await
        .assert_error(404, "meeting.not_found");
    let mut raw = RawSocket::open(&app.base, 4, &owner).await;
    raw.send(raw.connect_frame(&owner)).await;
    raw.emit("SUBSCRIBE_CHANNEL", json!({"channel": {"_id": space, "type": "topic"}})).await;
    raw.event_named("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.unwrap();
    raw.emit(
        "SEND_MEDIA_SESSION_EVENTS",
        json!({"category": "tracksstatus", "topicId": space, "version": "1.1", "data": [],
               "content": {"mediaSession": {"audio": true, "video": false, "connected": true,
                                            "screenshare": false, "mdsrvSessionId": "s1"}}}),
    )
    .await;
    raw.event_named("MEDIA_SESSION_RESPONSE", Duration::from_secs(10)).await.unwrap();
    let started = app.post("/api/analytics/video/conference/start", Some(&auth), &vcid).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    let mut stop = vcid.clone();
    stop["duration"] = json!(42.5);
    let stopped = app.post("/api/analytics/video/conference/stop", Some(&auth), &stop).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    let history = app.get(&format!("/api/spaces/{space}/meetings"), Some(&auth)).await;
    let reports = &history.body["data"][0]["content"]["conferenceReports"];
    assert_eq!(reports[0]["event"], "start", "{}", history.text);
    assert_eq!(reports[1]["event"], "stop");
    assert_eq!(reports[1]["duration"], 42.5);
    assert_eq!(reports[1]["userId"], json!(id));
    let bad = json!({"vcid": "space_x"});
    app.post("/api/analytics/video/conference/stop", Some(&auth), &bad)
        .await
        .assert_error(400, "request.invalid");
}

fn texts(page: &Value) -> Vec<String> {
    let mut texts: Vec<String> = page["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|m| m["content"]["bodyText"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    texts.sort();
    texts
}

/// Item 6: the guest history cut follows the space's `restrict`, on every read path:
/// history, search, posts and their comments, the caller's cross-space lists, files,
/// meetings and socket catch-up.
#[tokio::test]
async fn guest_history_follows_the_spaces_restrict_setting() {
    let app = spawn_app().await;
    let (owner, space) = owner_and_space(&app).await;
    let auth = jwt(&owner);
    let first = app
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&auth),
            &json!({"content": {"bodyText": "early words"}}),
        )
        .await;
    let first = first.body["data"]["_id"].as_str().unwrap().to_owned();
    let key = upload_text(&app, &owner).await;
    let item =
        json!({"fileId": key, "provider": "native", "fileType": "text/plain", "name": "a.txt"});
    app.post(
        &format!("/api/spaces/{space}/chats"),
        Some(&auth),
        &json!({"content": {"bodyText": "early file", "data": [item]}}),
    )
    .await;
    let idea = app
        .post(
            &format!("/api/spaces/{space}/ideas"),
            Some(&auth),
            &json!({"content": {"bodyText": "early post", "description": "d"}}),
        )
        .await;
    let idea = idea.body["data"]["_id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/spaces/{space}/chats"),
        Some(&auth),
        &json!({"content": {"bodyText": "early comment"}, "parentMsg": {"_id": idea}}),
    )
    .await;

    let guest = app.anonymous("Visitor").await;
    let joined = app.get(&format!("/api/spaces/{space}/join"), Some(&jwt(&guest))).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    assert_eq!(joined.body["topic"]["restrict"], json!(["deny_guest_access_history_msg"]));
    let reads = async || {
        let g = jwt(&guest);
        let history = app.get(&format!("/api/spaces/{space}/messages/query"), Some(&g)).await;
        let search = app
            .get(&format!("/api/spaces/{space}/messages/query?searchstring=early"), Some(&g))
            .await;
        let ideas = app.get(&format!("/api/spaces/{space}/ideas"), Some(&g)).await;
        let comments = app.get(&format!("/api/ideas/{idea}/messages"), Some(&g)).await;
        let mine = app.get(&format!("/api/users/me/messages?spacelist={space}"), Some(&g)).await;
        let files = app.get("/api/users/me/attachments/natives", Some(&g)).await;
        let file = app.get(&format!("/api/files/{key}"), Some(&g)).await;
        let mut mine = texts(&mine.body);
        mine.extend(texts(&files.body).into_iter().map(|t| format!("attached: {t}")));
        (
            texts(&history.body),
            texts(&search.body),
            texts(&ideas.body),
            comments.status,
            texts(&comments.body),
            mine,
            file.status,
        )
    };
    let (history, search, ideas, comments, _, mine, file) = reads().await;
    assert!(
        history.is_empty() && search.is_empty() && ideas.is_empty() && mine.is_empty(),
        "{history:?} {search:?} {ideas:?} {mine:?}"
    );
    assert!(!comments.is_success(), "the post is older than the guest");
    assert!(!file.is_success() && !file.is_redirection(), "{file}");
    let mut socket = RawSocket::open(&app.base, 4, &guest).await;
    socket.send(socket.connect_frame(&guest)).await;
    let subscribe = json!({"channel": {"_id": space, "type": "topic"}, "lastMessageId": first});
    socket.emit("SUBSCRIBE_CHANNEL", subscribe.clone()).await;
    socket.event_named("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.unwrap();
    let quiet = Duration::from_millis(700);
    assert!(
        socket.event_named("MESSAGE_SENT", quiet).await.is_none(),
        "no catch-up from before the join"
    );

    // The admin clears the setting: guests read the earlier history everywhere.
    let cleared =
        app.post(&format!("/api/spaces/{space}"), Some(&auth), &json!({"restrict": []})).await;
    assert!(cleared.status.is_success(), "{}", cleared.text);
    let (history, search, ideas, comments, thread, mine, file) = reads().await;
    let all = ["early comment", "early file", "early post", "early words"];
    assert_eq!(history, ["early file", "early post", "early words"]);
    assert_eq!(search, ["early file", "early post", "early words"]);
    assert_eq!(ideas, ["early post"]);
    assert!(comments.is_success());
    assert_eq!(thread, ["early comment"]);
    let mut expected: Vec<String> = all.iter().map(|t| (*t).to_owned()).collect();
    expected.push("attached: early file".to_owned());
    assert_eq!(mine, expected);
    assert!(file.is_success() || file.is_redirection(), "{file}");
    let mut socket = RawSocket::open(&app.base, 4, &guest).await;
    socket.send(socket.connect_frame(&guest)).await;
    socket.emit("SUBSCRIBE_CHANNEL", subscribe).await;
    socket.event_named("CHANNEL_SUBSCRIBED", Duration::from_secs(10)).await.unwrap();
    let caught_up = socket.event_named("MESSAGE_SENT", Duration::from_secs(5)).await;
    assert!(caught_up.is_some(), "catch-up brings what came after lastMessageId");

    // And setting it again cuts again.
    let restored = app
        .post(
            &format!("/api/spaces/{space}"),
            Some(&auth),
            &json!({"restrict": ["deny_guest_access_history_msg"]}),
        )
        .await;
    assert!(restored.status.is_success());
    let (history, ..) = reads().await;
    assert!(history.is_empty(), "{history:?}");
}

/// Item 10: someone who could join by link reads posts, tasks and meetings before
/// `/join`, as a guest who joined now would (nothing, by default), without joining;
/// whoever could not join still gets 403.
#[tokio::test]
async fn reads_before_joining_answer_what_a_new_guest_would_see() {
    let app = spawn_app().await;
    let (owner, space) = owner_and_space(&app).await;
    let auth = jwt(&owner);
    app.post(
        &format!("/api/spaces/{space}/ideas"),
        Some(&auth),
        &json!({"content": {"bodyText": "agenda", "description": "d"}}),
    )
    .await;
    let (visitor, _) = app.register("visitor@example.com").await;
    let v = jwt(&visitor);
    for what in ["ideas", "tasks", "meetings"] {
        let answer = app.get(&format!("/api/topics/{space}/{what}"), Some(&v)).await;
        assert_eq!(answer.status, StatusCode::OK, "{what}: {}", answer.text);
        assert_eq!(answer.body["data"], json!([]), "{what}");
    }
    let listed = app.get("/api/users/me/spaces", Some(&v)).await;
    assert_eq!(listed.body["data"], json!([]), "reading did not join");
    let members = app.get(&format!("/api/spaces/{space}/members"), Some(&auth)).await;
    assert!(!members.text.contains("visitor@example.com"), "{}", members.text);

    // With the history open to guests, they read what a guest would.
    app.post(&format!("/api/spaces/{space}"), Some(&auth), &json!({"restrict": []})).await;
    let ideas = app.get(&format!("/api/topics/{space}/ideas"), Some(&v)).await;
    assert_eq!(texts(&ideas.body), ["agenda"]);

    // Member-only spaces cannot be joined by link, so they cannot be read either.
    app.post(
        &format!("/api/spaces/{space}"),
        Some(&auth),
        &json!({"settings": {"memberOnly": true}}),
    )
    .await;
    for what in ["ideas", "tasks", "meetings"] {
        let answer = app.get(&format!("/api/topics/{space}/{what}"), Some(&v)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}: {}", answer.text);
    }
}

/// A socket failure carries the same error body as REST, `fields` included.
#[tokio::test]
async fn socket_failures_carry_the_rest_error_body() {
    let app = spawn_app().await;
    let (owner, space) = owner_and_space(&app).await;
    let mut socket = RawSocket::subscribed(&app.base, 4, &owner, &space).await;
    let empty = json!({"topicId": space, "category": "chat", "content": {"bodyText": ""}});
    socket.emit("SEND_MESSAGE", empty).await;
    let failed = socket.event_named("SEND_MESSAGE_FAILED", Duration::from_secs(5)).await;
    let error = failed.expect("refused")["error"].clone();
    let rest = app
        .post(
            &format!("/api/spaces/{space}/chats"),
            Some(&jwt(&owner)),
            &json!({"content": {"bodyText": ""}}),
        )
        .await;
    assert_eq!(rest.status, StatusCode::BAD_REQUEST, "{}", rest.text);
    assert_eq!(error["code"], rest.body["code"]);
    assert!(error["fields"].is_array(), "{error}");
    assert_eq!(error["fields"], rest.body["fields"]);
}
