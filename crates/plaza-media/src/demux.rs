//! Demultiplexing of the one shared UDP socket: which peer does a datagram belong to?
//!
//! Each peer's `Rtc` lives in its own task, so `Rtc::accepts` (str0m's way to ask every
//! instance in turn) cannot be called from the socket task. Instead the engine chooses
//! each peer's local ICE username fragment, and routes:
//! - a STUN binding request by the USERNAME attribute (`<our ufrag>:<their ufrag>`,
//!   RFC 8445 §7.2.2), remembering the source address for that peer on the way;
//! - anything else (DTLS, SRTP, SRTCP) by the source address learned from STUN.
//!
//! The peer's `Rtc` still checks STUN message integrity and DTLS fingerprints itself: a
//! forged STUN request only teaches the table the forger's own address.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::RwLock;

use tokio::sync::mpsc;

use crate::link::{PeerInput, PeerKey};

#[derive(Clone)]
pub(crate) struct Route {
    pub key: PeerKey,
    pub input: mpsc::Sender<PeerInput>,
}

/// The routing table of the media socket.
#[derive(Default)]
pub(crate) struct Demux {
    table: RwLock<Tables>,
}

#[derive(Default)]
struct Tables {
    by_ufrag: HashMap<String, Route>,
    by_addr: HashMap<SocketAddr, Route>,
}

impl Demux {
    pub fn register(&self, ufrag: String, route: Route) {
        self.write().by_ufrag.insert(ufrag, route);
    }

    /// Forgets a peer: its ufrag and every address learned for it.
    pub fn unregister(&self, key: PeerKey) {
        let mut tables = self.write();
        tables.by_ufrag.retain(|_, route| route.key != key);
        tables.by_addr.retain(|_, route| route.key != key);
    }

    /// The peer a datagram from `source` belongs to, if any.
    pub fn route(&self, source: SocketAddr, datagram: &[u8]) -> Option<Route> {
        if let Some(ufrag) = stun_local_ufrag(datagram) {
            let route = self.read().by_ufrag.get(ufrag).cloned()?;
            let known = self.read().by_addr.get(&source).map(|r| r.key) == Some(route.key);
            if !known {
                self.write().by_addr.insert(source, route.clone());
            }
            return Some(route);
        }
        self.read().by_addr.get(&source).cloned()
    }

    /// The session whose ICE ufrag is `ufrag` (an ICE-TCP connection's first request).
    pub fn route_ufrag(&self, ufrag: &str) -> Option<Route> {
        self.read().by_ufrag.get(ufrag).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        // A panic while holding this lock can only come from HashMap itself; the table is
        // still consistent then, so poisoning is ignored.
        self.table.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.table.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

const STUN_HEADER_LEN: usize = 20;
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const STUN_ATTR_USERNAME: u16 = 0x0006;

/// The local (first) half of the USERNAME of a STUN message, or `None` when `datagram`
/// is not STUN or carries no USERNAME. Binding responses (which carry none) to our own
/// requests never occur: an ICE-lite agent sends no checks.
pub(crate) fn stun_local_ufrag(datagram: &[u8]) -> Option<&str> {
    // RFC 7983 §7: STUN starts with 0 or 1; RFC 5389 §6: the top two bits are zero and the
    // cookie follows the type and length.
    if datagram.len() < STUN_HEADER_LEN || datagram[0] > 1 || datagram[4..8] != STUN_MAGIC_COOKIE {
        return None;
    }
    let body_len = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let body = datagram.get(STUN_HEADER_LEN..STUN_HEADER_LEN + body_len)?;
    let mut rest = body;
    while rest.len() >= 4 {
        let attr_type = u16::from_be_bytes([rest[0], rest[1]]);
        let attr_len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + attr_len)?;
        if attr_type == STUN_ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        // Attributes are padded to a multiple of four bytes.
        let padded = (attr_len + 3) & !3;
        rest = rest.get(4 + padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun_with_username(username: &str) -> Vec<u8> {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&STUN_ATTR_USERNAME.to_be_bytes());
        attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attrs.extend_from_slice(username.as_bytes());
        while attrs.len() % 4 != 0 {
            attrs.push(0);
        }
        // A PRIORITY attribute after it, to check padding is skipped correctly.
        attrs.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4]);
        let mut message = vec![0x00, 0x01];
        message.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        message.extend_from_slice(&STUN_MAGIC_COOKIE);
        message.extend_from_slice(&[7; 12]);
        message.extend_from_slice(&attrs);
        message
    }

    #[test]
    fn the_local_ufrag_is_read_from_a_binding_request() {
        let message = stun_with_username("abcde:xyz");
        assert_eq!(stun_local_ufrag(&message), Some("abcde"));
    }

    #[test]
    fn truncated_or_foreign_datagrams_are_not_stun() {
        let message = stun_with_username("abcde:xyz");
        assert_eq!(stun_local_ufrag(&message[..message.len() - 10]), None);
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None, "RTP");
        assert_eq!(stun_local_ufrag(&[22; 40]), None, "DTLS");
        assert_eq!(stun_local_ufrag(&[]), None);
    }

    #[tokio::test]
    async fn addresses_learned_from_stun_route_later_datagrams() {
        let demux = Demux::default();
        let (tx, _rx) = mpsc::channel(1);
        demux.register("abcde".into(), Route { key: 7, input: tx });
        let source: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        assert!(demux.route(source, &[0x80; 40]).is_none(), "unknown address before STUN");
        let stun = stun_with_username("abcde:xyz");
        assert_eq!(demux.route(source, &stun).map(|r| r.key), Some(7));
        assert_eq!(demux.route(source, &[0x80; 40]).map(|r| r.key), Some(7));
        demux.unregister(7);
        assert!(demux.route(source, &[0x80; 40]).is_none());
        assert!(demux.route(source, &stun).is_none());
    }
}
