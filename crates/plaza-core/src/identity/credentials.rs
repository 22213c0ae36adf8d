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

fn unquote(text: &str) -> &str {
    let text = text.trim();
    text.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')).map(str::trim).unwrap_or(text)
}

impl Credential {
    /// Parses an `Authorization` header value: the scheme is case-insensitive, and the
    /// quotes the Spaces docs put around example values are tolerated, around the whole
    /// value or around the token.
    pub fn from_authorization(value: &str) -> Option<Self> {
        let value = unquote(value);
        let (scheme, token) = value.split_once(char::is_whitespace)?;
        let token = unquote(token);
        if token.is_empty() || token.contains(char::is_whitespace) {
            return None;
        }
        let token = token.to_owned();
        match scheme.to_ascii_lowercase().as_str() {
            "jwt" => Some(Credential::Jwt(token)),
            "bearer" => Some(Credential::Bearer(token)),
            "service_app" => Some(Credential::ServiceApp(token)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme_case_insensitively_with_quotes() {
        assert_eq!(Credential::from_authorization("jwt abc"), Some(Credential::Jwt("abc".into())));
        assert_eq!(Credential::from_authorization("JWT abc"), Some(Credential::Jwt("abc".into())));
        assert_eq!(
            Credential::from_authorization("\"jwt abc\""),
            Some(Credential::Jwt("abc".into()))
        );
        assert_eq!(
            Credential::from_authorization("Bearer \"f746\""),
            Some(Credential::Bearer("f746".into()))
        );
        assert_eq!(
            Credential::from_authorization("service_app x.y.z"),
            Some(Credential::ServiceApp("x.y.z".into()))
        );
        assert_eq!(Credential::from_authorization("basic abc"), None);
        assert_eq!(Credential::from_authorization("jwt"), None);
        assert_eq!(Credential::from_authorization("jwt a b"), None);
        assert_eq!(Credential::from_authorization(""), None);
    }
}
