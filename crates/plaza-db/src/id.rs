use std::fmt;
use std::str::FromStr;

use rand::RngCore;

/// A 12-byte identifier printed as 24 lower-case hex characters.
///
/// Spaces clients expect MongoDB-style ids, so the first 4 bytes are seconds since the
/// epoch. The other 8 are fresh from the operating system's CSPRNG for every id: a space
/// id is a capability (the join link is the id), so knowing one id must tell nothing
/// about any other. Ids therefore sort by second only; lists that need creation order
/// within a second order by their own time column first (see ARCHITECTURE.md,
/// "Invariants"). Ids made by earlier versions (a per-process middle and a counter)
/// parse and compare as before.
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
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        rand::rngs::OsRng.fill_bytes(&mut bytes[4..]);
        ObjectId(bytes)
    }

    /// The seconds since the epoch the id was made at.
    pub fn seconds(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
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
    fn later_seconds_sort_later() {
        let earlier = ObjectId::with_seconds(1_000);
        let later = ObjectId::with_seconds(1_001);
        assert!(earlier < later);
        assert!(earlier.to_string() < later.to_string());
        assert_eq!(later.seconds(), 1_001);
    }

    fn random_part(id: &ObjectId) -> u64 {
        u64::from_be_bytes(id.bytes()[4..].try_into().unwrap())
    }

    #[test]
    fn ids_made_together_are_unique_and_unrelated() {
        // Made within one second, as ids of spaces created around a guest's own are.
        let ids: Vec<ObjectId> =
            (0..20_000).map(|_| ObjectId::with_seconds(1_700_000_000)).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "every id is unique");
        let mut differing_bits = 0u64;
        let mut set_bits = [0u32; 64];
        for pair in ids.windows(2) {
            let (a, b) = (random_part(&pair[0]), random_part(&pair[1]));
            // The old generator's neighbours shared their middle and differed by one.
            assert_ne!(a >> 24, b >> 24, "neighbours share no middle");
            assert_ne!(b.wrapping_sub(a), 1, "a neighbour is not the next counter value");
            differing_bits += u64::from((a ^ b).count_ones());
        }
        for id in &ids {
            let part = random_part(id);
            for (bit, count) in set_bits.iter_mut().enumerate() {
                *count += u32::from(part >> bit & 1 == 1);
            }
        }
        // Unrelated 64-bit values differ in 32 bits on average (sd over 20 000 pairs ≈ 0.03).
        let mean = differing_bits as f64 / (ids.len() - 1) as f64;
        assert!((31.0..=33.0).contains(&mean), "neighbours differ in {mean} bits on average");
        // Each bit is set about half the time (sd ≈ 0.35 % of 20 000).
        for (bit, count) in set_bits.iter().enumerate() {
            let share = f64::from(*count) / ids.len() as f64;
            assert!((0.46..=0.54).contains(&share), "bit {bit} is set in {share} of ids");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_two_ids_in_a_batch_share_their_random_part(count in 2usize..200, seconds in proptest::prelude::any::<u32>()) {
            let ids: Vec<ObjectId> = (0..count).map(|_| ObjectId::with_seconds(seconds)).collect();
            let parts: std::collections::HashSet<u64> = ids.iter().map(random_part).collect();
            proptest::prop_assert_eq!(parts.len(), count);
            proptest::prop_assert!(ids.iter().all(|id| id.seconds() == seconds));
        }
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
