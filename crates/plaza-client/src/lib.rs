//! A Rust client for Plaza (and any server speaking the Avaya Spaces API).
//!
//! [`rest`] makes typed REST calls (lists are async streams over every page; refusals
//! are typed errors carrying the server's code). [`realtime`] speaks Socket.IO v5 over
//! Engine.IO v4 on a WebSocket: connect to a namespace with a token, emit events, and
//! receive the server's events in order; [`live`] builds on it a session that yields
//! typed events and survives lost connections (reconnect, resubscribe, catch up).
#![forbid(unsafe_code)]

pub mod live;
pub mod realtime;
pub mod rest;

pub use realtime::{Event, RealtimeClient, RealtimeError};
pub use rest::{ApiError, ClientError, Plaza};
