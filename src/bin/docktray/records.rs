//! `docktray alerts`, `docktray history` and `docktray export`: reading what the history store recorded.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use chrono::{DateTime, SecondsFormat, Utc};
use docktray::alerts::Level;
use docktray::history::{AlertQuery, ExportFormat, History, Resolution, SeriesQuery, SeriesTarget};
use docktray::Config;

use crate::{usage, Failure};
use docktray::monitor::history_path;

/// Opens the history read-mostly; a missing database is explained rather than created empty.
pub fn open(config: &Config) -> Result<History, Failure> {
    let path = history_path(config).map_err(|err| Failure::from(anyhow!(err)))?;
    if !path.exists() {
        return Err(anyhow!(
            "no history at {} yet: `docktray watch` (or the desktop app) records it while it runs",
            path.display()
        )
        .into());
    }
    History::open(&path, &config.history)
        .with_context(|| format!("opening the history at {}", path.display()))
        .map_err(Failure::from)
}

pub fn alerts(
    config: &Config,
    active: bool,
    level: Option<String>,
    since: Option<DateTime<Utc>>,
    json: bool,
) -> Result<(), Failure> {
    let level = level
        .map(|text| {
            Level::parse(&text).ok_or_else(|| {
                usage(anyhow!(
                    "--level '{text}' is not a level: use info, warning or critical"
                ))
            })
        })
        .transpose()?;
    let history = open(config)?;
    let alerts = history
        .alerts(&AlertQuery {
            level,
            since,
            until: None,
            active_only: active,
            limit: None,
        })
        .context("reading alerts")?;
    let mut out = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&alerts).context("formatting JSON")?;
        writeln!(out, "{text}").context("writing to stdout")?;
        return Ok(());
    }
    if alerts.is_empty() {
        writeln!(out, "no alerts{}", if active { " active" } else { "" })
            .context("writing to stdout")?;
        return Ok(());
    }
    for alert in &alerts {
        let state = match (alert.resolved_at, alert.acknowledged) {
            (Some(at), _) => format!("resolved {}", at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            (None, true) => "active, acknowledged".to_owned(),
            (None, false) => "active".to_owned(),
        };
        writeln!(
            out,
            "{}  {:<8}  {}  [{}]  id {}",
            alert.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            alert.level.as_str().to_uppercase(),
            crate::render::clean(&alert.message),
            state,
            alert.id
        )
        .context("writing to stdout")?;
    }
    Ok(())
}

pub struct HistoryArgs {
    pub target: String,
    pub metric: String,
    pub since: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub json: bool,
    pub csv: bool,
    pub resolution: Resolution,
    pub limit: Option<usize>,
}

/// `local` or `host:NAME` is a host, `service:NAME` a compose service, anything else a container.
fn parse_target(text: &str, config: &Config) -> SeriesTarget {
    if let Some(name) = text.strip_prefix("host:") {
        return SeriesTarget::Host {
            name: name.to_owned(),
        };
    }
    if let Some(service) = text.strip_prefix("service:") {
        return SeriesTarget::Service {
            host: None,
            service: service.to_owned(),
        };
    }
    if text == docktray::model::LOCAL_HOST || config.hosts.iter().any(|h| h.name == text) {
        return SeriesTarget::Host {
            name: text.to_owned(),
        };
    }
    SeriesTarget::Container {
        host: None,
        id_or_name: text.to_owned(),
    }
}

pub fn history(config: &Config, args: HistoryArgs) -> Result<(), Failure> {
    let history = open(config)?;
    let series = history
        .query(&SeriesQuery {
            target: parse_target(&args.target, config),
            metric: args.metric.clone(),
            since: args.since,
            until: args.until.unwrap_or_else(Utc::now),
            limit: args.limit,
            resolution: args.resolution,
        })
        .map_err(|err| usage(anyhow!(err)))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&series).context("formatting JSON")?;
        writeln!(out, "{text}").context("writing to stdout")?;
    } else if args.csv {
        writeln!(out, "at,min,avg,max").context("writing to stdout")?;
        for point in &series.points {
            writeln!(
                out,
                "{},{},{},{}",
                point.at.to_rfc3339_opts(SecondsFormat::Millis, true),
                point.min,
                point.avg,
                point.max
            )
            .context("writing to stdout")?;
        }
    } else {
        if series.points.is_empty() {
            writeln!(
                out,
                "no samples of {} for {} in that range",
                args.metric, args.target
            )
            .context("writing to stdout")?;
        }
        for point in &series.points {
            writeln!(
                out,
                "{}  min {:>10.2}  avg {:>10.2}  max {:>10.2}",
                point.at.to_rfc3339_opts(SecondsFormat::Secs, true),
                point.min,
                point.avg,
                point.max
            )
            .context("writing to stdout")?;
        }
    }
    Ok(())
}

pub fn export(
    config: &Config,
    since: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    format: &str,
    output: Option<PathBuf>,
) -> Result<(), Failure> {
    let format = match format {
        "jsonl" | "json" | "ndjson" => ExportFormat::JsonLines,
        "csv" => ExportFormat::Csv,
        other => {
            return Err(usage(anyhow!(
                "--format '{other}' is not supported: use jsonl or csv"
            )))
        }
    };
    let history = open(config)?;
    let until = until.unwrap_or_else(Utc::now);
    let rows = match output {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            let rows = history
                .export(since, until, format, &mut writer)
                .context("exporting")?;
            writer
                .flush()
                .with_context(|| format!("writing {}", path.display()))?;
            rows
        }
        None => {
            let mut out = std::io::stdout().lock();
            history
                .export(since, until, format, &mut out)
                .context("exporting")?
        }
    };
    eprintln!("docktray: exported {rows} rows");
    Ok(())
}
