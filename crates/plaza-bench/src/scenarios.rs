//! The scenarios: set up through the REST API, load through sockets, report.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::client::{Connection, Shared, endpoint, histogram, source};
use crate::{Cli, Scenario};

pub use crate::report::Report;

/// Where tokens come from: a file, or Plaza's own registration and guest tokens.
struct Tokens {
    http: reqwest::Client,
    base: String,
    file: Option<Vec<String>>,
    next: usize,
    run: u64,
}

impl Tokens {
    fn new(cli: &Cli) -> anyhow::Result<Tokens> {
        let file = match &cli.tokens {
            Some(path) => {
                let text = std::fs::read_to_string(path).context("--tokens")?;
                let tokens: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect();
                anyhow::ensure!(!tokens.is_empty(), "--tokens names no token");
                Some(tokens)
            }
            None => None,
        };
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        Ok(Tokens {
            http: reqwest::Client::new(),
            base: cli.url.trim_end_matches('/').to_owned(),
            file,
            next: 0,
            run,
        })
    }

    /// A registered user who creates the spaces (the first token of a file).
    async fn owner(&mut self) -> anyhow::Result<String> {
        if let Some(file) = &self.file {
            return Ok(file[0].clone());
        }
        let answer: Value = self
            .http
            .post(format!("{}/api/auth/register", self.base))
            .json(&json!({"username": format!("bench-{}@example.com", self.run), "password": "bench password 1234"}))
            .send()
            .await?
            .json()
            .await?;
        answer["token"].as_str().map(str::to_owned).with_context(|| format!("register: {answer}"))
    }

    /// A token for one more connection: the file's in turn, or a new guest's.
    async fn guest(&mut self) -> anyhow::Result<String> {
        if let Some(file) = &self.file {
            self.next += 1;
            return Ok(file[self.next % file.len()].clone());
        }
        let answer: Value = self
            .http
            .post(format!("{}/api/anonymous/auth", self.base))
            .json(&json!({"displayname": "Bench"}))
            .send()
            .await?
            .json()
            .await?;
        answer["token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("guest token: {answer}"))
    }

    async fn guests(&mut self, count: usize) -> anyhow::Result<Vec<String>> {
        let mut tokens = Vec::with_capacity(count);
        for _ in 0..count {
            tokens.push(self.guest().await?);
        }
        Ok(tokens)
    }

    async fn create_space(&self, owner: &str, title: &str) -> anyhow::Result<String> {
        let answer: Value = self
            .http
            .post(format!("{}/api/spaces/invite", self.base))
            .header("authorization", format!("jwt {owner}"))
            .json(&json!({"topic": {"title": title, "type": "group"}, "invitees": []}))
            .send()
            .await?
            .json()
            .await?;
        answer["data"][0]["topicId"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("create a space: {answer}"))
    }
}

/// The server's resident memory in KiB, when its pid is known.
fn server_rss(cli: &Cli) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", cli.server_pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Opens one connection per token, all at once (bounded), subscribed to `spaces[i % n]`.
async fn open_all(
    cli: &Cli,
    tokens: &[String],
    spaces: &[String],
    shared: &Arc<Shared>,
) -> anyhow::Result<Vec<Connection>> {
    let (address, url) = endpoint(&cli.url)?;
    let before = shared.subscribed.load(Ordering::Relaxed);
    let mut connections = Vec::with_capacity(tokens.len());
    for chunk in tokens.chunks(256).enumerate().map(|(c, t)| (c * 256, t)) {
        let (offset, chunk) = chunk;
        let opened = futures_util::future::join_all(chunk.iter().enumerate().map(|(i, token)| {
            Connection::open(
                source(offset + i, cli.source_addresses),
                address,
                &url,
                token,
                shared.clone(),
            )
        }))
        .await;
        for (i, connection) in opened.into_iter().enumerate() {
            let connection = connection?;
            connection.subscribe(&spaces[(offset + i) % spaces.len()]);
            connections.push(connection);
        }
    }
    let wanted = before + connections.len() as u64;
    wait_until(Duration::from_secs(120), || shared.subscribed.load(Ordering::Relaxed) >= wanted)
        .await
        .context("not every connection was subscribed within 2 minutes")?;
    Ok(connections)
}

async fn wait_until(limit: Duration, done: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        anyhow::ensure!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// Waits (at most a minute) until `expected` deliveries arrived; answers whether they did.
async fn delivered(shared: &Shared, expected: u64) -> bool {
    wait_until(Duration::from_secs(60), || shared.deliveries.load(Ordering::Relaxed) >= expected)
        .await
        .is_ok()
}

async fn merged(connections: Vec<Connection>) -> Histogram<u64> {
    let mut all = histogram();
    for latencies in
        futures_util::future::join_all(connections.into_iter().map(Connection::close)).await
    {
        let _ = all.add(latencies);
    }
    all
}

fn latency_json(latencies: &Histogram<u64>) -> Value {
    let ms = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    json!({"p50_ms": ms(0.5), "p90_ms": ms(0.9), "p99_ms": ms(0.99), "max_ms": latencies.max() as f64 / 1000.0})
}

fn latency_text(latencies: &Histogram<u64>) -> String {
    let ms = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        latencies.max() as f64 / 1000.0
    )
}

/// Sends `messages` from `sender`, at `rate` per second or keeping `window` in flight.
async fn send_all(
    sender: &Connection,
    space: &str,
    messages: usize,
    rate: Option<u32>,
    window: usize,
    shared: &Shared,
) {
    match rate {
        Some(rate) => {
            let mut ticks =
                tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
            for _ in 0..messages {
                ticks.tick().await;
                sender.send(space, shared);
            }
        }
        None => {
            for n in 0..messages {
                if n >= window {
                    match tokio::time::timeout(Duration::from_secs(30), sender.acks.acquire()).await
                    {
                        Ok(Ok(permit)) => permit.forget(),
                        _ => return,
                    }
                }
                sender.send(space, shared);
            }
        }
    }
}

pub async fn run(cli: &Cli) -> anyhow::Result<Report> {
    let mut tokens = Tokens::new(cli)?;
    let shared = Shared::new();
    match cli.scenario.clone() {
        Scenario::Fanout { subscribers, messages, rate, window } => {
            let owner = tokens.owner().await?;
            let space = tokens.create_space(&owner, "bench fanout").await?;
            let guests = tokens.guests(subscribers).await?;
            let spaces = vec![space.clone()];
            let mut connections = open_all(cli, &guests, &spaces, &shared).await?;
            let sender = open_all(cli, &[owner], &spaces, &shared).await?.remove(0);
            let expected = (messages * (subscribers + 1)) as u64;
            let started = Instant::now();
            send_all(&sender, &space, messages, rate, window, &shared).await;
            let complete = delivered(&shared, expected).await;
            let elapsed = started.elapsed().as_secs_f64();
            let rss = server_rss(cli);
            connections.push(sender);
            let latencies = merged(connections).await;
            let delivered = shared.deliveries.load(Ordering::Relaxed);
            let per_second = delivered as f64 / elapsed;
            Ok(Report {
                summary: format!(
                    "fanout: {subscribers} subscribers, {messages} messages{}: {delivered} of {expected} deliveries in {elapsed:.2} s = {per_second:.0}/s ({:.0} sends/s); {}; failures {}; server RSS {:?} KiB",
                    rate.map(|r| format!(" at {r}/s")).unwrap_or_default(),
                    messages as f64 / elapsed,
                    latency_text(&latencies),
                    shared.failures.load(Ordering::Relaxed),
                    rss,
                ),
                json: json!({"scenario": "fanout", "subscribers": subscribers, "messages": messages, "rate": rate,
                    "complete": complete, "deliveries": delivered, "seconds": elapsed, "deliveries_per_second": per_second,
                    "sends_per_second": messages as f64 / elapsed, "latency": latency_json(&latencies),
                    "failures": shared.failures.load(Ordering::Relaxed), "server_rss_kib": rss}),
            })
        }
        Scenario::Chatter { spaces: space_count, per_space, messages, window } => {
            let owner = tokens.owner().await?;
            let mut spaces = Vec::with_capacity(space_count);
            for n in 0..space_count {
                spaces.push(tokens.create_space(&owner, &format!("bench chatter {n}")).await?);
            }
            let guests = tokens.guests(space_count * per_space).await?;
            let connections = open_all(cli, &guests, &spaces, &shared).await?;
            let connections = Arc::new(connections);
            let expected = (space_count * per_space * messages * per_space) as u64;
            let started = Instant::now();
            let senders = (0..connections.len()).map(|i| {
                let (connections, spaces, shared) =
                    (connections.clone(), spaces.clone(), shared.clone());
                tokio::spawn(async move {
                    let space = &spaces[i % spaces.len()];
                    send_all(&connections[i], space, messages, None, window, &shared).await;
                })
            });
            futures_util::future::join_all(senders).await;
            let complete = delivered(&shared, expected).await;
            let elapsed = started.elapsed().as_secs_f64();
            let rss = server_rss(cli);
            let connections = Arc::try_unwrap(connections)
                .map_err(|_| anyhow::anyhow!("senders still running"))?;
            let latencies = merged(connections).await;
            let sends = (space_count * per_space * messages) as f64;
            let delivered = shared.deliveries.load(Ordering::Relaxed);
            Ok(Report {
                summary: format!(
                    "chatter: {space_count} spaces × {per_space} senders × {messages} messages: {:.0} persisted sends/s, {:.0} deliveries/s ({delivered} of {expected}) in {elapsed:.2} s; {}; failures {}; server RSS {:?} KiB",
                    sends / elapsed,
                    delivered as f64 / elapsed,
                    latency_text(&latencies),
                    shared.failures.load(Ordering::Relaxed),
                    rss,
                ),
                json: json!({"scenario": "chatter", "spaces": space_count, "per_space": per_space, "messages": messages,
                    "complete": complete, "seconds": elapsed, "sends_per_second": sends / elapsed,
                    "deliveries_per_second": delivered as f64 / elapsed, "latency": latency_json(&latencies),
                    "failures": shared.failures.load(Ordering::Relaxed), "server_rss_kib": rss}),
            })
        }
        Scenario::Idle { connections: count } => {
            let owner = tokens.owner().await?;
            let space = tokens.create_space(&owner, "bench idle").await?;
            let guests = tokens.guests(count).await?;
            let before = server_rss(cli);
            let started = Instant::now();
            let connections = open_all(cli, &guests, &[space], &shared).await?;
            let opened = started.elapsed().as_secs_f64();
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = server_rss(cli);
            let per_connection = match (before, after) {
                (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / count as f64),
                _ => None,
            };
            for connection in connections {
                connection.abort();
            }
            Ok(Report {
                summary: format!(
                    "idle: {count} subscribed connections opened in {opened:.2} s; server RSS {before:?} → {after:?} KiB = {} KiB per connection",
                    per_connection
                        .map(|k| format!("{k:.2}"))
                        .unwrap_or_else(|| "? (give --server-pid)".into())
                ),
                json: json!({"scenario": "idle", "connections": count, "open_seconds": opened,
                    "server_rss_before_kib": before, "server_rss_after_kib": after, "kib_per_connection": per_connection}),
            })
        }
        Scenario::Storm { clients } => {
            let owner = tokens.owner().await?;
            let space = tokens.create_space(&owner, "bench storm").await?;
            let guests = tokens.guests(clients).await?;
            let spaces = vec![space];
            let first = open_all(cli, &guests, &spaces, &shared).await?;
            for connection in first {
                connection.abort();
            }
            // Everyone comes back at once.
            let started = Instant::now();
            let again = open_all(cli, &guests, &spaces, &shared).await?;
            let elapsed = started.elapsed().as_secs_f64();
            for connection in again {
                connection.abort();
            }
            Ok(Report {
                summary: format!(
                    "storm: {clients} clients reconnected and resubscribed in {elapsed:.2} s"
                ),
                json: json!({"scenario": "storm", "clients": clients, "seconds": elapsed}),
            })
        }
        Scenario::Rest { spaces, depth, samples } => rest(&tokens, spaces, depth, samples).await,
        Scenario::Ceiling { subscribers, messages } => {
            crate::ceiling::run(cli, subscribers, messages).await
        }
    }
}

async fn rest(
    tokens: &Tokens,
    spaces: usize,
    depth: usize,
    samples: usize,
) -> anyhow::Result<Report> {
    let mut tokens = Tokens {
        http: tokens.http.clone(),
        base: tokens.base.clone(),
        file: tokens.file.clone(),
        next: 0,
        run: tokens.run,
    };
    let owner = tokens.owner().await?;
    let created = Instant::now();
    let workers = (0..8).map(|worker| {
        let tokens = Tokens {
            http: tokens.http.clone(),
            base: tokens.base.clone(),
            file: None,
            next: 0,
            run: 0,
        };
        let owner = owner.clone();
        async move {
            for n in (worker..spaces).step_by(8) {
                tokens.create_space(&owner, &format!("bench rest {n}")).await?;
            }
            anyhow::Ok(())
        }
    });
    for done in futures_util::future::join_all(workers).await {
        done?;
    }
    let create_seconds = created.elapsed().as_secs_f64();
    let get = |url: String| {
        let (http, owner) = (tokens.http.clone(), owner.clone());
        async move {
            let started = Instant::now();
            let answer: Value = http
                .get(url)
                .header("authorization", format!("jwt {owner}"))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok((started.elapsed(), answer))
        }
    };
    let first_url = format!("{}/api/users/me/spaces?size=50", tokens.base);
    // The URL of the page `depth` pages in, by following nextPageUrl.
    let mut deep_url = first_url.clone();
    for _ in 1..depth {
        let (_, page) = get(deep_url.clone()).await?;
        let next = page["nextPageUrl"].as_str().unwrap_or_default();
        anyhow::ensure!(!next.is_empty(), "fewer than {depth} pages");
        deep_url = if next.starts_with("http") {
            next.to_owned()
        } else {
            format!("{}{next}", tokens.base)
        };
    }
    let mut first = histogram();
    let mut deep = histogram();
    for _ in 0..samples {
        let _ = first.record(get(first_url.clone()).await?.0.as_micros().max(1) as u64);
        let _ = deep.record(get(deep_url.clone()).await?.0.as_micros().max(1) as u64);
    }
    Ok(Report {
        summary: format!(
            "rest: {spaces} spaces made in {create_seconds:.1} s; /users/me/spaces first page: {}; page {depth}: {}",
            latency_text(&first),
            latency_text(&deep)
        ),
        json: json!({"scenario": "rest", "spaces": spaces, "depth": depth, "samples": samples,
            "first_page": latency_json(&first), "deep_page": latency_json(&deep)}),
    })
}
