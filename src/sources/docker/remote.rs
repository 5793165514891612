//! What a remote host's session reads over SSH each interval: the host's own figures and (by default) every
//! container's cgroup files in one batched command, plus a round trip through the tunnel that notices a cut
//! connection within two intervals.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::cgroup::{self, CgroupPaths, Mounts};
use super::collector::Failure;
use super::session::Session;
use crate::model::{ErrorStep, Observation, RawCounters, SourceState, SourceStatus};
use crate::sources::host::remote::{self as hoststats, RemoteSampler};
use crate::sources::ssh;

/// A remote host's connection and what its batched reads keep between intervals.
pub(super) struct RemoteReads {
    pub(super) connection: Arc<ssh::Connection>,
    /// Previous counters of the host's own figures.
    host: RemoteSampler,
    /// Whether container counters come from the host's cgroup files (else from the Docker API through the tunnel).
    cgroup: bool,
    /// The host's cgroup mount points (read once per connection).
    mounts: Option<Mounts>,
    /// Counters read by this interval's command, taken by the sweep.
    samples: HashMap<String, RawCounters>,
}

impl RemoteReads {
    pub(super) fn new(connection: Arc<ssh::Connection>) -> Self {
        Self {
            connection,
            host: RemoteSampler::default(),
            cgroup: remote_stats_from_cgroup(),
            mounts: None,
            samples: HashMap::new(),
        }
    }

    pub(super) fn reads_cgroups(&self) -> bool {
        self.cgroup
    }

    /// The counters the last command read, when containers are read from cgroup files.
    pub(super) fn take_samples(&mut self) -> Option<HashMap<String, RawCounters>> {
        self.cgroup.then(|| std::mem::take(&mut self.samples))
    }
}

/// Where a remote host's container counters come from: `DOCKTRAY_REMOTE_STATS=api` or `cgroup` (the default,
/// chosen by measurement: see docs/benchmarks.md).
fn remote_stats_from_cgroup() -> bool {
    !matches!(std::env::var("DOCKTRAY_REMOTE_STATS").as_deref(), Ok("api"))
}

impl Session<'_> {
    /// A round trip through the tunnel: the engine's `/_ping` over the forwarded socket. When the network is
    /// cut (or the laptop slept), the SSH master lives on until its keepalives fail, three intervals later,
    /// but nothing comes back through it; no answer within an interval means the connection is gone. No
    /// remote shell runs for it, so a slow shell start-up on the host cannot be mistaken for a dead link.
    async fn tunnel_answers(&self, interval: Duration) -> Result<(), Failure> {
        let within = interval.max(Duration::from_secs(2));
        match tokio::time::timeout(within, self.client.docker.ping()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(self
                .blame(format!("the engine stopped answering through SSH: {err}"))
                .await),
            Err(_) => Err((
                ErrorStep::Ssh,
                format!(
                    "no answer through SSH from {} within {within:?}: the connection is gone (network down, \
                     host asleep or stopped); reconnecting",
                    self.client.host
                ),
            )),
        }
    }

    /// On a remote host, each interval: checks the SSH master (a dropped connection is noticed within two
    /// intervals) and reads the host's figures with one batched command. A failing stats command while SSH
    /// lives makes the host degraded, not unreachable.
    pub(super) async fn probe_remote(&mut self, status: &mut SourceStatus) -> Result<(), Failure> {
        let Some(connection) = self.remote.as_ref().map(|r| r.connection.clone()) else {
            return Ok(());
        };
        connection
            .check()
            .await
            .map_err(|err| (err.step, err.message))?;
        let interval = self.interval();
        self.tunnel_answers(interval).await?;
        let timeout = interval.max(Duration::from_secs(2)) * 2;
        let (script, args, located) = self.remote_script();
        let result = match connection.run_with_args(&script, &args, timeout).await {
            Ok(output) => {
                let now = Instant::now();
                self.read_remote_counters(&output, &located, now);
                let host = self.client.host.clone();
                match self.remote.as_mut() {
                    Some(remote) => remote.host.parse(&host, &output, now),
                    None => return Ok(()),
                }
            }
            Err(err) => {
                // The command may have failed because the connection just dropped.
                connection
                    .check()
                    .await
                    .map_err(|err| (err.step, err.message))?;
                Err(err.message)
            }
        };
        match result {
            Ok(stats) => {
                self.report(Observation::Server(Box::new(stats))).await;
                if status.state == SourceState::Degraded {
                    status.state = SourceState::Up;
                    status.reason = None;
                    self.report(Observation::Source(status.clone())).await;
                }
            }
            Err(message) => {
                if status.state != SourceState::Degraded {
                    let message = format!("reading the host's figures over SSH failed: {message}");
                    tracing::warn!(host = %self.client.host, %message, "host degraded");
                    status.state = SourceState::Degraded;
                    status.reason = Some(message.clone());
                    status.record_error(ErrorStep::HostStats, message, Utc::now());
                    self.report(Observation::Source(status.clone())).await;
                }
            }
        }
        Ok(())
    }

    /// The interval's one command for a remote host: host figures, plus (cgroup mode) every located
    /// container's cgroup and net/dev files, the cgroup of containers not located yet and, once, the mount
    /// table. File and pid lists go as arguments. Returns the script, its arguments and the located containers.
    fn remote_script(&mut self) -> (String, Vec<String>, Vec<(String, u32, CgroupPaths)>) {
        let mut located = Vec::new();
        let Some(remote) = &self.remote else {
            return (hoststats::COMMAND.to_owned(), Vec::new(), located);
        };
        if !remote.cgroup {
            return (hoststats::COMMAND.to_owned(), Vec::new(), located);
        }
        let read_mounts = remote.mounts.is_none();
        let mut files = Vec::new();
        let mut to_locate = Vec::new();
        for (id, pid) in self.targets() {
            let Some(pid) = pid else { continue };
            match self.cgroups.get(&id).filter(|(cached, _)| *cached == pid) {
                Some((_, Some(paths))) => {
                    files.extend(
                        cgroup::files_of(paths, pid)
                            .into_iter()
                            .map(|f| f.to_string_lossy().into_owned()),
                    );
                    located.push((id, pid, paths.clone()));
                }
                // Cgroup not found there: the API samples it.
                Some((_, None)) => {}
                None => to_locate.push(pid.to_string()),
            }
        }
        // One grep reads every file (a `cat` per file cost the host 18 % of a core for 50 containers) and keeps
        // only the lines the counters need (memory.stat is long; Podman's formulas need its anon lines), each
        // prefixed with its file's path.
        let mut script = String::from(
            "echo @files; n=0; for a in \"$@\"; do case \"$a\" in /*) n=$((n+1)) ;; esac; done; \
             [ $n -gt 0 ] && grep -sHE '^([0-9]|(total_)?inactive_file |(total_)?(in)?active_anon |anon |hierarchical_memory_limit |usage_usec |.*[|]| *[a-z0-9_.@-]+:)' \
             $(for a in \"$@\"; do case \"$a\" in /*) echo \"$a\" ;; esac; done); \
             for a in \"$@\"; do case \"$a\" in /*) ;; *) echo \"@cg $a\"; cat \"/proc/$a/cgroup\" 2>/dev/null ;; esac; done; ",
        );
        if read_mounts {
            script.push_str("echo @mountinfo; cat /proc/self/mountinfo; ");
        }
        script.push_str(hoststats::COMMAND);
        let mut args = files;
        args.extend(to_locate);
        (script, args, located)
    }

    /// Takes the container counters (and cgroup locations) out of the interval command's output.
    fn read_remote_counters(
        &mut self,
        output: &str,
        located: &[(String, u32, CgroupPaths)],
        now: Instant,
    ) {
        let unlocated: Vec<(String, u32)> = self
            .targets()
            .into_iter()
            .filter_map(|(id, pid)| Some((id, pid?)))
            .filter(|(id, pid)| self.cgroups.get(id).is_none_or(|(cached, _)| cached != pid))
            .collect();
        let Some(remote) = self.remote.as_mut() else {
            return;
        };
        if !remote.cgroup {
            return;
        }
        let sections = hoststats::sections(output);
        let text = |name: &str| sections.get(name).map(|lines| lines.join("\n"));
        if remote.mounts.is_none() {
            remote.mounts = text("mountinfo")
                .map(|t| Mounts::parse(&t))
                .filter(Mounts::usable);
        }
        let Some(mounts) = &remote.mounts else {
            // No cgroup mounts visible there: the API samples everything.
            remote.cgroup = false;
            return;
        };
        for (id, pid) in unlocated {
            if let Some(proc_cgroup) = text(&format!("cg {pid}")) {
                let paths = mounts.locate_in(&proc_cgroup, &id);
                self.cgroups.insert(id, (pid, paths));
            }
        }
        let (Some(stat), Some(meminfo)) = (text("stat"), text("meminfo")) else {
            return;
        };
        let Some(host) = cgroup::parse_host_cpu(&stat, &meminfo, 100) else {
            return;
        };
        let mut files: HashMap<&str, String> = HashMap::new();
        for line in sections.get("files").into_iter().flatten() {
            if let Some((path, content)) = line.split_once(':') {
                let file = files.entry(path).or_default();
                file.push_str(content);
                file.push('\n');
            }
        }
        let read = |path: &Path| {
            files
                .get(path.to_string_lossy().as_ref())
                .cloned()
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, path.display().to_string())
                })
        };
        let memory = self.memory;
        for (id, pid, paths) in located {
            if let Ok(counters) = cgroup::counters_with(paths, *pid, &host, now, memory, &read) {
                remote.samples.insert(id.clone(), counters);
            }
        }
    }
}
