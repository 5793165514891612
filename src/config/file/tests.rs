//! Unit tests of `file`.

use std::time::Duration;

use super::*;
use crate::config::{Override, ThresholdOverride};

const PATH: &str = "/tmp/docktray-config-file-test.toml";

fn update(existing: &str, config: &Config) -> String {
    update_text(existing, config, Path::new(PATH)).expect("saves")
}

fn parse(text: &str) -> Config {
    Config::parse(text, Path::new(PATH)).expect("reads back")
}

const HAND_WRITTEN: &str = r#"# My Docktray settings.
interval = "5s"   # every five seconds

[logs]
ring_lines = 10000

[thresholds.container_cpu_percent]
warning = 60 # a bit early
critical = 85

[notifications]
# Not at night.
quiet_hours = "22:00-07:00"

# Batch jobs may use all the CPU they want.
[[overrides]]
label = "com.example.role=batch"
thresholds.container_cpu_percent = { enabled = false }

# The database may use more memory before we worry.
[[overrides]]
service = "db"
thresholds.container_memory_percent = { warning = 90, critical = 98 }
"#;

#[test]
fn unchanged_settings_leave_the_file_byte_for_byte() {
    let config = parse(HAND_WRITTEN);
    assert_eq!(update(HAND_WRITTEN, &config), HAND_WRITTEN);
}

#[test]
fn a_change_touches_only_its_value_and_keeps_comments() {
    let mut config = parse(HAND_WRITTEN);
    config.thresholds.container_cpu_percent.critical = 88.0;
    config.interval = Duration::from_secs(10);
    let text = update(HAND_WRITTEN, &config);
    let expected = HAND_WRITTEN
        .replace("interval = \"5s\"", "interval = \"10s\"")
        .replace("critical = 85", "critical = 88.0");
    assert_eq!(text, expected);
    assert_eq!(parse(&text), config);
}

#[test]
fn new_keys_are_added_only_when_not_default() {
    let mut config = parse(HAND_WRITTEN);
    config.thresholds.host_disk_percent.critical = 97.0;
    config.alerts.cooldown = Duration::from_secs(30 * 60);
    config.desktop.start_at_login = true;
    let text = update(HAND_WRITTEN, &config);
    assert!(text.starts_with("# My Docktray settings.\n"), "{text}");
    assert!(text.contains("# Not at night.\n"), "{text}");
    // A threshold needs both levels to load, so the unchanged warning comes along.
    assert!(
        text.contains("[thresholds.host_disk_percent]\nwarning = 80.0\ncritical = 97.0\n"),
        "{text}"
    );
    assert!(text.contains("[alerts]\ncooldown = \"30m\"\n"), "{text}");
    assert!(
        text.contains("[desktop]\nstart_at_login = true\n"),
        "{text}"
    );
    assert!(
        !text.contains("hysteresis_percent"),
        "defaults stay out: {text}"
    );
    assert!(
        !text.contains("host_cpu_percent"),
        "defaults stay out: {text}"
    );
    assert_eq!(parse(&text), config);
}

#[test]
fn empty_file_gets_only_what_differs_from_the_defaults() {
    let mut config = Config::default();
    assert_eq!(update("", &config), "");
    config.logs.ring_lines = 42;
    let text = update("", &config);
    assert_eq!(text.trim(), "[logs]\nring_lines = 42");
}

#[test]
fn overrides_are_updated_in_place_removed_and_appended() {
    let mut config = parse(HAND_WRITTEN);
    // Change the second override's inline table, drop the first, add a new one.
    config.overrides.remove(0);
    config.overrides[0]
        .thresholds
        .get_mut("container_memory_percent")
        .expect("present")
        .critical = Some(99.0);
    let mut thresholds = std::collections::BTreeMap::new();
    thresholds.insert(
        "host_cpu_percent".to_owned(),
        ThresholdOverride {
            warning: Some(90.0),
            critical: Some(99.0),
            ..Default::default()
        },
    );
    config.overrides.push(Override {
        container: None,
        service: None,
        label: None,
        host: Some("local".to_owned()),
        thresholds,
    });
    let text = update(HAND_WRITTEN, &config);
    assert_eq!(parse(&text), config);
    assert!(
        text.contains(
            "# The database may use more memory before we worry.\n[[overrides]]\nservice = \"db\""
        ),
        "the entry keeps its comment: {text}"
    );
    assert!(!text.contains("com.example.role=batch"), "{text}");
    assert!(
        !text.contains("# Batch jobs"),
        "a removed entry takes its comment: {text}"
    );
    assert!(
        text.contains("thresholds.container_memory_percent = { warning = 90, critical = 99.0 }"),
        "inline table kept inline: {text}"
    );
    assert!(text.contains("host = \"local\""), "{text}");
}

#[test]
fn cleared_optional_values_are_removed() {
    let text =
        "[thresholds.host_cpu_percent]\nwarning = 50\ncritical = 60\nhold = \"30s\" # slow\n";
    let mut config = parse(text);
    config.thresholds.host_cpu_percent.hold = None;
    let updated = update(text, &config);
    assert_eq!(
        updated,
        "[thresholds.host_cpu_percent]\nwarning = 50\ncritical = 60\n"
    );
}

#[test]
fn same_duration_in_another_spelling_is_left_alone() {
    let text = "interval = \"2000ms\"\n";
    let config = parse(text);
    assert_eq!(update(text, &config), text);
}

#[test]
fn invalid_settings_are_refused_with_the_config_file_message() {
    let mut config = Config::default();
    config.thresholds.container_cpu_percent.warning = 95.0;
    let err = update_text("", &config, Path::new(PATH)).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("thresholds.container_cpu_percent.warning"),
        "{message}"
    );
    assert!(message.contains("below critical"), "{message}");
}

#[test]
fn a_broken_file_is_not_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "interval = [oops\n").expect("write");
    let err = save(&path, &Config::default()).unwrap_err();
    assert!(matches!(err, SaveError::Unparsable { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "interval = [oops\n"
    );
}

#[test]
fn save_creates_the_file_and_follows_symlinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = dir.path().join("dotfiles").join("docktray.toml");
    std::fs::create_dir_all(real.parent().expect("parent")).expect("mkdir");
    std::fs::write(&real, "# mine\n").expect("write");
    let link = dir.path().join("config").join("config.toml");
    std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let mut config = Config::default();
    config.notifications.min_level = "critical".to_owned();
    save(&link, &config).expect("saved");
    assert!(std::fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    let text = std::fs::read_to_string(&real).expect("read");
    assert_eq!(
        text,
        "# mine\n\n[notifications]\nmin_level = \"critical\"\n"
    );

    let fresh = dir.path().join("new").join("config.toml");
    save(&fresh, &config).expect("saved");
    assert_eq!(
        Config::load(Some(&fresh))
            .expect("loads")
            .notifications
            .min_level,
        "critical"
    );
}
