//! What the services answer and announce about stored things, with what clients show
//! beside them. Here, apart from the services, because the events the services publish
//! carry them too.

use plaza_db::{MessageRecord, SpaceRecord, UserRecord};

/// A message with what clients show beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageView {
    pub message: MessageRecord,
    pub space: SpaceRecord,
    /// The person who wrote it; `None` for the server's own records (meetings), which
    /// clients see as sent by the space server.
    pub sender: Option<UserRecord>,
}
