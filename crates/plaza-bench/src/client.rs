//! A lean Engine.IO v4 / Socket.IO client for load: one writer task and one reader
//! task per connection, pings answered, and only the events a scenario counts parsed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

/// What every connection of a run shares.
pub struct Shared {
    /// Send times are nanoseconds since this instant, so latency needs no clock sync.
    pub epoch: Instant,
    pub deliveries: AtomicU64,
    pub subscribed: AtomicU64,
    pub failures: AtomicU64,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        Arc::new(Shared {
            epoch: Instant::now(),
            deliveries: AtomicU64::new(0),
            subscribed: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    pub fn stamp(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A connected, authenticated socket.
pub struct Connection {
    out: mpsc::UnboundedSender<Message>,
    /// One permit per acknowledgement of this connection's own sends.
    pub acks: Arc<Semaphore>,
    reader: tokio::task::JoinHandle<Histogram<u64>>,
}

pub fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|e| panic!("histogram: {e}"))
}

/// The `n`th of `count` loopback source addresses (127.0.0.1 ..= 127.0.0.count).
pub fn source(n: usize, count: u8) -> IpAddr {
    let last = u8::try_from(n % usize::from(count.max(1))).unwrap_or(0) + 1;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The TCP address and WebSocket URL of the server's Socket.IO endpoint.
pub fn endpoint(base: &str) -> anyhow::Result<(SocketAddr, String)> {
    let url = url::Url::parse(base).context("--url")?;
    let address = url
        .socket_addrs(|| Some(80))?
        .into_iter()
        .next()
        .context("the server's address does not resolve")?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port_or_known_default().unwrap_or(80);
    Ok((address, format!("{scheme}://{host}:{port}/socket.io/?EIO=4&transport=websocket")))
}

/// A WebSocket from `from` to `to`.
pub async fn websocket(
    from: IpAddr,
    to: SocketAddr,
    url: &str,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0)).with_context(|| format!("bind {from}"))?;
    let stream = socket.connect(to).await.context("connect")?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await.context("websocket")?;
    Ok(ws)
}

/// The Socket.IO event in a text frame of namespace `/chat`, if it is one.
fn event(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("42/chat,")?;
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(&rest[start..end])
}

/// The send time carried in a bench message's text (`bench:<nanos>`).
fn stamp_of(text: &str) -> Option<u64> {
    let at = text.find("bench:")? + "bench:".len();
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
}

impl Connection {
    /// Connects and authenticates with `token`; fails if the server refuses.
    pub async fn open(
        from: IpAddr,
        to: SocketAddr,
        url: &str,
        token: &str,
        shared: Arc<Shared>,
    ) -> anyhow::Result<Connection> {
        let ws = websocket(from, to, url).await?;
        let (mut sink, mut stream) = ws.split();
        let mut next_text = async || loop {
            match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => return Ok(text.to_string()),
                Ok(Some(Ok(_))) => continue,
                other => anyhow::bail!("the connection ended during the handshake: {other:?}"),
            }
        };
        anyhow::ensure!(next_text().await?.starts_with('0'), "no Engine.IO open packet");
        let connect = format!("40/chat,{}", json!({"token": token, "tokenType": "jwt"}));
        sink.send(Message::text(connect)).await?;
        loop {
            let text = next_text().await?;
            if text == "2" {
                sink.send(Message::text("3")).await?;
                continue;
            }
            anyhow::ensure!(text.starts_with("40/chat,"), "connect refused: {text}");
            break;
        }
        let (out, mut outgoing) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let acks = Arc::new(Semaphore::new(0));
        let reader = tokio::spawn({
            let (out, acks) = (out.clone(), acks.clone());
            async move {
                let mut latencies = histogram();
                while let Some(Ok(frame)) = stream.next().await {
                    let Message::Text(text) = frame else { continue };
                    let text = text.as_str();
                    if text == "2" {
                        let _ = out.send(Message::text("3"));
                        continue;
                    }
                    match event(text) {
                        Some("MESSAGE_SENT") => {
                            if let Some(sent) = stamp_of(text) {
                                let micros = shared.stamp().saturating_sub(sent) / 1000;
                                let _ = latencies.record(micros.max(1));
                                shared.deliveries.fetch_add(1, Ordering::Relaxed);
                            }
                            if text.contains("\"loopbackMetadata\"") {
                                acks.add_permits(1);
                            }
                        }
                        Some("CHANNEL_SUBSCRIBED") => {
                            shared.subscribed.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(name) if name.ends_with("_FAILED") => {
                            shared.failures.fetch_add(1, Ordering::Relaxed);
                            acks.add_permits(1);
                        }
                        _ => {}
                    }
                }
                latencies
            }
        });
        Ok(Connection { out, acks, reader })
    }

    fn emit(&self, name: &str, payload: &Value) {
        let frame = format!("42/chat,{}", json!([name, payload]));
        let _ = self.out.send(Message::text(frame));
    }

    pub fn subscribe(&self, space: &str) {
        self.emit("SUBSCRIBE_CHANNEL", &json!({"channel": {"_id": space, "type": "topic"}}));
    }

    /// Sends a chat whose text carries the send time.
    pub fn send(&self, space: &str, shared: &Shared) {
        let text = format!("bench:{}", shared.stamp());
        self.emit(
            "SEND_MESSAGE",
            &json!({"topicId": space, "category": "chat", "content": {"bodyText": text}, "loopbackMetadata": "b"}),
        );
    }

    /// Closes the connection and answers the latencies it saw.
    pub async fn close(self) -> Histogram<u64> {
        let _ = self.out.send(Message::Close(None));
        drop(self.out);
        match tokio::time::timeout(Duration::from_secs(5), self.reader).await {
            Ok(Ok(latencies)) => latencies,
            _ => histogram(),
        }
    }

    /// Drops the connection without a goodbye (as a network failure would).
    pub fn abort(self) {
        self.reader.abort();
    }
}
