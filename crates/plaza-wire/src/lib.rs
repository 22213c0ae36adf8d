//! Plaza's wire format: the JSON that Spaces clients read and send, in one place.
//!
//! Every REST answer body, the request bodies that are open objects, and every socket
//! event payload (both directions) is a serde type here, documented field by field and
//! deriving `utoipa::ToSchema`, so the OpenAPI document (and the web SDK's types, which
//! are generated from it) describe exactly what is sent. The conversions from the core's
//! records and views to these types live next to them; the transports (`plaza-http`,
//! `plaza-realtime`) only call them.
//!
//! Conventions, kept byte-compatible with what clients already read:
//! - an `Option` field without `skip_serializing_if` is written as `null` when empty;
//!   one with it is left out (as the older hand-built JSON did);
//! - ids are 24 hexadecimal characters, times ISO-8601 UTC strings;
//! - open objects (message `content`, space `settings`, user settings, presence
//!   payloads) are `serde_json::Map`s that carry every field through.
//! - inbound socket payloads are read leniently (see [`lenient`]): a field of the wrong
//!   JSON type reads as absent, never as an error.

pub mod envelope;
pub mod error;
pub mod files;
pub mod lenient;
pub mod media;
pub mod meetings;
pub mod message_input;
pub mod messages;
pub mod meta;
pub mod socket;
pub mod spaces;
pub mod users;

pub use envelope::{Data, JsonObject, Page, Status};
pub use error::{ErrorBody, FieldErrorBody};
pub use messages::{MediaEvent, Meeting, Message, ParentRef};
pub use spaces::{
    InviteOutcome, Joined, LastMessage, ListedSpace, Member, MembershipEntry, RemovedSpace, Space,
    SpaceAnswer, SpacePreview,
};
pub use users::{IssuedToken, OAuthClient, Sender, Settings, Token, TokenResponse, User};

/// Where default profile pictures live, as on the hosted Spaces service.
pub const DEFAULT_PICTURE_PATH: &str = "/norevimages/noimage.jpg";

/// A user's picture, or the default one on this server.
pub(crate) fn picture_or_default(picture: Option<&String>, base_url: &str) -> String {
    picture.cloned().unwrap_or_else(|| format!("{base_url}{DEFAULT_PICTURE_PATH}"))
}
