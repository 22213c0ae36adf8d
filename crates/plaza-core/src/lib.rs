//! Plaza's domain: identity, permissions and the services that enforce them.
//!
//! This crate knows nothing of HTTP, Socket.IO or SQL. Transports hand it parsed input
//! and map its [`CoreError`] to their own wire shapes exactly once; it reaches storage
//! only through `plaza_db::Store`.
#![forbid(unsafe_code)]

pub mod audit;
pub mod content;
pub mod digest;
mod error;
pub mod events;
pub mod files;
#[cfg(test)]
mod fuzz;
pub mod identity;
pub mod limits;
pub mod mail;
pub mod meetings;
pub mod messages;
pub mod principal;
pub mod spaces;
pub mod views;

pub use error::{CoreError, CoreResult, ErrorCode, FieldError};
pub use plaza_db::{
    ClientKind, InvitationRecord, MembershipRecord, MembershipState, MessageCategory,
    MessageRecord, OAuthClientRecord, ObjectId, Role, SpaceKind, SpaceRecord, SpaceStatus, Thread,
    Timestamp, UserKind, UserRecord, UserSettingsRecord,
};
