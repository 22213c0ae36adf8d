//! Per-socket ordering of event handling.
//!
//! socketioxide runs every event handler as its own task, so two events from one socket
//! could be handled out of order: a chat sent right after another could be stored first,
//! or a `SEND_MESSAGE` right after `SUBSCRIBE_CHANNEL` could find the socket not yet
//! subscribed. Extractors, though, run in arrival order before the task is spawned, so
//! the [`Turn`] extractor takes a ticket there, and the handler waits for its ticket to be
//! served. A turn ends when it is dropped, whatever the handler did.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use socketioxide::adapter::Adapter;
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use tokio::sync::oneshot;

use crate::drain::{Drain, InFlight};

/// One socket's ticket counter, the ticket now being served, and the turns waiting.
#[derive(Clone)]
pub(crate) struct Gate(Arc<GateInner>);

struct GateInner {
    next: AtomicU64,
    queue: Mutex<Queue>,
}

/// Each waiting turn has its own wake-up, so finishing a turn wakes the next one only:
/// a client that sends a burst of events does not wake every queued handler at each step.
#[derive(Default)]
struct Queue {
    serving: u64,
    waiting: BTreeMap<u64, oneshot::Sender<()>>,
}

impl Gate {
    pub(crate) fn new() -> Self {
        Gate(Arc::new(GateInner { next: AtomicU64::new(0), queue: Mutex::default() }))
    }

    fn ticket(&self) -> Turn {
        Turn {
            ticket: self.0.next.fetch_add(1, Ordering::SeqCst),
            gate: Some(self.clone()),
            in_flight: None,
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A place in a socket's queue of events.
pub(crate) struct Turn {
    ticket: u64,
    /// `None` for sockets without a gate (never the case after authentication).
    gate: Option<Gate>,
    /// Held while the event runs, so a shutdown waits for it; `None` when the server
    /// was already closing as the event arrived.
    in_flight: Option<InFlight>,
}

impl Turn {
    /// A turn taken now, after every event that arrived before.
    pub(crate) fn take<A: Adapter>(socket: &Socket<A>) -> Turn {
        let mut turn = match socket.extensions.get::<Gate>() {
            Some(gate) => gate.ticket(),
            None => Turn { ticket: 0, gate: None, in_flight: None },
        };
        turn.in_flight = socket.extensions.get::<Drain>().and_then(|drain| drain.admit());
        turn
    }

    /// Whether the server admitted this event (it was not shutting down yet).
    pub(crate) fn admitted(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Waits until every earlier event of this socket has been handled.
    pub(crate) async fn wait(&self) {
        let Some(gate) = &self.gate else { return };
        let woken = {
            let mut queue = gate.queue();
            if queue.serving >= self.ticket {
                return;
            }
            let (wake, woken) = oneshot::channel();
            queue.waiting.insert(self.ticket, wake);
            woken
        };
        // The sender is dropped (an error here) only with the gate itself.
        let _ = woken.await;
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some(gate) = &self.gate else { return };
        let mut queue = gate.queue();
        let serving = queue.serving.max(self.ticket + 1);
        queue.serving = serving;
        // Everyone whose turn has come: normally just the next ticket.
        let later = queue.waiting.split_off(&(serving + 1));
        let due = std::mem::replace(&mut queue.waiting, later);
        drop(queue);
        for wake in due.into_values() {
            let _ = wake.send(());
        }
    }
}

impl<A: Adapter> FromMessageParts<A> for Turn {
    type Error = Infallible;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        _: &mut socketioxide::handler::Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(Turn::take(socket))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_are_served_in_ticket_order_even_when_spawned_out_of_order() {
        let gate = Gate::new();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tickets: Vec<Turn> = (0..5).map(|_| gate.ticket()).collect();
        let mut tasks = Vec::new();
        for (i, turn) in tickets.into_iter().enumerate().rev() {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                turn.wait().await;
                tokio::task::yield_now().await;
                log.lock().unwrap().push(i);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_turn_dropped_unserved_lets_the_next_one_go() {
        let gate = Gate::new();
        let first = gate.ticket();
        let second = gate.ticket();
        let third = gate.ticket();
        let waiting = tokio::spawn(async move {
            third.wait().await;
        });
        tokio::task::yield_now().await;
        drop(second);
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the third turn is served")
            .expect("task");
    }
}
