//! The remote hosts' source tasks: which to start and stop when the settings change, and how.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Shared;
use crate::config::HostConfig;
use crate::model::LOCAL_HOST;
use crate::sources::docker::{self, DockerSource, LogHub, Target};
use crate::sources::Reporter;

/// A remote host's running source task.
pub(super) struct HostTask {
    pub config: HostConfig,
    pub shutdown: watch::Sender<bool>,
    pub handle: JoinHandle<()>,
}

/// How long a removed host's task may take to close its SSH master before it is aborted (dropping the
/// connection still removes its socket and tells the master to exit).
const HOST_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What changes between the hosts being watched and the wanted ones: hosts to stop (gone, or changed) and
/// hosts to start (new, or changed). A changed host is in both. The local host is never a remote one.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct HostDiff {
    pub remove: Vec<String>,
    pub add: Vec<HostConfig>,
}

pub(crate) fn diff_hosts(
    running: &BTreeMap<String, HostConfig>,
    wanted: &[HostConfig],
) -> HostDiff {
    let mut wanted_by_name: BTreeMap<&str, &HostConfig> = BTreeMap::new();
    for host in wanted.iter().filter(|host| host.name != LOCAL_HOST) {
        // A repeated name (refused by validation) keeps its first entry.
        wanted_by_name.entry(host.name.as_str()).or_insert(host);
    }
    let remove = running
        .iter()
        .filter(|(name, config)| wanted_by_name.get(name.as_str()).copied() != Some(*config))
        .map(|(name, _)| name.clone())
        .collect();
    let add = wanted_by_name
        .values()
        .filter(|host| running.get(&host.name) != Some(**host))
        .map(|host| (*host).clone())
        .collect();
    HostDiff { remove, add }
}

/// Registers a host and starts its source task, with its own shutdown signal.
pub(super) fn spawn_host(
    shared: &Shared,
    reporter: &Reporter,
    logs: &LogHub,
    host: &HostConfig,
) -> HostTask {
    let (connection, retry) = shared.register_host(&host.name);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let handle = tokio::spawn(docker::collector::run(
        DockerSource {
            target: Target::Ssh(host.clone()),
            settings: shared.session_settings(),
            reporter: reporter.clone(),
            logs: logs.clone(),
            connection,
            retry,
            resume: shared.resume.get(&host.name).copied(),
        },
        shutdown_rx,
    ));
    HostTask {
        config: host.clone(),
        shutdown,
        handle,
    }
}

/// Stops a host's task and waits for it (its SSH master closed and its forwarded socket removed).
pub(super) async fn stop_host(name: &str, task: HostTask) {
    let _ = task.shutdown.send(true);
    let mut handle = task.handle;
    if tokio::time::timeout(HOST_STOP_TIMEOUT, &mut handle)
        .await
        .is_err()
    {
        tracing::warn!(host = %name, "the host's source did not stop in time; aborting it");
        handle.abort();
        let _ = handle.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, destination: &str) -> HostConfig {
        HostConfig {
            name: name.to_owned(),
            destination: destination.to_owned(),
            identity_file: None,
            socket: "/var/run/docker.sock".to_owned(),
            ssh_config: None,
        }
    }

    fn running(hosts: &[HostConfig]) -> BTreeMap<String, HostConfig> {
        hosts.iter().map(|h| (h.name.clone(), h.clone())).collect()
    }

    #[test]
    fn diff_adds_new_hosts_and_removes_gone_ones() {
        let nas = host("nas", "admin@nas");
        let pi = host("pi", "pi@pi.lan");
        let diff = diff_hosts(
            &running(std::slice::from_ref(&nas)),
            std::slice::from_ref(&pi),
        );
        assert_eq!(diff.remove, vec!["nas".to_owned()]);
        assert_eq!(diff.add, vec![pi]);
        let diff = diff_hosts(&running(&[]), std::slice::from_ref(&nas));
        assert_eq!(diff.remove, Vec::<String>::new());
        assert_eq!(diff.add, vec![nas]);
    }

    #[test]
    fn diff_leaves_unchanged_hosts_running() {
        let hosts = [host("nas", "admin@nas"), host("pi", "pi@pi.lan")];
        assert_eq!(diff_hosts(&running(&hosts), &hosts), HostDiff::default());
        // Order in the file does not matter.
        let reversed = [hosts[1].clone(), hosts[0].clone()];
        assert_eq!(diff_hosts(&running(&hosts), &reversed), HostDiff::default());
    }

    #[test]
    fn diff_replaces_a_changed_host() {
        let before = host("nas", "admin@nas");
        let mut identity = before.clone();
        identity.identity_file = Some("/home/me/.ssh/nas".into());
        let mut socket = before.clone();
        socket.socket = "/run/user/1000/docker.sock".to_owned();
        for after in [host("nas", "root@nas"), identity, socket] {
            let diff = diff_hosts(
                &running(std::slice::from_ref(&before)),
                std::slice::from_ref(&after),
            );
            assert_eq!(diff.remove, vec!["nas".to_owned()], "{after:?}");
            assert_eq!(diff.add, vec![after]);
        }
    }

    #[test]
    fn diff_never_takes_the_local_host_or_a_repeated_name() {
        let first = host("nas", "admin@nas");
        let wanted = [
            host(LOCAL_HOST, "me@here"),
            first.clone(),
            host("nas", "other@nas"),
        ];
        let diff = diff_hosts(&running(&[]), &wanted);
        assert_eq!(diff.add, vec![first]);
    }
}
