//! The workbench through an SSH host: images, volumes, networks, disk usage, a terminal, a compose stack and a
//! refused removal on a second engine reached only through sshd, through the engine and the CLI alike.

use super::*;
use docktray::model::{StackAction, UsageLine};
use docktray::sources::docker::{ExecChunk, ExecOptions, TermSize};

const WB_HOST: &str = "wb";

fn set(text: &str) -> std::collections::BTreeSet<String> {
    text.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_reaches_an_ssh_host() {
    runtime_dir();
    let sshd = TestSshd::new();
    let dockerd = PrivateDockerd::new("dtw", "198.18.9.1/24");
    dockerd.load_test_image();
    std::fs::write(
        sshd.path("known_hosts"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .expect("known_hosts");
    // Served containers exit on SIGTERM at once.
    let serve = "trap 'exit 0' TERM; while :; do sleep 0.1; done";
    let run = |name: &str, labels: &[String]| {
        let mut args = vec![
            "run",
            "-d",
            "--network",
            "none",
            "--label",
            "docktray.test=1",
            "--name",
            name,
        ];
        for label in labels {
            args.extend(["--label", label.as_str()]);
        }
        let image = image();
        args.extend([image.as_str(), "sh", "-c", serve]);
        dockerd.docker(&args)
    };
    let compose = |service: &str, depends_on: Option<&str>| {
        let mut labels = vec![
            "com.docker.compose.project=remote-shop".to_owned(),
            format!("com.docker.compose.service={service}"),
        ];
        if let Some(dependency) = depends_on {
            labels.push(format!(
                "com.docker.compose.depends_on={dependency}:service_started:false"
            ));
        }
        labels
    };
    run("rdb", &compose("db", None));
    run("rweb", &compose("web", Some("db")));
    dockerd.docker(&["volume", "create", "rvol"]);
    dockerd.docker(&["network", "create", "rnet"]);

    let host = sshd.host(WB_HOST, "dt-remote", &dockerd.socket().to_string_lossy());
    let config_path = sshd.path("workbench.toml");
    std::fs::write(
        &config_path,
        format!(
            "[[hosts]]\nname = \"{WB_HOST}\"\ndestination = \"dt-remote\"\nsocket = \"{}\"\nssh_config = \"{}\"\n",
            host.socket,
            sshd.ssh_config().display()
        ),
    )
    .expect("config");
    let mut config = test_config();
    config.hosts = vec![host];
    let engine = start_engine(config).await;
    wait_for(
        &engine,
        Duration::from_secs(60),
        "the remote engine up",
        |s| {
            source(s, WB_HOST)
                .filter(|src| src.state == SourceState::Up)
                .cloned()
        },
    )
    .await;
    assert_eq!(
        engine.docker_hosts(),
        vec!["local".to_owned(), WB_HOST.to_owned()]
    );

    // The same lists as the docker CLI on that engine.
    let images = engine.images(WB_HOST).await.expect("images");
    let ids: std::collections::BTreeSet<String> = images
        .iter()
        .map(|i| {
            i.id.trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect()
        })
        .collect();
    assert_eq!(
        ids,
        set(&dockerd.docker(&["image", "ls", "--format", "{{.ID}}"]))
    );
    assert!(images.iter().all(|i| i.host == WB_HOST));
    let test_image = images
        .iter()
        .find(|i| i.tags.contains(&image()))
        .expect("the test image");
    assert_eq!(
        test_image.containers,
        vec!["rdb".to_owned(), "rweb".to_owned()]
    );
    let volumes = engine.volumes(WB_HOST).await.expect("volumes");
    let names: std::collections::BTreeSet<String> =
        volumes.iter().map(|v| v.name.clone()).collect();
    assert_eq!(
        names,
        set(&dockerd.docker(&["volume", "ls", "--format", "{{.Name}}"]))
    );
    let networks = engine.networks(WB_HOST).await.expect("networks");
    let names: std::collections::BTreeSet<String> =
        networks.iter().map(|n| n.name.clone()).collect();
    assert_eq!(
        names,
        set(&dockerd.docker(&["network", "ls", "--format", "{{.Name}}"]))
    );
    assert!(names.contains("rnet"));

    // Disk usage as that engine's `docker system df`.
    let usage = engine
        .disk_usage(WB_HOST, Duration::ZERO)
        .await
        .expect("df");
    let ours: Vec<(u64, u64)> = [
        usage.images,
        usage.containers,
        usage.volumes,
        usage.build_cache,
    ]
    .iter()
    .map(|l: &UsageLine| (l.total, l.active))
    .collect();
    let theirs: Vec<(u64, u64)> = dockerd
        .docker(&["system", "df", "--format", "{{.TotalCount}} {{.Active}}"])
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace().map(|p| p.parse().unwrap_or(u64::MAX));
            (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
        })
        .collect();
    assert_eq!(ours, theirs);
    let sizes = dockerd.docker(&["system", "df", "--format", "{{.Size}}"]);
    assert_eq!(
        sizes.lines().next(),
        Some(docktray::model::human_size(usage.images.size).as_str())
    );

    // A terminal into a container there.
    assert_eq!(
        engine.pick_shell("rweb", None).await.expect("a shell"),
        "sh"
    );
    let options = ExecOptions {
        cmd: vec!["sh".into()],
        tty: true,
        stdin: true,
        size: Some(TermSize { cols: 90, rows: 20 }),
        ..ExecOptions::default()
    };
    let mut exec = engine.exec("rweb", &options).await.expect("exec over ssh");
    exec.input
        .write(b"echo $((6*7)); stty size\n")
        .await
        .expect("type");
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !String::from_utf8_lossy(&seen).contains("42\r\n20 90") {
        match tokio::time::timeout_at(deadline, exec.output.next()).await {
            Ok(Some(Ok(ExecChunk::Stdout(b) | ExecChunk::Stderr(b)))) => seen.extend_from_slice(&b),
            other => panic!(
                "no answer over ssh: {other:?} {:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    drop(exec);

    // The stack, in dependency order, on the host it runs on.
    let report = engine
        .stack(
            None,
            "remote-shop",
            StackAction::Stop,
            &docktray::model::Actor::cli(),
        )
        .await
        .expect("stop");
    assert_eq!(report.host, WB_HOST);
    let order: Vec<Vec<String>> = report.steps.iter().map(|s| s.containers.clone()).collect();
    assert_eq!(order, vec![vec!["rweb".to_owned()], vec!["rdb".to_owned()]]);
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(
        dockerd.docker(&["inspect", "-f", "{{.State.Running}}", "rdb"]),
        "false"
    );
    engine
        .stack(
            Some(WB_HOST),
            "remote-shop",
            StackAction::Start,
            &docktray::model::Actor::cli(),
        )
        .await
        .expect("start");
    let started = |name: &str| dockerd.docker(&["inspect", "-f", "{{.State.StartedAt}}", name]);
    assert!(started("rdb") < started("rweb"), "db first");

    // A used image is refused, naming the container and the host.
    let err = engine
        .remove_image(WB_HOST, &image(), false, &docktray::model::Actor::cli())
        .await
        .expect_err("in use");
    assert!(
        err.to_string()
            .contains(&format!("on {WB_HOST} is used by containers rdb, rweb")),
        "{err}"
    );
    engine.shutdown().await;

    // The CLI reaches it too: lists, exec with the exit status, a removal naming the host.
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_docktray"))
            .arg("--config")
            .arg(&config_path)
            .args(args)
            .output()
            .expect("run docktray")
    };
    let out = cli(&["volumes", "--host", WB_HOST]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("rvol"), "{stdout}");
    let out = cli(&["networks"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("HOST"),
        "several hosts get a HOST column: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(WB_HOST) && l.contains("rnet")),
        "{stdout}"
    );
    let out = cli(&["df", "--host", WB_HOST, "--json"]);
    let usage: Vec<docktray::model::DockerDiskUsage> =
        serde_json::from_slice(&out.stdout).expect("df JSON");
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].host, WB_HOST);
    let out = cli(&["exec", "rweb", "--", "sh", "-c", "hostname; exit 3"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["networks", "rm", "rnet", "--host", WB_HOST, "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dockerd
        .docker(&["network", "ls", "--format", "{{.Name}}"])
        .contains("rnet"));
    let out = cli(&["images", "rm", &image(), "--host", "nowhere", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no host named nowhere"));
}
