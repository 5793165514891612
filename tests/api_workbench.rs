//! The routes that let the page do what the desktop window's detail, workbench and timeline views do (issue 13),
//! against a real `docktray serve` on the test engine: reads need the token or a signed-in page; changes are
//! refused (403 saying how to allow them) unless `[api] allow_actions`, need the page's CSRF header, and then do
//! what the window's commands do; bad input is a 4xx naming what is wrong.

mod common;

use std::time::{Duration, Instant};

use common::serve::{parsed, Options, Serve};
use common::*;

#[test]
fn the_workbench_reads_need_the_token_and_answer_what_the_engine_has() {
    let image = image();
    let project = unique("proj");
    let container = TestContainer::run(
        "wb",
        &[
            "--label",
            &format!("com.docker.compose.project={project}"),
            "--label",
            "com.docker.compose.service=web",
        ],
        &["sleep", "600"],
    );
    let serve = Serve::start(Options::default());
    serve.wait_listed(&container.name);

    // Without the token: refused, with the usual message.
    let (status, body) = serve.request(
        "GET",
        "/api/v1/hosts/local/images",
        &["Authorization: Bearer wrong"],
        None,
    );
    assert_eq!(status, 401, "{body}");

    let (status, body) = serve.get("/api/v1/hosts/local/images");
    let images = parsed(status, &body, "images");
    assert!(
        images
            .as_array()
            .expect("a list")
            .iter()
            .any(|i| i["tags"].as_array().is_some_and(|t| t.iter().any(|t| t
                .as_str()
                .is_some_and(|t| image.starts_with(t) || t.starts_with(&image))))),
        "the test image {image} is not listed: {body}"
    );
    let (status, body) = serve.get("/api/v1/hosts/local/networks");
    let networks = parsed(status, &body, "networks");
    assert!(
        networks
            .as_array()
            .expect("a list")
            .iter()
            .any(|n| n["name"] == "bridge"),
        "{body}"
    );
    let (status, body) = serve.get("/api/v1/hosts/local/volumes");
    parsed(status, &body, "volumes");
    let (status, body) = serve.get("/api/v1/hosts/local/disk-usage?fresh=true");
    let usage = parsed(status, &body, "disk usage");
    assert!(usage.is_object(), "{body}");

    let (status, body) = serve.get(&format!("/api/v1/containers/{}/detail", container.name));
    let detail = parsed(status, &body, "detail");
    assert!(
        body.contains(&project),
        "the labels are in the detail: {body}"
    );
    assert!(detail.is_object());

    let (status, body) = serve.get(&format!(
        "/api/v1/hosts/local/stacks/{project}/plan?action=restart"
    ));
    let plan = parsed(status, &body, "stack plan");
    assert!(
        plan.to_string().contains(&container.name),
        "the plan names the container: {plan}"
    );

    // A signed-in page reads with its cookie alone.
    let (cookie, _) = serve.sign_in();
    let (status, body) = serve.page("GET", "/api/v1/hosts/local/volumes", &[&cookie], None);
    assert_eq!(status, 200, "{body}");

    // Bad input: a 4xx naming what is wrong.
    let (status, body) = serve.get("/api/v1/hosts/nowhere/images");
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("nowhere") && body.contains("local"),
        "names the hosts there are: {body}"
    );
    let (status, body) = serve.get("/api/v1/hosts/local/disk-usage?fresh=maybe");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("`fresh` must be true or false"), "{body}");
    let (status, body) = serve.get(&format!(
        "/api/v1/hosts/local/stacks/{project}/plan?action=explode"
    ));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("start, stop or restart"), "{body}");
    let (status, body) = serve.get("/api/v1/containers/no-such-thing-here/detail");
    assert_eq!(status, 404, "{body}");
    let (status, body) = serve.get("/api/v1/timeline?since=yesterday-ish");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("since"), "{body}");
}

#[test]
fn changes_are_refused_without_allow_actions_and_say_how_to_allow_them() {
    let volume = unique("vol");
    docker(&["volume", "create", "--label", "docktray.test=1", &volume]);
    let serve = Serve::start(Options::default());
    for (method, path) in [
        ("DELETE", format!("/api/v1/hosts/local/volumes/{volume}")),
        ("POST", "/api/v1/hosts/local/volumes/prune".to_owned()),
        ("POST", "/api/v1/hosts/local/images/prune".to_owned()),
        ("POST", "/api/v1/alerts/1/acknowledge".to_owned()),
        ("POST", "/api/v1/hosts/local/retry".to_owned()),
    ] {
        let (status, body) = serve.request(method, &path, &[], None);
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert!(
            body.contains("allow_actions = true") && body.contains("[api]"),
            "{method} {path}: {body}"
        );
    }
    let (status, body) = serve.get("/api/v1/hosts/local/volumes");
    assert!(
        parsed(status, &body, "volumes")
            .to_string()
            .contains(&volume),
        "the volume is still there: {body}"
    );
    let _ = docker_output(&["volume", "rm", &volume]);
}

#[test]
fn with_allow_actions_a_page_removes_a_volume_and_acknowledges_an_alert() {
    let volume = unique("vol");
    docker(&["volume", "create", "--label", "docktray.test=1", &volume]);
    let serve = Serve::start(Options {
        api: "allow_actions = true",
        extra: "[alerts]\nhold = \"0s\"\n",
        ..Options::default()
    });
    let exits = TestContainer::run("wb-exit", &[], &["sh", "-c", "exit 5"]);
    let (cookie, csrf) = serve.sign_in();

    // The page's change without its CSRF header is refused before it reaches Docker.
    let path = format!("/api/v1/hosts/local/volumes/{volume}");
    let (status, body) = serve.page("DELETE", &path, &[&cookie], None);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("x-docktray-csrf"), "{body}");
    let (status, body) = serve.page("DELETE", &path, &[&cookie, &csrf], None);
    assert_eq!(status, 200, "{body}");
    let gone = docker_output(&["volume", "inspect", &volume]);
    assert!(!gone.status.success(), "the volume is still on the engine");
    let (status, body) = serve.page("DELETE", &path, &[&cookie, &csrf], None);
    assert!(
        (400..500).contains(&status),
        "removing it twice is the caller's mistake: {status} {body}"
    );

    // The exit alert, acknowledged through the API as the window does it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let alert_id = loop {
        let snapshot = serve.json("/api/v1/snapshot");
        let found = snapshot["alerts"].as_array().and_then(|alerts| {
            alerts
                .iter()
                .find(|a| a["target"]["id"] == exits.id.as_str() && a["acknowledged"] == false)
                .and_then(|a| a["id"].as_u64())
        });
        if let Some(id) = found {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "no exit alert for {}: {snapshot}",
            exits.name
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let ack = format!("/api/v1/alerts/{alert_id}/acknowledge");
    let (status, body) = serve.page("POST", &ack, &[&cookie, &csrf], None);
    assert_eq!(status, 200, "{body}");
    let snapshot = serve.json("/api/v1/snapshot");
    let listed = snapshot["alerts"]
        .as_array()
        .and_then(|alerts| alerts.iter().find(|a| a["id"] == alert_id))
        .cloned()
        .expect("the alert stays listed");
    assert_eq!(listed["acknowledged"], true, "{listed}");
    let (status, body) = serve.page("POST", &ack, &[&cookie, &csrf], None);
    assert_eq!(status, 404, "already acknowledged: {body}");
    let (status, body) = serve.page(
        "POST",
        "/api/v1/alerts/abc/acknowledge",
        &[&cookie, &csrf],
        None,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("`id` must be"), "{body}");

    // The audit of the removal reaches the timeline, read back through the API.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = serve.get("/api/v1/timeline?audit_only=true&since=10m");
        let rows = parsed(status, &body, "timeline");
        if rows.to_string().contains(&volume) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the removal is not in the timeline: {body}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
