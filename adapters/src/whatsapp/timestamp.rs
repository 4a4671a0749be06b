//! Timestamps in Meta's payloads.

use serde::de::{self, Deserializer, Visitor};

/// Meta sends timestamps as decimal strings (`"1700000000"`); numbers are accepted too.
pub(crate) fn unix_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct UnixSeconds;

    impl Visitor<'_> for UnixSeconds {
        type Value = i64;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("seconds since the Unix epoch, as a string or a number")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<i64, E> {
            value
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(value), &self))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
            Ok(value)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
            i64::try_from(value)
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
        }
    }

    deserializer.deserialize_any(UnixSeconds)
}
