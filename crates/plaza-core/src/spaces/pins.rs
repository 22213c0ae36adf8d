//! Space PINs cannot be guessed quickly: every PIN presented to a space that needs one
//! counts against two budgets, the caller's and the space's, before it is compared.
//! Counting right and wrong attempts alike is what makes the budget bind: were only
//! wrong ones counted, a guesser could ignore the refusals and keep trying until one
//! was let through. Legitimate callers present a PIN a few times at most (reading the
//! space, subscribing), then are members and need none.
//!
//! When a budget runs out, the audit log records the burst once a minute per budget,
//! not once per refused attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plaza_db::SpaceRecord;

use crate::CoreResult;
use crate::audit::{AuditEntry, AuditLog};
use crate::identity::Principal;
use crate::limits::{LocalRateLimiter, Rate, RateLimiter, rate_limited};

/// How often one exhausted budget is written to the audit log.
const AUDIT_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct PinGuard {
    per_caller: Arc<dyn RateLimiter>,
    per_space: Arc<dyn RateLimiter>,
    audited: Mutex<HashMap<String, Instant>>,
}

impl Default for PinGuard {
    fn default() -> Self {
        let unlimited = || Arc::new(LocalRateLimiter::new(Rate { per_second: 0, burst: 0 }));
        PinGuard { per_caller: unlimited(), per_space: unlimited(), audited: Mutex::default() }
    }
}

impl PinGuard {
    pub(crate) fn new(per_caller: Arc<dyn RateLimiter>, per_space: Arc<dyn RateLimiter>) -> Self {
        PinGuard { per_caller, per_space, audited: Mutex::default() }
    }

    /// Counts one attempt of `principal` at the PIN of `space` (when it needs one and a
    /// PIN was given); refused with `request.rate_limited` once a budget is spent.
    pub(crate) async fn attempt(
        &self,
        audit: &AuditLog,
        principal: &Principal,
        space: &SpaceRecord,
        pin: Option<&str>,
    ) -> CoreResult<()> {
        if super::required_pin(space).is_none() || pin.is_none_or(|p| p.trim().is_empty()) {
            return Ok(());
        }
        let caller = format!("pin:user:{}", principal.user_id());
        let room = format!("pin:space:{}", space.id);
        for (limiter, key, budget) in
            [(&self.per_caller, caller, "caller"), (&self.per_space, room, "space")]
        {
            if let Err(wait) = limiter.check(&key).await {
                if self.first_in_a_while(&key) {
                    audit
                        .record(
                            AuditEntry::new(principal, "space.pin.throttled")
                                .target("space", space.id)
                                .space(space.id)
                                .detail("budget", budget),
                        )
                        .await;
                }
                return Err(rate_limited(wait, "attempts at this space's password"));
            }
        }
        Ok(())
    }

    fn first_in_a_while(&self, key: &str) -> bool {
        let mut audited = self.audited.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        audited.retain(|_, at| now.duration_since(*at) < AUDIT_EVERY);
        if audited.contains_key(key) {
            return false;
        }
        audited.insert(key.to_owned(), now);
        true
    }
}
