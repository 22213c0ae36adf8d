//! Connections end when the credentials that opened them do.
//!
//! Every socket joins a room per credential it was opened with (its JWT's id, its OAuth
//! grant, its client or service app; its user's room it has already). A revocation the
//! core announces ([`DomainEvent::AccessRevoked`](plaza_core::events::DomainEvent)) is
//! delivered to that room through the adapter, so it reaches the sockets on every node:
//! each is told why ([`SESSION_ENDED`]) and disconnected from its namespace. Expiry needs
//! no announcement: each socket has a timer set to the earliest end of its token and
//! (for an anonymous guest) of its account.

use std::sync::Arc;

use plaza_core::events::{RevocationReason, RevokedAccess};
use plaza_core::identity::{Principal, Session};
use plaza_core::{ObjectId, Timestamp};
use plaza_wire::socket::SessionEnded;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;

/// The event a socket gets just before the server disconnects it for its credentials.
pub(crate) const SESSION_ENDED: &str = "SESSION_ENDED";

/// The room of the sockets a revocation of `scope` ends.
pub(crate) fn revoked_room(scope: &RevokedAccess) -> String {
    match scope {
        RevokedAccess::Token(jti) => token_room(jti),
        RevokedAccess::Grant(grant) => grant_room(*grant),
        RevokedAccess::Client(client) => client_room(client),
        RevokedAccess::User(user) => crate::user_room(user),
    }
}

fn token_room(jti: &str) -> String {
    format!("jwt:{jti}")
}

fn grant_room(grant: ObjectId) -> String {
    format!("grant:{grant}")
}

fn client_room(client: &str) -> String {
    format!("client:{client}")
}

/// The credential rooms a socket opened by `principal` joins.
pub(crate) fn credential_rooms(principal: &Principal) -> Vec<String> {
    match &principal.session {
        Session::Jwt { jti, .. } => vec![token_room(jti)],
        Session::ServiceApp { jti, client_id, .. } => vec![token_room(jti), client_room(client_id)],
        Session::OAuth { grant_id, client_id, .. } => {
            vec![grant_room(*grant_id), client_room(client_id)]
        }
    }
}

/// What a socket is told before it is disconnected: the error (CONTRACT §3 codes) and,
/// in `reason`, which of the ends it was.
pub(crate) fn ended_payload(reason: RevocationReason) -> SessionEnded {
    let error = crate::failure::error_body(&reason.error());
    let name = match reason {
        RevocationReason::TokenRevoked => "token_revoked",
        RevocationReason::TokenExpired => "token_expired",
        RevocationReason::ClientRevoked => "client_revoked",
        RevocationReason::AccountDisabled => "account_disabled",
    };
    SessionEnded { error, reason: name.to_owned() }
}

/// Ends every connection, on every node, opened with the revoked credentials.
pub(crate) async fn end_revoked<A: Adapter>(
    io: &SocketIo<A>,
    scope: &RevokedAccess,
    reason: RevocationReason,
) {
    let room = revoked_room(scope);
    let payload = ended_payload(reason);
    for operators in io.nsps() {
        let matching = operators.to(room.clone());
        if let Err(error) = matching.clone().emit(SESSION_ENDED, &payload).await {
            tracing::warn!(%error, room, "telling revoked sockets failed");
        }
        if let Err(error) = matching.disconnect().await {
            tracing::warn!(%error, room, "disconnecting revoked sockets failed");
        }
    }
}

/// When the credentials of `principal` stop being valid by themselves.
fn expires_at(principal: &Principal) -> Timestamp {
    let token = match &principal.session {
        Session::Jwt { expires_at, .. }
        | Session::ServiceApp { expires_at, .. }
        | Session::OAuth { expires_at, .. } => *expires_at,
    };
    principal.user.expires_at.map_or(token, |account| account.min(token))
}

/// The socket's expiry timer; dropping it (when the socket goes) cancels the timer, so
/// the task does not keep the socket alive.
#[derive(Clone)]
pub(crate) struct ExpiryTimer(#[allow(dead_code, reason = "held for its Drop")] Arc<AbortOnDrop>);

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sets the socket's timer: at its credentials' end it is told and disconnected.
pub(crate) fn watch_expiry<A: Adapter>(socket: &SocketRef<A>, principal: &Principal) {
    let wait = u64::try_from(expires_at(principal).millis() - Timestamp::now().millis());
    let wait = wait.unwrap_or(0);
    let timed = socket.clone();
    let task = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        end_socket(timed, RevocationReason::TokenExpired);
    });
    socket.extensions.insert(ExpiryTimer(Arc::new(AbortOnDrop(task.abort_handle()))));
}

/// Tells one socket why, then disconnects it.
fn end_socket<A: Adapter>(socket: SocketRef<A>, reason: RevocationReason) {
    if let Err(error) = socket.emit(SESSION_ENDED, &ended_payload(reason)) {
        tracing::debug!(%error, sid = %socket.id, "telling an expired socket failed");
    }
    // Fails only when it is gone already.
    let _ = socket.disconnect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scope_names_its_own_room() {
        let user = ObjectId::new();
        let grant = ObjectId::new();
        let rooms = [
            revoked_room(&RevokedAccess::Token("abc".into())),
            revoked_room(&RevokedAccess::Grant(grant)),
            revoked_room(&RevokedAccess::Client("abc".into())),
            revoked_room(&RevokedAccess::User(user)),
        ];
        let distinct: std::collections::HashSet<_> = rooms.iter().collect();
        assert_eq!(distinct.len(), rooms.len(), "{rooms:?}");
        assert_eq!(rooms[3], crate::user_room(user));
    }

    #[test]
    fn the_payload_says_which_end_it_was() {
        let payload = serde_json::to_value(ended_payload(RevocationReason::AccountDisabled))
            .expect("serialises");
        assert_eq!(payload["code"], "auth.account_disabled");
        assert_eq!(payload["reason"], "account_disabled");
        let payload = serde_json::to_value(ended_payload(RevocationReason::TokenExpired))
            .expect("serialises");
        assert_eq!(payload["code"], "auth.invalid_token");
        assert_eq!(payload["reason"], "token_expired");
    }
}
