//! Meetings end to end, with real Socket.IO clients (`plaza-client`) on a real server:
//! a whole meeting walked by an admin, a member and an anonymous guest, with every
//! `MEDIA_SESSION_RESPONSE` checked to arrive once and in order; admin actions refused
//! to the others; concurrent starts; 1:1 calls in direct spaces; media tokens.

use std::time::{Duration, Instant};

use plaza_client::RealtimeClient;
use plaza_client::realtime::Credentials;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt, spawn_app_with};

const WAIT: Duration = Duration::from_secs(10);
const GRACE_MS: u64 = 400;

/// A connected client that logs every `MEDIA_SESSION_RESPONSE` (and `MESSAGE_SENT`
/// meeting records) it receives, so that a test can check the whole sequence.
struct Party {
    client: RealtimeClient,
    media: Vec<Value>,
    records: Vec<Value>,
    /// How many of `media` the test has looked at.
    seen: usize,
}

impl Party {
    async fn join(app: &TestApp, token: &str, space: &str) -> Party {
        let mut client = RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(token))
            .await
            .expect("connect");
        client.subscribe(space, None).unwrap();
        client.wait_for("CHANNEL_SUBSCRIBED", WAIT).await.expect("subscribed");
        Party { client, media: Vec::new(), records: Vec::new(), seen: 0 }
    }

    async fn connect(app: &TestApp, token: &str) -> Party {
        let client = RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(token))
            .await
            .expect("connect");
        Party { client, media: Vec::new(), records: Vec::new(), seen: 0 }
    }

    fn log(&mut self, name: &str, payload: Value) {
        match name {
            "MEDIA_SESSION_RESPONSE" => self.media.push(payload),
            "MESSAGE_SENT" if payload["category"] == "meeting" => self.records.push(payload),
            _ => {}
        }
    }

    /// The next media-session event not yet looked at, which must be `category`.
    async fn next(&mut self, category: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        while self.media.len() <= self.seen {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = tokio::time::timeout(left, self.client.next_event())
                .await
                .unwrap_or_else(|_| panic!("no {category} within {WAIT:?}"))
                .expect("connection open");
            self.log(&event.name, event.payload);
        }
        let event = self.media[self.seen].clone();
        self.seen += 1;
        assert_eq!(event["category"], category, "out of order: {event:#}");
        event
    }

    /// The next event named `name` (other events are still logged).
    async fn wait_for(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = tokio::time::timeout(left, self.client.next_event())
                .await
                .unwrap_or_else(|_| panic!("no {name} within {WAIT:?}"))
                .expect("connection open");
            if event.name == name {
                return event.payload;
            }
            self.log(&event.name, event.payload);
        }
    }

    /// Logs whatever else arrives within a short while, then every category seen.
    async fn settle(&mut self) -> Vec<String> {
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(300), self.client.next_event()).await
        {
            self.log(&event.name, event.payload);
        }
        self.media.iter().map(|e| e["category"].as_str().unwrap_or_default().to_owned()).collect()
    }

    fn media_event(&self, category: &str, payload: Value) {
        let mut event = payload;
        event["category"] = json!(category);
        self.client.emit("SEND_MEDIA_SESSION_EVENTS", &event).unwrap();
    }
}

fn tracks(space: &str, audio: bool, video: bool, session: &str) -> Value {
    json!({
        "topicId": space,
        "content": {"mediaSession": {
            "audio": audio, "video": video, "connected": true, "screenshare": false,
            "selfMuted": false, "mdsrvSessionId": session,
        }},
        "data": [],
        "version": "1.1",
    })
}

struct Meeting {
    app: TestApp,
    space: String,
    admin: String,
    member: String,
    guest: String,
    admin_id: String,
    member_id: String,
    guest_id: String,
}

/// A group space with an admin and a member, and an anonymous guest who joins it by
/// link when subscribing.
async fn a_space_with_three() -> Meeting {
    let app = spawn_app_with(|s| {
        s.meetings.drop_grace_ms = GRACE_MS;
        s.meetings.ring_timeout_ms = 500;
    })
    .await;
    let (admin, admin_user) = app.register("admin@example.com").await;
    let (member, member_user) = app.register("member@example.com").await;
    let guest = app.anonymous("Guest").await;
    let space = app.create_space(&admin, "Standup").await;
    let member_id = member_user["_id"].as_str().unwrap().to_owned();
    let added = app
        .post(
            &format!("/api/spaces/{space}/attendees/userId/{member_id}"),
            Some(&jwt(&admin)),
            &json!({"role": "member"}),
        )
        .await;
    assert!(added.status.is_success(), "{}", added.text);
    let guest_id = app.user_id(&guest).await;
    let admin_id = admin_user["_id"].as_str().unwrap().to_owned();
    Meeting { app, space, admin, member, guest, admin_id, member_id, guest_id }
}

fn is_space_server(event: &Value, space: &str) {
    assert_eq!(event["sender"]["type"], "spaceserver", "{event:#}");
    assert_eq!(event["sender"]["_id"], space);
}

#[tokio::test]
async fn a_whole_meeting_reaches_everyone_once_and_in_order() {
    let m = a_space_with_three().await;
    let (app, space) = (&m.app, m.space.as_str());
    let mut admin = Party::join(app, &m.admin, space).await;
    let mut member = Party::join(app, &m.member, space).await;
    let mut guest = Party::join(app, &m.guest, space).await;
    let meeting_path = |rest: &str| format!("/api/spaces/{space}/meetings/{rest}");
    app.get(&format!("/api/spaces/{space}/activemeeting"), Some(&jwt(&m.admin)))
        .await
        .assert_error(404, "meeting.not_found");

    // The admin's media connects: the meeting starts, with them in it.
    let mut first = tracks(space, true, true, "session-admin");
    first["loopbackMetadata"] = json!({"mine": 1});
    admin.media_event("tracksstatus", first);
    let mut meeting_id = String::new();
    for party in [&mut admin, &mut member, &mut guest] {
        let started = party.next("app.event.meeting.started").await;
        is_space_server(&started, space);
        let content = &started["content"];
        assert_eq!(content["meetingStatus"], "active");
        assert_eq!(content["mediaMode"], "video");
        assert!(content["endTime"].is_null() && content["virtualEndTime"].is_null());
        assert!(content["startTime"].is_string() && content["recordings"] == json!([]));
        assert_eq!(started["topicId"], space);
        meeting_id = started["messageId"].as_str().expect("messageId").to_owned();
        let added = party.next("app.event.attendee.added").await;
        assert_eq!(added["content"]["attendee"]["_id"], m.admin_id.as_str());
        assert_eq!(added["messageId"], meeting_id.as_str());
        let relayed = party.next("tracksstatus").await;
        assert_eq!(relayed["sender"]["_id"], m.admin_id.as_str());
        assert_eq!(relayed["content"]["mediaSession"]["video"], true);
        assert_eq!(relayed["messageId"], meeting_id.as_str());
    }
    assert_eq!(admin.media[2]["loopbackMetadata"], json!({"mine": 1}), "the origin's copy");
    assert!(member.media[2].get("loopbackMetadata").is_none(), "only the origin's copy");

    let active = app.get(&format!("/api/spaces/{space}/activemeeting"), Some(&jwt(&m.guest))).await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.text);
    assert_eq!(active.body["_id"], meeting_id.as_str(), "bare, not wrapped");
    assert_eq!(active.body["sender"]["type"], "spaceserver");
    assert_eq!(active.body["content"]["attendees"][0]["mdsrvSessions"][0]["_id"], "session-admin");

    // The member and the guest join.
    member.media_event("tracksstatus", tracks(space, true, false, "session-member"));
    for party in [&mut admin, &mut member, &mut guest] {
        let added = party.next("app.event.attendee.added").await;
        assert_eq!(added["content"]["attendee"]["_id"], m.member_id.as_str());
        party.next("tracksstatus").await;
    }
    guest.media_event("tracksstatus", tracks(space, true, false, "session-guest"));
    for party in [&mut admin, &mut member, &mut guest] {
        let added = party.next("app.event.attendee.added").await;
        assert_eq!(added["content"]["attendee"]["_id"], m.guest_id.as_str());
        assert_eq!(added["content"]["attendee"]["type"], "anonymous");
        assert_eq!(added["content"]["attendees"].as_array().unwrap().len(), 3);
        party.next("tracksstatus").await;
    }

    // Only the admin controls the meeting.
    let member_auth = jwt(&m.member);
    let guest_auth = jwt(&m.guest);
    let refused = [
        (meeting_path(&format!("{meeting_id}/end")), &member_auth, json!({})),
        (
            meeting_path(&format!("{meeting_id}/muteall")),
            &member_auth,
            json!({"exclusionList": []}),
        ),
        (meeting_path(&format!("{meeting_id}/recordings")), &member_auth, json!({})),
        (meeting_path(&format!("{meeting_id}/layout")), &member_auth, json!({"layout": "GRID"})),
        (
            meeting_path(&format!("{meeting_id}/attendees/user/{}/mediastate", m.admin_id)),
            &guest_auth,
            json!({"audio": false}),
        ),
        (
            meeting_path(&format!("{meeting_id}/attendees/raisedhands/accept")),
            &member_auth,
            json!({"attendeeId": m.guest_id, "attendeeType": "anonymous"}),
        ),
    ];
    for (path, auth, body) in &refused {
        app.post(path, Some(auth), body).await.assert_error(403, "permission.denied");
    }

    // The admin mutes the member: everyone hears the server's tracksstatus about them.
    let muted = app
        .post(
            &meeting_path(&format!("{meeting_id}/attendees/user/{}/mediastate", m.member_id)),
            Some(&jwt(&m.admin)),
            &json!({"audio": false}),
        )
        .await;
    assert_eq!(muted.status, StatusCode::OK, "{}", muted.text);
    // The guest raises a hand; the admin accepts it.
    let raised = app
        .post(
            &meeting_path(&format!("{meeting_id}/attendees/raisedhands")),
            Some(&guest_auth),
            &json!({"requestedPermissions": ["PERMISSION_UNMUTE"]}),
        )
        .await;
    assert_eq!(raised.status, StatusCode::OK, "{}", raised.text);
    let accepted = app
        .post(
            &meeting_path(&format!("{meeting_id}/attendees/raisedhands/accept")),
            Some(&jwt(&m.admin)),
            &json!({"grantedPermissions": ["PERMISSION_UNMUTE"], "attendeeId": m.guest_id, "attendeeType": "anonymous"}),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text);
    let all_muted = app
        .post(
            &meeting_path(&format!("{meeting_id}/muteall")),
            Some(&jwt(&m.admin)),
            &json!({"exclusionList": []}),
        )
        .await;
    assert_eq!(all_muted.status, StatusCode::OK, "{}", all_muted.text);
    for party in [&mut admin, &mut member, &mut guest] {
        let tracks = party.next("tracksstatus").await;
        is_space_server(&tracks, space);
        assert_eq!(tracks["content"]["targetId"], m.member_id.as_str());
        assert_eq!(tracks["content"]["mediaSession"]["audio"], false);
        let hand = party.next("app.event.meeting.permission.requested").await;
        assert_eq!(hand["content"]["targetId"], m.guest_id.as_str());
        assert_eq!(hand["content"]["requestedPermissions"], json!(["PERMISSION_UNMUTE"]));
        let granted = party.next("app.event.meeting.permission.granted").await;
        assert_eq!(granted["content"]["grantedPermissions"], json!(["PERMISSION_UNMUTE"]));
        let muted = party.next("app.event.all.parties.muted").await;
        assert_eq!(muted["content"]["exclude"], json!([{"attendeeId": m.admin_id}]));
    }

    // Recording: started, then stopped, then ready.
    let started = app
        .post(&meeting_path(&format!("{meeting_id}/recordings")), Some(&jwt(&m.admin)), &json!({}))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    let recording = started.body["data"][0]["content"]["recordings"][0].clone();
    let recording_id = recording["_id"].as_str().expect("recording id").to_owned();
    assert_eq!(recording["startedBy"]["_id"], m.admin_id.as_str());
    assert_eq!(
        started.body["data"][0]["sender"],
        json!({"_id": space, "type": "spaceserver", "username": "spaceserver", "displayname": "Standup", "picture_url": null})
    );
    app.post(&meeting_path(&format!("{meeting_id}/recordings")), Some(&jwt(&m.admin)), &json!({}))
        .await
        .assert_error(409, "meeting.already_recording");
    let stop_path = meeting_path(&format!("{meeting_id}/recordings/{recording_id}/stop"));
    let stopped = app.post(&stop_path, Some(&jwt(&m.admin)), &json!({})).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    app.post(&stop_path, Some(&jwt(&m.admin)), &json!({}))
        .await
        .assert_error(404, "meeting.recording_not_found");
    for party in [&mut admin, &mut member, &mut guest] {
        let event = party.next("app.event.recording.started").await;
        assert_eq!(event["content"]["recordings"][0]["_id"], recording_id.as_str());
        assert!(event["content"]["recordings"][0]["endTime"].is_null());
        party.next("app.event.recording.ended").await;
        let ready = party.next("app.event.recording.ready").await;
        assert_eq!(ready["content"]["recordings"][0]["status"], "ready");
        assert!(ready["content"]["recordings"][0]["endTime"].is_string());
    }

    // The guest's connection drops without a goodbye: after the grace they leave,
    // as of when they dropped.
    let Party { client, .. } = guest;
    drop(client);
    let dropped_at = Instant::now();
    for party in [&mut admin, &mut member] {
        let left = party.next("app.event.attendee.left").await;
        assert_eq!(left["content"]["attendee"]["_id"], m.guest_id.as_str());
        assert!(left["content"]["attendee"]["leftTime"].is_string());
        assert_eq!(left["content"]["attendees"].as_array().unwrap().len(), 2);
    }
    assert!(dropped_at.elapsed() >= Duration::from_millis(GRACE_MS - 50), "not before the grace");

    // The member ends their media; the admin leaves the channel: the meeting is over.
    member.media_event("video.end", json!({"topicId": space, "content": {}}));
    for party in [&mut admin, &mut member] {
        let ended = party.next("video.end").await;
        assert_eq!(ended["sender"]["_id"], m.member_id.as_str());
        let left = party.next("app.event.attendee.left").await;
        assert_eq!(left["content"]["attendee"]["_id"], m.member_id.as_str());
    }
    admin
        .client
        .emit("UNSUBSCRIBE_CHANNEL", &json!({"channel": {"_id": space, "type": "topic"}}))
        .unwrap();
    let left = member.next("app.event.attendee.left").await;
    assert_eq!(left["content"]["attendee"]["_id"], m.admin_id.as_str());
    let ended = member.next("app.event.meeting.ended").await;
    is_space_server(&ended, space);
    let content = &ended["content"];
    assert_eq!(content["meetingStatus"], "inactive");
    assert!(content["endTime"].is_string() && content["virtualEndTime"].is_string());
    assert_eq!(content["attendees"].as_array().unwrap().len(), 3, "everyone who took part");

    // Every event reached the member exactly once, in this order.
    let expected = [
        "app.event.meeting.started",
        "app.event.attendee.added",
        "tracksstatus",
        "app.event.attendee.added",
        "tracksstatus",
        "app.event.attendee.added",
        "tracksstatus",
        "tracksstatus",
        "app.event.meeting.permission.requested",
        "app.event.meeting.permission.granted",
        "app.event.all.parties.muted",
        "app.event.recording.started",
        "app.event.recording.ended",
        "app.event.recording.ready",
        "app.event.attendee.left",
        "video.end",
        "app.event.attendee.left",
        "app.event.attendee.left",
        "app.event.meeting.ended",
    ];
    assert_eq!(member.settle().await, expected);
    let ids: std::collections::HashSet<&str> =
        member.media.iter().filter_map(|e| e["_id"].as_str()).collect();
    assert_eq!(ids.len(), expected.len(), "each event has its own id");
    // The meeting record arrived as MESSAGE_SENT when it started, got a recording and ended.
    let statuses: Vec<&str> =
        member.records.iter().map(|r| r["content"]["meetingStatus"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "active", "inactive"]);
    assert_eq!(member.records[0]["_id"], meeting_id.as_str());

    // Afterwards: no active meeting, and the history shows it with everyone.
    app.get(&format!("/api/spaces/{space}/activemeeting"), Some(&jwt(&m.member)))
        .await
        .assert_error(404, "meeting.not_found");
    let history =
        app.get(&format!("/api/topics/{space}/meetings?size=200"), Some(&jwt(&m.member))).await;
    assert_eq!(history.body["total"], 1, "{}", history.text);
    let past = &history.body["data"][0];
    assert_eq!(past["_id"], meeting_id.as_str());
    assert_eq!(past["content"]["attendees"].as_array().unwrap().len(), 3);
    assert_eq!(past["content"]["recordings"][0]["status"], "ready");
    let messages = app
        .get(&format!("/api/spaces/{space}/messages/query?category=meeting"), Some(&jwt(&m.member)))
        .await;
    assert_eq!(messages.body["data"][0]["_id"], meeting_id.as_str(), "{}", messages.text);
    assert_eq!(messages.body["data"][0]["sender"]["type"], "spaceserver");
    app.post(
        &format!("/api/messages/{meeting_id}"),
        Some(&jwt(&m.admin)),
        &json!({"content": {"bodyText": "x"}}),
    )
    .await
    .assert_error(403, "permission.denied");
    app.post(&meeting_path(&format!("{meeting_id}/end")), Some(&jwt(&m.admin)), &json!({}))
        .await
        .assert_error(404, "meeting.not_found");
}

#[tokio::test]
async fn simultaneous_first_attendees_start_exactly_one_meeting() {
    let m = a_space_with_three().await;
    let (app, space) = (&m.app, m.space.as_str());
    let mut parties = vec![
        Party::join(app, &m.admin, space).await,
        Party::join(app, &m.member, space).await,
        Party::join(app, &m.guest, space).await,
    ];
    for (n, party) in parties.iter().enumerate() {
        party.media_event("tracksstatus", tracks(space, true, false, &format!("s{n}")));
    }
    for party in &mut parties {
        let mut categories = Vec::new();
        while categories.len() < 7 {
            categories = party.settle().await;
        }
        let count = |name: &str| categories.iter().filter(|c| c.as_str() == name).count();
        assert_eq!(categories[0], "app.event.meeting.started", "{categories:?}");
        assert_eq!(
            (
                count("app.event.meeting.started"),
                count("app.event.attendee.added"),
                count("tracksstatus")
            ),
            (1, 3, 3),
            "{categories:?}"
        );
        let meetings: std::collections::HashSet<&str> =
            party.media.iter().filter_map(|e| e["messageId"].as_str()).collect();
        assert_eq!(meetings.len(), 1, "one meeting for all");
    }
    let history = app.get(&format!("/api/spaces/{space}/meetings"), Some(&jwt(&m.admin))).await;
    assert_eq!(history.body["total"], 1);
}

#[tokio::test]
async fn an_admin_ends_a_meeting_for_everyone_and_removed_members_leave_it() {
    let m = a_space_with_three().await;
    let (app, space) = (&m.app, m.space.as_str());
    let mut admin = Party::join(app, &m.admin, space).await;
    let member = Party::join(app, &m.member, space).await;
    admin.media_event("tracksstatus", tracks(space, true, false, "a"));
    member.media_event("tracksstatus", tracks(space, true, false, "b"));
    let started = admin.next("app.event.meeting.started").await;
    let meeting_id = started["messageId"].as_str().unwrap().to_owned();
    for category in
        ["app.event.attendee.added", "tracksstatus", "app.event.attendee.added", "tracksstatus"]
    {
        admin.next(category).await;
    }
    // Removing the member from the space takes them out of the meeting at once.
    let removed = app
        .delete(
            &format!("/api/spaces/{space}/attendees/userId/{}", m.member_id),
            Some(&jwt(&m.admin)),
        )
        .await;
    assert!(removed.status.is_success(), "{}", removed.text);
    let left = admin.next("app.event.attendee.left").await;
    assert_eq!(left["content"]["attendee"]["_id"], m.member_id.as_str());

    let layout_path = format!("/api/spaces/{space}/meetings/{meeting_id}/layout");
    app.post(&layout_path, Some(&jwt(&m.admin)), &json!({"layout": "THEME"}))
        .await
        .assert_error(400, "request.invalid");
    let layout = app
        .post(
            &layout_path,
            Some(&jwt(&m.admin)),
            &json!({"layout": "theme", "backgroundTheme": "cafe"}),
        )
        .await;
    assert_eq!(
        layout.body["data"]["content"]["layout"],
        json!({"layout": "THEME", "backgroundTheme": "CAFE"})
    );
    admin.next("app.event.meeting.layout.changed").await;

    let ended = app
        .post(
            &format!("/api/spaces/{space}/meetings/{meeting_id}/end"),
            Some(&jwt(&m.admin)),
            &json!({"spaceId": space, "meetingId": meeting_id}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.text);
    assert_eq!(ended.body["data"]["content"]["meetingStatus"], "inactive");
    let event = admin.next("app.event.meeting.ended").await;
    assert_eq!(event["content"]["endTime"], event["content"]["virtualEndTime"]);
    // A new media connection starts a new meeting.
    admin.media_event("tracksstatus", tracks(space, true, true, "a2"));
    let again = admin.next("app.event.meeting.started").await;
    assert_ne!(again["messageId"], meeting_id.as_str());
    let history =
        app.get(&format!("/api/spaces/{space}/meetings?size=1"), Some(&jwt(&m.admin))).await;
    assert_eq!(history.body["total"], 2);
    assert_eq!(history.body["data"].as_array().unwrap().len(), 1);
    let next = history.body["nextPageUrl"].as_str().unwrap();
    let path = &next[next.find("/api/").unwrap()..];
    let older = app.get(path, Some(&jwt(&m.admin))).await;
    assert_eq!(older.body["data"][0]["_id"], meeting_id.as_str(), "{}", older.text);
}

#[tokio::test]
async fn media_events_need_a_subscription_and_server_categories_are_refused() {
    let m = a_space_with_three().await;
    let (app, space) = (&m.app, m.space.as_str());
    let mut outsider = Party::connect(app, &m.member).await;
    outsider.media_event("tracksstatus", tracks(space, true, false, "x"));
    let failed = outsider.wait_for("SEND_MEDIA_SESSION_EVENTS_FAILED").await;
    assert_eq!(failed["type"], "app.event.channel.subscription.required");
    let mut member = Party::join(app, &m.member, space).await;
    member.media_event("app.event.meeting.ended", json!({"topicId": space, "content": {}}));
    let failed = member.wait_for("SEND_MEDIA_SESSION_EVENTS_FAILED").await;
    assert_eq!(failed["error"]["code"], "request.invalid");
    member.client.emit("SEND_MEDIA_SESSION_EVENTS", &json!([1, 2])).unwrap();
    let failed = member.wait_for("SEND_MEDIA_SESSION_EVENTS_FAILED").await;
    assert_eq!(failed["error"]["code"], "request.malformed");
    member.media_event("space.call.offer", json!({"topicId": space, "content": {}}));
    let failed = member.wait_for("SEND_MEDIA_SESSION_EVENTS_FAILED").await;
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("direct spaces"), "{failed}");
    // Screenshare frames and other client categories are relayed as they are.
    member.media_event(
        "video.startscreenshare",
        json!({"topicId": space, "content": {"streamId": "st"}}),
    );
    let relayed = member.next("video.startscreenshare").await;
    assert_eq!(relayed["content"]["streamId"], "st");
    assert!(relayed["messageId"].is_null(), "no meeting runs");
}

#[tokio::test]
async fn a_direct_call_rings_the_callee_and_rings_out_unanswered() {
    let m = a_space_with_three().await;
    let app = &m.app;
    let direct =
        app.get(&format!("/api/spaces/direct/user/{}", m.member_id), Some(&jwt(&m.admin))).await;
    let direct_id = direct.body["data"][0]["_id"].as_str().expect("direct space").to_owned();
    // Neither has opened the direct space.
    let mut caller = Party::connect(app, &m.admin).await;
    let mut callee = Party::connect(app, &m.member).await;
    caller.media_event("space.call.offer", json!({"topicId": direct_id, "content": {}, "spaceCallId": "call-1", "loopbackMetadata": 5}));
    let offer = callee.next("space.call.offer").await;
    assert_eq!(
        (offer["sender"]["_id"].as_str(), offer["spaceCallId"].as_str()),
        (Some(m.admin_id.as_str()), Some("call-1"))
    );
    let own = caller.next("space.call.offer").await;
    assert_eq!(own["loopbackMetadata"], 5);
    let sent = caller.next("space.call.offer.sent").await;
    is_space_server(&sent, &direct_id);
    callee.media_event(
        "space.call.accepted",
        json!({"topicId": direct_id, "content": {}, "spaceCallId": "call-1"}),
    );
    for party in [&mut caller, &mut callee] {
        party.next("space.call.accepted").await;
        let accepted = party.next("space.call.offer.accepted").await;
        assert_eq!(accepted["spaceCallId"], "call-1");
    }
    // An offer nobody answers rings out for both.
    caller.media_event("space.call.offer", json!({"topicId": direct_id, "content": {}}));
    let offer = callee.next("space.call.offer").await;
    let call_id = offer["spaceCallId"].as_str().expect("the server names the call").to_owned();
    caller.next("space.call.offer").await;
    caller.next("space.call.offer.sent").await;
    for party in [&mut caller, &mut callee] {
        let rang_out = party.next("space.call.not.answered").await;
        assert_eq!(rang_out["spaceCallId"], call_id.as_str());
    }
    // Outsiders cannot call into someone else's direct space.
    let mut outsider = Party::connect(app, &m.guest).await;
    outsider.media_event("space.call.offer", json!({"topicId": direct_id, "content": {}}));
    let failed = outsider.wait_for("SEND_MEDIA_SESSION_EVENTS_FAILED").await;
    assert_eq!(failed["error"]["code"], "permission.denied");
    assert_eq!(callee.settle().await.len(), 5, "nothing else reached the callee");
}

#[tokio::test]
async fn media_tokens_open_one_space_and_never_the_api() {
    let m = a_space_with_three().await;
    let app = &m.app;
    let answer = app
        .get(&format!("/api/mediasessions/mpaas/token/{}", m.space), Some(&jwt(&m.member)))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let space = app.get(&format!("/api/spaces/{}", m.space), Some(&jwt(&m.member))).await;
    assert_eq!(answer.body["confId"], space.body["settings"]["confId"]);
    assert!(answer.body["sessionId"].as_str().is_some_and(|s| s.len() == 36));
    let token = answer.body["token"].as_str().unwrap();
    let claims = crate::helpers::claims_of(token);
    assert_eq!(
        (claims["typ"].as_str(), claims["space"].as_str()),
        (Some("media"), Some(m.space.as_str()))
    );
    app.get("/api/users/me", Some(&jwt(token))).await.assert_error(401, "auth.invalid_token");
    // Someone who is not in the space gets none.
    let (stranger, _) = app.register("stranger@example.com").await;
    app.get(&format!("/api/mediasessions/mpaas/token/{}", m.space), Some(&jwt(&stranger)))
        .await
        .assert_error(403, "permission.denied");
    app.get("/api/mediasessions/mpaas/token/nope", Some(&jwt(&m.member)))
        .await
        .assert_error(404, "topic.not_found");
}

#[tokio::test]
async fn socket_io_client_4_walks_a_meeting_as_the_web_client_does() {
    let m = a_space_with_three().await;
    let args = json!({"host": m.admin, "guest": m.guest, "guestId": m.guest_id, "space": m.space});
    let Some(seen) = crate::realtime::scenario(&m.app, "meeting", args).await else { return };
    assert_eq!(seen["raise"]["status"], 200, "{seen}");
    assert_eq!(seen["guestRecords"]["status"], 403, "guests may not record");
    assert_eq!(seen["accept"]["status"], 200, "{seen}");
    let guest = [
        "app.event.meeting.started",
        "app.event.attendee.added",
        "tracksstatus",
        "app.event.attendee.added",
        "tracksstatus",
        "app.event.meeting.permission.requested",
        "app.event.meeting.permission.granted",
        "app.event.recording.started",
        "app.event.recording.ended",
        "app.event.recording.ready",
        "video.end",
        "app.event.attendee.left",
        "video.end",
        "app.event.attendee.left",
        "app.event.meeting.ended",
    ];
    assert_eq!(seen["guest"], json!(guest), "{seen}");
    assert_eq!(seen["host"], json!(guest), "the host saw the same, in the same order");
    assert_eq!(seen["hostLoopback"], json!([{"seq": 1}]), "loopback on the origin's copy only");
    assert_eq!(seen["ended"]["content"]["meetingStatus"], "inactive");
    assert_eq!(seen["active"]["status"], 404);
}
