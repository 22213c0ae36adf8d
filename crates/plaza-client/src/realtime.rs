//! The Socket.IO client side, implemented on a WebSocket: Engine.IO v4 framing (open,
//! ping/pong, message) and Socket.IO v5 packets (CONNECT with an auth object, EVENT,
//! DISCONNECT, CONNECT_ERROR) for one namespace.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// An event the server sent: its name and first argument (`Null` when it had none).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub payload: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error("bad server URL: {0}")]
    Url(String),
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("the server broke the protocol: {0}")]
    Protocol(String),
    /// The server refused the namespace connection; `data` is what it said (Plaza sends
    /// `{message: "{\"code\":\"auth.invalid_token\",...}"}`).
    #[error("connection refused: {data}")]
    Refused { data: Value },
    #[error("the connection is closed")]
    Closed,
    #[error("timed out waiting for {0}")]
    Timeout(String),
}

/// How the client authenticates at connect (the Socket.IO v5 `auth` object).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub token: String,
    /// `jwt` or `oauth`.
    pub token_type: String,
}

impl Credentials {
    pub fn jwt(token: impl Into<String>) -> Self {
        Credentials { token: token.into(), token_type: "jwt".to_owned() }
    }
}

/// One connected namespace. Events arrive in the order the server sent them; a
/// background task answers the server's pings.
pub struct RealtimeClient {
    namespace: String,
    sid: String,
    outgoing: mpsc::UnboundedSender<String>,
    incoming: mpsc::UnboundedReceiver<Event>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

/// The WebSocket URL of the Engine.IO endpoint under `base` (`http(s)://host[:port]`).
fn socket_url(base: &str) -> Result<String, RealtimeError> {
    let mut url = url::Url::parse(base).map_err(|e| RealtimeError::Url(e.to_string()))?;
    let scheme = match url.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => return Err(RealtimeError::Url(format!("unsupported scheme {other}"))),
    };
    url.set_scheme(scheme).map_err(|()| RealtimeError::Url("cannot set scheme".into()))?;
    url.set_path("/socket.io/");
    url.set_query(Some("EIO=4&transport=websocket"));
    Ok(url.to_string())
}

/// Encodes a Socket.IO packet of `kind` for `namespace` as an Engine.IO message.
fn packet(kind: char, namespace: &str, data: Option<&Value>) -> String {
    let mut text = format!("4{kind}");
    if namespace != "/" {
        text.push_str(namespace);
        text.push(',');
    }
    if let Some(data) = data {
        text.push_str(&data.to_string());
    }
    text
}

/// A decoded Socket.IO packet: its type digit and JSON data, for our namespace only.
fn parse_packet<'a>(text: &'a str, namespace: &str) -> Option<(char, &'a str)> {
    let body = text.strip_prefix('4')?;
    let mut chars = body.chars();
    let kind = chars.next()?;
    let rest = chars.as_str();
    let rest = if namespace == "/" {
        if rest.starts_with('/') {
            return None;
        }
        rest
    } else {
        let after = rest.strip_prefix(namespace)?;
        match after.strip_prefix(',') {
            Some(data) => data,
            None if after.is_empty() => after,
            None => return None,
        }
    };
    // An ack id may precede the data; events we receive carry none, but skip it anyway.
    let data = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    Some((kind, data))
}

/// How long connecting (WebSocket, Engine.IO open, namespace CONNECT) may take.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl RealtimeClient {
    /// Connects to `namespace` (e.g. `/chat`) of the server at `base` with `credentials`.
    /// A server that does not finish the handshake within 30 s is given up on.
    pub async fn connect(
        base: &str,
        namespace: &str,
        credentials: &Credentials,
    ) -> Result<RealtimeClient, RealtimeError> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, Self::handshake(base, namespace, credentials))
            .await
            .map_err(|_| RealtimeError::Timeout("the connection handshake".to_owned()))?
    }

    async fn handshake(
        base: &str,
        namespace: &str,
        credentials: &Credentials,
    ) -> Result<RealtimeClient, RealtimeError> {
        let (socket, _) = tokio_tungstenite::connect_async(socket_url(base)?).await?;
        let (mut sink, mut stream) = socket.split();
        let next_text = async |stream: &mut futures_util::stream::SplitStream<_>| loop {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
                Some(Ok(Message::Close(_))) | None => return Err(RealtimeError::Closed),
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(RealtimeError::WebSocket(error)),
            }
        };
        let open = next_text(&mut stream).await?;
        if !open.starts_with('0') {
            return Err(RealtimeError::Protocol(format!("expected an open packet, got {open:?}")));
        }
        let auth = json!({"token": credentials.token, "tokenType": credentials.token_type});
        sink.send(Message::text(packet('0', namespace, Some(&auth)))).await?;
        let sid = loop {
            let text = next_text(&mut stream).await?;
            if text == "2" {
                sink.send(Message::text("3")).await?;
                continue;
            }
            match parse_packet(&text, namespace) {
                Some(('0', data)) => {
                    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                    break data["sid"].as_str().unwrap_or_default().to_owned();
                }
                Some(('4', data)) => {
                    let data = serde_json::from_str(data).unwrap_or(Value::String(data.into()));
                    return Err(RealtimeError::Refused { data });
                }
                _ => continue,
            }
        };

        let (outgoing, mut to_send) = mpsc::unbounded_channel::<String>();
        let goodbye = packet('1', namespace, None);
        let writer = tokio::spawn(async move {
            while let Some(text) = to_send.recv().await {
                let last = text == goodbye;
                if sink.send(Message::text(text)).await.is_err() || last {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let (deliver, incoming) = mpsc::unbounded_channel();
        let pong = outgoing.clone();
        let ours = namespace.to_owned();
        let reader = tokio::spawn(async move {
            while let Ok(text) = next_text(&mut stream).await {
                if text == "2" {
                    let _ = pong.send("3".to_owned());
                    continue;
                }
                match parse_packet(&text, &ours) {
                    Some(('2', data)) => {
                        let Ok(Value::Array(mut args)) = serde_json::from_str::<Value>(data) else {
                            tracing::warn!(packet = %text, "undecodable event");
                            continue;
                        };
                        if args.is_empty() {
                            continue;
                        }
                        let name = args.remove(0);
                        let payload = if args.is_empty() { Value::Null } else { args.remove(0) };
                        let name = name.as_str().unwrap_or_default().to_owned();
                        if deliver.send(Event { name, payload }).is_err() {
                            break;
                        }
                    }
                    Some(('1', _)) => break,
                    _ => {}
                }
            }
        });
        Ok(RealtimeClient {
            namespace: namespace.to_owned(),
            sid,
            outgoing,
            incoming,
            reader,
            writer,
        })
    }

    /// The session id the server gave this namespace connection.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// Emits `name` with `payload`.
    pub fn emit(&self, name: &str, payload: &Value) -> Result<(), RealtimeError> {
        let data = json!([name, payload]);
        self.outgoing
            .send(packet('2', &self.namespace, Some(&data)))
            .map_err(|_| RealtimeError::Closed)
    }

    /// `SUBSCRIBE_CHANNEL` to a space, replaying what came after `last_message_id`.
    pub fn subscribe(
        &self,
        space_id: &str,
        last_message_id: Option<&str>,
    ) -> Result<(), RealtimeError> {
        let mut payload = json!({"channel": {"_id": space_id, "type": "topic"}});
        if let Some(last) = last_message_id {
            payload["lastMessageId"] = json!(last);
        }
        self.emit("SUBSCRIBE_CHANNEL", &payload)
    }

    /// `SEND_MESSAGE` of a chat message with `text` to a space.
    pub fn send_chat(
        &self,
        space_id: &str,
        text: &str,
        loopback: Option<Value>,
    ) -> Result<(), RealtimeError> {
        let mut payload = json!({
            "content": {"bodyText": text},
            "sender": {},
            "category": "chat",
            "topicId": space_id,
        });
        if let Some(loopback) = loopback {
            payload["loopbackMetadata"] = loopback;
        }
        self.emit("SEND_MESSAGE", &payload)
    }

    /// The next event; `None` once the connection is closed.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.incoming.recv().await
    }

    /// The next event named `name` within `timeout`, skipping others.
    pub async fn wait_for(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<Event, RealtimeError> {
        tokio::time::timeout(timeout, async {
            loop {
                match self.incoming.recv().await {
                    Some(event) if event.name == name => return Ok(event),
                    Some(_) => continue,
                    None => return Err(RealtimeError::Closed),
                }
            }
        })
        .await
        .map_err(|_| RealtimeError::Timeout(name.to_owned()))?
    }

    /// Events already received, without waiting.
    pub fn drain(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.incoming.try_recv().ok()).collect()
    }

    /// Leaves the namespace and closes the WebSocket.
    pub async fn close(self) {
        let mut this = self;
        // The writer sends the DISCONNECT packet last, then closes the WebSocket.
        let _ = this.outgoing.send(packet('1', &this.namespace, None));
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut this.writer).await;
        this.reader.abort();
    }
}

impl Drop for RealtimeClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_for_a_namespace() {
        assert_eq!(packet('2', "/chat", Some(&json!(["A", 1]))), r#"42/chat,["A",1]"#);
        assert_eq!(packet('0', "/", Some(&json!({"token": "t"}))), r#"40{"token":"t"}"#);
        assert_eq!(parse_packet(r#"42/chat,["A",{}]"#, "/chat"), Some(('2', r#"["A",{}]"#)));
        assert_eq!(parse_packet(r#"42/chat,7["A"]"#, "/chat"), Some(('2', r#"["A"]"#)));
        assert_eq!(parse_packet(r#"42/other,["A"]"#, "/chat"), None);
        assert_eq!(parse_packet(r#"42/chatty,["A"]"#, "/chat"), None);
        assert_eq!(parse_packet("41/chat,", "/chat"), Some(('1', "")));
        assert_eq!(parse_packet(r#"42["A"]"#, "/"), Some(('2', r#"["A"]"#)));
        assert_eq!(parse_packet(r#"42/chat,["A"]"#, "/"), None);
        assert_eq!(
            socket_url("https://plaza.example.com:8443/ignored").unwrap(),
            "wss://plaza.example.com:8443/socket.io/?EIO=4&transport=websocket"
        );
        assert!(socket_url("ftp://x").is_err());
    }
}
