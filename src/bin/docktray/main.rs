//! `docktray`: the headless command line of the Docktray engine.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use docktray::config::layers::Overrides;
use docktray::model::LOCAL_HOST;
use docktray::sources::docker::logs::{LogHub, LogLine, LogQuery, LogStream};
use docktray::sources::docker::Client;
use docktray::{Action, Config, Engine, Error, Snapshot, SourceState};
use regex::Regex;
use tokio::sync::watch;

mod config_cmd;
mod hosts;
mod monitor;
mod records;
mod render;
mod serve;
mod services;
mod webdock;

/// Watch Docker containers, hosts and Webdock VPS servers from the command line.
///
/// Docktray reads the local Docker engine (DOCKER_HOST or /var/run/docker.sock), this machine's resources and
/// the Webdock accounts in the config (tokens in the OS keychain: `docktray webdock login NAME`).
/// Configuration: ~/.config/docktray/config.toml (see `docktray config --default`).
///
/// Exit codes: 0 success, 1 runtime failure (engine unreachable, action refused), 2 bad usage or bad config.
#[derive(Parser, Debug)]
#[command(
    name = "docktray",
    version,
    propagate_version = true,
    max_term_width = 110
)]
struct Cli {
    /// Use this config file instead of ~/.config/docktray/config.toml.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Set one setting for this run, over the file and the environment: `--set interval=5s`,
    /// `--set thresholds.host_cpu_percent.warning=70`, `--set webdock.0.name=work` (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,

    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace). DOCKTRAY_LOG=<filter> also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// One snapshot of hosts and containers: a table, or JSON for scripts (schema: docs/status-json.md).
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a container's logs, optionally following new lines.
    Logs(LogsArgs),
    /// Start one or more stopped containers.
    Start(Targets),
    /// Stop containers (SIGTERM, then SIGKILL after 10 s).
    Stop(Targets),
    /// Restart containers.
    Restart(Targets),
    /// Pause all processes of containers.
    Pause(Targets),
    /// Resume paused containers.
    Unpause(Targets),
    /// Run the collectors, alerts, history and desktop notifications until Ctrl-C; print each alert change.
    Watch {
        /// Print each alert change as a JSON line.
        #[arg(long)]
        json: bool,
        /// Do not show desktop notifications.
        #[arg(long)]
        no_notify: bool,
        /// Do not record the history.
        #[arg(long)]
        no_history: bool,
    },
    /// Everything `watch` runs plus the HTTP API (docs/api.md): health, containers, servers, alerts,
    /// thresholds, live streams and Prometheus metrics; headless, for systemd.
    Serve {
        /// Listen on this address and port instead of [api] listen (default 127.0.0.1:7583).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Print each alert change as a JSON line.
        #[arg(long)]
        json: bool,
        /// Do not show desktop notifications.
        #[arg(long)]
        no_notify: bool,
        /// Do not record the history.
        #[arg(long)]
        no_history: bool,
    },
    /// The HTTP API's bearer token: print it, or replace it (--rotate).
    Api {
        #[command(subcommand)]
        command: serve::ApiCommand,
    },
    /// Prometheus: alerting rules equivalent to the thresholds (docs/prometheus.md).
    Prometheus {
        #[command(subcommand)]
        command: serve::PrometheusCommand,
    },
    /// List alerts recorded in the history (by `docktray watch` or the desktop app).
    Alerts {
        /// Only alerts still active.
        #[arg(long)]
        active: bool,
        /// Only alerts at or above this level: info, warning or critical.
        #[arg(long, value_name = "LEVEL")]
        level: Option<String>,
        /// Only alerts since a time: a duration ago (`1h`), RFC 3339 or Unix seconds.
        #[arg(long, value_name = "T", value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the recorded history of one metric of a container, a compose service (`service:NAME`) or a host
    /// (`local`, `host:NAME`).
    History {
        /// Container name or id, `service:NAME`, or a host name.
        target: String,
        /// Metric: cpu_percent, memory_percent, memory_bytes, net_rx_bytes_per_s, net_tx_bytes_per_s,
        /// block_read_bytes_per_s, block_write_bytes_per_s, pids (containers); cpu_percent, memory_percent,
        /// disk_percent, load_1 ... (hosts).
        #[arg(long, short)]
        metric: String,
        /// Start of the range: a duration ago (`15m`, `24h`, `7d`), RFC 3339 or Unix seconds.
        #[arg(long, value_name = "T", value_parser = parse_since, default_value = "1h")]
        since: DateTime<Utc>,
        /// End of the range (default: now).
        #[arg(long, value_name = "T", value_parser = parse_since)]
        until: Option<DateTime<Utc>>,
        /// At most this many points.
        #[arg(long)]
        limit: Option<usize>,
        /// Samples at the collection interval (default: raw up to 2 h, one-minute rollups beyond).
        #[arg(long, conflicts_with = "minute")]
        raw: bool,
        /// One-minute rollups (min, avg, max).
        #[arg(long)]
        minute: bool,
        /// Print JSON.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
    },
    /// Export recorded samples and alerts for a time range as JSON lines or CSV.
    Export {
        /// Start of the range: a duration ago (`24h`), RFC 3339 or Unix seconds.
        #[arg(long, value_name = "T", value_parser = parse_since)]
        since: DateTime<Utc>,
        /// End of the range (default: now).
        #[arg(long, value_name = "T", value_parser = parse_since)]
        until: Option<DateTime<Utc>>,
        /// jsonl or csv.
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Webdock accounts: store a token in the OS keychain (login), remove it (logout), list servers.
    Webdock {
        #[command(subcommand)]
        command: webdock::WebdockCommand,
    },
    /// Remote Docker hosts over SSH: list them with their state and errors (default), add, trust, discover.
    Hosts {
        #[command(subcommand)]
        command: Option<hosts::HostsCommand>,
    },
    /// The services read from container labels, with Caddy's state for each, and the bad labels.
    Services {
        /// Print JSON (the HTTP API's /services).
        #[arg(long)]
        json: bool,
    },
    /// Caddy reverse proxy: its state and the routes Docktray keeps there (`[caddy] admin_url`).
    Caddy {
        #[command(subcommand)]
        command: services::CaddyCommand,
    },
    /// Show the effective configuration as TOML with where each value came from (the file, a DOCKTRAY_*
    /// variable, a --set flag; unmarked values are defaults), or the defaults, or every setting's variable.
    Config(config_cmd::ConfigArgs),
}

#[derive(Args, Debug)]
struct Targets {
    /// Container names or ids (a unique id prefix works).
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

#[derive(Args, Debug)]
struct LogsArgs {
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

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
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

/// A failure with the exit code it maps to.
pub(crate) struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        let code = match error.downcast_ref::<Error>() {
            Some(Error::Config(_)) => 2,
            _ => 1,
        };
        Self { code, error }
    }
}

pub(crate) fn usage(error: anyhow::Error) -> Failure {
    Failure { code: 2, error }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = SET_FLAGS.set(cli.set.clone());
    init_tracing(cli.verbose, cli.config.as_deref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("docktray: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli));
    // A keychain call stuck on an unlock prompt must not keep the process alive after it has answered.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) if is_broken_pipe(&failure.error) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("docktray: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

/// A reader that went away (`docktray status | head`) is not an error worth reporting.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|err| err.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Standard error at the level `-v` asks for, and the `[log] file` of the settings (read here too, so its
/// lines start with the first; a bad configuration is reported by the command itself).
fn init_tracing(verbose: u8, config_path: Option<&std::path::Path>) {
    let terminal = match verbose {
        0 => "error",
        1 => "warn,docktray=info",
        2 => "debug",
        _ => "trace",
    };
    let settings = load_config(config_path)
        .map(|config| config.log)
        .unwrap_or_default();
    if let Err(problem) = docktray::logfile::init(terminal, &settings) {
        eprintln!("docktray: {problem}");
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    if let Command::Config(args) = &cli.command {
        return config_cmd::run(args, cli.config.as_deref());
    }
    let config = load_config(cli.config.as_deref())
        .map_err(|err| Failure::from(anyhow!(Error::from(err))))?;
    match cli.command {
        Command::Watch {
            json,
            no_notify,
            no_history,
        } => {
            let options = monitor::WatchOptions {
                json,
                notify: !no_notify,
                history: !no_history,
            };
            monitor::watch(config, cli.config, options).await
        }
        Command::Serve {
            listen,
            json,
            no_notify,
            no_history,
        } => {
            let options = monitor::WatchOptions {
                json,
                notify: !no_notify,
                history: !no_history,
            };
            serve::serve(config, cli.config, listen, options).await
        }
        Command::Api { command } => serve::api(command).await,
        Command::Prometheus { command } => serve::prometheus(&config, command),
        Command::Alerts {
            active,
            level,
            since,
            json,
        } => records::alerts(&config, active, level, since, json),
        Command::History {
            target,
            metric,
            since,
            until,
            limit,
            raw,
            minute,
            json,
            csv,
        } => {
            let resolution = match (raw, minute) {
                (true, _) => docktray::history::Resolution::Raw,
                (_, true) => docktray::history::Resolution::Minute,
                _ => docktray::history::Resolution::Auto,
            };
            records::history(
                &config,
                records::HistoryArgs {
                    target,
                    metric,
                    since,
                    until,
                    json,
                    csv,
                    resolution,
                    limit,
                },
            )
        }
        Command::Export {
            since,
            until,
            format,
            output,
        } => records::export(&config, since, until, &format, output),
        Command::Status { json } => status(config, json).await,
        Command::Webdock { command } => webdock::run(&config, command).await,
        Command::Hosts { command } => hosts::run(config, cli.config, command).await,
        Command::Services { json } => services::services(config, json).await,
        Command::Caddy { command } => services::caddy(config, command).await,
        Command::Logs(args) => logs(config, args).await,
        Command::Start(t) => act(config, t, Action::Start).await,
        Command::Stop(t) => act(config, t, Action::Stop).await,
        Command::Restart(t) => act(config, t, Action::Restart).await,
        Command::Pause(t) => act(config, t, Action::Pause).await,
        Command::Unpause(t) => act(config, t, Action::Unpause).await,
        Command::Config(_) => Ok(()),
    }
}

/// The `--set` flags of this run, kept for reloads (SIGHUP).
static SET_FLAGS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// The file, then the environment, then the `--set` flags; a bad value names where it came from.
pub(crate) fn load_config(path: Option<&std::path::Path>) -> Result<Config, docktray::ConfigError> {
    Ok(Config::load_layered(path, &overrides())?.config)
}

/// This process's environment and the `--set` flags.
pub(crate) fn overrides() -> Overrides {
    Overrides::from_process(SET_FLAGS.get().cloned().unwrap_or_default())
}

async fn status(config: Config, json: bool) -> Result<(), Failure> {
    let recorded = recorded_active_alerts(&config);
    let engine = Engine::start(config);
    engine.ready(Duration::from_secs(10)).await;
    let mut snapshot = engine.snapshot();
    engine.shutdown().await;
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
        let text = serde_json::to_string_pretty(&snapshot).context("formatting JSON")?;
        writeln!(stdout, "{text}").context("writing to stdout")?;
    } else {
        render::status_table(&mut stdout, &snapshot, std::io::stdout().is_terminal())
            .context("writing to stdout")?;
    }
    docker_failure(&snapshot).map_or(Ok(()), |reason| Err(anyhow!(reason).into()))
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

async fn connect(config: &Config) -> Result<Client, Failure> {
    Client::connect(LOCAL_HOST, &config.docker_endpoint())
        .await
        .map_err(|err| anyhow!(err).into())
}

/// The client of the engine `container` runs on. With SSH hosts configured, an engine is started to reach them
/// and returned too: keep it alive while the client is used, then shut it down.
async fn connect_to(config: &Config, container: &str) -> Result<(Client, Option<Engine>), Failure> {
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

async fn act(config: Config, targets: Targets, action: Action) -> Result<(), Failure> {
    // With SSH hosts, one engine reaches every host and routes each container to the one it runs on.
    let (client, engine) = if config.hosts.is_empty() {
        (Some(connect(&config).await?), None)
    } else {
        let engine = Engine::start(config.clone());
        engine.ready(Duration::from_secs(15)).await;
        (None, Some(engine))
    };
    let mut failed = None;
    for container in &targets.containers {
        let result = match (&client, &engine) {
            (Some(client), _) => client.act(container, action).await,
            (None, Some(engine)) => engine.act(container, action).await,
            (None, None) => Err(Error::Other("no engine".to_owned())),
        };
        match result {
            Ok(()) => println!("{container}"),
            Err(err) => {
                eprintln!("docktray: {err}");
                failed = Some(err);
            }
        }
    }
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

async fn logs(config: Config, args: LogsArgs) -> Result<(), Failure> {
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
