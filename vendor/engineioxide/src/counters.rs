//! PLAZA-PATCH: process-wide counts of what sockets were given to send, for metrics.
//!
//! One relaxed atomic add per packet queued (or refused because the socket's queue was
//! full); read them with [`queued`] and [`refused_full`]. Process-wide, not per engine:
//! a process normally runs one server.

use std::sync::atomic::{AtomicU64, Ordering};

static QUEUED: AtomicU64 = AtomicU64::new(0);
static REFUSED_FULL: AtomicU64 = AtomicU64::new(0);

/// Packets queued for a socket to send (messages, pings, closes).
pub fn queued() -> u64 {
    QUEUED.load(Ordering::Relaxed)
}

/// Packets refused because the socket's queue (`max_buffer_size`) was full.
pub fn refused_full() -> u64 {
    REFUSED_FULL.load(Ordering::Relaxed)
}

pub(crate) fn count<T, E>(result: &Result<T, tokio::sync::mpsc::error::TrySendError<E>>) {
    match result {
        Ok(_) => QUEUED.fetch_add(1, Ordering::Relaxed),
        Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
            REFUSED_FULL.fetch_add(1, Ordering::Relaxed)
        }
        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => 0,
    };
}
