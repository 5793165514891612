//! Forecast alerts: the projected hours until a limit is reached, judged like any figure (hold, cooldown,
//! acknowledgement) with lower being worse: a level is raised once the projection stays within its horizon for
//! the hold, and clears once it stays beyond the warning horizon plus the hysteresis, or the trend turns (no
//! projection at all), for as long.

use super::thresholds::Texts;
use super::*;
use crate::model::{Forecast, ForecastState};
use crate::util::format_duration;

const HOUR_S: f64 = 3600.0;

impl Evaluator {
    /// Judges one round of forecasts. A forecast alert whose target has no forecast in the round any more (the
    /// container is gone, the kind was turned off) is over.
    pub fn forecasts(&mut self, round: &[Forecast], at: DateTime<Utc>) -> Vec<AlertTransition> {
        let settings = self.rules.forecasts().clone();
        let mut changes = Vec::new();
        for forecast in round {
            let rule = settings.rule(forecast.kind);
            let metric_name = forecast.kind.metric();
            if !rule.enabled {
                changes.extend(self.drop_metric(
                    &forecast.target,
                    metric_name,
                    forecast.detail.clone(),
                    at,
                ));
                continue;
            }
            let value = match forecast.state {
                ForecastState::AtLimit => 0.0,
                ForecastState::Rising => forecast.hours_left.unwrap_or(f64::INFINITY),
                ForecastState::Steady | ForecastState::Unsteady | ForecastState::Learning => {
                    f64::INFINITY
                }
            };
            let threshold = Effective {
                warning: rule.warning.as_secs_f64() / HOUR_S,
                critical: rule.critical.as_secs_f64() / HOUR_S,
                hold: rule.hold.unwrap_or(self.settings.hold),
                unit: "h",
                lower_is_worse: true,
            };
            let subject = forecast_subject(forecast);
            let texts = Texts {
                now: Some(format!("{subject}: {}", forecast.summary)),
                cleared: Some(match forecast.state {
                    ForecastState::Rising => format!(
                        "{subject}: {} (beyond the warning horizon of {})",
                        forecast.summary,
                        format_duration(rule.warning)
                    ),
                    _ => format!("{subject}: the trend turned ({})", forecast.summary),
                }),
            };
            changes.extend(self.observe_with(
                Reading {
                    target: &forecast.target,
                    metric: metric_name,
                    detail: forecast.detail.clone(),
                    value,
                    threshold,
                    top: Vec::new(),
                    at,
                },
                texts,
            ));
        }
        let gone: Vec<Key> = self
            .active
            .keys()
            .filter(|key| metric::is_forecast(&key.metric))
            .filter(|key| {
                !round.iter().any(|forecast| {
                    forecast.kind.metric() == key.metric
                        && forecast.target.kind == key.kind
                        && forecast.target.host == key.host
                        && forecast.target.id == key.id
                        && forecast.detail == key.detail
                })
            })
            .cloned()
            .collect();
        for key in gone {
            self.tracks.remove(&key);
            let label = self
                .active
                .get(&key)
                .map(|active| active.alert.target.label())
                .unwrap_or_default();
            changes.extend(self.close(
                &key,
                format!(
                    "{} of {label}: no forecast any more",
                    metric_label(&key.metric, key.detail.as_deref())
                ),
                at,
            ));
        }
        changes
    }
}

/// "Disk / of local", "Memory of db on local", "Monthly traffic of shop".
fn forecast_subject(forecast: &Forecast) -> String {
    let what = match (forecast.kind, forecast.detail.as_deref()) {
        (crate::model::ForecastKind::Disk, Some(mount)) => format!("Disk {mount}"),
        (crate::model::ForecastKind::Disk, None) => "Disk".to_owned(),
        (crate::model::ForecastKind::Memory, _) => "Memory".to_owned(),
        (crate::model::ForecastKind::NetworkQuota, _) => "Monthly traffic".to_owned(),
    };
    format!("{what} of {}", forecast.target.label())
}
