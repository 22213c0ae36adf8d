//! Email against a real SMTP server: Python's `aiosmtpd` (`tests/clients/smtp_sink.py`),
//! started by each test on a free port. Invitations, password reset, the digest of
//! missed mentions and direct messages, and a mail server that is down.
//!
//! Needs `PLAZA_PYTHON_SMTP`, a Python with `aiosmtpd` (`.ci/run` makes one); without it
//! the tests skip, unless `PLAZA_REQUIRE_SMTP=1` makes that a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use plaza_client::RealtimeClient;
use plaza_client::realtime::Credentials;
use plaza_server::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt, spawn_app, spawn_app_with};

/// A running SMTP sink; stops when dropped.
pub struct SmtpSink {
    pub port: u16,
    pub log: PathBuf,
    child: Child,
    _folder: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink, or answers `None` (after saying why) when there is no Python
    /// with aiosmtpd.
    pub fn start() -> Option<SmtpSink> {
        let required = std::env::var("PLAZA_REQUIRE_SMTP").is_ok_and(|v| v == "1");
        let Ok(python) = std::env::var("PLAZA_PYTHON_SMTP") else {
            assert!(!required, "set PLAZA_PYTHON_SMTP to a Python with aiosmtpd");
            eprintln!("skipping: set PLAZA_PYTHON_SMTP to a Python with aiosmtpd");
            return None;
        };
        let folder = tempfile::tempdir().expect("temp folder");
        let log = folder.path().join("mail.jsonl");
        let mut child = Command::new(python)
            .arg(crate::realtime::clients_dir().join("smtp_sink.py"))
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the sink's port");
        let port = line.trim().strip_prefix("PORT ").and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("the sink printed {line:?}"));
        Some(SmtpSink { port, log, child, _folder: folder })
    }

    /// Points `settings` at this sink.
    pub fn configure(&self, settings: &mut Settings) {
        settings.email.host = "127.0.0.1".to_owned();
        settings.email.port = self.port;
        settings.email.security = "none".to_owned();
        settings.email.from = "Plaza Test <plaza@example.com>".to_owned();
        settings.email.server_name = "Plaza Test".to_owned();
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).expect("a JSON mail")).collect()
    }

    /// The mails to `to`.
    pub fn mails_to(&self, to: &str) -> Vec<Value> {
        self.mails()
            .into_iter()
            .filter(|m| m["to"].as_array().is_some_and(|t| t.iter().any(|a| a == to)))
            .collect()
    }

    /// Waits (up to 15 s) until `to` has `count` mails; answers them.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Value> {
        for _ in 0..150 {
            let mails = self.mails_to(to);
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{to} did not get {count} mail(s); the sink has {:?}", self.mails());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first link in `text` that contains `marker`.
pub fn link_in(text: &str, marker: &str) -> String {
    text.split_whitespace()
        .find(|word| word.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} link in {text:?}"))
        .to_owned()
}

async fn invite_by_email(app: &TestApp, admin: &str, space: &str, email: &str) -> Value {
    let answer = app
        .post(
            &format!("/api/spaces/{space}/invite"),
            Some(&jwt(admin)),
            &json!({"invitees": [{"inviteeType": "email", "invitee": email, "role": "member"}]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"][0].clone()
}

#[tokio::test]
async fn an_email_invitation_mails_a_link_to_the_web_join_page_that_joins() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = spawn_app_with(|s| sink.configure(s)).await;
    let (ann, _) = app.register("ann@example.com").await;
    let space = app.create_space(&ann, "Roadmap <2027>").await;
    let entry = invite_by_email(&app, &ann, &space, "bob@example.com").await;
    assert_eq!(entry["mailSent"], true, "{entry}");
    assert!(entry.get("mailError").is_none());

    let mail = &sink.wait_for("bob@example.com", 1).await[0];
    assert_eq!(mail["from"], "plaza@example.com");
    assert!(mail["subject"].as_str().unwrap().contains("Roadmap <2027>"), "{mail}");
    let invite_id = entry["inviteId"].as_str().unwrap();
    let link = link_in(mail["text"].as_str().unwrap(), "#/invite/");
    assert_eq!(link, format!("{}/#/invite/{invite_id}", app.base), "a web page, not the API");
    assert_eq!(entry["webUrl"], link.as_str());
    let html = mail["html"].as_str().unwrap();
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(html.contains("Roadmap &lt;2027&gt;"), "names are escaped in HTML: {html}");
    assert!(mail["headers"]["Content-Type"].as_str().unwrap().starts_with("multipart/alternative"));

    // The link's page is the web client, whose join page accepts the invitation.
    let page = app.get("/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<script"), "the web client: {}", page.text);
    let (bob, _) = app.register("bob@example.com").await;
    let joined = app.get(&format!("/api/spaces/invites/{invite_id}/join"), Some(&jwt(&bob))).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    assert_eq!(joined.body["topic"]["role"], "member");
}

#[tokio::test]
async fn with_the_mail_server_down_the_invitation_is_kept_and_the_answer_says_no_mail_went() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_with(|s| {
        s.email.host = "127.0.0.1".to_owned();
        s.email.port = port;
        s.email.security = "none".to_owned();
    })
    .await;
    let (ann, _) = app.register("ann@example.com").await;
    let space = app.create_space(&ann, "Down").await;
    let entry = invite_by_email(&app, &ann, &space, "bob@example.com").await;
    assert_eq!(entry["status"], "pending");
    assert_eq!(entry["mailSent"], false, "{entry}");
    assert!(entry["mailError"].as_str().is_some_and(|e| !e.is_empty()), "{entry}");
    // Nothing is lost: the link shared by hand still works.
    let (bob, _) = app.register("bob@example.com").await;
    let link = entry["joinUrl"].as_str().unwrap().trim_start_matches(&app.base).to_owned();
    let joined = app.get(&link, Some(&jwt(&bob))).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);

    // Without any mail settings, the answer says so too.
    let plain = spawn_app().await;
    let (ann, _) = plain.register("ann@example.com").await;
    let space = plain.create_space(&ann, "No mail").await;
    let entry = invite_by_email(&plain, &ann, &space, "bob@example.com").await;
    assert_eq!(entry["mailSent"], false);
    assert!(entry["mailError"].as_str().unwrap().contains("not set up"), "{entry}");
    plain
        .post("/api/auth/password/forgot", None, &json!({"username": "ann@example.com"}))
        .await
        .assert_error(403, "mail.not_configured");
}

async fn login(app: &TestApp, username: &str, password: &str) -> StatusCode {
    app.post("/api/auth/login", None, &json!({"username": username, "password": password}))
        .await
        .status
}

#[tokio::test]
async fn a_password_reset_link_works_once_and_only_while_it_is_the_newest() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = spawn_app_with(|s| sink.configure(s)).await;
    let (before_reset, _) = app.register("ann@example.com").await;
    let mut socket = RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(&before_reset))
        .await
        .unwrap();

    // Unknown accounts get the same answer, and no mail.
    let unknown = app
        .post("/api/auth/password/forgot", None, &json!({"username": "nobody@example.com"}))
        .await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED, "{}", unknown.text);
    assert_eq!(unknown.body["mailSent"], true);

    let forgot = json!({"username": "ann@example.com"});
    assert_eq!(
        app.post("/api/auth/password/forgot", None, &forgot).await.status,
        StatusCode::ACCEPTED
    );
    let first = sink.wait_for("ann@example.com", 1).await;
    assert_eq!(
        app.post("/api/auth/password/forgot", None, &forgot).await.status,
        StatusCode::ACCEPTED
    );
    let both = sink.wait_for("ann@example.com", 2).await;
    let token_of = |mail: &Value| {
        let link = link_in(mail["text"].as_str().unwrap(), "#/reset/");
        assert!(link.starts_with(&format!("{}/#/reset/", app.base)), "{link}");
        link.rsplit('/').next().unwrap().to_owned()
    };
    let (old, new) = (token_of(&first[0]), token_of(&both[1]));
    assert_ne!(old, new);
    assert!(sink.mails_to("nobody@example.com").is_empty());

    let reset = |token: &str, password: &str| json!({"token": token, "password": password});
    // The older link stopped working when a newer one was asked for.
    app.post("/api/auth/password/reset", None, &reset(&old, "a brand new secret"))
        .await
        .assert_error(400, "auth.reset_token_invalid");
    // A weak password is refused without using the link up.
    let weak = app.post("/api/auth/password/reset", None, &reset(&new, "short")).await;
    weak.assert_error(400, "request.invalid");
    // Tokens say their second only, so one issued in the reset's own second still counts
    // (identity::refuse_if_issued_before_reset): reset in a later second than the token.
    wait_past_the_second_of(&before_reset).await;
    let done = app.post("/api/auth/password/reset", None, &reset(&new, "a brand new secret")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.body["passwordChanged"], true);
    // The sessions open before the reset end: the token is refused, the socket told.
    app.get("/api/users/me", Some(&jwt(&before_reset)))
        .await
        .assert_error(401, "auth.invalid_token");
    let ended = socket.wait_for("SESSION_ENDED", Duration::from_secs(10)).await.unwrap();
    assert_eq!(ended.payload["code"], "auth.invalid_token", "{:?}", ended.payload);
    assert_eq!(login(&app, "ann@example.com", "a brand new secret").await, StatusCode::OK);
    assert_eq!(
        login(&app, "ann@example.com", "correct horse battery").await,
        StatusCode::UNAUTHORIZED
    );
    // Used once: never again, and the password stays.
    app.post("/api/auth/password/reset", None, &reset(&new, "yet another secret"))
        .await
        .assert_error(400, "auth.reset_token_invalid");
    assert_eq!(login(&app, "ann@example.com", "a brand new secret").await, StatusCode::OK);
}

async fn say(app: &TestApp, token: &str, space: &str, body: Value) -> Value {
    let sent = app.post(&format!("/api/spaces/{space}/chats"), Some(&jwt(token)), &body).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    sent.body["data"].clone()
}

fn mention(user: &Value, text: &str) -> Value {
    let id = user["_id"].as_str().unwrap();
    json!({"content": {
        "bodyText": format!("<mention id=\"{id}\" type=\"user\">{}</mention> {text}", user["displayname"].as_str().unwrap()),
        "mentions": [{"id": id, "type": "user", "title": user["displayname"]}],
    }})
}

#[tokio::test]
async fn the_digest_mails_missed_mentions_and_direct_messages_once_and_never_what_was_read() {
    let Some(sink) = SmtpSink::start() else { return };
    let app = spawn_app_with(|s| {
        sink.configure(s);
        s.email.digest_after_secs = 2;
        s.email.digest_check_secs = 1;
    })
    .await;
    let (ann, _) = app.register("ann@example.com").await;
    let (bob, bob_user) = app.register("bob@example.com").await;
    let (carol, carol_user) = app.register("carol@example.com").await;
    let (dave, dave_user) = app.register("dave@example.com").await;
    let space = app.create_space(&ann, "Launch").await;
    for user in [&bob_user, &carol_user, &dave_user] {
        app.add_member(&ann, &space, user["_id"].as_str().unwrap(), "member").await;
    }
    // Dave stays connected: online people get no digest.
    let _dave_online = RealtimeClient::connect(&app.base, "/chat", &Credentials::jwt(&dave))
        .await
        .expect("dave connects");

    say(&app, &ann, &space, mention(&bob_user, "can you review the launch plan?")).await;
    say(&app, &ann, &space, mention(&carol_user, "the budget is in")).await;
    say(&app, &ann, &space, mention(&dave_user, "ping")).await;
    say(&app, &ann, &space, json!({"content": {"bodyText": "a message for nobody in particular"}}))
        .await;
    // Carol reads at once: nothing is left to tell her.
    let read = app
        .post(&format!("/api/users/me/spaces/{space}/markread"), Some(&jwt(&carol)), &json!({}))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    // A direct message to Bob.
    let bob_id = bob_user["_id"].as_str().unwrap();
    let direct = app.get(&format!("/api/spaces/direct/user/{bob_id}"), Some(&jwt(&ann))).await;
    assert_eq!(direct.status, StatusCode::OK, "{}", direct.text);
    let direct_id = direct.body["data"][0]["_id"].as_str().or(direct.body["data"]["_id"].as_str());
    let direct_id = direct_id.unwrap_or_else(|| panic!("a direct space id in {}", direct.text));
    say(&app, &ann, direct_id, json!({"content": {"bodyText": "lunch tomorrow?"}})).await;

    let mails = sink.wait_for("bob@example.com", 1).await;
    let digest = &mails[0];
    let text = digest["text"].as_str().unwrap();
    assert!(digest["subject"].as_str().unwrap().starts_with("2 messages for you"), "{digest}");
    assert!(
        text.contains("can you review the launch plan?") && text.contains("in Launch"),
        "{text}"
    );
    assert!(text.contains("lunch tomorrow?") && text.contains("a direct message"), "{text}");
    assert!(!text.contains("budget") && !text.contains("nobody in particular"), "{text}");
    assert!(text.contains(&format!("{}/#/spaces/{space}/chat", app.base)), "{text}");
    let unsubscribe = digest["headers"]["List-Unsubscribe"].as_str().unwrap().to_owned();
    assert_eq!(digest["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");

    // Sent once: later sweeps find nothing more, for Bob or anyone else.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sink.mails_to("bob@example.com").len(), 1, "{:?}", sink.mails());
    assert!(sink.mails_to("carol@example.com").is_empty(), "Carol read it: {:?}", sink.mails());
    assert!(sink.mails_to("dave@example.com").is_empty(), "Dave is online: {:?}", sink.mails());
    assert!(sink.mails_to("ann@example.com").is_empty());

    // The unsubscribe link turns the digest off without signing in.
    let link = unsubscribe.trim_matches(|c| c == '<' || c == '>');
    assert!(link.contains(&format!("{}/api/users/digest/unsubscribe?token=", app.base)), "{link}");
    let page = app.get(link.trim_start_matches(&app.base), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("unsubscribed"), "{}", page.text);
    let settings = app.get("/api/users/me/settings", Some(&jwt(&bob))).await;
    assert_eq!(settings.body["data"][0]["emailDigest"], false, "{}", settings.text);
    app.get("/api/users/digest/unsubscribe?token=forged", None)
        .await
        .assert_error(401, "auth.invalid_token");
    say(&app, &ann, &space, mention(&bob_user, "are you there?")).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sink.mails_to("bob@example.com").len(), 1, "unsubscribed: {:?}", sink.mails());
}

/// Waits until the wall clock is past the second a JWT was issued in (its `iat`).
async fn wait_past_the_second_of(token: &str) {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    let issued = claims["iat"].as_u64().expect("iat");
    loop {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        if now.as_secs() > issued {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
