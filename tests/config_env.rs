//! Settings from the environment and the command line, through the real `docktray` binary: precedence and
//! origins in `docktray config`, a bad variable stopping everything with its name in the message, and an old
//! Dockpeek `.env` (token and slug variables, also the token as a file) watching a server of the local Webdock
//! fixture without the token ever being printed.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::webdock::WebdockFixture;

const TOKEN: &str = "dtt-dockpeek-token-77c4";

fn docktray(home: &Path, config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("DOCKTRAY_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run docktray")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn setup(config_text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_text).expect("write config");
    (dir, config)
}

#[test]
fn config_shows_each_value_and_where_it_came_from() {
    let (dir, config) = setup("interval = \"3s\"\n[alerts]\nhold = \"20s\"\ncooldown = \"5m\"\n");
    let output = docktray(
        dir.path(),
        &config,
        &["--set", "alerts.hold=30s", "config"],
        &[
            ("DOCKTRAY_INTERVAL", "5s"),
            ("DOCKTRAY_THRESHOLDS__HOST_CPU_PERCENT__WARNING", "65"),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("interval = \"5s\"  # DOCKTRAY_INTERVAL"),
        "{shown}"
    );
    assert!(
        shown.contains("hold = \"30s\"  # --set alerts.hold=30s"),
        "{shown}"
    );
    assert!(shown.contains("cooldown = \"5m\"  # file"), "{shown}");
    assert!(
        shown.contains("warning = 65.0  # DOCKTRAY_THRESHOLDS__HOST_CPU_PERCENT__WARNING"),
        "{shown}"
    );
    // A default has no mark; the table's other fields keep their defaults.
    assert!(shown.contains("critical = 95.0\n"), "{shown}");
}

#[test]
fn a_bad_variable_stops_everything_and_names_itself() {
    let (dir, config) = setup("");
    for (name, value, expected) in [
        ("DOCKTRAY_INTERVAL", "10ms", "between \"250ms\" and \"1h\""),
        ("DOCKTRAY_LOGS__RING_LINES", "lots", "not a whole number"),
        ("DOCKTRAY_HISTORY__KEEP", "1d", "no setting `history.keep`"),
        (
            "DOCKTRAY_WEBDOCK__2__NAME",
            "x",
            "number entries from 0 without gaps",
        ),
    ] {
        let output = docktray(dir.path(), &config, &["status"], &[(name, value)]);
        assert_eq!(output.status.code(), Some(2), "{name}: {}", text(&output));
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains(expected), "{name}: {message}");
        assert!(message.contains("change or unset it"), "{name}: {message}");
        // Nothing started: no status table, no snapshot.
        assert!(output.stdout.is_empty(), "{name}: {}", text(&output));
    }
    let output = docktray(dir.path(), &config, &["--set", "interval", "status"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--set interval"));
}

#[test]
fn an_old_dockpeek_env_file_works_unchanged() {
    let fixture = WebdockFixture::start(TOKEN);
    let (dir, config) = setup("[history]\nenabled = false\n");
    let secret = dir.path().join("webdock_token");
    std::fs::write(&secret, format!("{TOKEN}\n")).expect("write the secret");
    let secret = secret.display().to_string();
    let base_url = format!("webdock.0.base_url={}", fixture.url());
    let base_url_2 = format!("webdock.1.base_url={}", fixture.url());
    let env = [
        ("WEBDOCK_API_TOKEN_1", TOKEN),
        ("WEBDOCK_SERVER_SLUG_1", "shop1"),
        ("WEBDOCK_API_TOKEN_2_FILE", secret.as_str()),
        ("WEBDOCK_SERVER_SLUG_2", "blog1"),
    ];
    let args = [
        "--set",
        base_url.as_str(),
        "--set",
        base_url_2.as_str(),
        "webdock",
        "servers",
        "--json",
    ];
    let output = docktray(dir.path(), &config, &args, &env);
    assert!(output.status.success(), "{}", text(&output));
    let accounts: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", text(&output)));
    let accounts = accounts.as_array().expect("a list of accounts");
    let names: Vec<&str> = accounts
        .iter()
        .filter_map(|a| a["account"].as_str())
        .collect();
    assert_eq!(names, ["webdock-1", "webdock-2"], "{accounts:?}");
    for account in accounts {
        assert!(account["error"].is_null(), "{account}");
        let slugs: Vec<&str> = account["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .filter_map(|s| s["slug"].as_str())
            .collect();
        assert!(slugs.contains(&"shop1"), "{account}");
    }
    // The fixture saw the token from the variable and from the file.
    assert!(fixture.total() >= 2, "{:?}", fixture.requests());
    let shown = docktray(
        dir.path(),
        &config,
        &["--set", base_url.as_str(), "config"],
        &env,
    );
    assert!(shown.status.success(), "{}", text(&shown));
    let shown = text(&shown);
    assert!(
        shown.contains("servers = [\"shop1\"]  # WEBDOCK_SERVER_SLUG_1"),
        "{shown}"
    );
    assert!(
        shown.contains("token_variable = \"WEBDOCK_API_TOKEN_2\""),
        "{shown}"
    );
    assert!(
        !shown.contains(TOKEN),
        "the token must never be shown: {shown}"
    );
}

#[test]
fn the_log_file_gets_plain_info_lines_and_rotates() {
    let (dir, config) = setup("[history]\nenabled = false\n");
    let log = dir.path().join("logs").join("docktray.log");
    let log_text = log.display().to_string();
    // The engine is reached (or not: its line says which); either way the start is logged at info level.
    let output = docktray(
        dir.path(),
        &config,
        &["status", "--json"],
        &[("DOCKTRAY_LOG__FILE", log_text.as_str())],
    );
    let written = std::fs::read_to_string(&log)
        .unwrap_or_else(|err| panic!("no log file at {log_text}: {err}; {}", text(&output)));
    // Info level: the start's own lines (the engine up, or why not), nothing finer.
    assert!(
        written.contains(" INFO ") || written.contains(" WARN "),
        "{written}"
    );
    assert!(
        !written.contains(" DEBUG ") && !written.contains(" TRACE "),
        "{written}"
    );
    assert!(
        !written.contains('\u{1b}'),
        "no colour codes in a file: {written}"
    );
    // The terminal stays quiet without -v.
    assert!(!String::from_utf8_lossy(&output.stderr).contains(" INFO "));

    // Limits from flags (the rotation itself is tested with byte-sized limits in src/logfile.rs): trace lines
    // are appended and the file stays within its limit.
    let before = std::fs::metadata(&log).expect("log").len();
    for _ in 0..3 {
        let output = docktray(
            dir.path(),
            &config,
            &[
                "--set",
                &format!("log.file={log_text}"),
                "--set",
                "log.max_size_mb=1",
                "--set",
                "log.keep=1",
                "-v",
                "status",
            ],
            &[("DOCKTRAY_LOG", "trace")],
        );
        assert!(
            !text(&output).contains("cannot open the log file"),
            "{}",
            text(&output)
        );
    }
    let size = std::fs::metadata(&log).expect("log").len();
    assert!(
        size > before,
        "trace lines were appended: {size} <= {before}"
    );
    assert!(size <= 1024 * 1024, "{size}");
    assert!(!dir.path().join("logs").join("docktray.log.2").exists());

    let output = docktray(
        dir.path(),
        &config,
        &["status"],
        &[("DOCKTRAY_LOG__KEEP", "0")],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DOCKTRAY_LOG__KEEP"));
}
