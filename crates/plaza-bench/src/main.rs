//! `plaza-bench`: load for any server that speaks the Spaces socket protocol
//! (Socket.IO on Engine.IO v4, namespace `/chat`) and its REST API.
//!
//! Scenarios: `fanout` (one space, many subscribers), `chatter` (many spaces, every
//! subscriber sending), `idle` (memory per subscribed connection), `storm` (everyone
//! reconnects at once), `rest` (`/users/me/spaces` paging, first page and deep), and
//! `ceiling` (a bare WebSocket broadcast in this process: the loopback limit to compare
//! against). Each prints a human summary and one JSON line.
//!
//! Tokens come from Plaza itself (one registered owner, anonymous guests for everyone
//! else: cheap to make) or from `--tokens FILE` (one per line) for other servers.
//! Connections spread over `--source-addresses N` loopback addresses (127.0.0.1 to
//! 127.0.0.N), so that more than one address's ports can be used.

mod ceiling;
mod client;
mod report;
mod scenarios;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "plaza-bench",
    version,
    about = "Load for servers speaking the Spaces socket protocol"
)]
pub struct Cli {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A file of tokens (JWTs), one per line, used in turn instead of registering.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Spread connections over this many loopback source addresses (127.0.0.1..N).
    #[arg(long, default_value_t = 1)]
    pub source_addresses: u8,
    /// The server's process id, to report its resident memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    #[command(subcommand)]
    pub scenario: Scenario,
}

#[derive(Subcommand, Clone)]
pub enum Scenario {
    /// One space, many subscribers, one sender: deliveries per second and latency.
    Fanout {
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        #[arg(long, default_value_t = 1000)]
        messages: usize,
        /// Messages per second; without it, as fast as acknowledgements allow.
        #[arg(long)]
        rate: Option<u32>,
        /// Messages in flight when no rate is given.
        #[arg(long, default_value_t = 32)]
        window: usize,
    },
    /// Many spaces, every subscriber sending: persisted sends per second.
    Chatter {
        #[arg(long, default_value_t = 100)]
        spaces: usize,
        #[arg(long, default_value_t = 10)]
        per_space: usize,
        /// Messages each subscriber sends.
        #[arg(long, default_value_t = 20)]
        messages: usize,
        /// Messages in flight per sender.
        #[arg(long, default_value_t = 4)]
        window: usize,
    },
    /// Idle subscribed connections: the server's memory per connection.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
    },
    /// Everyone connected drops and reconnects at once: time until all resubscribed.
    Storm {
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
    },
    /// `GET /api/users/me/spaces` for a user in many spaces: the first page and a deep one.
    Rest {
        #[arg(long, default_value_t = 10_000)]
        spaces: usize,
        /// How deep the deep page is.
        #[arg(long, default_value_t = 50)]
        depth: usize,
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// A bare WebSocket broadcast server in this process, loaded like `fanout`.
    Ceiling {
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        #[arg(long, default_value_t = 1000)]
        messages: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = scenarios::run(&cli).await?;
    println!("{}", report.summary);
    println!("{}", report.json);
    Ok(())
}
