//! Plaza's Socket.IO transport: namespace `/chat` (and `/`) at `/socket.io/`, serving
//! Engine.IO v3 (socket.io-client 1.7–2.x, python-socketio 4) and v4 (socket.io-client
//! 3+, python-socketio 5) on the same port.
//!
//! Thin by rule, like `plaza-http`: it authenticates connections, turns events into the
//! same core calls REST makes, and turns core events into emits. It never touches
//! storage. Every socket joins its user's room (`user:<id>`) and the rooms of the spaces
//! it subscribes to (`space:<id>`); delivery always goes through rooms, never through a
//! map of local sockets, so that another adapter can carry it across nodes.

mod auth;
mod drain;
mod events;
mod failure;
mod media;
mod media_plane;
mod media_relay;
mod node_bus;
mod online;
mod presence;
mod redis_driver;
mod revocation;
mod session;
mod sink;
mod turn;

use std::sync::Arc;

use anyhow::Context;
use plaza_core::ObjectId;
use plaza_core::identity::IdentityService;
use plaza_core::meetings::MeetingService;
use plaza_core::messages::MessageService;
use plaza_core::spaces::SpaceService;
use socketioxide::SocketIo;
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide_postgres::drivers::sqlx::sqlx_client;
use socketioxide_postgres::{PostgresAdapterConfig, PostgresAdapterCtr, SqlxAdapter};
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

use redis_driver::ReconnectingDriver;

pub use auth::SocketCredential;
pub use drain::{ConnectionCloser, Drain};
pub use media::MAX_SIGNAL_SDP_BYTES;
pub use media_plane::{MediaPlane, MediaPlaneConfig};
pub use online::OnlineProbe;
pub use presence::{LEAVES_WINDOW, PresenceLeaves, STORM_LIMIT, STORM_PARTIES, STORM_QUIET};
pub use sink::RealtimeSink;

/// Packets queued for sockets to send since the process started, and those refused
/// because a socket's queue was full (`/metrics`: deliveries and queue drops).
pub fn socket_packet_counts() -> (u64, u64) {
    (engineioxide::counters::queued(), engineioxide::counters::refused_full())
}

/// What the socket handlers reach.
#[derive(Clone)]
pub struct RealtimeState {
    pub identity: Arc<IdentityService>,
    pub spaces: Arc<SpaceService>,
    pub messages: Arc<MessageService>,
    pub meetings: Arc<MeetingService>,
    /// Where default pictures are served from, for sender objects (may be empty:
    /// then picture URLs are server-relative).
    pub base_url: String,
    pub limits: RealtimeLimits,
    /// Open connections per user on this node.
    pub connections: ConnectionCounts,
    /// Socket events in progress, for a graceful shutdown.
    pub drain: Drain,
    /// `SEND_PRESENCE_EVENT`s per socket (keyed by socket id, on this node) and per
    /// user across sockets (and nodes).
    pub presence_per_socket: Arc<dyn plaza_core::limits::RateLimiter>,
    pub presence_per_user: Arc<dyn plaza_core::limits::RateLimiter>,
    /// What this node counts (open sockets, events in, messages stored).
    pub metrics: Arc<plaza_metrics::Metrics>,
    /// This node's SFU; `None` when `media.enabled` is off.
    pub media: Option<Arc<MediaPlane>>,
    /// The `party.leaves` waiting to be announced, per space (`presence.rs`).
    pub presence: PresenceLeaves,
}

/// The Engine.IO version of a socket, as the metrics label it.
pub(crate) fn eio_version<A: Adapter>(socket: &SocketRef<A>) -> u8 {
    match socket.protocol() {
        socketioxide::ProtocolVersion::V4 => 3,
        _ => 4,
    }
}

/// Bounds on what one user or one slow client may hold.
#[derive(Debug, Clone, Copy)]
pub struct RealtimeLimits {
    /// Connections one user may hold open on this node; 0 means no limit.
    pub connections_per_user: u32,
    /// Packets queued for one socket. A client that lets its queue fill loses what
    /// does not fit until its next heartbeat, which finds no room and closes the
    /// connection: the client reconnects and catches up, and memory stays bounded.
    pub socket_queue: usize,
    /// How often the server pings each connection, and how long it waits for the pong.
    pub ping_interval: std::time::Duration,
    pub ping_timeout: std::time::Duration,
}

/// The largest Engine.IO packet (and so Socket.IO event) accepted, on both transports
/// and both protocol versions: what EIO4's handshake announces as `maxPayload`. A
/// WebSocket message or frame over it closes the connection; a polling body over it is
/// refused.
pub const MAX_PAYLOAD: usize = 100_000;

/// Bytes a WebSocket read asks for at a time, and the read buffer each connection keeps.
const WS_READ_BUFFER: usize = 1024;

/// Counts each user's open connections on this node.
pub type ConnectionCounts = plaza_core::limits::Slots<ObjectId>;

/// One taken connection slot, kept in the socket's extensions until the socket goes.
pub(crate) type ConnectionSlot = plaza_core::limits::Slot<ObjectId>;

/// The namespaces every handler is mounted on: `/chat`, and `/` because some clients
/// (and every Socket.IO v2 connection, implicitly) use the default namespace.
const NAMESPACES: [&str; 2] = ["/", "/chat"];

pub(crate) fn space_room(space_id: impl std::fmt::Display) -> String {
    format!("space:{space_id}")
}

pub(crate) fn user_room(user_id: impl std::fmt::Display) -> String {
    format!("user:{user_id}")
}

/// The sockets of one user subscribed to one space: targeted presence goes to these
/// rooms, so it reaches the named receivers only where they subscribed (rooms combine
/// as a union, so `space` and `user` rooms together would reach both).
pub(crate) fn subscriber_room(
    space_id: impl std::fmt::Display,
    user_id: impl std::fmt::Display,
) -> String {
    format!("sub:{space_id}:{user_id}")
}

/// Every socket's own room, so that a broadcast can leave its origin out.
pub(crate) fn socket_room<A: Adapter>(socket: &SocketRef<A>) -> String {
    socket_room_of(&socket.id.to_string())
}

/// The own room of the socket `socket_id`, which may be on another node.
pub(crate) fn socket_room_of(socket_id: &str) -> String {
    format!("sock:{socket_id}")
}

/// How events reach sockets connected to other nodes (`realtime.adapter`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterConfig {
    /// One node: rooms live in this process.
    Local,
    /// Several nodes fanning out through Redis (≥ 7, RESP3) at `url`, on channels named
    /// after `prefix` (deployments sharing one Redis need different prefixes).
    Redis { url: String, prefix: String },
    /// Several nodes fanning out through PostgreSQL LISTEN/NOTIFY on the database at
    /// `url`, on channels named after `prefix`.
    Postgres { url: String, prefix: String },
}

/// Puts Socket.IO on `router` with the chosen adapter and starts delivering what the
/// core publishes to `sink`; also answers what closes the connections at shutdown, and
/// what tells whether a user is connected anywhere.
/// With Redis, fails if Redis does not answer.
pub async fn attach(
    router: axum::Router,
    state: RealtimeState,
    sink: &RealtimeSink,
    adapter: &AdapterConfig,
) -> anyhow::Result<(axum::Router, ConnectionCloser, OnlineProbe)> {
    let base_url = state.base_url.clone();
    let limits = state.limits;
    let metrics = state.metrics.clone();
    match adapter {
        AdapterConfig::Local => {
            let (layer, io) = builder(limits).with_state(state).build_layer();
            for path in NAMESPACES {
                io.ns(path, on_connect::<LocalAdapter>.with(auth::authenticate::<LocalAdapter>));
            }
            let (closer, online) = (closer(&io), OnlineProbe::new(&io));
            sink.start(io, base_url, metrics);
            Ok((router.layer(layer), closer, online))
        }
        AdapterConfig::Redis { url, prefix } => {
            let client =
                redis::Client::open(resp3(url)).context("realtime.adapter is not a Redis URL")?;
            let (gaps, gaps_seen) = tokio::sync::watch::channel(0);
            let driver = ReconnectingDriver::connect(client, gaps, metrics.clone())
                .await
                .context("connect to Redis")?;
            let config = RedisAdapterConfig::new().with_prefix(format!("{prefix}:socket.io"));
            let adapter = RedisAdapterCtr::new_with_driver(driver.clone(), config);
            let relay_state = state.clone();
            let (layer, io) = builder(limits)
                .with_state(state)
                .with_adapter::<CustomRedisAdapter<_, ReconnectingDriver>>(adapter)
                .build_layer();
            if let Some(plane) = relay_state.media.clone() {
                // Each space's media room on one node, the others relaying to it.
                media_relay::start(plane, driver.clone(), prefix, io.clone(), relay_state)
                    .await
                    .context("subscribe to the media relay's channels")?;
            }
            tokio::spawn(redis_driver::close_sockets_after_gaps(driver, gaps_seen, io.clone()));
            for path in NAMESPACES {
                io.ns(path, on_connect.with(auth::authenticate))
                    .await
                    .with_context(|| format!("register namespace {path} with Redis"))?;
            }
            let (closer, online) = (closer(&io), OnlineProbe::new(&io));
            sink.start(io, base_url, metrics);
            Ok((router.layer(layer), closer, online))
        }
        AdapterConfig::Postgres { url, prefix } => {
            let pool = sqlx_client::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect(url)
                .await
                .context("connect the PostgreSQL adapter to the database")?;
            let config = PostgresAdapterConfig::new().with_prefix(format!("{prefix}:sio"));
            let adapter = PostgresAdapterCtr::new_with_sqlx_config(pool, config);
            let (layer, io) = builder(limits)
                .with_state(state)
                .with_adapter::<SqlxAdapter<_>>(adapter)
                .build_layer();
            for path in NAMESPACES {
                io.ns(path, on_connect.with(auth::authenticate))
                    .await
                    .with_context(|| format!("register namespace {path} with PostgreSQL"))?;
            }
            let (closer, online) = (closer(&io), OnlineProbe::new(&io));
            sink.start(io, base_url, metrics);
            Ok((router.layer(layer), closer, online))
        }
    }
}

/// What closes every connection of `io` at the end of a graceful shutdown.
fn closer<A: Adapter>(io: &SocketIo<A>) -> ConnectionCloser {
    let io = io.clone();
    ConnectionCloser::new(move || {
        let io = io.clone();
        Box::pin(async move { io.close().await })
    })
}

fn builder(limits: RealtimeLimits) -> socketioxide::SocketIoBuilder {
    SocketIo::builder()
        .refused_event_reply(events::refused_reply)
        .max_buffer_size(limits.socket_queue)
        .max_payload(MAX_PAYLOAD as u64)
        .ws_max_message_size(MAX_PAYLOAD)
        .ws_max_frame_size(MAX_PAYLOAD)
        // Every connection keeps its read buffer for good: 4 KiB by default, most of it
        // never used by the small events clients send. A larger frame still arrives
        // whole (the buffer grows to its length), in reads of this size.
        .ws_read_buffer_size(WS_READ_BUFFER)
        .ping_interval(limits.ping_interval)
        .ping_timeout(limits.ping_timeout)
}

/// The adapter speaks RESP3 (Redis 7+); say so in the URL unless it already does.
fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}protocol=resp3")
}

/// Everything a socket needs was set up by the connect middleware (see
/// `auth::authenticate`), before the CONNECT acknowledgement.
async fn on_connect<A: Adapter>(socket: SocketRef<A>) {
    let user = socket.extensions.get::<session::SocketPrincipal>().map(|p| p.0.user_id());
    tracing::debug!(sid = %socket.id, ns = socket.ns(), user = ?user, "socket connected");
}
