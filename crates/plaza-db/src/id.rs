use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use rand::RngCore;

/// A 12-byte, time-ordered identifier printed as 24 lower-case hex characters.
///
/// Spaces clients expect MongoDB-style ids: 4 bytes of seconds since the epoch, 5 bytes
/// that are random per process, and a 3-byte counter. Ids made later sort later (to the
/// second), which keyset paging relies on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 12]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an id is 24 hexadecimal characters")]
pub struct ParseObjectIdError;

impl ObjectId {
    /// A new id for the current time.
    pub fn new() -> Self {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        Self::with_seconds(seconds)
    }

    fn with_seconds(seconds: u32) -> Self {
        static PROCESS_UNIQUE: OnceLock<[u8; 5]> = OnceLock::new();
        static COUNTER: OnceLock<AtomicU32> = OnceLock::new();
        let process = PROCESS_UNIQUE.get_or_init(|| {
            let mut bytes = [0u8; 5];
            rand::thread_rng().fill_bytes(&mut bytes);
            bytes
        });
        let counter = COUNTER
            .get_or_init(|| AtomicU32::new(rand::thread_rng().next_u32()))
            .fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        bytes[4..9].copy_from_slice(process);
        bytes[9..].copy_from_slice(&counter.to_be_bytes()[1..]);
        ObjectId(bytes)
    }

    pub fn bytes(&self) -> [u8; 12] {
        self.0
    }
}

impl Default for ObjectId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

impl FromStr for ObjectId {
    type Err = ParseObjectIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.as_bytes();
        // from_str_radix alone would accept a sign ("+8"), so check the digits first.
        if text.len() != 24 || !text.iter().all(u8::is_ascii_hexdigit) {
            return Err(ParseObjectIdError);
        }
        let mut bytes = [0u8; 12];
        for (i, pair) in text.chunks_exact(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| ParseObjectIdError)?;
            bytes[i] = u8::from_str_radix(hex, 16).map_err(|_| ParseObjectIdError)?;
        }
        Ok(ObjectId(bytes))
    }
}

impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_24_lowercase_hex_and_parses_back() {
        let id = ObjectId::new();
        let text = id.to_string();
        assert_eq!(text.len(), 24);
        assert!(text.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_eq!(text.parse::<ObjectId>(), Ok(id));
    }

    #[test]
    fn later_ids_sort_later() {
        let earlier = ObjectId::with_seconds(1_000);
        let later = ObjectId::with_seconds(1_001);
        assert!(earlier < later);
        assert!(earlier.to_string() < later.to_string());
        let a = ObjectId::new();
        let b = ObjectId::new();
        assert_ne!(a, b);
    }

    #[test]
    fn rejects_wrong_length_and_non_hex() {
        assert!("abc".parse::<ObjectId>().is_err());
        assert!("zzzzzzzzzzzzzzzzzzzzzzzz".parse::<ObjectId>().is_err());
        assert!("5890b188b1021d1d23a0081".parse::<ObjectId>().is_err());
        assert!("+890b188b1021d1d23a00815".parse::<ObjectId>().is_err());
        assert!("5890b188b1021d1d23a00815".parse::<ObjectId>().is_ok());
    }
}
