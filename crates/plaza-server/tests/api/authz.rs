//! The authorization matrix: every REST operation of the OpenAPI document, and every
//! socket event, tried by each kind of caller, with the outcome the CONTRACT role table
//! gives. An operation without a row fails the test, so a new endpoint must say who may
//! use it. Run with `PLAZA_AUTHZ_PRINT=1` to print what the server does, row by row.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use plaza_client::RealtimeClient;
use plaza_client::realtime::Credentials;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, claims_of, jwt, spawn_app_with};

/// The callers, least privileged first (so that destructive operations run by admins
/// come last on each fresh space).
const CALLERS: [&str; 8] =
    ["no token", "expired", "non-member", "service app", "anonymous", "guest", "member", "admin"];

/// What a caller gets: `U` refused as unauthenticated (401), `D` refused as not
/// permitted (403), `H` the space is hidden from them (404 `topic.not_found`), `A`
/// allowed (anything else: success, or an error about the input itself). `H` covers
/// messages and files of a hidden space too: the fixture's all exist.
fn outcome(answer: &Answer) -> char {
    assert!(answer.status.as_u16() < 500, "a 5xx: {}", answer.text);
    match (answer.status.as_u16(), answer.body["code"].as_str()) {
        (401, _) => 'U',
        (403, _) => 'D',
        (404, Some("topic.not_found" | "message.not_found" | "file.not_found")) => 'H',
        _ => 'A',
    }
}

/// Expected outcomes per operation (`/api/topics` aliases share the `/api/spaces`
/// rows), one letter per caller in [`CALLERS`] order.
/// The history reads (`ideas`, `tasks`, `messages/*`, `meetings`) answer whoever could
/// join the fixture space by link, as a guest joining now would see it.
const EXPECTED: &[(&str, &str)] = &[
    // Callers:                                                   none, expired, non-member,
    //                                                             service app, anonymous,
    //                                                             guest, member, admin.
    ("GET /.well-known/jwks.json", "AAAAAAAA"),
    ("GET /api/admin/audit", "UUDDDDDA"),
    ("POST /api/admin/invitations", "UUDDDDDA"),
    ("GET /api/admin/oauth-clients", "UUDDDDDA"),
    ("POST /api/admin/oauth-clients", "UUDDDDDA"),
    ("DELETE /api/admin/oauth-clients/{client_id}", "UUDDDDDA"),
    ("GET /api/admin/service-apps", "UUDDDDDA"),
    ("POST /api/admin/service-apps", "UUDDDDDA"),
    ("DELETE /api/admin/service-apps/{client_id}", "UUDDDDDA"),
    ("GET /api/admin/users", "UUDDDDDA"),
    ("POST /api/admin/users", "UUDDDDDA"),
    ("POST /api/admin/users/{user}/disable", "UUDDDDDA"),
    ("POST /api/admin/users/{user}/enable", "UUDDDDDA"),
    ("POST /api/analytics/video/conference/start", "UUDDAAAA"),
    ("POST /api/analytics/video/conference/stop", "UUDDAAAA"),
    ("POST /api/anonymous/auth", "AAAAAAAA"),
    ("POST /api/auth/login", "AAAAAAAA"),
    ("POST /api/auth/logout", "UUAAAAAA"),
    // Password reset and the digest's unsubscribe link take their own token, no caller.
    ("POST /api/auth/password/forgot", "AAAAAAAA"),
    ("POST /api/auth/password/reset", "AAAAAAAA"),
    ("GET /api/users/digest/unsubscribe", "AAAAAAAA"),
    ("POST /api/users/digest/unsubscribe", "AAAAAAAA"),
    ("POST /api/auth/register", "AAAAAAAA"),
    ("GET /api/confnumbers", "UUAAAAAA"),
    ("GET /api/files/download/{key}", "DDDDDDDD"),
    ("GET /api/flavor", "UUAAAAAA"),
    ("GET /api/flavor/email/{email}", "UUAAAAAA"),
    ("GET /api/files/getdownloadurl", "UUHHAAAA"),
    ("POST /api/files/getdownloadurl", "UUHHAAAA"),
    ("POST /api/files/getuploadurl", "UUAAAAAA"),
    ("PUT /api/files/upload/{key}", "DDDDDDDD"),
    ("GET /api/files/{key}", "UUHHAAAA"),
    ("GET /api/ideas/{message_id}/messages", "UUHHAAAA"),
    ("GET /api/mediasessions/mpaas/token/{space_id}", "UUDDAAAA"),
    ("POST /api/messages/deletemessages", "UUAAAAAA"),
    ("DELETE /api/messages/{message_id}", "UUHHDDDA"),
    ("GET /api/messages/{message_id}", "UUHHAAAA"),
    ("PATCH /api/messages/{message_id}", "UUHHDDDA"),
    ("POST /api/messages/{message_id}", "UUHHDDDA"),
    ("GET /api/openapi.json", "AAAAAAAA"),
    ("GET /api/service-configurations", "AAAAAAAA"),
    ("GET /api/spaces/direct/{user_type}/{user_id}", "UUAAAAAA"),
    ("POST /api/spaces/invite", "UUAADAAA"),
    ("GET /api/spaces/invites/{invite_id}/join", "UUADADDD"),
    ("DELETE /api/spaces/{space_id}", "UUDDDDDA"),
    ("GET /api/spaces/{space_id}", "UUAAAAAA"),
    ("POST /api/spaces/{space_id}", "UUDDDDDA"),
    ("GET /api/spaces/{space_id}/activemeeting", "UUDDAAAA"),
    ("GET /api/spaces/{space_id}/activemeetings", "UUDDAAAA"),
    ("DELETE /api/spaces/{space_id}/attendees/{attendee_type}/{user_id}", "UUDDDAAA"),
    ("POST /api/spaces/{space_id}/attendees/{attendee_type}/{user_id}", "UUDDDDDA"),
    ("POST /api/spaces/{space_id}/chats", "UUDDAAAA"),
    ("GET /api/spaces/{space_id}/ideas", "UUAAAAAA"),
    ("POST /api/spaces/{space_id}/ideas", "UUDDDDAA"),
    ("POST /api/spaces/{space_id}/invite", "UUDDDDAA"),
    ("GET /api/spaces/{space_id}/join", "UUAAAAAA"),
    ("GET /api/spaces/{space_id}/join/", "UUAAAAAA"),
    ("GET /api/spaces/{space_id}/meetings", "UUAAAAAA"),
    ("POST /api/spaces/{space_id}/meetings/{meeting_id}/attendees/raisedhands", "UUDDAAAA"),
    ("POST /api/spaces/{space_id}/meetings/{meeting_id}/attendees/raisedhands/accept", "UUDDDDDA"),
    ("POST /api/spaces/{space_id}/meetings/{meeting_id}/attendees/raisedhands/lower", "UUDDDDAA"),
    (
        "POST /api/spaces/{space_id}/meetings/{meeting_id}/attendees/{attendee_type}/{attendee_id}/mediastate",
        "UUDDDDAA",
    ),
    ("POST /api/spaces/{space_id}/meetings/{meeting_id}/end", "UUDDDDDA"),
    ("POST /api/spaces/{space_id}/meetings/{meeting_id}/layout", "UUDDDDDA"),
    ("POST /api/spaces/{space_id}/meetings/{meeting_id}/muteall", "UUDDDDDA"),
    ("POST /api/spaces/{space_id}/meetings/{meeting_id}/recordings", "UUDDDDDA"),
    (
        "POST /api/spaces/{space_id}/meetings/{meeting_id}/recordings/{recording_id}/stop",
        "UUDDDDDA",
    ),
    ("GET /api/spaces/{space_id}/members", "UUDDAAAA"),
    ("GET /api/spaces/{space_id}/messages/byref", "UUAAAAAA"),
    ("GET /api/spaces/{space_id}/messages/query", "UUAAAAAA"),
    ("GET /api/spaces/{space_id}/tasks", "UUAAAAAA"),
    ("POST /api/spaces/{space_id}/tasks", "UUDDDDAA"),
    ("GET /api/tasks/{message_id}/messages", "UUHHAAAA"),
    ("GET /api/users/me", "UUAAAAAA"),
    ("GET /api/users/me/attachments/natives", "UUAAAAAA"),
    ("GET /api/users/me/featuresrollout", "UUAADAAA"),
    ("GET /api/users/me/ideas", "UUAAAAAA"),
    ("GET /api/users/me/messages", "UUAAAAAA"),
    ("GET /api/users/me/settings", "UUAAAAAA"),
    ("POST /api/users/me/settings", "UUAAAAAA"),
    ("POST /api/users/me/settings/{settings_id}", "UUAAAAAA"),
    ("GET /api/users/me/spaces", "UUAAAAAA"),
    ("POST /api/users/me/spaces/{space_id}/hide", "UUAAAAAA"),
    ("POST /api/users/me/spaces/{space_id}/markread", "UUAAAAAA"),
    ("POST /api/users/me/spaces/{space_id}/preference", "UUAAAAAA"),
    ("POST /api/users/me/spaces/{space_id}/unhide", "UUAAAAAA"),
    ("GET /api/users/me/tasks", "UUAAAAAA"),
    ("GET /api/users/meetingroom/{email}", "UUADDAAA"),
    ("GET /api/users/{user}/colleagues", "UUDDDDAD"),
    ("GET /api/users/{user}/people/withdm", "UUDDDDAD"),
    ("GET /api/users/{user_id}/statistics", "UUDDDDAA"),
    ("GET /health", "AAAAAAAA"),
    ("GET /norevimages/noimage.jpg", "AAAAAAAA"),
    ("POST /oauth2/access_token", "AAAAAAAA"),
    ("GET /oauth2/authorize", "AUAAAAAA"),
    ("POST /oauth2/authorize", "AAAAAAAA"),
    ("POST /oauth2/revoke_token", "AAAAAAAA"),
    ("GET /ready", "AAAAAAAA"),
];

struct Callers {
    /// The `Authorization` value of each caller (`None`: no header).
    headers: Vec<Option<String>>,
    ids: BTreeMap<&'static str, String>,
    root: String,
}

/// One space set up afresh for each operation, with a message, a task and a file.
struct Fixture {
    space: String,
    message: String,
    task: String,
    file: String,
    invitation: String,
    client: String,
}

async fn register(app: &TestApp, name: &str) -> (String, String) {
    let (token, user) = app.register(&format!("{name}@example.com")).await;
    (token, user["_id"].as_str().unwrap().to_owned())
}

async fn callers(app: &TestApp) -> Callers {
    let (root, root_id) = register(app, "root").await;
    let (member, member_id) = register(app, "member").await;
    let (guest, guest_id) = register(app, "guest").await;
    let (outsider, outsider_id) = register(app, "outsider").await;
    let anonymous = app.anonymous("Visitor").await;
    let anonymous_id = claims_of(&anonymous)["sub"].as_str().unwrap().to_owned();
    let created =
        app.post("/api/admin/service-apps", Some(&jwt(&root)), &json!({"name": "Bot"})).await;
    let data = &created.body["data"];
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        data["clientId"].as_str().unwrap(),
        data["clientSecret"].as_str().unwrap()
    ));
    let granted = app
        .send(
            app.request(Method::POST, "/oauth2/access_token", Some(&format!("Basic {basic}")))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    let service = granted.body["access_token"].as_str().unwrap().to_owned();
    // A genuine token that has expired: signed with the server's key, a minute old.
    let expired = {
        use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
        let pem = std::fs::read_to_string(app.data_dir.join("keys/jwt-ed25519.pem")).unwrap();
        let der = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap().to_pkcs8_der().unwrap();
        let key = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());
        let mut claims = claims_of(&member);
        claims["exp"] = json!(crate::helpers::now_secs() - 60);
        let header = jsonwebtoken::decode_header(&member).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let ids = BTreeMap::from([
        ("root", root_id),
        ("member", member_id),
        ("guest", guest_id),
        ("outsider", outsider_id),
        ("anonymous", anonymous_id),
    ]);
    Callers {
        headers: vec![
            None,
            Some(jwt(&expired)),
            Some(jwt(&outsider)),
            Some(format!("service_app {service}")),
            Some(jwt(&anonymous)),
            Some(jwt(&guest)),
            Some(jwt(&member)),
            Some(jwt(&root)),
        ],
        ids,
        root,
    }
}

fn created_id(answer: &Answer) -> String {
    assert!(answer.status.is_success(), "{}", answer.text);
    let body = &answer.body;
    body["_id"].as_str().or(body["data"]["_id"].as_str()).unwrap().to_owned()
}

async fn fixture(app: &TestApp, callers: &Callers) -> Fixture {
    let root = jwt(&callers.root);
    let space = app.create_space(&callers.root, "Matrix").await;
    for (who, role) in [("member", "member"), ("guest", "guest")] {
        let added = app
            .post(
                &format!("/api/spaces/{space}/attendees/userId/{}", callers.ids[who]),
                Some(&root),
                &json!({"role": role}),
            )
            .await;
        assert!(added.status.is_success(), "{}", added.text);
    }
    let joined = app.get(&format!("/api/spaces/{space}/join"), callers.headers[4].as_deref()).await;
    assert!(joined.status.is_success(), "{}", joined.text);
    let upload = app
        .post(
            "/api/files/getuploadurl",
            Some(&root),
            &json!({"files": [{"Content-Type": "text/plain", "Content-Length": 2}], "topicId": space}),
        )
        .await;
    let entry = &upload.body["data"][0];
    let file = entry["fileKey"].as_str().unwrap().to_owned();
    let put = app
        .client
        .put(entry["url"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let message = created_id(
        &app.post(
            &format!("/api/spaces/{space}/chats"),
            Some(&root),
            &json!({"content": {"bodyText": "hello", "data": [{"fileId": file, "name": "hi.txt", "fileType": "document", "path": file}]}}),
        )
        .await,
    );
    let task = created_id(
        &app.post(
            &format!("/api/spaces/{space}/tasks"),
            Some(&root),
            &json!({"content": {"bodyText": "Do", "description": "Do it", "status": "pending"}}),
        )
        .await,
    );
    let invited = app
        .post(
            &format!("/api/spaces/{space}/invite"),
            Some(&root),
            &json!({"invitees": [{"inviteeType": "email", "invitee": "outsider@example.com", "role": "member"}]}),
        )
        .await;
    let link = invited.body["data"][0]["joinUrl"].as_str().unwrap_or_default();
    let invitation = link.rsplit("/invites/").next().unwrap().trim_end_matches("/join").to_owned();
    assert_eq!(invitation.len(), 24, "{}", invited.text);
    let client = app
        .post(
            "/api/admin/oauth-clients",
            Some(&root),
            &json!({"name": "Web", "redirectUris": ["https://app.example/cb"]}),
        )
        .await;
    let client = client.body["data"]["clientId"].as_str().unwrap().to_owned();
    Fixture { space, message, task, file, invitation, client }
}

/// The path with its parameters filled from the fixture.
fn fill(path: &str, fixture: &Fixture, callers: &Callers, victim: &str) -> String {
    let message = if path.starts_with("/api/ideas/") || path.starts_with("/api/tasks/") {
        &fixture.task
    } else {
        &fixture.message
    };
    path.replace("{space_id}", &fixture.space)
        .replace("{message_id}", message)
        .replace("{attendee_type}", "userId")
        .replace("{user_type}", "user")
        .replace(
            "{user_id}",
            if path.contains("/attendees/") {
                &callers.ids["guest"]
            } else {
                &callers.ids["member"]
            },
        )
        .replace("{attendee_id}", &callers.ids["member"])
        .replace("{meeting_id}", "000000000000000000000000")
        .replace("{recording_id}", "000000000000000000000000")
        .replace("{settings_id}", "000000000000000000000000")
        .replace("{invite_id}", &fixture.invitation)
        .replace("{client_id}", &fixture.client)
        .replace("{key}", &fixture.file)
        .replace(
            "/api/files/getdownloadurl",
            &format!("/api/files/getdownloadurl?fileKeys={}", fixture.file),
        )
        .replace("{email}", "member@example.com")
        .replace(
            "{user}",
            if path.starts_with("/api/admin/") { victim } else { &callers.ids["member"] },
        )
}

/// A body the operation accepts, so that what is tested is who may call it.
fn body(method: &str, path: &str, fixture: &Fixture, callers: &Callers) -> Option<Value> {
    if method == "GET" || method == "DELETE" {
        return None;
    }
    let path = spaces_path(path);
    let member = &callers.ids["member"];
    let meeting = "/api/spaces/{space_id}/meetings/{meeting_id}";
    let content = json!({"content": {"bodyText": "x", "description": "x", "status": "pending"}});
    if let Some(rest) = path.strip_prefix(meeting) {
        return Some(match rest {
            "/attendees/raisedhands/accept" | "/attendees/raisedhands/lower" => {
                json!({"attendeeId": member, "attendeeType": "userId"})
            }
            "/attendees/{attendee_type}/{attendee_id}/mediastate" => json!({"audio": false}),
            "/layout" => json!({"layout": "GRID"}),
            _ => json!({}),
        });
    }
    Some(match path.as_str() {
        p if p.ends_with("/chats") || p.ends_with("/ideas") || p.ends_with("/tasks") => content,
        "/api/messages/{message_id}" => json!({"content": {"bodyText": "edited"}}),
        "/api/messages/deletemessages" => json!({"messageIds": [fixture.message]}),
        "/api/analytics/video/conference/start" | "/api/analytics/video/conference/stop" => {
            json!({"vcid": format!("topic_{}", fixture.space)})
        }
        "/api/spaces/invite" => json!({"topic": {"title": "New"}}),
        "/api/spaces/{space_id}" => json!({"title": "Renamed"}),
        "/api/spaces/{space_id}/invite" => {
            json!({"invitees": [{"inviteeType": "email", "invitee": "new@example.com", "role": "guest"}]})
        }
        "/api/spaces/{space_id}/attendees/{attendee_type}/{user_id}" => json!({"role": "guest"}),
        "/api/files/getuploadurl" => {
            json!({"files": [{"Content-Type": "text/plain", "Content-Length": 2}]})
        }
        "/api/files/getdownloadurl" => json!({"fileKeys": [fixture.file]}),
        "/api/admin/users" => {
            json!({"username": format!("made{}@example.com", rand::random::<u32>()), "password": "correct horse battery"})
        }
        "/api/admin/invitations" => json!({"email": "invited@example.com"}),
        "/api/admin/oauth-clients" => {
            json!({"name": "App", "redirectUris": ["https://app.example/cb"]})
        }
        "/api/admin/service-apps" => json!({"name": "App"}),
        _ => json!({}),
    })
}

/// The operations of the OpenAPI document: (method, path).
async fn operations(app: &TestApp) -> Vec<(String, String)> {
    let spec = app.get("/api/openapi.json", None).await.body;
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    // Signing out ends the callers' sessions: last.
    operations.sort_by_key(|(_, path)| match path.as_str() {
        "/oauth2/revoke_token" => 1,
        "/api/auth/logout" => 2,
        _ => 0,
    });
    operations
}

/// `/api/topics/...` aliases as the `/api/spaces/...` path they share a row with.
fn spaces_path(path: &str) -> String {
    path.replacen("/api/topics", "/api/spaces", 1).replacen(
        "/api/users/me/topics",
        "/api/users/me/spaces",
        1,
    )
}

fn row_key(method: &str, path: &str) -> String {
    format!("{method} {}", spaces_path(path))
}

#[tokio::test]
async fn every_operation_answers_each_kind_of_caller_as_the_role_table_says() {
    let app = spawn_app_with(|s| {
        s.messages.sends_per_second = 0;
        s.limits.uploads_per_second = 0;
    })
    .await;
    let callers = callers(&app).await;
    let expected: BTreeMap<&str, &str> = EXPECTED.iter().copied().collect();
    let printing = std::env::var("PLAZA_AUTHZ_PRINT").is_ok_and(|v| v == "1");
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    let mut rows = 0;
    for (method, path) in operations(&app).await {
        let key = row_key(&method, &path);
        let fixture = fixture(&app, &callers).await;
        let victim = if path.starts_with("/api/admin/users/") {
            register(&app, &format!("victim{}", rand::random::<u32>())).await.1
        } else {
            String::new()
        };
        let url = fill(&path, &fixture, &callers, &victim);
        let mut seen = String::new();
        let mut detail = Vec::new();
        for header in &callers.headers {
            let mut request = app.request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &url,
                header.as_deref(),
            );
            if let Some(body) = body(&method, &path, &fixture, &callers) {
                request = request.json(&body);
            }
            let answer = app.send(request).await;
            seen.push(outcome(&answer));
            detail.push(format!(
                "{} {}",
                answer.status.as_u16(),
                answer.body["code"].as_str().unwrap_or("")
            ));
        }
        rows += 1;
        if printing {
            println!("    (\"{key}\", \"{seen}\"), // {path}: {}", detail.join(", "));
        }
        match expected.get(key.as_str()) {
            None => missing.push(key),
            Some(want) if *want != seen => {
                wrong.push(format!("{key}: expected {want}, got {seen}"))
            }
            Some(_) => {}
        }
    }
    assert!(missing.is_empty(), "operations without a row in the matrix: {missing:#?}");
    assert!(wrong.is_empty(), "callers ({CALLERS:?}):\n{}", wrong.join("\n"));
    eprintln!("authorization matrix: {rows} operations × {} callers", CALLERS.len());
}

/// The socket events in the matrix, one letter per caller as for REST: `U` the
/// connection is refused, `D` the event is refused with `permission.denied`, `H` the
/// space is hidden, `A` the event does what it asks.
const SOCKET_EXPECTED: &[(&str, &str)] = &[
    ("connect", "UUAAAAAA"),
    // Subscribing joins a group space by link, as a guest, like `GET .../join`.
    ("SUBSCRIBE_CHANNEL", "UUAAAAAA"),
    ("SUBSCRIBE_CHANNEL memberOnly", "UUDDAAAA"),
    ("SEND_MESSAGE chat", "UUAAAAAA"),
    // Posts and tasks: members and admins only.
    ("SEND_MESSAGE idea", "UUDDDDAA"),
    ("SEND_MEDIA_SESSION_EVENTS", "UUAAAAAA"),
];

/// Waits for `success`, or for `failure` (answering its error code as an outcome).
async fn answer_to(client: &mut RealtimeClient, success: &str, failure: &str, tag: &str) -> char {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Ok(Some(event)) = tokio::time::timeout(left, client.next_event()).await else {
            panic!("neither {success} nor {failure} arrived");
        };
        let ours = event.payload["loopbackMetadata"] == tag || success == "CHANNEL_SUBSCRIBED";
        if event.name == success && ours {
            return 'A';
        }
        if event.name == failure {
            return match event.payload["error"]["code"].as_str() {
                Some("permission.denied" | "topic.member_only") => 'D',
                Some("topic.not_found") => 'H',
                Some(code) if code.starts_with("auth.") => 'U',
                _ => 'A',
            };
        }
    }
}

#[tokio::test]
async fn every_socket_event_answers_each_kind_of_caller_as_the_role_table_says() {
    let app = spawn_app_with(|s| s.messages.sends_per_second = 0).await;
    let callers = callers(&app).await;
    let fixture = fixture(&app, &callers).await;
    let space = fixture.space.clone();
    // A second space that only its members may enter (no joining by link).
    let closed = self::fixture(&app, &callers).await.space;
    let made_closed = app
        .post(
            &format!("/api/spaces/{closed}"),
            Some(&jwt(&callers.root)),
            &json!({"settings": {"memberOnly": true}}),
        )
        .await;
    assert!(made_closed.status.is_success(), "{}", made_closed.text);
    let events = [
        "connect",
        "SUBSCRIBE_CHANNEL",
        "SUBSCRIBE_CHANNEL memberOnly",
        "SEND_MESSAGE chat",
        "SEND_MESSAGE idea",
        "SEND_MEDIA_SESSION_EVENTS",
    ];
    let mut seen: BTreeMap<&str, String> = events.iter().map(|e| (*e, String::new())).collect();
    for header in &callers.headers {
        let token =
            header.as_deref().map(|h| h.split_once(' ').map_or(h, |(_, t)| t)).unwrap_or("");
        let connected = RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(token)).await;
        let Ok(mut client) = connected else {
            for event in events {
                seen.get_mut(event).unwrap().push('U');
            }
            continue;
        };
        seen.get_mut("connect").unwrap().push('A');
        client.subscribe(&closed, None).unwrap();
        let entered =
            answer_to(&mut client, "CHANNEL_SUBSCRIBED", "SUBSCRIBE_CHANNEL_FAILED", "").await;
        seen.get_mut("SUBSCRIBE_CHANNEL memberOnly").unwrap().push(entered);
        client.subscribe(&space, None).unwrap();
        let subscribed =
            answer_to(&mut client, "CHANNEL_SUBSCRIBED", "SUBSCRIBE_CHANNEL_FAILED", "").await;
        seen.get_mut("SUBSCRIBE_CHANNEL").unwrap().push(subscribed);
        for (event, category) in [("SEND_MESSAGE chat", "chat"), ("SEND_MESSAGE idea", "idea")] {
            let tag = format!("{event} {}", rand::random::<u32>());
            client
                .emit("SEND_MESSAGE", &json!({"topicId": space, "category": category, "content": {"bodyText": "x", "description": "x"}, "loopbackMetadata": tag}))
                .unwrap();
            let outcome = answer_to(&mut client, "MESSAGE_SENT", "SEND_MESSAGE_FAILED", &tag).await;
            seen.get_mut(event).unwrap().push(outcome);
        }
        let tag = format!("media {}", rand::random::<u32>());
        client
            .emit("SEND_MEDIA_SESSION_EVENTS", &json!({"topicId": space, "category": "video.mute", "content": {}, "loopbackMetadata": tag}))
            .unwrap();
        let outcome = answer_to(
            &mut client,
            "MEDIA_SESSION_RESPONSE",
            "SEND_MEDIA_SESSION_EVENTS_FAILED",
            &tag,
        )
        .await;
        seen.get_mut("SEND_MEDIA_SESSION_EVENTS").unwrap().push(outcome);
        client.close().await;
    }
    let expected: BTreeMap<&str, &str> = SOCKET_EXPECTED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (event, got) in &seen {
        if std::env::var("PLAZA_AUTHZ_PRINT").is_ok_and(|v| v == "1") {
            println!("    (\"{event}\", \"{got}\"),");
        }
        if expected.get(event) != Some(&got.as_str()) {
            wrong.push(format!("{event}: expected {:?}, got {got}", expected.get(event)));
        }
    }
    assert!(wrong.is_empty(), "callers ({CALLERS:?}):\n{}", wrong.join("\n"));
}
