//! `docktray events`: the timeline the history keeps (engine events and audit entries), filtered, as text or
//! JSON lines; `-f` follows it. While following, this command also watches the engines itself (and stores
//! what they report, as a running desktop app or `docktray watch` would; nothing is stored twice), so it
//! follows whether or not one of those runs.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use docktray::history::{History, TimelineQuery};
use docktray::model::TimelineRow;
use docktray::{Config, Engine, Update};

use crate::render::clean;
use crate::{parse_since, usage, Failure};

/// How often `-f` looks for new rows in the history (the recorder commits every 2 s).
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Start of the range: a duration ago (`15m`, `24h`, `7d`), RFC 3339 or Unix seconds (default: 24h ago,
    /// or now with -f).
    #[arg(long, value_name = "T", value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
    /// End of the range (default: now).
    #[arg(long, value_name = "T", value_parser = parse_since, conflicts_with = "follow")]
    until: Option<DateTime<Utc>>,
    /// Only this host (`local`, or a remote host's name).
    #[arg(long, value_name = "H")]
    host: Option<String>,
    /// Only this container (name, id or id prefix).
    #[arg(long, value_name = "NAME")]
    container: Option<String>,
    /// Only this kind: die, oom, kill, start, restart, health_status, destroy, image_pull, volume_create...;
    /// a scope (container, image, volume, network) for all its kinds; audit for actions.
    #[arg(long, value_name = "K")]
    kind: Option<String>,
    /// Only the audit entries: actions taken through Docktray (window, CLI, API), with how they ended.
    #[arg(long)]
    audit: bool,
    /// Only rows containing these words (names, kinds, codes, errors).
    #[arg(long, value_name = "TEXT")]
    grep: Option<String>,
    /// At most this many rows (the newest).
    #[arg(long)]
    limit: Option<usize>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// Keep printing new rows as they come (Ctrl-C to stop).
    #[arg(short = 'f', long = "follow")]
    follow: bool,
}

pub async fn run(config: Config, args: EventsArgs) -> Result<(), Failure> {
    let history = Arc::new(open(&config, args.follow)?);
    let default_since = if args.follow {
        Utc::now()
    } else {
        Utc::now() - chrono::TimeDelta::hours(24)
    };
    let mut query = TimelineQuery {
        since: Some(args.since.unwrap_or(default_since)),
        until: args.until,
        host: args.host.clone(),
        container: args.container.clone(),
        kind: args.kind.clone(),
        text: args.grep.clone(),
        audit_only: args.audit,
        limit: args.limit,
        after: None,
    };
    if let (Some(since), Some(until)) = (query.since, query.until) {
        if since >= until {
            return Err(usage(anyhow!(
                "--since must be before --until (got {} and {})",
                since.to_rfc3339(),
                until.to_rfc3339()
            )));
        }
    }
    let page = history.timeline(&query).context("reading the timeline")?;
    print(&page.rows, args.json)?;
    if !args.follow {
        if page.rows.is_empty() && !args.json {
            eprintln!("docktray: nothing in the timeline for this range and these filters");
        }
        return Ok(());
    }
    // Following: watch the engines and store what they report, then print each new stored row.
    let resume = history.resume_points().unwrap_or_default();
    let engine = Engine::start_resuming(config, resume);
    let recorder = tokio::spawn(record_timeline(history.clone(), engine.subscribe()));
    query.limit = None;
    query.after = Some(page.next);
    let outcome = loop {
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = tokio::signal::ctrl_c() => break Ok(()),
        }
        match history.timeline(&query) {
            Ok(page) => {
                if let Err(err) = print(&page.rows, args.json) {
                    break Err(err);
                }
                query.after = Some(page.next);
            }
            Err(err) => break Err(anyhow!(err).context("reading the timeline").into()),
        }
    };
    recorder.abort();
    engine.shutdown().await;
    if let Err(err) = history.flush() {
        tracing::warn!(%err, "the last events seen were not stored");
    }
    outcome
}

/// Opens the history; when following, it is created if missing (this command records too).
fn open(config: &Config, follow: bool) -> Result<History, Failure> {
    if !follow {
        return crate::records::open(config);
    }
    if !config.history.enabled {
        return Err(anyhow!(
            "the history is turned off (history.enabled = false): the timeline is kept there"
        )
        .into());
    }
    let path =
        docktray::monitor::history_path(config).map_err(|err| Failure::from(anyhow!(err)))?;
    History::open(&path, &config.history)
        .with_context(|| format!("opening the history at {}", path.display()))
        .map_err(Failure::from)
}

/// Stores the engines' events while following (the history ignores those a running recorder stored too).
async fn record_timeline(
    history: Arc<History>,
    mut updates: tokio::sync::broadcast::Receiver<Update>,
) {
    loop {
        match updates.recv().await {
            Ok(Update::Timeline(events)) => history.record_events(&events),
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

fn print(rows: &[TimelineRow], json: bool) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    for row in rows {
        if json {
            docktray::history::write_timeline(
                std::slice::from_ref(row),
                docktray::history::ExportFormat::JsonLines,
                &mut out,
            )
            .context("writing to stdout")?;
        } else {
            writeln!(out, "{}", line(row)).context("writing to stdout")?;
        }
    }
    out.flush().context("writing to stdout")?;
    Ok(())
}

/// `TIME  HOST  NAME  KIND  DETAIL`, untrusted text cleaned of control characters.
pub fn line(row: &TimelineRow) -> String {
    let name = row
        .container
        .as_deref()
        .or(row.object.as_deref())
        .unwrap_or("-");
    format!(
        "{}  {:<10}  {:<24}  {:<14}  {}",
        row.time.to_rfc3339_opts(SecondsFormat::Millis, true),
        clean(&row.host),
        clean(name),
        clean(&row.kind),
        clean(&detail(row))
    )
}

/// What matters about a row beyond its kind: exit code and OOM, signal, health, or who acted and how it ended.
pub fn detail(row: &TimelineRow) -> String {
    if row.is_audit() {
        let who = match (&row.source, &row.actor) {
            (Some(source), Some(actor)) => format!("{source} ({actor})"),
            (Some(source), None) => source.clone(),
            _ => "?".to_owned(),
        };
        let action = row.action.as_deref().unwrap_or("?");
        return match row.result.as_deref() {
            Some("ok") => format!("{action} by {who}: ok"),
            _ => format!(
                "{action} by {who}: failed: {}",
                row.error.as_deref().unwrap_or("no reason given")
            ),
        };
    }
    let mut parts = Vec::new();
    if let Some(code) = row.exit_code {
        parts.push(format!("exit code {code}"));
    }
    if row.oom == Some(true) {
        parts.push("OUT OF MEMORY".to_owned());
    }
    if let Some(signal) = &row.signal {
        parts.push(format!("signal {signal}"));
    }
    if let Some(health) = &row.health {
        parts.push(health.clone());
    }
    parts.join(", ")
}
