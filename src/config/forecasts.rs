//! `[forecasts]`: alerts that see ahead. A robust line is fitted to each figure's recorded history (the last
//! `window`, after the last restart or reset) and the projected time until it reaches its limit is judged
//! against two horizons, with the hold, hysteresis and cooldown of every alert.

use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::durations::{duration_text, optional_duration_text};
use crate::error::ConfigError;
use crate::model::ForecastKind;
use crate::util::format_duration;

/// Forecast settings: how often trends are fitted, and one table per kind of forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastSettings {
    /// How often the trends are fitted again from the history (default `5m`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub every: Duration,
    /// Host and VPS filesystems filling up (each mount point).
    pub disk: ForecastRule,
    /// A container's memory growing towards its limit (or the host's memory when it has none).
    pub memory: ForecastRule,
    /// A Webdock server's traffic this month growing towards its allowance.
    pub network_quota: ForecastRule,
}

/// When one kind of forecast raises an alert, and how much evidence it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, JsonSchema)]
#[ts(export)]
#[serde(deny_unknown_fields)]
pub struct ForecastRule {
    /// Whether this kind of forecast is made and judged (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A warning when the limit is projected to be reached within this (such as `"7d"`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub warning: Duration,
    /// Critical when it is projected within this (shorter than `warning`).
    #[serde(with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub critical: Duration,
    /// How much history the line is fitted to (default `24h`): one-minute rollups, or every sample for a
    /// window of 2 h or less.
    #[serde(default = "default_window", with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub window: Duration,
    /// The least fit quality (R², 0 to 1) a line needs to be believed (default 0.6): scattered points give none.
    #[serde(default = "default_min_fit")]
    pub min_fit: f64,
    /// The least history since the last restart or reset before anything is projected (default `2h`).
    #[serde(default = "default_min_data", with = "duration_text")]
    #[ts(as = "String")]
    #[schemars(with = "String")]
    pub min_data: Duration,
    /// How long a projection must stay within a horizon to be raised, and outside it to clear; `alerts.hold`
    /// when absent.
    #[serde(
        default,
        with = "optional_duration_text",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(as = "Option<String>", optional)]
    #[schemars(with = "Option<String>")]
    pub hold: Option<Duration>,
}

fn yes() -> bool {
    true
}

fn default_window() -> Duration {
    Duration::from_secs(24 * 3600)
}

fn default_min_fit() -> f64 {
    0.6
}

fn default_min_data() -> Duration {
    Duration::from_secs(2 * 3600)
}

const DAY: u64 = 86_400;

fn rule(warning_s: u64, critical_s: u64) -> ForecastRule {
    ForecastRule {
        enabled: true,
        warning: Duration::from_secs(warning_s),
        critical: Duration::from_secs(critical_s),
        window: default_window(),
        min_fit: default_min_fit(),
        min_data: default_min_data(),
        hold: None,
    }
}

impl Default for ForecastSettings {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(300),
            disk: rule(7 * DAY, DAY),
            memory: rule(DAY, 2 * 3600),
            network_quota: rule(7 * DAY, 2 * DAY),
        }
    }
}

impl ForecastSettings {
    /// The rule of one kind of forecast.
    pub fn rule(&self, kind: ForecastKind) -> &ForecastRule {
        match kind {
            ForecastKind::Disk => &self.disk,
            ForecastKind::Memory => &self.memory,
            ForecastKind::NetworkQuota => &self.network_quota,
        }
    }

    pub(super) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, value: String, expected: &str| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            value,
            expected: expected.to_owned(),
        };
        let shown = |d: Duration| format!("\"{}\"", format_duration(d));
        if self.every < Duration::from_secs(1) || self.every > Duration::from_secs(3600) {
            return Err(invalid(
                "forecasts.every".to_owned(),
                shown(self.every),
                "a duration between \"1s\" and \"1h\", such as \"5m\"",
            ));
        }
        for kind in ForecastKind::ALL {
            let rule = self.rule(kind);
            let key = |field: &str| format!("forecasts.{}.{field}", kind.config_key());
            if rule.critical.is_zero() || rule.critical > Duration::from_secs(365 * DAY) {
                return Err(invalid(
                    key("critical"),
                    shown(rule.critical),
                    "a duration above zero and at most \"8760h\" (a year), such as \"1d\"",
                ));
            }
            if rule.warning <= rule.critical || rule.warning > Duration::from_secs(365 * DAY) {
                return Err(invalid(
                    key("warning"),
                    shown(rule.warning),
                    &format!(
                        "a duration longer than critical ({}) and at most a year, such as \"7d\"",
                        format_duration(rule.critical)
                    ),
                ));
            }
            if rule.window < Duration::from_secs(10) || rule.window > Duration::from_secs(30 * DAY)
            {
                return Err(invalid(
                    key("window"),
                    shown(rule.window),
                    "a duration between \"10s\" and \"30d\", such as \"24h\" (at most the history's \
                     rollup_retention is recorded)",
                ));
            }
            if !(0.0..=1.0).contains(&rule.min_fit) || !rule.min_fit.is_finite() {
                return Err(invalid(
                    key("min_fit"),
                    rule.min_fit.to_string(),
                    "a fit quality (R²) from 0 to 1, such as 0.6",
                ));
            }
            if rule.min_data.is_zero() || rule.min_data > rule.window {
                return Err(invalid(
                    key("min_data"),
                    shown(rule.min_data),
                    &format!(
                        "a duration above zero and at most the window ({}), such as \"2h\"",
                        format_duration(rule.window)
                    ),
                ));
            }
            if rule
                .hold
                .is_some_and(|hold| hold > Duration::from_secs(DAY))
            {
                return Err(invalid(
                    key("hold"),
                    rule.hold.map(shown).unwrap_or_default(),
                    "a duration up to \"24h\", such as \"10m\"",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, crate::error::ConfigError> {
        Config::parse(text, std::path::Path::new("/tmp/config.toml"))
    }

    #[test]
    fn defaults_and_a_changed_rule() {
        let config = parse("[forecasts]\nevery = \"1m\"\n[forecasts.memory]\nwarning = \"12h\"\ncritical = \"1h\"\nwindow = \"2h\"\n")
            .expect("valid");
        assert_eq!(config.forecasts.every.as_secs(), 60);
        assert_eq!(config.forecasts.memory.warning.as_secs(), 12 * 3600);
        assert_eq!(config.forecasts.memory.min_fit, 0.6);
        assert_eq!(config.forecasts.disk.warning.as_secs(), 7 * 86400);
    }

    #[test]
    fn bad_values_name_the_key() {
        let message = parse("[forecasts.disk]\nwarning = \"1h\"\ncritical = \"2h\"\n")
            .unwrap_err()
            .to_string();
        assert!(message.contains("forecasts.disk.warning"), "{message}");
        let message =
            parse("[forecasts.memory]\nwarning = \"1d\"\ncritical = \"1h\"\nmin_fit = 1.5\n")
                .unwrap_err()
                .to_string();
        assert!(message.contains("forecasts.memory.min_fit"), "{message}");
        let message = parse(
            "[forecasts.memory]\nwarning = \"1d\"\ncritical = \"1h\"\nwindow = \"1h\"\nmin_data = \"2h\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(message.contains("forecasts.memory.min_data"), "{message}");
    }
}
