//! Rate limits on what users do, so that one client cannot flood a space or the server.
//!
//! A limiter answers "may this key act now?" and, when not, how long to wait. The
//! in-process limiter below counts per node; a shared one can implement the same trait.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::{CoreError, ErrorCode};

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one action by `key`: `Err(wait)` when over the limit.
    async fn check(&self, key: &str) -> Result<(), Duration>;
}

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// A per-key token bucket (GCRA) in this process. A rate of 0 per second allows all.
pub struct LocalRateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
}

/// Forget idle keys every this many checks, so memory follows active users only.
const SWEEP_EVERY: u64 = 4096;

impl LocalRateLimiter {
    pub fn new(rate: Rate) -> Self {
        let limiter = NonZeroU32::new(rate.per_second).map(|per_second| {
            let burst = NonZeroU32::new(rate.burst).unwrap_or(per_second);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        });
        LocalRateLimiter { limiter, checks: AtomicU64::new(0) }
    }
}

#[async_trait]
impl RateLimiter for LocalRateLimiter {
    async fn check(&self, key: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// A per-key limit counted in the store: one budget for every node of a deployment
/// that shares a database but no Redis. If the store cannot count, the action is let
/// through (and logged): refusing everyone while the database restarts would be worse.
pub struct StoreRateLimiter {
    store: std::sync::Arc<dyn plaza_db::Store>,
    name: String,
    interval_micros: i64,
    burst: i64,
}

impl StoreRateLimiter {
    /// Limits keys under `name` (the deployment's prefix and what is limited).
    pub fn new(store: std::sync::Arc<dyn plaza_db::Store>, name: &str, rate: Rate) -> Self {
        let interval_micros =
            if rate.per_second == 0 { 0 } else { 1_000_000 / i64::from(rate.per_second) };
        StoreRateLimiter {
            store,
            name: name.to_owned(),
            interval_micros,
            burst: i64::from(rate.burst.max(1)),
        }
    }
}

#[async_trait]
impl RateLimiter for StoreRateLimiter {
    async fn check(&self, key: &str) -> Result<(), Duration> {
        if self.interval_micros == 0 {
            return Ok(());
        }
        let now = plaza_db::Timestamp::now().millis().saturating_mul(1000);
        let key = format!("{}:{key}", self.name);
        match self.store.take_rate(&key, now, self.interval_micros, self.burst).await {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(Duration::from_micros(wait.unsigned_abs())),
            Err(error) => {
                tracing::warn!(%error, "the shared rate limit is unavailable; allowing");
                Ok(())
            }
        }
    }
}

/// The error a refused action gets: `request.rate_limited` with whole seconds to wait.
pub fn rate_limited(wait: Duration, what: &str) -> CoreError {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    CoreError {
        retry_after_secs: Some(seconds.max(1)),
        ..CoreError::new(ErrorCode::RequestRateLimited, format!("too many {what}; slow down"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_passes_then_each_key_waits_on_its_own() {
        let limiter = LocalRateLimiter::new(Rate { per_second: 1, burst: 3 });
        for _ in 0..3 {
            assert!(limiter.check("ann").await.is_ok());
        }
        let wait = limiter.check("ann").await.expect_err("over the burst");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check("bob").await.is_ok(), "keys are independent");
        let error = rate_limited(wait, "messages");
        assert_eq!((error.code, error.retry_after_secs), (ErrorCode::RequestRateLimited, Some(1)));

        let unlimited = LocalRateLimiter::new(Rate { per_second: 0, burst: 0 });
        for _ in 0..10_000 {
            assert!(unlimited.check("ann").await.is_ok());
        }
    }
}
