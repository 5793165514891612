//! The container workbench on a rootful Podman engine: a command run in a container, images, volumes and networks
//! listed as `podman` lists them, and disk usage, all through the same Docker-compatible API Docktray uses for
//! Docker.

use std::time::Duration;

use docktray::sources::docker::{ExecChunk, ExecOptions};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_works_on_podman() {
    let mut podman = PodmanService::rootful("wb");
    podman.podman(&["volume", "create", "wb-data"]);
    podman.podman(&["network", "create", "wb-net"]);
    podman.run(
        "wb-app",
        &["-v", "wb-data:/data"],
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; while :; do sleep 0.2; done",
        ],
    );
    let engine = start_engine(config_for(&podman.socket().display().to_string())).await;
    wait_for(&engine, Duration::from_secs(20), "wb-app listed", |s| {
        find(s, "wb-app").map(|_| ())
    })
    .await;

    // A command in the container: its output and its exit status.
    let options = ExecOptions {
        cmd: vec![
            "sh".into(),
            "-c".into(),
            "echo from-podman; ls /data >/dev/null; exit 4".into(),
        ],
        ..ExecOptions::default()
    };
    let mut exec = engine.exec("wb-app", &options).await.expect("exec");
    let mut stdout = Vec::new();
    while let Some(chunk) = exec.output.next().await {
        if let ExecChunk::Stdout(bytes) = chunk.expect("exec output") {
            stdout.extend_from_slice(&bytes);
        }
    }
    assert_eq!(String::from_utf8_lossy(&stdout), "from-podman\n");
    assert_eq!(exec.handle.exit_code().await.expect("exit code"), Some(4));
    assert_eq!(
        engine.pick_shell("wb-app", None).await.expect("a shell"),
        "sh",
        "busybox has sh, not bash"
    );

    // Images, volumes and networks as podman lists them.
    let host = docktray::model::LOCAL_HOST;
    let images = engine.images(host).await.expect("images");
    let podman_ids: Vec<String> = podman
        .podman(&["images", "--no-trunc", "--format", "{{.ID}}"])
        .lines()
        .map(|id| id.trim_start_matches("sha256:").to_owned())
        .collect();
    assert!(!podman_ids.is_empty());
    for id in &podman_ids {
        assert!(
            images
                .iter()
                .any(|image| image.id.trim_start_matches("sha256:") == id),
            "podman's image {id} listed: {images:?}"
        );
    }
    let volumes = engine.volumes(host).await.expect("volumes");
    let volume = volumes
        .iter()
        .find(|v| v.name == "wb-data")
        .unwrap_or_else(|| panic!("wb-data listed: {volumes:?}"));
    assert_eq!(volume.driver, "local");
    let networks = engine.networks(host).await.expect("networks");
    let network = networks
        .iter()
        .find(|n| n.name == "wb-net")
        .unwrap_or_else(|| panic!("wb-net listed: {networks:?}"));
    assert!(!network.builtin, "a network the user made: {network:?}");
    assert!(
        networks.iter().any(|n| n.name == "podman" && n.builtin),
        "Podman's default network is built in: {networks:?}"
    );

    // Disk usage: the images' size as podman system df counts it.
    let usage = engine
        .disk_usage(host, Duration::ZERO)
        .await
        .expect("disk usage");
    assert!(usage.images.total as usize >= podman_ids.len(), "{usage:?}");
    assert!(usage.volumes.total >= 1, "{usage:?}");
    podman.stop();
}
