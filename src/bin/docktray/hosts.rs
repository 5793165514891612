//! `docktray hosts`: list remote SSH hosts with their state and errors, add one after an end-to-end check,
//! trust a host key after showing its fingerprint, and offer Docker contexts / DOCKER_HOST as hosts.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use docktray::config::HostConfig;
use docktray::ssh::{check, discover, known_hosts, manage};
use docktray::{Config, Engine, SourceState};

use crate::{usage, Failure};

#[derive(Subcommand, Debug)]
pub enum HostsCommand {
    /// List the hosts with their state, last error (and the step it failed at) and next retry (the default).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a host end to end (DNS, TCP, host key, SSH login, Docker socket, Docker version) and add it to
    /// the config file; nothing is written when a step fails.
    Add {
        /// Name shown everywhere for this host.
        name: String,
        /// `user@host[:port]` or an alias from ~/.ssh/config.
        destination: String,
        /// SSH private key to use (else ssh-agent and ~/.ssh/config decide).
        #[arg(long, value_name = "FILE")]
        identity: Option<PathBuf>,
        /// Docker socket on the host.
        #[arg(long, value_name = "PATH", default_value = "/var/run/docker.sock")]
        socket: String,
        /// An ssh_config file to use instead of ~/.ssh/config.
        #[arg(long, value_name = "FILE")]
        ssh_config: Option<PathBuf>,
        /// Add it without checking the connection.
        #[arg(long)]
        no_check: bool,
    },
    /// Show a host's key fingerprint and add it to known_hosts after you confirm it.
    Trust {
        name: String,
        /// Trust without asking (for scripts that checked the fingerprint another way).
        #[arg(long)]
        yes: bool,
    },
    /// Docker contexts with ssh:// endpoints and DOCKER_HOST=ssh://..., offered as hosts to add.
    Discover {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(
    config: Config,
    config_path: Option<PathBuf>,
    command: Option<HostsCommand>,
) -> Result<(), Failure> {
    match command.unwrap_or(HostsCommand::List { json: false }) {
        HostsCommand::List { json } => list(config, json).await,
        HostsCommand::Add {
            name,
            destination,
            identity,
            socket,
            ssh_config,
            no_check,
        } => {
            let host = HostConfig {
                name,
                destination,
                identity_file: identity,
                socket,
                ssh_config,
            };
            add(config, config_path, host, no_check).await
        }
        HostsCommand::Trust { name, yes } => trust(&config, &name, yes),
        HostsCommand::Discover { json } => discover_hosts(&config, json),
    }
}

fn find_host<'a>(config: &'a Config, name: &str) -> Result<&'a HostConfig, Failure> {
    config.hosts.iter().find(|h| h.name == name).ok_or_else(|| {
        usage(anyhow!(
            "no host named {name} in the config file (add it with `docktray hosts add {name} USER@HOST`)"
        ))
    })
}

async fn list(config: Config, json: bool) -> Result<(), Failure> {
    let engine = Engine::start(config);
    engine.ready(Duration::from_secs(15)).await;
    let snapshot = engine.snapshot();
    engine.shutdown().await;
    let sources: Vec<_> = snapshot
        .sources
        .iter()
        .filter(|s| s.kind == "docker")
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&sources).context("formatting JSON")?;
        writeln!(out, "{text}").context("writing to stdout")?;
        return Ok(());
    }
    for source in sources {
        let state = match source.state {
            SourceState::Up => "up",
            SourceState::Connecting => "connecting",
            SourceState::Degraded => "degraded",
            SourceState::Unreachable => "UNREACHABLE",
        };
        let mut line = format!("{} {state} ({})", source.name, source.endpoint);
        if let Some(version) = &source.engine_version {
            line.push_str(&format!(", Docker {version}"));
        }
        let containers = snapshot
            .containers
            .iter()
            .filter(|c| c.info.host == source.name)
            .count();
        line.push_str(&format!(", {containers} containers"));
        writeln!(out, "{line}").context("writing to stdout")?;
        if let Some(error) = &source.last_error {
            writeln!(
                out,
                "    last error at {} ({} step): {}",
                error.at.format("%Y-%m-%d %H:%M:%S UTC"),
                error.step.as_str(),
                error.message
            )
            .context("writing to stdout")?;
        }
        if source.state == SourceState::Unreachable {
            writeln!(
                out,
                "    {} failures in a row; next retry {}",
                source.consecutive_failures,
                source
                    .next_retry
                    .map(|at| at.format("%H:%M:%S UTC").to_string())
                    .unwrap_or_else(|| "not planned".to_owned())
            )
            .context("writing to stdout")?;
        }
    }
    Ok(())
}

async fn add(
    config: Config,
    config_path: Option<PathBuf>,
    host: HostConfig,
    no_check: bool,
) -> Result<(), Failure> {
    let path = config_path
        .or_else(Config::default_path)
        .ok_or_else(|| anyhow!("no config directory on this system: pass --config PATH"))?;
    let config =
        manage::with_host(&config, host.clone(), None, &path).map_err(|err| match err {
            manage::HostEditError::Invalid(err) => usage(anyhow!(docktray::Error::from(err))),
            other => usage(anyhow!(other)),
        })?;
    if !no_check {
        println!("Checking {} ({}):", host.name, host.destination);
        let steps = check::check_host(&host).await;
        for step in &steps {
            let mark = if step.ok { "ok  " } else { "FAIL" };
            println!("  {mark} {}: {}", step.step, step.detail);
        }
        if let Some(failed) = steps.iter().find(|s| !s.ok) {
            return Err(anyhow!(
                "the {} step failed, so {} was not added (fix it and run this again, or add --no-check)",
                failed.step,
                host.name
            )
            .into());
        }
    }
    docktray::config_file::save(&path, &config).map_err(|err| anyhow!(err))?;
    println!("Added {} to {}", host.name, path.display());
    Ok(())
}

fn trust(config: &Config, name: &str, yes: bool) -> Result<(), Failure> {
    let host = find_host(config, name)?;
    let (resolved, keys) = manage::keys_to_trust(host).map_err(|err| anyhow!(err))?;
    println!(
        "{} ({}) offers these host keys:",
        name,
        resolved.known_hosts_name()
    );
    for key in &keys {
        println!("  {} {}", key.key_type, key.fingerprint);
    }
    println!(
        "Compare with the host's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on it) before trusting."
    );
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(anyhow!(
                "not trusting without confirmation: run it in a terminal, or pass --yes after checking the fingerprint"
            )));
        }
        print!("Trust this key? [y/N] ");
        std::io::stdout().flush().context("writing to stdout")?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("reading the answer")?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(anyhow!("not trusted; nothing was written").into());
        }
    }
    let file = known_hosts::trust(&resolved, &keys).map_err(|err| anyhow!(err))?;
    println!("Trusted: added to {}", file.display());
    Ok(())
}

fn discover_hosts(config: &Config, json: bool) -> Result<(), Failure> {
    let docker_host = std::env::var("DOCKER_HOST").ok();
    let found: Vec<_> = discover::discover(
        discover::docker_config_dir().as_deref(),
        docker_host.as_deref(),
    )
    .into_iter()
    .filter(|d| !config.hosts.iter().any(|h| h.destination == d.destination))
    .collect();
    if json {
        let text = serde_json::to_string_pretty(&found).context("formatting JSON")?;
        println!("{text}");
        return Ok(());
    }
    if found.is_empty() {
        println!(
            "No Docker context or DOCKER_HOST with an ssh:// endpoint that is not configured yet."
        );
    }
    for host in found {
        println!(
            "{} {} (from {}): docktray hosts add {} {}",
            host.name, host.destination, host.origin, host.name, host.destination
        );
    }
    Ok(())
}
