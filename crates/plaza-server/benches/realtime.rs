//! Realtime fan-out and send throughput: `cargo bench -p plaza-server --bench realtime`.
//!
//! Starts a release Plaza on a loopback port with its embedded SQLite database, creates
//! a space, and runs `tests/clients/bench-fanout.js` (needs `npm ci` in `tests/clients`):
//! 1 000 socket.io-client 4 subscribers on one space while its owner sends messages
//! with 32 in flight. Every message is stored before it is announced, so the send rate
//! includes the SQLite commit. Prints the client's figures.

use std::process::Command;
use std::time::Duration;

use plaza_server::{Application, Overrides, Settings};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Defaults; `PLAZA_BENCH_SUBSCRIBERS` and `PLAZA_BENCH_MESSAGES` override them.
const SUBSCRIBERS: &str = "1000";
const MESSAGES: &str = "200";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let clients = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients");
    anyhow::ensure!(
        clients.join("node_modules/socket.io-client-v4").exists(),
        "run `npm ci` in tests/clients first"
    );
    let folder = tempfile::tempdir()?;
    let mut settings = Settings::load(None, Vec::new(), &Overrides::default())?;
    settings.server.data_dir = folder.path().join("data");
    settings.log.filter = "warn".into();
    // The benchmark measures the server, not the per-user send limit.
    settings.messages.sends_per_second = 0;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let app = Application::build_with_listener(settings, listener).await?;
    let base = format!("http://{}", app.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::new();
    let registered: Value = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"username": "owner@example.com", "password": "benchmark password"}))
        .send()
        .await?
        .json()
        .await?;
    let token = registered["token"].as_str().unwrap_or_default().to_owned();
    let created: Value = http
        .post(format!("{base}/api/spaces/invite"))
        .header("authorization", format!("jwt {token}"))
        .json(&json!({"topic": {"title": "Fan-out"}}))
        .send()
        .await?
        .json()
        .await?;
    let space = created["data"][0]["topicId"].as_str().unwrap_or_default().to_owned();

    let subscribers =
        std::env::var("PLAZA_BENCH_SUBSCRIBERS").unwrap_or_else(|_| SUBSCRIBERS.into());
    let messages = std::env::var("PLAZA_BENCH_MESSAGES").unwrap_or_else(|_| MESSAGES.into());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(clients)
            .args(["bench-fanout.js", &base, &token, &space, &subscribers, &messages])
            .output()
    })
    .await??;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    Ok(())
}
