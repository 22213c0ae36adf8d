//! What one `SEND_MESSAGE` costs the whole server on its way to 100 subscribers, counted
//! in heap allocations: a regression measure that every `cargo test` runs (issue 21,
//! docs/BENCHMARKS.md "The regression measure").
//!
//! A binary of its own, because it counts through the global allocator (`stats_alloc`):
//! every allocation of the process while one message goes out, the server's (Socket.IO
//! in and out, the core, SQLite, the event sink, JSON) and its 101 clients', which are
//! lean raw WebSockets that allocate a few times per frame, the same every time.
//! Allocations are a proxy for CPU that, unlike time, does not depend on the machine or
//! its load: the median over 21 sends is stable within a few per cent.

use std::alloc::System;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use plaza_server::{Application, Overrides, Settings};
use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio_tungstenite::tungstenite::Message;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations per send above which the test fails: 1.5 × [`MEASURED`], so that a
/// change adding half as much work again per send crosses it (one more allocation per
/// subscriber is +100). Deliberate costs raise the figures, with the reason in the commit.
const BUDGET: usize = MEASURED * 3 / 2;
/// The median measured when the budget was last set (debug build, 2026-12-07: 583–592).
const MEASURED: usize = 590;
/// Bytes allocated per send above which the test fails: JSON built again per subscriber,
/// or a copy of each frame more, doubles them.
const BYTES_BUDGET: usize = MEASURED_BYTES * 3 / 2;
/// The median measured with [`MEASURED`] (103 400–104 800 bytes, about 1 kB per delivery).
const MEASURED_BYTES: usize = 104_500;

const SUBSCRIBERS: usize = 100;
const WARM_UP: usize = 5;
const SENDS: usize = 21;
const WAIT: Duration = Duration::from_secs(20);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A lean Engine.IO v4 client of `/chat`: it answers pings and looks for an event's name
/// in the frames without parsing them, so that it allocates little and the same per
/// delivery.
struct Lean(Socket);

impl Lean {
    async fn subscribed(base: &str, token: &str, space: &str) -> Lean {
        let url = format!("{}/socket.io/?EIO=4&transport=websocket", base.replace("http", "ws"));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket");
        let mut lean = Lean(socket);
        lean.until("0").await;
        lean.send(format!("40/chat,{}", json!({"token": token, "tokenType": "jwt"}))).await;
        lean.until("40/chat,").await;
        let subscribe = json!(["SUBSCRIBE_CHANNEL", {"channel": {"_id": space, "type": "topic"}}]);
        lean.send(format!("42/chat,{subscribe}")).await;
        lean.until("42/chat,[\"CHANNEL_SUBSCRIBED\"").await;
        lean
    }

    async fn send(&mut self, text: String) {
        self.0.send(Message::text(text)).await.expect("send a frame");
    }

    /// Reads frames until one starts with `prefix`.
    async fn until(&mut self, prefix: &str) {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                match self.0.next().await {
                    Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                        self.send("3".to_owned()).await;
                    }
                    Some(Ok(Message::Text(text))) if text.as_str().starts_with(prefix) => return,
                    Some(Ok(_)) => {}
                    other => panic!("the connection ended waiting for {prefix}: {other:?}"),
                }
            }
        })
        .await;
        assert!(found.is_ok(), "no {prefix} within {WAIT:?}");
    }
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.header("authorization", format!("jwt {token}"));
    }
    request.send().await.expect("request").json().await.expect("JSON answer")
}

/// Sends one chat and waits until the sender and every subscriber received it.
async fn send_and_deliver(sender: &mut Lean, subscribers: &mut [Lean], space: &str, n: usize) {
    let message = json!(["SEND_MESSAGE", {"topicId": space, "category": "chat",
        "content": {"bodyText": format!("cost {n}")}, "loopbackMetadata": n}]);
    sender.send(format!("42/chat,{message}")).await;
    sender.until("42/chat,[\"MESSAGE_SENT\"").await;
    for subscriber in subscribers.iter_mut() {
        subscriber.until("42/chat,[\"MESSAGE_SENT\"").await;
    }
}

#[test]
fn one_send_to_100_subscribers_stays_within_its_allocation_budget() {
    let folder = tempfile::tempdir().expect("temp folder");
    let mut settings = Settings::load(None, Vec::new(), &Overrides::default()).expect("defaults");
    settings.server.data_dir = folder.path().join("data");
    settings.limits.auth_per_second = 0;
    settings.messages.sends_per_second = 0;
    // No heartbeat during the measure.
    settings.realtime.ping_interval_ms = 600_000;
    settings.media.enabled = false;

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("server runtime");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let base = server.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let app = Application::build_with_listener(settings, listener).await.expect("build");
        let base = format!("http://{}", app.local_addr().expect("address"));
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        base
    });

    let clients =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("client runtime");
    let per_send = clients.block_on(async {
        let http = reqwest::Client::new();
        let owner = post(
            &http,
            format!("{base}/api/auth/register"),
            None,
            json!({"username": "cost@example.com", "password": "a long password 1234"}),
        )
        .await["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let created = post(
            &http,
            format!("{base}/api/spaces/invite"),
            Some(&owner),
            json!({"topic": {"title": "Cost", "type": "group"}, "invitees": []}),
        )
        .await;
        let space = created["data"][0]["topicId"].as_str().expect("space").to_owned();
        let mut subscribers = Vec::with_capacity(SUBSCRIBERS);
        for n in 0..SUBSCRIBERS {
            let guest = post(
                &http,
                format!("{base}/api/anonymous/auth"),
                None,
                json!({"displayname": format!("Guest {n}")}),
            )
            .await;
            let token = guest["token"].as_str().expect("guest token").to_owned();
            subscribers.push(Lean::subscribed(&base, &token, &space).await);
        }
        let mut sender = Lean::subscribed(&base, &owner, &space).await;
        for n in 0..WARM_UP {
            send_and_deliver(&mut sender, &mut subscribers, &space, n).await;
        }
        let mut samples = Vec::with_capacity(SENDS);
        for n in 0..SENDS {
            let region = Region::new(GLOBAL);
            send_and_deliver(&mut sender, &mut subscribers, &space, WARM_UP + n).await;
            // What the server still does for this send after the last delivery is done
            // by the time the next one starts; a short pause lets it finish inside
            // this sample.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let change = region.change();
            samples.push((change.allocations + change.reallocations, change.bytes_allocated));
        }
        samples.sort_unstable();
        samples[SENDS / 2]
    });
    let _ = stop.send(());
    server.shutdown_timeout(Duration::from_secs(5));

    let (allocations, bytes) = per_send;
    println!(
        "one SEND_MESSAGE to {SUBSCRIBERS} subscribers: {allocations} allocations, {bytes} bytes \
         (median of {SENDS}); budget {BUDGET} allocations, {BYTES_BUDGET} bytes"
    );
    assert!(
        allocations <= BUDGET && bytes <= BYTES_BUDGET,
        "one SEND_MESSAGE to {SUBSCRIBERS} subscribers made {allocations} heap allocations of \
         {bytes} bytes in all (median of {SENDS} sends), over the budget of {BUDGET} \
         allocations and {BYTES_BUDGET} bytes (1.5 × the {MEASURED} and {MEASURED_BYTES} \
         measured when it was set). Something on the send path now does more work per \
         message or per subscriber: profile it (docs/BENCHMARKS.md, \"The regression \
         measure\"), or raise MEASURED with the reason if the cost is meant."
    );
}
