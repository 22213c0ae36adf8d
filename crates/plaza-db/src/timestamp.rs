use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A point in time with millisecond precision, stored as epoch milliseconds.
///
/// Both backends store it as a 64-bit integer: exact, portable, and ordered. On the wire
/// it is ISO-8601 UTC with milliseconds (`2017-09-05T20:42:41.043Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a time is ISO-8601 (2017-09-05T20:42:41.043Z) or epoch milliseconds")]
pub struct ParseTimestampError;

impl Timestamp {
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Timestamp((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This time moved forward (or back, when negative) by `millis`.
    pub const fn add_millis(self, millis: i64) -> Self {
        Timestamp(self.0.saturating_add(millis))
    }

    /// Parses ISO-8601 / RFC 3339 text or a string of epoch milliseconds.
    pub fn parse(text: &str) -> Result<Self, ParseTimestampError> {
        let text = text.trim();
        if let Ok(millis) = text.parse::<i64>() {
            return Ok(Timestamp(millis));
        }
        let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| ParseTimestampError)?;
        Ok(Timestamp((parsed.unix_timestamp_nanos() / 1_000_000) as i64))
    }

    /// The ISO-8601 UTC form with exactly three fractional digits.
    pub fn to_iso(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(at) => {
                let at = at.to_offset(UtcOffset::UTC);
                format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                    at.year(),
                    u8::from(at.month()),
                    at.day(),
                    at.hour(),
                    at.minute(),
                    at.second(),
                    at.millisecond()
                )
            }
            // Out of the representable range: only reachable through corrupt data.
            Err(_) => String::from("1970-01-01T00:00:00.000Z"),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_iso())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_iso_with_milliseconds() {
        let at = Timestamp::from_millis(1_504_644_161_043);
        assert_eq!(at.to_iso(), "2017-09-05T20:42:41.043Z");
        assert_eq!(Timestamp::from_millis(0).to_iso(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_iso_and_epoch_millis() {
        let at = Timestamp::parse("2017-09-05T20:42:41.043Z").unwrap();
        assert_eq!(at.millis(), 1_504_644_161_043);
        assert_eq!(Timestamp::parse("1504644161043").unwrap(), at);
        assert_eq!(Timestamp::parse("2017-09-05T22:42:41.043+02:00").unwrap(), at);
        assert!(Timestamp::parse("yesterday").is_err());
    }
}
