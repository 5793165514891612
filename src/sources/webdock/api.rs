//! The Webdock API's replies as they come over the wire (docs: ../shared/webdock-api-v1.md). Tolerant on
//! purpose: unknown fields are ignored, every field may be missing or null, numbers may come as text, the
//! spelling variants Webdock is known for (`secondaryIps` / `secondary_ips`, `lastChecked` / `lastchecked`) are
//! both accepted, and `disk.lastSamplings` may be one sample or a list. Units stay Webdock's here; they are
//! converted once, in [`super::normalise`].

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

/// A number that may come as a JSON number, as text, or not at all.
fn lenient_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite()))
}

/// A time as RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or Unix seconds; anything else is `None`.
fn lenient_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(parse_time(&value))
}

pub(crate) fn parse_time(value: &serde_json::Value) -> Option<DateTime<Utc>> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .and_then(|secs| DateTime::from_timestamp(secs, 0)),
        serde_json::Value::String(text) => {
            let text = text.trim();
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
                        .iter()
                        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
                        .map(|naive| naive.and_utc())
                })
                .or_else(|| {
                    text.parse::<i64>()
                        .ok()
                        .and_then(|secs| DateTime::from_timestamp(secs, 0))
                })
        }
        _ => None,
    }
}

/// Text that may come as a string, a number or null.
fn lenient_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A list of addresses given as strings or as objects with an `ip`/`address` field.
fn lenient_ips<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::String(s) => vec![serde_json::Value::String(s)],
        _ => Vec::new(),
    };
    Ok(items
        .into_iter()
        .filter_map(|item| match item {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Object(map) => ["ip", "ipv4", "address", "ipv6"]
                .iter()
                .find_map(|key| map.get(*key).and_then(|v| v.as_str()).map(str::to_owned)),
            _ => None,
        })
        .collect())
}

/// One `{amount, timestamp}` sample.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Sample {
    #[serde(deserialize_with = "lenient_number")]
    pub amount: Option<f64>,
    #[serde(deserialize_with = "lenient_time")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// A block that is null or malformed reads as empty, so one odd block does not hide the others.
fn block<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

/// A list of samples; a single object or null reads as a list too.
fn samples<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Sample>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        serde_json::Value::Object(_) => serde_json::from_value(value).into_iter().collect(),
        _ => Vec::new(),
    })
}

/// One sample where the API may send one object or (unconfirmed) a list: the latest is kept.
fn one_sample<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Sample>, D::Error> {
    let list = samples(deserializer)?;
    Ok(list.into_iter().max_by_key(|s| s.timestamp))
}

/// `{"id": 404, "message": "Server not found"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    #[serde(deserialize_with = "lenient_text")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Cpu {
    #[serde(deserialize_with = "lenient_number")]
    pub cores: Option<f64>,
    #[serde(deserialize_with = "lenient_number")]
    pub threads: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Price {
    #[serde(deserialize_with = "lenient_number")]
    pub amount: Option<f64>,
    #[serde(deserialize_with = "lenient_text")]
    pub currency: Option<String>,
}

/// A hardware profile: `ram` and `disk` in MiB.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub slug: String,
    #[serde(deserialize_with = "lenient_text")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_number")]
    pub ram: Option<f64>,
    #[serde(deserialize_with = "lenient_number")]
    pub disk: Option<f64>,
    #[serde(deserialize_with = "block")]
    pub cpu: Option<Cpu>,
    #[serde(deserialize_with = "block")]
    pub price: Option<Price>,
}

/// A server as `/servers` and `/servers/{slug}` describe it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Server {
    pub slug: String,
    #[serde(deserialize_with = "lenient_text")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub location: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub image: Option<String>,
    /// The profile's slug.
    #[serde(deserialize_with = "lenient_text")]
    pub profile: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub ipv4: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub ipv6: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub status: Option<String>,
    #[serde(rename = "webServer", deserialize_with = "lenient_text")]
    pub web_server: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub virtualization: Option<String>,
    /// Newer API versions inline the profile.
    #[serde(rename = "profileData", deserialize_with = "lenient_profile")]
    pub profile_data: Option<Profile>,
    #[serde(
        rename = "secondaryIps",
        alias = "secondary_ips",
        deserialize_with = "lenient_ips"
    )]
    pub secondary_ips: Vec<String>,
    #[serde(
        rename = "lastChecked",
        alias = "lastchecked",
        deserialize_with = "lenient_time"
    )]
    pub last_checked: Option<DateTime<Utc>>,
}

/// An inline profile that does not parse is treated as absent (the profile list is used instead).
fn lenient_profile<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Profile>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CpuNow {
    #[serde(rename = "latestUsageSampling", deserialize_with = "one_sample")]
    pub latest: Option<Sample>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MemoryNow {
    #[serde(rename = "latestUsageSampling", deserialize_with = "one_sample")]
    pub latest: Option<Sample>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DiskNow {
    #[serde(deserialize_with = "lenient_number")]
    pub allowed: Option<f64>,
    /// One sample despite the plural name.
    #[serde(
        rename = "lastSamplings",
        alias = "lastSampling",
        deserialize_with = "one_sample"
    )]
    pub last: Option<Sample>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NetworkNow {
    /// GiB this month.
    #[serde(deserialize_with = "lenient_number")]
    pub total: Option<f64>,
    /// GiB allowed per month.
    #[serde(deserialize_with = "lenient_number")]
    pub allowed: Option<f64>,
    #[serde(rename = "latestIngressSampling", deserialize_with = "one_sample")]
    pub ingress: Option<Sample>,
    #[serde(rename = "latestEgressSampling", deserialize_with = "one_sample")]
    pub egress: Option<Sample>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ProcessesNow {
    #[serde(rename = "latestProcessesSampling", deserialize_with = "one_sample")]
    pub latest: Option<Sample>,
}

/// `/servers/{slug}/metrics/now`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct InstantMetrics {
    #[serde(deserialize_with = "block")]
    pub cpu: CpuNow,
    #[serde(deserialize_with = "block")]
    pub memory: MemoryNow,
    #[serde(deserialize_with = "block")]
    pub disk: DiskNow,
    #[serde(deserialize_with = "block")]
    pub network: NetworkNow,
    #[serde(deserialize_with = "block")]
    pub processes: ProcessesNow,
    /// Unconfirmed block with levels ok|warn|crit; its shape is unknown, so it is read loosely.
    #[serde(rename = "resourceUsageStatus", alias = "resource_usage_status")]
    pub resource_usage_status: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct UsageSeries {
    #[serde(rename = "usageSamplings", deserialize_with = "samples")]
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DiskSeries {
    #[serde(deserialize_with = "lenient_number")]
    pub allowed: Option<f64>,
    #[serde(deserialize_with = "samples")]
    pub samplings: Vec<Sample>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NetworkSeries {
    #[serde(deserialize_with = "lenient_number")]
    pub total: Option<f64>,
    #[serde(deserialize_with = "lenient_number")]
    pub allowed: Option<f64>,
    #[serde(rename = "ingressSamplings", deserialize_with = "samples")]
    pub ingress: Vec<Sample>,
    #[serde(rename = "egressSamplings", deserialize_with = "samples")]
    pub egress: Vec<Sample>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ProcessSeries {
    #[serde(rename = "processesSamplings", deserialize_with = "samples")]
    pub samples: Vec<Sample>,
}

/// `/servers/{slug}/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct HistoricMetrics {
    #[serde(deserialize_with = "block")]
    pub cpu: UsageSeries,
    #[serde(deserialize_with = "block")]
    pub memory: UsageSeries,
    #[serde(deserialize_with = "block")]
    pub disk: DiskSeries,
    #[serde(deserialize_with = "block")]
    pub network: NetworkSeries,
    #[serde(deserialize_with = "block")]
    pub processes: ProcessSeries,
}

/// Flattens the loose `resourceUsageStatus` block into resource -> level (`ok`, `warn`, `crit`).
pub fn usage_levels(
    value: Option<&serde_json::Value>,
) -> std::collections::BTreeMap<String, String> {
    let mut levels = std::collections::BTreeMap::new();
    match value {
        Some(serde_json::Value::Object(map)) => {
            for (key, item) in map {
                let level = match item {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Object(inner) => ["level", "status", "state"]
                        .iter()
                        .find_map(|k| inner.get(*k).and_then(|v| v.as_str()).map(str::to_owned)),
                    _ => None,
                };
                if let Some(level) = level {
                    levels.insert(key.clone(), level.to_ascii_lowercase());
                }
            }
        }
        Some(serde_json::Value::String(s)) => {
            levels.insert("overall".to_owned(), s.to_ascii_lowercase());
        }
        _ => {}
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_accepts_both_spellings_and_ignores_unknown_fields() {
        let a: Server = serde_json::from_str(
            r#"{"slug":"web1","name":"Web","status":"running","secondaryIps":["10.0.0.2"],
                "lastChecked":"2026-11-23 08:00:00","brandNewField":{"x":1},"profileData":{"slug":"p","ram":2048}}"#,
        )
        .expect("parses");
        let b: Server = serde_json::from_str(
            r#"{"slug":"web1","secondary_ips":[{"ip":"10.0.0.2"}],"lastchecked":1795000000}"#,
        )
        .expect("parses");
        assert_eq!(a.secondary_ips, vec!["10.0.0.2"]);
        assert_eq!(b.secondary_ips, vec!["10.0.0.2"]);
        assert!(a.last_checked.is_some() && b.last_checked.is_some());
        assert_eq!(a.profile_data.and_then(|p| p.ram), Some(2048.0));
    }

    #[test]
    fn disk_sampling_is_one_object_or_a_list_and_numbers_may_be_text() {
        let one: InstantMetrics = serde_json::from_str(
            r#"{"disk":{"allowed":"51200","lastSamplings":{"amount":1024,"timestamp":"2026-11-23T08:00:00Z"}}}"#,
        )
        .expect("parses");
        assert_eq!(one.disk.allowed, Some(51200.0));
        assert_eq!(one.disk.last.and_then(|s| s.amount), Some(1024.0));
        let many: InstantMetrics = serde_json::from_str(
            r#"{"disk":{"lastSamplings":[{"amount":1,"timestamp":1795000000},{"amount":2,"timestamp":1795000600}]}}"#,
        )
        .expect("parses");
        assert_eq!(many.disk.last.and_then(|s| s.amount), Some(2.0));
    }

    #[test]
    fn nulls_and_missing_blocks_are_absent_values() {
        let metrics: InstantMetrics = serde_json::from_str(
            r#"{"cpu":null,"memory":{"latestUsageSampling":null},"disk":[1]}"#,
        )
        .expect("null and odd blocks still parse");
        assert_eq!(metrics.memory.latest, None);
        assert_eq!(usage_levels(None).len(), 0);
        let levels = usage_levels(Some(
            &serde_json::json!({"cpu":"OK","memory":{"level":"crit"}}),
        ));
        assert_eq!(levels.get("memory").map(String::as_str), Some("crit"));
        assert_eq!(levels.get("cpu").map(String::as_str), Some("ok"));
    }
}
