//! The settings the window's Settings view sends (as JSON), read with the config file's rules and messages. The
//! desktop's `validate_settings` / `save_settings` commands and the API's `/api/v1/settings` routes both use
//! [`from_json`], so a bad value gets the same answer, naming the same key, wherever it was typed.

use std::path::Path;

use super::Config;
use crate::error::ConfigError;

/// Why settings were refused: the key at fault (`logs.ring_lines`, when known) and the config file's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The window's settings as a [`Config`], validated as if they had been read from the file at `path`.
pub fn from_json(value: serde_json::Value, path: &Path) -> Result<Config, Refusal> {
    let config: Config = serde_path_to_error::deserialize(value).map_err(|err| {
        let key = err.path().to_string();
        let key = (key != ".").then_some(key);
        let message = ConfigError::Parse {
            path: path.to_path_buf(),
            message: match &key {
                Some(key) => format!("`{key}`: {}", err.inner()),
                None => err.inner().to_string(),
            },
        };
        Refusal {
            key,
            message: message.to_string(),
        }
    })?;
    config.validate(path).map_err(|err| Refusal {
        key: match &err {
            ConfigError::Invalid { key, .. } => Some(key.clone()),
            _ => None,
        },
        message: err.to_string(),
    })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key_like_the_config_file() {
        let path = Path::new("/home/me/.config/docktray/config.toml");
        let mut value = serde_json::to_value(Config::default()).expect("serialises");
        value["interval"] = "fast".into();
        let refusal = from_json(value, path).unwrap_err();
        assert_eq!(refusal.key.as_deref(), Some("interval"));
        assert!(refusal.message.contains("config.toml"), "{refusal}");
        assert!(
            refusal.message.contains("invalid duration \"fast\""),
            "{refusal}"
        );

        let mut value = serde_json::to_value(Config::default()).expect("serialises");
        value["logs"]["ring_lines"] = 0.into();
        let refusal = from_json(value, path).unwrap_err();
        assert_eq!(refusal.key.as_deref(), Some("logs.ring_lines"));
        assert_eq!(
            refusal.message,
            Config::parse("[logs]\nring_lines = 0", path)
                .unwrap_err()
                .to_string()
        );
        let fine = serde_json::to_value(Config::default()).expect("serialises");
        assert!(from_json(fine, path).is_ok());
    }
}
