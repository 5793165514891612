//! `docktray`: the headless command line of the Docktray engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use docktray::config::layers::Overrides;
use docktray::{Action, Config, Error};

mod audit;
mod config_cmd;
mod containers;
mod events;
mod exec;
mod healthcheck;
mod hosts;
mod monitor;
mod notify;
mod records;
mod render;
mod serve;
mod services;
mod stack;
mod status_json;
mod webdock;
mod workbench;
mod workbench_render;

use containers::{act, logs, status, LogsArgs, Targets};
pub(crate) use containers::{connect, connect_to, docker_failure, parse_since};

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
    /// Ask the local `docktray serve` for /healthz: exit 0 when healthy (the container's HEALTHCHECK).
    Healthcheck {
        /// The server's address instead of [api] listen (0.0.0.0 and :: are asked on loopback).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
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
    /// What happened: engine events (starts, dies with exit codes, OOM kills, pulls...) and the actions taken
    /// through Docktray (audit entries), from the history; -f follows.
    Events(events::EventsArgs),
    /// Export recorded samples, alerts, engine events and audit entries for a time range as JSON lines or CSV.
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
    /// Run a command in a container, as `docker exec` does; its exit status is Docktray's.
    Exec(exec::ExecArgs),
    /// Images of every watched host (`docker image ls`), with the containers using each; `rm`, `prune`.
    Images {
        #[command(flatten)]
        list: workbench::ListArgs,
        #[command(subcommand)]
        command: Option<workbench::ImagesCommand>,
    },
    /// Volumes of every watched host (`docker volume ls`), with sizes and users; `rm`, `prune`.
    Volumes {
        #[command(flatten)]
        list: workbench::ListArgs,
        #[command(subcommand)]
        command: Option<workbench::VolumesCommand>,
    },
    /// Networks of every watched host (`docker network ls`), with subnets and attached containers; `rm`.
    Networks {
        #[command(flatten)]
        list: workbench::ListArgs,
        #[command(subcommand)]
        command: Option<workbench::NetworksCommand>,
    },
    /// Docker's disk usage on every watched host, as `docker system df`.
    Df(workbench::ListArgs),
    /// Start, stop or restart a compose project's containers in dependency order.
    Stack {
        #[command(subcommand)]
        command: stack::StackCommand,
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
    /// Notification channels beside the desktop (webhooks, ntfy, e-mail): list them, send a test message,
    /// store or remove a channel's secret in the OS keychain.
    Notify {
        #[command(subcommand)]
        command: notify::NotifyCommand,
    },
    /// Show the effective configuration as TOML with where each value came from (the file, a DOCKTRAY_*
    /// variable, a --set flag; unmarked values are defaults), or the defaults, or every setting's variable.
    Config(config_cmd::ConfigArgs),
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
        Err(failure) if failure.error.is::<exec::Silent>() => ExitCode::from(failure.code),
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
        Command::Healthcheck { listen } => healthcheck::run(&config, listen.as_deref()).await,
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
        Command::Events(args) => events::run(config, args).await,
        Command::Status { json } => status(config, json).await,
        Command::Webdock { command } => webdock::run(&config, command).await,
        Command::Notify { command } => notify::run(&config, command).await,
        Command::Hosts { command } => hosts::run(config, cli.config, command).await,
        Command::Services { json } => services::services(config, json).await,
        Command::Caddy { command } => services::caddy(config, command).await,
        Command::Logs(args) => logs(config, args).await,
        Command::Start(t) => act(config, t, Action::Start).await,
        Command::Stop(t) => act(config, t, Action::Stop).await,
        Command::Restart(t) => act(config, t, Action::Restart).await,
        Command::Pause(t) => act(config, t, Action::Pause).await,
        Command::Unpause(t) => act(config, t, Action::Unpause).await,
        Command::Exec(args) => exec::run(config, args).await,
        Command::Images { list, command } => workbench::images(&config, list, command).await,
        Command::Volumes { list, command } => workbench::volumes(&config, list, command).await,
        Command::Networks { list, command } => workbench::networks(&config, list, command).await,
        Command::Df(list) => workbench::df(&config, list).await,
        Command::Stack { command } => stack::run(&config, command).await,
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
