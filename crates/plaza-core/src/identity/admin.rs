//! Server administration: accounts, registration invitations, OAuth clients and service
//! apps. Reached from the CLI (as [`Actor::System`]) and from REST by server admins.

use plaza_db::{ClientKind, OAuthClientRecord, ObjectId, Timestamp, UserKind, UserRecord};

use super::{
    IdentityService, Principal, new_user_record, password, random_token, secret_hash,
    validate_email, validate_name, validate_password,
};
use crate::audit::{AuditActor, AuditEntry};
use crate::events::{RevocationReason, RevokedAccess};
use crate::{CoreError, CoreResult, ErrorCode};

/// Who asks for an administrative action.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// The operator at the server's own command line.
    System,
    /// A signed-in user, who must be a server admin.
    User(&'a Principal),
}

impl<'a> From<Actor<'a>> for AuditActor<'a> {
    fn from(actor: Actor<'a>) -> Self {
        match actor {
            Actor::System => AuditActor::System,
            Actor::User(principal) => AuditActor::User(&principal.user),
        }
    }
}

impl Actor<'_> {
    fn require_server_admin(&self) -> CoreResult<Option<ObjectId>> {
        match self {
            Actor::System => Ok(None),
            Actor::User(principal) if principal.is_server_admin() => Ok(Some(principal.user_id())),
            Actor::User(_) => Err(CoreError::permission_denied("only server admins may do this")),
        }
    }
}

pub struct NewUserByAdmin {
    pub username: String,
    pub password: String,
    pub displayname: Option<String>,
    pub server_admin: bool,
}

pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// A public client (a browser or mobile app) has no secret and must use PKCE.
    pub public: bool,
}

pub struct NewServiceApp {
    pub name: String,
}

fn validate_redirect_uri(uri: &str) -> CoreResult<String> {
    let parsed = url::Url::parse(uri.trim()).map_err(|_| {
        CoreError::invalid("redirect_uris", format!("{uri:?} is not an absolute URL"))
    })?;
    if parsed.fragment().is_some() || parsed.cannot_be_a_base() {
        return Err(CoreError::invalid(
            "redirect_uris",
            format!("{uri:?} may not have a fragment"),
        ));
    }
    Ok(parsed.to_string())
}

impl IdentityService {
    /// Creates a registered account regardless of the registration mode.
    pub async fn admin_create_user(
        &self,
        actor: Actor<'_>,
        input: NewUserByAdmin,
    ) -> CoreResult<UserRecord> {
        actor.require_server_admin()?;
        let username = validate_email("username", &input.username)?;
        validate_password(&input.password)?;
        let displayname = match input.displayname.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => validate_name("displayname", name)?,
            _ => username.split('@').next().unwrap_or_default().to_owned(),
        };
        let mut user = new_user_record(UserKind::Registered, username, displayname);
        user.password_hash = Some(password::hash(input.password).await?);
        // An admin-created server admin takes the "first admin" mark, so a later
        // self-registration does not become admin; an ordinary account never does.
        self.insert_registered(&mut user, input.server_admin).await?;
        if input.server_admin && !user.is_server_admin {
            self.store.set_server_admin(user.id, true).await?;
            user.is_server_admin = true;
        }
        self.audit
            .record(
                AuditEntry::new(actor, "admin.user.create")
                    .target("user", user.id)
                    .detail("username", user.username.clone())
                    .detail("serverAdmin", user.is_server_admin),
            )
            .await;
        Ok(user)
    }

    /// Registered and service accounts in id order, a page at a time.
    pub async fn admin_list_users(
        &self,
        actor: Actor<'_>,
        after: Option<ObjectId>,
        limit: u32,
    ) -> CoreResult<Vec<UserRecord>> {
        actor.require_server_admin()?;
        Ok(self.store.list_users(after, limit.clamp(1, 500)).await?)
    }

    /// Disables (or re-enables) an account; a disabled account's tokens stop working
    /// at once. Admins cannot disable themselves, so a server keeps a working admin.
    pub async fn admin_set_disabled(
        &self,
        actor: Actor<'_>,
        user: &str,
        disabled: bool,
    ) -> CoreResult<UserRecord> {
        let acting = actor.require_server_admin()?;
        let mut target = self.find_user(user).await?;
        if disabled && acting == Some(target.id) {
            return Err(CoreError::permission_denied("admins cannot disable their own account"));
        }
        self.store.set_user_disabled(target.id, disabled).await?;
        target.disabled = disabled;
        if disabled {
            self.announce_revoked(
                RevokedAccess::User(target.id),
                RevocationReason::AccountDisabled,
            );
        }
        let action = if disabled { "admin.user.disable" } else { "admin.user.enable" };
        self.audit
            .record(
                AuditEntry::new(actor, action)
                    .target("user", target.id)
                    .detail("username", target.username.clone()),
            )
            .await;
        Ok(target)
    }

    /// Finds a registered or service user by id or username.
    pub async fn find_user(&self, user: &str) -> CoreResult<UserRecord> {
        let found = match user.parse::<ObjectId>() {
            Ok(id) => self.store.user_by_id(id).await?,
            Err(_) => self.store.user_by_username(user).await?,
        };
        found
            .filter(|u| u.kind != UserKind::Anonymous)
            .ok_or_else(|| CoreError::new(ErrorCode::UserNotFound, "no such user"))
    }

    /// Lets `email` register while registration is by invitation.
    pub async fn admin_invite(&self, actor: Actor<'_>, email: &str) -> CoreResult<String> {
        let acting = actor.require_server_admin()?;
        let email = validate_email("email", email)?;
        self.store.insert_registration_invite(&email, acting, Timestamp::now()).await?;
        self.audit
            .record(AuditEntry::new(actor, "admin.invitation.create").target("email", &email))
            .await;
        Ok(email)
    }

    /// Registers an OAuth2 client; returns it with its secret (shown once), if any.
    pub async fn admin_create_client(
        &self,
        actor: Actor<'_>,
        input: NewClient,
    ) -> CoreResult<(OAuthClientRecord, Option<String>)> {
        let acting = actor.require_server_admin()?;
        let name = validate_name("name", &input.name)?;
        if name.is_empty() {
            return Err(CoreError::invalid("name", "must not be empty"));
        }
        if input.redirect_uris.is_empty() {
            return Err(CoreError::invalid("redirect_uris", "needs at least one URL"));
        }
        let redirect_uris = input
            .redirect_uris
            .iter()
            .map(|u| validate_redirect_uri(u))
            .collect::<CoreResult<_>>()?;
        let secret = (!input.public).then(random_token);
        let client = OAuthClientRecord {
            client_id: ObjectId::new().to_string(),
            kind: ClientKind::OAuth,
            name,
            secret_hash: secret.as_deref().map(secret_hash),
            redirect_uris,
            service_user_id: None,
            created_by: acting,
            created: Timestamp::now(),
            revoked: false,
        };
        self.store.insert_oauth_client(&client).await?;
        self.audit
            .record(
                AuditEntry::new(actor, "admin.oauth_client.create")
                    .target("client", &client.client_id)
                    .detail("name", client.name.clone())
                    .detail("public", secret.is_none()),
            )
            .await;
        Ok((client, secret))
    }

    /// Creates a service app with its own login-less service account; returns the app,
    /// its secret (shown once) and the account it acts as.
    pub async fn admin_create_service_app(
        &self,
        actor: Actor<'_>,
        input: NewServiceApp,
    ) -> CoreResult<(OAuthClientRecord, String, UserRecord)> {
        let acting = actor.require_server_admin()?;
        let name = validate_name("name", &input.name)?;
        if name.is_empty() {
            return Err(CoreError::invalid("name", "must not be empty"));
        }
        let client_id = ObjectId::new().to_string();
        let account = new_user_record(
            UserKind::Service,
            format!("{client_id}@service-app.plaza"),
            name.clone(),
        );
        self.store.insert_user(&account).await?;
        let secret = random_token();
        let client = OAuthClientRecord {
            client_id,
            kind: ClientKind::ServiceApp,
            name,
            secret_hash: Some(secret_hash(&secret)),
            redirect_uris: Vec::new(),
            service_user_id: Some(account.id),
            created_by: acting,
            created: Timestamp::now(),
            revoked: false,
        };
        self.store.insert_oauth_client(&client).await?;
        self.audit
            .record(
                AuditEntry::new(actor, "admin.service_app.create")
                    .target("client", &client.client_id)
                    .detail("name", client.name.clone())
                    .detail("serviceUserId", account.id.to_string()),
            )
            .await;
        Ok((client, secret, account))
    }

    /// OAuth clients and service apps, oldest first; `kind` filters.
    pub async fn admin_list_clients(
        &self,
        actor: Actor<'_>,
        kind: Option<ClientKind>,
    ) -> CoreResult<Vec<OAuthClientRecord>> {
        actor.require_server_admin()?;
        let mut clients = self.store.list_oauth_clients().await?;
        clients.retain(|c| kind.is_none_or(|k| c.kind == k));
        Ok(clients)
    }

    /// Revokes a client or service app: its codes and tokens stop working at once.
    pub async fn admin_revoke_client(&self, actor: Actor<'_>, client_id: &str) -> CoreResult<()> {
        actor.require_server_admin()?;
        self.store.revoke_oauth_client(client_id).await.map_err(|e| match e {
            plaza_db::StoreError::NotFound => {
                CoreError::new(ErrorCode::OAuthClientNotFound, "no such client")
            }
            other => other.into(),
        })?;
        self.announce_revoked(
            RevokedAccess::Client(client_id.to_owned()),
            RevocationReason::ClientRevoked,
        );
        self.audit
            .record(AuditEntry::new(actor, "admin.client.revoke").target("client", client_id))
            .await;
        Ok(())
    }
}
