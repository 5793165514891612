//! Tests of loading and validating the configuration.

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/tmp/config.toml"))
}

#[test]
fn empty_file_means_defaults() {
    let config = parse("").expect("empty config parses");
    assert_eq!(config, Config::default());
    assert_eq!(config.interval, Duration::from_secs(2));
    assert_eq!(config.logs.ring_lines, 5000);
    assert_eq!(config.thresholds.container_cpu_percent.warning, 70.0);
}

#[test]
fn values_are_read() {
    let config = parse(
        "interval = \"5s\"\n[logs]\nring_lines = 200\n[[hosts]]\nname = \"nas\"\ndestination = \"me@nas:2222\"\n\
         [thresholds.host_cpu_percent]\nwarning = 50\ncritical = 60\n",
    )
    .expect("valid config");
    assert_eq!(config.interval, Duration::from_secs(5));
    assert_eq!(config.logs.ring_lines, 200);
    assert_eq!(config.hosts[0].socket, "/var/run/docker.sock");
    assert_eq!(config.thresholds.host_cpu_percent.critical, 60.0);
}

#[test]
fn bad_duration_names_key_and_form() {
    let message = parse("interval = \"fast\"").unwrap_err().to_string();
    assert!(message.contains("interval"), "{message}");
    assert!(message.contains("\"fast\""), "{message}");
    assert!(message.contains("\"2s\""), "{message}");
    let message = parse("interval = 2").unwrap_err().to_string();
    assert!(message.contains("no unit"), "{message}");
}

#[test]
fn out_of_range_values_name_key_value_and_expected() {
    let message = parse("interval = \"10ms\"").unwrap_err().to_string();
    assert!(message.contains("`interval` = \"10ms\""), "{message}");
    assert!(message.contains("250ms"), "{message}");
    let message = parse("[logs]\nring_lines = 0").unwrap_err().to_string();
    assert!(message.contains("logs.ring_lines"), "{message}");
    let message = parse("[thresholds.container_cpu_percent]\nwarning = 95\ncritical = 90")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("thresholds.container_cpu_percent.warning"),
        "{message}"
    );
    assert!(message.contains("below critical"), "{message}");
    let message = parse("[thresholds.host_disk_percent]\nwarning = 80\ncritical = 150")
        .unwrap_err()
        .to_string();
    assert!(message.contains("host_disk_percent.critical"), "{message}");
}

#[test]
fn unknown_keys_and_wrong_types_are_rejected() {
    let message = parse("intervall = \"2s\"").unwrap_err().to_string();
    assert!(message.contains("intervall"), "{message}");
    let message = parse("[logs]\nring_lines = \"many\"")
        .unwrap_err()
        .to_string();
    assert!(message.contains("ring_lines"), "{message}");
    let message = parse("[[hosts]]\nname = \"local\"\ndestination = \"x\"")
        .unwrap_err()
        .to_string();
    assert!(message.contains("hosts[0].name"), "{message}");
}

#[test]
fn missing_default_file_is_fine_but_missing_explicit_file_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    let err = Config::load(Some(&missing)).unwrap_err().to_string();
    assert!(err.contains("nope.toml"), "{err}");
}

#[test]
fn endpoint_prefers_config() {
    let mut config = Config::default();
    config.docker.host = "unix:///tmp/x.sock".into();
    assert_eq!(config.docker_endpoint(), "unix:///tmp/x.sock");
}

#[test]
fn webdock_accounts_are_read_and_checked() {
    let config = parse(
        "[[webdock]]\nname = \"work\"\n[[webdock]]\nname = \"clients\"\nservers = [\"a-1\", \"b\"]\n\
         interval = \"5m\"\nbase_url = \"http://127.0.0.1:8080/v1\"\n",
    )
    .expect("valid accounts");
    assert_eq!(config.webdock[0].servers, ServerSelection::All);
    assert_eq!(config.webdock[0].base_url, WEBDOCK_API);
    assert_eq!(config.webdock[0].interval, Duration::from_secs(60));
    assert!(config.webdock[1].servers.includes("a-1"));
    assert!(!config.webdock[1].servers.includes("c"));
    assert_eq!(config.webdock[1].interval, Duration::from_secs(300));
    // Saved and read back the same (the window saves settings through this form).
    let text = toml::to_string(&config).expect("serialises");
    assert_eq!(parse(&text).expect("reads back"), config);

    for (text, key, expected) in [
        (
            "[[webdock]]\nname = \"work\"\nservers = \"some\"\n",
            "servers",
            "\"all\" or a list",
        ),
        (
            "[[webdock]]\nname = \"my work\"\n",
            "webdock[0].name",
            "letters, digits",
        ),
        (
            "[[webdock]]\nname = \"a-b\"\n[[webdock]]\nname = \"A_B\"\n",
            "webdock[1].name",
            "no other",
        ),
        (
            "[[webdock]]\nname = \"w\"\nservers = [\"x y\"]\n",
            "webdock[0].servers",
            "slugs",
        ),
        (
            "[[webdock]]\nname = \"w\"\ninterval = \"100ms\"\n",
            "webdock[0].interval",
            "\"1s\"",
        ),
        (
            "[[webdock]]\nname = \"w\"\nbase_url = \"ftp://x\"\n",
            "webdock[0].base_url",
            "http(s) URL",
        ),
        (
            "[[webdock]]\nname = \"w\"\ntoken = \"secret\"\n",
            "token",
            "unknown field",
        ),
    ] {
        let message = parse(text).unwrap_err().to_string();
        assert!(message.contains(key), "{text}: {message}");
        assert!(message.contains(expected), "{text}: {message}");
    }
}

#[test]
fn services_and_caddy_sections() {
    let config = parse("").expect("defaults");
    assert_eq!(config.services.label_prefix, "docktray.");
    assert!(
        !config.caddy.enabled(),
        "Caddy sync is off unless an admin URL is set"
    );
    let config = parse(
        "[services]\nlabel_prefix = \"snadboy.\"\n[caddy]\nadmin_url = \"http://localhost:2019/\"\nserver = \"srv0\"\n\
         check_every = \"5s\"\n[[hosts]]\nname = \"nas\"\ndestination = \"me@nas\"\n[caddy.host_addresses]\nnas = \"10.0.0.5\"\n",
    )
    .expect("valid config");
    assert_eq!(config.services.label_prefix, "snadboy.");
    assert!(config.caddy.enabled());
    assert_eq!(config.caddy.admin_base(), "http://localhost:2019");
    assert_eq!(config.caddy.check_every, Duration::from_secs(5));
    for (text, key) in [
        ("[services]\nlabel_prefix = \"\"", "services.label_prefix"),
        (
            "[services]\nlabel_prefix = \"a b.\"",
            "services.label_prefix",
        ),
        ("[caddy]\nadmin_url = \"localhost:2019\"", "caddy.admin_url"),
        (
            "[caddy]\nadmin_url = \"http://localhost:2019/config/\"",
            "caddy.admin_url",
        ),
        ("[caddy]\ncheck_every = \"10ms\"", "caddy.check_every"),
        ("[caddy]\nserver = \"a/b\"", "caddy.server"),
        (
            "[caddy.host_addresses]\nnas = \"10.0.0.5\"",
            "caddy.host_addresses.nas",
        ),
    ] {
        let message = parse(text).unwrap_err().to_string();
        assert!(message.contains(key), "{text}: {message}");
    }
    let message = parse("[caddy]\nadmin = \"x\"").unwrap_err().to_string();
    assert!(message.contains("unknown field `admin`"), "{message}");
}
