//! Durations in the file are text with a unit ("2s", "1m30s"); these serde adapters read and write them.

/// Serde adapter for optional durations written as text.
pub(super) mod optional_duration_text {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => super::duration_text::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::duration_text::deserialize(deserializer).map(Some)
    }
}

/// Serde adapter for durations written as text (`"2s"`, `"500ms"`, `"1m"`).
pub(super) mod duration_text {
    use std::time::Duration;

    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    use crate::util::{format_duration, parse_duration};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        let expected = "expected a duration such as \"2s\", \"500ms\" or \"1m\"";
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) => parse_duration(&text).ok_or_else(|| {
                D::Error::custom(format!("invalid duration \"{text}\": {expected}"))
            }),
            Raw::Number(number) => Err(D::Error::custom(format!(
                "invalid duration {number} (no unit): {expected}"
            ))),
        }
    }
}
