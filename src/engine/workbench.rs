//! The container workbench through the engine: terminals, images, volumes, networks, disk usage and compose
//! stack actions, each routed to the engine of the host it is about (local or over SSH). Removals and prunes
//! measure the host's disk usage again, so what a full disk could get back stays current.

use std::time::Duration;

use chrono::Utc;

use super::{read_lock, Engine};
use crate::error::{Error, Result};
use crate::model::{
    Actor, AuditTarget, DockerDiskUsage, ImageSummary, NetworkSummary, Observation, Reclaimed,
    StackAction, StackReport, VolumeSummary, LOCAL_HOST,
};
use crate::sources::docker::{Client, Exec, ExecOptions};

impl Engine {
    /// Every host whose Docker engine is watched: `local` first, then the SSH hosts by name.
    pub fn docker_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = read_lock(&self.shared.clients).keys().cloned().collect();
        hosts.sort_by_key(|host| (host != LOCAL_HOST, host.clone()));
        hosts
    }

    /// Starts a command in a container (by name, id or id prefix) on whichever host it runs.
    pub async fn exec(&self, container: &str, options: &ExecOptions) -> Result<Exec> {
        let (id, client) = self.route(container)?;
        client.exec(&id, options).await
    }

    /// The shell a terminal into this container runs: `preferred` when it has it, else bash, else sh.
    pub async fn pick_shell(&self, container: &str, preferred: Option<&str>) -> Result<String> {
        let (id, client) = self.route(container)?;
        client
            .pick_shell(&id, preferred)
            .await
            .map_err(|err| match err {
                // Name the container as the user knows it, not by its id.
                Error::NoShell { tried, .. } => Error::NoShell {
                    container: container.to_owned(),
                    tried,
                },
                other => other,
            })
    }

    pub async fn images(&self, host: &str) -> Result<Vec<ImageSummary>> {
        self.client_for(host)?.images().await
    }

    pub async fn volumes(&self, host: &str) -> Result<Vec<VolumeSummary>> {
        self.client_for(host)?.volumes().await
    }

    pub async fn networks(&self, host: &str) -> Result<Vec<NetworkSummary>> {
        self.client_for(host)?.networks().await
    }

    /// The last measurement of Docker's disk usage on a host, if any was made yet (never measures).
    pub fn last_disk_usage(&self, host: &str) -> Option<DockerDiskUsage> {
        self.shared.read().docker_disk.get(host).cloned()
    }

    /// Docker's disk usage on a host: the last measurement when it is younger than `max_age`, else measured now
    /// (and kept for the host's disk alerts).
    pub async fn disk_usage(&self, host: &str, max_age: Duration) -> Result<DockerDiskUsage> {
        if let Some(usage) = self.last_disk_usage(host) {
            let age = (Utc::now() - usage.measured_at)
                .to_std()
                .unwrap_or_default();
            if age <= max_age {
                return Ok(usage);
            }
        }
        let usage = self.client_for(host)?.disk_usage().await?;
        self.reporter
            .report(Observation::DiskUsage(Box::new(usage.clone())))
            .await;
        Ok(usage)
    }

    /// Removes an image; refused while a container uses it (naming them) unless `force`. Audited as
    /// `actor`'s, like every removal, prune and stack action here.
    pub async fn remove_image(
        &self,
        host: &str,
        image: &str,
        force: bool,
        actor: &Actor,
    ) -> Result<Reclaimed> {
        let result = self
            .removal(host, |client| async move {
                client.remove_image(image, force).await
            })
            .await;
        let action = if force {
            "remove_image_forced"
        } else {
            "remove_image"
        };
        self.shared
            .audit(actor, host, AuditTarget::object(image), action, &result);
        result
    }

    /// Removes dangling images.
    pub async fn prune_images(&self, host: &str, actor: &Actor) -> Result<Reclaimed> {
        let result = self
            .removal(host, |client| async move { client.prune_images().await })
            .await;
        let target = AuditTarget::object("dangling images");
        self.shared
            .audit(actor, host, target, "prune_images", &result);
        result
    }

    /// Removes a volume no container uses.
    pub async fn remove_volume(
        &self,
        host: &str,
        volume: &str,
        actor: &Actor,
    ) -> Result<Reclaimed> {
        let result = self
            .removal(
                host,
                |client| async move { client.remove_volume(volume).await },
            )
            .await;
        self.shared.audit(
            actor,
            host,
            AuditTarget::object(volume),
            "remove_volume",
            &result,
        );
        result
    }

    /// Removes the volumes no container uses.
    pub async fn prune_volumes(&self, host: &str, actor: &Actor) -> Result<Reclaimed> {
        let result = self
            .removal(host, |client| async move { client.prune_volumes().await })
            .await;
        let target = AuditTarget::object("unused volumes");
        self.shared
            .audit(actor, host, target, "prune_volumes", &result);
        result
    }

    /// Removes a network no container is attached to.
    pub async fn remove_network(
        &self,
        host: &str,
        network: &str,
        actor: &Actor,
    ) -> Result<Reclaimed> {
        let result = match self.client_for(host) {
            Ok(client) => client.remove_network(network).await,
            Err(err) => Err(err),
        };
        self.shared.audit(
            actor,
            host,
            AuditTarget::object(network),
            "remove_network",
            &result,
        );
        result
    }

    /// Runs a removal on a host's engine and measures its disk usage again when something went.
    async fn removal<F, Fut>(&self, host: &str, remove: F) -> Result<Reclaimed>
    where
        F: FnOnce(Client) -> Fut,
        Fut: std::future::Future<Output = Result<Reclaimed>>,
    {
        let client = self.client_for(host)?;
        let reclaimed = remove(client.clone()).await?;
        self.measure_again(client);
        Ok(reclaimed)
    }

    /// What a stack action would do, step by step (for the confirmation). `host` may be left out when the
    /// project runs on one host only.
    pub async fn stack_plan(
        &self,
        host: Option<&str>,
        project: &str,
        action: StackAction,
    ) -> Result<StackReport> {
        let host = self.stack_host(host, project)?;
        self.client_for(&host)?.stack_plan(project, action).await
    }

    /// Starts, stops or restarts a compose project's containers in dependency order.
    pub async fn stack(
        &self,
        host: Option<&str>,
        project: &str,
        action: StackAction,
        actor: &Actor,
    ) -> Result<StackReport> {
        let host = self.stack_host(host, project)?;
        let result = match self.client_for(&host) {
            Ok(client) => client.stack(project, action).await,
            Err(err) => Err(err),
        };
        let name = format!("stack_{}", action.as_str());
        // A stack action that failed for some containers is not a success.
        let outcome: Result<()> = match &result {
            Ok(report) if !report.failed.is_empty() => Err(Error::Other(
                report
                    .failed
                    .iter()
                    .map(|(name, message)| format!("{name}: {message}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
            Ok(_) => Ok(()),
            Err(err) => Err(Error::Other(err.to_string())),
        };
        self.shared
            .audit(actor, &host, AuditTarget::object(project), &name, &outcome);
        result
    }

    /// The host a project runs on: the one named, else the only one with its containers.
    fn stack_host(&self, host: Option<&str>, project: &str) -> Result<String> {
        if let Some(host) = host {
            return Ok(host.to_owned());
        }
        let mut hosts: Vec<String> = self
            .snapshot()
            .containers
            .iter()
            .filter(|c| c.info.compose_project.as_deref() == Some(project))
            .map(|c| c.info.host.clone())
            .collect();
        hosts.dedup();
        match hosts.as_slice() {
            [] => Ok(LOCAL_HOST.to_owned()),
            [one] => Ok(one.clone()),
            many => Err(Error::Other(format!(
                "compose project '{project}' runs on several hosts ({}): name one with --host",
                many.join(", ")
            ))),
        }
    }

    /// Measures a host's disk usage again in the background, after something was removed.
    fn measure_again(&self, client: Client) {
        let reporter = self.reporter.clone();
        tokio::spawn(async move {
            match client.disk_usage().await {
                Ok(usage) => {
                    reporter
                        .report(Observation::DiskUsage(Box::new(usage)))
                        .await
                }
                Err(err) => tracing::debug!(host = %client.host, %err, "disk usage not measured"),
            }
        });
    }
}
