//! The identity side of email: password resets by mail, and the digest preference with
//! its one-click unsubscribe token.

use plaza_db::{ObjectId, PasswordResetRecord, Timestamp, UserKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{IdentityService, random_token, secret_hash, validate_password};
use crate::audit::{AuditActor, AuditEntry};
use crate::{CoreError, CoreResult, ErrorCode};

/// The `typ` of an unsubscribe token: the API refuses it as a credential.
const UNSUBSCRIBE_TOKEN_TYPE: &str = "unsubscribe";
/// How long a digest's unsubscribe link works.
const UNSUBSCRIBE_TTL_SECS: i64 = 180 * 24 * 3600;

#[derive(Debug, Serialize, Deserialize)]
struct UnsubscribeClaims {
    iss: String,
    sub: String,
    typ: String,
    iat: i64,
    exp: i64,
}

fn reset_token_invalid() -> CoreError {
    CoreError::new(
        ErrorCode::AuthResetTokenInvalid,
        "this reset link is unknown, used or expired; ask for a new one",
    )
}

impl IdentityService {
    /// `POST /api/auth/password/forgot`: mails a single-use reset link to the account
    /// named `username`, if there is one. The answer is the same whether or not it
    /// exists, and comes before the mail is sent, so neither it nor its timing tells.
    pub async fn request_password_reset(&self, username: &str) -> CoreResult<()> {
        self.check_auth_rate().await?;
        if !self.postman.configured() {
            return Err(CoreError::new(
                ErrorCode::MailNotConfigured,
                "this server does not send email; ask an administrator to reset your password",
            ));
        }
        let user = self.store.user_by_username(username.trim()).await?;
        let Some(user) = user
            .filter(|u| u.kind == UserKind::Registered && !u.disabled && u.password_hash.is_some())
        else {
            return Ok(());
        };
        let token = random_token();
        let now = Timestamp::now();
        let ttl_secs = self.config.password_reset_ttl_secs;
        let reset = PasswordResetRecord {
            token_hash: secret_hash(&token),
            user_id: user.id,
            created: now,
            expires_at: now.add_millis(ttl_secs * 1000),
        };
        self.store.replace_password_reset(&reset).await?;
        self.audit
            .record(AuditEntry::new(AuditActor::User(&user), "auth.password.reset_requested"))
            .await;
        let mail =
            crate::mail::password_reset(self.postman.site(), &user.username, &token, ttl_secs / 60);
        let postman = self.postman.clone();
        tokio::spawn(async move {
            postman.deliver(&mail).await;
        });
        Ok(())
    }

    /// `POST /api/auth/password/reset`: sets a new password with a token from a reset
    /// mail. The token works once, only before it expires, and only if it is the
    /// newest one asked for. Every session opened before ends: its tokens are refused
    /// and its sockets closed.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> CoreResult<()> {
        self.check_auth_rate().await?;
        validate_password(new_password)?;
        let reset = self.store.take_password_reset(&secret_hash(token.trim())).await?;
        let reset =
            reset.filter(|r| r.expires_at > Timestamp::now()).ok_or_else(reset_token_invalid)?;
        let user = self.store.user_by_id(reset.user_id).await?;
        let user = user.filter(|u| !u.disabled).ok_or_else(reset_token_invalid)?;
        let hash = super::password::hash(new_password.to_owned()).await?;
        self.store.set_password_hash(user.id, &hash).await?;
        // The sessions open before end, here and on every node.
        self.announce_revoked(
            crate::events::RevokedAccess::User(user.id),
            crate::events::RevocationReason::TokenRevoked,
        );
        self.audit.record(AuditEntry::new(AuditActor::User(&user), "auth.password.reset")).await;
        Ok(())
    }

    /// Whether `user_id` wants the digest of missed mentions and direct messages (the
    /// `emailDigest` setting, on unless turned off).
    pub async fn wants_digest(&self, user_id: ObjectId) -> CoreResult<bool> {
        let settings = self.store.user_settings(user_id).await?;
        Ok(settings
            .and_then(|s| s.settings.get("emailDigest").and_then(Value::as_bool))
            .unwrap_or(true))
    }

    /// A token for the digest's unsubscribe link: it can only turn the digest off.
    pub fn unsubscribe_token(&self, user_id: ObjectId) -> CoreResult<String> {
        let now = Timestamp::now();
        let claims = UnsubscribeClaims {
            iss: self.config.issuer.clone(),
            sub: user_id.to_string(),
            typ: UNSUBSCRIBE_TOKEN_TYPE.to_owned(),
            iat: now.seconds(),
            exp: now.seconds() + UNSUBSCRIBE_TTL_SECS,
        };
        self.keys.sign(&claims)
    }

    /// Turns the digest off for the user an unsubscribe token names.
    pub async fn unsubscribe(&self, token: &str) -> CoreResult<()> {
        let claims: UnsubscribeClaims = self.keys.verify(token, &self.config.issuer)?;
        if claims.typ != UNSUBSCRIBE_TOKEN_TYPE {
            return Err(CoreError::invalid_token());
        }
        let user_id: ObjectId = claims.sub.parse().map_err(|_| CoreError::invalid_token())?;
        let mut record = self.settings_of(user_id).await?;
        record.settings.insert("emailDigest".to_owned(), Value::Bool(false));
        record.modified = Timestamp::now();
        self.store.put_user_settings(&record).await?;
        Ok(())
    }
}
