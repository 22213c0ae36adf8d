//! Discovery answers: where clients find the API, the socket and the dial-in numbers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `{server_url}`: one service's base URL.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServerUrl {
    pub server_url: String,
}

/// The Spaces service's URLs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpacesUrls {
    /// The REST API's base (clients add `/api`).
    pub server_url: String,
    /// The Socket.IO server's base.
    pub socketio_server_url: String,
    pub marketing_url: String,
}

/// `GET /api/service-configurations`: every URL is this server's own.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceConfigurations {
    pub spaces: SpacesUrls,
    pub store: ServerUrl,
    pub accounts: ServerUrl,
}

impl ServiceConfigurations {
    pub fn of(base: &str) -> Self {
        ServiceConfigurations {
            spaces: SpacesUrls {
                server_url: base.to_owned(),
                socketio_server_url: base.to_owned(),
                marketing_url: base.to_owned(),
            },
            store: ServerUrl { server_url: base.to_owned() },
            accounts: ServerUrl { server_url: base.to_owned() },
        }
    }
}

/// `{keys}`: a JSON Web Key Set (RFC 7517).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Jwks {
    /// The public keys, as JWKs.
    pub keys: Value,
}

/// A flavor's URLs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlavorUrls {
    /// The REST API's base (clients add `/api`).
    pub apis: String,
    /// The Socket.IO server's base.
    pub socket: String,
}

/// One entry of `GET /api/flavor`: a cluster and its URLs (this server's own).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Flavor {
    #[serde(rename = "flavorId")]
    pub flavor_id: String,
    pub urls: FlavorUrls,
}

/// `GET /api/flavor/email/{email}`: the same for every address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlavorOfEmail {
    #[serde(rename = "useGlobal")]
    pub use_global: bool,
    #[serde(rename = "flavorId")]
    pub flavor_id: String,
}

/// A telephone number that dials into meetings, as `GET /api/confnumbers` lists it
/// (and as `meetings.dial_in_numbers` configures it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DialInNumber {
    /// The number to dial, as people should see it (`+1 555 0100`).
    pub number: String,
    /// An ISO 3166 country code, if the number belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// What to show beside the number (a city, "toll free", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}
