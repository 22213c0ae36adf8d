//! Meeting controls on the wire: the bodies the REST controls take and the media token.
//!
//! The request bodies are read leniently, as the handlers read them before: a text field
//! of another JSON type reads as absent; the permission and id lists are handed to the
//! core as sent, which says what is wrong with them.

use plaza_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::lenient;

/// `POST .../muteall`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MuteAllBody {
    /// Attendees to leave unmuted: ids, or `{attendeeId}` / `{_id}` objects.
    #[serde(rename = "exclusionList", default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub exclusion_list: Option<Value>,
}

/// `POST .../attendees/raisedhands`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RaiseHandBody {
    /// `PERMISSION_UNMUTE`, ... (`PERMISSION_UNMUTE` when absent or empty).
    #[serde(rename = "requestedPermissions", default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub requested_permissions: Option<Value>,
}

/// `POST .../attendees/raisedhands/accept` and `.../lower`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AnswerHandBody {
    /// Whose hand.
    #[serde(rename = "attendeeId", default, deserialize_with = "lenient::field")]
    pub attendee_id: Option<String>,
    /// `userId` or `anonymousId` (not read: the id alone identifies the person).
    #[serde(rename = "attendeeType", default, deserialize_with = "lenient::field")]
    pub attendee_type: Option<String>,
    /// What `accept` grants (`PERMISSION_UNMUTE` when absent or empty).
    #[serde(rename = "grantedPermissions", default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub granted_permissions: Option<Value>,
    /// What `lower` refuses (`PERMISSION_UNMUTE` when absent or empty).
    #[serde(rename = "rejectedPermissions", default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub rejected_permissions: Option<Value>,
}

/// `POST .../layout`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct LayoutBody {
    #[serde(default, deserialize_with = "lenient::field")]
    pub layout: Option<String>,
    #[serde(rename = "backgroundTheme", default, deserialize_with = "lenient::field")]
    pub background_theme: Option<String>,
}

/// `GET /api/mediasessions/mpaas/token/{spaceId}`: a token for the media server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaToken {
    pub token: String,
    #[serde(rename = "sessionId")]
    pub session_id: String,
    /// The meeting's conference id.
    #[serde(rename = "confId")]
    pub conf_id: String,
    #[schema(value_type = String)]
    pub expires: Timestamp,
    /// Where the session's media goes (`ip:port`): the node hosting the space's media
    /// room. Informational: the server's SDP names the same address.
    #[serde(rename = "mediaAddress", skip_serializing_if = "Option::is_none")]
    pub media_address: Option<String>,
}

impl MediaToken {
    pub fn of(issued: &plaza_core::meetings::MediaToken) -> Self {
        MediaToken {
            token: issued.token.clone(),
            session_id: issued.session_id.clone(),
            conf_id: issued.conf_id.clone(),
            expires: issued.expires_at,
            media_address: issued.media_address.clone(),
        }
    }
}
