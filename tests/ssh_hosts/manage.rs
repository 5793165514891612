//! Hosts managed while running: a dedicated key installed with consent, hosts added and removed at once.

use super::*;

/// `docktray hosts add NAME DEST --setup-key`: with consent, a dedicated key is generated, installed once in
/// the remote ~/.ssh/authorized_keys with the login that works, and saved as the host's identity, with which
/// alone the host then logs in; without consent nothing is generated, installed or saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_key_installs_a_dedicated_key_only_with_consent() {
    runtime_dir();
    let sshd = TestSshd::new();
    // A user of its own, so the key lands in a real remote home that is not root's.
    let user = TempUser::new("dtk", sshd.dir.path());
    let dockerd = PrivateDockerd::new("dtk", "203.0.113.1/24");
    // The user (in the docker group) reaches the engine's socket through its directory.
    Command::new("chmod")
        .args(["0711", &dockerd.root.path().to_string_lossy()])
        .status()
        .expect("chmod");
    std::fs::write(
        sshd.path("known_hosts"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .expect("known_hosts");
    let local_home = sshd.path("local-home");
    std::fs::create_dir_all(&local_home).expect("local home");
    let config = sshd.path("docktray.toml");
    std::fs::write(&config, "# hosts set up by the test\n").expect("config");
    let destination = format!("{}@127.0.0.1:{}", user.name, sshd.port);
    let socket = dockerd.socket().to_string_lossy().into_owned();
    let add = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_docktray"))
            .env("HOME", &local_home)
            .arg("--config")
            .arg(&config)
            .args(["hosts", "add", "far", &destination, "--socket", &socket])
            .arg("--ssh-config")
            .arg(sshd.ssh_config())
            // The login that works now: the harness key, given explicitly.
            .arg("--identity")
            .arg(sshd.path("id"))
            .args(extra)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run docktray")
    };
    let key = local_home.join(".ssh/docktray_far_ed25519");
    let authorized = user.home.join(".ssh/authorized_keys");

    // No consent (no terminal to ask on, no --yes): nothing generated, installed or saved.
    let refused = add(&["--setup-key"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("without confirmation"), "{stderr}");
    assert!(!key.exists() && !keysetup::public_path(&key).exists());
    assert!(!authorized.exists(), "nothing was installed on the host");
    assert!(!std::fs::read_to_string(&config)
        .expect("config")
        .contains("far"));

    // With consent: generated, installed, checked with the new key, saved.
    let done = add(&["--setup-key", "--yes"]);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("Generated"), "{stdout}");
    assert!(stdout.contains("Added the key to"), "{stdout}");
    assert_eq!(mode(&key), 0o600);
    let public = std::fs::read_to_string(keysetup::public_path(&key)).expect("public key");
    let installed = std::fs::read_to_string(&authorized).expect("authorized_keys");
    assert_eq!(installed, public, "exactly the new key, once");
    assert_eq!(mode(&authorized), 0o600);
    assert_eq!(mode(&user.home.join(".ssh")), 0o700);
    let saved = docktray::Config::load(Some(&config)).expect("saved config");
    let host = saved.hosts.first().expect("the host").clone();
    assert_eq!(host.name, "far");
    assert_eq!(host.identity_file.as_deref(), Some(key.as_path()));
    assert!(std::fs::read_to_string(&config)
        .expect("config")
        .contains("# hosts set up by the test"));

    // Installing again adds nothing.
    assert_eq!(
        keysetup::install_key(&host, public.trim())
            .await
            .expect("install again"),
        keysetup::Installed::AlreadyThere
    );
    assert_eq!(
        std::fs::read_to_string(&authorized).expect("authorized_keys"),
        public
    );

    // The new key alone logs in (the ssh_config offers only a key the host does not accept besides it) ...
    let steps = check::check_host(&host).await;
    assert!(steps.iter().all(|s| s.ok), "{steps:?}");
    assert_eq!(steps.last().map(|s| s.step.as_str()), Some("Docker"));
    // ... and without it the same login is refused.
    let mut without = host.clone();
    without.identity_file = None;
    let refused = open_error(&without).await;
    assert_eq!(refused.step, ErrorStep::Auth, "{refused}");

    // Run again, the key pair is kept (never overwritten) and not installed twice.
    let private = std::fs::read(&key).expect("private key");
    std::fs::write(&config, "").expect("config");
    let again = add(&["--setup-key", "--yes"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(stdout.contains("already in"), "{stdout}");
    assert_eq!(std::fs::read(&key).expect("private key"), private);
    assert_eq!(
        std::fs::read_to_string(&authorized).expect("authorized_keys"),
        public
    );
}

/// Hosts added, removed and changed while the engine runs take effect at once: an added host is connected
/// and its containers appear, a removed one leaves nothing behind (state, alerts, sockets, ssh master), and
/// neither removing nor re-adding raises "unreachable".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_added_and_removed_while_running_apply_at_once() {
    const LIVE: &str = "live";
    runtime_dir();
    let sshd = TestSshd::new();
    let dockerd = PrivateDockerd::new("dtl", "198.18.7.1/24");
    dockerd.load_test_image();
    dockerd.docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--label",
        "docktray.test=1",
        "--name",
        "livebox",
        &image(),
        "sh",
        "-c",
        "while :; do sleep 1; done",
    ]);
    std::fs::write(
        sshd.path("known_hosts"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .expect("known_hosts");
    let host = sshd.host(LIVE, "dt-remote", &dockerd.socket().to_string_lossy());
    let config_arg = sshd.ssh_config().to_string_lossy().into_owned();
    let masters = || -> Vec<String> {
        processes_mentioning(&config_arg)
            .into_iter()
            .filter(|cmd| cmd.starts_with("ssh "))
            .collect()
    };
    let prefix = format!("{LIVE}-{}-", std::process::id());
    let sockets = || -> Vec<String> {
        std::fs::read_dir(runtime_dir())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(&prefix))
            .collect()
    };
    let up_with_container = |s: &docktray::Snapshot| {
        let up = source(s, LIVE).is_some_and(|src| src.state == SourceState::Up);
        let container = s
            .containers
            .iter()
            .find(|c| c.info.name == "livebox" && c.info.host == LIVE)
            .filter(|c| c.info.state == ContainerState::Running);
        let figures = s.hosts.iter().any(|h| h.server_name == LIVE);
        (up && figures).then_some(container?.info.id.clone())
    };

    // Started with the local engine only.
    let engine = start_engine(test_config()).await;
    let mut updates = engine.subscribe();
    assert!(!engine.retry_now(LIVE));
    assert!(source(&engine.snapshot(), LIVE).is_none());

    // Added while running: connected, its container tagged with its name, its figures and status up.
    engine.set_hosts(std::slice::from_ref(&host)).await;
    assert!(engine.retry_now(LIVE));
    let first_id = wait_for(
        &engine,
        Duration::from_secs(60),
        "the added host up with its container and figures",
        up_with_container,
    )
    .await;
    assert!(engine.client_for(LIVE).is_ok());
    assert_eq!(sockets().len(), 1, "the forwarded socket: {:?}", sockets());
    assert!(!masters().is_empty(), "no ssh master while the host is up");

    // Removed: once set_hosts returns, nothing of it is left, and no "unreachable" is raised for it.
    engine.set_hosts(&[]).await;
    let assert_gone = |s: &docktray::Snapshot| {
        assert!(
            s.containers.iter().all(|c| c.info.host != LIVE),
            "{:?}",
            s.containers
        );
        assert!(
            s.hosts.iter().all(|h| h.server_name != LIVE),
            "{:?}",
            s.hosts
        );
        assert!(
            s.sources.iter().all(|src| src.name != LIVE),
            "{:?}",
            s.sources
        );
        assert!(
            s.alerts.iter().all(|a| a.target.host != LIVE),
            "{:?}",
            s.alerts
        );
    };
    assert_gone(&engine.snapshot());
    assert!(sockets().is_empty(), "sockets left: {:?}", sockets());
    assert!(masters().is_empty(), "ssh processes left: {:?}", masters());
    assert!(!engine.retry_now(LIVE));
    let err = engine
        .client_for(LIVE)
        .expect_err("no client for a removed host");
    assert!(err.to_string().contains("no host named live"), "{err}");
    // Nothing comes back for it later either (a late sample, a failure report).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_gone(&engine.snapshot());
    let mut removed = false;
    while let Ok(update) = updates.try_recv() {
        match update {
            docktray::Update::HostRemoved { host } if host == LIVE => removed = true,
            docktray::Update::Source(status) if status.name == LIVE => assert!(
                !removed && status.state != SourceState::Unreachable,
                "{status:?}"
            ),
            docktray::Update::Alert(change) if change.alert.target.host == LIVE => {
                assert!(change.alert.metric != "unreachable", "{:?}", change.alert)
            }
            _ => {}
        }
    }
    assert!(removed, "subscribers were not told the host is gone");

    // Re-added: watched again from scratch.
    engine.set_hosts(std::slice::from_ref(&host)).await;
    let again = wait_for(
        &engine,
        Duration::from_secs(60),
        "the re-added host up with its container",
        up_with_container,
    )
    .await;
    assert_eq!(again, first_id);

    // Changed (same name, another socket): the old session is replaced by one for the new settings.
    let mut moved = host.clone();
    moved.socket = "/run/docktray-test-nowhere.sock".to_owned();
    engine.set_hosts(std::slice::from_ref(&moved)).await;
    assert!(engine
        .snapshot()
        .containers
        .iter()
        .all(|c| c.info.host != LIVE));
    let failed = wait_for(
        &engine,
        Duration::from_secs(60),
        "the changed host tried with its new socket",
        |s| {
            source(s, LIVE)
                .filter(|src| src.state == SourceState::Unreachable)
                .cloned()
        },
    )
    .await;
    assert!(failed.endpoint.ends_with(&moved.socket), "{failed:?}");
    assert!(
        failed
            .reason
            .as_deref()
            .is_some_and(|r| r.contains(&moved.socket)),
        "{failed:?}"
    );

    engine.shutdown().await;
    assert!(sockets().is_empty(), "sockets left: {:?}", sockets());
    assert!(masters().is_empty(), "ssh processes left: {:?}", masters());
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o777
}
