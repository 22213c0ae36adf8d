//! Graceful shutdown for sockets: once the server is told to stop, events already
//! received are finished and answered, new sends are refused with a clear error, and
//! only then does the process let its connections go (clients reconnect elsewhere).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Counts socket events in progress and says whether new ones are still admitted.
#[derive(Clone, Default)]
pub struct Drain(Arc<DrainInner>);

#[derive(Default)]
struct DrainInner {
    closing: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
}

/// Closes every connection after what is queued for it: clients see the transport
/// close and reconnect, to another node or to this one restarted. Held by the server,
/// apart from the [`Drain`] the sockets see, so that nothing refers back to itself.
pub struct ConnectionCloser(
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>,
);

impl ConnectionCloser {
    pub(crate) fn new(
        close: impl Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static,
    ) -> Self {
        ConnectionCloser(Box::new(close))
    }

    pub async fn close(&self) {
        (self.0)().await;
    }
}

/// One admitted event; the drain waits for it to drop.
pub(crate) struct InFlight(Drain);

impl Drain {
    /// Admits an event now, or `None` once the server is closing.
    pub(crate) fn admit(&self) -> Option<InFlight> {
        self.0.in_flight.fetch_add(1, Ordering::SeqCst);
        if self.0.closing.load(Ordering::SeqCst) {
            self.release();
            return None;
        }
        Some(InFlight(self.clone()))
    }

    fn release(&self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }

    /// Events admitted and not finished.
    pub fn in_flight(&self) -> usize {
        self.0.in_flight.load(Ordering::SeqCst)
    }

    /// Stops admitting events and waits, at most `grace`, for those admitted to
    /// finish; answers whether they all did.
    pub async fn close_and_wait(&self, grace: Duration) -> bool {
        self.0.closing.store(true, Ordering::SeqCst);
        let finished = async {
            loop {
                let idle = self.0.idle.notified();
                if self.in_flight() == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(grace, finished).await.is_ok()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closing_waits_for_admitted_events_and_refuses_new_ones() {
        let drain = Drain::default();
        let first = drain.admit().expect("open");
        let waiting = tokio::spawn({
            let drain = drain.clone();
            async move { drain.close_and_wait(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(drain.admit().is_none(), "closing refuses new events");
        assert!(!waiting.is_finished(), "an admitted event is still running");
        drop(first);
        assert!(waiting.await.unwrap(), "finished once the event was done");
        assert_eq!(drain.in_flight(), 0);
    }

    #[tokio::test]
    async fn closing_gives_up_after_the_grace() {
        let drain = Drain::default();
        let _stuck = drain.admit().expect("open");
        assert!(!drain.close_and_wait(Duration::from_millis(50)).await);
    }
}
