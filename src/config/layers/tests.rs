//! Layering without touching this process's environment: every test passes its variables and flags.

use std::io::Write;
use std::time::Duration;

use super::*;
use crate::config::ServerSelection;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    file
}

fn env(pairs: &[(&str, &str)]) -> Overrides {
    Overrides {
        variables: pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        flags: Vec::new(),
    }
}

fn load_with(text: &str, overrides: &Overrides) -> Result<Layered, ConfigError> {
    let file = file(text);
    load(Some(file.path()), overrides)
}

#[test]
fn defaults_then_file_then_environment_then_flags() {
    let mut overrides = env(&[
        ("DOCKTRAY_INTERVAL", "5s"),
        ("DOCKTRAY_HISTORY__RAW_RETENTION", "72h"),
        ("DOCKTRAY_THRESHOLDS__HOST_CPU_PERCENT__WARNING", "60"),
        ("DOCKTRAY_NOTIFICATIONS__ENABLED", "false"),
        ("DOCKTRAY_LOGS__RING_LINES", "200"),
    ]);
    overrides.flags = vec!["history.raw_retention=96h".to_owned()];
    let layered =
        load_with("interval = \"3s\"\n[alerts]\nhold = \"20s\"\n", &overrides).expect("loads");
    let config = &layered.config;
    assert_eq!(config.interval, Duration::from_secs(5));
    assert_eq!(config.alerts.hold, Duration::from_secs(20));
    assert_eq!(config.history.raw_retention, Duration::from_secs(96 * 3600));
    assert_eq!(config.thresholds.host_cpu_percent.warning, 60.0);
    assert!(!config.notifications.enabled);
    assert_eq!(config.logs.ring_lines, 200);
    assert_eq!(
        layered.origin("interval"),
        Some(&Origin::Env("DOCKTRAY_INTERVAL".to_owned()))
    );
    assert_eq!(layered.origin("alerts.hold"), Some(&Origin::File));
    assert_eq!(
        layered.origin("history.raw_retention"),
        Some(&Origin::Flag("history.raw_retention=96h".to_owned()))
    );
    assert_eq!(layered.origin("alerts.cooldown"), None);
}

#[test]
fn entries_are_numbered_and_may_change_the_files_own() {
    let text = "[[webdock]]\nname = \"work\"\n";
    let layered = load_with(
        text,
        &env(&[
            ("DOCKTRAY_WEBDOCK__0__INTERVAL", "2m"),
            ("DOCKTRAY_WEBDOCK__1__NAME", "clients"),
            ("DOCKTRAY_WEBDOCK__1__SERVERS", "[\"a\", \"b\"]"),
        ]),
    )
    .expect("loads");
    let accounts = &layered.config.webdock;
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0].name, "work");
    assert_eq!(accounts[0].interval, Duration::from_secs(120));
    assert_eq!(accounts[1].name, "clients");
    assert_eq!(
        accounts[1].servers,
        ServerSelection::Slugs(vec!["a".to_owned(), "b".to_owned()])
    );
    assert_eq!(layered.origin("webdock[0].name"), Some(&Origin::File));
    let gap = load_with(text, &env(&[("DOCKTRAY_WEBDOCK__3__NAME", "x")])).unwrap_err();
    let message = gap.to_string();
    assert!(message.contains("DOCKTRAY_WEBDOCK__3__NAME"), "{message}");
    assert!(message.contains("next one is number 1"), "{message}");
}

#[test]
fn a_bad_value_names_the_variable_and_the_fix() {
    let message = load_with("", &env(&[("DOCKTRAY_INTERVAL", "10ms")]))
        .unwrap_err()
        .to_string();
    assert!(message.contains("DOCKTRAY_INTERVAL"), "{message}");
    assert!(
        message.contains("between \"250ms\" and \"1h\""),
        "{message}"
    );
    assert!(message.contains("change or unset it"), "{message}");

    let message = load_with("", &env(&[("DOCKTRAY_LOGS__RING_LINES", "many")]))
        .unwrap_err()
        .to_string();
    assert!(message.contains("DOCKTRAY_LOGS__RING_LINES"), "{message}");
    assert!(message.contains("not a whole number"), "{message}");

    let message = load_with("", &env(&[("DOCKTRAY_HISTORY__RETENTION", "1d")]))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("no setting `history.retention`"),
        "{message}"
    );

    let message = load_with("", &env(&[("DOCKTRAY_ALERTS__HOLD", "soon")]))
        .unwrap_err()
        .to_string();
    assert!(message.contains("DOCKTRAY_ALERTS__HOLD"), "{message}");

    let flag = Overrides {
        variables: Vec::new(),
        flags: vec!["interval".to_owned()],
    };
    let message = load_with("", &flag).unwrap_err().to_string();
    assert!(message.contains("--set interval"), "{message}");
    assert!(message.contains("KEY=VALUE"), "{message}");
}

#[test]
fn mistakes_in_the_file_still_name_the_file() {
    let file = file("interval = \"1x\"\n");
    let message = load(
        Some(file.path()),
        &env(&[("DOCKTRAY_LOGS__RING_LINES", "10")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.contains(&file.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("interval"), "{message}");
}

#[test]
fn variables_that_are_not_settings_are_left_alone() {
    let layered = load_with(
        "",
        &env(&[
            ("DOCKTRAY_LOG", "debug"),
            ("DOCKTRAY_WEBDOCK_TOKEN_WORK", "secret"),
            ("DOCKTRAY_HISTORY", "x"),
        ]),
    )
    .expect("loads");
    assert_eq!(layered.config, Config::default());
    assert!(layered.origins.is_empty(), "{:?}", layered.origins);
}

#[test]
fn dockpeek_variables_become_webdock_accounts_with_their_own_token_variable() {
    let layered = load_with(
        "[[webdock]]\nname = \"mine\"\n",
        &env(&[
            ("WEBDOCK_API_TOKEN_1", "t1"),
            ("WEBDOCK_SERVER_SLUG_1", "prod-server"),
            ("WEBDOCK_API_TOKEN_2_FILE", "/run/secrets/webdock"),
            ("WEBDOCK_SERVER_SLUG_2", "staging-server"),
        ]),
    )
    .expect("loads");
    let accounts = &layered.config.webdock;
    assert_eq!(accounts.len(), 3);
    assert_eq!(accounts[1].name, "webdock-1");
    assert_eq!(
        accounts[1].servers,
        ServerSelection::Slugs(vec!["prod-server".to_owned()])
    );
    assert_eq!(
        accounts[1].token_variable.as_deref(),
        Some("WEBDOCK_API_TOKEN_1")
    );
    assert_eq!(accounts[2].name, "webdock-2");
    assert_eq!(
        accounts[2].token_variable.as_deref(),
        Some("WEBDOCK_API_TOKEN_2")
    );
    // The token itself is nowhere in the configuration.
    let text = toml::to_string(&layered.config).expect("serialises");
    assert!(!text.contains("t1"), "{text}");
    assert_eq!(
        layered.origin("webdock[1].servers"),
        Some(&Origin::Env("WEBDOCK_SERVER_SLUG_1".to_owned()))
    );
}

#[test]
fn nothing_is_layered_without_overrides() {
    let layered = load_with("interval = \"4s\"\n", &Overrides::default()).expect("loads");
    assert_eq!(layered.config.interval, Duration::from_secs(4));
    assert_eq!(layered.origin("interval"), Some(&Origin::File));
    assert_eq!(layered.overridden().count(), 0);
}

#[test]
fn what_the_environment_set_stays_out_of_the_file() {
    let existing = "interval = \"3s\"\n[[webdock]]\nname = \"work\"\n";
    let overrides = env(&[
        ("DOCKTRAY_INTERVAL", "5s"),
        ("DOCKTRAY_HISTORY__RAW_RETENTION", "72h"),
        ("WEBDOCK_API_TOKEN_1", "t"),
        ("WEBDOCK_SERVER_SLUG_1", "shop1"),
    ]);
    let mut edited = load_with(existing, &overrides).expect("loads").config;
    assert_eq!(edited.webdock.len(), 2);
    // The user changes one thing in the window.
    edited.alerts.cooldown = Duration::from_secs(600);
    let saved = without_overrides(&edited, existing, &overrides).expect("strips");
    assert_eq!(saved.alerts.cooldown, Duration::from_secs(600));
    assert_eq!(
        saved.interval,
        Duration::from_secs(3),
        "the file's own value"
    );
    assert_eq!(
        saved.history.raw_retention,
        Duration::from_secs(48 * 3600),
        "the default"
    );
    assert_eq!(
        saved.webdock.len(),
        1,
        "the Dockpeek account stays in the environment"
    );
    assert_eq!(saved.webdock[0].name, "work");
    assert!(saved.webdock[0].token_variable.is_none());
}
