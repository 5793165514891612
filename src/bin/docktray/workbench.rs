//! `docktray images|volumes|networks [--json] [--host H]` with `rm` and `prune`, and `docktray df`: the images,
//! volumes and networks of every watched host (local and SSH) as the docker CLI lists them, removed or pruned
//! after a confirmation (or `--yes`) that names the host, what goes and what it frees.

use std::io::Write;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use docktray::model::{human_size, Reclaimed, LOCAL_HOST};
use docktray::sources::docker::Client;
use docktray::{Config, Engine};
use serde::Serialize;

use crate::hosts::confirm;
use crate::workbench_render as table;
use crate::{usage, Failure};

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Only this host (`local` or an SSH host's name); default: every watched host.
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
}

#[derive(Args, Debug)]
pub struct Removal {
    /// Where it is (`local` or an SSH host's name).
    #[arg(long, value_name = "HOST", default_value = LOCAL_HOST)]
    host: String,
    /// Do not ask: remove at once.
    #[arg(short, long)]
    yes: bool,
}

#[derive(Subcommand, Debug)]
pub enum ImagesCommand {
    /// Remove an image (refused while a container uses it, unless --force).
    Rm {
        /// `repository:tag`, image id or id prefix.
        image: String,
        /// Remove even if stopped containers use it (a running container keeps its image anyway).
        #[arg(short, long)]
        force: bool,
        #[command(flatten)]
        removal: Removal,
    },
    /// Remove dangling images (without a tag) and say how much space that freed.
    Prune(Removal),
}

#[derive(Subcommand, Debug)]
pub enum VolumesCommand {
    /// Remove a volume no container uses.
    Rm {
        volume: String,
        #[command(flatten)]
        removal: Removal,
    },
    /// Remove the volumes no container uses (Docker 23 and newer: only anonymous ones).
    Prune(Removal),
}

#[derive(Subcommand, Debug)]
pub enum NetworksCommand {
    /// Remove a network no container is attached to.
    Rm {
        network: String,
        #[command(flatten)]
        removal: Removal,
    },
}

/// The engines a command reaches: the local one directly when no SSH host is configured (quick), else through
/// an engine that connects every host (kept until `close`).
pub(crate) struct Reach {
    local: Option<Client>,
    engine: Option<Engine>,
}

impl Reach {
    pub async fn open(config: &Config) -> Result<Self, Failure> {
        if config.hosts.is_empty() {
            return Ok(Self {
                local: Some(crate::connect(config).await?),
                engine: None,
            });
        }
        let engine = Engine::start(config.clone());
        engine.ready(Duration::from_secs(15)).await;
        Ok(Self {
            local: None,
            engine: Some(engine),
        })
    }

    /// The hosts to show: the one asked for (which must exist), or all.
    pub fn hosts(&self, wanted: Option<&str>) -> Result<Vec<String>, Failure> {
        let all = match &self.engine {
            Some(engine) => engine.docker_hosts(),
            None => vec![LOCAL_HOST.to_owned()],
        };
        match wanted {
            None => Ok(all),
            Some(host) if all.iter().any(|h| h == host) => Ok(vec![host.to_owned()]),
            Some(host) => Err(usage(anyhow!(
                "no host named {host}: the hosts are {} (see `docktray hosts`)",
                all.join(", ")
            ))),
        }
    }

    pub fn client(&self, host: &str) -> Result<Client, Failure> {
        match (&self.local, &self.engine) {
            (Some(client), _) if host == LOCAL_HOST => Ok(client.clone()),
            (_, Some(engine)) => engine.client_for(host).map_err(|err| anyhow!(err).into()),
            _ => Err(usage(anyhow!(
                "no host named {host}: only `local` is configured (add SSH hosts with `docktray hosts add`)"
            ))),
        }
    }

    pub async fn close(self) {
        if let Some(engine) = self.engine {
            engine.shutdown().await;
        }
    }
}

/// What a list command reads from one host.
#[derive(Clone, Copy)]
enum Kind {
    Images,
    Volumes,
    Networks,
    DiskUsage,
}

/// Lists one kind on every host asked for; a host that fails is reported and the others still shown.
async fn gather<T: Serialize>(
    config: &Config,
    args: &ListArgs,
    read: impl AsyncFn(&Client) -> Result<Vec<T>, docktray::Error>,
) -> Result<(Vec<T>, Vec<String>, bool), Failure> {
    let reach = Reach::open(config).await?;
    let hosts = reach.hosts(args.host.as_deref());
    let hosts = match hosts {
        Ok(hosts) => hosts,
        Err(err) => {
            reach.close().await;
            return Err(err);
        }
    };
    let mut items = Vec::new();
    let mut failed = false;
    for host in &hosts {
        let result = match reach.client(host) {
            Ok(client) => read(&client).await.map_err(|err| err.to_string()),
            Err(failure) => Err(format!("{:#}", failure.error)),
        };
        match result {
            Ok(mut found) => items.append(&mut found),
            Err(message) => {
                eprintln!("docktray: {host}: {message}");
                failed = true;
            }
        }
    }
    reach.close().await;
    Ok((items, hosts, failed))
}

fn print_json<T: Serialize>(items: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(items).context("formatting JSON")?;
    writeln!(std::io::stdout().lock(), "{text}").context("writing to stdout")?;
    Ok(())
}

async fn list(config: &Config, args: &ListArgs, kind: Kind) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let (hosts, failed) = match kind {
        Kind::Images => {
            let (items, hosts, failed) =
                gather(config, args, async |c: &Client| c.images().await).await?;
            if args.json {
                print_json(&items)?;
            } else {
                table::images(&mut out, &items, hosts.len() > 1).context("writing to stdout")?;
            }
            (hosts, failed)
        }
        Kind::Volumes => {
            let (items, hosts, failed) =
                gather(config, args, async |c: &Client| c.volumes().await).await?;
            if args.json {
                print_json(&items)?;
            } else {
                table::volumes(&mut out, &items, hosts.len() > 1).context("writing to stdout")?;
            }
            (hosts, failed)
        }
        Kind::Networks => {
            let (items, hosts, failed) =
                gather(config, args, async |c: &Client| c.networks().await).await?;
            if args.json {
                print_json(&items)?;
            } else {
                table::networks(&mut out, &items, hosts.len() > 1).context("writing to stdout")?;
            }
            (hosts, failed)
        }
        Kind::DiskUsage => {
            let (items, hosts, failed) = gather(config, args, async |c: &Client| {
                c.disk_usage().await.map(|usage| vec![usage])
            })
            .await?;
            if args.json {
                print_json(&items)?;
            } else {
                table::disk_usage(&mut out, &items, hosts.len() > 1)
                    .context("writing to stdout")?;
            }
            (hosts, failed)
        }
    };
    if failed {
        return Err(anyhow!("some hosts could not be read (of {})", hosts.join(", ")).into());
    }
    Ok(())
}

pub async fn images(
    config: &Config,
    args: ListArgs,
    command: Option<ImagesCommand>,
) -> Result<(), Failure> {
    match command {
        None => list(config, &args, Kind::Images).await,
        Some(ImagesCommand::Rm {
            image,
            force,
            removal,
        }) => remove(config, &removal, Removing::Image { image, force }).await,
        Some(ImagesCommand::Prune(removal)) => {
            remove(config, &removal, Removing::DanglingImages).await
        }
    }
}

pub async fn volumes(
    config: &Config,
    args: ListArgs,
    command: Option<VolumesCommand>,
) -> Result<(), Failure> {
    match command {
        None => list(config, &args, Kind::Volumes).await,
        Some(VolumesCommand::Rm { volume, removal }) => {
            remove(config, &removal, Removing::Volume(volume)).await
        }
        Some(VolumesCommand::Prune(removal)) => {
            remove(config, &removal, Removing::UnusedVolumes).await
        }
    }
}

pub async fn networks(
    config: &Config,
    args: ListArgs,
    command: Option<NetworksCommand>,
) -> Result<(), Failure> {
    match command {
        None => list(config, &args, Kind::Networks).await,
        Some(NetworksCommand::Rm { network, removal }) => {
            remove(config, &removal, Removing::Network(network)).await
        }
    }
}

pub async fn df(config: &Config, args: ListArgs) -> Result<(), Failure> {
    list(config, &args, Kind::DiskUsage).await
}

/// A removal or prune.
enum Removing {
    Image { image: String, force: bool },
    DanglingImages,
    Volume(String),
    UnusedVolumes,
    Network(String),
}

impl Removing {
    /// The confirmation: the host, what goes, and what it frees.
    async fn question(&self, client: &Client) -> Result<String, docktray::Error> {
        let host = &client.host;
        Ok(match self {
            Self::Image { image, .. } => {
                let size = client
                    .images()
                    .await?
                    .iter()
                    .find(|i| {
                        i.tags.contains(image)
                            || i.id == *image
                            || i.id
                                .trim_start_matches("sha256:")
                                .starts_with(image.as_str())
                    })
                    .map_or(String::new(), |i| {
                        format!(" (up to {})", human_size(i.size))
                    });
                format!("Remove image {image} from {host}{size}?")
            }
            Self::DanglingImages => {
                let dangling: Vec<_> = client
                    .images()
                    .await?
                    .into_iter()
                    .filter(|i| i.dangling)
                    .collect();
                let size: u64 = dangling.iter().map(|i| i.size).sum();
                format!(
                    "Remove {} dangling image(s) from {host} (up to {})?",
                    dangling.len(),
                    human_size(size)
                )
            }
            Self::Volume(volume) => {
                let size = client
                    .volumes()
                    .await?
                    .iter()
                    .find(|v| v.name == *volume)
                    .and_then(|v| v.size)
                    .map_or(String::new(), |s| format!(" ({} of data)", human_size(s)));
                format!("Remove volume {volume} and its data from {host}{size}?")
            }
            Self::UnusedVolumes => {
                let unused: Vec<_> = client
                    .volumes()
                    .await?
                    .into_iter()
                    .filter(|v| v.containers.is_empty())
                    .collect();
                let size: u64 = unused.iter().filter_map(|v| v.size).sum();
                let names: Vec<&str> = unused.iter().map(|v| v.name.as_str()).collect();
                format!(
                    "Remove the unused volumes on {host} and their data ({}; {})?",
                    if names.is_empty() {
                        "none now".to_owned()
                    } else {
                        names.join(", ")
                    },
                    human_size(size)
                )
            }
            Self::Network(network) => format!("Remove network {network} from {host}?"),
        })
    }

    /// The audit log's action and target names (as the window's removals are named).
    fn audited(&self) -> (&'static str, String) {
        match self {
            Self::Image {
                image,
                force: false,
            } => ("remove_image", image.clone()),
            Self::Image { image, force: true } => ("remove_image_forced", image.clone()),
            Self::DanglingImages => ("prune_images", "dangling images".to_owned()),
            Self::Volume(volume) => ("remove_volume", volume.clone()),
            Self::UnusedVolumes => ("prune_volumes", "unused volumes".to_owned()),
            Self::Network(network) => ("remove_network", network.clone()),
        }
    }

    async fn run(&self, client: &Client) -> Result<Reclaimed, docktray::Error> {
        match self {
            Self::Image { image, force } => client.remove_image(image, *force).await,
            Self::DanglingImages => client.prune_images().await,
            Self::Volume(volume) => client.remove_volume(volume).await,
            Self::UnusedVolumes => client.prune_volumes().await,
            Self::Network(network) => client.remove_network(network).await,
        }
    }
}

/// Asks (unless `--yes`), then removes and says what went and what it freed.
async fn remove(config: &Config, removal: &Removal, what: Removing) -> Result<(), Failure> {
    let reach = Reach::open(config).await?;
    let outcome = async {
        reach.hosts(Some(&removal.host))?;
        let client = reach.client(&removal.host)?;
        if !removal.yes {
            let question = what
                .question(&client)
                .await
                .map_err(|err| Failure::from(anyhow!(err)))?;
            if !confirm(
                &question,
                "not removing anything without confirmation: run it in a terminal, or pass --yes",
            )? {
                println!("Nothing removed.");
                return Ok(());
            }
        }
        let result = what.run(&client).await;
        let audit = crate::audit::AuditLog::open(config);
        let (action, target) = what.audited();
        audit.record(
            &removal.host,
            docktray::model::AuditTarget::object(&target),
            action,
            &result,
        );
        audit.close();
        let reclaimed = result.map_err(|err| Failure::from(anyhow!(err)))?;
        for item in &reclaimed.removed {
            println!("{}", crate::render::clean(item));
        }
        println!(
            "Removed {} item(s) on {}; space reclaimed: {}",
            reclaimed.removed.len(),
            reclaimed.host,
            human_size(reclaimed.space)
        );
        Ok(())
    }
    .await;
    reach.close().await;
    outcome
}
