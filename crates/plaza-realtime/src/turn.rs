//! Per-socket ordering of event handling.
//!
//! socketioxide runs every event handler as its own task, so two events from one socket
//! could be handled out of order: a chat sent right after another could be stored first,
//! or a `SEND_MESSAGE` right after `SUBSCRIBE_CHANNEL` could find the socket not yet
//! subscribed. Extractors, though, run in arrival order before the task is spawned, so
//! the [`Turn`] extractor takes a ticket there, and the handler waits for its ticket to be
//! served. A turn ends when it is dropped, whatever the handler did.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use socketioxide::adapter::Adapter;
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use tokio::sync::watch;

use crate::drain::{Drain, InFlight};

/// One socket's ticket counter and the ticket now being served.
#[derive(Clone)]
pub(crate) struct Gate(Arc<GateInner>);

struct GateInner {
    next: AtomicU64,
    serving: watch::Sender<u64>,
}

impl Gate {
    pub(crate) fn new() -> Self {
        Gate(Arc::new(GateInner { next: AtomicU64::new(0), serving: watch::Sender::new(0) }))
    }

    fn ticket(&self) -> Turn {
        Turn {
            ticket: self.0.next.fetch_add(1, Ordering::SeqCst),
            gate: Some(self.clone()),
            in_flight: None,
        }
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
        if let Some(gate) = &self.gate {
            let mut serving = gate.0.serving.subscribe();
            let _ = serving.wait_for(|now| *now >= self.ticket).await;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(gate) = &self.gate {
            let next = self.ticket + 1;
            gate.0.serving.send_if_modified(|now| {
                let advance = *now < next;
                if advance {
                    *now = next;
                }
                advance
            });
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
}
