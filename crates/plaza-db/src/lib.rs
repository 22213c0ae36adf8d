//! The storage seam of Plaza.
//!
//! This crate defines the [`Store`] trait, the records it stores and [`StoreError`].
//! It knows nothing of HTTP, Socket.IO or any SQL dialect: each backend crate
//! (`plaza-db-sqlite`, `plaza-db-postgres`) implements the trait with its own migrations,
//! and `plaza-db-tests` holds the contract suite that both must pass.
#![forbid(unsafe_code)]

mod audit;
mod backup;
mod error;
mod id;
mod mail;
mod meetings;
mod records;
mod spaces;
mod store;
mod timestamp;

pub use audit::{AuditQuery, AuditRecord};
pub use backup::{BACKUP_TABLES, Backup, BackupItem, BackupSink, BackupSource};
pub use error::{StoreError, StoreResult};
pub use id::{ObjectId, ParseObjectIdError};
pub use mail::{DigestItemRecord, PasswordResetRecord};
pub use meetings::{MediaHost, MeetingRecord};
pub use records::{
    AuthCodeRecord, ClientKind, FileRecord, FileState, NewUser, OAuthClientRecord,
    OAuthTokenRecord, TokenKind, UserKind, UserRecord, UserSettingsRecord, UserStatistics,
};
pub use spaces::{
    InvitationRecord, ListingCursor, ListingFilter, ListingPage, MemberChange, MemberChangeOutcome,
    MembershipRecord, MembershipState, MessageCategory, MessageOrder, MessageQuery, MessageRecord,
    MessageScope, Role, SpaceKind, SpaceRecord, SpaceStatus, Thread, attached_file_keys,
};
pub use store::{
    AuditStore, ClusterStore, FileStore, IdentityStore, MailStore, MeetingStore, MessageStore,
    SpaceStore, Store,
};

/// The store and its per-entity parts, for `use plaza_db::stores::*`: calling a part's
/// method on a concrete store (not a `dyn Store`) needs that part in scope.
pub mod stores {
    pub use crate::store::{
        AuditStore, ClusterStore, FileStore, IdentityStore, MailStore, MeetingStore, MessageStore,
        SpaceStore, Store,
    };
}
pub use timestamp::{ParseTimestampError, Timestamp};
