//! The `docktray` binary against Podman: the engine's name in `status` (table and JSON), and `hosts discover`
//! offering `podman system connection` entries and local Podman sockets, with what to run when one is not started.

use std::path::Path;
use std::process::{Command, Output};

use super::*;

/// `docktray ARGS` with a private config and data directory, no Docker context, and `env` on top.
fn docktray(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINERS_CONF")
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("DOCKER_CONFIG", home.join("docker"))
        .envs(env.iter().copied())
        .output()
        .expect("run docktray")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "docktray failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn status_names_podman_and_discover_offers_its_sockets_and_connections() {
    let podman = PodmanService::rootful("cl");
    let version = podman.version();
    let home = tempfile::tempdir().expect("tempdir");

    // `status`, table and JSON: the engine is Podman, never "Docker 4.3.1".
    let host = podman.host();
    let table = stdout(&docktray(
        home.path(),
        &["status"],
        &[("DOCKER_HOST", &host)],
    ));
    assert!(table.contains(&format!("Podman {version}")), "{table}");
    assert!(!table.contains(&format!("Docker {version}")), "{table}");
    let json = stdout(&docktray(
        home.path(),
        &["status", "--json"],
        &[("DOCKER_HOST", &host)],
    ));
    let snapshot: serde_json::Value = serde_json::from_str(&json).expect("status JSON");
    let local = snapshot["sources"]
        .as_array()
        .and_then(|sources| {
            sources
                .iter()
                .find(|s| s["name"] == "local" && s["kind"] == "docker")
        })
        .unwrap_or_else(|| panic!("no local engine in {json}"));
    assert_eq!(local["engine_product"], "podman", "{local}");
    assert_eq!(local["engine_version"], version.as_str(), "{local}");

    // Connections made with Podman's own CLI: an ssh one (socket path and key) and a local one.
    let conf = home.path().join("config/containers");
    std::fs::create_dir_all(&conf).expect("config dir");
    let containers_conf = conf.join("containers.conf");
    std::fs::write(&containers_conf, "").expect("containers.conf");
    let key = home.path().join("nas_key");
    std::fs::write(&key, "not a real key\n").expect("key file");
    for args in [
        vec![
            "system",
            "connection",
            "add",
            "nas",
            "--identity",
            key.to_str().expect("utf-8 path"),
            "ssh://core@nas.example:2222/run/user/1000/podman/podman.sock",
        ],
        vec!["system", "connection", "add", "here", host.as_str()],
    ] {
        let output = Command::new("podman")
            .args(&args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("CONTAINERS_CONF", &containers_conf)
            .output()
            .expect("podman system connection add");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // A config that watches something else, so the socket below is offered, not marked as watched.
    let config = home.path().join("docktray.toml");
    std::fs::write(&config, "[docker]\nhost = \"tcp://127.0.0.1:9\"\n").expect("config");
    let config = config.to_string_lossy().into_owned();
    let runtime = podman.runtime_dir().display().to_string();
    let env = [
        ("XDG_RUNTIME_DIR", runtime.as_str()),
        (
            "CONTAINERS_CONF",
            containers_conf.to_str().expect("utf-8 path"),
        ),
    ];
    let text = stdout(&docktray(
        home.path(),
        &["--config", &config, "hosts", "discover"],
        &env,
    ));
    assert!(
        text.contains(&format!(
            "docktray hosts add nas core@nas.example:2222 --socket /run/user/1000/podman/podman.sock --identity {}",
            key.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{host} (rootless Podman socket): listening")),
        "{text}"
    );
    let json = stdout(&docktray(
        home.path(),
        &["--config", &config, "hosts", "discover", "--json"],
        &env,
    ));
    let found: serde_json::Value = serde_json::from_str(&json).expect("discover JSON");
    let nas = found["hosts"]
        .as_array()
        .and_then(|hosts| hosts.iter().find(|h| h["name"] == "nas"))
        .unwrap_or_else(|| panic!("nas not offered: {json}"));
    assert_eq!(nas["socket"], "/run/user/1000/podman/podman.sock");
    assert_eq!(nas["origin"], "podman connection");
    assert!(
        found["local_engines"].as_array().is_some_and(|list| list
            .iter()
            .any(|e| e["endpoint"] == host.as_str() && e["listening"] == true)),
        "{json}"
    );

    // A user whose Podman socket is not started is told what to run.
    let idle = tempfile::tempdir().expect("runtime dir");
    let idle_dir = idle.path().display().to_string();
    let text = stdout(&docktray(
        home.path(),
        &["--config", &config, "hosts", "discover"],
        &[("XDG_RUNTIME_DIR", idle_dir.as_str())],
    ));
    let line = text
        .lines()
        .find(|l| l.contains("(rootless Podman socket)"))
        .unwrap_or_else(|| panic!("the rootless socket is offered: {text}"));
    assert!(line.contains("not started"), "{line}");
    assert!(
        line.contains("systemctl --user enable --now podman.socket"),
        "{line}"
    );
}
