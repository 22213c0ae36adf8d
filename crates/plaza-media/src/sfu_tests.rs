//! End-to-end tests of the SFU over real loopback UDP, with the crate's str0m client on
//! the other side: ICE, DTLS, SRTP and RTP all happen for real; only the signalling
//! (offer/answer relay) is done by the test in-process.

use std::time::Duration;

use tokio::sync::broadcast;

use str0m::format::Codec;

use crate::client::{ClientOptions, ClientStats, MediaClient};
use crate::loopback::LoopbackParticipant;
use crate::{LeaveReason, MediaConfig, MediaError, MediaServer, RoomEvent, TrackKind};

const WAIT: Duration = Duration::from_secs(20);

async fn server(max_participants: usize) -> MediaServer {
    let config = MediaConfig {
        udp_listen: "127.0.0.1:0".parse().unwrap(),
        public_ip: None,
        tcp_listen: Some("127.0.0.1:0".parse().unwrap()),
        max_participants,
        max_video_kbps: 2_500,
    };
    MediaServer::bind(config).await.unwrap()
}

fn publisher() -> ClientOptions {
    ClientOptions::default()
}

fn subscriber() -> ClientOptions {
    ClientOptions { audio: false, video: false, ..ClientOptions::default() }
}

type Participant = LoopbackParticipant;

async fn connect(
    server: &MediaServer,
    room: &str,
    name: &str,
    options: ClientOptions,
) -> Participant {
    LoopbackParticipant::join(server, room, name, options).await.unwrap()
}

async fn expect_event(
    events: &mut broadcast::Receiver<RoomEvent>,
    what: &str,
    wanted: impl Fn(&RoomEvent) -> bool,
) -> RoomEvent {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("room events closed"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for the room event: {what}"))
}

fn audio_from(stats: &ClientStats, publisher: &str) -> u64 {
    stats.received(publisher, TrackKind::Audio).frames
}

fn video_from(stats: &ClientStats, publisher: &str) -> u64 {
    stats.received(publisher, TrackKind::Video).frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_publisher_reaches_two_subscribers_with_audio_and_video() {
    let server = server(10).await;
    let counting = |options| ClientOptions { count_rtcp: true, ..options };
    let alice = connect(&server, "space-a", "alice", counting(publisher())).await;
    let bob = connect(&server, "space-a", "bob", counting(subscriber())).await;
    let carol = connect(&server, "space-a", "carol", subscriber()).await;

    for subscriber in [&bob, &carol] {
        let stats = subscriber
            .expect(WAIT, "alice's audio and video", |s| {
                audio_from(s, "alice") >= 25
                    && video_from(s, "alice") >= 10
                    && s.received("alice", TrackKind::Video).keyframes >= 1
            })
            .await;
        assert!(stats.received("alice", TrackKind::Audio).bytes >= 25 * 80, "{stats:#?}");
        assert_eq!(stats.received.len(), 2, "only alice's two tracks: {stats:#?}");
    }
    // The publisher receives nothing of its own.
    assert!(alice.stats().received.is_empty(), "{:#?}", alice.stats());
    // New subscribers asked alice for a keyframe through the server.
    assert!(alice.stats().keyframe_requests >= 1);

    // A subscriber's PLI reaches the publisher (after the 500 ms throttle of the requests
    // made when they connected).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let before = alice.stats().keyframe_requests;
    bob.client.request_keyframe("alice").await.unwrap();
    alice.expect(WAIT, "bob's keyframe request", |s| s.keyframe_requests > before).await;

    // RTCP per leg: the publisher gets transport-wide congestion feedback (its bandwidth
    // estimator adapts to it) and receiver reports; a subscriber gets sender reports.
    let rtcp = alice.expect(WAIT, "TWCC feedback and receiver reports", |s| {
        s.rtcp_received.get("twcc").is_some_and(|n| *n > 0)
            && s.rtcp_received.get("rr").is_some_and(|n| *n > 0)
    });
    rtcp.await;
    bob.expect(WAIT, "sender reports", |s| s.rtcp_received.get("sr").is_some_and(|n| *n > 0)).await;

    let stats = server.room("space-a").unwrap().stats();
    assert!(stats.forwarded_frames >= 70, "{stats:?}");
    assert!(stats.sent_datagrams >= stats.forwarded_frames, "{stats:?}");
    for participant in [&alice, &bob, &carol] {
        assert!(participant.relay_errors().is_empty(), "{:?}", participant.relay_errors());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_mute_stops_audio_reaching_others_until_unmuted() {
    let server = server(10).await;
    let alice = connect(&server, "space-m", "alice", publisher()).await;
    let bob = connect(&server, "space-m", "bob", subscriber()).await;
    let room = server.room("space-m").unwrap();
    let mut events = room.events();
    bob.expect(WAIT, "alice's audio", |s| audio_from(s, "alice") >= 10).await;

    room.set_forwarding("alice", TrackKind::Audio, false).unwrap();
    expect_event(&mut events, "alice muted", |e| {
        *e == RoomEvent::ForwardingChanged {
            participant: "alice".into(),
            kind: TrackKind::Audio,
            forwarding: false,
        }
    })
    .await;
    assert_eq!(room.is_forwarding("alice", TrackKind::Audio), Some(false));
    // Let frames already on their way arrive, then nothing more may.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let muted = bob.stats();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let later = bob.stats();
    assert_eq!(audio_from(&later, "alice"), audio_from(&muted, "alice"), "audio while muted");
    assert!(video_from(&later, "alice") > video_from(&muted, "alice"), "video stopped too");
    assert!(alice.stats().sent_audio > 0);

    room.set_forwarding("alice", TrackKind::Audio, true).unwrap();
    let unmuted_at = audio_from(&later, "alice");
    bob.expect(WAIT, "alice's audio after unmute", |s| audio_from(s, "alice") >= unmuted_at + 10)
        .await;

    let err = room.set_forwarding("nobody", TrackKind::Audio, false).unwrap_err();
    assert!(matches!(err, MediaError::NotInRoom { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_leaving_is_reported_and_the_others_carry_on() {
    let server = server(10).await;
    let audio_only = || ClientOptions { video: false, ..ClientOptions::default() };
    let alice = connect(&server, "space-l", "alice", audio_only()).await;
    let bob = connect(&server, "space-l", "bob", audio_only()).await;
    let carol = connect(&server, "space-l", "carol", audio_only()).await;
    let room = server.room("space-l").unwrap();
    let mut events = room.events();
    alice
        .expect(WAIT, "bob and carol", |s| {
            audio_from(s, "bob") >= 10 && audio_from(s, "carol") >= 10
        })
        .await;
    bob.expect(WAIT, "alice and carol", |s| {
        audio_from(s, "alice") >= 10 && audio_from(s, "carol") >= 10
    })
    .await;

    carol.peer.leave();
    expect_event(&mut events, "carol left", |e| {
        *e == RoomEvent::Left { participant: "carol".into(), reason: LeaveReason::Left }
    })
    .await;
    let mut participants = room.participants();
    participants.sort();
    assert_eq!(participants, ["alice", "bob"]);

    // The others keep receiving each other, and nothing more of carol.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (alice_then, bob_then) = (alice.stats(), bob.stats());
    alice
        .expect(WAIT, "more of bob", |s| {
            audio_from(s, "bob") >= audio_from(&alice_then, "bob") + 25
        })
        .await;
    bob.expect(WAIT, "more of alice", |s| {
        audio_from(s, "alice") >= audio_from(&bob_then, "alice") + 25
    })
    .await;
    assert_eq!(audio_from(&alice.stats(), "carol"), audio_from(&alice_then, "carol"));
    assert!(alice.relay_errors().is_empty(), "{:?}", alice.relay_errors());
    assert!(bob.relay_errors().is_empty(), "{:?}", bob.relay_errors());

    // The room disappears with its last participant.
    alice.peer.leave();
    bob.peer.leave();
    let mut left = Vec::new();
    for _ in 0..2 {
        match expect_event(&mut events, "alice and bob left", |e| {
            matches!(e, RoomEvent::Left { .. })
        })
        .await
        {
            RoomEvent::Left { participant, reason } => left.push((participant, reason)),
            _ => unreachable!("only Left events are picked"),
        }
    }
    left.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(left, [("alice".into(), LeaveReason::Left), ("bob".into(), LeaveReason::Left)]);
    assert!(server.room("space-l").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sdp_is_refused_clearly_and_harms_no_one() {
    let server = server(10).await;
    let alice = connect(&server, "space-d", "alice", publisher()).await;
    let bob = connect(&server, "space-d", "bob", subscriber()).await;
    bob.expect(WAIT, "alice's audio", |s| audio_from(s, "alice") >= 5).await;

    let (mallory, _events) = server.join("space-d", "mallory").unwrap();
    let err = mallory.accept_offer("this is not SDP").await.unwrap_err();
    assert!(matches!(err, MediaError::MalformedSdp(_)), "{err}");
    let huge = "v=0\r\n".repeat(crate::MAX_SDP_BYTES / 5 + 1);
    let err = mallory.accept_offer(&huge).await.unwrap_err();
    assert!(err.to_string().contains("more than the"), "{err}");
    let err = mallory.accept_answer("v=0\r\n").await.unwrap_err();
    assert!(matches!(err, MediaError::MalformedSdp(_) | MediaError::NoPendingOffer), "{err}");
    let err = mallory.add_remote_candidate("candidate:garbage").await.unwrap_err();
    assert!(matches!(err, MediaError::MalformedCandidate(_)), "{err}");

    // An offer without m-lines parses but cannot be negotiated.
    let client = MediaClient::start(subscriber()).await.unwrap();
    let offer = client.create_offer().await.unwrap();
    let no_media: String = offer
        .split("\r\n")
        .take_while(|line| !line.starts_with("m="))
        .filter(|line| !line.starts_with("a=group"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    let err = mallory.accept_offer(&no_media).await.unwrap_err();
    assert!(matches!(err, MediaError::SdpRefused(_)), "{err}");

    // A server answer with nothing pending is refused as such.
    let err = mallory.accept_answer(&offer).await.unwrap_err();
    assert!(matches!(err, MediaError::NoPendingOffer), "{err}");

    // Alice still reaches bob.
    let then = audio_from(&bob.stats(), "alice");
    bob.expect(WAIT, "more of alice", |s| audio_from(s, "alice") >= then + 25).await;
    assert!(alice.relay_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_participant_limit_refuses_clearly() {
    let server = server(2).await;
    let (first, _first_events) = server.join("space-e", "one").unwrap();
    let (_second, _second_events) = server.join("space-e", "two").unwrap();
    let err = server.join("space-e", "three").err().unwrap();
    assert!(matches!(err, MediaError::RoomFull { limit: 2, .. }), "{err}");
    assert_eq!(err.to_string(), "room space-e is full: at most 2 participants");
    let err = server.join("space-e", "two").err().unwrap();
    assert!(matches!(err, MediaError::AlreadyJoined { .. }), "{err}");
    // Another room is not affected.
    let (_elsewhere, _events) = server.join("space-other", "three").unwrap();

    // A place freed is a place taken.
    let room = server.room("space-e").unwrap();
    let mut events = room.events();
    first.leave();
    expect_event(&mut events, "one left", |e| matches!(e, RoomEvent::Left { .. })).await;
    let (_third, _third_events) = server.join("space-e", "three").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_session_is_closed_alone() {
    let server = server(10).await;
    let alice = connect(&server, "space-f", "alice", publisher()).await;
    let bob = connect(&server, "space-f", "bob", publisher()).await;
    let carol = connect(&server, "space-f", "carol", subscriber()).await;
    let room = server.room("space-f").unwrap();
    let mut events = room.events();
    carol
        .expect(WAIT, "alice and bob", |s| audio_from(s, "alice") >= 5 && audio_from(s, "bob") >= 5)
        .await;
    alice.expect(WAIT, "bob's audio", |s| audio_from(s, "bob") >= 5).await;

    bob.peer.inject_panic();
    let event = expect_event(
        &mut events,
        "bob failed",
        |e| matches!(e, RoomEvent::Left { participant, .. } if participant == "bob"),
    )
    .await;
    assert!(
        matches!(&event, RoomEvent::Left { reason: LeaveReason::Failed(why), .. } if why.contains("internal error")),
        "{event:?}"
    );
    tokio::time::timeout(WAIT, async {
        while bob.closed().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("bob's session reports its end");
    let err = bob.peer.accept_answer("v=0").await.unwrap_err();
    assert!(matches!(err, MediaError::SessionEnded), "{err}");

    // Carol and alice are unaffected; bob's tracks are withdrawn from them (a server
    // offer stopping those m-lines, answered without error).
    let then = audio_from(&carol.stats(), "alice");
    carol.expect(WAIT, "more of alice", |s| audio_from(s, "alice") >= then + 25).await;
    let mut participants = room.participants();
    participants.sort();
    assert_eq!(participants, ["alice", "carol"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (alice_then, carol_then) = (alice.stats(), carol.stats());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(audio_from(&alice.stats(), "bob"), audio_from(&alice_then, "bob"));
    assert_eq!(audio_from(&carol.stats(), "bob"), audio_from(&carol_then, "bob"));
    assert!(alice.relay_errors().is_empty(), "{:?}", alice.relay_errors());
    assert!(carol.relay_errors().is_empty(), "{:?}", carol.relay_errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_transport_vanishes_is_removed_after_the_ice_grace() {
    let server = server(10).await;
    let alice = connect(&server, "space-t", "alice", publisher()).await;
    let bob = connect(&server, "space-t", "bob", subscriber()).await;
    let room = server.room("space-t").unwrap();
    let mut events = room.events();
    bob.expect(WAIT, "alice's audio", |s| audio_from(s, "alice") >= 5).await;

    // The signalling still holds alice's handle; only her network is gone (the client's
    // task and socket stop, as when a laptop's Wi-Fi drops).
    let alice_session = alice.peer.clone();
    drop(alice);
    let event = expect_event(
        &mut events,
        "alice disconnected",
        |e| matches!(e, RoomEvent::Left { participant, .. } if participant == "alice"),
    )
    .await;
    assert_eq!(
        event,
        RoomEvent::Left { participant: "alice".into(), reason: LeaveReason::Disconnected }
    );
    assert_eq!(room.participants(), ["bob"]);
    let err = alice_session.accept_answer("v=0").await.unwrap_err();
    assert!(matches!(err, MediaError::SessionEnded), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loudest_voice_is_announced_as_active_speaker() {
    let server = server(10).await;
    let audio_at =
        |level| ClientOptions { video: false, audio_level_dbov: level, ..ClientOptions::default() };
    let alice = connect(&server, "space-s", "alice", audio_at(-20)).await;
    let room = server.room("space-s").unwrap();
    let mut events = room.events();
    let bob = connect(&server, "space-s", "bob", audio_at(-70)).await;
    expect_event(&mut events, "alice speaking", |e| {
        *e == RoomEvent::ActiveSpeaker { participant: "alice".into() }
    })
    .await;

    alice.client.set_audio_level(-95);
    bob.client.set_audio_level(-15);
    expect_event(&mut events, "bob speaking", |e| {
        *e == RoomEvent::ActiveSpeaker { participant: "bob".into() }
    })
    .await;
    assert_eq!(room.active_speaker().as_deref(), Some("bob"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_changing_network_restarts_ice_and_keeps_its_place() {
    let server = server(10).await;
    let alice = connect(&server, "space-r", "alice", publisher()).await;
    let bob = connect(&server, "space-r", "bob", subscriber()).await;
    let room = server.room("space-r").unwrap();
    let mut events = room.events();
    bob.expect(WAIT, "alice's audio", |s| audio_from(s, "alice") >= 5).await;

    // New address, new ICE credentials: only the new ufrag can route the new checks.
    let offer = bob.client.change_network().await.unwrap();
    let answer = bob.peer.accept_offer(&offer).await.unwrap();
    bob.client.accept_answer(&answer).await.unwrap();
    let then = audio_from(&bob.stats(), "alice");
    bob.expect(WAIT, "alice's audio on the new path", |s| audio_from(s, "alice") >= then + 25)
        .await;

    let mut participants = room.participants();
    participants.sort();
    assert_eq!(participants, ["alice", "bob"]);
    // No one left or joined meanwhile.
    while let Ok(event) = events.try_recv() {
        assert!(!matches!(event, RoomEvent::Left { .. } | RoomEvent::Joined { .. }), "{event:?}");
    }
    assert!(alice.relay_errors().is_empty() && bob.relay_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_udp_connects_over_ice_tcp() {
    let server = server(10).await;
    assert!(server.announced_tcp_addr().is_some());
    let tcp_only =
        |audio| ClientOptions { audio, video: audio, tcp_only: true, ..ClientOptions::default() };
    let alice = connect(&server, "space-tcp", "alice", tcp_only(true)).await;
    let bob = connect(&server, "space-tcp", "bob", subscriber()).await;
    let carol = connect(&server, "space-tcp", "carol", tcp_only(false)).await;

    // Alice publishes over TCP to bob (UDP) and carol (TCP).
    for listener in [&bob, &carol] {
        listener
            .expect(WAIT, "alice's audio and video", |s| {
                audio_from(s, "alice") >= 25 && video_from(s, "alice") >= 10
            })
            .await;
    }
    assert!(carol.stats().tcp_packets > 25, "{:#?}", carol.stats());
    assert!(alice.stats().tcp_packets > 0, "{:#?}", alice.stats());
    assert_eq!(bob.stats().tcp_packets, 0);
    assert!(alice.relay_errors().is_empty() && carol.relay_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_ice_tcp_connections_is_bounded() {
    use tokio::io::AsyncReadExt;
    let server = server(10).await;
    let addr = server.announced_tcp_addr().unwrap();
    let mut silent = Vec::new();
    for _ in 0..crate::tcp::MAX_UNIDENTIFIED_CONNECTIONS {
        silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // One more is closed at once (the others wait for their first frame).
    let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buffer = [0u8; 16];
    // Well before the 10 s a silent connection is given.
    let read = tokio::time::timeout(Duration::from_secs(2), extra.read(&mut buffer)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "closed at once: {read:?}");
    // A real client still gets in once the silent ones are gone (the server sees them
    // close at once; give its tasks a moment to run).
    drop(silent);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tcp_only = ClientOptions { tcp_only: true, ..ClientOptions::default() };
    let alice = connect(&server, "space-flood", "alice", tcp_only).await;
    let bob = connect(&server, "space-flood", "bob", subscriber()).await;
    bob.expect(WAIT, "alice over TCP", |s| audio_from(s, "alice") >= 5).await;
    assert!(alice.stats().tcp_packets > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_tcp_connection_naming_no_session_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = server(10).await;
    let addr = server.announced_tcp_addr().unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // A well-framed packet that is not a STUN request for any session.
    stream.write_all(&[0, 4, 0x80, 0, 0, 0]).await.unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buffer)).await.unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "the server closes the connection: {read:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_started_and_stopped_by_renegotiation_reach_everyone() {
    let server = server(10).await;
    let alice = connect(&server, "space-share", "alice", publisher()).await;
    let bob = connect(&server, "space-share", "bob", subscriber()).await;
    let room = server.room("space-share").unwrap();
    let mut events = room.events();
    bob.expect(WAIT, "alice's media", |s| {
        audio_from(s, "alice") >= 5 && video_from(s, "alice") >= 2
    })
    .await;

    // Bob, who joined listening only, starts a screen share.
    let offer = bob.client.add_track(TrackKind::Video).await.unwrap();
    let answer = bob.peer.accept_offer(&offer).await.unwrap();
    bob.client.accept_answer(&answer).await.unwrap();
    let bob_video = RoomEvent::TrackPublished { participant: "bob".into(), kind: TrackKind::Video };
    expect_event(&mut events, "bob's share published", |e| *e == bob_video).await;
    alice.expect(WAIT, "bob's screen", |s| video_from(s, "bob") >= 10).await;

    // He stops it: nothing more of it reaches alice.
    let offer = bob.client.set_sending(TrackKind::Video, false).await.unwrap();
    let answer = bob.peer.accept_offer(&offer).await.unwrap();
    bob.client.accept_answer(&answer).await.unwrap();
    expect_event(&mut events, "bob's share withdrawn", |e| {
        *e == RoomEvent::TrackUnpublished { participant: "bob".into(), kind: TrackKind::Video }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = video_from(&alice.stats(), "bob");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(video_from(&alice.stats(), "bob"), stopped);

    // And shares again on the same transceiver.
    let offer = bob.client.set_sending(TrackKind::Video, true).await.unwrap();
    let answer = bob.peer.accept_offer(&offer).await.unwrap();
    bob.client.accept_answer(&answer).await.unwrap();
    expect_event(&mut events, "bob's share published again", |e| *e == bob_video).await;
    alice.expect(WAIT, "bob's screen again", |s| video_from(s, "bob") >= stopped + 10).await;
    // Alice's own tracks never stopped reaching bob.
    let then = video_from(&bob.stats(), "alice");
    bob.expect(WAIT, "more of alice", |s| video_from(s, "alice") >= then + 10).await;
    assert!(alice.relay_errors().is_empty(), "{:?}", alice.relay_errors());
    assert!(bob.relay_errors().is_empty(), "{:?}", bob.relay_errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_reaches_those_who_accept_it_and_only_them() {
    let server = server(10).await;
    let h264 = |audio| ClientOptions {
        audio,
        video: audio,
        video_codec: Codec::H264,
        ..ClientOptions::default()
    };
    let alice = connect(&server, "space-264", "alice", h264(true)).await;
    let bob = connect(&server, "space-264", "bob", h264(false)).await;
    let carol = connect(&server, "space-264", "carol", subscriber()).await;

    let stats = bob
        .expect(WAIT, "alice's H.264", |s| {
            video_from(s, "alice") >= 10 && s.received("alice", TrackKind::Video).keyframes >= 1
        })
        .await;
    assert_eq!(stats.received("alice", TrackKind::Video).codec, Some(Codec::H264));
    // Carol's client takes VP8 only: she hears alice but gets no picture in a codec she
    // cannot decode.
    carol.expect(WAIT, "alice's audio", |s| audio_from(s, "alice") >= 25).await;
    assert_eq!(video_from(&carol.stats(), "alice"), 0);
    assert!(alice.relay_errors().is_empty() && bob.relay_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_lost_on_the_way_to_a_subscriber_are_retransmitted() {
    let server = server(10).await;
    let alice = connect(&server, "space-nack", "alice", publisher()).await;
    // Bob's network loses every 7th RTP packet.
    let lossy = ClientOptions { count_rtcp: true, drop_every_nth_rtp: 7, ..subscriber() };
    let bob = connect(&server, "space-nack", "bob", lossy).await;

    let stats =
        bob.expect(WAIT, "100 frames of alice's video", |s| video_from(s, "alice") >= 100).await;
    assert!(stats.rtp_dropped >= 20, "{stats:#?}");
    assert!(stats.rtcp_sent.get("nack").is_some_and(|n| *n > 0), "bob asked again: {stats:#?}");
    // Audio is not retransmitted (Opus conceals losses): its gaps show what the loss does,
    // about one packet in seven. Video frames are one to three packets, so without resends
    // one in seven or more would be missing (14 of 100); the server resends lost packets
    // from its buffer for bob's leg, and a frame is lost only when a resend is lost too.
    let audio = stats.received("alice", TrackKind::Audio);
    let video = stats.received("alice", TrackKind::Video);
    assert!(audio.discontinuities >= 10, "{stats:#?}");
    assert!(video.missing_frames <= 3, "{stats:#?}");
    assert!(alice.stats().sent_video > video.last_frame_number.unwrap_or(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_subscriber_gets_the_simulcast_layer_it_asks_switching_on_keyframes() {
    use crate::Quality;
    let server = server(10).await;
    let simulcast = ClientOptions { audio: false, simulcast: true, ..publisher() };
    let alice = connect(&server, "space-s", "alice", simulcast).await;
    let bob = connect(&server, "space-s", "bob", subscriber()).await;
    let carol = connect(&server, "space-s", "carol", subscriber()).await;
    let video = |s: &ClientStats| s.received("alice", TrackKind::Video);

    // Nobody asked: the largest layer, once the layers are measured (about a second).
    for subscriber in [&bob, &carol] {
        subscriber.expect(WAIT, "alice's largest layer", |s| video(s).last_layer == Some(2)).await;
    }
    // (Before the layers are measured, the first keyframe of any layer starts the picture.)
    let carol_small_before = video(&carol.stats()).layers[0];
    // Bob's tile shrinks to a thumbnail: the smallest layer, from its next keyframe on.
    bob.peer.set_quality("alice", Quality::Low);
    let before = bob.stats();
    let stats = bob
        .expect(WAIT, "the smallest layer", |s| {
            video(s).last_layer == Some(0) && video(s).layers[0] >= video(&before).layers[0] + 25
        })
        .await;
    let alice_requests = alice.stats().keyframe_requests_by_rid;
    assert!(alice_requests.get("l").is_some_and(|n| *n >= 1), "{alice_requests:?}");
    // Carol still gets the largest layer: the choice is per subscriber.
    let carol_stats = carol.stats();
    assert_eq!(video(&carol_stats).last_layer, Some(2), "{carol_stats:#?}");
    assert_eq!(video(&carol_stats).layers[0], carol_small_before, "{carol_stats:#?}");
    // Bob medium, then high again.
    bob.peer.set_quality("alice", Quality::Medium);
    bob.expect(WAIT, "the middle layer", |s| video(s).last_layer == Some(1)).await;
    bob.peer.set_quality("alice", Quality::High);
    let stats_after =
        bob.expect(WAIT, "the largest layer again", |s| video(s).last_layer == Some(2)).await;

    // Every switch began on a keyframe, and no frame number went missing across them:
    // the picture never froze.
    let received = video(&stats_after);
    assert!(received.layer_switches >= 3, "{received:#?}");
    assert_eq!(received.switches_without_keyframe, 0, "{received:#?}");
    assert!(received.missing_frames <= 2, "{received:#?}");
    assert!(video(&stats).discontinuities <= 1, "{stats:#?}");
    for participant in [&alice, &bob, &carol] {
        assert!(participant.relay_errors().is_empty(), "{:?}", participant.relay_errors());
    }
}

/// What a WebM file holds, read back with an independent demuxer.
#[derive(Debug)]
struct Probed {
    codecs: Vec<String>,
    duration_ms: f64,
    frames: u64,
    first_keyframe: Option<bool>,
    monotonic: bool,
    first_ms: f64,
    /// Frames per simulcast layer (the layer the test client wrote into each frame).
    layers: [u64; 3],
}

fn probe(path: &std::path::Path) -> Probed {
    use matroska_demuxer::{Frame, MatroskaFile};
    let file = std::fs::File::open(path).unwrap();
    let mut mkv = MatroskaFile::open(file).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let scale = mkv.info().timestamp_scale().get() as f64;
    let duration_ms = mkv.info().duration().unwrap_or(0.0) * scale / 1e6;
    let codecs = mkv.tracks().iter().map(|t| t.codec_id().to_owned()).collect();
    let (mut frames, mut first_keyframe, mut last, mut monotonic) = (0, None, 0, true);
    let mut first_ms = 0.0;
    let mut layers = [0; 3];
    let mut frame = Frame::default();
    while mkv.next_frame(&mut frame).unwrap() {
        if first_keyframe.is_none() {
            first_ms = frame.timestamp as f64 * scale / 1e6;
        }
        first_keyframe = first_keyframe.or(Some(frame.is_keyframe.unwrap_or(false)));
        monotonic &= frame.timestamp >= last;
        if let Some(layer) = crate::client::shapes::frame_layer(&frame.data).filter(|l| *l < 3) {
            layers[usize::from(layer)] += 1;
        }
        last = frame.timestamp;
        frames += 1;
    }
    Probed { codecs, duration_ms, frames, first_keyframe, monotonic, first_ms, layers }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_writes_each_track_as_a_playable_webm_file_and_a_dump_to_rebuild_it() {
    let server = server(10).await;
    let alice = connect(&server, "space-rec", "alice", publisher()).await;
    let simulcast = ClientOptions { simulcast: true, ..publisher() };
    let bob = connect(&server, "space-rec", "bob", simulcast).await;
    for (who, other) in [(&alice, "bob"), (&bob, "alice")] {
        who.expect(WAIT, "the other's media", |s| video_from(s, other) >= 5).await;
    }
    let room = server.room("space-rec").unwrap();
    let folder = tempfile::tempdir().unwrap();
    let asked_before = alice.stats().keyframe_requests;
    room.start_recording(folder.path().join("rec-1")).unwrap();
    alice.expect(WAIT, "a keyframe request", |s| s.keyframe_requests > asked_before).await;
    let already = room.start_recording(folder.path().join("rec-2"));
    assert!(matches!(already, Err(MediaError::RecordingState { .. })), "{already:?}");
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Someone mutes and unmutes meanwhile: the recording goes on.
    room.set_forwarding("alice", TrackKind::Audio, false).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    room.set_forwarding("alice", TrackKind::Audio, true).unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let files = room.stop_recording().await.unwrap();
    let recorded_ms = started.elapsed().as_millis() as f64;
    assert!(!room.is_recording());
    assert!(matches!(room.stop_recording().await, Err(MediaError::RecordingState { .. })));

    // A file per track: each person's audio and video.
    let mut kinds: Vec<_> = files.iter().map(|f| (f.participant.as_str(), f.kind)).collect();
    kinds.sort_by_key(|(p, k)| (p.to_string(), *k == TrackKind::Video));
    let expected = [
        ("alice", TrackKind::Audio),
        ("alice", TrackKind::Video),
        ("bob", TrackKind::Audio),
        ("bob", TrackKind::Video),
    ];
    assert_eq!(kinds, expected, "{files:#?}");
    for file in &files {
        let probed = probe(&file.path);
        let codec = match file.kind {
            TrackKind::Audio => "A_OPUS",
            TrackKind::Video => "V_VP8",
        };
        assert_eq!(probed.codecs, vec![codec.to_owned()], "{file:?}");
        assert!(probed.monotonic, "{file:?}: {probed:?}");
        assert_eq!(probed.frames, file.frames, "{file:?}: {probed:?}");
        // Within a second of the recording's own length, as the meeting reports it.
        assert!((probed.duration_ms - recorded_ms).abs() < 1000.0, "{file:?}: {probed:?}");
        assert!((file.duration_ms as f64 - recorded_ms).abs() < 1000.0, "{file:?}");
        assert_eq!(file.bytes, std::fs::metadata(&file.path).unwrap().len());
        assert!(file.dump.is_file(), "{file:?}");
        if file.kind == TrackKind::Video {
            assert_eq!(probed.first_keyframe, Some(true), "video starts at a keyframe");
            // Asked for when the recording started, not left to the next periodic one.
            assert!(probed.first_ms < 600.0, "{file:?}: {probed:?}");
            // 25 frames a second (of one simulcast layer: bob's largest).
            assert!(probed.frames >= 50, "{file:?}: {probed:?}");
        } else {
            assert!(probed.frames >= 100, "{file:?}: {probed:?}");
        }
    }
    let bob_video = files.iter().find(|f| f.participant == "bob" && f.kind == TrackKind::Video);
    let bob_video = bob_video.unwrap();
    let sizes = probe(&bob_video.path);
    let alice_video = files.iter().find(|f| f.participant == "alice" && f.kind == TrackKind::Video);
    // Bob's largest layer is as large as alice's only one (the smallest is a sixteenth),
    // and the recording moves to it once the layers are measured (about a second after
    // bob's camera started here): most of the file is the largest layer.
    assert!(bob_video.bytes * 2 > alice_video.unwrap().bytes, "{sizes:?}");
    assert!(sizes.layers[2] * 2 > sizes.frames && sizes.layers[1] == 0, "{sizes:?}");

    // A crash cuts the dump mid-frame: the rebuilt file has every whole frame before it.
    let dump = std::fs::read(&bob_video.dump).unwrap();
    let cut = folder.path().join("cut.plzr");
    std::fs::write(&cut, &dump[..dump.len() - 100]).unwrap();
    let output = folder.path().join("rebuilt.webm");
    let rebuilt = crate::rebuild_recording(&cut, &output).unwrap();
    let probed = probe(&output);
    assert_eq!(probed.codecs, vec!["V_VP8".to_owned()]);
    assert_eq!(probed.frames, bob_video.frames - 1, "{probed:?}");
    assert_eq!(rebuilt.frames, probed.frames);
    assert!((probed.duration_ms - recorded_ms).abs() < 1000.0, "{probed:?}");
    // Not a dump at all.
    let bogus = folder.path().join("bogus.plzr");
    std::fs::write(&bogus, b"hello").unwrap();
    assert!(crate::rebuild_recording(&bogus, &folder.path().join("x.webm")).is_err());
}

const CRASH_DIR: &str = "PLAZA_RECORDING_CRASH_DIR";

/// The child half of [`a_recording_cut_by_sigkill_is_rebuilt_from_its_dumps`]: records a
/// room until it is killed (it does nothing unless that test runs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_recording_cut_by_sigkill_is_rebuilt_from_its_dumps in a child process"]
async fn recording_until_killed() {
    let Ok(folder) = std::env::var(CRASH_DIR) else { return };
    let server = server(10).await;
    let alice = connect(&server, "space-crash", "alice", publisher()).await;
    let bob = connect(&server, "space-crash", "bob", subscriber()).await;
    bob.expect(WAIT, "alice's media", |s| video_from(s, "alice") >= 5).await;
    server.room("space-crash").unwrap().start_recording(folder.into()).unwrap();
    println!("RECORDING");
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(alice);
}

#[test]
fn a_recording_cut_by_sigkill_is_rebuilt_from_its_dumps() {
    use std::io::BufRead;
    let folder = tempfile::tempdir().unwrap();
    let recording = folder.path().join("rec");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["sfu_tests::recording_until_killed", "--exact", "--ignored", "--nocapture"])
        .env(CRASH_DIR, &recording)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (started, recording_started) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("RECORDING") {
                let _ = started.send(());
            }
        }
    });
    let began = recording_started.recv_timeout(Duration::from_secs(60));
    if began.is_err() {
        let _ = child.kill();
        panic!("the child never started recording");
    }
    let since = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(3000));
    // SIGKILL: nothing is finalized, no destructor runs.
    child.kill().unwrap();
    child.wait().unwrap();
    let recorded_ms = since.elapsed().as_millis() as f64;

    let dumps = crate::recording_dumps(&recording).unwrap();
    assert_eq!(dumps.len(), 2, "alice's audio and video: {dumps:?}");
    for dump in dumps {
        let output = dump.with_extension("rebuilt.webm");
        let rebuilt = crate::rebuild_recording(&dump, &output).unwrap();
        let probed = probe(&output);
        assert_eq!(probed.frames, rebuilt.frames, "{probed:?}");
        assert!(probed.monotonic, "{probed:?}");
        // At most the last half second (the dump's flush interval) is lost.
        assert!(probed.duration_ms > recorded_ms - 1000.0, "{probed:?} of {recorded_ms} ms");
        assert!(probed.duration_ms < recorded_ms + 1000.0, "{probed:?} of {recorded_ms} ms");
        if rebuilt.kind == TrackKind::Video {
            assert_eq!(probed.first_keyframe, Some(true));
            assert_eq!(probed.codecs, vec!["V_VP8".to_owned()]);
        } else {
            assert_eq!(probed.codecs, vec!["A_OPUS".to_owned()]);
        }
    }
}
