//! Who is calling: accounts, tokens, sessions, OAuth2 and server administration.

mod admin;
mod credentials;
mod keys;
mod mail;
mod oauth;
pub mod password;
mod settings;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use plaza_db::UserStatistics;
use plaza_db::{ObjectId, Store, StoreError, Timestamp, UserKind, UserRecord};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{AuditActor, AuditEntry, AuditLog};
use crate::events::{RevocationReason, RevokedAccess};
use crate::limits::{LocalRateLimiter, Rate, RateLimiter, rate_limited};
use crate::{CoreError, CoreResult, ErrorCode};

pub use crate::principal::{Principal, Session};
pub use admin::{Actor, NewClient, NewServiceApp, NewUserByAdmin};
pub use credentials::Credential;
pub use keys::{PublicJwk, SigningKeys};
pub use oauth::{AuthorizeRequest, TokenGrant, TokenRequest};

/// Who may register themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// Anyone may register.
    Open,
    /// Only emails a server admin invited may register.
    Invite,
    /// Nobody may register; admins create accounts.
    Closed,
}

/// The knobs of the identity service.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// The `iss` claim of every JWT this server signs, and the only one it accepts.
    pub issuer: String,
    pub registration: RegistrationMode,
    pub user_token_ttl_secs: i64,
    /// Anonymous guests get 24 h (the Spaces contract).
    pub anonymous_token_ttl_secs: i64,
    pub service_token_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub auth_code_ttl_secs: i64,
    /// How long a password-reset link works.
    pub password_reset_ttl_secs: i64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            issuer: "plaza".to_owned(),
            registration: RegistrationMode::Open,
            user_token_ttl_secs: 7 * 24 * 3600,
            anonymous_token_ttl_secs: 24 * 3600,
            service_token_ttl_secs: 3600,
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            auth_code_ttl_secs: 600,
            password_reset_ttl_secs: 1800,
        }
    }
}

/// The claims of a Plaza JWT.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// The user id.
    sub: String,
    /// `user`, `anonymous` or `service`.
    typ: String,
    jti: String,
    iat: i64,
    exp: i64,
    /// For service-app tokens, the app's `client_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// For service-app tokens, the scope granted; one without `spaces` has no API access.
    /// (Tokens issued before scopes were recorded carry none and keep full access.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// The `typ` of media tokens, which the API never accepts.
const MEDIA_TOKEN_TYPE: &str = "media";

#[derive(Debug, Serialize, Deserialize)]
struct MediaClaims {
    iss: String,
    sub: String,
    typ: String,
    jti: String,
    iat: i64,
    exp: i64,
    space: String,
    #[serde(rename = "confId")]
    conf_id: String,
    sid: String,
}

/// What a media token lets its holder into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaGrant {
    pub space_id: ObjectId,
    pub conf_id: String,
    /// The media session this token opens (`mdsrvSessionId` in media-session events).
    pub session_id: String,
}

/// A freshly issued JWT with the user it names.
#[derive(Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: UserRecord,
}

// The token is a bearer secret: never print it.
impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish()
    }
}

pub struct RegisterInput {
    pub username: String,
    pub password: String,
    pub displayname: Option<String>,
}

#[derive(Default)]
pub struct AnonymousInput {
    pub displayname: Option<String>,
    pub username: Option<String>,
    pub picturefile: Option<String>,
}

/// Accounts, sign-in, tokens and OAuth2: the one place that decides who a caller is.
pub struct IdentityService {
    store: Arc<dyn Store>,
    keys: SigningKeys,
    config: IdentityConfig,
    audit: AuditLog,
    /// Counts sign-in attempts (registration, login, guest and token requests) per
    /// client address.
    auth_limiter: Arc<dyn RateLimiter>,
    /// Where revocations are announced, so that open connections close.
    events: Arc<dyn crate::events::EventSink>,
    /// Sends password-reset mail.
    postman: Arc<crate::mail::Postman>,
}

/// 32 random bytes, URL-safe base64: opaque tokens, codes and client secrets.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `given` is the secret `expected`, compared in constant time so that the
/// answer's timing tells nothing of how much of a guess was right (PINs, tokens).
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0, |a, (x, y)| a | (x ^ y)) == 0
}

/// Opaque secrets are stored as their SHA-256 (hex): a leaked table grants nothing.
pub(crate) fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) const MAX_PASSWORD_LEN: usize = 1024;
pub(crate) const MIN_PASSWORD_LEN: usize = 8;
const MAX_NAME_LEN: usize = 128;
const MAX_URL_LEN: usize = 2048;

/// Checks that a username is an email address, the form Spaces usernames take.
/// Characters that show as nothing (zero-width spaces and joiners, bidirectional
/// controls, variation selectors, tags): two names that differ only by them look the
/// same, so they are refused in every name a person is known by.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// An account name: an e-mail address in ASCII (an internationalised domain in its
/// `xn--` form). Letters of other scripts that look like Latin ones (Cyrillic `а` for
/// `a`) would let two accounts look the same, so they are refused, as are invisible
/// characters; accounts are told apart case-insensitively.
pub fn validate_email(field: &str, username: &str) -> CoreResult<String> {
    let username = username.trim();
    let valid = username.len() <= 254
        && username.bytes().all(|b| b.is_ascii_graphic())
        && username.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if !valid {
        return Err(CoreError::invalid(field, "must be an email address"));
    }
    Ok(username.to_owned())
}

pub(crate) fn validate_password(password: &str) -> CoreResult<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err(CoreError::invalid(
            "password",
            format!("must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

pub(crate) fn validate_name(field: &str, name: &str) -> CoreResult<String> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME_LEN
        || name.chars().any(|c| c.is_control() || is_invisible(c))
    {
        return Err(CoreError::invalid(
            field,
            format!("must be at most {MAX_NAME_LEN} printable, visible characters"),
        ));
    }
    Ok(name.to_owned())
}

fn validate_picture(url: &str) -> CoreResult<String> {
    let url = url.trim();
    let web = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    let local_path = url.starts_with('/') && !url.starts_with("//");
    if url.len() > MAX_URL_LEN
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
        || !(web || local_path)
    {
        return Err(CoreError::invalid(
            "picturefile",
            "must be an http(s) URL or a path on this server",
        ));
    }
    Ok(url.to_owned())
}

pub(crate) fn new_user_record(kind: UserKind, username: String, displayname: String) -> UserRecord {
    let now = Timestamp::now();
    UserRecord {
        id: ObjectId::new(),
        kind,
        username,
        displayname,
        password_hash: None,
        picture_url: None,
        timezone: None,
        phone_numbers: serde_json::Value::Array(Vec::new()),
        is_server_admin: false,
        disabled: false,
        created: now,
        modified: now,
        expires_at: None,
        credentials_after: None,
    }
}

impl IdentityService {
    pub fn new(store: Arc<dyn Store>, keys: SigningKeys, config: IdentityConfig) -> Self {
        let audit = AuditLog::new(store.clone());
        let auth_limiter = Arc::new(LocalRateLimiter::new(Rate { per_second: 0, burst: 0 }));
        let events = Arc::new(crate::events::LogSink);
        let postman = Arc::new(crate::mail::Postman::none(""));
        IdentityService { store, keys, config, audit, auth_limiter, events, postman }
    }

    /// Announces revocations on `events` (the realtime transport closes connections).
    pub fn with_events(mut self, events: Arc<dyn crate::events::EventSink>) -> Self {
        self.events = events;
        self
    }

    /// Tells every node that connections opened with `scope` must close.
    pub(crate) fn announce_revoked(&self, scope: RevokedAccess, reason: RevocationReason) {
        self.events.publish(crate::events::DomainEvent::AccessRevoked { scope, reason });
    }

    /// Limits sign-in attempts per client address with `limiter`.
    /// Sends mail (password resets) through `postman`.
    pub fn with_postman(mut self, postman: Arc<crate::mail::Postman>) -> Self {
        self.postman = postman;
        self
    }

    pub fn with_auth_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.auth_limiter = limiter;
        self
    }

    /// Counts one sign-in attempt from the current client address, if a transport
    /// named one (the command line has none and is not limited).
    pub(crate) async fn check_auth_rate(&self) -> CoreResult<()> {
        let Some(ip) = crate::audit::current_client_ip() else { return Ok(()) };
        self.auth_limiter
            .check(&format!("auth:{ip}"))
            .await
            .map_err(|wait| rate_limited(wait, "sign-in attempts from this address"))
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// The security audit log this service and its peers write to.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The public keys that verify Plaza JWTs.
    pub fn jwks(&self) -> Vec<PublicJwk> {
        vec![self.keys.jwk()]
    }

    /// Whether the database answers.
    /// Refuses anonymous guests: for what only registered accounts have.
    pub fn require_registered(&self, principal: &Principal) -> CoreResult<()> {
        if principal.user.kind == UserKind::Anonymous {
            return Err(CoreError::permission_denied("only registered users have this"));
        }
        Ok(())
    }

    /// `GET /api/users/{id}/statistics`: a user's own counts (`me` or their id); server
    /// admins may read anyone's.
    pub async fn statistics(
        &self,
        principal: &Principal,
        user: &str,
    ) -> CoreResult<UserStatistics> {
        let user_id = match user {
            "me" => principal.user_id(),
            id => id.parse().map_err(|_| CoreError::invalid("userId", "is not a user id"))?,
        };
        if user_id != principal.user_id() && !principal.is_server_admin() {
            return Err(CoreError::permission_denied(
                "only the user themself reads their statistics",
            ));
        }
        Ok(self.store.user_statistics(user_id).await?)
    }

    pub async fn ready(&self) -> CoreResult<()> {
        self.store.ping().await.map_err(|e| CoreError {
            cause: Some(e.into()),
            ..CoreError::new(ErrorCode::ServiceUnavailable, "the database is not answering")
        })
    }

    fn issue_jwt(
        &self,
        user: &UserRecord,
        ttl_secs: i64,
        client_id: Option<String>,
        scope: Option<String>,
    ) -> CoreResult<(String, Timestamp)> {
        let now = Timestamp::now();
        let expires_at = match user.expires_at {
            // An anonymous account and its token lapse together.
            Some(account_end) => account_end.min(now.add_millis(ttl_secs * 1000)),
            None => now.add_millis(ttl_secs * 1000),
        };
        let claims = Claims {
            iss: self.config.issuer.clone(),
            sub: user.id.to_string(),
            typ: user.kind.as_str().to_owned(),
            jti: ObjectId::new().to_string(),
            iat: now.seconds(),
            exp: expires_at.seconds(),
            client_id,
            scope,
        };
        Ok((self.keys.sign(&claims)?, Timestamp::from_millis(expires_at.seconds() * 1000)))
    }

    /// A media token: lets `principal` into the media session `session_id` of one
    /// space's conference `conf_id` for `ttl_secs`. Its `typ` is `media`, which the API
    /// refuses, so it cannot be replayed as an API token; a media server verifies it
    /// with [`IdentityService::verify_media_token`] or the published JWKS.
    pub fn media_token(
        &self,
        principal: &Principal,
        grant: &MediaGrant,
        ttl_secs: i64,
    ) -> CoreResult<(String, Timestamp)> {
        let now = Timestamp::now();
        let expires_at = now.add_millis(ttl_secs * 1000);
        let claims = MediaClaims {
            iss: self.config.issuer.clone(),
            sub: principal.user_id().to_string(),
            typ: MEDIA_TOKEN_TYPE.to_owned(),
            jti: ObjectId::new().to_string(),
            iat: now.seconds(),
            exp: expires_at.seconds(),
            space: grant.space_id.to_string(),
            conf_id: grant.conf_id.clone(),
            sid: grant.session_id.clone(),
        };
        Ok((self.keys.sign(&claims)?, Timestamp::from_millis(expires_at.seconds() * 1000)))
    }

    /// Checks a media token from [`IdentityService::media_token`]; who it names and what
    /// it lets them into.
    pub fn verify_media_token(&self, token: &str) -> CoreResult<(ObjectId, MediaGrant)> {
        let claims: MediaClaims = self.keys.verify(token, &self.config.issuer)?;
        if claims.typ != MEDIA_TOKEN_TYPE {
            return Err(CoreError::invalid_token());
        }
        let user_id = claims.sub.parse().map_err(|_| CoreError::invalid_token())?;
        let space_id = claims.space.parse().map_err(|_| CoreError::invalid_token())?;
        Ok((user_id, MediaGrant { space_id, conf_id: claims.conf_id, session_id: claims.sid }))
    }

    /// The holder of a media token, as a principal whose session is the token itself:
    /// for a node that hosts a media room and receives a join another node signalled
    /// (that node checked the holder's own session).
    pub async fn media_token_holder(&self, token: &str) -> CoreResult<Principal> {
        let claims: MediaClaims = self.keys.verify(token, &self.config.issuer)?;
        if claims.typ != MEDIA_TOKEN_TYPE {
            return Err(CoreError::invalid_token());
        }
        let session = Session::Jwt {
            jti: claims.jti,
            expires_at: Timestamp::from_millis(claims.exp.saturating_mul(1000)),
        };
        self.principal_for(&claims.sub, session).await
    }

    fn user_token(&self, user: UserRecord) -> CoreResult<IssuedToken> {
        let ttl = match user.kind {
            UserKind::Anonymous => self.config.anonymous_token_ttl_secs,
            UserKind::Registered | UserKind::Service => self.config.user_token_ttl_secs,
        };
        let (token, expires_at) = self.issue_jwt(&user, ttl, None, None)?;
        Ok(IssuedToken { token, expires_at, user })
    }

    /// `POST /api/auth/register`: creates a registered user and signs them in. The first
    /// registered user of a server becomes its admin.
    pub async fn register(&self, input: RegisterInput) -> CoreResult<IssuedToken> {
        self.check_auth_rate().await?;
        let username = validate_email("username", &input.username)?;
        validate_password(&input.password)?;
        let displayname = match input.displayname.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => validate_name("displayname", name)?,
            _ => username.split('@').next().unwrap_or_default().to_owned(),
        };
        match self.config.registration {
            RegistrationMode::Open => {}
            RegistrationMode::Closed => {
                return Err(CoreError::new(
                    ErrorCode::AuthRegistrationClosed,
                    "registration is closed on this server; ask an administrator for an account",
                ));
            }
            RegistrationMode::Invite => {
                // Taken first so that two registrations cannot share one invitation;
                // given back if the account cannot be created.
                if !self.store.take_registration_invite(&username).await? {
                    return Err(CoreError::new(
                        ErrorCode::AuthInvitationRequired,
                        "registration on this server needs an invitation for this email",
                    ));
                }
            }
        }
        let mut user = new_user_record(UserKind::Registered, username.clone(), displayname);
        user.password_hash = Some(password::hash(input.password).await?);
        if let Err(error) = self.insert_registered(&mut user, true).await {
            if self.config.registration == RegistrationMode::Invite {
                self.store.insert_registration_invite(&username, None, Timestamp::now()).await?;
            }
            return Err(error);
        }
        self.audit
            .record(
                AuditEntry::new(AuditActor::User(&user), "auth.register")
                    .target("user", user.id)
                    .detail("serverAdmin", user.is_server_admin),
            )
            .await;
        self.user_token(user)
    }

    /// Inserts a registered user. With `claim_first_admin`, the first such user becomes
    /// server admin.
    pub(crate) async fn insert_registered(
        &self,
        user: &mut UserRecord,
        claim_first_admin: bool,
    ) -> CoreResult<()> {
        self.store.insert_user(user).await.map_err(|e| match e {
            StoreError::Conflict { .. } => username_taken(),
            other => other.into(),
        })?;
        if claim_first_admin
            && user.kind == UserKind::Registered
            && self.store.claim_first_admin().await?
        {
            self.store.set_server_admin(user.id, true).await?;
            user.is_server_admin = true;
            tracing::info!(user_id = %user.id, "first registered user is now server admin");
        }
        Ok(())
    }

    /// `POST /api/auth/login`.
    pub async fn login(&self, username: &str, password: &str) -> CoreResult<IssuedToken> {
        self.check_auth_rate().await?;
        let wrong =
            || CoreError::new(ErrorCode::AuthInvalidCredentials, "wrong username or password");
        if password.len() > MAX_PASSWORD_LEN {
            return Err(wrong());
        }
        let user = self.store.user_by_username(username.trim()).await?;
        let stored = user
            .as_ref()
            .filter(|u| u.kind == UserKind::Registered)
            .and_then(|u| u.password_hash.clone());
        let matched = match stored {
            Some(hash) => password::verify(password.to_owned(), hash).await?,
            None => {
                password::verify(password.to_owned(), password::decoy_hash().await.to_owned())
                    .await?;
                false
            }
        };
        let Some(user) = user.filter(|_| matched) else {
            self.audit
                .record(AuditEntry::new(AuditActor::Named(username.trim()), "auth.login.failed"))
                .await;
            return Err(wrong());
        };
        if user.disabled {
            self.audit
                .record(
                    AuditEntry::new(AuditActor::User(&user), "auth.login.failed")
                        .detail("reason", "account disabled"),
                )
                .await;
            return Err(account_disabled());
        }
        self.audit.record(AuditEntry::new(AuditActor::User(&user), "auth.login")).await;
        self.user_token(user)
    }

    /// `POST /api/auth/logout`: revokes the credential the request used.
    pub async fn logout(&self, principal: &Principal) -> CoreResult<()> {
        match &principal.session {
            Session::Jwt { jti, expires_at } | Session::ServiceApp { jti, expires_at, .. } => {
                self.store.revoke_jwt(jti, *expires_at).await?;
                self.announce_revoked(
                    RevokedAccess::Token(jti.clone()),
                    RevocationReason::TokenRevoked,
                );
            }
            Session::OAuth { grant_id, .. } => {
                self.store.revoke_oauth_grant(*grant_id).await?;
                self.announce_revoked(
                    RevokedAccess::Grant(*grant_id),
                    RevocationReason::TokenRevoked,
                );
            }
        }
        if principal.user.kind == UserKind::Registered {
            self.audit.record(AuditEntry::new(principal, "auth.logout")).await;
        }
        Ok(())
    }

    /// `POST /api/anonymous/auth`: a new anonymous guest and its 24-hour JWT.
    pub async fn anonymous(&self, input: AnonymousInput) -> CoreResult<IssuedToken> {
        self.check_auth_rate().await?;
        let displayname = match input.displayname.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => validate_name("displayname", name)?,
            _ => "Guest".to_owned(),
        };
        let username = validate_name("username", input.username.as_deref().unwrap_or_default())?;
        let mut user = new_user_record(UserKind::Anonymous, username, displayname);
        user.picture_url = input
            .picturefile
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            .map(validate_picture)
            .transpose()?;
        user.expires_at =
            Some(user.created.add_millis(self.config.anonymous_token_ttl_secs * 1000));
        self.store.insert_user(&user).await?;
        self.user_token(user)
    }

    /// Checks a credential and returns who presented it.
    pub async fn authenticate(&self, credential: &Credential) -> CoreResult<Principal> {
        match credential {
            Credential::Jwt(token) => {
                let claims: Claims = self.keys.verify(token, &self.config.issuer)?;
                // A service-app JWT is also accepted under `jwt`: Spaces sockets send
                // every JWT as tokenType=jwt.
                let session = self.jwt_session(&claims).await?;
                let principal = self.principal_for(&claims.sub, session).await?;
                refuse_if_issued_before_reset(&principal.user, claims.iat * 1000)?;
                Ok(principal)
            }
            Credential::ServiceApp(token) => {
                let claims: Claims = self.keys.verify(token, &self.config.issuer)?;
                if claims.typ != UserKind::Service.as_str() {
                    return Err(CoreError::invalid_token());
                }
                let session = self.jwt_session(&claims).await?;
                self.principal_for(&claims.sub, session).await
            }
            Credential::Bearer(token) => {
                let record = self
                    .store
                    .oauth_token(&secret_hash(token))
                    .await?
                    .filter(|t| t.kind == plaza_db::TokenKind::Access)
                    .filter(|t| t.expires_at > Timestamp::now())
                    .ok_or_else(CoreError::invalid_token)?;
                if !oauth::grants_spaces(&record.scope) {
                    return Err(CoreError::permission_denied("this token lacks the spaces scope"));
                }
                self.active_client(&record.client_id).await?;
                let session = Session::OAuth {
                    grant_id: record.grant_id,
                    client_id: record.client_id,
                    scope: record.scope,
                    expires_at: record.expires_at,
                };
                let principal = self.principal_for(&record.user_id.to_string(), session).await?;
                let issued = record.expires_at.millis() - self.config.access_token_ttl_secs * 1000;
                refuse_if_issued_before_reset(&principal.user, issued)?;
                Ok(principal)
            }
        }
    }

    async fn jwt_session(&self, claims: &Claims) -> CoreResult<Session> {
        if self.store.is_jwt_revoked(&claims.jti).await? {
            return Err(CoreError::invalid_token());
        }
        let expires_at = Timestamp::from_millis(claims.exp.saturating_mul(1000));
        match (&claims.client_id, claims.typ.as_str()) {
            (Some(client_id), "service") => {
                if claims.scope.as_deref().is_some_and(|scope| !oauth::grants_spaces(scope)) {
                    return Err(CoreError::permission_denied("this token lacks the spaces scope"));
                }
                self.active_client(client_id).await?;
                Ok(Session::ServiceApp {
                    jti: claims.jti.clone(),
                    expires_at,
                    client_id: client_id.clone(),
                })
            }
            (None, "user" | "anonymous") => {
                Ok(Session::Jwt { jti: claims.jti.clone(), expires_at })
            }
            _ => Err(CoreError::invalid_token()),
        }
    }

    /// The client must still exist and not be revoked for its tokens to work.
    async fn active_client(&self, client_id: &str) -> CoreResult<plaza_db::OAuthClientRecord> {
        self.store
            .oauth_client(client_id)
            .await?
            .filter(|c| !c.revoked)
            .ok_or_else(CoreError::invalid_token)
    }

    async fn principal_for(&self, user_id: &str, session: Session) -> CoreResult<Principal> {
        let id: ObjectId = user_id.parse().map_err(|_| CoreError::invalid_token())?;
        let user = self.store.user_by_id(id).await?.ok_or_else(CoreError::invalid_token)?;
        if user.expires_at.is_some_and(|end| end <= Timestamp::now()) {
            return Err(CoreError::invalid_token());
        }
        if user.disabled {
            return Err(account_disabled());
        }
        Ok(Principal { user, session })
    }

    /// Forgets revocations, codes and tokens that have expired anyway.
    pub async fn purge_expired_credentials(&self) -> CoreResult<u64> {
        // Verification allows a little clock leeway; keep revocations a minute past expiry.
        Ok(self.store.purge_expired_credentials(Timestamp::now().add_millis(-60_000)).await?)
    }
}

/// Refuses a credential issued (epoch milliseconds) before its user's password was
/// reset: a reset ends the sessions that were open.
pub(crate) fn refuse_if_issued_before_reset(
    user: &UserRecord,
    issued_millis: i64,
) -> CoreResult<()> {
    // JWTs say their second only: a token from the reset's own second still counts.
    match user.credentials_after {
        Some(after) if issued_millis < after.millis() - after.millis().rem_euclid(1000) => {
            Err(CoreError::invalid_token())
        }
        _ => Ok(()),
    }
}

fn username_taken() -> CoreError {
    CoreError::new(ErrorCode::UserUsernameTaken, "an account with this username already exists")
}

fn account_disabled() -> CoreError {
    CoreError::new(ErrorCode::AuthAccountDisabled, "this account is disabled")
}
