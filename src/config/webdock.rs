//! The `[[webdock]]` accounts: which servers of each are watched, how often, and where its token comes from.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::durations::duration_text;

/// The Webdock API everyone uses; `base_url` changes it (a proxy, or a local server in tests).
pub const WEBDOCK_API: &str = "https://api.webdock.io/v1";

/// One Webdock account (`[[webdock]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct WebdockAccount {
    /// What the account is called here, e.g. "work": names the keychain entry and the token variables.
    pub name: String,
    /// `"all"` or a list of server slugs, e.g. `["web1", "db1"]`.
    #[serde(default)]
    #[ts(type = "\"all\" | Array<string>")]
    pub servers: ServerSelection,
    /// How often the servers' figures are read (default `60s`). Webdock refreshes them every few minutes and
    /// answers from a 30 s cache in between, so shorter intervals cost nothing but show nothing newer.
    #[serde(default = "default_webdock_interval", with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub interval: Duration,
    /// API base URL (default `https://api.webdock.io/v1`): for a proxy, or a local server in tests.
    #[serde(default = "default_webdock_url")]
    pub base_url: String,
    /// Time allowed for one request (default `15s`).
    #[serde(default = "default_webdock_timeout", with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// An environment variable holding this account's token (or `<VARIABLE>_FILE` naming a file with it), read
    /// instead of `DOCKTRAY_WEBDOCK_TOKEN_<NAME>`; the Dockpeek variables (`WEBDOCK_API_TOKEN_<n>`) set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub token_variable: Option<String>,
}

/// Which servers of an account are watched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerSelection {
    #[default]
    All,
    Slugs(Vec<String>),
}

impl ServerSelection {
    pub fn includes(&self, slug: &str) -> bool {
        match self {
            Self::All => true,
            Self::Slugs(slugs) => slugs.iter().any(|s| s == slug),
        }
    }
}

impl Serialize for ServerSelection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::All => serializer.serialize_str("all"),
            Self::Slugs(slugs) => slugs.serialize(serializer),
        }
    }
}

impl JsonSchema for ServerSelection {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ServerSelection".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "\"all\" or a list of server slugs, such as [\"web1\", \"db1\"]",
            "anyOf": [
                { "type": "string", "enum": ["all"] },
                { "type": "array", "items": { "type": "string" } }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for ServerSelection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            List(Vec<String>),
        }
        let expected = "expected \"all\" or a list of server slugs such as [\"web1\", \"db1\"]";
        match Raw::deserialize(deserializer) {
            Ok(Raw::Text(text)) if text.trim().eq_ignore_ascii_case("all") => Ok(Self::All),
            Ok(Raw::Text(text)) => Err(serde::de::Error::custom(format!(
                "invalid servers \"{text}\": {expected}"
            ))),
            Ok(Raw::List(slugs)) => Ok(Self::Slugs(slugs)),
            Err(_) => Err(serde::de::Error::custom(format!(
                "invalid servers: {expected}"
            ))),
        }
    }
}

/// `DOCKTRAY_WEBDOCK_TOKEN_<NAME>`: the account name upper-cased, anything but letters and digits as `_`.
pub fn webdock_token_env(account: &str) -> String {
    crate::util::env_var_name("DOCKTRAY_WEBDOCK_TOKEN_", account)
}

fn default_webdock_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_webdock_timeout() -> Duration {
    Duration::from_secs(15)
}

fn default_webdock_url() -> String {
    WEBDOCK_API.to_owned()
}
