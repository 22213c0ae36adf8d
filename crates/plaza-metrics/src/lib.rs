//! Prometheus metrics: what the transports count.
//!
//! One [`Metrics`] per server (a registry of its own, not a process-wide recorder, so
//! that several servers in one process, as in the tests, count apart). `plaza-http`
//! counts REST requests and serves `/metrics`; `plaza-realtime` counts its sockets and
//! events through the same value. A crate of its own so that neither transport depends
//! on the other to reach it.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SocketLabels {
    /// `3` or `4`: the Engine.IO version.
    eio: u8,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    /// `busy` or `idle`.
    state: String,
}

/// What a scrape reads from elsewhere: the database pool and the process-wide socket
/// send counters (filled in by the server, which knows them).
#[derive(Default)]
pub struct Probes {
    /// Open database connections: (busy, idle).
    pub pool: Option<Box<dyn Fn() -> (u64, u64) + Send + Sync>>,
    /// Packets queued for sockets, and those refused on a full queue, since start.
    pub socket_packets: Option<Box<dyn Fn() -> (u64, u64) + Send + Sync>>,
}

/// The metrics of one server.
pub struct Metrics {
    socket_events_out: Family<EventLabels, Counter>,
    socket_deliveries: Counter,
    socket_queue_drops: Counter,
    /// What the two counters above last read from the probe.
    socket_packets_seen: std::sync::Mutex<(u64, u64)>,
    db_connections: Family<PoolLabels, Gauge>,
    adapter_publish_seconds: Histogram,
    adapter_reconnects: Counter,
    meetings_active: Gauge,
    meeting_attendees_added: Counter,
    upload_bytes: Counter,
    probes: Probes,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    sockets_open: Family<SocketLabels, Gauge>,
    socket_events: Family<EventLabels, Counter>,
    messages_persisted: Family<TransportLabels, Counter>,
    /// The bearer token `/metrics` asks for; `None` turns the endpoint off.
    token: Option<String>,
}

impl Metrics {
    /// Metrics scraped with `token` (none: `/metrics` answers 404).
    pub fn new(token: Option<String>) -> Arc<Self> {
        Self::with_probes(token, Probes::default())
    }

    /// As [`Metrics::new`], reading `probes` at each scrape.
    pub fn with_probes(token: Option<String>, probes: Probes) -> Arc<Self> {
        let mut registry = Registry::with_prefix("plaza");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "REST requests by route, method and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "http_request_duration_seconds",
            "REST request latency by route",
            request_seconds.clone(),
        );
        let sockets_open = Family::<SocketLabels, Gauge>::default();
        registry.register(
            "sockets_open",
            "Socket.IO namespace connections open, by Engine.IO version",
            sockets_open.clone(),
        );
        let socket_events = Family::<EventLabels, Counter>::default();
        registry.register(
            "socket_events_in",
            "Socket.IO events received, by name",
            socket_events.clone(),
        );
        let messages_persisted = Family::<TransportLabels, Counter>::default();
        registry.register(
            "messages_persisted",
            "Messages (chats, posts, tasks) stored, by the transport that sent them",
            messages_persisted.clone(),
        );
        let socket_events_out = Family::<EventLabels, Counter>::default();
        registry.register(
            "socket_events_out",
            "Socket.IO events broadcast to rooms, by name (one per broadcast, not per socket)",
            socket_events_out.clone(),
        );
        let socket_deliveries = Counter::default();
        registry.register(
            "socket_deliveries",
            "Packets queued for sockets to send: every copy of every broadcast and reply",
            socket_deliveries.clone(),
        );
        let socket_queue_drops = Counter::default();
        registry.register(
            "socket_queue_drops",
            "Packets refused because a socket's queue (limits.socket_queue) was full",
            socket_queue_drops.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Open database connections, busy or idle",
            db_connections.clone(),
        );
        let adapter_publish_seconds = latency_histogram();
        registry.register(
            "adapter_publish_duration_seconds",
            "Latency of publishing an event to the other nodes (Redis adapter)",
            adapter_publish_seconds.clone(),
        );
        let adapter_reconnects = Counter::default();
        registry.register(
            "adapter_reconnects",
            "Times the adapter's connection to Redis was lost and made again",
            adapter_reconnects.clone(),
        );
        let meetings_active = Gauge::default();
        registry.register(
            "meetings_active",
            "Meetings running (started minus ended, as announced by this node)",
            meetings_active.clone(),
        );
        let meeting_attendees_added = Counter::default();
        registry.register(
            "meeting_attendees_added",
            "Attendees whose media joined a meeting",
            meeting_attendees_added.clone(),
        );
        let upload_bytes = Counter::default();
        registry.register(
            "upload_bytes",
            "Bytes of files uploaded and stored",
            upload_bytes.clone(),
        );
        let token = token.filter(|t| !t.is_empty());
        Arc::new(Metrics {
            socket_events_out,
            socket_deliveries,
            socket_queue_drops,
            socket_packets_seen: std::sync::Mutex::default(),
            db_connections,
            adapter_publish_seconds,
            adapter_reconnects,
            meetings_active,
            meeting_attendees_added,
            upload_bytes,
            probes,
            registry,
            requests,
            request_seconds,
            sockets_open,
            socket_events,
            messages_persisted,
            token,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.read_probes();
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn read_probes(&self) {
        if let Some(pool) = &self.probes.pool {
            let (busy, idle) = pool();
            let set = |state: &str, value: u64| {
                let labels = PoolLabels { state: state.to_owned() };
                self.db_connections
                    .get_or_create(&labels)
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            };
            set("busy", busy);
            set("idle", idle);
        }
        if let Some(packets) = &self.probes.socket_packets {
            let (queued, refused) = packets();
            let mut seen =
                self.socket_packets_seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            self.socket_deliveries.inc_by(queued.saturating_sub(seen.0));
            self.socket_queue_drops.inc_by(refused.saturating_sub(seen.1));
            *seen = (queued.max(seen.0), refused.max(seen.1));
        }
    }

    /// An event was broadcast to rooms.
    pub fn socket_event_out(&self, event: &str) {
        self.socket_events_out.get_or_create(&EventLabels { event: event.to_owned() }).inc();
    }

    /// The adapter published an event to the other nodes in `seconds`.
    pub fn adapter_published(&self, seconds: f64) {
        self.adapter_publish_seconds.observe(seconds);
    }

    /// The adapter lost its connection and made it again.
    pub fn adapter_reconnected(&self) {
        self.adapter_reconnects.inc();
    }

    /// A meeting started (`+1`) or ended (`-1`).
    pub fn meeting_changed(&self, delta: i64) {
        self.meetings_active.inc_by(delta);
    }

    /// An attendee's media joined a meeting.
    pub fn meeting_attendee_added(&self) {
        self.meeting_attendees_added.inc();
    }

    /// A file of `bytes` was uploaded and stored.
    pub fn uploaded(&self, bytes: u64) {
        self.upload_bytes.inc_by(bytes);
    }

    /// A REST request answered `status` after `seconds`; `route` is its pattern.
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { method: method.to_owned(), route: route.to_owned(), status };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds
            .get_or_create(&RouteLabels { route: route.to_owned() })
            .observe(seconds);
    }

    /// The bearer token a scrape must carry; `None`: scraping on the API port is off.
    pub fn scrape_token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// A socket connected (`eio`: 3 or 4).
    pub fn socket_opened(&self, eio: u8) {
        self.sockets_open.get_or_create(&SocketLabels { eio }).inc();
    }

    /// A socket went away.
    pub fn socket_closed(&self, eio: u8) {
        self.sockets_open.get_or_create(&SocketLabels { eio }).dec();
    }

    /// A socket event arrived.
    pub fn socket_event(&self, event: &str) {
        self.socket_events.get_or_create(&EventLabels { event: event.to_owned() }).inc();
    }

    /// A message was stored, sent over `transport` (`rest` or `socket`).
    pub fn message_persisted(&self, transport: &str) {
        self.messages_persisted
            .get_or_create(&TransportLabels { transport: transport.to_owned() })
            .inc();
    }
}
