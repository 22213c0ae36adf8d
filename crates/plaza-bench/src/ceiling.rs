//! The loopback ceiling: a bare tokio WebSocket server in this process that sends
//! every text frame it receives to every connection, loaded like `fanout`. What Plaza
//! reaches is compared against it (same machine, same loopback, same client code).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::Cli;
use crate::client::{source, websocket};
use crate::report::Report;

async fn serve(listener: TcpListener, frames: broadcast::Sender<Utf8Bytes>) {
    while let Ok((stream, _)) = listener.accept().await {
        let frames = frames.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
            let (mut sink, mut stream) = ws.split();
            let mut heard = frames.subscribe();
            let writer = tokio::spawn(async move {
                while let Ok(text) = heard.recv().await {
                    if sink.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(Ok(frame)) = stream.next().await {
                if let Message::Text(text) = frame {
                    let _ = frames.send(text);
                }
            }
            writer.abort();
        });
    }
}

pub async fn run(cli: &Cli, subscribers: usize, messages: usize) -> anyhow::Result<Report> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (frames, _) = broadcast::channel(4096);
    tokio::spawn(serve(listener, frames));
    let url = format!("ws://{address}/");
    let epoch = Instant::now();
    let deliveries = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::with_capacity(subscribers);
    for n in 0..subscribers {
        let ws = websocket(source(n, cli.source_addresses), address, &url).await?;
        let (_sink, mut stream) = ws.split();
        let deliveries = deliveries.clone();
        readers.push(tokio::spawn(async move {
            let _sink = _sink;
            while let Some(Ok(Message::Text(text))) = stream.next().await {
                if text.as_str().starts_with("bench:") {
                    deliveries.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let sender = websocket(source(subscribers, cli.source_addresses), address, &url).await?;
    let (mut sink, _stream) = sender.split();
    let expected = (subscribers * messages) as u64;
    let started = Instant::now();
    for n in 0..messages {
        let now = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        sink.send(Message::text(format!("bench:{now}"))).await?;
        // As fast as the fan-out keeps up: a little behind the slowest reader.
        if n % 32 == 31 {
            let behind = |delivered: u64| {
                delivered + ((64 * subscribers) as u64) < ((n * subscribers) as u64)
            };
            while behind(deliveries.load(Ordering::Relaxed)) {
                tokio::task::yield_now().await;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while deliveries.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let delivered = deliveries.load(Ordering::Relaxed);
    let _ = sink.close().await;
    for reader in readers {
        reader.abort();
    }
    let per_second = delivered as f64 / elapsed;
    Ok(Report {
        summary: format!(
            "ceiling: a bare WebSocket broadcast to {subscribers} connections: {delivered} of {expected} deliveries in {elapsed:.2} s = {per_second:.0}/s"
        ),
        json: json!({"scenario": "ceiling", "subscribers": subscribers, "messages": messages,
            "deliveries": delivered, "seconds": elapsed, "deliveries_per_second": per_second}),
    })
}
