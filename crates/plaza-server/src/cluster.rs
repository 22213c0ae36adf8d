//! What several nodes share through Redis besides socket fan-out: the per-user rate
//! limits and the ringing 1:1 calls. Both keep their state in Redis keys that expire by
//! themselves, use Redis's clock (so node clocks may drift), and reconnect on their own
//! through a `ConnectionManager` when Redis restarts.
//!
//! When Redis cannot be reached, the limiter lets the action through (and logs it):
//! refusing every send while Redis restarts would be worse than a short unlimited spell.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use plaza_core::limits::{Rate, RateLimiter};
use plaza_core::meetings::CallRegistry;
use redis::aio::ConnectionManager;

/// GCRA on one key, in microseconds of Redis time: allowed while the theoretical
/// arrival time is at most `burst - 1` intervals ahead; answers 0, or how long to wait.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat + interval - burst * interval
if now < allow_at then return allow_at - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1)
return 0
";

/// Connects to the Redis at `url` (which the realtime adapter uses too).
pub async fn connect(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url).context("not a Redis URL")?;
    ConnectionManager::new(client).await.context("connect to Redis")
}

/// A per-key rate limit that all nodes count together.
pub struct RedisRateLimiter {
    connection: ConnectionManager,
    script: redis::Script,
    /// Key prefix naming the deployment and what is limited.
    prefix: String,
    interval_micros: u64,
    burst: u32,
}

impl RedisRateLimiter {
    /// Limits keys under `name` (the deployment's prefix and what is limited).
    pub fn new(connection: ConnectionManager, name: &str, rate: Rate) -> Self {
        let interval_micros = 1_000_000 / u64::from(rate.per_second.max(1));
        RedisRateLimiter {
            connection,
            script: redis::Script::new(GCRA),
            prefix: format!("{name}:"),
            interval_micros: if rate.per_second == 0 { 0 } else { interval_micros },
            burst: rate.burst.max(1),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, key: &str) -> Result<(), Duration> {
        if self.interval_micros == 0 {
            return Ok(());
        }
        let mut connection = self.connection.clone();
        let answer: redis::RedisResult<i64> = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(self.interval_micros)
            .arg(self.burst)
            .invoke_async(&mut connection)
            .await;
        match answer {
            Ok(0) => Ok(()),
            Ok(wait) => Err(Duration::from_micros(wait.unsigned_abs())),
            Err(error) => {
                tracing::warn!(%error, "the shared rate limit is unavailable; allowing");
                Ok(())
            }
        }
    }
}

/// Ringing calls as Redis keys: `ring` sets one, `answer` deletes it, and only the
/// one delete that found it answers `true`.
pub struct RedisCallRegistry {
    connection: ConnectionManager,
    prefix: String,
}

impl RedisCallRegistry {
    pub fn new(connection: ConnectionManager, deployment: &str) -> Self {
        RedisCallRegistry { connection, prefix: format!("{deployment}:call:") }
    }

    fn key(&self, call_id: &str) -> String {
        format!("{}{call_id}", self.prefix)
    }
}

#[async_trait]
impl CallRegistry for RedisCallRegistry {
    async fn ring(&self, call_id: &str, ttl: Duration) {
        let mut connection = self.connection.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let set: redis::RedisResult<()> = redis::cmd("SET")
            .arg(self.key(call_id))
            .arg(1)
            .arg("PX")
            .arg(millis)
            .query_async(&mut connection)
            .await;
        if let Err(error) = set {
            tracing::warn!(%error, "could not record a ringing call in Redis");
        }
    }

    async fn answer(&self, call_id: &str) -> bool {
        let mut connection = self.connection.clone();
        let deleted: redis::RedisResult<i64> =
            redis::cmd("DEL").arg(self.key(call_id)).query_async(&mut connection).await;
        match deleted {
            Ok(count) => count > 0,
            Err(error) => {
                tracing::warn!(%error, "could not answer a ringing call in Redis");
                false
            }
        }
    }
}
