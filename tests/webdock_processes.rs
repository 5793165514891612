//! The Webdock cache and rate-limit state are shared across processes: the built `docktray` binary run twice
//! against the local Webdock fixture (tests/common/webdock.rs), the second run's requests counted by the fixture.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::webdock::{Reply, WebdockFixture};

const TOKEN: &str = "dtt-test-token-5b1e";

/// The `docktray` binary with a private HOME and XDG directories under `dir`, the token in the environment.
struct Cli {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Cli {
    fn new(fixture: &WebdockFixture) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[history]\nenabled = false\n\
                 [[webdock]]\nname = \"work\"\nservers = \"all\"\nbase_url = \"{}\"\n",
                fixture.url()
            ),
        )
        .expect("write config");
        Self { dir, config }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `~/.cache/docktray/webdock/work`.
    fn cache(&self) -> PathBuf {
        self.home().join(".cache/docktray/webdock/work")
    }

    fn run(&self, args: &[&str]) -> Output {
        let home = self.home();
        Command::new(env!("CARGO_BIN_EXE_docktray"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("DOCKTRAY_WEBDOCK_TOKEN_WORK", TOKEN)
            .env("DOCKTRAY_LOG", "docktray=trace")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .output()
            .expect("run docktray")
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.push(path.clone());
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

fn vps_row(output: &Output, slug: &str) -> serde_json::Value {
    let snapshot: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", text(output)));
    snapshot["hosts"]
        .as_array()
        .and_then(|hosts| hosts.iter().find(|h| h["server_name"] == slug))
        .cloned()
        .unwrap_or_else(|| panic!("no row for {slug}: {}", text(output)))
}

#[test]
fn a_second_process_within_the_ttl_sends_nothing_to_cached_endpoints() {
    let fixture = WebdockFixture::start(TOKEN);
    let cli = Cli::new(&fixture);

    let first = cli.run(&["webdock", "servers", "--json"]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(fixture.count("/servers"), 1);
    let sent = fixture.total();
    let second = cli.run(&["webdock", "servers", "--json"]);
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(
        fixture.total(),
        sent,
        "the second process sent requests: {:?}",
        fixture.requests()
    );
    assert_eq!(
        first.stdout, second.stdout,
        "the same answer, from the cache"
    );
    // The budget the first process learnt is what the second one shows.
    let listed: serde_json::Value = serde_json::from_slice(&second.stdout).expect("JSON");
    assert_eq!(listed[0]["rate_limit"]["remaining"], 4999, "{listed}");
    assert!(
        text(&second).contains("Webdock reply from the shared cache"),
        "{}",
        text(&second)
    );

    // `status` reads profiles and each server's instant metrics, and the server list from the cache the
    // `webdock servers` process filled; a second `status` sends nothing at all.
    let status = cli.run(&["status", "--json"]);
    assert_eq!(vps_row(&status, "shop1")["memory"]["percent"], 25.0);
    assert_eq!(fixture.count("/servers"), 1);
    assert_eq!(fixture.count("/profiles"), 1);
    assert_eq!(fixture.count("/servers/shop1/metrics/now"), 1);
    assert_eq!(fixture.count("/servers/blog1/metrics/now"), 1);
    let sent = fixture.total();
    let again = cli.run(&["status", "--json"]);
    assert_eq!(vps_row(&again, "shop1")["memory"]["percent"], 25.0);
    assert_eq!(vps_row(&again, "blog1")["cpu"]["percent"], 5.0);
    assert_eq!(
        fixture.total(),
        sent,
        "the second status sent requests: {:?}",
        fixture.requests()
    );

    // The files are the user's alone and hold no token.
    let mut found = Vec::new();
    files_under(&cli.cache(), &mut found);
    assert!(found.len() >= 6, "{found:?}");
    for path in &found {
        let meta = std::fs::metadata(path).expect("metadata");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let expected = if meta.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(
                meta.permissions().mode() & 0o777,
                expected,
                "{}",
                path.display()
            );
        }
        if meta.is_file() {
            let bytes = std::fs::read(path).expect("read");
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "{} holds the token",
                path.display()
            );
        }
    }

    // A corrupt entry is a miss: the next process asks Webdock again and says nothing alarming.
    let servers_file = found
        .iter()
        .find(|p| p.ends_with("_servers%3Fstatus%3Dall.json"))
        .expect("the server list's file")
        .clone();
    std::fs::write(&servers_file, "{\"version\": 1, \"body\": [oops").expect("corrupt");
    let repaired = cli.run(&["webdock", "servers", "--json"]);
    assert!(repaired.status.success(), "{}", text(&repaired));
    let servers = |output: &Output| {
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("JSON")[0]["servers"]
            .clone()
    };
    assert_eq!(servers(&first), servers(&repaired));
    assert_eq!(fixture.count("/servers"), 2);
    assert!(
        text(&repaired).contains("Webdock cache file corrupt; ignored"),
        "{}",
        text(&repaired)
    );
}

#[test]
fn after_a_429_a_second_process_sends_nothing_until_the_reset() {
    let fixture = WebdockFixture::start(TOKEN);
    let cli = Cli::new(&fixture);
    let reset = chrono::Utc::now().timestamp() + 4;
    fixture.script("/servers", Reply::too_many_epoch(reset));

    let first = cli.run(&["webdock", "servers", "--json"]);
    assert!(!first.status.success(), "{}", text(&first));
    assert_eq!(fixture.total(), 1);
    let listed: serde_json::Value = serde_json::from_slice(&first.stdout).expect("JSON");
    assert!(
        listed[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no requests until")),
        "{listed}"
    );

    // Other processes, other endpoints: nothing reaches Webdock before the reset.
    let second = cli.run(&["webdock", "servers", "--json"]);
    assert!(!second.status.success());
    assert!(
        text(&second).contains("no requests until"),
        "{}",
        text(&second)
    );
    let listed: serde_json::Value = serde_json::from_slice(&second.stdout).expect("JSON");
    assert_eq!(
        listed[0]["rate_limit"]["blocked_until"],
        serde_json::json!(chrono::DateTime::from_timestamp(reset, 0).expect("time")),
        "{listed}"
    );
    let status = cli.run(&["status", "--json"]);
    let snapshot: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    let account = snapshot["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["kind"] == "webdock"))
        .expect("the account's source")
        .clone();
    assert!(
        account["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no requests until")),
        "{account}"
    );
    assert!(
        chrono::Utc::now().timestamp() < reset,
        "the check ran past the reset; it proves nothing"
    );
    assert_eq!(
        fixture.total(),
        1,
        "requests were sent while rate limited: {:?}",
        fixture.requests()
    );

    // After the reset the next process asks again.
    while chrono::Utc::now().timestamp() <= reset {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = cli.run(&["webdock", "servers", "--json"]);
    assert!(after.status.success(), "{}", text(&after));
    assert_eq!(fixture.count("/servers"), 2);
}
