//! Images, volumes and networks of one engine: listed as `docker image ls`, `docker volume ls` and `docker
//! network ls` list them, with the containers using each; removed only when no container uses them (unless
//! forced, where Docker allows it), and pruned with the space reclaimed.

use std::collections::HashMap;

use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    InspectNetworkOptions, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
    ListNetworksOptions, ListVolumesOptions, PruneImagesOptionsBuilder, PruneVolumesOptions,
    RemoveImageOptionsBuilder, RemoveVolumeOptions,
};
use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt};

use super::Client;
use crate::error::{Error, Result};
use crate::model::{ImageSummary, NetworkEndpoint, NetworkSummary, Reclaimed, VolumeSummary};

/// Networks the engine makes itself and will not remove: Docker's three, and Podman's default `podman`.
const BUILTIN_NETWORKS: &[&str] = &["bridge", "host", "none", "podman"];

/// A container's name without Docker's leading `/`.
fn container_name(summary: &ContainerSummary) -> String {
    summary
        .names
        .as_deref()
        .and_then(<[String]>::first)
        .map(|n| n.trim_start_matches('/').to_owned())
        .or_else(|| summary.id.as_ref().map(|id| id.chars().take(12).collect()))
        .unwrap_or_default()
}

fn api_error(what: &str, err: bollard::errors::Error) -> Error {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => {
            Error::Docker(format!("{what}: {message}"))
        }
        other => Error::Docker(format!("{what}: {other}")),
    }
}

fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

impl Client {
    /// Every container, running or not, with `filters` (Docker's list filters).
    async fn all_containers(&self, filters: &[(&str, &str)]) -> Result<Vec<ContainerSummary>> {
        let filters: HashMap<&str, Vec<&str>> =
            filters
                .iter()
                .fold(HashMap::new(), |mut map, (key, value)| {
                    map.entry(*key).or_default().push(*value);
                    map
                });
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|err| api_error("listing containers failed", err))
    }

    /// The images `docker image ls` lists (no intermediate layers), newest first.
    pub async fn images(&self) -> Result<Vec<ImageSummary>> {
        let options = ListImagesOptionsBuilder::new().all(false).build();
        let images = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(|err| api_error("listing images failed", err))?;
        let mut users: HashMap<String, Vec<String>> = HashMap::new();
        for container in self.all_containers(&[]).await? {
            if let Some(image) = &container.image_id {
                users
                    .entry(image.clone())
                    .or_default()
                    .push(container_name(&container));
            }
        }
        let mut list: Vec<ImageSummary> = images
            .into_iter()
            .map(|image| {
                let tags: Vec<String> = image
                    .repo_tags
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .collect();
                let digests: Vec<String> = image
                    .repo_digests
                    .into_iter()
                    .filter(|d| d != "<none>@<none>")
                    .collect();
                let mut containers = users.remove(&image.id).unwrap_or_default();
                containers.sort();
                ImageSummary {
                    host: self.host.clone(),
                    dangling: tags.is_empty(),
                    id: image.id,
                    tags,
                    digests,
                    size: image.size.max(0) as u64,
                    created: DateTime::from_timestamp(image.created, 0).unwrap_or_else(Utc::now),
                    containers,
                }
            })
            .collect();
        list.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    /// The volumes `docker volume ls` lists, by name, with sizes where the driver reports them.
    pub async fn volumes(&self) -> Result<Vec<VolumeSummary>> {
        let reply = self
            .docker
            .list_volumes(None::<ListVolumesOptions>)
            .await
            .map_err(|err| api_error("listing volumes failed", err))?;
        let sizes = match self.df_reply().await {
            Ok(df) => df.volume_sizes(),
            Err(err) => {
                tracing::debug!(%err, "volume sizes unknown");
                HashMap::new()
            }
        };
        let mut users: HashMap<String, Vec<String>> = HashMap::new();
        for container in self.all_containers(&[]).await? {
            for mount in container.mounts.as_deref().unwrap_or_default() {
                if let (Some("volume"), Some(name)) = (mount.typ.as_deref(), &mount.name) {
                    users
                        .entry(name.clone())
                        .or_default()
                        .push(container_name(&container));
                }
            }
        }
        let mut list: Vec<VolumeSummary> = reply
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|volume| {
                let mut containers = users.remove(&volume.name).unwrap_or_default();
                containers.sort();
                containers.dedup();
                VolumeSummary {
                    host: self.host.clone(),
                    size: sizes.get(&volume.name).copied(),
                    created: volume
                        .created_at
                        .as_ref()
                        .and_then(|at| DateTime::parse_from_rfc3339(&at.to_string()).ok())
                        .map(|at| at.with_timezone(&Utc)),
                    name: volume.name,
                    driver: volume.driver,
                    mountpoint: volume.mountpoint,
                    containers,
                }
            })
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// The networks `docker network ls` lists, by name, each with its subnets and attached containers.
    pub async fn networks(&self) -> Result<Vec<NetworkSummary>> {
        let listed = self
            .docker
            .list_networks(None::<ListNetworksOptions>)
            .await
            .map_err(|err| api_error("listing networks failed", err))?;
        let ids: Vec<String> = listed.into_iter().filter_map(|n| n.id).collect();
        let inspected: Vec<Result<Option<NetworkSummary>>> = stream::iter(ids)
            .map(|id| async move { self.network(&id).await })
            .buffer_unordered(8)
            .collect()
            .await;
        let mut list = Vec::new();
        for network in inspected {
            // A network removed between the list and its inspection is simply gone.
            if let Some(network) = network? {
                list.push(network);
            }
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// One network by name or id; `None` when there is no such network.
    pub async fn network(&self, network: &str) -> Result<Option<NetworkSummary>> {
        let reply = match self
            .docker
            .inspect_network(network, None::<InspectNetworkOptions>)
            .await
        {
            Ok(reply) => reply,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(api_error("inspecting a network failed", err)),
        };
        let config = reply
            .ipam
            .as_ref()
            .and_then(|ipam| ipam.config.clone())
            .unwrap_or_default();
        let mut containers: Vec<NetworkEndpoint> = reply
            .containers
            .unwrap_or_default()
            .into_iter()
            .map(|(id, endpoint)| NetworkEndpoint {
                container: endpoint
                    .name
                    .clone()
                    .unwrap_or_else(|| id.chars().take(12).collect()),
                ipv4: endpoint.ipv4_address.filter(|a| !a.is_empty()),
                ipv6: endpoint.ipv6_address.filter(|a| !a.is_empty()),
                mac: endpoint.mac_address.filter(|a| !a.is_empty()),
            })
            .collect();
        containers.sort_by(|a, b| a.container.cmp(&b.container));
        let name = reply.name.unwrap_or_default();
        Ok(Some(NetworkSummary {
            host: self.host.clone(),
            id: reply.id.unwrap_or_default(),
            builtin: BUILTIN_NETWORKS.contains(&name.as_str()),
            name,
            driver: reply.driver.unwrap_or_default(),
            scope: reply.scope.unwrap_or_default(),
            internal: reply.internal.unwrap_or(false),
            subnets: config.iter().filter_map(|c| c.subnet.clone()).collect(),
            gateways: config.iter().filter_map(|c| c.gateway.clone()).collect(),
            containers,
        }))
    }

    /// Removes an image by reference (`repo:tag`, id or id prefix). Refused while a container (running or
    /// not) uses it, naming the containers, unless `force`; a tag shared with other tags is only untagged.
    pub async fn remove_image(&self, reference: &str, force: bool) -> Result<Reclaimed> {
        let image = self.docker.inspect_image(reference).await.map_err(|err| {
            if is_not_found(&err) {
                Error::Other(format!(
                    "no image '{reference}' on {} (see `docktray images`)",
                    self.host
                ))
            } else {
                api_error("inspecting the image failed", err)
            }
        })?;
        let id = image.id.clone().unwrap_or_default();
        let mut users: Vec<String> = self
            .all_containers(&[])
            .await?
            .iter()
            .filter(|c| c.image_id.as_deref() == Some(id.as_str()))
            .map(container_name)
            .collect();
        users.sort();
        if !users.is_empty() && !force {
            return Err(Error::InUse {
                what: format!("image '{reference}'"),
                host: self.host.clone(),
                containers: users,
                hint: "remove those containers first, or force the removal (a running container keeps its \
                       image anyway)"
                    .to_owned(),
            });
        }
        let options = RemoveImageOptionsBuilder::new().force(force).build();
        let items = self
            .docker
            .remove_image(reference, Some(options), None)
            .await
            .map_err(|err| api_error(&format!("removing image '{reference}' failed"), err))?;
        let deleted = items
            .iter()
            .any(|item| item.deleted.as_deref() == Some(id.as_str()));
        Ok(Reclaimed {
            host: self.host.clone(),
            removed: items
                .into_iter()
                .flat_map(|item| {
                    item.untagged
                        .map(|t| format!("untagged {t}"))
                        .into_iter()
                        .chain(item.deleted.map(|d| format!("deleted {d}")))
                })
                .collect(),
            space: if deleted {
                image.size.unwrap_or(0).max(0) as u64
            } else {
                0
            },
        })
    }

    /// Removes dangling images (those without a tag), as `docker image prune` does.
    pub async fn prune_images(&self) -> Result<Reclaimed> {
        let filters = HashMap::from([("dangling", vec!["true"])]);
        let options = PruneImagesOptionsBuilder::new().filters(&filters).build();
        let reply = self
            .docker
            .prune_images(Some(options))
            .await
            .map_err(|err| api_error("pruning images failed", err))?;
        Ok(Reclaimed {
            host: self.host.clone(),
            removed: reply
                .images_deleted
                .unwrap_or_default()
                .into_iter()
                .filter_map(|item| item.deleted.or(item.untagged))
                .collect(),
            space: reply.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    /// Removes a volume no container uses; refused naming the containers that mount it.
    pub async fn remove_volume(&self, name: &str) -> Result<Reclaimed> {
        let mut users: Vec<String> = self
            .all_containers(&[("volume", name)])
            .await?
            .iter()
            .map(container_name)
            .collect();
        users.sort();
        if !users.is_empty() {
            return Err(Error::InUse {
                what: format!("volume '{name}'"),
                host: self.host.clone(),
                containers: users,
                hint: "remove those containers first (their data in this volume goes with it)"
                    .to_owned(),
            });
        }
        let size = self
            .df_reply()
            .await
            .ok()
            .and_then(|df| df.volume_sizes().get(name).copied())
            .unwrap_or(0);
        self.docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
            .map_err(|err| {
                if is_not_found(&err) {
                    Error::Other(format!(
                        "no volume '{name}' on {} (see `docktray volumes`)",
                        self.host
                    ))
                } else {
                    api_error(&format!("removing volume '{name}' failed"), err)
                }
            })?;
        Ok(Reclaimed {
            host: self.host.clone(),
            removed: vec![name.to_owned()],
            space: size,
        })
    }

    /// Removes the volumes no container uses, as `docker volume prune` does on this engine (from Docker 23 on,
    /// only anonymous ones).
    pub async fn prune_volumes(&self) -> Result<Reclaimed> {
        let reply = self
            .docker
            .prune_volumes(None::<PruneVolumesOptions>)
            .await
            .map_err(|err| api_error("pruning volumes failed", err))?;
        Ok(Reclaimed {
            host: self.host.clone(),
            removed: reply.volumes_deleted.unwrap_or_default(),
            space: reply.space_reclaimed.unwrap_or(0).max(0) as u64,
        })
    }

    /// Removes a network no container is attached to; Docker's own networks are refused.
    pub async fn remove_network(&self, name: &str) -> Result<Reclaimed> {
        let network = self.network(name).await?.ok_or_else(|| {
            Error::Other(format!(
                "no network '{name}' on {} (see `docktray networks`)",
                self.host
            ))
        })?;
        if network.builtin {
            return Err(Error::Other(format!(
                "'{}' is one of Docker's own networks on {}: it cannot be removed",
                network.name, self.host
            )));
        }
        if !network.containers.is_empty() {
            return Err(Error::InUse {
                what: format!("network '{}'", network.name),
                host: self.host.clone(),
                containers: network
                    .containers
                    .iter()
                    .map(|c| c.container.clone())
                    .collect(),
                hint:
                    "stop those containers or disconnect them (`docker network disconnect`) first"
                        .to_owned(),
            });
        }
        self.docker
            .remove_network(&network.id)
            .await
            .map_err(|err| api_error(&format!("removing network '{name}' failed"), err))?;
        Ok(Reclaimed {
            host: self.host.clone(),
            removed: vec![network.name],
            space: 0,
        })
    }
}
