//! Tokens in the real OS keychain: gnome-keyring's Secret Service on a private D-Bus with a temp HOME
//! (tests/common/keyring.rs). `docktray webdock login` in one process stores the token, a second process reads
//! it (and so does `secret-tool`, an independent client: it is not an in-memory stand-in), logout removes it,
//! and a locked or absent keychain gives the documented message while everything else keeps being watched.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::keyring::Keychain;
use common::webdock::WebdockFixture;

const TOKEN: &str = "dtt-keychain-token-93c7e1";

fn write_config(keychain: &Keychain, fixture: &WebdockFixture) -> PathBuf {
    let path = keychain.home().join(".config/config.toml");
    std::fs::write(
        &path,
        format!(
            "[[webdock]]\nname = \"work\"\nservers = [\"shop1\"]\nbase_url = \"{}\"\ntimeout = \"5s\"\n\
             [history]\nenabled = false\n",
            fixture.url()
        ),
    )
    .expect("write config");
    path
}

fn docktray(keychain: &Keychain, config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("DOCKTRAY_WEBDOCK_TOKEN_WORK")
        .env_remove("DOCKTRAY_WEBDOCK_TOKEN_WORK_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    keychain.apply(&mut command);
    let mut child = command.spawn().expect("run docktray");
    if let Some(mut pipe) = child.stdin.take() {
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let output = child.wait_with_output().expect("docktray output");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!all.contains(TOKEN), "the token was printed: {all}");
    output
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn lookup(keychain: &Keychain) -> String {
    let out = keychain.secret_tool(&["lookup", "service", "docktray-webdock", "username", "work"]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn login_stores_in_the_keychain_a_second_process_reads_it_and_logout_removes_it() {
    let keychain = Keychain::start();
    let fixture = WebdockFixture::start(TOKEN);
    let config = write_config(&keychain, &fixture);

    // A token Webdock rejects is not stored.
    let out = docktray(
        &keychain,
        &config,
        &["webdock", "login", "work"],
        Some("wrong-token\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("rejected the token"), "{}", text(&out));
    assert_eq!(lookup(&keychain), "");

    let out = docktray(
        &keychain,
        &config,
        &["webdock", "login", "work"],
        Some(&format!("{TOKEN}\n")),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("stored in the OS keychain"),
        "{}",
        text(&out)
    );
    let checks: Vec<String> = fixture
        .requests()
        .iter()
        .filter(|r| r.authorized)
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        checks,
        ["/ping", "/servers"],
        "login checks /ping and /servers first"
    );
    // In gnome-keyring itself, readable by another Secret Service client.
    assert_eq!(lookup(&keychain), TOKEN);
    let keyrings: Vec<_> = std::fs::read_dir(keychain.keyrings_dir())
        .expect("gnome-keyring wrote its keyring files under the temp HOME")
        .filter_map(Result::ok)
        .collect();
    assert!(!keyrings.is_empty());
    for file in &keyrings {
        let bytes = std::fs::read(file.path()).expect("keyring file");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TOKEN),
            "{:?} holds the token in clear",
            file.path()
        );
    }

    // A second process finds it there.
    let before = fixture.count("/servers");
    let out = docktray(&keychain, &config, &["webdock", "servers", "--json"], None);
    assert!(out.status.success(), "{}", text(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(listed[0]["account"], "work");
    assert_eq!(listed[0]["servers"][0]["slug"], "shop1");
    assert_eq!(listed[0]["servers"][0]["watched"], true);
    assert_eq!(listed[0]["servers"][1]["watched"], false);
    assert_eq!(fixture.count("/servers"), before + 1);
    assert!(
        fixture.requests().last().is_some_and(|r| r.authorized),
        "the second process sent the stored token"
    );

    let out = docktray(&keychain, &config, &["webdock", "logout", "work"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("removed from the OS keychain"),
        "{}",
        text(&out)
    );
    assert_eq!(lookup(&keychain), "");
    let out = docktray(&keychain, &config, &["webdock", "servers"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no token for Webdock account 'work'"),
        "{}",
        text(&out)
    );
    let out = docktray(&keychain, &config, &["webdock", "logout", "work"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("nothing to remove"), "{}", text(&out));
}

const KEYCHAIN_MESSAGE: &str = "the OS keychain cannot be used";

#[test]
fn a_locked_keychain_is_reported_and_everything_else_is_still_watched() {
    let keychain = Keychain::start();
    let fixture = WebdockFixture::start(TOKEN);
    let config = write_config(&keychain, &fixture);
    let out = docktray(
        &keychain,
        &config,
        &["webdock", "login", "work"],
        Some(TOKEN),
    );
    assert!(out.status.success(), "{}", text(&out));
    keychain.lock();

    let out = docktray(&keychain, &config, &["webdock", "servers"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let message = text(&out);
    assert!(message.contains(KEYCHAIN_MESSAGE), "{message}");
    assert!(message.contains("it is locked"), "{message}");
    assert!(message.contains("DOCKTRAY_WEBDOCK_TOKEN_WORK"), "{message}");

    // `status` still shows Docker and the host; the account is unreachable with the same reason.
    let out = docktray(&keychain, &config, &["status", "--json"], None);
    assert!(out.status.success(), "{}", text(&out));
    let snapshot: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let sources = snapshot["sources"].as_array().expect("sources");
    let account = sources
        .iter()
        .find(|s| s["kind"] == "webdock")
        .expect("the account is listed");
    assert_eq!(account["state"], "unreachable");
    assert!(
        account["reason"]
            .as_str()
            .is_some_and(|r| r.contains(KEYCHAIN_MESSAGE)),
        "{account}"
    );
    assert!(
        sources
            .iter()
            .any(|s| s["kind"] == "docker" && s["state"] == "up"),
        "{sources:?}"
    );
    assert!(
        snapshot["hosts"]
            .as_array()
            .is_some_and(|h| h.iter().any(|h| h["server_name"] == "local")),
        "the local host is still watched"
    );
}

#[test]
fn no_keychain_at_all_is_reported_and_env_tokens_still_work() {
    let keychain = Keychain::bus_only();
    let fixture = WebdockFixture::start(TOKEN);
    let config = write_config(&keychain, &fixture);
    let out = docktray(&keychain, &config, &["webdock", "servers"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(KEYCHAIN_MESSAGE), "{}", text(&out));

    // Headless: the token from a file named by DOCKTRAY_WEBDOCK_TOKEN_WORK_FILE (Docker secrets).
    let secret_dir = tempfile::tempdir().expect("tempdir");
    let secret = secret_dir.path().join("webdock_token");
    std::fs::write(&secret, format!("{TOKEN}\n")).expect("write secret");
    let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
    command
        .arg("--config")
        .arg(&config)
        .args(["webdock", "servers"])
        .env_remove("DOCKTRAY_WEBDOCK_TOKEN_WORK")
        .env("DOCKTRAY_WEBDOCK_TOKEN_WORK_FILE", &secret);
    keychain.apply(&mut command);
    let out = command.output().expect("run docktray");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("shop1"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(TOKEN));
}
