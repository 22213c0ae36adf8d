//! The Rust SDK's REST half (`plaza_client::rest::Plaza`) against a real server: every
//! method, lists streamed across pages, and refusals as typed errors.

use futures_util::{StreamExt, TryStreamExt};
use plaza_client::rest::{NewTask, Plaza};
use serde_json::json;

use crate::helpers::{PASSWORD, ServerProcess, spawn_app_with};

#[tokio::test]
async fn the_sdk_covers_identity_spaces_messages_files_and_meetings() {
    // 120 sends in a row: no send limit here (its own test is below).
    let app = spawn_app_with(|s| s.messages.sends_per_second = 0).await;
    let server = Plaza::new(&app.base).unwrap();

    // Identity.
    let ann_session = server.register("ann@example.com", PASSWORD, Some("Ann")).await.unwrap();
    assert_eq!(ann_session.user.displayname, "Ann");
    let bob_session = server.register("bob@example.com", PASSWORD, None).await.unwrap();
    let ann = server.with_jwt(server.login("ANN@example.com", PASSWORD).await.unwrap().token);
    let bob = server.with_jwt(&bob_session.token);
    assert_eq!(ann.me().await.unwrap().id, ann_session.user.id);
    let refused = server.login("ann@example.com", "wrong password!").await.unwrap_err();
    assert_eq!(refused.code(), Some("auth.invalid_credentials"));
    let guest = server.with_jwt(server.anonymous("Visitor").await.unwrap().token);
    assert_eq!(guest.me().await.unwrap().kind, "anonymous");

    // Spaces and members.
    let space = ann.create_space("SDK").await.unwrap();
    assert_eq!(space.title, "SDK");
    ann.add_member(&space.id, &bob_session.user.id, "member").await.unwrap();
    let invited = ann.invite_email(&space.id, "carol@example.com", "guest").await.unwrap();
    assert!(invited.is_object());
    let joined = guest.join(&space.id, None).await.unwrap();
    assert_eq!(joined.id, space.id);
    let members: Vec<_> = ann.members(&space.id).try_collect().await.unwrap();
    let roles: Vec<&str> = members.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["admin", "member", "guest"]);
    let renamed = ann.update_space(&space.id, &json!({"title": "SDK 2"})).await.unwrap();
    assert_eq!(renamed.title, "SDK 2");
    assert_eq!(bob.space(&space.id).await.unwrap().title, "SDK 2");
    let mine: Vec<_> = bob.spaces().try_collect().await.unwrap();
    assert!(mine.iter().any(|s| s.id == space.id));
    let direct = ann.direct_space(&bob_session.user.id).await.unwrap();
    assert_eq!(direct.kind, "direct");
    let not_admin = bob.update_space(&space.id, &json!({"title": "no"})).await.unwrap_err();
    assert_eq!(not_admin.code(), Some("permission.denied"));

    // Messages: 120 chats stream back across three pages, newest first.
    for n in 0..120 {
        ann.send_chat(&space.id, &format!("chat {n}")).await.unwrap();
    }
    let post = bob.create_post(&space.id, "Plan", "the details").await.unwrap();
    assert_eq!(
        (post.category.as_str(), post.content.description.as_str()),
        ("idea", "the details")
    );
    let comment = ann.comment(&space.id, &post.id, "+1").await.unwrap();
    assert_eq!(bob.message(&post.id).await.unwrap().chat_count, 1);
    let comments: Vec<_> = ann.comments(&post.id).try_collect().await.unwrap();
    assert_eq!(comments[0].id, comment.id);
    let task = ann
        .create_task(
            &space.id,
            &NewTask {
                title: "Ship".into(),
                assignees: vec![bob_session.user.id.clone()],
                due_date: Some("2026-12-24T10:00:00.000Z".into()),
                ..NewTask::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(task.content.status.as_deref(), Some("pending"));
    // The assignee may mark it done; rewriting it stays the author's.
    let done = bob.set_task_status(&task.id, true).await.unwrap();
    assert_eq!(done.content.status.as_deref(), Some("completed"));
    let rewrite = bob.edit_message(&task.id, &json!({"bodyText": "mine"}), None).await.unwrap_err();
    assert_eq!(rewrite.code(), Some("permission.denied"), "a member edits only their own tasks");
    let done = ann.set_task_status(&task.id, true).await.unwrap();
    assert_eq!(done.content.status.as_deref(), Some("completed"));
    let stale = ann
        .edit_message(&task.id, &json!({"bodyText": "x"}), Some(&task.modified))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some("message.modified_concurrently"));
    let tasks: Vec<_> = bob.tasks(&space.id).try_collect().await.unwrap();
    assert_eq!(tasks.len(), 1);
    let history: Vec<_> = bob.history(&space.id).try_collect().await.unwrap();
    assert_eq!(history.len(), 122, "120 chats, the post and the task");
    assert_eq!(history[0].id, task.id, "newest first");
    assert_eq!(history.last().unwrap().content.body_text, "chat 0");
    // A stream stops as soon as the caller does.
    let first_three: Vec<_> = bob.history(&space.id).take(3).try_collect().await.unwrap();
    assert_eq!(first_three.len(), 3);
    ann.delete_message(&comment.id).await.unwrap();
    assert_eq!(bob.message(&comment.id).await.unwrap_err().code(), Some("message.not_found"));

    // Files: upload, attach, download byte-identical.
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let attachment = ann
        .upload(Some(&space.id), "data.bin", "application/octet-stream", bytes.clone())
        .await
        .unwrap();
    let sent = ann.send_files(&space.id, "the data", vec![attachment]).await.unwrap();
    let key = sent.content.data[0]["fileId"].as_str().unwrap().to_owned();
    assert_eq!(bob.download(&key).await.unwrap(), bytes);
    assert_eq!(guest.download(&key).await.unwrap(), bytes, "the guest joined before it was sent");

    // Meetings: none running; tokens; admin calls refused without a meeting.
    assert!(bob.active_meeting(&space.id).await.unwrap().is_none());
    let meetings: Vec<_> = bob.meetings(&space.id).try_collect().await.unwrap();
    assert!(meetings.is_empty());
    let token = bob.media_token(&space.id).await.unwrap();
    assert_eq!(token["confId"], renamed.settings["confId"]);
    let missing = "0123456789abcdef01234567";
    for refused in [
        ann.end_meeting(&space.id, missing).await.unwrap_err(),
        ann.mute_all(&space.id, missing, &[]).await.unwrap_err(),
        ann.start_recording(&space.id, missing).await.unwrap_err(),
        ann.stop_recording(&space.id, missing, missing).await.unwrap_err(),
    ] {
        assert_eq!(refused.code(), Some("meeting.not_found"));
    }

    // Removal and logout.
    ann.remove_member(&space.id, &bob_session.user.id).await.unwrap();
    assert!(bob.history(&space.id).next().await.unwrap().is_err());
    bob.logout().await.unwrap();
    let after = bob.me().await.unwrap_err();
    let plaza_client::ClientError::Api(error) = after else { panic!("{after}") };
    assert_eq!((error.status, error.code.as_str()), (401, "auth.invalid_token"));
}

#[tokio::test]
async fn a_refused_send_carries_retry_after() {
    let app = spawn_app_with(|s| {
        s.messages.sends_per_second = 1;
        s.messages.send_burst = 1;
    })
    .await;
    let server = Plaza::new(&app.base).unwrap();
    let ann =
        server.with_jwt(server.register("ann@example.com", PASSWORD, None).await.unwrap().token);
    let space = ann.create_space("Busy").await.unwrap();
    ann.send_chat(&space.id, "one").await.unwrap();
    let plaza_client::ClientError::Api(error) = ann.send_chat(&space.id, "two").await.unwrap_err()
    else {
        panic!("expected a refusal")
    };
    assert_eq!(
        (error.status, error.code.as_str(), error.retry_after),
        (429, "request.rate_limited", Some(1))
    );
    assert!(Plaza::new("ftp://example.com").is_err());
}

#[tokio::test]
async fn the_live_client_reconnects_resubscribes_and_catches_up_after_a_server_drop() {
    use plaza_client::live::{LiveClient, LiveEvent, Reconnect};
    use plaza_client::realtime::Credentials;

    let folder = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = ServerProcess::start(port, folder.path(), None).await;
    let base = format!("http://127.0.0.1:{port}");
    let plaza = Plaza::new(&base).unwrap();
    let ann =
        plaza.with_jwt(plaza.register("ann@example.com", PASSWORD, None).await.unwrap().token);
    let bob_session = plaza.register("bob@example.com", PASSWORD, None).await.unwrap();
    let space = ann.create_space("Live").await.unwrap();
    ann.add_member(&space.id, &bob_session.user.id, "member").await.unwrap();

    let mut live = LiveClient::connect(&base, Credentials::jwt(&bob_session.token))
        .await
        .unwrap()
        .with_reconnect(Reconnect {
            first_delay: std::time::Duration::from_millis(50),
            ..Reconnect::default()
        });
    live.subscribe(&space.id).await.unwrap();
    let text_of = |event: &LiveEvent| match event {
        LiveEvent::MessageSent(message) => Some(message.content.body_text.clone()),
        _ => None,
    };
    let next_text = async |live: &mut LiveClient| loop {
        let event = tokio::time::timeout(std::time::Duration::from_secs(15), live.next())
            .await
            .expect("an event in time")
            .expect("the session goes on");
        if let Some(text) = text_of(&event) {
            return text;
        }
    };
    ann.send_chat(&space.id, "before").await.unwrap();
    assert_eq!(next_text(&mut live).await, "before");

    // The server dies; messages are written once it is back, before Bob reconnects.
    server.kill();
    let server = ServerProcess::start(server.port, &server.folder.clone(), None).await;
    for text in ["missed 1", "missed 2"] {
        ann.send_chat(&space.id, text).await.unwrap();
    }
    let event = tokio::time::timeout(std::time::Duration::from_secs(15), live.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event, LiveEvent::Reconnected);
    assert_eq!(next_text(&mut live).await, "missed 1");
    assert_eq!(next_text(&mut live).await, "missed 2");
    // Live again, and nothing twice.
    live.send_chat(&space.id, "back").unwrap();
    assert_eq!(next_text(&mut live).await, "back");
    ann.send_chat(&space.id, "after").await.unwrap();
    assert_eq!(next_text(&mut live).await, "after");

    // Refusals are typed too.
    live.emit(
        "SEND_MESSAGE",
        &json!({"category": "chat", "topicId": space.id, "content": {"bodyText": " "}}),
    )
    .unwrap();
    let refused = loop {
        match live.next().await.unwrap() {
            refused @ LiveEvent::Refused { .. } => break refused,
            _ => continue,
        }
    };
    let LiveEvent::Refused { event, code, .. } = refused else { unreachable!() };
    assert_eq!((event.as_str(), code.as_str()), ("SEND_MESSAGE_FAILED", "request.invalid"));
    live.close().await;
    drop(server);
}

#[tokio::test]
async fn a_service_app_bot_answers_in_its_spaces() {
    use plaza_client::live::{LiveClient, LiveEvent};
    use plaza_client::realtime::Credentials;

    let app = spawn_app_with(|_| {}).await;
    let server = Plaza::new(&app.base).unwrap();
    let admin_session = server.register("ops@example.com", PASSWORD, None).await.unwrap();
    let admin = server.with_jwt(&admin_session.token);
    let created = app
        .post(
            "/api/admin/service-apps",
            Some(&crate::helpers::jwt(&admin_session.token)),
            &json!({"name": "Ping bot"}),
        )
        .await;
    let client_id = created.body["data"]["clientId"].as_str().unwrap();
    let secret = created.body["data"]["clientSecret"].as_str().unwrap();
    let token = server.service_app_token(client_id, secret).await.unwrap();
    let bot = server.with_service_app(&token);
    let bot_user = bot.me().await.unwrap();
    let wrong = server.service_app_token(client_id, "not the secret").await.unwrap_err();
    assert!(wrong.code().is_some_and(|c| c.starts_with("oauth.")), "{wrong}");

    let space = admin.create_space("Bots welcome").await.unwrap();
    admin.add_member(&space.id, &bot_user.id, "member").await.unwrap();
    let mut live = LiveClient::connect(&app.base, Credentials::jwt(&token)).await.unwrap();
    for listed in bot.spaces().try_collect::<Vec<_>>().await.unwrap() {
        live.subscribe(&listed.id).await.unwrap();
    }
    admin.send_chat(&space.id, "!ping").await.unwrap();
    // The bot's loop, as in examples/bot.rs.
    let asked = loop {
        if let Some(LiveEvent::MessageSent(message)) = live.next().await
            && message.content.body_text == "!ping"
        {
            break message;
        }
    };
    bot.send_chat(&asked.space_id, "pong").await.unwrap();
    let history: Vec<_> = admin.history(&space.id).try_collect().await.unwrap();
    assert_eq!(history[0].content.body_text, "pong");
    assert_eq!(history[0].sender.id, bot_user.id);
    live.close().await;
}

#[tokio::test]
async fn the_sdk_covers_my_lists_preferences_invitations_and_meeting_controls() {
    use plaza_client::live::{LiveClient, LiveEvent};
    use plaza_client::realtime::Credentials;

    let app = spawn_app_with(|s| s.messages.sends_per_second = 0).await;
    let server = Plaza::new(&app.base).unwrap();
    let ann_session = server.register("ann@example.com", PASSWORD, Some("Ann")).await.unwrap();
    let bob_session = server.register("bob@example.com", PASSWORD, Some("Bob")).await.unwrap();
    let ann = server.with_jwt(&ann_session.token);
    let bob = server.with_jwt(&bob_session.token);
    let space = ann.create_space("Controls").await.unwrap();
    ann.add_member(&space.id, &bob_session.user.id, "guest").await.unwrap();
    ann.set_role(&space.id, &bob_session.user.id, "member").await.unwrap();
    let members: Vec<_> = ann.members(&space.id).try_collect().await.unwrap();
    assert_eq!(members[1].role, "member");

    // My things.
    let settings = bob.update_settings(&json!({"muteaudio": true})).await.unwrap();
    assert_eq!(settings["data"]["muteaudio"], true, "{settings}");
    assert!(bob.settings().await.unwrap().is_object());
    bob.create_post(&space.id, "Idea", "").await.unwrap();
    let task = ann
        .create_task(
            &space.id,
            &NewTask {
                title: "Do".into(),
                assignees: vec![bob_session.user.id.clone()],
                ..NewTask::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(bob.my_posts().try_collect::<Vec<_>>().await.unwrap().len(), 1);
    let pending: Vec<_> = bob.my_tasks(Some("pending")).try_collect().await.unwrap();
    assert_eq!(pending[0].id, task.id);
    assert!(bob.my_tasks(Some("completed")).try_collect::<Vec<_>>().await.unwrap().is_empty());
    bob.mark_read(&space.id).await.unwrap();
    bob.set_preference(&space.id, &json!({"isPinned": true})).await.unwrap();
    bob.set_hidden(&space.id, true).await.unwrap();
    bob.set_hidden(&space.id, false).await.unwrap();
    let colleagues: Vec<_> = bob.colleagues().try_collect().await.unwrap();
    assert_eq!(colleagues[0].id, ann_session.user.id);
    assert_eq!(bob.personal_room("ann@example.com").await.unwrap().kind, "personal");
    let report = ann.delete_messages(&[&task.id, "0123456789abcdef01234567"]).await.unwrap();
    assert_eq!(report["deletedMessages"], json!([task.id]));
    assert_eq!(bob.get_json("/api/users/me").await.unwrap()["_id"], bob_session.user.id.as_str());

    // An email invitation, accepted by link.
    let invited = ann.invite_email(&space.id, "carol@example.com", "guest").await.unwrap();
    let invitation =
        invited["data"][0]["inviteId"].as_str().unwrap_or_else(|| panic!("{invited}")).to_owned();
    let carol =
        server.with_jwt(server.register("carol@example.com", PASSWORD, None).await.unwrap().token);
    assert_eq!(carol.accept_invitation(&invitation).await.unwrap().id, space.id);

    // A meeting both join through the live client, controlled through the SDK.
    let mut ann_live =
        LiveClient::connect(&app.base, Credentials::jwt(&ann_session.token)).await.unwrap();
    let mut bob_live =
        LiveClient::connect(&app.base, Credentials::jwt(&bob_session.token)).await.unwrap();
    ann_live.subscribe(&space.id).await.unwrap();
    bob_live.subscribe(&space.id).await.unwrap();
    let tracks = json!({"category": "tracksstatus", "topicId": space.id, "content": {"mediaSession": {"audio": true, "connected": true}}});
    ann_live.emit("SEND_MEDIA_SESSION_EVENTS", &tracks).unwrap();
    let started = loop {
        if let Some(LiveEvent::MediaSessionEvent(event)) = bob_live.next().await
            && event.category == "tracksstatus"
        {
            break event;
        }
    };
    let meeting = started.meeting_id.clone().unwrap();
    bob_live.emit("SEND_MEDIA_SESSION_EVENTS", &tracks).unwrap();
    let joined = loop {
        if let Some(LiveEvent::MediaSessionEvent(event)) = ann_live.next().await
            && event.category == "app.event.attendee.added"
            && event.content["attendee"]["_id"] == bob_session.user.id.as_str()
        {
            break event;
        }
    };
    assert_eq!(joined.meeting_id.as_deref(), Some(meeting.as_str()));
    let active = bob.active_meeting(&space.id).await.unwrap().unwrap();
    assert_eq!(active.id, meeting);
    bob.raise_hand(&space.id, &meeting, &["PERMISSION_UNMUTE"]).await.unwrap();
    let granted = ann
        .answer_hand(&space.id, &meeting, &bob_session.user.id, true, &["PERMISSION_UNMUTE"])
        .await
        .unwrap();
    assert_eq!(granted.content["attendees"][1]["grantedPermissions"], json!(["PERMISSION_UNMUTE"]));
    let muted = ann
        .set_media_state(&space.id, &meeting, &bob_session.user.id, &json!({"audio": false}))
        .await
        .unwrap();
    assert_eq!(muted.content["attendees"][1]["mediaSession"]["audio"], false);
    let themed = ann.set_layout(&space.id, &meeting, "THEME", Some("CAFE")).await.unwrap();
    assert_eq!(themed.content["layout"]["backgroundTheme"], "CAFE");
    let refused = bob.set_layout(&space.id, &meeting, "GRID", None).await.unwrap_err();
    assert_eq!(refused.code(), Some("permission.denied"));
    let recording = ann.start_recording(&space.id, &meeting).await.unwrap();
    let recording_id = recording.content["recordings"][0]["_id"].as_str().unwrap().to_owned();
    let stopped = ann.stop_recording(&space.id, &meeting, &recording_id).await.unwrap();
    assert_eq!(stopped.content["recordings"][0]["status"], "ready");
    ann.mute_all(&space.id, &meeting, &[]).await.unwrap();
    let ended = ann.end_meeting(&space.id, &meeting).await.unwrap();
    assert_eq!(ended.content["meetingStatus"], "inactive");
    assert_eq!(bob.meetings(&space.id).try_collect::<Vec<_>>().await.unwrap().len(), 1);
    ann_live.close().await;
    bob_live.close().await;

    ann.delete_space(&space.id).await.unwrap();
    assert_eq!(bob.space(&space.id).await.unwrap_err().code(), Some("topic.not_found"));
}

#[tokio::test]
async fn the_sdk_takes_oauth_tokens_raw_calls_and_unsubscribes() {
    use plaza_client::live::{LiveClient, LiveEvent};
    use plaza_client::realtime::Credentials;

    let app = spawn_app_with(|_| {}).await;
    let server = Plaza::new(&app.base).unwrap();
    assert_eq!(server.base_url(), app.base);
    let admin = server.register("admin@example.com", PASSWORD, None).await.unwrap();
    let created = app
        .post(
            "/api/admin/oauth-clients",
            Some(&crate::helpers::jwt(&admin.token)),
            &json!({"name": "Web app", "redirectUris": ["https://app.example/cb"], "public": false}),
        )
        .await;
    let client_id = created.body["data"]["clientId"].as_str().unwrap();
    let secret = created.body["data"]["clientSecret"].as_str().unwrap();
    let granted = server
        .post_json(
            "/oauth2/access_token",
            &json!({"grant_type": "password", "username": "admin@example.com", "password": PASSWORD,
                    "client_id": client_id, "client_secret": secret}),
        )
        .await
        .unwrap();
    let bearer = server.with_bearer(granted["access_token"].as_str().unwrap());
    assert_eq!(bearer.me().await.unwrap().id, admin.user.id);

    let jwt = server.with_jwt(&admin.token);
    let space = jwt.create_space("Leaving").await.unwrap();
    let mut live = LiveClient::connect(&app.base, Credentials::jwt(&admin.token)).await.unwrap();
    live.subscribe(&space.id).await.unwrap();
    live.unsubscribe(&space.id).unwrap();
    loop {
        if let Some(LiveEvent::Unsubscribed { space_id }) = live.next().await {
            assert_eq!(space_id, space.id);
            break;
        }
    }
    live.close().await;
}
