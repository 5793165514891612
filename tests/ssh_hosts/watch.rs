//! Failures by step, discovery, and a remote host watched, dropped and recovered.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ssh_failure_names_its_step() {
    runtime_dir();
    let mut sshd = TestSshd::new();
    let socket_dir = sshd.dir.path().to_path_buf();
    let good = sshd.path("dummy.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&good).expect("a socket");

    // Unknown host key: refused, never trusted silently.
    let err = open_error(&sshd.host("t", "dt-remote", &good.to_string_lossy())).await;
    assert_eq!(err.step, ErrorStep::HostKey, "{err}");
    assert!(err.message.contains("docktray hosts trust"), "{err}");
    assert!(
        !sshd.path("known_hosts").exists(),
        "nothing was written to known_hosts"
    );

    // Trusting shows the server's real fingerprint and adds exactly that key.
    let host = sshd.host("t", "dt-remote", &good.to_string_lossy());
    let resolved = known_hosts::resolve(&host).expect("ssh -G");
    assert_eq!(resolved.port, sshd.port);
    assert!(!known_hosts::is_known(&resolved));
    let keys = known_hosts::scan(&resolved).expect("keyscan");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].fingerprint, sshd.fingerprint());
    let file = known_hosts::trust(&resolved, &keys).expect("trust");
    assert_eq!(file, sshd.path("known_hosts"));
    assert!(known_hosts::is_known(&resolved));
    let mut connection = Connection::open(&host, Duration::from_secs(1))
        .await
        .expect("trusted host connects");
    assert!(connection.socket.exists(), "the forwarded socket exists");
    assert!(connection.socket.starts_with(runtime_dir()));
    connection.close().await;
    assert!(
        !connection.socket.exists(),
        "the forwarded socket is removed on close"
    );

    // DNS, TCP, authentication, missing socket: each its own step and message.
    let dns =
        open_error(&sshd.host("t", "root@nonexistent-host.invalid", "/var/run/docker.sock")).await;
    assert_eq!(dns.step, ErrorStep::Dns, "{dns}");
    assert!(dns.message.contains("does not resolve"), "{dns}");
    let tcp = open_error(&sshd.host("t", "root@127.0.0.1:1", "/var/run/docker.sock")).await;
    assert_eq!(tcp.step, ErrorStep::Tcp, "{tcp}");
    assert!(tcp.message.contains("sshd running"), "{tcp}");
    let mut wrong = sshd.host("t", "dt-nokey", &good.to_string_lossy());
    wrong.identity_file = Some(sshd.path("wrong"));
    let auth = open_error(&wrong).await;
    assert_eq!(auth.step, ErrorStep::Auth, "{auth}");
    assert!(auth.message.contains("authorized_keys"), "{auth}");
    let missing = open_error(&sshd.host("t", "dt-remote", "/nonexistent/docker.sock")).await;
    assert_eq!(missing.step, ErrorStep::SocketMissing, "{missing}");
    assert!(
        missing.message.contains("does not exist on the host"),
        "{missing}"
    );

    // A socket the SSH user may not use (root's, mode 0600, for an unprivileged user).
    TestSshd::ensure_test_user();
    let private = socket_dir.join("private.sock");
    let _private_listener = std::os::unix::net::UnixListener::bind(&private).expect("a socket");
    Command::new("chmod")
        .args(["0600", &private.to_string_lossy()])
        .status()
        .expect("chmod");
    let denied = open_error(&sshd.host("t", "dt-user", &private.to_string_lossy())).await;
    assert_eq!(denied.step, ErrorStep::SocketPermission, "{denied}");
    assert!(denied.message.contains("docker group"), "{denied}");
    assert!(denied
        .message
        .contains(&private.to_string_lossy().into_owned()));
    let _ = TEST_USER;

    // A changed host key is refused loudly, with the documented message.
    sshd.kill();
    sshd.change_host_key();
    sshd.start();
    let changed = open_error(&host).await;
    assert_eq!(changed.step, ErrorStep::HostKey, "{changed}");
    assert!(
        changed.message.contains("THE HOST KEY HAS CHANGED"),
        "{changed}"
    );
    assert!(changed.message.contains("refuses to connect"), "{changed}");
}

#[test]
fn docker_contexts_and_docker_host_with_ssh_are_discovered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let meta = dir.path().join("contexts/meta/0123abcd");
    std::fs::create_dir_all(&meta).expect("dir");
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"buildbox","Metadata":{},"Endpoints":{"docker":{"Host":"ssh://deploy@build.example:2222","SkipTLSVerify":false}}}"#,
    )
    .expect("meta");
    let local = dir.path().join("contexts/meta/4567");
    std::fs::create_dir_all(&local).expect("dir");
    std::fs::write(
        local.join("meta.json"),
        r#"{"Name":"desktop","Endpoints":{"docker":{"Host":"unix:///var/run/docker.sock"}}}"#,
    )
    .expect("meta");
    let found = docktray::sources::ssh::discover::discover(Some(dir.path()), Some("ssh://me@nas"));
    let pairs: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|d| (d.name.as_str(), d.destination.as_str(), d.origin.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("buildbox", "deploy@build.example:2222", "context"),
            ("docker-host", "me@nas", "DOCKER_HOST"),
        ]
    );
    // The CLI offers the same.
    let output = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(["hosts", "discover"])
        .env("DOCKER_CONFIG", dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .expect("run docktray");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("buildbox"), "{stdout}");
    assert!(
        stdout.contains("docktray hosts add buildbox deploy@build.example:2222"),
        "{stdout}"
    );
    assert!(!stdout.contains("desktop"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_host_over_ssh_is_watched_dropped_and_recovered() {
    runtime_dir();
    let mut sshd = TestSshd::new();
    let dockerd = PrivateDockerd::new("dts", "198.51.100.1/24");
    dockerd.load_test_image();
    let busy = dockerd.docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--cpus",
        "0.5",
        "--memory",
        "64m",
        "--label",
        "docktray.test=1",
        "--name",
        "busy",
        &image(),
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let talker = dockerd.docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--label",
        "docktray.test=1",
        "--name",
        "talker",
        &image(),
        "sh",
        "-c",
        "i=0; while :; do echo beat $i; i=$((i+1)); sleep 0.2; done",
    ]);
    let host = sshd.host(HOST, "dt-remote", &dockerd.socket().to_string_lossy());
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config_path = config_dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "# my hosts\n[[hosts]]\nname = \"{HOST}\"\ndestination = \"dt-remote\"\nsocket = \"{}\"\nssh_config = \"{}\"\n",
            host.socket,
            sshd.ssh_config().display()
        ),
    )
    .expect("config");

    let mut config = test_config();
    config.hosts = vec![host.clone()];
    let interval = config.interval;
    let engine = docktray::Engine::start(config);
    let mut updates = engine.subscribe();

    // The host key is unknown: refused until trusted, and the error names the step.
    let refused = wait_for(
        &engine,
        Duration::from_secs(30),
        "the unknown key refused",
        |s| {
            source(s, HOST)
                .filter(|src| src.state == SourceState::Unreachable)
                .cloned()
        },
    )
    .await;
    let last = refused.last_error.clone().expect("a last error");
    assert_eq!(last.step, ErrorStep::HostKey, "{last:?}");
    assert!(engine
        .snapshot()
        .containers
        .iter()
        .all(|c| c.info.host != HOST));

    // `docktray hosts trust` shows the fingerprint and adds the key (--yes instead of typing y).
    let trust = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args([
            "--config",
            &config_path.to_string_lossy(),
            "hosts",
            "trust",
            HOST,
            "--yes",
        ])
        .output()
        .expect("run docktray");
    let trust_out = String::from_utf8_lossy(&trust.stdout);
    assert!(
        trust.status.success(),
        "{trust_out} {}",
        String::from_utf8_lossy(&trust.stderr)
    );
    assert!(trust_out.contains(&sshd.fingerprint()), "{trust_out}");
    assert!(engine.retry_now(HOST));
    assert!(!engine.retry_now("no-such-host"));

    // Listed under the host's name, with figures that match the limits docker was given.
    let (busy_stats, _) = wait_for(
        &engine,
        Duration::from_secs(60),
        "remote containers with stats",
        |s| {
            let busy = find(s, "busy").filter(|c| c.info.host == HOST)?;
            let talker = find(s, "talker").filter(|c| c.info.host == HOST)?;
            Some((busy.stats.clone()?, talker.stats.clone()?))
        },
    )
    .await;
    // Read from the host's cgroup files in the interval's one SSH command (the measured cheaper way).
    assert_eq!(busy_stats.method, SampleMethod::Cgroup);
    assert_eq!(busy_stats.memory_limit_bytes, 64 * 1024 * 1024);
    assert!(busy_stats.memory_bytes > 0 && busy_stats.memory_bytes < busy_stats.memory_limit_bytes);
    // --cpus 0.5 caps the loop at half a core; docker stats shows about 50 %.
    let cpu = wait_for(
        &engine,
        Duration::from_secs(30),
        "the busy loop's CPU",
        |s| {
            find(s, "busy")
                .and_then(|c| c.stats.as_ref())
                .map(|st| st.cpu_percent)
                .filter(|cpu| *cpu > 25.0)
        },
    )
    .await;
    assert!(cpu < 75.0, "capped at half a core: {cpu}");
    let up = source(&engine.snapshot(), HOST).cloned().expect("source");
    assert_eq!(up.state, SourceState::Up);
    assert!(
        up.endpoint.starts_with("ssh://dt-remote"),
        "{}",
        up.endpoint
    );
    assert!(up.engine_version.is_some());
    assert_eq!(up.stats_method, Some(SampleMethod::Cgroup));
    // Memory as `docker stats` shows it for the same container.
    let docker_mem =
        dockerd.docker(&["stats", "--no-stream", "--format", "{{.MemUsage}}", &talker]);
    let docker_bytes = parse_size(docker_mem.split('/').next().unwrap_or_default());
    let ours = find(&engine.snapshot(), "talker")
        .and_then(|c| c.stats.as_ref().map(|s| s.memory_bytes as f64))
        .expect("talker stats");
    assert!(
        (ours - docker_bytes).abs() <= (1024.0 * 1024.0_f64).max(docker_bytes * 0.25),
        "memory {ours} against docker stats {docker_mem}"
    );

    // The host's own figures, read over SSH: the "remote" is this machine, so they match the local ones.
    let (remote, local) = wait_for(
        &engine,
        Duration::from_secs(30),
        "host figures of both",
        |s| {
            let remote = s
                .hosts
                .iter()
                .find(|h| h.server_name == HOST && h.cpu.percent > 0.0)?;
            let local = s.hosts.iter().find(|h| h.server_name == "local")?;
            Some((remote.clone(), local.clone()))
        },
    )
    .await;
    assert_eq!(remote.cpu.count, local.cpu.count);
    assert_eq!(remote.cpu.per_core.len(), remote.cpu.count as usize);
    assert!(
        (remote.memory.total_gb - local.memory.total_gb).abs() < 0.1,
        "{remote:?} {local:?}"
    );
    assert!(remote.memory.used_gb > 0.0 && remote.memory.used_gb <= remote.memory.total_gb);
    assert!(remote.disk.total_gb > 0.0, "{:?}", remote.disks);
    assert!(remote.uptime_s > 0);
    assert!(remote.load.one >= 0.0);

    // Logs follow over the tunnel.
    let mut logs = engine
        .logs()
        .subscribe(&talker, LogQuery::default())
        .await
        .expect("follow logs");
    let line = tokio::time::timeout(Duration::from_secs(20), logs.next())
        .await
        .expect("a live line")
        .expect("open");
    assert!(line.text.starts_with("beat"), "{line:?}");

    // An action goes to the host the container runs on.
    engine
        .act(&busy, Action::Stop, &docktray::model::Actor::cli())
        .await
        .expect("stop over SSH");
    wait_for(&engine, Duration::from_secs(30), "busy stopped", |s| {
        find(s, "busy")
            .filter(|c| c.info.state == ContainerState::Exited)
            .map(|_| ())
    })
    .await;
    assert_eq!(
        dockerd.docker(&["inspect", "-f", "{{.State.Running}}", &busy]),
        "false"
    );
    let detail = engine
        .container_detail("talker")
        .await
        .expect("detail over SSH");
    assert_eq!(detail.info.host, HOST);

    // The server dies: unreachable soon after (the master and the per-interval probe notice), with an alert.
    let killed_at = Instant::now();
    sshd.kill();
    let down = wait_for(&engine, Duration::from_secs(30), "host unreachable", |s| {
        source(s, HOST)
            .filter(|src| src.state == SourceState::Unreachable)
            .cloned()
    })
    .await;
    let detected_in = killed_at.elapsed();
    let step = down.last_error.as_ref().map(|e| e.step);
    assert!(
        matches!(
            step,
            Some(ErrorStep::Ssh | ErrorStep::Tcp | ErrorStep::Docker)
        ),
        "{down:?}"
    );
    assert!(down.next_retry.is_some());
    assert!(
        engine.client_for(HOST).is_err(),
        "no client while the host is down"
    );
    assert!(
        find(&engine.snapshot(), "talker").is_some_and(|c| c.stats.is_none()),
        "no stale figures"
    );
    wait_for(
        &engine,
        Duration::from_secs(10),
        "the unreachable alert",
        |s| {
            s.alerts
                .iter()
                .find(|a| {
                    a.target.host == HOST
                        && a.metric == "unreachable"
                        && a.message.contains("SSH host nas")
                })
                .cloned()
        },
    )
    .await;
    // Backoff grows: with jitter the first wait is 1 s and the fourth at least 4 s.
    let retried = wait_for(
        &engine,
        Duration::from_secs(60),
        "four failed attempts",
        |s| {
            source(s, HOST)
                .filter(|src| src.consecutive_failures >= 4)
                .cloned()
        },
    )
    .await;
    let attempts: Vec<_> = retried
        .errors
        .iter()
        .rev()
        .take(4)
        .rev()
        .map(|e| e.at)
        .collect();
    let first_gap = attempts[1] - attempts[0];
    let third_gap = attempts[3] - attempts[2];
    assert!(third_gap > first_gap, "backoff grows: {:?}", retried.errors);
    assert!(retried.errors.len() <= SourceStatus::ERROR_HISTORY);

    // The server comes back: recovered without help, streams resume.
    let restarted_at = chrono::Utc::now();
    sshd.start();
    wait_for(&engine, Duration::from_secs(90), "host up again", |s| {
        source(s, HOST)
            .filter(|src| src.state == SourceState::Up)
            .cloned()
    })
    .await;
    wait_for(
        &engine,
        Duration::from_secs(30),
        "fresh remote stats",
        |s| {
            find(s, "talker")
                .and_then(|c| c.stats.clone())
                .filter(|st| st.sampled_at > restarted_at)
        },
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), logs.next())
            .await
            .expect("logs resume")
            .expect("open");
        if line.timestamp.is_some_and(|at| at > restarted_at) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line from after the restart"
        );
    }
    wait_for(
        &engine,
        Duration::from_secs(10),
        "the unreachable alert resolved",
        |s| {
            (!s.alerts
                .iter()
                .any(|a| a.target.host == HOST && a.metric == "unreachable"))
            .then_some(())
        },
    )
    .await;
    let mut messages = Vec::new();
    while let Ok(update) = updates.try_recv() {
        if let docktray::Update::Alert(change) = update {
            messages.push(change.alert.message.clone());
        }
    }
    assert!(
        messages.iter().any(|m| m.contains("SSH host nas is back")),
        "{messages:?}"
    );

    // The network goes away: the connection's sshd processes are frozen, so nothing answers and nothing
    // closes (the SSH master itself would only give up after three missed keepalives). The round trip through
    // the tunnel notices, and the engine reconnects on its own (a new connection gets a fresh sshd).
    let frozen = sshd.signal_sessions("-STOP");
    assert!(!frozen.is_empty(), "the connection has its sshd processes");
    let cut_at = Instant::now();
    let noticed = wait_for(&engine, Duration::from_secs(30), "the cut noticed", |s| {
        source(s, HOST).and_then(|src| {
            src.errors
                .iter()
                .rev()
                .find(|e| e.message.contains("no answer through SSH"))
                .cloned()
        })
    })
    .await;
    eprintln!("network cut noticed after {:?}", cut_at.elapsed());
    assert_eq!(noticed.step, ErrorStep::Ssh, "{noticed:?}");
    wait_for(
        &engine,
        Duration::from_secs(60),
        "fresh remote stats after the cut",
        |s| {
            (source(s, HOST).is_some_and(|src| src.state == SourceState::Up))
                .then(|| find(s, "talker").and_then(|c| c.stats.clone()))
                .flatten()
                .filter(|st| st.sampled_at > noticed.at)
        },
    )
    .await;
    // Thawed, the old connection's processes find their client gone and end.
    sshd.signal_sessions("-CONT");

    // The `hosts` listing shows the host and its record.
    let listing = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(["--config", &config_path.to_string_lossy(), "hosts"])
        .env(
            "DOCKER_HOST",
            std::env::var("DOCKER_HOST").unwrap_or_default(),
        )
        .output()
        .expect("run docktray");
    let listing_out = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.status.success(),
        "{listing_out} {}",
        String::from_utf8_lossy(&listing.stderr)
    );
    assert!(
        listing_out.contains("nas") && listing_out.contains("up"),
        "{listing_out}"
    );

    // Reinstalled server (new host key): refused loudly, the engine keeps retrying but never trusts it.
    sshd.kill();
    sshd.change_host_key();
    sshd.start();
    let changed = wait_for(
        &engine,
        Duration::from_secs(60),
        "changed host key refused",
        |s| {
            source(s, HOST)
                .filter(|src| src.state == SourceState::Unreachable)
                .and_then(|src| src.last_error.clone())
                .filter(|e| e.step == ErrorStep::HostKey)
        },
    )
    .await;
    assert!(
        changed.message.contains("THE HOST KEY HAS CHANGED"),
        "{changed:?}"
    );

    // Shut down: no forwarded socket and no ssh master left behind.
    engine.shutdown().await;
    let prefix = format!("{HOST}-{}-", std::process::id());
    let leftovers: Vec<_> = std::fs::read_dir(runtime_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let config_arg = sshd.ssh_config().to_string_lossy().into_owned();
    let masters: Vec<String> = processes_mentioning(&config_arg)
        .into_iter()
        .filter(|cmd| cmd.starts_with("ssh "))
        .collect();
    assert!(masters.is_empty(), "ssh processes left: {masters:?}");
    eprintln!("dropped connection detected after {detected_in:?} (interval {interval:?})");
}
