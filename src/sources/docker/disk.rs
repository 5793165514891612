//! Docker's disk usage, counted as `docker system df` counts it. The engine's `/system/df` reply changed shape
//! in API 1.52 (totals computed by the engine instead of item lists), so both shapes are read here.

use std::collections::HashMap;

use chrono::Utc;
use serde::Deserialize;

use super::{raw, Client};
use crate::error::{Error, Result};
use crate::model::{DockerDiskUsage, UsageLine};

/// `/system/df`, every field optional so both shapes parse.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DfReply {
    // Up to API 1.51: lists, totals computed by the client.
    pub layers_size: Option<i64>,
    pub images: Option<Vec<DfImage>>,
    pub containers: Option<Vec<DfContainer>>,
    pub volumes: Option<Vec<DfVolume>>,
    pub build_cache: Option<Vec<DfBuildCache>>,
    pub builder_size: Option<i64>,
    // From API 1.52: totals computed by the engine.
    pub image_usage: Option<DfTotals>,
    pub container_usage: Option<DfTotals>,
    pub volume_usage: Option<DfTotals>,
    pub build_cache_usage: Option<DfTotals>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DfTotals {
    pub active_count: Option<i64>,
    pub total_count: Option<i64>,
    pub reclaimable: Option<i64>,
    pub total_size: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DfImage {
    pub containers: Option<i64>,
    pub size: Option<i64>,
    pub shared_size: Option<i64>,
    pub virtual_size: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DfContainer {
    pub size_rw: Option<i64>,
    pub state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DfVolume {
    pub name: String,
    pub usage_data: Option<DfVolumeUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DfVolumeUsage {
    pub size: i64,
    pub ref_count: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DfBuildCache {
    pub size: Option<i64>,
    pub in_use: Option<bool>,
    pub shared: Option<bool>,
}

/// A count or byte count from the engine, where -1 means "not computed".
fn non_negative(value: Option<i64>) -> u64 {
    value.filter(|v| *v > 0).map_or(0, |v| v as u64)
}

fn count(len: usize) -> u64 {
    len as u64
}

impl DfReply {
    fn totals(totals: &DfTotals) -> UsageLine {
        UsageLine {
            total: non_negative(totals.total_count),
            active: non_negative(totals.active_count),
            size: non_negative(totals.total_size),
            reclaimable: non_negative(totals.reclaimable),
        }
    }

    /// Images: the layers' size; reclaimable is what images without containers hold alone.
    pub fn images(&self) -> UsageLine {
        if let Some(totals) = &self.image_usage {
            return Self::totals(totals);
        }
        let images = self.images.as_deref().unwrap_or_default();
        let size = non_negative(self.layers_size);
        let used: u64 = images
            .iter()
            .filter(|i| i.containers.unwrap_or(0) != 0)
            .filter(|i| i.shared_size != Some(-1) && i.virtual_size != Some(-1))
            .map(|i| {
                non_negative(i.virtual_size.or(i.size)).saturating_sub(non_negative(i.shared_size))
            })
            .sum();
        UsageLine {
            total: count(images.len()),
            active: count(
                images
                    .iter()
                    .filter(|i| i.containers.unwrap_or(0) > 0)
                    .count(),
            ),
            size,
            reclaimable: size.saturating_sub(used),
        }
    }

    /// Containers: their writable layers; reclaimable is what stopped ones hold.
    pub fn containers(&self) -> UsageLine {
        if let Some(totals) = &self.container_usage {
            return Self::totals(totals);
        }
        let containers = self.containers.as_deref().unwrap_or_default();
        let active = |c: &DfContainer| {
            let state = c.state.as_deref().unwrap_or_default();
            ["running", "paused", "restarting"]
                .iter()
                .any(|s| state.contains(s))
        };
        UsageLine {
            total: count(containers.len()),
            active: count(containers.iter().filter(|c| active(c)).count()),
            size: containers.iter().map(|c| non_negative(c.size_rw)).sum(),
            reclaimable: containers
                .iter()
                .filter(|c| !active(c))
                .map(|c| non_negative(c.size_rw))
                .sum(),
        }
    }

    /// Volumes: their contents; reclaimable is what no container mounts.
    pub fn volumes(&self) -> UsageLine {
        if let Some(totals) = &self.volume_usage {
            return Self::totals(totals);
        }
        let volumes = self.volumes.as_deref().unwrap_or_default();
        let usage = |v: &DfVolume| {
            v.usage_data
                .as_ref()
                .filter(|u| u.size != -1)
                .map(|u| (u.size, u.ref_count))
        };
        UsageLine {
            total: count(volumes.len()),
            active: count(
                volumes
                    .iter()
                    .filter(|v| v.usage_data.as_ref().is_some_and(|u| u.ref_count > 0))
                    .count(),
            ),
            size: volumes
                .iter()
                .filter_map(usage)
                .map(|(size, _)| non_negative(Some(size)))
                .sum(),
            reclaimable: volumes
                .iter()
                .filter_map(usage)
                .filter(|(_, refs)| *refs == 0)
                .map(|(size, _)| non_negative(Some(size)))
                .sum(),
        }
    }

    /// Build cache: the builder's records; reclaimable is what no build uses now.
    pub fn build_cache(&self) -> UsageLine {
        if let Some(totals) = &self.build_cache_usage {
            return Self::totals(totals);
        }
        let records = self.build_cache.as_deref().unwrap_or_default();
        // As `docker system df` counts it: the records not shared with another, when there are records (the
        // engine's BuilderSize also counts shared layers, so it reads higher than the docker CLI's figure).
        let size = if records.is_empty() {
            self.builder_size
                .map(|s| non_negative(Some(s)))
                .unwrap_or(0)
        } else {
            records
                .iter()
                .filter(|r| r.shared != Some(true))
                .map(|r| non_negative(r.size))
                .sum()
        };
        let in_use: u64 = records
            .iter()
            .filter(|r| r.in_use == Some(true) && r.shared != Some(true))
            .map(|r| non_negative(r.size))
            .sum();
        UsageLine {
            total: count(records.len()),
            active: count(records.iter().filter(|r| r.in_use == Some(true)).count()),
            size,
            reclaimable: size.saturating_sub(in_use),
        }
    }

    /// Each volume's size and how many containers mount it, by name (where the engine reports it).
    pub fn volume_sizes(&self) -> HashMap<String, u64> {
        self.volumes
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(|v| {
                let usage = v.usage_data.as_ref().filter(|u| u.size >= 0)?;
                Some((v.name.clone(), usage.size as u64))
            })
            .collect()
    }
}

impl Client {
    /// The engine's raw disk usage reply.
    pub(crate) async fn df_reply(&self) -> Result<DfReply> {
        // Engines from API 1.52 list items only when asked to; the sizes of volumes need them.
        let path = if super::collector::api_at_least(&self.api_version, 1, 52) {
            "/system/df?verbose=1"
        } else {
            "/system/df"
        };
        let response = raw::request(self, "GET", path, None).await?;
        if response.status != 200 {
            return Err(Error::Docker(format!(
                "reading the disk usage failed ({}): {}",
                response.status,
                response.message()
            )));
        }
        serde_json::from_slice(&response.body).map_err(|err| {
            Error::Docker(format!(
                "the engine's disk usage reply is not understood: {err}"
            ))
        })
    }

    /// Docker's disk usage on this host, as `docker system df` shows it.
    pub async fn disk_usage(&self) -> Result<DockerDiskUsage> {
        let reply = self.df_reply().await?;
        let root_dir = match self.docker.info().await {
            Ok(info) => info.docker_root_dir,
            Err(err) => {
                tracing::debug!(%err, "docker info failed: the data directory is unknown");
                None
            }
        };
        Ok(DockerDiskUsage {
            host: self.host.clone(),
            images: reply.images(),
            containers: reply.containers(),
            volumes: reply.volumes(),
            build_cache: reply.build_cache(),
            root_dir,
            measured_at: Utc::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_reply_is_counted_like_the_docker_cli() {
        let reply: DfReply = serde_json::from_value(serde_json::json!({
            "LayersSize": 10_000,
            "Images": [
                {"Containers": 2, "Size": 6000, "SharedSize": 1000, "VirtualSize": 6000},
                {"Containers": 0, "Size": 5000, "SharedSize": 1000, "VirtualSize": 5000}
            ],
            "Containers": [
                {"SizeRw": 100, "State": "running"},
                {"SizeRw": 40, "State": "exited"}
            ],
            "Volumes": [
                {"Name": "a", "UsageData": {"Size": 300, "RefCount": 1}},
                {"Name": "b", "UsageData": {"Size": 200, "RefCount": 0}},
                {"Name": "c", "UsageData": {"Size": -1, "RefCount": 0}}
            ],
            "BuildCache": null,
            "BuilderSize": 0
        }))
        .expect("parses");
        assert_eq!(
            reply.images(),
            UsageLine {
                total: 2,
                active: 1,
                size: 10_000,
                reclaimable: 5000
            }
        );
        assert_eq!(
            reply.containers(),
            UsageLine {
                total: 2,
                active: 1,
                size: 140,
                reclaimable: 40
            }
        );
        assert_eq!(
            reply.volumes(),
            UsageLine {
                total: 3,
                active: 1,
                size: 500,
                reclaimable: 200
            }
        );
        assert_eq!(reply.build_cache(), UsageLine::default());
        assert_eq!(reply.volume_sizes().get("b"), Some(&200));
        assert_eq!(reply.volume_sizes().get("c"), None);
    }

    #[test]
    fn the_new_reply_uses_the_engines_totals() {
        let reply: DfReply = serde_json::from_value(serde_json::json!({
            "ImageUsage": {"ActiveCount": 1, "TotalCount": 3, "Reclaimable": 700, "TotalSize": 1000},
            "ContainerUsage": {"ActiveCount": 0, "TotalCount": 0, "Reclaimable": 0, "TotalSize": 0},
            "VolumeUsage": {"ActiveCount": 0, "TotalCount": 1, "Reclaimable": 5, "TotalSize": 5},
            "BuildCacheUsage": {"ActiveCount": 0, "TotalCount": 0, "Reclaimable": 0, "TotalSize": 0}
        }))
        .expect("parses");
        assert_eq!(
            reply.images(),
            UsageLine {
                total: 3,
                active: 1,
                size: 1000,
                reclaimable: 700
            }
        );
        assert_eq!(reply.volumes().reclaimable, 5);
    }
}
