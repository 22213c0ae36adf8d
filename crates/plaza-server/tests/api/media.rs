//! The media plane end to end: Rust WebRTC clients (`plaza_media::client::MediaClient`)
//! signalled over real Socket.IO connections (`plaza_client::RealtimeClient`) to a real
//! server's SFU. People join a meeting by its media, receive one another's audio and
//! video, an admin's mute stops a person's audio reaching the others, leaving ends the
//! meeting; bad signalling gets its failure event while the others keep receiving.

use std::time::{Duration, Instant};

use plaza_client::RealtimeClient;
use plaza_client::realtime::{Credentials, Event};
use plaza_media::TrackKind;
use plaza_media::client::{ClientOptions, MediaClient};
use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt, spawn_app_with};

const WAIT: Duration = Duration::from_secs(20);
const GRACE_MS: u64 = 400;

/// One person in a meeting: their socket, their WebRTC client and what the socket heard.
struct Peer {
    client: RealtimeClient,
    media: MediaClient,
    session: String,
    user_id: String,
    heard: Vec<Event>,
}

/// A socket connected to `/chat` and subscribed to `space`.
async fn socket(app: &TestApp, token: &str, space: &str) -> RealtimeClient {
    let mut client =
        RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(token)).await.unwrap();
    client.subscribe(space, None).unwrap();
    client.wait_for("CHANNEL_SUBSCRIBED", WAIT).await.unwrap();
    client
}

async fn media_token(app: &TestApp, token: &str, space: &str) -> String {
    let answer =
        app.get(&format!("/api/mediasessions/mpaas/token/{space}"), Some(&jwt(token))).await;
    answer.body["token"].as_str().expect("media token").to_owned()
}

/// The failure event `name` that arrives next (other events skipped), and its code.
async fn failure(client: &mut RealtimeClient, name: &str) -> (Value, String) {
    let event = client.wait_for(name, WAIT).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let code = event.payload["error"]["code"].as_str().unwrap_or_default().to_owned();
    (event.payload, code)
}

impl Peer {
    /// Joins the space's media with a fresh media token and publishes audio and video.
    async fn join(app: &TestApp, token: &str, space: &str) -> Peer {
        let client = socket(app, token, space).await;
        Peer::join_on(app, client, token, space).await
    }

    async fn join_on(app: &TestApp, client: RealtimeClient, token: &str, space: &str) -> Peer {
        Peer::join_with(app, client, token, space, ClientOptions::default()).await
    }

    async fn join_with(
        app: &TestApp,
        client: RealtimeClient,
        token: &str,
        space: &str,
        options: ClientOptions,
    ) -> Peer {
        Peer::join_sending(app, client, token, space, options, false).await
    }

    /// Joins; with `deflate`, the offer goes compressed (`sdpDeflate`).
    async fn join_sending(
        app: &TestApp,
        mut client: RealtimeClient,
        token: &str,
        space: &str,
        options: ClientOptions,
        deflate: bool,
    ) -> Peer {
        let media_token = media_token(app, token, space).await;
        client.emit("MEDIA_JOIN", &json!({"topicId": space, "token": media_token})).unwrap();
        let joined = client.wait_for("MEDIA_JOINED", WAIT).await.expect("MEDIA_JOINED");
        let session = joined.payload["sessionId"].as_str().unwrap().to_owned();
        assert_eq!(joined.payload["topicId"], space);
        assert!(joined.payload["iceServers"].is_array(), "{}", joined.payload);
        assert_eq!(joined.payload["maxVideoKbps"], 2500, "{}", joined.payload);
        let media = MediaClient::start(options).await.unwrap();
        let offer = media.create_offer().await.unwrap();
        let offer = match deflate {
            true => json!({"sessionId": session, "sdpDeflate": deflated(offer.as_bytes())}),
            false => json!({"sessionId": session, "sdp": offer}),
        };
        client.emit("MEDIA_OFFER", &offer).unwrap();
        let answer = client.wait_for("MEDIA_ANSWER", WAIT).await.expect("MEDIA_ANSWER");
        assert_eq!(answer.payload["sessionId"], session.as_str());
        media.accept_answer(answer.payload["sdp"].as_str().unwrap()).await.unwrap();
        let user_id = app.user_id(token).await;
        Peer { client, media, session, user_id, heard: Vec::new() }
    }

    /// Handles what the socket received: the server's offers are answered, the rest kept.
    async fn pump(&mut self) {
        for event in self.client.drain() {
            if event.name == "MEDIA_OFFER" {
                let sdp = event.payload["sdp"].as_str().unwrap();
                let answer = self.media.accept_offer(sdp).await.unwrap();
                let reply = json!({"sessionId": self.session, "sdp": answer});
                self.client.emit("MEDIA_ANSWER", &reply).unwrap();
            }
            self.heard.push(event);
        }
    }

    /// Frames (packets, for audio) received from `from` so far.
    fn frames(&self, from: &Peer, kind: TrackKind) -> u64 {
        self.media.stats().received(&from.session, kind).frames
    }

    /// The meeting events (`MEDIA_SESSION_RESPONSE` categories) heard so far.
    fn meeting_events(&self) -> Vec<(String, Value)> {
        self.heard
            .iter()
            .filter(|e| e.name == "MEDIA_SESSION_RESPONSE")
            .map(|e| {
                (e.payload["category"].as_str().unwrap_or_default().to_owned(), e.payload.clone())
            })
            .collect()
    }

    fn heard_event(&self, name: &str, matches: impl Fn(&Value) -> bool) -> bool {
        self.heard.iter().any(|e| e.name == name && matches(&e.payload))
    }
}

/// Raw DEFLATE in base64, as `sdpDeflate` takes it.
fn deflated(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use std::io::Write as _;
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap())
}

/// Pumps every peer until `done` holds; panics with `what` after [`WAIT`].
async fn settle(peers: &mut [&mut Peer], what: &str, done: impl Fn(&[&mut Peer]) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        for peer in peers.iter_mut() {
            peer.pump().await;
        }
        if done(peers) {
            return;
        }
        assert!(Instant::now() < deadline, "not within {WAIT:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pumps every peer for `how_long`.
async fn pump_for(peers: &mut [&mut Peer], how_long: Duration) {
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        for peer in peers.iter_mut() {
            peer.pump().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether everyone receives everyone else's audio and video (more than `frames` each).
fn all_receive(peers: &[&mut Peer], frames: u64) -> bool {
    peers.iter().all(|receiver| {
        peers.iter().filter(|p| p.session != receiver.session).all(|sender| {
            receiver.frames(sender, TrackKind::Audio) > frames
                && receiver.frames(sender, TrackKind::Video) > frames / 4
        })
    })
}

/// An admin, a member and another member in one space.
async fn three_people(app: &TestApp) -> (String, [String; 3]) {
    let (admin, _) = app.register("media-admin@example.com").await;
    let (member, _) = app.register("media-member@example.com").await;
    let (other, _) = app.register("media-other@example.com").await;
    let space = app.create_space(&admin, "Media room").await;
    for token in [&member, &other] {
        let id = app.user_id(token).await;
        app.add_member(&admin, &space, &id, "member").await;
    }
    (space, [admin, member, other])
}

fn grace(settings: &mut plaza_server::Settings) {
    settings.meetings.drop_grace_ms = GRACE_MS;
}

#[tokio::test]
async fn three_people_meet_through_the_sfu_and_the_meeting_follows_their_media() {
    let app = spawn_app_with(grace).await;
    let (space, [admin_token, member_token, other_token]) = three_people(&app).await;
    let mut admin = Peer::join(&app, &admin_token, &space).await;
    let mut member = Peer::join(&app, &member_token, &space).await;
    let mut other = Peer::join(&app, &other_token, &space).await;

    settle(&mut [&mut admin, &mut member, &mut other], "everyone receives everyone", |p| {
        all_receive(p, 20)
    })
    .await;
    // The meeting started from the first connected media, and everyone was added once.
    settle(&mut [&mut admin, &mut member, &mut other], "three attendees added", |p| {
        p[0].meeting_events().iter().filter(|(c, _)| c == "app.event.attendee.added").count() == 3
    })
    .await;
    let events = admin.meeting_events();
    assert_eq!(events[0].0, "app.event.meeting.started", "{events:?}");
    assert_eq!(events.iter().filter(|(c, _)| c == "app.event.meeting.started").count(), 1);
    let started = &events[0].1;
    let attendees = started["content"]["attendees"].as_array().unwrap();
    assert_eq!(attendees[0]["mediaSession"]["connected"], true, "{started}");
    assert_eq!(attendees[0]["mediaSession"]["mdsrvSessionId"], admin.session.as_str());
    // Who is in, with the stream id their tracks arrive under.
    let sessions = [&admin, &member, &other].map(|p| p.session.clone());
    settle(&mut [&mut admin, &mut member, &mut other], "MEDIA_PARTICIPANTS of three", |p| {
        p[0].heard.iter().rev().find(|e| e.name == "MEDIA_PARTICIPANTS").is_some_and(|e| {
            let list = e.payload["participants"].as_array().unwrap();
            list.len() == 3
                && list.iter().all(|x| {
                    sessions.contains(&x["sessionId"].as_str().unwrap().to_owned())
                        && x["streamId"] == x["sessionId"]
                        && x["audio"] == true
                        && x["video"] == true
                })
        })
    })
    .await;

    // The admin mutes the member: nobody receives the member's audio any more.
    let meeting =
        app.get(&format!("/api/spaces/{space}/activemeeting"), Some(&jwt(&admin_token))).await;
    let meeting_id = meeting.body["_id"].as_str().unwrap().to_owned();
    let media_state = format!(
        "/api/spaces/{space}/meetings/{meeting_id}/attendees/user/{}/mediastate",
        member.user_id
    );
    let muted = app.post(&media_state, Some(&jwt(&admin_token)), &json!({"audio": false})).await;
    assert!(muted.status.is_success(), "{}", muted.text);
    let member_session = member.session.clone();
    settle(&mut [&mut admin, &mut member, &mut other], "MEDIA_FORWARDING off", |p| {
        p[2].heard_event("MEDIA_FORWARDING", |e| {
            e["sessionId"] == member_session.as_str()
                && e["kind"] == "audio"
                && e["forwarding"] == false
        })
    })
    .await;
    pump_for(&mut [&mut admin, &mut member, &mut other], Duration::from_millis(300)).await;
    let audio_before =
        [admin.frames(&member, TrackKind::Audio), other.frames(&member, TrackKind::Audio)];
    let video_before = other.frames(&member, TrackKind::Video);
    let admin_audio_before = other.frames(&admin, TrackKind::Audio);
    pump_for(&mut [&mut admin, &mut member, &mut other], Duration::from_secs(1)).await;
    assert_eq!(
        [admin.frames(&member, TrackKind::Audio), other.frames(&member, TrackKind::Audio)],
        audio_before,
        "the muted member's audio still arrives"
    );
    assert!(other.frames(&member, TrackKind::Video) > video_before, "video stopped too");
    assert!(other.frames(&admin, TrackKind::Audio) > admin_audio_before + 20);

    // The member unmutes themselves: their audio flows again.
    let unmuted = app.post(&media_state, Some(&jwt(&member_token)), &json!({"audio": true})).await;
    assert!(unmuted.status.is_success(), "{}", unmuted.text);
    let before = audio_before;
    settle(&mut [&mut admin, &mut member, &mut other], "the member's audio back", |p| {
        p[0].frames(&*p[1], TrackKind::Audio) > before[0] + 20
            && p[2].frames(&*p[1], TrackKind::Audio) > before[1] + 20
    })
    .await;

    // Mute-all: everyone's audio but the asking admin's stops reaching the others,
    // until each unmutes themselves.
    let mute_all = format!("/api/spaces/{space}/meetings/{meeting_id}/muteall");
    let muted = app.post(&mute_all, Some(&jwt(&admin_token)), &json!({"exclusionList": []})).await;
    assert!(muted.status.is_success(), "{}", muted.text);
    let (member_session, other_session) = (member.session.clone(), other.session.clone());
    settle(&mut [&mut admin, &mut member, &mut other], "MEDIA_FORWARDING off for two", |p| {
        [&member_session, &other_session].iter().all(|session| {
            p[0].heard
                .iter()
                .rev()
                .find(|e| {
                    e.name == "MEDIA_FORWARDING"
                        && e.payload["sessionId"] == session.as_str()
                        && e.payload["kind"] == "audio"
                })
                .is_some_and(|e| e.payload["forwarding"] == false)
        })
    })
    .await;
    // Frames already on their way arrive (a loaded machine delays them), then no more.
    pump_for(&mut [&mut admin, &mut member, &mut other], Duration::from_millis(600)).await;
    let silenced =
        [admin.frames(&member, TrackKind::Audio), admin.frames(&other, TrackKind::Audio)];
    let admin_heard = member.frames(&admin, TrackKind::Audio);
    pump_for(&mut [&mut admin, &mut member, &mut other], Duration::from_secs(1)).await;
    let after = [admin.frames(&member, TrackKind::Audio), admin.frames(&other, TrackKind::Audio)];
    // 50 packets a second flow when forwarded: a straggler or two is not forwarding.
    assert!(
        after[0] <= silenced[0] + 2 && after[1] <= silenced[1] + 2,
        "muted audio still arrives: {silenced:?} then {after:?}"
    );
    assert!(member.frames(&admin, TrackKind::Audio) > admin_heard + 20, "the admin was muted too");
    for (peer, token) in [(&member, &member_token), (&other, &other_token)] {
        let own = format!(
            "/api/spaces/{space}/meetings/{meeting_id}/attendees/user/{}/mediastate",
            peer.user_id
        );
        let unmuted = app.post(&own, Some(&jwt(token)), &json!({"audio": true})).await;
        assert!(unmuted.status.is_success(), "{}", unmuted.text);
    }
    settle(&mut [&mut admin, &mut member, &mut other], "both unmuted", |p| {
        p[0].frames(&*p[1], TrackKind::Audio) > silenced[0] + 20
            && p[0].frames(&*p[2], TrackKind::Audio) > silenced[1] + 20
    })
    .await;

    // Leaving: MEDIA_LEAVE leaves the meeting at once; the last one out ends it.
    for leaver in [&mut other, &mut member] {
        leaver.client.emit("MEDIA_LEAVE", &json!({"sessionId": leaver.session})).unwrap();
    }
    let (member_id, other_id) = (member.user_id.clone(), other.user_id.clone());
    settle(&mut [&mut admin, &mut member, &mut other], "two attendees left", |p| {
        let left: Vec<Value> = p[0]
            .meeting_events()
            .into_iter()
            .filter(|(c, _)| c == "app.event.attendee.left")
            .map(|(_, e)| e["content"]["attendee"]["_id"].clone())
            .collect();
        left.contains(&json!(member_id)) && left.contains(&json!(other_id))
    })
    .await;
    assert!(
        !admin.meeting_events().iter().any(|(c, _)| c == "app.event.meeting.ended"),
        "ended with the admin still in"
    );
    let admin_frames = admin.frames(&member, TrackKind::Audio);
    pump_for(&mut [&mut admin, &mut member, &mut other], Duration::from_millis(500)).await;
    assert!(
        admin.frames(&member, TrackKind::Audio) <= admin_frames + 5,
        "a left session still forwards"
    );
    admin.client.emit("MEDIA_LEAVE", &json!({"sessionId": admin.session})).unwrap();
    settle(&mut [&mut admin, &mut member, &mut other], "meeting.ended", |p| {
        p[1].meeting_events().iter().any(|(c, _)| c == "app.event.meeting.ended")
    })
    .await;
    assert!(
        app.get(&format!("/api/spaces/{space}/activemeeting"), Some(&jwt(&admin_token)))
            .await
            .status
            .is_client_error()
    );
}

#[tokio::test]
async fn bad_signalling_gets_its_failure_and_the_others_keep_receiving() {
    // Media tokens live one second here, so that one can expire during the test.
    let app = spawn_app_with(|settings| {
        grace(settings);
        settings.meetings.media_token_ttl_secs = 1;
    })
    .await;
    let (space, [admin_token, member_token, other_token]) = three_people(&app).await;
    let expiring = media_token(&app, &member_token, &space).await;
    let expiring_since = Instant::now();
    let mut admin = Peer::join(&app, &admin_token, &space).await;
    let mut member = Peer::join(&app, &member_token, &space).await;
    settle(&mut [&mut admin, &mut member], "both receive", |p| all_receive(p, 10)).await;

    let mut stranger = socket(&app, &other_token, &space).await;
    // A token for another space.
    let elsewhere = app.create_space(&admin_token, "Elsewhere").await;
    let foreign = media_token(&app, &admin_token, &elsewhere).await;
    let join = json!({"topicId": space, "token": foreign});
    admin.client.emit("MEDIA_JOIN", &join).unwrap();
    let (payload, code) = failure(&mut admin.client, "MEDIA_JOIN_FAILED").await;
    assert_eq!(code, "permission.denied", "{payload}");
    assert_eq!(payload["topicId"], space.as_str(), "the payload is echoed");
    // Someone else's token, presented by another user's socket.
    let stolen = media_token(&app, &admin_token, &space).await;
    stranger.emit("MEDIA_JOIN", &json!({"topicId": space, "token": stolen})).unwrap();
    let (payload, code) = failure(&mut stranger, "MEDIA_JOIN_FAILED").await;
    assert_eq!(code, "permission.denied", "{payload}");
    assert!(payload["error"]["message"].as_str().unwrap().contains("someone else"), "{payload}");
    // Not a token at all.
    stranger.emit("MEDIA_JOIN", &json!({"topicId": space, "token": "nope"})).unwrap();
    assert_eq!(failure(&mut stranger, "MEDIA_JOIN_FAILED").await.1, "auth.invalid_token");

    // Malformed SDP on one's own session.
    let own = json!({"sessionId": admin.session, "sdp": "v=0\r\nthis is no SDP"});
    admin.client.emit("MEDIA_OFFER", &own).unwrap();
    let (payload, code) = failure(&mut admin.client, "MEDIA_OFFER_FAILED").await;
    assert_eq!(code, "request.invalid", "{payload}");
    assert_eq!(payload["sessionId"], admin.session.as_str());
    // Another's session: an offer and a candidate.
    let theirs = json!({"sessionId": member.session, "candidate": "candidate:1 1 udp 2122260223 10.200.0.9 50000 typ host"});
    stranger.emit("MEDIA_CANDIDATE", &theirs).unwrap();
    assert_eq!(failure(&mut stranger, "MEDIA_CANDIDATE_FAILED").await.1, "media.session_not_found");
    admin.client.emit("MEDIA_CANDIDATE", &theirs).unwrap();
    assert_eq!(
        failure(&mut admin.client, "MEDIA_CANDIDATE_FAILED").await.1,
        "media.session_not_found"
    );
    let offer = json!({"sessionId": member.session, "sdp": "v=0"});
    stranger.emit("MEDIA_OFFER", &offer).unwrap();
    assert_eq!(failure(&mut stranger, "MEDIA_OFFER_FAILED").await.1, "media.session_not_found");
    // An SDP over the signalling bound (under Engine.IO's 100 kB).
    let huge = format!("v=0\r\n{}", "a=x-padding\r\n".repeat(70 * 1024 / 13));
    let oversized = json!({"sessionId": admin.session, "sdp": huge});
    admin.client.emit("MEDIA_OFFER", &oversized).unwrap();
    let (_, code) = failure(&mut admin.client, "MEDIA_OFFER_FAILED").await;
    assert!(code == "request.too_large" || code == "request.rate_limited", "{code}");
    // A flood of offers: the rate limit refuses the excess.
    for _ in 0..12 {
        admin.client.emit("MEDIA_OFFER", &own).unwrap();
    }
    let mut codes = Vec::new();
    for _ in 0..12 {
        codes.push(failure(&mut admin.client, "MEDIA_OFFER_FAILED").await.1);
    }
    assert!(codes.iter().any(|c| c == "request.rate_limited"), "{codes:?}");
    // An answer when no server offer waits, and a malformed payload.
    admin.client.emit("MEDIA_LEAVE", &json!("not an object")).unwrap();
    assert_eq!(failure(&mut admin.client, "MEDIA_LEAVE_FAILED").await.1, "request.malformed");

    // None of it touched the media: both still receive each other.
    let before = [admin.frames(&member, TrackKind::Audio), member.frames(&admin, TrackKind::Audio)];
    settle(&mut [&mut admin, &mut member], "both still receive", |p| {
        p[0].frames(&*p[1], TrackKind::Audio) > before[0] + 25
            && p[1].frames(&*p[0], TrackKind::Audio) > before[1] + 25
    })
    .await;

    // The token fetched at the start has expired by now (one second, five of leeway).
    let expired_at = expiring_since + Duration::from_millis(7_000);
    tokio::time::sleep(expired_at.saturating_duration_since(Instant::now())).await;
    let mut late = socket(&app, &member_token, &space).await;
    late.emit("MEDIA_JOIN", &json!({"topicId": space, "token": expiring})).unwrap();
    assert_eq!(failure(&mut late, "MEDIA_JOIN_FAILED").await.1, "auth.invalid_token");
}

#[tokio::test]
async fn a_full_room_and_a_server_without_media_refuse_clearly() {
    let app = spawn_app_with(|settings| settings.media.max_participants = 1).await;
    let (space, [admin_token, member_token, _]) = three_people(&app).await;
    let _admin = Peer::join(&app, &admin_token, &space).await;
    let mut member = socket(&app, &member_token, &space).await;
    let token = media_token(&app, &member_token, &space).await;
    member.emit("MEDIA_JOIN", &json!({"topicId": space, "token": token})).unwrap();
    assert_eq!(failure(&mut member, "MEDIA_JOIN_FAILED").await.1, "meeting.full");
    // Joining before subscribing to the space.
    let (outsider, _) = app.register("media-outsider@example.com").await;
    let mut unsubscribed =
        RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(&outsider)).await.unwrap();
    unsubscribed.emit("MEDIA_JOIN", &json!({"topicId": space, "token": token})).unwrap();
    let (payload, code) = failure(&mut unsubscribed, "MEDIA_JOIN_FAILED").await;
    assert_eq!(code, "permission.denied");
    assert_eq!(payload["type"], "app.event.channel.subscription.required");

    let app = spawn_app_with(|settings| settings.media.enabled = false).await;
    let (space, [admin_token, ..]) = three_people(&app).await;
    let mut admin = socket(&app, &admin_token, &space).await;
    let token = media_token(&app, &admin_token, &space).await;
    admin.emit("MEDIA_JOIN", &json!({"topicId": space, "token": token})).unwrap();
    assert_eq!(failure(&mut admin, "MEDIA_JOIN_FAILED").await.1, "media.disabled");
}

#[tokio::test]
async fn a_dropped_socket_or_a_removed_member_loses_media_and_leaves_the_meeting() {
    let app = spawn_app_with(grace).await;
    let (space, [admin_token, member_token, other_token]) = three_people(&app).await;
    let mut admin = Peer::join(&app, &admin_token, &space).await;
    let mut member = Peer::join(&app, &member_token, &space).await;
    let mut other = Peer::join(&app, &other_token, &space).await;
    settle(&mut [&mut admin, &mut member, &mut other], "all receive", |p| all_receive(p, 10)).await;
    settle(&mut [&mut admin, &mut member, &mut other], "three attendees", |p| {
        p[0].meeting_events().iter().filter(|(c, _)| c == "app.event.attendee.added").count() == 3
    })
    .await;

    // The member's socket goes away: their media stops at once, and they leave the
    // meeting once the drop grace has passed.
    let Peer { client, media: member_media, user_id: member_id, session: member_session, .. } =
        member;
    let dropped_at = Instant::now();
    client.close().await;
    let left = |peer: &Peer, id: &str| {
        peer.meeting_events()
            .into_iter()
            .any(|(c, e)| c == "app.event.attendee.left" && e["content"]["attendee"]["_id"] == id)
    };
    settle(&mut [&mut admin, &mut other], "the member left", |p| left(p[0], &member_id)).await;
    assert!(dropped_at.elapsed() >= Duration::from_millis(GRACE_MS - 50), "before the grace");
    let from_member =
        |peer: &Peer| peer.media.stats().received(&member_session, TrackKind::Audio).frames;
    let stopped_at = from_member(&admin);
    pump_for(&mut [&mut admin, &mut other], Duration::from_millis(600)).await;
    assert!(from_member(&admin) <= stopped_at + 3, "the dropped member's media still arrives");
    drop(member_media);

    // The admin removes the other member from the space: their session ends there.
    let other_id = other.user_id.clone();
    let removed = app
        .delete(
            &format!("/api/spaces/{space}/attendees/userId/{other_id}"),
            Some(&jwt(&admin_token)),
        )
        .await;
    assert!(removed.status.is_success(), "{}", removed.text);
    settle(&mut [&mut admin, &mut other], "the removed member's session ended", |p| {
        p[1].heard_event("MEDIA_SESSION_ENDED", |e| e["reason"] == "left") && left(p[0], &other_id)
    })
    .await;
    let from_other = admin.frames(&other, TrackKind::Audio);
    pump_for(&mut [&mut admin, &mut other], Duration::from_millis(600)).await;
    assert!(
        admin.frames(&other, TrackKind::Audio) <= from_other + 3,
        "a removed member still sends"
    );
    assert!(!admin.meeting_events().iter().any(|(c, _)| c == "app.event.meeting.ended"));
}

#[tokio::test]
async fn viewers_choose_a_simulcast_layer_and_an_admin_ending_the_meeting_ends_the_media() {
    let app = spawn_app_with(grace).await;
    let (space, [admin_token, member_token, _]) = three_people(&app).await;
    let mut admin = Peer::join(&app, &admin_token, &space).await;
    let simulcast = ClientOptions { simulcast: true, ..ClientOptions::default() };
    let client = socket(&app, &member_token, &space).await;
    let mut member = Peer::join_with(&app, client, &member_token, &space, simulcast).await;
    settle(&mut [&mut admin, &mut member], "both receive", |p| all_receive(p, 10)).await;
    let layer_at_admin =
        |p: &[&mut Peer]| p[0].media.stats().received(&p[1].session, TrackKind::Video).last_layer;
    settle(&mut [&mut admin, &mut member], "the largest layer", |p| layer_at_admin(p) == Some(2))
        .await;

    // The admin's tile of the member shrinks: the smallest layer.
    let admin_session = admin.session.clone();
    let ask = |quality: &str, publisher: &str| json!({"sessionId": admin_session, "publisher": publisher, "quality": quality});
    admin.client.emit("MEDIA_QUALITY", &ask("low", &member.session)).unwrap();
    settle(&mut [&mut admin, &mut member], "the smallest layer", |p| layer_at_admin(p) == Some(0))
        .await;
    let received = admin.media.stats().received(&member.session, TrackKind::Video);
    assert_eq!(received.switches_without_keyframe, 0, "{received:?}");
    // Bad asks: an unknown quality, someone not in the room, someone else's session.
    admin.client.emit("MEDIA_QUALITY", &ask("huge", &member.session)).unwrap();
    let (payload, code) = failure(&mut admin.client, "MEDIA_QUALITY_FAILED").await;
    assert_eq!(code, "request.invalid", "{payload}");
    assert_eq!(payload["error"]["fields"][0]["field"], "quality", "{payload}");
    admin.client.emit("MEDIA_QUALITY", &ask("high", "nobody")).unwrap();
    let (payload, _) = failure(&mut admin.client, "MEDIA_QUALITY_FAILED").await;
    assert_eq!(payload["error"]["fields"][0]["field"], "publisher", "{payload}");
    let theirs = json!({"sessionId": member.session, "publisher": admin.session, "quality": "low"});
    admin.client.emit("MEDIA_QUALITY", &theirs).unwrap();
    assert_eq!(
        failure(&mut admin.client, "MEDIA_QUALITY_FAILED").await.1,
        "media.session_not_found"
    );

    // The admin ends the meeting: everyone's media session ends with it.
    settle(&mut [&mut admin, &mut member], "the meeting started", |p| {
        p[0].meeting_events().iter().any(|(c, _)| c == "app.event.meeting.started")
    })
    .await;
    let events = admin.meeting_events();
    let (_, started) = events.iter().find(|(c, _)| c == "app.event.meeting.started").unwrap();
    let meeting_id = started["messageId"].as_str().unwrap().to_owned();
    let ended = app
        .post(
            &format!("/api/spaces/{space}/meetings/{meeting_id}/end"),
            Some(&jwt(&admin_token)),
            &json!({}),
        )
        .await;
    assert!(ended.status.is_success(), "{}", ended.text);
    settle(&mut [&mut admin, &mut member], "both sessions ended", |p| {
        p.iter().all(|peer| peer.heard_event("MEDIA_SESSION_ENDED", |e| e["reason"] == "left"))
    })
    .await;
    let from_member = admin.frames(&member, TrackKind::Audio);
    pump_for(&mut [&mut admin, &mut member], Duration::from_millis(800)).await;
    assert!(admin.frames(&member, TrackKind::Audio) <= from_member + 3, "media after the end");
    let categories: Vec<String> = admin.meeting_events().into_iter().map(|(c, _)| c).collect();
    let count = |name: &str| categories.iter().filter(|c| *c == name).count();
    assert_eq!(count("app.event.meeting.ended"), 1, "{categories:?}");
    assert_eq!(
        count("app.event.meeting.started"),
        1,
        "the ended meeting restarted: {categories:?}"
    );
}

#[tokio::test]
async fn a_compressed_sdp_is_accepted_and_a_deflate_bomb_is_refused() {
    let app = spawn_app_with(grace).await;
    let (space, [admin_token, member_token, _]) = three_people(&app).await;
    let client = socket(&app, &admin_token, &space).await;
    let options = ClientOptions::default();
    let mut admin = Peer::join_sending(&app, client, &admin_token, &space, options, true).await;
    let mut member = Peer::join(&app, &member_token, &space).await;
    settle(&mut [&mut admin, &mut member], "both receive", |p| all_receive(p, 10)).await;

    // 2 MB of SDP-looking text: a few kB compressed, refused once 512 KiB are inflated.
    let bomb = format!("v=0\r\n{}", "a=x\r\n".repeat(400_000));
    let packed = deflated(bomb.as_bytes());
    assert!(packed.len() < 20_000, "{} bytes", packed.len());
    let offer = json!({"sessionId": admin.session, "sdpDeflate": packed});
    admin.client.emit("MEDIA_OFFER", &offer).unwrap();
    let (payload, code) = failure(&mut admin.client, "MEDIA_OFFER_FAILED").await;
    assert_eq!(code, "request.too_large", "{payload}");
    // Not base64, and base64 of something that is not DEFLATE.
    for packed in ["not base64!", "aGVsbG8gd29ybGQ="] {
        let answer = json!({"sessionId": admin.session, "sdpDeflate": packed});
        admin.client.emit("MEDIA_ANSWER", &answer).unwrap();
        let (payload, code) = failure(&mut admin.client, "MEDIA_ANSWER_FAILED").await;
        assert_eq!(code, "request.invalid", "{payload}");
        assert_eq!(payload["error"]["fields"][0]["field"], "sdpDeflate", "{payload}");
    }
    // The media never stopped.
    let before = member.frames(&admin, TrackKind::Audio);
    settle(&mut [&mut admin, &mut member], "still receiving", |p| {
        p[1].frames(&*p[0], TrackKind::Audio) > before + 25
    })
    .await;
}

#[tokio::test]
async fn a_one_to_one_call_in_a_direct_space_takes_the_same_media_path() {
    let app = spawn_app_with(grace).await;
    let (caller_token, _) = app.register("caller@example.com").await;
    let (callee_token, _) = app.register("callee@example.com").await;
    let callee_id = app.user_id(&callee_token).await;
    let direct =
        app.get(&format!("/api/spaces/direct/user/{callee_id}"), Some(&jwt(&caller_token))).await;
    let space = direct.body["data"][0]["_id"].as_str().expect("direct space").to_owned();

    // The ring and the answer (`space.call.*`), then both join the space's media room.
    let caller_socket = socket(&app, &caller_token, &space).await;
    let mut callee_socket = socket(&app, &callee_token, &space).await;
    let ring = |category: &str| json!({"topicId": space, "category": category, "content": {}, "spaceCallId": "call-7"});
    caller_socket.emit("SEND_MEDIA_SESSION_EVENTS", &ring("space.call.offer")).unwrap();
    let offered = callee_socket.wait_for("MEDIA_SESSION_RESPONSE", WAIT).await.unwrap();
    assert_eq!(offered.payload["category"], "space.call.offer", "{}", offered.payload);
    callee_socket.emit("SEND_MEDIA_SESSION_EVENTS", &ring("space.call.accepted")).unwrap();
    let mut caller = Peer::join_on(&app, caller_socket, &caller_token, &space).await;
    let mut callee = Peer::join_on(&app, callee_socket, &callee_token, &space).await;
    settle(&mut [&mut caller, &mut callee], "each hears and sees the other", |p| {
        all_receive(p, 20)
    })
    .await;
    settle(&mut [&mut caller, &mut callee], "a meeting of two", |p| {
        let added = p[0].meeting_events();
        added.iter().filter(|(c, _)| c == "app.event.attendee.added").count() == 2
    })
    .await;

    // Hanging up: both leave their media; the call's meeting ends.
    for peer in [&mut caller, &mut callee] {
        let leave = json!({"sessionId": peer.session});
        peer.client.emit("MEDIA_LEAVE", &leave).unwrap();
    }
    settle(&mut [&mut caller, &mut callee], "the call's meeting ended", |p| {
        p[0].meeting_events().iter().any(|(c, _)| c == "app.event.meeting.ended")
    })
    .await;
}

#[tokio::test]
async fn a_recorded_meeting_stores_each_track_as_a_file_its_readers_can_play() {
    let app = spawn_app_with(grace).await;
    let (space, [admin_token, member_token, _]) = three_people(&app).await;
    let (outsider, _) = app.register("media-outsider@example.com").await;
    // Two guests: one takes part (as an older client does, by its own tracksstatus),
    // one never does.
    let mut guests = Vec::new();
    for name in ["media-guest-in@example.com", "media-guest-out@example.com"] {
        let (token, _) = app.register(name).await;
        let id = app.user_id(&token).await;
        app.add_member(&admin_token, &space, &id, "guest").await;
        guests.push(token);
    }
    let mut admin = Peer::join(&app, &admin_token, &space).await;
    let mut member = Peer::join(&app, &member_token, &space).await;
    settle(&mut [&mut admin, &mut member], "both receive", |p| all_receive(p, 10)).await;
    settle(&mut [&mut admin, &mut member], "the meeting started", |p| {
        p[0].meeting_events().iter().any(|(c, _)| c == "app.event.meeting.started")
    })
    .await;
    let guest_socket = socket(&app, &guests[0], &space).await;
    let tracks = json!({"topicId": space, "category": "tracksstatus",
        "content": {"mediaSession": {"audio": true, "video": false, "connected": true}}});
    guest_socket.emit("SEND_MEDIA_SESSION_EVENTS", &tracks).unwrap();
    settle(&mut [&mut admin, &mut member], "the guest attends", |p| {
        p[0].meeting_events().iter().filter(|(c, _)| c == "app.event.attendee.added").count() == 3
    })
    .await;
    let events = admin.meeting_events();
    let (_, started) = events.iter().find(|(c, _)| c == "app.event.meeting.started").unwrap();
    let meeting = started["messageId"].as_str().unwrap().to_owned();
    let path = |tail: &str| format!("/api/spaces/{space}/meetings/{meeting}/{tail}");

    let auth = jwt(&admin_token);
    let answer = app.post(&path("recordings"), Some(&auth), &json!({})).await;
    assert!(answer.status.is_success(), "{}", answer.text);
    let recording =
        answer.body["data"][0]["content"]["recordings"][0]["_id"].as_str().unwrap().to_owned();
    pump_for(&mut [&mut admin, &mut member], Duration::from_millis(3000)).await;
    let stop = path(&format!("recordings/{recording}/stop"));
    let answer = app.post(&stop, Some(&auth), &json!({})).await;
    assert!(answer.status.is_success(), "{}", answer.text);
    // Stopping it again: it is not running.
    app.post(&stop, Some(&auth), &json!({})).await.assert_error(404, "meeting.recording_not_found");

    settle(&mut [&mut admin, &mut member], "the recording is ready", |p| {
        p[1].meeting_events().iter().any(|(c, _)| c == "app.event.recording.ready")
    })
    .await;
    let events = member.meeting_events();
    let position = |name: &str| events.iter().position(|(c, _)| c == name).unwrap();
    assert!(position("app.event.recording.ended") < position("app.event.recording.ready"));
    let (_, ready) = &events[position("app.event.recording.ready")];
    let about = &ready["content"]["recordings"][0];
    assert_eq!(about["_id"], recording.as_str());
    assert_eq!(about["status"], "ready");
    let length_ms = about["duration"].as_f64().unwrap();
    let files = ready["content"]["data"].as_array().unwrap().clone();
    assert_eq!(files.len(), 4, "two people's audio and video: {files:#?}");
    let mut types: Vec<&str> =
        files.iter().map(|f| f["providerFileType"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(types, ["audio/webm", "audio/webm", "video/webm", "video/webm"]);
    let admin_id = app.user_id(&admin_token).await;
    assert!(files.iter().any(|f| f["userId"] == admin_id.as_str()), "{files:#?}");
    for file in &files {
        assert_eq!(file["recordingId"], recording.as_str());
        let duration = file["duration"].as_f64().unwrap();
        assert!((duration - length_ms).abs() < 1000.0, "{file} against {length_ms} ms");
        // A member downloads it and it is a WebM file of that length.
        let key = file["fileId"].as_str().unwrap();
        let url = crate::files::download_url(&app, &member_token, key).await;
        let bytes = app.client.get(&url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, file["fileSize"].as_u64().unwrap());
        let mkv = matroska_demuxer::MatroskaFile::open(std::io::Cursor::new(bytes.to_vec()))
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let scale = mkv.info().timestamp_scale().get() as f64;
        let parsed_ms = mkv.info().duration().unwrap() * scale / 1e6;
        assert!((parsed_ms - length_ms).abs() < 1000.0, "{file}: {parsed_ms} ms");
        let codec = mkv.tracks()[0].codec_id().to_owned();
        let family = file["fileType"].as_str().unwrap();
        assert_eq!(codec, if family == "audio" { "A_OPUS" } else { "V_VP8" }, "{file}");
        // The guest who took part may too; an outsider, or a guest who did not, may not.
        crate::files::download_url(&app, &guests[0], key).await;
        let keys = json!({"fileKeys": [key]});
        for stranger in [&outsider, &guests[1]] {
            let auth = jwt(stranger);
            let refused = app.post("/api/files/getdownloadurl", Some(&auth), &keys).await;
            refused.assert_error(404, "file.not_found");
        }
    }
    // The meeting's history lists the recording with its files.
    let history = app.get(&format!("/api/spaces/{space}/meetings"), Some(&auth)).await;
    assert!(history.text.contains(files[0]["fileId"].as_str().unwrap()), "{}", history.text);
}

#[tokio::test]
async fn plaza_admin_rebuilds_the_files_of_a_recording_cut_short() {
    use plaza_media::loopback::LoopbackParticipant;
    use plaza_media::{MediaConfig, MediaServer};
    let config = MediaConfig {
        udp_listen: "127.0.0.1:0".parse().unwrap(),
        public_ip: None,
        tcp_listen: None,
        max_participants: 10,
        max_video_kbps: 0,
    };
    let server = MediaServer::bind(config).await.unwrap();
    let alice = LoopbackParticipant::join(&server, "r", "alice", ClientOptions::default());
    let alice = alice.await.unwrap();
    let listener = ClientOptions { audio: false, video: false, ..ClientOptions::default() };
    let bob = LoopbackParticipant::join(&server, "r", "bob", listener).await.unwrap();
    bob.expect(WAIT, "alice's video", |s| s.received("alice", TrackKind::Video).frames >= 5).await;
    let room = server.room("r").unwrap();
    let folder = tempfile::tempdir().unwrap();
    room.start_recording(folder.path().join("live")).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // What a crash leaves: the files as they are mid-recording, never finalized.
    let crashed = folder.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    for entry in std::fs::read_dir(folder.path().join("live")).unwrap().flatten() {
        std::fs::copy(entry.path(), crashed.join(entry.file_name())).unwrap();
    }
    room.stop_recording().await.unwrap();
    drop(alice);

    let plaza = env!("CARGO_BIN_EXE_plaza");
    let run = std::process::Command::new(plaza)
        .args(["admin", "recording", "rebuild"])
        .arg(&crashed)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{printed}{}", String::from_utf8_lossy(&run.stderr));
    let rebuilt: Vec<Value> = printed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rebuilt.len(), 2, "{printed}");
    for file in &rebuilt {
        assert!(file["frames"].as_u64().unwrap() > 20, "{file}");
        assert!(file["durationMs"].as_u64().unwrap() >= 1500, "{file}");
        let output = std::fs::File::open(file["output"].as_str().unwrap()).unwrap();
        let mkv = matroska_demuxer::MatroskaFile::open(output).unwrap();
        assert!(mkv.info().duration().is_some(), "{file}");
    }
    // A node that restarted stores a recording its previous process left: the files
    // come back from the dumps (here, a copy taken mid-recording, as a crash leaves it).
    use plaza_core::meetings::MediaForwarding;
    let recording = plaza_core::ObjectId::new();
    let recordings_dir = folder.path().join("recordings");
    std::fs::create_dir(&recordings_dir).unwrap();
    let left_behind = recordings_dir.join(recording.to_string());
    std::fs::create_dir(&left_behind).unwrap();
    for entry in std::fs::read_dir(&crashed).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "plzr") {
            std::fs::copy(entry.path(), left_behind.join(entry.file_name())).unwrap();
        }
    }
    let plane = plaza_realtime::MediaPlane::start(plaza_realtime::MediaPlaneConfig {
        engine: MediaConfig {
            udp_listen: "127.0.0.1:0".parse().unwrap(),
            ..MediaConfig::default()
        },
        ice_servers: Vec::new(),
        recordings_dir,
    })
    .await
    .unwrap();
    use plaza_core::meetings::RecordingStop;
    let (space, meeting) = (plaza_core::ObjectId::new(), plaza_core::ObjectId::new());
    assert!(
        matches!(
            plane.stop_recording(space, meeting, plaza_core::ObjectId::new()),
            RecordingStop::NotRunning
        ),
        "no such folder"
    );
    let RecordingStop::Here(recovered) = plane.stop_recording(space, meeting, recording) else {
        panic!("the folder is found");
    };
    let recovered = recovered.await.unwrap();
    assert_eq!(recovered.len(), 2, "{recovered:?}");
    for file in &recovered {
        assert!(file.duration_ms >= 1500 && file.bytes > 0, "{file:?}");
        let mkv = matroska_demuxer::MatroskaFile::open(std::fs::File::open(&file.path).unwrap());
        assert!(mkv.unwrap().info().duration().is_some(), "{file:?}");
    }

    // A folder with no dump in it is an error that says so.
    let empty = folder.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = std::process::Command::new(plaza)
        .args(["admin", "recording", "rebuild"])
        .arg(&empty)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("no frame dump"));
}

#[tokio::test]
async fn a_recording_that_fills_its_owners_quota_stops_and_keeps_what_it_wrote() {
    const QUOTA: u64 = 150_000;
    let app = spawn_app_with(|settings| {
        grace(settings);
        settings.files.user_quota_bytes = QUOTA;
    })
    .await;
    let (space, [admin_token, member_token, _]) = three_people(&app).await;
    let mut admin = Peer::join(&app, &admin_token, &space).await;
    let mut member = Peer::join(&app, &member_token, &space).await;
    settle(&mut [&mut admin, &mut member], "the meeting started", |p| {
        all_receive(p, 10)
            && p[0].meeting_events().iter().any(|(c, _)| c == "app.event.meeting.started")
    })
    .await;
    let events = admin.meeting_events();
    let (_, started) = events.iter().find(|(c, _)| c == "app.event.meeting.started").unwrap();
    let meeting = started["messageId"].as_str().unwrap().to_owned();
    let path = format!("/api/spaces/{space}/meetings/{meeting}/recordings");
    let answer = app.post(&path, Some(&jwt(&admin_token)), &json!({})).await;
    assert!(answer.status.is_success(), "{}", answer.text);

    // Two people's media fill 150 kB in a few seconds: the server stops the recording.
    settle(&mut [&mut admin, &mut member], "the recording stops at the quota", |p| {
        p[1].meeting_events().iter().any(|(c, _)| c == "app.event.recording.ready")
    })
    .await;
    let events = member.meeting_events();
    let (_, ended) = events.iter().find(|(c, _)| c == "app.event.recording.ended").unwrap();
    assert_eq!(ended["content"]["recordings"][0]["stopReason"], "quota", "{ended}");
    let (_, ready) = events.iter().find(|(c, _)| c == "app.event.recording.ready").unwrap();
    let files = ready["content"]["data"].as_array().unwrap();
    assert_eq!(files.len(), 4, "what was written is kept: {files:#?}");
    let total: u64 = files.iter().map(|f| f["fileSize"].as_u64().unwrap()).sum();
    // The last half second may overshoot (two people's media: about 30 kB).
    assert!(total > QUOTA / 2 && total < QUOTA + 60_000, "{total} bytes");
    let key = files[0]["fileId"].as_str().unwrap();
    let url = crate::files::download_url(&app, &member_token, key).await;
    let got = app.client.get(&url).send().await.unwrap();
    assert!(got.status().is_success());
}
