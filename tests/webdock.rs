//! The Webdock client against the local Webdock fixture (tests/common/webdock.rs), which follows the API notes:
//! success paths in both field spellings, unit conversion, the shared cache (proven by the fixture's request
//! counts), 401/403/404, 500 then success, a hung response, malformed JSON, and 429 with the reset in epoch and
//! delta forms (proven by what the fixture receives while the client waits). That the cache and the rate-limit
//! state are shared across processes is in `webdock_processes.rs`.

mod common;

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
