//! Realtime fan-out and send throughput: `cargo bench -p plaza-server --bench realtime`.
//!
//! Starts release Plaza nodes on loopback ports, creates a space, and runs
//! `tests/clients/bench-fanout.js` (needs `npm ci` in `tests/clients`): 1 000
//! socket.io-client 4 subscribers on one space while its owner sends messages with 32 in
//! flight. Every message is stored before it is announced, so the send rate includes
//! the database commit. Prints the client's figures.
//!
//! - default: one node on its embedded SQLite database;
//! - `PLAZA_BENCH_DATABASE=postgres` (with `PLAZA_TEST_PG_URL`): on PostgreSQL;
//! - `PLAZA_BENCH_REDIS_URL=redis://...`: through the Redis adapter;
//! - `PLAZA_BENCH_NODES=N` (with both of the above): N nodes of one deployment, the
//!   subscribers spread over them, the sender on the first;
//! - `PLAZA_BENCH_EVENT=presence`: presence events instead of messages (relayed, never
//!   stored): fan-out alone.

use std::process::Command;
use std::time::Duration;

use plaza_db_tests::TestDatabase;
use plaza_server::settings::SecretUrl;
use plaza_server::{Application, Overrides, Settings};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Defaults; `PLAZA_BENCH_SUBSCRIBERS` and `PLAZA_BENCH_MESSAGES` override them.
const SUBSCRIBERS: &str = "1000";
const MESSAGES: &str = "200";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let clients = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients");
    anyhow::ensure!(
        clients.join("node_modules/socket.io-client-v4").exists(),
        "run `npm ci` in tests/clients first"
    );
    let nodes: usize = env("PLAZA_BENCH_NODES").map_or(Ok(1), |n| n.parse())?;
    let redis = env("PLAZA_BENCH_REDIS_URL");
    let postgres = env("PLAZA_BENCH_DATABASE").is_some_and(|d| d == "postgres");
    anyhow::ensure!(
        nodes == 1 || (redis.is_some() && postgres),
        "several nodes need PLAZA_BENCH_REDIS_URL and PLAZA_BENCH_DATABASE=postgres"
    );
    let database = match postgres {
        true => Some(TestDatabase::postgres().await?.ok_or_else(|| {
            anyhow::anyhow!("PLAZA_BENCH_DATABASE=postgres needs PLAZA_TEST_PG_URL")
        })?),
        false => None,
    };
    let prefix = format!("plaza-bench-{:x}", rand::random::<u32>());

    let mut folders = Vec::new();
    let mut stops = Vec::new();
    let mut servers = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..nodes {
        let folder = tempfile::tempdir()?;
        let mut settings = Settings::load(None, Vec::new(), &Overrides::default())?;
        settings.server.data_dir = folder.path().join("data");
        settings.log.filter = "warn".into();
        // The benchmark measures the server, not the per-user send limit.
        settings.messages.sends_per_second = 0;
        settings.limits.auth_per_second = 0;
        // Every subscriber connects with the one benchmark user's token.
        settings.limits.connections_per_user = 0;
        // Several nodes on one machine: each SFU on a free port (not measured here).
        settings.media.udp_listen = "127.0.0.1:0".parse()?;
        if let Some(database) = &database {
            settings.database.url = Some(SecretUrl(database.url.clone()));
        }
        if let Some(redis) = &redis {
            settings.realtime.adapter = SecretUrl(redis.clone());
            settings.realtime.channel_prefix = prefix.clone();
            settings.files.local_is_shared = true;
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let app = Application::build_with_listener(settings, listener).await?;
        bases.push(format!("http://{}", app.local_addr()?));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        servers.push(tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        })));
        stops.push(stop);
        folders.push(folder);
    }
    let base = bases[0].clone();

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

    let subscribers = env("PLAZA_BENCH_SUBSCRIBERS").unwrap_or_else(|| SUBSCRIBERS.into());
    let messages = env("PLAZA_BENCH_MESSAGES").unwrap_or_else(|| MESSAGES.into());
    let urls = bases.join(",");
    let kind = env("PLAZA_BENCH_EVENT").unwrap_or_else(|| "message".into());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(clients)
            .args(["bench-fanout.js", &urls, &token, &space, &subscribers, &messages, &kind])
            .output()
    })
    .await??;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    for stop in stops {
        let _ = stop.send(());
    }
    for server in servers {
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    }
    if let Some(database) = database {
        database.remove().await?;
    }
    drop(folders);
    Ok(())
}
