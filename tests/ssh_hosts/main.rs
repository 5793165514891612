//! Remote Docker hosts over SSH, against real components: an `sshd` on 127.0.0.1 with its own host key and
//! authorized key (tests/common/sshd.rs), and a second private `dockerd` (tests/common/dockerd.rs) whose socket
//! is reached only through that sshd. Covers listing, stats, logs and actions over the tunnel, host figures,
//! a dropped connection and its recovery, host key trust, and each failure's own message.

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::dockerd::PrivateDockerd;
use common::sshd::{TempUser, TestSshd, TEST_USER};
use common::*;
use docktray::model::ErrorStep;
use docktray::model::SampleMethod;
use docktray::sources::docker::logs::LogQuery;
use docktray::sources::ssh::{check, keysetup, known_hosts, Connection};
use docktray::{Action, ContainerState, SourceState, SourceStatus};

const HOST: &str = "nas";

/// One private runtime directory for this test binary (forwarded sockets and ControlMaster files), short
/// enough for unix socket paths.
fn runtime_dir() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = format!("/tmp/dtrt-{}", std::process::id());
        std::env::set_var("DOCKTRAY_RUNTIME_DIR", &dir);
        dir
    })
}

fn source<'a>(snapshot: &'a docktray::Snapshot, host: &str) -> Option<&'a SourceStatus> {
    snapshot
        .sources
        .iter()
        .find(|s| s.name == host && s.kind == "docker")
}

async fn open_error(host: &docktray::config::HostConfig) -> docktray::sources::ssh::SshError {
    match Connection::open(host, Duration::from_secs(1)).await {
        Ok(mut connection) => {
            connection.close().await;
            panic!("{} connected but should have failed", host.destination)
        }
        Err(err) => err,
    }
}

/// Processes whose command line mentions `needle` (to find ssh masters left behind).
fn processes_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(needle))
        .collect()
}

mod manage;
mod watch;
mod workbench;
