//! Connect-time authentication (CONTRACT §2): the token comes from the Socket.IO v5
//! `auth` object, else the namespace CONNECT query (v2 clients), else the handshake
//! URL query; `tokenType` is `jwt` or `oauth`, and may be missing or glued to the token.

use plaza_core::identity::Credential;
use serde_json::Value;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};

use crate::RealtimeState;

use crate::session::SocketPrincipal;

/// A token as found at connect time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketCredential {
    pub token: String,
    /// `jwt`, `oauth`, or `None` when the client did not say.
    pub token_type: Option<String>,
}

impl SocketCredential {
    /// Reads `token` and `tokenType` from a URL query string.
    pub fn from_query(query: &str) -> Option<Self> {
        let mut token = None;
        let mut token_type = None;
        for (key, value) in url_pairs(query) {
            match key.as_str() {
                "token" if !value.is_empty() => token = Some(value),
                "tokenType" if !value.is_empty() => token_type = Some(value),
                _ => {}
            }
        }
        token.map(|token| SocketCredential::lenient(token, token_type))
    }

    /// Reads `{token, tokenType}` from a v5 `auth` object.
    pub fn from_auth(auth: &Value) -> Option<Self> {
        let token = auth.get("token")?.as_str().filter(|t| !t.is_empty())?.to_owned();
        let token_type = auth.get("tokenType").and_then(Value::as_str).map(str::to_owned);
        Some(SocketCredential::lenient(token, token_type))
    }

    /// Repairs the broken `token=<jwt>=jwt` form real clients send: JWTs and Plaza's
    /// opaque tokens never contain `=`, so a trailing `=jwt`/`=oauth` is the type.
    fn lenient(token: String, token_type: Option<String>) -> Self {
        match token.rsplit_once('=') {
            Some((head, kind)) if matches!(kind, "jwt" | "oauth") && !head.is_empty() => {
                SocketCredential {
                    token: head.trim_end_matches('=').to_owned(),
                    token_type: token_type.or_else(|| Some(kind.to_owned())),
                }
            }
            _ => SocketCredential { token, token_type },
        }
    }

    /// The credentials to try, in order: the stated type, or jwt then oauth.
    pub fn candidates(&self) -> Vec<Credential> {
        match self.token_type.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("oauth") | Some("bearer") => vec![Credential::Bearer(self.token.clone())],
            Some("jwt") | Some("service_app") => vec![Credential::Jwt(self.token.clone())],
            _ => vec![Credential::Jwt(self.token.clone()), Credential::Bearer(self.token.clone())],
        }
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()).into_owned().collect()
}

/// The connect error clients receive: a JSON string, as CONTRACT §2 specifies.
#[derive(Debug)]
pub struct ConnectRefused(String);

impl std::fmt::Display for ConnectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ConnectRefused {
    fn new(code: &str, message: &str) -> Self {
        let body = plaza_wire::ErrorBody::bare(code, message);
        ConnectRefused(serde_json::to_string(&body).unwrap_or_default())
    }
}

/// Connect middleware: authenticates the socket or refuses the namespace connection.
pub async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    State(state): State<RealtimeState>,
    TryData(auth): TryData<Value>,
) -> Result<(), ConnectRefused> {
    let namespace_query = socket.ns().split_once('?').map(|(_, q)| q.to_owned());
    let handshake_query = socket.req_parts().uri.query().map(str::to_owned);
    let credential = auth
        .ok()
        .as_ref()
        .and_then(SocketCredential::from_auth)
        .or_else(|| namespace_query.as_deref().and_then(SocketCredential::from_query))
        .or_else(|| handshake_query.as_deref().and_then(SocketCredential::from_query))
        .ok_or_else(|| {
            ConnectRefused::new("auth.required", "connect with a token and tokenType")
        })?;
    let mut last = None;
    for candidate in credential.candidates() {
        match state.identity.authenticate(&candidate).await {
            Ok(principal) => {
                let limit = state.limits.connections_per_user;
                let Some(slot) = state.connections.take(principal.user_id(), limit) else {
                    return Err(ConnectRefused::new(
                        "request.rate_limited",
                        &format!("this user already has {limit} open connections on this server"),
                    ));
                };
                socket.extensions.insert(slot);
                state.metrics.socket_opened(crate::eio_version(&socket));
                socket.extensions.insert(crate::session::Counted);
                socket.extensions.insert(state.drain.clone());
                // Set up here, not in the connect handler: socketioxide acknowledges the
                // namespace CONNECT before it runs that handler (as a task), so a client
                // that subscribes at once could otherwise beat the registration.
                let mut rooms = crate::revocation::credential_rooms(&principal);
                rooms.extend([crate::user_room(principal.user_id()), crate::socket_room(&socket)]);
                socket.join(rooms);
                crate::revocation::watch_expiry(&socket, &principal);
                socket.extensions.insert(SocketPrincipal(principal));
                socket.extensions.insert(crate::turn::Gate::new());
                crate::events::register(&socket);
                return Ok(());
            }
            Err(error) => last = Some(error),
        }
    }
    let error = last.map(|e| (e.code.as_str(), e.message.into_owned()));
    let (code, message) = error.unwrap_or(("auth.invalid_token", String::new()));
    Err(ConnectRefused::new(code, &message))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use serde_json::json;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("token|tokenType|.{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn connect_credentials_parse_from_any_query_or_auth(
            query in prop_oneof![any::<String>(), "[?&=a-zA-Z%0-9.=_-]{0,80}"],
            auth in json_value(),
        ) {
            for credential in [SocketCredential::from_query(&query), SocketCredential::from_auth(&auth)]
                .into_iter()
                .flatten()
            {
                prop_assert!(!credential.token.is_empty());
                prop_assert!(!credential.candidates().is_empty());
            }
        }
    }

    #[test]
    fn reads_queries_leniently() {
        let plain = SocketCredential::from_query("token=abc.def.ghi&tokenType=jwt&EIO=3").unwrap();
        assert_eq!(
            plain,
            SocketCredential { token: "abc.def.ghi".into(), token_type: Some("jwt".into()) }
        );
        let broken = SocketCredential::from_query("token=abc.def.ghi=jwt").unwrap();
        assert_eq!(
            broken,
            SocketCredential { token: "abc.def.ghi".into(), token_type: Some("jwt".into()) }
        );
        let oauth = SocketCredential::from_query("?tokenType=oauth&token=f7%2D46").unwrap();
        assert_eq!(oauth.token, "f7-46");
        assert_eq!(oauth.candidates(), vec![Credential::Bearer("f7-46".into())]);
        let untyped = SocketCredential::from_query("token=xyz").unwrap();
        assert_eq!(untyped.candidates().len(), 2);
        assert!(SocketCredential::from_query("tokenType=jwt").is_none());
        assert!(SocketCredential::from_query("token=").is_none());
        let auth =
            SocketCredential::from_auth(&json!({"token": "t", "tokenType": "oauth"})).unwrap();
        assert_eq!(auth.token_type.as_deref(), Some("oauth"));
        assert!(SocketCredential::from_auth(&json!({"token": 5})).is_none());
    }
}
