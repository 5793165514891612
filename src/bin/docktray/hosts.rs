//! `docktray hosts`: list remote SSH hosts with their state and errors, add one after an end-to-end check,
//! trust a host key after showing its fingerprint, and offer Docker contexts / Podman connections / DOCKER_HOST as
//! hosts and local Docker / Podman sockets as the local engine.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use docktray::config::endpoint::EndpointEnv;
use docktray::config::HostConfig;
use docktray::sources::ssh::{check, discover, keysetup, known_hosts, manage};
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
        /// Docker socket on the host, or Podman's (`/run/podman/podman.sock`, `/run/user/UID/podman/podman.sock`).
        #[arg(long, value_name = "PATH", default_value = "/var/run/docker.sock")]
        socket: String,
        /// An ssh_config file to use instead of ~/.ssh/config.
        #[arg(long, value_name = "FILE")]
        ssh_config: Option<PathBuf>,
        /// Add it without checking the connection.
        #[arg(long, conflicts_with = "setup_key")]
        no_check: bool,
        /// After the check, generate a dedicated ed25519 key (~/.ssh/docktray_NAME_ed25519, never over an
        /// existing file), install it in the host's ~/.ssh/authorized_keys with the login that works now, check
        /// again with it and save it as the host's identity. Asks first.
        #[arg(long)]
        setup_key: bool,
        /// Set the key up without asking (for scripts).
        #[arg(long, requires = "setup_key")]
        yes: bool,
    },
    /// Show a host's key fingerprint and add it to known_hosts after you confirm it.
    Trust {
        name: String,
        /// Trust without asking (for scripts that checked the fingerprint another way).
        #[arg(long)]
        yes: bool,
    },
    /// Docker contexts and Podman connections with ssh:// endpoints, DOCKER_HOST=ssh://... and the hosts of
    /// ~/.ssh/config (and its Includes, resolved with `ssh -G`), offered as hosts to add; local Docker and Podman
    /// sockets, offered as `[docker] host` (with what to run when one is not started).
    Discover {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Read this ssh_config file instead of ~/.ssh/config (also for `ssh -G`).
        #[arg(long, value_name = "FILE")]
        ssh_config: Option<PathBuf>,
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
            setup_key,
            yes,
        } => {
            let host = HostConfig {
                name,
                destination,
                identity_file: identity,
                socket,
                ssh_config,
            };
            let key = match (setup_key, yes) {
                (false, _) => KeySetup::No,
                (true, false) => KeySetup::Ask,
                (true, true) => KeySetup::Consented,
            };
            add(config, config_path, host, no_check, key).await
        }
        HostsCommand::Trust { name, yes } => trust(&config, &name, yes),
        HostsCommand::Discover { json, ssh_config } => {
            discover_hosts(&config, json, ssh_config.as_deref())
        }
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
        if let Some(engine) = source.engine_label() {
            line.push_str(&format!(", {engine}"));
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

/// Whether `hosts add` sets up a dedicated key, and whether the user already consented (`--yes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeySetup {
    No,
    Ask,
    Consented,
}

/// Runs the check and prints each step; the failed step's error when one failed.
async fn check_and_print(host: &HostConfig) -> Result<(), Failure> {
    println!("Checking {} ({}):", host.name, host.destination);
    let steps = check::check_host(host).await;
    for step in &steps {
        let mark = if step.ok { "ok  " } else { "FAIL" };
        println!("  {mark} {}: {}", step.step, step.detail);
    }
    match steps.iter().find(|s| !s.ok) {
        Some(failed) => Err(anyhow!(
            "the {} step failed, so {} was not added (fix it and run this again, or add --no-check)",
            failed.step,
            host.name
        )
        .into()),
        None => Ok(()),
    }
}

/// Asks "question [y/N]" on the terminal; an answer other than y/yes, or no terminal, is a no.
pub(crate) fn confirm(question: &str, refusal: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(anyhow!("{refusal}")));
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush().context("writing to stdout")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

async fn add(
    config: Config,
    config_path: Option<PathBuf>,
    mut host: HostConfig,
    no_check: bool,
    key: KeySetup,
) -> Result<(), Failure> {
    let path = config_path
        .or_else(Config::default_path)
        .ok_or_else(|| anyhow!("no config directory on this system: pass --config PATH"))?;
    let edit_error = |err| match err {
        manage::HostEditError::Invalid(err) => usage(anyhow!(docktray::Error::from(err))),
        other => usage(anyhow!(other)),
    };
    let mut updated = manage::with_host(&config, host.clone(), None, &path).map_err(edit_error)?;
    if !no_check {
        check_and_print(&host).await?;
    }
    if key != KeySetup::No {
        let private = keysetup::default_key_path(&host.name)
            .ok_or_else(|| anyhow!("no home directory: cannot place the new key in ~/.ssh"))?;
        let reuse = private.exists() && keysetup::public_path(&private).exists();
        println!(
            "Key set-up: Docktray will {} {} (ed25519, no passphrase, only for {}) and add its public key to \
             ~/.ssh/authorized_keys on {}, logging in as it just did; {} then logs in with that key.",
            if reuse { "use the existing" } else { "generate" },
            private.display(),
            host.name,
            host.destination,
            host.name
        );
        if key == KeySetup::Ask
            && !confirm(
                "Set up the key?",
                "not setting a key up without confirmation: run it in a terminal, or pass --yes",
            )?
        {
            return Err(anyhow!(
                "no key was generated or installed, and {} was not added",
                host.name
            )
            .into());
        }
        let comment = format!("docktray@{}", host.name);
        let (line, generated) =
            keysetup::ensure_key(&private, &comment).map_err(|err| anyhow!(err))?;
        if generated {
            println!("Generated {}", private.display());
        }
        let installed = keysetup::install_key(&host, &line)
            .await
            .map_err(|err| anyhow!(err))?;
        println!(
            "{} ~/.ssh/authorized_keys on {}",
            match installed {
                keysetup::Installed::Added => "Added the key to",
                keysetup::Installed::AlreadyThere => "The key was already in",
            },
            host.destination
        );
        host.identity_file = Some(private);
        updated = manage::with_host(&config, host.clone(), None, &path).map_err(edit_error)?;
        check_and_print(&host).await?;
    }
    docktray::config::file::save(&path, &updated).map_err(|err| anyhow!(err))?;
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
    if !yes
        && !confirm(
            "Trust this key?",
            "not trusting without confirmation: run it in a terminal, or pass --yes after checking the fingerprint",
        )?
    {
        return Err(anyhow!("not trusted; nothing was written").into());
    }
    let file = known_hosts::trust(&resolved, &keys).map_err(|err| anyhow!(err))?;
    println!("Trusted: added to {}", file.display());
    Ok(())
}

fn discover_hosts(
    config: &Config,
    json: bool,
    ssh_config_file: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let env = EndpointEnv::from_process();
    let connections = discover::podman_connections(&discover::podman_connection_files());
    let hosts = discover::not_configured(&config.hosts, ssh_config_file);
    let local = discover::local_engines(&env, &connections, discover::podman_installed());
    let watched = config.docker_endpoint();
    if json {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "hosts": hosts,
            "local_engines": local,
            "watched": watched,
        }))
        .context("formatting JSON")?;
        println!("{text}");
        return Ok(());
    }
    if hosts.is_empty() {
        println!(
            "No Docker context, DOCKER_HOST, Podman connection with an ssh:// endpoint or ~/.ssh/config host that is \
             not configured yet."
        );
    } else {
        println!("SSH hosts to add:");
    }
    for host in &hosts {
        let resolved = host
            .resolved
            .as_ref()
            .map(|to| format!(", {to}"))
            .unwrap_or_default();
        println!(
            "  {} {} (from {}{resolved}): {}",
            host.name,
            host.destination,
            host.origin,
            host.add_command()
        );
    }
    if !local.is_empty() {
        println!("Local engines (watch one with [docker] host = \"ENDPOINT\" in the config file):");
    }
    for engine in &local {
        let state = match (engine.listening, &engine.hint) {
            _ if engine.endpoint == watched => "watched now".to_owned(),
            (Some(true), _) => "listening".to_owned(),
            (None, _) => "not probed".to_owned(),
            (Some(false), Some(hint)) => hint.clone(),
            (Some(false), None) => "nothing listens there".to_owned(),
        };
        println!("  {} ({}): {state}", engine.endpoint, engine.origin);
    }
    Ok(())
}
