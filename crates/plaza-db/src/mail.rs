//! What the email features keep: password-reset tokens and the items a missed-mentions
//! digest will carry.

use crate::{ObjectId, Timestamp};

/// A pending password reset. Only the token's SHA-256 is stored: the token itself is
/// in the mail alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordResetRecord {
    pub token_hash: String,
    pub user_id: ObjectId,
    pub created: Timestamp,
    pub expires_at: Timestamp,
}

/// A message that a digest mail may tell its user about: it mentioned them, or it was
/// sent to them in a direct space, while they were away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestItemRecord {
    pub user_id: ObjectId,
    pub message_id: ObjectId,
    pub space_id: ObjectId,
    /// When the message was written: the digest waits until it is old enough.
    pub created: Timestamp,
}
