//! The container commands: `status`, `logs`, and the lifecycle actions, with how they reach the engine a
//! container runs on.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{anyhow, Context};
use chrono::{DateTime, Utc};
use clap::Args;
use docktray::model::{Actor, AuditTarget, LOCAL_HOST};
use docktray::sources::docker::logs::{LogHub, LogLine, LogQuery, LogStream};
use docktray::sources::docker::Client;
use docktray::{Action, Config, Engine, Error, Snapshot, SourceState};
use regex::Regex;
use tokio::sync::watch;

use crate::{render, status_json, usage, Failure};

#[derive(Args, Debug)]
pub struct Targets {
    /// Container names or ids (a unique id prefix works).
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Container name or id.
    container: String,
    /// Keep printing new lines as they arrive (Ctrl-C to stop); survives container restarts.
    #[arg(short, long)]
    follow: bool,
    /// Only the last N lines (before following).
    #[arg(short = 'n', long, value_name = "N")]
    tail: Option<usize>,
    /// Only lines since a time: a duration ago (`10m`, `2h`), RFC 3339 (`2026-11-23T08:00:00Z`) or Unix seconds.
    #[arg(long, value_name = "T", value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
    /// Only lines matching this regular expression (matched without colour codes).
    #[arg(long, value_name = "REGEX")]
    grep: Option<String>,
    /// Prefix each line with its timestamp.
    #[arg(short, long)]
    timestamps: bool,
}

pub(crate) fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Some(duration) = docktray::util::parse_duration(text) {
        let delta =
            chrono::TimeDelta::from_std(duration).map_err(|_| "duration too large".to_owned())?;
        return Ok(Utc::now() - delta);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(seconds) = text.parse::<i64>() {
        if let Some(at) = DateTime::from_timestamp(seconds, 0) {
            return Ok(at);
        }
    }
    Err(format!(
        "'{text}' is not a time: use a duration ago (10m, 2h), RFC 3339 (2026-11-23T08:00:00Z) or Unix seconds"
    ))
}

pub async fn status(config: Config, json: bool) -> Result<(), Failure> {
    let recorded = recorded_active_alerts(&config);
    let config_for_forecasts = config.clone();
    let engine = Engine::start(config);
    engine.ready(Duration::from_secs(10)).await;
    let mut snapshot = engine.snapshot();
    let engine_figures = engine.self_figures();
    engine.shutdown().await;
    snapshot.forecasts = recorded_forecasts(&config_for_forecasts, &snapshot);
    // Figures must hold for a while before they alert, longer than a snapshot takes: show what the running
    // watcher (or desktop app) has recorded as active too.
    for alert in recorded {
        if !snapshot.alerts.iter().any(|a| a.id == alert.id) {
            snapshot.alerts.push(alert);
        }
    }
    snapshot.overall = docktray::alerts::overall_level(&snapshot.alerts, &snapshot.sources);
    let mut stdout = std::io::stdout().lock();
    if json {
        let text = status_json::render(&snapshot, &engine_figures)?;
        writeln!(stdout, "{text}").context("writing to stdout")?;
    } else {
        render::status_table(&mut stdout, &snapshot, std::io::stdout().is_terminal())
            .context("writing to stdout")?;
    }
    docker_failure(&snapshot).map_or(Ok(()), |reason| Err(anyhow!(reason).into()))
}

/// Forecasts fitted now from the history a running `docktray watch` or desktop app records; none without one.
fn recorded_forecasts(config: &Config, snapshot: &Snapshot) -> Vec<docktray::model::Forecast> {
    let Ok(path) = docktray::monitor::history_path(config) else {
        return Vec::new();
    };
    if !config.history.enabled || !path.exists() {
        return Vec::new();
    }
    match docktray::history::History::open(&path, &config.history) {
        Ok(history) => docktray::sinks::forecast::compute(
            &history,
            snapshot,
            &config.forecasts,
            chrono::Utc::now(),
        ),
        Err(err) => {
            tracing::warn!(%err, "cannot read the history for forecasts");
            Vec::new()
        }
    }
}

/// Active alerts recorded by a running `docktray watch` or desktop app; none when there is no history.
fn recorded_active_alerts(config: &Config) -> Vec<docktray::alerts::Alert> {
    let Ok(path) = docktray::monitor::history_path(config) else {
        return Vec::new();
    };
    if !config.history.enabled || !path.exists() {
        return Vec::new();
    }
    let query = docktray::history::AlertQuery {
        level: None,
        since: None,
        until: None,
        active_only: true,
        limit: None,
    };
    docktray::history::History::open(&path, &config.history)
        .and_then(|history| history.alerts(&query))
        .unwrap_or_else(|err| {
            tracing::warn!(%err, "cannot read recorded alerts");
            Vec::new()
        })
}

/// The reason the local engine is unreachable, if it is (remote hosts have their rows, not the exit code).
pub(crate) fn docker_failure(snapshot: &Snapshot) -> Option<String> {
    snapshot
        .sources
        .iter()
        .find(|s| s.name == LOCAL_HOST && s.kind == "docker" && s.state == SourceState::Unreachable)
        .map(|s| {
            format!(
                "cannot reach the Docker engine at {}: {}",
                s.endpoint,
                s.reason.as_deref().unwrap_or("unknown reason")
            )
        })
}

pub(crate) async fn connect(config: &Config) -> Result<Client, Failure> {
    Client::connect(LOCAL_HOST, &config.docker_endpoint())
        .await
        .map_err(|err| anyhow!(err).into())
}

/// The client of the engine `container` runs on. With SSH hosts configured, an engine is started to reach them
/// and returned too: keep it alive while the client is used, then shut it down.
pub(crate) async fn connect_to(
    config: &Config,
    container: &str,
) -> Result<(Client, Option<Engine>), Failure> {
    if config.hosts.is_empty() {
        return Ok((connect(config).await?, None));
    }
    let engine = Engine::start(config.clone());
    engine.ready(Duration::from_secs(15)).await;
    let host = engine
        .snapshot()
        .find_container(container)
        .map_or_else(|| LOCAL_HOST.to_owned(), |c| c.info.host.clone());
    let client = engine
        .client_for(&host)
        .map_err(|err| Failure::from(anyhow!(err)))?;
    Ok((client, Some(engine)))
}

pub async fn act(config: Config, targets: Targets, action: Action) -> Result<(), Failure> {
    // With SSH hosts, one engine reaches every host and routes each container to the one it runs on.
    let (client, engine) = if config.hosts.is_empty() {
        (Some(connect(&config).await?), None)
    } else {
        let engine = Engine::start(config.clone());
        engine.ready(Duration::from_secs(15)).await;
        (None, Some(engine))
    };
    let audit = crate::audit::AuditLog::open(&config);
    let mut failed = None;
    for container in &targets.containers {
        // The container as the user knows it (its name) and where it runs, for the audit entry.
        let (host, name) = match (&client, &engine) {
            (Some(client), _) => match client.inspect(container).await {
                Ok(Some(info)) => (info.host, info.name),
                _ => (LOCAL_HOST.to_owned(), container.clone()),
            },
            (None, Some(engine)) => engine
                .snapshot()
                .find_container(container)
                .map(|c| (c.info.host.clone(), c.info.name.clone()))
                .unwrap_or_else(|| (LOCAL_HOST.to_owned(), container.clone())),
            (None, None) => (LOCAL_HOST.to_owned(), container.clone()),
        };
        let result = match (&client, &engine) {
            (Some(client), _) => client.act(container, action).await,
            (None, Some(engine)) => engine.act(container, action, &Actor::cli()).await,
            (None, None) => Err(Error::Other("no engine".to_owned())),
        };
        audit.record(
            &host,
            AuditTarget::container(name.trim_start_matches('/')),
            action.as_str(),
            &result,
        );
        match result {
            Ok(()) => println!("{container}"),
            Err(err) => {
                eprintln!("docktray: {err}");
                failed = Some(err);
            }
        }
    }
    audit.close();
    if let Some(engine) = engine {
        engine.shutdown().await;
    }
    match failed {
        None => Ok(()),
        Some(_) if targets.containers.len() > 1 => {
            Err(anyhow!("some containers could not {}", action.as_str()).into())
        }
        Some(err) => Err(Failure {
            code: 1,
            error: anyhow!("{} failed", action.as_str()).context(err.to_string()),
        }),
    }
}

pub async fn logs(config: Config, args: LogsArgs) -> Result<(), Failure> {
    let grep = args
        .grep
        .as_deref()
        .map(Regex::new)
        .transpose()
        .map_err(|err| usage(anyhow!("--grep is not a valid regular expression: {err}")))?;
    // Kept alive while the logs are read: it holds the SSH connection of a remote container's host.
    let (client, _engine) = connect_to(&config, &args.container).await?;
    let info = client
        .inspect(&args.container)
        .await
        .map_err(|err| Failure::from(anyhow!(err)))?
        .ok_or_else(|| Failure::from(anyhow!(Error::NoSuchContainer(args.container.clone()))))?;
    let query = LogQuery {
        tail: args.tail,
        since: args.since,
        ..LogQuery::default()
    };
    let print = |line: &LogLine| -> std::io::Result<()> {
        if grep.as_ref().is_some_and(|re| !re.is_match(&line.plain)) {
            return Ok(());
        }
        let timestamp = match (args.timestamps, line.timestamp) {
            (true, Some(at)) => format!(
                "{} ",
                at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
            ),
            _ => String::new(),
        };
        match line.stream {
            LogStream::Stdout => writeln!(std::io::stdout().lock(), "{timestamp}{}", line.text),
            LogStream::Stderr => writeln!(std::io::stderr().lock(), "{timestamp}{}", line.text),
        }
    };
    if !args.follow {
        let lines = LogHub::fetch(&client, &info.id, &query)
            .await
            .map_err(|err| Failure::from(anyhow!(err)))?;
        for line in &lines {
            print(line).context("writing logs")?;
        }
        return Ok(());
    }
    let (_keep_client, client_rx) = watch::channel(Some(client));
    let hub = LogHub::new(
        client_rx,
        config.logs.ring_lines.max(args.tail.unwrap_or(0)),
    );
    let mut subscription = hub
        .subscribe(&info.id, query)
        .await
        .map_err(|err| Failure::from(anyhow!(err)))?;
    for line in &subscription.history {
        print(line).context("writing logs")?;
    }
    loop {
        tokio::select! {
            line = subscription.next() => match line {
                Some(line) => print(&line).context("writing logs")?,
                None => return Ok(()),
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
