//! Typed REST calls to a Plaza (or Spaces) server.
//!
//! Long because it holds one short method per endpoint of the API, in the order of the
//! OpenAPI tags; each is a few lines and they share nothing worth a module of its own.
//!
//! [`Plaza`] holds the base URL and a token. Each method is one endpoint. A refusal
//! comes back as [`ClientError::Api`] carrying the server's `{code, message}` (plus
//! `fields` and `retryAfter` when present). Lists are async streams that follow
//! `nextPageUrl` page by page, so a caller can stop at any time.
//!
//! The types keep what they do not name in `extra`, so fields a newer server adds are
//! kept, not lost.
//!
//! ```no_run
//! # async fn demo() -> Result<(), plaza_client::rest::ClientError> {
//! use futures_util::TryStreamExt;
//! use plaza_client::rest::Plaza;
//!
//! let anonymous = Plaza::new("https://plaza.example.com")?;
//! let session = anonymous.login("ann@example.com", "correct horse battery").await?;
//! let plaza = anonymous.with_jwt(session.token);
//! let space = plaza.create_space("Launch").await?;
//! plaza.send_chat(&space.id, "hello").await?;
//! let history: Vec<_> = plaza.history(&space.id).try_collect().await?;
//! assert_eq!(history[0].content.body_text, "hello");
//! # Ok(()) }
//! ```

use std::collections::VecDeque;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A field the server found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A refusal from the server: its HTTP status and the body's `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The stable dotted code (`topic.not_found`, `request.rate_limited`, ...).
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldError>,
    /// Seconds to wait, on `request.rate_limited`.
    pub retry_after: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{}: {} ({})", .0.status, .0.message, .0.code)]
    Api(ApiError),
    #[error("bad URL: {0}")]
    Url(String),
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl ClientError {
    /// The server's code, when the server refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api(error) => Some(&error.code),
            _ => None,
        }
    }
}

pub type ClientResult<T> = Result<T, ClientError>;

/// Uploads are handed to the network in pieces this large (progress granularity).
const UPLOAD_CHUNK: usize = 64 * 1024;

/// A list as a stream of its items, fetched a page at a time as the caller reads.
pub type Items<T> = BoxStream<'static, ClientResult<T>>;

/// A person as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub displayname: String,
    #[serde(default)]
    pub picture_url: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What registering or logging in gives: a JWT and who it is for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Session {
    pub token: String,
    pub user: User,
}

/// A space (the API's "topic").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Space {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member of a space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The member's user id.
    pub member: String,
    #[serde(rename = "memberType", default)]
    pub member_type: String,
    pub role: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub displayname: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A message's content: chat text, a post's title and body, a task's fields, files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    #[serde(rename = "bodyText", default)]
    pub body_text: String,
    #[serde(default)]
    pub description: String,
    /// Attachments (`fileId`, `name`, `fileSize`, `path`, ...).
    #[serde(default)]
    pub data: Vec<Value>,
    /// Tasks: `pending` or `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignees: Vec<Value>,
    #[serde(rename = "dueDate", default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who sent a message: a person, or the space server for meeting records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sender {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub displayname: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A chat message, post (`idea`), task, or meeting record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    #[serde(rename = "_id")]
    pub id: String,
    pub category: String,
    #[serde(rename = "topicId")]
    pub space_id: String,
    pub sender: Sender,
    #[serde(default)]
    pub content: Content,
    #[serde(rename = "parentMsg", default)]
    pub parent: Option<Value>,
    #[serde(rename = "chatCount", default)]
    pub chat_count: i64,
    #[serde(default)]
    pub deleted: bool,
    pub created: String,
    pub modified: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A meeting: the message envelope with the meeting in `content` (`meetingStatus`,
/// `attendees`, `recordings`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "topicId")]
    pub space_id: String,
    pub content: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A new task.
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub title: String,
    pub description: String,
    /// User ids.
    pub assignees: Vec<String>,
    /// ISO-8601.
    pub due_date: Option<String>,
}

/// A client of one server, optionally signed in.
#[derive(Clone)]
pub struct Plaza {
    http: reqwest::Client,
    base: url::Url,
    authorization: Option<String>,
}

impl std::fmt::Debug for Plaza {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Plaza").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// The `data` of a `{data: ...}` answer.
#[derive(Deserialize)]
struct Wrapped<T> {
    data: T,
}

/// One page of a list.
#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(rename = "nextPageUrl", default)]
    next_page_url: Option<String>,
}

impl Plaza {
    /// A client of the server at `base` (`https://plaza.example.com`), not signed in.
    pub fn new(base: &str) -> ClientResult<Self> {
        let base = url::Url::parse(base).map_err(|e| ClientError::Url(format!("{base}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::Url(format!("{base}: not http(s)")));
        }
        // Bounded waits, not a total deadline: a large upload may take as long as it needs
        // while it keeps moving, but a server that stops answering is given up on.
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .read_timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Plaza { http, base, authorization: None })
    }

    /// The same client, sending a Plaza JWT (`Authorization: jwt <token>`).
    pub fn with_jwt(&self, token: impl AsRef<str>) -> Self {
        Plaza { authorization: Some(format!("jwt {}", token.as_ref())), ..self.clone() }
    }

    /// The same client, sending an OAuth2 access token (`Authorization: bearer <token>`).
    pub fn with_bearer(&self, token: impl AsRef<str>) -> Self {
        Plaza { authorization: Some(format!("bearer {}", token.as_ref())), ..self.clone() }
    }

    /// The same client, acting as a service app (`Authorization: service_app <token>`).
    pub fn with_service_app(&self, token: impl AsRef<str>) -> Self {
        Plaza { authorization: Some(format!("service_app {}", token.as_ref())), ..self.clone() }
    }

    /// A service app's token (OAuth2 client credentials at `/oauth2/access_token`); use
    /// it with [`Plaza::with_service_app`], and on sockets as a JWT.
    pub async fn service_app_token(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> ClientResult<String> {
        let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret});
        let granted: Value = self.post("/oauth2/access_token", &body).await?;
        granted
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Decode("no access_token in the answer".into()))
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn url(&self, path: &str) -> ClientResult<url::Url> {
        self.base.join(path).map_err(|e| ClientError::Url(format!("{path}: {e}")))
    }

    fn request(&self, method: reqwest::Method, url: url::Url) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.authorization {
            Some(authorization) => request.header(reqwest::header::AUTHORIZATION, authorization),
            None => request,
        }
    }

    /// Sends `request` and reads the answer as `T`, or the refusal as [`ApiError`].
    async fn send<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> ClientResult<T> {
        let answer = request.send().await?;
        let status = answer.status();
        let retry_after = answer
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = answer.bytes().await?;
        if !status.is_success() {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
            return Err(ClientError::Api(ApiError {
                status: status.as_u16(),
                code: text("code").unwrap_or_else(|| format!("http.{}", status.as_u16())),
                message: text("message").unwrap_or_else(|| status.to_string()),
                fields: body
                    .get("fields")
                    .and_then(|f| serde_json::from_value(f.clone()).ok())
                    .unwrap_or_default(),
                retry_after: body.get("retryAfter").and_then(Value::as_u64).or(retry_after),
            }));
        }
        let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
        serde_json::from_slice(bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ClientResult<T> {
        Self::send(self.request(reqwest::Method::GET, self.url(path)?)).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> ClientResult<T> {
        Self::send(self.request(reqwest::Method::POST, self.url(path)?).json(body)).await
    }

    /// A list, page by page: the items of `first`'s page, then of each `nextPageUrl`.
    fn pages<T>(&self, first: String) -> Items<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        let state = (client, Some(first), VecDeque::new());
        futures_util::stream::unfold(state, |(client, mut next, mut buffered)| async move {
            loop {
                if let Some(item) = buffered.pop_front() {
                    return Some((Ok(item), (client, next, buffered)));
                }
                let path = next.take()?;
                match client.get::<Page<T>>(&path).await {
                    Ok(page) => {
                        next = page.next_page_url.filter(|u| !u.is_empty());
                        buffered.extend(page.data);
                    }
                    Err(error) => return Some((Err(error), (client, None, buffered))),
                }
            }
        })
        .boxed()
    }

    // ---- identity ----

    /// `POST /api/auth/register`.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        displayname: Option<&str>,
    ) -> ClientResult<Session> {
        let mut body = json!({"username": username, "password": password});
        if let Some(name) = displayname {
            body["displayname"] = json!(name);
        }
        self.post("/api/auth/register", &body).await
    }

    /// `POST /api/auth/login`.
    pub async fn login(&self, username: &str, password: &str) -> ClientResult<Session> {
        self.post("/api/auth/login", &json!({"username": username, "password": password})).await
    }

    /// `POST /api/anonymous/auth`: a 24-hour guest (the answer names only the token,
    /// so the guest's user is read with it).
    pub async fn anonymous(&self, displayname: &str) -> ClientResult<Session> {
        let issued: Value =
            self.post("/api/anonymous/auth", &json!({"displayname": displayname})).await?;
        let token = issued
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| ClientError::Decode("no token in the answer".into()))?
            .to_owned();
        let user = self.with_jwt(&token).me().await?;
        Ok(Session { token, user })
    }

    /// `POST /api/auth/logout`: the token stops working.
    pub async fn logout(&self) -> ClientResult<()> {
        self.post::<Value>("/api/auth/logout", &json!({})).await.map(drop)
    }

    /// `GET /api/users/me`.
    pub async fn me(&self) -> ClientResult<User> {
        self.get("/api/users/me").await
    }

    // ---- spaces ----

    /// Creates a group space; the caller becomes its admin.
    pub async fn create_space(&self, title: &str) -> ClientResult<Space> {
        let created: Wrapped<Vec<Value>> = self
            .post(
                "/api/spaces/invite",
                &json!({"topic": {"title": title, "type": "group"}, "invitees": []}),
            )
            .await?;
        let id = created
            .data
            .first()
            .and_then(|d| d.get("topicId"))
            .and_then(Value::as_str)
            .ok_or_else(|| ClientError::Decode("no topicId in the answer".into()))?
            .to_owned();
        self.space(&id).await
    }

    /// `GET /api/spaces/{id}`.
    pub async fn space(&self, space_id: &str) -> ClientResult<Space> {
        self.get(&format!("/api/spaces/{space_id}")).await
    }

    /// `GET /api/spaces/{id}/join`, with the space's PIN when it has one.
    pub async fn join(&self, space_id: &str, pin: Option<&str>) -> ClientResult<Space> {
        let mut request =
            self.request(reqwest::Method::GET, self.url(&format!("/api/spaces/{space_id}/join"))?);
        if let Some(pin) = pin {
            request = request.header("spaces-x-space-password", pin);
        }
        let joined: Value = Self::send(request).await?;
        serde_json::from_value(joined.get("topic").cloned().unwrap_or(joined))
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// `POST /api/spaces/{id}`: changes title, description, settings (admins).
    pub async fn update_space(&self, space_id: &str, changes: &Value) -> ClientResult<Space> {
        let updated: Value = self.post(&format!("/api/spaces/{space_id}"), changes).await?;
        serde_json::from_value(updated.get("data").cloned().unwrap_or(updated))
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// My spaces, most recently active first, every page.
    pub fn spaces(&self) -> Items<Space> {
        self.pages("/api/users/me/spaces?size=50".to_owned())
    }

    /// Adds people by user id (`role`: `admin`, `member` or `guest`).
    pub async fn add_member(&self, space_id: &str, user_id: &str, role: &str) -> ClientResult<()> {
        self.post::<Value>(
            &format!("/api/spaces/{space_id}/attendees/userId/{user_id}"),
            &json!({"role": role}),
        )
        .await
        .map(drop)
    }

    /// Invites people by email (`role` as for [`Plaza::add_member`]).
    pub async fn invite_email(
        &self,
        space_id: &str,
        email: &str,
        role: &str,
    ) -> ClientResult<Value> {
        let body = json!({"invitees": [{"inviteeType": "email", "invitee": email, "role": role}]});
        self.post(&format!("/api/spaces/{space_id}/invite"), &body).await
    }

    /// Removes someone from a space.
    pub async fn remove_member(&self, space_id: &str, user_id: &str) -> ClientResult<()> {
        let url = self.url(&format!("/api/spaces/{space_id}/attendees/userId/{user_id}"))?;
        Self::send::<Value>(self.request(reqwest::Method::DELETE, url)).await.map(drop)
    }

    /// A space's members, admins first, every page.
    pub fn members(&self, space_id: &str) -> Items<Member> {
        self.pages(format!("/api/spaces/{space_id}/members?size=100"))
    }

    /// The direct space with someone, made on first use.
    pub async fn direct_space(&self, user_id: &str) -> ClientResult<Space> {
        let found: Wrapped<Vec<Space>> =
            self.get(&format!("/api/spaces/direct/user/{user_id}")).await?;
        found
            .data
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Decode("no space in the answer".into()))
    }

    // ---- messages ----

    async fn create(&self, space_id: &str, kind: &str, body: Value) -> ClientResult<Message> {
        let created: Wrapped<Message> =
            self.post(&format!("/api/spaces/{space_id}/{kind}"), &body).await?;
        Ok(created.data)
    }

    /// Sends a chat message.
    pub async fn send_chat(&self, space_id: &str, text: &str) -> ClientResult<Message> {
        self.create(space_id, "chats", json!({"content": {"bodyText": text}})).await
    }

    /// Comments on a post or task.
    pub async fn comment(
        &self,
        space_id: &str,
        parent_id: &str,
        text: &str,
    ) -> ClientResult<Message> {
        self.create(
            space_id,
            "chats",
            json!({"content": {"bodyText": text}, "parentMsg": {"_id": parent_id}}),
        )
        .await
    }

    /// Sends a chat message carrying uploaded files (attachment objects, see
    /// [`Plaza::upload`]).
    pub async fn send_files(
        &self,
        space_id: &str,
        text: &str,
        files: Vec<Value>,
    ) -> ClientResult<Message> {
        self.create(space_id, "chats", json!({"content": {"bodyText": text, "data": files}})).await
    }

    /// Creates a post (`idea`).
    pub async fn create_post(
        &self,
        space_id: &str,
        title: &str,
        body: &str,
    ) -> ClientResult<Message> {
        self.create(space_id, "ideas", json!({"content": {"bodyText": title, "description": body}}))
            .await
    }

    /// Creates a task.
    pub async fn create_task(&self, space_id: &str, task: &NewTask) -> ClientResult<Message> {
        let mut content = json!({"bodyText": task.title, "description": task.description, "assignees": task.assignees});
        if let Some(due) = &task.due_date {
            content["dueDate"] = json!(due);
        }
        self.create(space_id, "tasks", json!({"content": content})).await
    }

    /// `GET /api/messages/{id}`.
    pub async fn message(&self, message_id: &str) -> ClientResult<Message> {
        let found: Wrapped<Message> = self.get(&format!("/api/messages/{message_id}")).await?;
        Ok(found.data)
    }

    /// Changes content fields; with `expected_modified`, refused with
    /// `message.modified_concurrently` if someone changed it since.
    pub async fn edit_message(
        &self,
        message_id: &str,
        content: &Value,
        expected_modified: Option<&str>,
    ) -> ClientResult<Message> {
        let mut body = json!({"content": content});
        if let Some(modified) = expected_modified {
            body["modified"] = json!(modified);
        }
        let edited: Wrapped<Message> =
            self.post(&format!("/api/messages/{message_id}"), &body).await?;
        Ok(edited.data)
    }

    /// Marks a task completed (or pending again).
    pub async fn set_task_status(&self, task_id: &str, completed: bool) -> ClientResult<Message> {
        let status = if completed { "completed" } else { "pending" };
        self.edit_message(task_id, &json!({"status": status}), None).await
    }

    /// Deletes a message.
    pub async fn delete_message(&self, message_id: &str) -> ClientResult<()> {
        let url = self.url(&format!("/api/messages/{message_id}"))?;
        Self::send::<Value>(self.request(reqwest::Method::DELETE, url)).await.map(drop)
    }

    /// A space's history, newest first, every page.
    pub fn history(&self, space_id: &str) -> Items<Message> {
        self.pages(format!("/api/spaces/{space_id}/messages/query?size=50"))
    }

    /// A space's tasks, newest first.
    pub fn tasks(&self, space_id: &str) -> Items<Message> {
        self.pages(format!("/api/spaces/{space_id}/tasks?size=50"))
    }

    /// The comments on a post or task, newest first.
    pub fn comments(&self, parent_id: &str) -> Items<Message> {
        self.pages(format!("/api/ideas/{parent_id}/messages?size=50"))
    }

    // ---- files ----

    /// Uploads `bytes` as a file named `name`; returns the attachment object a message
    /// carries in `content.data`.
    pub async fn upload(
        &self,
        space_id: Option<&str>,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> ClientResult<Value> {
        self.upload_with_progress(space_id, name, content_type, bytes, |_| {}).await
    }

    /// As [`Plaza::upload`], calling `progress` with the bytes handed to the network so
    /// far (for a progress bar).
    pub async fn upload_with_progress(
        &self,
        space_id: Option<&str>,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
        progress: impl Fn(u64) + Send + Sync + 'static,
    ) -> ClientResult<Value> {
        let mut body = json!({"files": [{"Content-Type": content_type, "Content-Length": bytes.len(), "name": name}]});
        if let Some(space) = space_id {
            body["topicId"] = json!(space);
        }
        let slots: Wrapped<Vec<Value>> = self.post("/api/files/getuploadurl", &body).await?;
        let slot = slots
            .data
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Decode("no upload URL".into()))?;
        let text = |key: &str| slot.get(key).and_then(Value::as_str).map(str::to_owned);
        let (Some(url), Some(key)) = (text("url"), text("fileKey")) else {
            return Err(ClientError::Decode("an upload slot without url or fileKey".into()));
        };
        let url = self.url(&url)?;
        let size = bytes.len();
        let bytes = bytes::Bytes::from(bytes);
        let mut sent = 0u64;
        let chunks: Vec<bytes::Bytes> = (0..size)
            .step_by(UPLOAD_CHUNK)
            .map(|at| bytes.slice(at..(at + UPLOAD_CHUNK).min(size)))
            .collect();
        let counted = futures_util::stream::iter(chunks).map(move |chunk| {
            sent += chunk.len() as u64;
            progress(sent);
            Ok::<_, std::io::Error>(chunk)
        });
        let put = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(counted));
        Self::send::<Value>(put).await?;
        let kind = content_type
            .split('/')
            .next()
            .filter(|k| ["image", "video", "audio"].contains(k))
            .unwrap_or("document");
        Ok(
            json!({"fileId": key, "name": name, "fileSize": size, "fileType": kind, "provider": "native", "providerFileType": content_type}),
        )
    }

    /// Downloads a file by key (its uploader, or anyone who can read a message that
    /// attaches it).
    pub async fn download(&self, file_key: &str) -> ClientResult<Vec<u8>> {
        self.download_with_progress(file_key, |_, _| {}).await
    }

    /// As [`Plaza::download`], calling `progress(received, total)` as bytes arrive.
    pub async fn download_with_progress(
        &self,
        file_key: &str,
        progress: impl Fn(u64, Option<u64>),
    ) -> ClientResult<Vec<u8>> {
        let urls: Wrapped<Vec<Value>> =
            self.post("/api/files/getdownloadurl", &json!({"fileKeys": [file_key]})).await?;
        let url = urls
            .data
            .first()
            .and_then(|u| u.get("url"))
            .and_then(Value::as_str)
            .ok_or_else(|| ClientError::Decode("no download URL".into()))?;
        let answer = self.http.get(self.url(url)?).send().await?.error_for_status()?;
        let total = answer.content_length();
        let mut body = Vec::with_capacity(total.unwrap_or(0).min(64 << 20) as usize);
        let mut chunks = answer.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            body.extend_from_slice(&chunk?);
            progress(body.len() as u64, total);
        }
        Ok(body)
    }

    // ---- my things ----

    /// My settings (`GET /api/users/me/settings`).
    pub async fn settings(&self) -> ClientResult<Value> {
        self.get("/api/users/me/settings").await
    }

    /// Changes my settings; answers the settings as stored.
    pub async fn update_settings(&self, changes: &Value) -> ClientResult<Value> {
        self.post("/api/users/me/settings", changes).await
    }

    /// Posts I wrote, in all my spaces.
    pub fn my_posts(&self) -> Items<Message> {
        self.pages("/api/users/me/ideas?size=50".to_owned())
    }

    /// Tasks assigned to me; `status` `pending` or `completed`, or both.
    pub fn my_tasks(&self, status: Option<&str>) -> Items<Message> {
        let filter = status.map(|s| format!("&status={s}")).unwrap_or_default();
        self.pages(format!("/api/users/me/tasks?size=50{filter}"))
    }

    /// Marks a space read up to now.
    pub async fn mark_read(&self, space_id: &str) -> ClientResult<Value> {
        self.post(&format!("/api/users/me/spaces/{space_id}/markread"), &json!({})).await
    }

    /// Hides a space from my listing (or shows it again).
    pub async fn set_hidden(&self, space_id: &str, hidden: bool) -> ClientResult<Value> {
        let action = if hidden { "hide" } else { "unhide" };
        self.post(&format!("/api/users/me/spaces/{space_id}/{action}"), &json!({})).await
    }

    /// Sets my preferences for a space (`{"isPinned": true}`, notifications, ...).
    pub async fn set_preference(&self, space_id: &str, preference: &Value) -> ClientResult<Value> {
        self.post(&format!("/api/users/me/spaces/{space_id}/preference"), preference).await
    }

    /// People I share spaces with.
    pub fn colleagues(&self) -> Items<User> {
        self.pages("/api/users/me/colleagues?size=50".to_owned())
    }

    /// A registered user's personal meeting room, by their email.
    pub async fn personal_room(&self, email: &str) -> ClientResult<Space> {
        let found: Wrapped<Space> = self.get(&format!("/api/users/meetingroom/{email}")).await?;
        Ok(found.data)
    }

    // ---- more on spaces and messages ----

    /// Changes someone's role in a space (admins).
    pub async fn set_role(&self, space_id: &str, user_id: &str, role: &str) -> ClientResult<()> {
        self.add_member(space_id, user_id, role).await
    }

    /// Accepts an email invitation by its id (from the invitation link).
    pub async fn accept_invitation(&self, invitation_id: &str) -> ClientResult<Space> {
        let joined: Value = self.get(&format!("/api/spaces/invites/{invitation_id}/join")).await?;
        serde_json::from_value(joined.get("topic").cloned().unwrap_or(joined))
            .map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Deletes a space (admins).
    pub async fn delete_space(&self, space_id: &str) -> ClientResult<()> {
        let url = self.url(&format!("/api/spaces/{space_id}"))?;
        Self::send::<Value>(self.request(reqwest::Method::DELETE, url)).await.map(drop)
    }

    /// Deletes up to 100 messages; answers the server's per-id report.
    pub async fn delete_messages(&self, message_ids: &[&str]) -> ClientResult<Value> {
        self.post("/api/messages/deletemessages", &json!({"messageIds": message_ids})).await
    }

    // ---- anything else ----

    /// `GET` any API path, for endpoints this client has no method for.
    pub async fn get_json(&self, path: &str) -> ClientResult<Value> {
        self.get(path).await
    }

    /// `POST` a JSON body to any API path.
    pub async fn post_json(&self, path: &str, body: &Value) -> ClientResult<Value> {
        self.post(path, body).await
    }

    // ---- meetings ----

    /// The space's running meeting, if any.
    pub async fn active_meeting(&self, space_id: &str) -> ClientResult<Option<Meeting>> {
        match self.get(&format!("/api/spaces/{space_id}/activemeeting")).await {
            Ok(meeting) => Ok(Some(meeting)),
            Err(ClientError::Api(error)) if error.code == "meeting.not_found" => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// The space's meetings, newest first, every page.
    pub fn meetings(&self, space_id: &str) -> Items<Meeting> {
        self.pages(format!("/api/spaces/{space_id}/meetings?size=50"))
    }

    async fn meeting_call(
        &self,
        space_id: &str,
        meeting_id: &str,
        action: &str,
        body: &Value,
    ) -> ClientResult<Meeting> {
        let answer: Wrapped<Value> = self
            .post(&format!("/api/spaces/{space_id}/meetings/{meeting_id}/{action}"), body)
            .await?;
        let meeting = match answer.data {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        serde_json::from_value(meeting).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// Ends a meeting for everyone (admins).
    pub async fn end_meeting(&self, space_id: &str, meeting_id: &str) -> ClientResult<Meeting> {
        self.meeting_call(space_id, meeting_id, "end", &json!({})).await
    }

    /// Mutes everyone but `except` (and the admin asking).
    pub async fn mute_all(
        &self,
        space_id: &str,
        meeting_id: &str,
        except: &[&str],
    ) -> ClientResult<Meeting> {
        self.meeting_call(space_id, meeting_id, "muteall", &json!({"exclusionList": except})).await
    }

    /// Starts recording (admins); the recording is `content.recordings[0]`.
    pub async fn start_recording(&self, space_id: &str, meeting_id: &str) -> ClientResult<Meeting> {
        self.meeting_call(space_id, meeting_id, "recordings", &json!({})).await
    }

    /// Stops a recording (admins).
    pub async fn stop_recording(
        &self,
        space_id: &str,
        meeting_id: &str,
        recording_id: &str,
    ) -> ClientResult<Meeting> {
        self.meeting_call(
            space_id,
            meeting_id,
            &format!("recordings/{recording_id}/stop"),
            &json!({}),
        )
        .await
    }

    /// Sets one attendee's media (`{"audio": false}`): admins turn others' off,
    /// attendees set their own.
    pub async fn set_media_state(
        &self,
        space_id: &str,
        meeting_id: &str,
        user_id: &str,
        state: &Value,
    ) -> ClientResult<Meeting> {
        self.meeting_call(
            space_id,
            meeting_id,
            &format!("attendees/user/{user_id}/mediastate"),
            state,
        )
        .await
    }

    /// Raises my hand, asking for `permissions` (`PERMISSION_UNMUTE`, ...).
    pub async fn raise_hand(
        &self,
        space_id: &str,
        meeting_id: &str,
        permissions: &[&str],
    ) -> ClientResult<Meeting> {
        self.meeting_call(
            space_id,
            meeting_id,
            "attendees/raisedhands",
            &json!({"requestedPermissions": permissions}),
        )
        .await
    }

    /// Answers a raised hand: `grant` (admins) or lower it (admins, or its owner).
    pub async fn answer_hand(
        &self,
        space_id: &str,
        meeting_id: &str,
        user_id: &str,
        grant: bool,
        permissions: &[&str],
    ) -> ClientResult<Meeting> {
        let (action, field) = if grant {
            ("attendees/raisedhands/accept", "grantedPermissions")
        } else {
            ("attendees/raisedhands/lower", "rejectedPermissions")
        };
        let body = json!({field: permissions, "attendeeId": user_id, "attendeeType": "user"});
        self.meeting_call(space_id, meeting_id, action, &body).await
    }

    /// Sets the meeting's layout (admins); `THEME` needs a background theme.
    pub async fn set_layout(
        &self,
        space_id: &str,
        meeting_id: &str,
        layout: &str,
        theme: Option<&str>,
    ) -> ClientResult<Meeting> {
        let mut body = json!({"layout": layout});
        if let Some(theme) = theme {
            body["backgroundTheme"] = json!(theme);
        }
        self.meeting_call(space_id, meeting_id, "layout", &body).await
    }

    /// A media token for the space's conference: `{token, sessionId, confId}`.
    pub async fn media_token(&self, space_id: &str) -> ClientResult<Value> {
        self.get(&format!("/api/mediasessions/mpaas/token/{space_id}")).await
    }
}
