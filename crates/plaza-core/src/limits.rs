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

/// Counts what each key holds open (a user's connections, an address's sockets), up to
/// a limit: [`Slots::take`] hands out a [`Slot`] that gives its place back when the
/// last clone of it drops.
pub struct Slots<K: Eq + std::hash::Hash + Clone + Send + 'static>(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<K, u32>>>,
);

impl<K: Eq + std::hash::Hash + Clone + Send + 'static> Default for Slots<K> {
    fn default() -> Self {
        Slots(std::sync::Arc::default())
    }
}

impl<K: Eq + std::hash::Hash + Clone + Send + 'static> Clone for Slots<K> {
    fn clone(&self) -> Self {
        Slots(self.0.clone())
    }
}

impl<K: Eq + std::hash::Hash + Clone + Send + 'static> Slots<K> {
    /// One of `key`'s `limit` places (0: unlimited), or `None` when all are taken.
    pub fn take(&self, key: K, limit: u32) -> Option<Slot<K>> {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(key.clone()).or_insert(0);
        if limit != 0 && *count >= limit {
            return None;
        }
        *count += 1;
        Some(Slot(std::sync::Arc::new(SlotGuard { slots: self.clone(), key })))
    }

    /// How many places `key` holds.
    pub fn held(&self, key: &K) -> u32 {
        let counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.get(key).copied().unwrap_or(0)
    }
}

/// A place taken from [`Slots`]; cloning it shares the one place.
#[derive(Clone)]
pub struct Slot<K: Eq + std::hash::Hash + Clone + Send + 'static>(
    #[allow(dead_code, reason = "held for its Drop")] std::sync::Arc<SlotGuard<K>>,
);

struct SlotGuard<K: Eq + std::hash::Hash + Clone + Send + 'static> {
    slots: Slots<K>,
    key: K,
}

impl<K: Eq + std::hash::Hash + Clone + Send + 'static> Drop for SlotGuard<K> {
    fn drop(&mut self) {
        let mut counts = self.slots.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
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

    #[test]
    fn slots_are_given_back_when_the_last_clone_drops() {
        let slots = Slots::<u8>::default();
        let first = slots.take(1, 2).expect("a place");
        let shared = first.clone();
        let second = slots.take(1, 2).expect("a second place");
        assert!(slots.take(1, 2).is_none(), "two is the limit");
        assert!(slots.take(2, 2).is_some(), "other keys count apart");
        drop(first);
        assert_eq!(slots.held(&1), 2, "a clone still holds the place");
        drop((shared, second));
        assert_eq!(slots.held(&1), 0);
        assert!(slots.take(1, 0).is_some() && slots.take(1, 0).is_some(), "0: no limit");
    }

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
