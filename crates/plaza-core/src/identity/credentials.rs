/// A credential as presented by a client, before it is checked.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: jwt <JWT>`: a user or anonymous JWT issued by Plaza.
    Jwt(String),
    /// `Authorization: bearer <token>`: an opaque OAuth2 access token.
    Bearer(String),
    /// `Authorization: service_app <JWT>`: a service app's JWT.
    ServiceApp(String),
}

// Tokens are secrets: never print them.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self {
            Credential::Jwt(_) => "Jwt",
            Credential::Bearer(_) => "Bearer",
            Credential::ServiceApp(_) => "ServiceApp",
        };
        write!(f, "Credential::{scheme}([redacted])")
    }
}
