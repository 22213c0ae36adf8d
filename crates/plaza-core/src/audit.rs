//! The security audit log: logins, role changes, removals, deletions, accounts and
//! OAuth clients, with who acted, on what, and from which address.
//!
//! Services record as they act; transports only say which client address a request
//! came from, by running it inside [`with_client_ip`]. Writing an event is best-effort:
//! an audit write that fails is logged, but never undoes or refuses the action itself.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

pub use plaza_db::{AuditQuery, AuditRecord};
use plaza_db::{ObjectId, Store, Timestamp, UserRecord};
use serde_json::{Map, Value};

use crate::principal::Principal;
use crate::{CoreError, CoreResult};

tokio::task_local! {
    static CLIENT_IP: IpAddr;
}

/// Runs `work` with `ip` as the address audit events record for it.
pub async fn with_client_ip<F: Future>(ip: IpAddr, work: F) -> F::Output {
    CLIENT_IP.scope(ip, work).await
}

fn client_ip() -> Option<String> {
    CLIENT_IP.try_with(|ip| ip.to_string()).ok()
}

/// The address the current request came from, when a transport said.
pub fn current_client_ip() -> Option<IpAddr> {
    CLIENT_IP.try_with(|ip| *ip).ok()
}

/// Who did something.
#[derive(Debug, Clone, Copy)]
pub enum AuditActor<'a> {
    /// The operator at the server's command line.
    System,
    User(&'a UserRecord),
    /// Someone not signed in who gave this name (a failed login).
    Named(&'a str),
}

impl<'a> From<&'a Principal> for AuditActor<'a> {
    fn from(principal: &'a Principal) -> Self {
        AuditActor::User(&principal.user)
    }
}

/// One event about to be recorded.
pub struct AuditEntry<'a> {
    actor: AuditActor<'a>,
    action: &'static str,
    target: Option<(&'static str, String)>,
    space_id: Option<ObjectId>,
    details: Map<String, Value>,
}

impl<'a> AuditEntry<'a> {
    pub fn new(actor: impl Into<AuditActor<'a>>, action: &'static str) -> Self {
        AuditEntry {
            actor: actor.into(),
            action,
            target: None,
            space_id: None,
            details: Map::new(),
        }
    }

    pub fn target(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.target = Some((kind, id.to_string()));
        self
    }

    pub fn space(mut self, space_id: ObjectId) -> Self {
        self.space_id = Some(space_id);
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// The most events one page lists.
pub const MAX_PAGE: u32 = 200;

/// Writes and reads the audit log.
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<dyn Store>,
}

impl AuditLog {
    pub fn new(store: Arc<dyn Store>) -> Self {
        AuditLog { store }
    }

    /// Records `entry` now. Never fails the caller: the action already happened.
    pub async fn record(&self, entry: AuditEntry<'_>) {
        let (actor_id, actor_name) = match entry.actor {
            AuditActor::System => (None, Some("system".to_owned())),
            AuditActor::User(user) => (Some(user.id), Some(user.username.clone())),
            AuditActor::Named(name) => (None, Some(name.chars().take(256).collect())),
        };
        let (target_kind, target_id) = entry.target.unzip();
        let record = AuditRecord {
            id: ObjectId::new(),
            at: Timestamp::now(),
            actor_id,
            actor_name,
            action: entry.action.to_owned(),
            target_kind: target_kind.map(str::to_owned),
            target_id,
            space_id: entry.space_id,
            client_ip: client_ip(),
            details: Value::Object(entry.details),
        };
        if let Err(error) = self.store.insert_audit_event(&record).await {
            tracing::warn!(%error, action = record.action, "could not write an audit event");
        }
    }

    /// Events for a server admin (or the command line, with `None`), newest first.
    pub async fn list(
        &self,
        asker: Option<&Principal>,
        mut query: AuditQuery,
    ) -> CoreResult<Vec<AuditRecord>> {
        if asker.is_some_and(|principal| !principal.is_server_admin()) {
            return Err(CoreError::permission_denied("only server admins may read the audit log"));
        }
        if query.limit == 0 || query.limit > MAX_PAGE {
            return Err(CoreError::invalid("limit", format!("must be 1 to {MAX_PAGE}")));
        }
        if let Some(action) = &query.action {
            let action = action.trim();
            if action.is_empty() || action.len() > 64 {
                return Err(CoreError::invalid("action", "must be 1 to 64 characters"));
            }
            query.action = Some(action.to_owned());
        }
        Ok(self.store.audit_events(&query).await?)
    }

    /// Forgets events older than `retention`.
    pub async fn purge_older_than(&self, retention: std::time::Duration) -> CoreResult<u64> {
        let millis = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        Ok(self.store.purge_audit_events(Timestamp::now().add_millis(-millis)).await?)
    }
}
