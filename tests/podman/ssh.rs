//! A remote host running Podman, reached over SSH like a Docker host: its socket path set per host.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::sshd::TestSshd;
use docktray::model::{EngineProduct, SampleMethod};
use docktray::sources::ssh::check;
use docktray::SourceState;

use super::*;

const HOST: &str = "pod-nas";

/// A private, short runtime directory for the forwarded sockets and ControlMaster files of this binary.
fn runtime_dir() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = format!("/tmp/dtpr-{}", std::process::id());
        std::env::set_var("DOCKTRAY_RUNTIME_DIR", &dir);
        dir
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_host_running_podman_is_watched_like_a_docker_host() {
    let runtime = runtime_dir();
    let podman = PodmanService::rootful("sh");
    let version = podman.version();
    podman.podman(&["pod", "create", "--infra=false", "--name", "web"]);
    podman.run("worker", &["--pod", "web"], &["sleep", "600"]);
    let sshd = TestSshd::new();
    std::fs::write(
        sshd.path("known_hosts"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .expect("known_hosts");
    let socket = podman.socket().display().to_string();
    let host = sshd.host(HOST, "dt-remote", &socket);

    // The end-to-end check `hosts add` runs names the engine.
    let steps = check::check_host(&host).await;
    let last = steps.last().expect("steps");
    assert!(steps.iter().all(|s| s.ok), "{steps:#?}");
    assert!(
        last.detail.starts_with(&format!("Podman {version} (API ")),
        "{last:?}"
    );

    // Watched: the local engine points nowhere, so only the SSH host's engine counts here.
    let mut config = config_for("unix:///nonexistent/docktray-test.sock");
    config.hosts = vec![host.clone()];
    let engine = docktray::Engine::start(config);
    let source = wait_for(&engine, Duration::from_secs(30), "the host up", |s| {
        s.sources
            .iter()
            .find(|src| src.name == HOST && src.kind == "docker" && src.state == SourceState::Up)
            .cloned()
    })
    .await;
    assert_eq!(source.engine_product, Some(EngineProduct::Podman));
    assert_eq!(source.engine_label(), Some(format!("Podman {version}")));
    assert_eq!(source.stats_method, Some(SampleMethod::Cgroup));
    let worker = wait_for(
        &engine,
        Duration::from_secs(20),
        "the worker on the host",
        |s| find(s, "worker").filter(|c| c.info.host == HOST).cloned(),
    )
    .await;
    assert_eq!(worker.info.pod.as_deref(), Some("web"));
    let cpu = burner_cpu(&engine, &podman, "burner", &[]).await;
    assert!(
        (35.0..=65.0).contains(&cpu),
        "CPU of a --cpus 0.5 burner over SSH: {cpu}"
    );
    engine.shutdown().await;

    // `docktray hosts` names it too.
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "[docker]\nhost = \"unix:///nonexistent/docktray-test.sock\"\n[[hosts]]\nname = \"{HOST}\"\n\
             destination = \"dt-remote\"\nsocket = \"{socket}\"\nssh_config = \"{}\"\n",
            sshd.ssh_config().display()
        ),
    )
    .expect("config");
    let output = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(["--config", &config_path.to_string_lossy(), "hosts"])
        .output()
        .expect("docktray hosts");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(HOST))
        .unwrap_or_else(|| panic!("{HOST} listed: {text}"));
    assert!(line.contains(&format!("Podman {version}")), "{line}");
    // Every connection is closed: the runtime directory holds nothing any more.
    let _ = std::fs::remove_dir_all(runtime);
}
