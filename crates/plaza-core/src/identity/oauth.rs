//! Plaza as an OAuth2 provider: authorization code with PKCE (RFC 6749, RFC 7636),
//! refresh tokens with rotation, the password grant the Spaces identity service offered,
//! client credentials for service apps, and revocation (RFC 7009).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plaza_db::{
    AuthCodeRecord, ClientKind, OAuthClientRecord, OAuthTokenRecord, ObjectId, Timestamp,
    TokenKind, UserKind, UserRecord,
};
use sha2::{Digest, Sha256};

use super::{IdentityService, random_token, secret_hash};
use crate::audit::{AuditActor, AuditEntry};
use crate::events::{RevocationReason, RevokedAccess};
use crate::{CoreError, CoreResult, ErrorCode};

const DEFAULT_SCOPE: &str = "spaces";
const MAX_SCOPE_LEN: usize = 512;

/// Scopes Plaza grants: the short forms and the Avaya long forms clients send.
const KNOWN_SCOPES: &[&str] = &[
    "spaces",
    "email",
    "profile",
    "https://accounts.avayacloud.com/auth/zangspaces",
    "https://accounts.avayacloud.com/auth/userinfo.email",
    "https://accounts.avayacloud.com/auth/userinfo.profile",
];

/// Whether a granted scope lets its token use the Spaces API.
pub(crate) fn grants_spaces(scope: &str) -> bool {
    scope
        .split_whitespace()
        .any(|s| s == "spaces" || s == "https://accounts.avayacloud.com/auth/zangspaces")
}

/// The query of `GET /oauth2/authorize`.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// The form of `POST /oauth2/access_token`, with HTTP Basic client credentials already
/// folded into `client_id` / `client_secret` by the transport.
#[derive(Clone, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// A successful token response. Deliberately not `Debug`: it holds bearer secrets.
#[derive(Clone)]
pub struct TokenGrant {
    pub access_token: String,
    /// `bearer` for opaque user tokens, `service_app` for service-app JWTs: the
    /// `Authorization` scheme to send the token with.
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub scope: String,
}

fn oauth_error(code: ErrorCode, message: &'static str) -> CoreError {
    CoreError::new(code, message)
}

fn required<'a>(value: &'a Option<String>, name: &'static str) -> CoreResult<&'a str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).ok_or_else(|| {
        CoreError::new(ErrorCode::OAuthInvalidRequest, format!("{name} is required"))
    })
}

fn scope_of(requested: &Option<String>) -> CoreResult<String> {
    let scope =
        requested.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or(DEFAULT_SCOPE);
    if scope.len() > MAX_SCOPE_LEN || scope.chars().any(|c| c.is_control()) {
        return Err(oauth_error(ErrorCode::OAuthInvalidScope, "scope is malformed"));
    }
    if let Some(unknown) = scope.split_whitespace().find(|s| !KNOWN_SCOPES.contains(s)) {
        return Err(CoreError::new(
            ErrorCode::OAuthInvalidScope,
            format!("unknown scope {unknown:?}"),
        ));
    }
    Ok(scope.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn valid_pkce_text(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Equal-time comparison of two hex digests.
fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl IdentityService {
    /// Checks the client and redirect URI of an authorization request. Failures here must
    /// be shown to the person, never redirected (RFC 6749 §4.1.2.1).
    pub async fn oauth_authorize_target(
        &self,
        request: &AuthorizeRequest,
    ) -> CoreResult<(OAuthClientRecord, String)> {
        let client_id = required(&request.client_id, "client_id")?;
        let client = self
            .store
            .oauth_client(client_id)
            .await?
            .filter(|c| !c.revoked && c.kind == ClientKind::OAuth)
            .ok_or_else(|| oauth_error(ErrorCode::OAuthInvalidClient, "unknown client_id"))?;
        let redirect_uri = match request.redirect_uri.as_deref().map(str::trim) {
            Some(uri) if !uri.is_empty() => url::Url::parse(uri)
                .map(|u| u.to_string())
                .ok()
                .filter(|u| client.redirect_uris.contains(u))
                .ok_or_else(|| {
                    oauth_error(
                        ErrorCode::OAuthInvalidRequest,
                        "redirect_uri is not registered for this client",
                    )
                })?,
            _ => match client.redirect_uris.as_slice() {
                [only] => only.clone(),
                _ => {
                    return Err(oauth_error(
                        ErrorCode::OAuthInvalidRequest,
                        "redirect_uri is required",
                    ));
                }
            },
        };
        Ok((client, redirect_uri))
    }

    /// Grants an authorization code to the signed-in `user` and returns the URL to send
    /// the browser to: the redirect URI with `code` and `state`, or with `error`.
    pub async fn oauth_authorize(
        &self,
        user: &UserRecord,
        request: &AuthorizeRequest,
    ) -> CoreResult<String> {
        let (client, redirect_uri) = self.oauth_authorize_target(request).await?;
        // RFC 6749 §4.1.3: a redirect_uri sent here must be sent again to redeem the
        // code, so the code remembers it exactly as given ("" when it was omitted).
        let sent_redirect = request
            .redirect_uri
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|_| redirect_uri.clone());
        let mut target = url::Url::parse(&redirect_uri).map_err(CoreError::internal)?;
        let redirect_error = |mut target: url::Url, error: &str, description: &str| {
            {
                let mut query = target.query_pairs_mut();
                query.append_pair("error", error).append_pair("error_description", description);
                if let Some(state) = &request.state {
                    query.append_pair("state", state);
                }
            }
            target.to_string()
        };
        if request.response_type.as_deref() != Some("code") {
            return Ok(redirect_error(
                target,
                "unsupported_response_type",
                "response_type must be code",
            ));
        }
        if user.kind != UserKind::Registered {
            return Ok(redirect_error(
                target,
                "access_denied",
                "only registered users can authorize apps",
            ));
        }
        let challenge = request.code_challenge.as_deref().filter(|c| !c.is_empty());
        let method = request.code_challenge_method.as_deref().unwrap_or("plain");
        match challenge {
            // Only S256: "plain" would let whoever sees the authorize URL redeem the code.
            Some(c) if method != "S256" || !valid_pkce_text(c) => {
                return Ok(redirect_error(
                    target,
                    "invalid_request",
                    "code_challenge must be S256",
                ));
            }
            None if client.secret_hash.is_none() => {
                return Ok(redirect_error(
                    target,
                    "invalid_request",
                    "public clients must use PKCE",
                ));
            }
            _ => {}
        }
        let scope = match scope_of(&request.scope) {
            Ok(scope) => scope,
            Err(_) => return Ok(redirect_error(target, "invalid_scope", "scope is malformed")),
        };
        let code = random_token();
        self.store
            .insert_auth_code(&AuthCodeRecord {
                code_hash: secret_hash(&code),
                client_id: client.client_id,
                user_id: user.id,
                redirect_uri: sent_redirect.unwrap_or_default(),
                scope,
                code_challenge: challenge.map(str::to_owned),
                code_challenge_method: challenge.map(|_| "S256".to_owned()),
                expires_at: Timestamp::now().add_millis(self.config.auth_code_ttl_secs * 1000),
            })
            .await?;
        {
            let mut query = target.query_pairs_mut();
            query.append_pair("code", &code);
            if let Some(state) = &request.state {
                query.append_pair("state", state);
            }
        }
        Ok(target.to_string())
    }

    /// `POST /oauth2/access_token`.
    pub async fn oauth_token(&self, request: TokenRequest) -> CoreResult<TokenGrant> {
        let grant_type = required(&request.grant_type, "grant_type")?.to_owned();
        // The password grant is counted by `login`.
        if grant_type != "password" {
            self.check_auth_rate().await?;
        }
        let client = self.authenticate_client(&request).await?;
        match grant_type.as_str() {
            "authorization_code" => self.grant_authorization_code(&client, &request).await,
            "refresh_token" => self.grant_refresh(&client, &request).await,
            "password" => self.grant_password(&client, &request).await,
            "client_credentials" => self.grant_client_credentials(&client, &request),
            _ => Err(oauth_error(ErrorCode::OAuthUnsupportedGrantType, "unsupported grant_type")),
        }
    }

    /// Identifies the client: confidential clients must prove their secret, public
    /// clients present only their id (and PKCE guards their codes).
    async fn authenticate_client(&self, request: &TokenRequest) -> CoreResult<OAuthClientRecord> {
        let invalid = || oauth_error(ErrorCode::OAuthInvalidClient, "client authentication failed");
        let client_id = required(&request.client_id, "client_id").map_err(|_| invalid())?;
        let client =
            self.store.oauth_client(client_id).await?.filter(|c| !c.revoked).ok_or_else(invalid)?;
        match (&client.secret_hash, request.client_secret.as_deref().filter(|s| !s.is_empty())) {
            (None, None) => Ok(client),
            (Some(expected), Some(given)) if same_hash(expected, &secret_hash(given)) => Ok(client),
            _ => Err(invalid()),
        }
    }

    async fn grant_authorization_code(
        &self,
        client: &OAuthClientRecord,
        request: &TokenRequest,
    ) -> CoreResult<TokenGrant> {
        let invalid = |message| oauth_error(ErrorCode::OAuthInvalidGrant, message);
        let code = required(&request.code, "code")?;
        // Taken (deleted) before any check: a code is good for one attempt only.
        let record = self
            .store
            .take_auth_code(&secret_hash(code))
            .await?
            .ok_or_else(|| invalid("the code is unknown or already used"))?;
        if record.client_id != client.client_id {
            return Err(invalid("the code was issued to another client"));
        }
        if record.expires_at <= Timestamp::now() {
            return Err(invalid("the code has expired"));
        }
        let given = request.redirect_uri.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let redirect_matches = match (record.redirect_uri.as_str(), given) {
            ("", None) => true,
            ("", Some(_)) | (_, None) => false,
            (expected, Some(given)) => url::Url::parse(given).is_ok_and(|u| u.as_str() == expected),
        };
        if !redirect_matches {
            return Err(invalid("redirect_uri does not match the authorization request"));
        }
        if let Some(challenge) = &record.code_challenge {
            let verifier = request.code_verifier.as_deref().unwrap_or_default();
            if !valid_pkce_text(verifier) || !same_hash(&pkce_challenge(verifier), challenge) {
                return Err(invalid("code_verifier does not match the code_challenge"));
            }
        }
        self.issue_oauth_tokens(client, record.user_id, record.scope).await
    }

    async fn grant_refresh(
        &self,
        client: &OAuthClientRecord,
        request: &TokenRequest,
    ) -> CoreResult<TokenGrant> {
        let invalid =
            || oauth_error(ErrorCode::OAuthInvalidGrant, "the refresh token is invalid or expired");
        let token = required(&request.refresh_token, "refresh_token")?;
        let hash = secret_hash(token);
        // Taken (deleted) atomically: of several concurrent uses, exactly one gets it.
        let Some(record) = self.store.take_oauth_token(&hash).await? else {
            // Redeemed before: someone else holds a copy. The family's live tokens
            // (the rotated pair its rightful owner now uses) are revoked.
            if let Some(family) = self.store.used_refresh_grant(&hash).await? {
                let revoked = self.store.revoke_oauth_grant(family).await?;
                self.announce_revoked(RevokedAccess::Grant(family), RevocationReason::TokenRevoked);
                tracing::warn!(grant = %family, revoked, "a refresh token was used twice: its grant is revoked");
                self.audit
                    .record(
                        AuditEntry::new(AuditActor::System, "oauth.refresh.reused")
                            .target("grant", family)
                            .detail("clientId", client.client_id.clone())
                            .detail("revokedTokens", revoked),
                    )
                    .await;
            }
            return Err(invalid());
        };
        // Rotation: the old pair dies whatever happens next, so a stolen refresh token
        // is good for one use at most; it is remembered, to catch a second use.
        self.store.revoke_oauth_grant(record.grant_id).await?;
        if record.kind != TokenKind::Refresh || record.client_id != client.client_id {
            return Err(invalid());
        }
        if record.expires_at <= Timestamp::now() {
            return Err(invalid());
        }
        // A refresh token from before a password reset is dead with its session.
        let issued = record.expires_at.millis() - self.config.refresh_token_ttl_secs * 1000;
        let user = self.store.user_by_id(record.user_id).await?.ok_or_else(invalid)?;
        super::refuse_if_issued_before_reset(&user, issued).map_err(|_| invalid())?;
        self.store.remember_used_refresh(&hash, record.grant_id, record.expires_at).await?;
        self.issue_tokens_in(client, record.user_id, record.scope, record.grant_id).await
    }

    async fn grant_password(
        &self,
        client: &OAuthClientRecord,
        request: &TokenRequest,
    ) -> CoreResult<TokenGrant> {
        if client.kind != ClientKind::OAuth || client.secret_hash.is_none() {
            return Err(oauth_error(
                ErrorCode::OAuthUnauthorizedClient,
                "only confidential OAuth clients may use the password grant",
            ));
        }
        let username = required(&request.username, "username")?;
        let password = required(&request.password, "password")?;
        let issued = self.login(username, password).await.map_err(|e| match e.code {
            ErrorCode::AuthInvalidCredentials | ErrorCode::AuthAccountDisabled => {
                oauth_error(ErrorCode::OAuthInvalidGrant, "wrong username or password")
            }
            _ => e,
        })?;
        self.issue_oauth_tokens(client, issued.user.id, scope_of(&request.scope)?).await
    }

    fn grant_client_credentials(
        &self,
        client: &OAuthClientRecord,
        request: &TokenRequest,
    ) -> CoreResult<TokenGrant> {
        let (Some(account), ClientKind::ServiceApp) = (client.service_user_id, client.kind) else {
            return Err(oauth_error(
                ErrorCode::OAuthUnauthorizedClient,
                "only service apps may use client_credentials",
            ));
        };
        let account = UserRecord {
            id: account,
            ..super::new_user_record(UserKind::Service, String::new(), String::new())
        };
        let ttl = self.config.service_token_ttl_secs;
        // The scope goes into the token, and is enforced when it is used.
        let scope = scope_of(&request.scope)?;
        let (token, _) =
            self.issue_jwt(&account, ttl, Some(client.client_id.clone()), Some(scope.clone()))?;
        Ok(TokenGrant {
            access_token: token,
            token_type: "service_app",
            expires_in: ttl,
            refresh_token: None,
            scope,
        })
    }

    async fn issue_oauth_tokens(
        &self,
        client: &OAuthClientRecord,
        user_id: ObjectId,
        scope: String,
    ) -> CoreResult<TokenGrant> {
        self.issue_tokens_in(client, user_id, scope, ObjectId::new()).await
    }

    /// Issues an access and refresh pair in grant `grant_id`: a new grant, or the family
    /// a rotated refresh token belonged to (so that reusing an old one revokes it).
    async fn issue_tokens_in(
        &self,
        client: &OAuthClientRecord,
        user_id: ObjectId,
        scope: String,
        grant_id: ObjectId,
    ) -> CoreResult<TokenGrant> {
        let now = Timestamp::now();
        let access = random_token();
        let refresh = random_token();
        for (token, kind, ttl) in [
            (&access, TokenKind::Access, self.config.access_token_ttl_secs),
            (&refresh, TokenKind::Refresh, self.config.refresh_token_ttl_secs),
        ] {
            self.store
                .insert_oauth_token(&OAuthTokenRecord {
                    token_hash: secret_hash(token),
                    kind,
                    client_id: client.client_id.clone(),
                    user_id,
                    scope: scope.clone(),
                    expires_at: now.add_millis(ttl * 1000),
                    grant_id,
                })
                .await?;
        }
        Ok(TokenGrant {
            access_token: access,
            token_type: "bearer",
            expires_in: self.config.access_token_ttl_secs,
            refresh_token: Some(refresh),
            scope,
        })
    }

    /// `POST /oauth2/revoke_token` (RFC 7009): revokes an access or refresh token (with
    /// its pair) or a service-app JWT. Unknown tokens are not an error.
    pub async fn oauth_revoke(&self, request: &TokenRequest, token: &str) -> CoreResult<()> {
        let client = self.authenticate_client(request).await?;
        if let Some(record) = self.store.oauth_token(&secret_hash(token)).await? {
            if record.client_id == client.client_id {
                self.store.revoke_oauth_grant(record.grant_id).await?;
                self.announce_revoked(
                    RevokedAccess::Grant(record.grant_id),
                    RevocationReason::TokenRevoked,
                );
            }
            return Ok(());
        }
        if let Ok(claims) = self.keys.verify::<super::Claims>(token, &self.config.issuer)
            && claims.client_id.as_deref() == Some(client.client_id.as_str())
        {
            let expires_at = Timestamp::from_millis(claims.exp.saturating_mul(1000));
            self.store.revoke_jwt(&claims.jti, expires_at).await?;
            self.announce_revoked(RevokedAccess::Token(claims.jti), RevocationReason::TokenRevoked);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(pkce_challenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(valid_pkce_text(verifier));
        assert!(!valid_pkce_text("short"));
        assert!(!valid_pkce_text(&"a".repeat(129)));
        assert!(!valid_pkce_text(&format!("{}!", "a".repeat(50))));
    }

    #[test]
    fn scopes_default_normalise_and_refuse_unknown_ones() {
        assert_eq!(scope_of(&None).unwrap(), "spaces");
        assert_eq!(scope_of(&Some("  email   profile ".into())).unwrap(), "email profile");
        assert!(scope_of(&Some("x".repeat(600))).is_err());
        assert!(scope_of(&Some("spaces admin".into())).is_err());
        assert!(grants_spaces("email https://accounts.avayacloud.com/auth/zangspaces"));
        assert!(!grants_spaces("email profile"));
    }
}
