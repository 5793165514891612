//! `docktray hosts discover` offers the hosts of an ssh_config file and the files it includes, resolved by the
//! real `ssh -G`, skipping patterns and hosts already configured.

use std::process::Command;

#[test]
fn ssh_config_hosts_and_their_includes_are_offered_as_hosts_to_add() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ssh = dir.path().join(".ssh");
    std::fs::create_dir_all(ssh.join("conf.d")).expect("dirs");
    let included = ssh.join("conf.d").join("work.conf");
    std::fs::write(
        &included,
        "Host build-01\n  HostName 10.9.8.7\n  User ci\n  Port 2200\n",
    )
    .expect("included file");
    let config = ssh.join("config");
    // An absolute Include: `ssh -G` resolves relative ones against the real user's ~/.ssh, not this test's.
    std::fs::write(
        &config,
        format!(
            "Include {}\n\nHost nas\n  HostName nas.example.lan\n  User admin\n\nHost *.internal\n  User ops\n\n\
             Host configured\n  HostName 10.0.0.9\n",
            ssh.join("conf.d").join("*.conf").display()
        ),
    )
    .expect("config");
    let docktray_config = dir.path().join("docktray.toml");
    std::fs::write(
        &docktray_config,
        "[[hosts]]\nname = \"configured\"\ndestination = \"configured\"\n",
    )
    .expect("docktray config");
    let output = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(["--config"])
        .arg(&docktray_config)
        .args(["hosts", "discover", "--json", "--ssh-config"])
        .arg(&config)
        .env("HOME", dir.path())
        .env("DOCKER_CONFIG", dir.path().join("no-docker"))
        .env_remove("DOCKER_HOST")
        .output()
        .expect("run docktray");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let found = found["hosts"].as_array().expect("a list of hosts");
    let by_name = |name: &str| found.iter().find(|d| d["name"] == name);
    let nas = by_name("nas").unwrap_or_else(|| panic!("nas offered: {found:?}"));
    assert_eq!(nas["destination"], "nas");
    assert_eq!(nas["origin"], "ssh_config");
    assert_eq!(nas["resolved"], "admin@nas.example.lan");
    let build = by_name("build-01").unwrap_or_else(|| panic!("the included host: {found:?}"));
    assert_eq!(build["resolved"], "ci@10.9.8.7:2200");
    assert!(
        by_name("configured").is_none(),
        "already configured: {found:?}"
    );
    assert!(
        found
            .iter()
            .all(|d| !d["destination"].as_str().unwrap_or("*").contains('*')),
        "patterns are not hosts: {found:?}"
    );
    // The plain listing prints the command to run.
    let output = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(["--config"])
        .arg(&docktray_config)
        .args(["hosts", "discover", "--ssh-config"])
        .arg(&config)
        .env("HOME", dir.path())
        .env("DOCKER_CONFIG", dir.path().join("no-docker"))
        .env_remove("DOCKER_HOST")
        .output()
        .expect("run docktray");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("docktray hosts add nas nas"), "{text}");
}
