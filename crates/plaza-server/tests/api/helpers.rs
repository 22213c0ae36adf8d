use std::path::PathBuf;

use plaza_server::{Application, Overrides, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server with its own data folder, stopped when dropped.
pub struct TestApp {
    pub base: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _folder: tempfile::TempDir,
}

/// A server on a fresh SQLite database with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose settings `adjust` may change first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    start(adjust, std::sync::Arc::new(plaza_core::events::LogSink)).await
}

/// A server whose domain events are recorded, for tests that check announcements.
pub async fn spawn_app_recording() -> (TestApp, std::sync::Arc<plaza_core::events::RecordingSink>) {
    let events = std::sync::Arc::new(plaza_core::events::RecordingSink::default());
    (start(|_| {}, events.clone()).await, events)
}

async fn start(
    adjust: impl FnOnce(&mut Settings),
    events: std::sync::Arc<dyn plaza_core::events::EventSink>,
) -> TestApp {
    let folder = tempfile::tempdir().expect("temp folder");
    let mut settings = Settings::load(None, Vec::new(), &Overrides::default()).expect("defaults");
    settings.server.data_dir = folder.path().join("data");
    settings.server.shutdown_grace_secs = 2;
    // Tests sign in many users from one address; `limits.rs` tests the limit itself.
    settings.limits.auth_per_second = 0;
    // Many servers run at once: each SFU on a free loopback port.
    settings.media.udp_listen = "127.0.0.1:0".parse().expect("address");
    adjust(&mut settings);
    let data_dir = settings.server.data_dir.clone();
    // Bound before the server task starts, so no test needs to wait for it.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let app = Application::build_with_events(settings, listener, events).await.expect("build app");
    let base = format!("http://{}", app.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    TestApp { base, data_dir, client, stop: Some(stop), server: Some(server), _folder: folder }
}

/// An answer: status plus the parsed JSON body (`Value::Null` when not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Asserts the Plaza error shape with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.text);
        assert_eq!(self.body["code"], code, "code of {}", self.text);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "message of {}",
            self.text
        );
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    /// A request with an optional raw `Authorization` header value.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, authorization: Option<&str>) -> Answer {
        self.send(self.request(Method::GET, path, authorization)).await
    }

    pub async fn post(&self, path: &str, authorization: Option<&str>, body: &Value) -> Answer {
        self.send(self.request(Method::POST, path, authorization).json(body)).await
    }

    pub async fn post_form(
        &self,
        path: &str,
        authorization: Option<&str>,
        form: &[(&str, &str)],
    ) -> Answer {
        self.send(self.request(Method::POST, path, authorization).form(form)).await
    }

    /// Registers `username` with a fixed password; returns (token, user).
    pub async fn register(&self, username: &str) -> (String, Value) {
        let answer = self
            .post(
                "/api/auth/register",
                None,
                &json!({"username": username, "password": PASSWORD, "displayname": "Test User"}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        let token = answer.body["token"].as_str().expect("token").to_owned();
        (token, answer.body["user"].clone())
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub const PASSWORD: &str = "correct horse battery";

pub fn jwt(token: &str) -> String {
    format!("jwt {token}")
}

/// The claims of a JWT, decoded without verification (tests inspect what was issued).
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl TestApp {
    /// Creates a group space as `token`'s user; returns its id.
    pub async fn create_space(&self, token: &str, title: &str) -> String {
        let answer = self
            .post(
                "/api/spaces/invite",
                Some(&jwt(token)),
                &json!({"topic": {"title": title, "type": "group"}, "invitees": []}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body["data"][0]["topicId"].as_str().expect("topicId").to_owned()
    }

    /// Adds `user_id` to `space` with `role`, as the space admin `admin`.
    pub async fn add_member(&self, admin: &str, space: &str, user_id: &str, role: &str) {
        let added = self
            .post(
                &format!("/api/spaces/{space}/attendees/userId/{user_id}"),
                Some(&jwt(admin)),
                &json!({"role": role}),
            )
            .await;
        assert!(added.status.is_success(), "{}", added.text);
    }

    /// A fresh anonymous guest token.
    pub async fn anonymous(&self, name: &str) -> String {
        let answer = self.post("/api/anonymous/auth", None, &json!({"displayname": name})).await;
        answer.body["token"].as_str().expect("token").to_owned()
    }

    /// The user id a token belongs to.
    pub async fn user_id(&self, token: &str) -> String {
        self.get("/api/users/me", Some(&jwt(token))).await.body["_id"]
            .as_str()
            .expect("_id")
            .to_owned()
    }

    pub async fn delete(&self, path: &str, authorization: Option<&str>) -> Answer {
        self.send(self.request(Method::DELETE, path, authorization)).await
    }

    /// Sends `count` copies of a request at once; returns their statuses in order.
    pub async fn concurrently(
        &self,
        count: usize,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Vec<StatusCode> {
        let pending: Vec<_> = (0..count)
            .map(|_| {
                let request = request();
                tokio::spawn(async move { request.send().await.map(|r| r.status()) })
            })
            .collect();
        let mut statuses = Vec::with_capacity(count);
        for task in pending {
            statuses.push(task.await.expect("request task").expect("request reaches the server"));
        }
        statuses
    }

    pub async fn get_with_pin(&self, path: &str, token: &str, pin: &str) -> Answer {
        self.send(
            self.request(Method::GET, path, Some(&jwt(token)))
                .header("spaces-x-space-password", pin),
        )
        .await
    }
}

/// A `plaza serve` process on a fixed port and data folder, so it can be killed and
/// started again where clients expect it.
pub struct ServerProcess {
    child: std::process::Child,
    pub port: u16,
    pub folder: std::path::PathBuf,
    database_url: Option<String>,
}

impl ServerProcess {
    /// Starts `plaza serve` on `port` with `folder` as its data folder, on SQLite or the
    /// database `database_url` names; waits until it is ready.
    pub async fn start(
        port: u16,
        folder: &std::path::Path,
        database_url: Option<&str>,
    ) -> ServerProcess {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_plaza"));
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(folder)
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PLAZA__")) {
            command.env_remove(key);
        }
        command.env("PLAZA__MESSAGES__SENDS_PER_SECOND", "0");
        command.env("PLAZA__LIMITS__AUTH_PER_SECOND", "0");
        command.env("PLAZA__MEDIA__UDP_LISTEN", "127.0.0.1:0");
        if let Some(url) = database_url {
            command.arg("--database-url").arg(url);
        }
        let child = command.spawn().expect("start plaza");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while reqwest::get(format!("http://127.0.0.1:{port}/ready")).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "plaza did not come up");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        ServerProcess {
            child,
            port,
            folder: folder.to_owned(),
            database_url: database_url.map(str::to_owned),
        }
    }

    /// The same server started again where it was.
    pub async fn restart(mut self) -> ServerProcess {
        self.kill();
        ServerProcess::start(self.port, &self.folder.clone(), self.database_url.clone().as_deref())
            .await
    }

    /// SIGTERM: a graceful stop; answers how the process ended.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM could not be sent");
        self.child.wait().expect("wait for plaza")
    }

    /// SIGKILL: no goodbye, no draining.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
