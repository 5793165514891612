//! The Webdock client against the local Webdock fixture (tests/common/webdock.rs), which follows the API notes:
//! success paths in both field spellings, unit conversion, the shared cache (proven by the fixture's request
//! counts), 401/403/404, 500 then success, a hung response, malformed JSON, and 429 with the reset in epoch and
//! delta forms (proven by what the fixture receives while the client waits). The cache and the rate-limit state
//! are shared across processes too: the built `docktray` binary run twice, the second run's requests counted.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::webdock::{Reply, WebdockFixture};
use docktray::sources::webdock::normalise::{profile_of, vps_history, vps_stats};
use docktray::sources::webdock::{
    Client, ClientOptions, SharedCache, StatusFilter, Token, Ttls, WebdockError,
};

const TOKEN: &str = "dtt-test-token-5b1e";

fn token() -> Token {
    Token::new(TOKEN).expect("token")
}

fn options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        attempts: 3,
        backoff: Duration::from_millis(50),
        ttl: Ttls::default(),
        // The in-process tests leave the user's cache directory alone; the cross-process ones below use a temp one.
        shared: SharedCache::ProcessOnly,
    }
}

fn client(fixture: &WebdockFixture, account: &str) -> Client {
    Client::new(account, &fixture.url(), &token(), options()).expect("client")
}

#[tokio::test]
async fn success_paths_both_spellings_and_units() {
    let fixture = WebdockFixture::start(TOKEN);
    let client = client(&fixture, "work");
    client.ping().await.expect("ping");
    let servers = client.servers(StatusFilter::All).await.expect("servers");
    let slugs: Vec<&str> = servers.iter().map(|s| s.slug.as_str()).collect();
    assert_eq!(slugs, ["shop1", "blog1"]);
    // secondaryIps / secondary_ips and lastChecked / lastchecked, unknown fields ignored.
    assert_eq!(servers[0].secondary_ips, ["203.0.113.11"]);
    assert_eq!(servers[1].secondary_ips, ["203.0.113.21"]);
    assert!(servers[0].last_checked.is_some() && servers[1].last_checked.is_some());
    let one = client.server("blog1").await.expect("server by slug");
    assert_eq!(one.name.as_deref(), Some("Blog"));
    let profiles = client.profiles(None).await.expect("profiles");
    let metrics = client.metrics_now("shop1").await.expect("metrics now");
    let stats = vps_stats(
        "work",
        &servers[0],
        profile_of(&servers[0], &profiles),
        Some(&metrics),
        chrono::Utc::now(),
    );
    // 512 of 2048 MiB; 10 of 40 GiB; 900 CPU-seconds per 30 min on 2 cores = 25 %; 120 of 1000 GiB this month.
    assert_eq!(
        (
            stats.memory.used_gb,
            stats.memory.total_gb,
            stats.memory.percent
        ),
        (0.5, 2.0, 25.0)
    );
    assert_eq!(
        (stats.disk.used_gb, stats.disk.total_gb, stats.disk.percent),
        (10.0, 40.0, 25.0)
    );
    assert_eq!((stats.cpu.count, stats.cpu.percent), (2, 25.0));
    let vps = stats.vps.expect("vps details");
    assert_eq!(vps.network_quota.map(|q| q.percent), Some(12.0));
    assert_eq!(vps.processes, Some(97));
    assert_eq!(vps.ipv4.as_deref(), Some("203.0.113.10"));
    let historic = client.metrics("shop1").await.expect("historic metrics");
    let history = vps_history(&historic, profile_of(&servers[0], &profiles));
    let cpu: Vec<f64> = history.cpu_percent.iter().map(|p| p.value).collect();
    assert_eq!(cpu, [10.0, 20.0, 50.0]);
    assert_eq!(
        history
            .memory_percent
            .iter()
            .map(|p| p.value)
            .collect::<Vec<_>>(),
        [25.0, 50.0]
    );
    assert_eq!(history.disk_gb.len(), 2);
    // Every request carried the token; the status filter went out as a query.
    let requests = fixture.requests();
    assert!(requests.iter().all(|r| r.authorized), "{requests:?}");
    assert!(requests
        .iter()
        .any(|r| r.path == "/servers" && r.query == "status=all"));
    let active = client
        .servers(StatusFilter::Active)
        .await
        .expect("active servers");
    assert_eq!(active.len(), 2);
    assert_eq!(
        fixture.count("/servers"),
        2,
        "a different filter is a different cache entry"
    );
}

#[tokio::test]
async fn one_cache_per_account_shared_by_every_client() {
    let fixture = WebdockFixture::start(TOKEN);
    let tray = client(&fixture, "work");
    let window = client(&fixture, "work");
    for _ in 0..3 {
        tray.servers(StatusFilter::All).await.expect("servers");
        window.servers(StatusFilter::All).await.expect("servers");
        tray.metrics_now("shop1").await.expect("metrics");
        window.metrics_now("shop1").await.expect("metrics");
        window.profiles(None).await.expect("profiles");
    }
    assert_eq!(fixture.count("/servers"), 1);
    assert_eq!(fixture.count("/servers/shop1/metrics/now"), 1);
    assert_eq!(fixture.count("/profiles"), 1);
    // Callers at the same moment wait for one request rather than sending several.
    let (a, b) = tokio::join!(tray.metrics_now("blog1"), window.metrics_now("blog1"));
    a.expect("first");
    b.expect("second");
    assert_eq!(fixture.count("/servers/blog1/metrics/now"), 1);
    // ping is never cached: it checks the token now.
    tray.ping().await.expect("ping");
    tray.ping().await.expect("ping");
    assert_eq!(fixture.count("/ping"), 2);
    // Past its TTL an entry is fetched again.
    let no_cache = Client::new(
        "work",
        &fixture.url(),
        &token(),
        ClientOptions {
            ttl: Ttls {
                instant_metrics: Duration::ZERO,
                ..Ttls::default()
            },
            ..options()
        },
    )
    .expect("client");
    no_cache.metrics_now("shop1").await.expect("metrics");
    assert_eq!(fixture.count("/servers/shop1/metrics/now"), 2);
    // Another account has its own cache.
    client(&fixture, "other")
        .servers(StatusFilter::All)
        .await
        .expect("servers");
    assert_eq!(fixture.count("/servers"), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_say_what_to_do() {
    let fixture = WebdockFixture::start(TOKEN);
    let wrong = Client::new(
        "work",
        &fixture.url(),
        &Token::new("not-the-token").expect("t"),
        options(),
    )
    .expect("client");
    let err = wrong.ping().await.expect_err("bad token");
    assert!(matches!(err, WebdockError::BadToken { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("401") && text.contains("docktray webdock login work"),
        "{text}"
    );
    assert_eq!(fixture.count("/ping"), 1, "401 is not retried");

    let client = client(&fixture, "work");
    fixture.script("/servers", Reply::status(403, "Forbidden"));
    let err = client.servers(StatusFilter::All).await.expect_err("403");
    assert!(matches!(err, WebdockError::Forbidden { .. }), "{err:?}");
    assert!(err.to_string().contains("lacks permission"), "{err}");
    assert_eq!(fixture.count("/servers"), 1, "403 is not retried");

    let err = client.server("nope").await.expect_err("404");
    assert!(
        matches!(err, WebdockError::ServerNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("server 'nope' not found"), "{err}");
    let err = client.metrics_now("nope").await.expect_err("404");
    assert!(err.to_string().contains("server 'nope' not found"), "{err}");
    assert_eq!(fixture.count("/servers/nope"), 1, "404 is not retried");
    // The token appears in no message.
    for text in [text, err.to_string()] {
        assert!(!text.contains(TOKEN) && !text.contains("not-the-token"));
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported_as_webdock_down() {
    let fixture = WebdockFixture::start(TOKEN);
    let client = client(&fixture, "work");
    fixture.script("/servers", Reply::status(500, "Internal error"));
    let servers = client
        .servers(StatusFilter::All)
        .await
        .expect("500 then success");
    assert_eq!(servers.len(), 2);
    assert_eq!(fixture.count("/servers"), 2);

    for _ in 0..3 {
        fixture.script("/profiles", Reply::status(503, "Maintenance"));
    }
    let err = client.profiles(None).await.expect_err("down");
    assert!(matches!(err, WebdockError::Down { .. }), "{err:?}");
    assert!(err.to_string().contains("Webdock is down"), "{err}");
    assert_eq!(fixture.count("/profiles"), 3, "three attempts in all");
    // Nothing bad was cached: the next call asks again and succeeds.
    client
        .profiles(None)
        .await
        .expect("profiles after the outage");
    assert_eq!(fixture.count("/profiles"), 4);
}

#[tokio::test]
async fn a_hung_response_times_out() {
    let fixture = WebdockFixture::start(TOKEN);
    let client = Client::new(
        "work",
        &fixture.url(),
        &token(),
        ClientOptions {
            timeout: Duration::from_millis(500),
            attempts: 2,
            ..options()
        },
    )
    .expect("client");
    fixture.script("/servers/shop1/metrics/now", Reply::Hang);
    fixture.script("/servers/shop1/metrics/now", Reply::Hang);
    let err = client.metrics_now("shop1").await.expect_err("timeout");
    assert!(matches!(err, WebdockError::Down { .. }), "{err:?}");
    assert!(err.to_string().contains("no answer within 500ms"), "{err}");
    assert_eq!(
        fixture.count("/servers/shop1/metrics/now"),
        2,
        "a timeout is retried"
    );
    client.metrics_now("shop1").await.expect("answers again");
}

#[tokio::test]
async fn malformed_json_is_reported_and_not_cached() {
    let fixture = WebdockFixture::start(TOKEN);
    let client = client(&fixture, "work");
    fixture.script("/servers", Reply::Raw("{\"slug\": [oops".to_owned()));
    let err = client
        .servers(StatusFilter::All)
        .await
        .expect_err("malformed");
    assert!(matches!(err, WebdockError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("/servers"), "{err}");
    assert_eq!(
        fixture.count("/servers"),
        1,
        "a malformed reply is not retried"
    );
    assert_eq!(
        client.servers(StatusFilter::All).await.expect("next").len(),
        2
    );
    // A reply of the wrong shape is malformed too, not a panic.
    fixture.script("/profiles", Reply::Raw("{\"not\": \"a list\"}".to_owned()));
    let err = client.profiles(None).await.expect_err("wrong shape");
    assert!(matches!(err, WebdockError::Malformed { .. }), "{err:?}");
}

async fn rate_limited_until_reset(reply: Reply, account: &str, fixture: &WebdockFixture) {
    let client = client(fixture, account);
    fixture.script("/servers", reply);
    let err = client.servers(StatusFilter::All).await.expect_err("429");
    let WebdockError::RateLimited { until, .. } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    let until = *until;
    assert!(err.to_string().contains("no requests until"), "{err}");
    assert!(
        err.to_string()
            .contains(&docktray::sources::webdock::error::local_hh_mm(until)),
        "{err}"
    );
    assert_eq!(fixture.count("/servers"), 1, "429 is not retried");
    let before = fixture.total();
    // Nothing at all is sent to this account until the reset, whatever the endpoint.
    for _ in 0..3 {
        assert!(matches!(
            client.metrics_now("shop1").await,
            Err(WebdockError::RateLimited { .. })
        ));
        assert!(matches!(
            client.ping().await,
            Err(WebdockError::RateLimited { .. })
        ));
    }
    assert_eq!(
        fixture.total(),
        before,
        "requests were sent while rate limited"
    );
    assert_eq!(client.budget().blocked_until, Some(until));
    // After the reset, requests go out again.
    let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    client
        .servers(StatusFilter::All)
        .await
        .expect("after the reset");
    assert_eq!(fixture.count("/servers"), 2);
}

#[tokio::test]
async fn a_429_stops_all_requests_until_the_reset_in_delta_form() {
    let fixture = WebdockFixture::start(TOKEN);
    rate_limited_until_reset(Reply::too_many_delta(2), "delta", &fixture).await;
}

#[tokio::test]
async fn a_429_stops_all_requests_until_the_reset_in_epoch_form() {
    let fixture = WebdockFixture::start(TOKEN);
    let reset = chrono::Utc::now().timestamp() + 2;
    rate_limited_until_reset(Reply::too_many_epoch(reset), "epoch", &fixture).await;
}

#[tokio::test]
async fn the_budget_is_tracked_and_polling_stretches_as_it_falls() {
    let fixture = WebdockFixture::start(TOKEN);
    fixture.with(|s| {
        s.limit = 100;
        s.remaining = 21;
    });
    let client = client(&fixture, "work");
    client.ping().await.expect("ping");
    let budget = client.budget();
    assert_eq!((budget.limit, budget.remaining), (Some(100), Some(20)));
    assert!(budget.reset_at.is_some());
    assert_eq!(docktray::sources::webdock::client::stretch(&budget), 4);
    // A budget at zero before its reset: nothing is sent.
    fixture.with(|s| s.remaining = 1);
    client.ping().await.expect("the last request");
    let sent = fixture.total();
    assert!(matches!(
        client.ping().await,
        Err(WebdockError::RateLimited { .. })
    ));
    assert_eq!(fixture.total(), sent);
    assert_eq!(
        docktray::sources::webdock::client::budget_of(&fixture.url(), "work").remaining,
        Some(0),
        "the budget is shared by every user of the account"
    );
}

#[tokio::test]
async fn a_connection_test_lists_servers_and_says_what_is_wrong_without_the_token() {
    let fixture = WebdockFixture::start(TOKEN);
    let account: docktray::config::WebdockAccount = toml::from_str(&format!(
        "name = \"settings\"\nbase_url = \"{}\"\n",
        fixture.url()
    ))
    .expect("account");
    let test = docktray::sources::webdock::accounts::test_connection(&account, Some(TOKEN)).await;
    assert!(test.ok, "{test:?}");
    let slugs: Vec<&str> = test.servers.iter().map(|s| s.slug.as_str()).collect();
    assert_eq!(slugs, ["shop1", "blog1"]);
    assert_eq!(test.rate_limit.limit, Some(5000));
    let bad = docktray::sources::webdock::accounts::test_connection(&account, Some("wrong")).await;
    assert!(!bad.ok);
    let message = bad.message.clone().expect("a reason");
    assert!(message.contains("rejected the token"), "{message}");
    let reply = serde_json::to_string(&bad).expect("JSON");
    assert!(
        !reply.contains("wrong") && !reply.contains(TOKEN),
        "{reply}"
    );
    assert_eq!(
        fixture
            .requests()
            .iter()
            .filter(|r| r.path == "/ping")
            .count(),
        2
    );
}

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
