//! The workbench commands through IPC against the real engine: allowed for the main window, images and disk
//! usage, a refused removal naming the container, a stack plan in dependency order, and a terminal session whose
//! keystrokes (raw body and JSON) reach the container's shell and end with the session.

use tauri::http::{HeaderMap, HeaderValue};

use super::*;

const WORKBENCH_COMMANDS: &[&str] = &[
    "exec_start",
    "exec_input",
    "exec_resize",
    "exec_close",
    "list_images",
    "list_volumes",
    "list_networks",
    "get_disk_usage",
    "remove_image",
    "prune_images",
    "remove_volume",
    "prune_volumes",
    "remove_network",
    "stack_plan",
    "stack_action",
];

fn raw_input(harness: &Harness, session: u64, bytes: &[u8]) -> Result<Value, Value> {
    let mut headers = HeaderMap::new();
    headers.insert(
        docktray_desktop::workbench::SESSION_HEADER,
        HeaderValue::from_str(&session.to_string()).expect("header"),
    );
    get_ipc_response(
        &harness.window,
        InvokeRequest {
            cmd: "exec_input".into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: tauri::ipc::InvokeBody::Raw(bytes.to_vec()),
            headers,
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("JSON answer"))
}

/// Polls `docker exec` until `check` accepts what the command printed.
fn wait_docker(what: &str, args: &[&str], check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let output = Command::new("docker").args(args).output().expect("docker");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if check(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn every_workbench_command_is_allowed_for_the_main_window() {
    let harness = Harness::start("");
    for command in WORKBENCH_COMMANDS {
        if let Err(err) = harness.invoke(command, json!({})) {
            let message = err.as_str().unwrap_or_default();
            assert!(!message.contains("not allowed"), "{command}: {message}");
        }
    }
    let other = WebviewWindowBuilder::new(&harness.app, "other", Default::default())
        .build()
        .expect("second window");
    let err = invoke_in(&other, "list_images", json!({ "host": "local" })).unwrap_err();
    assert!(
        err.as_str().is_some_and(|m| m.contains("not allowed")),
        "{err}"
    );
}

#[test]
fn images_disk_usage_refusals_and_stack_plans_through_ipc() {
    let harness = Harness::start("interval = \"500ms\"\n");
    let user = TestContainer::run("imguser", &["sleep", "300"]);
    let image = std::env::var("DOCKTRAY_TEST_IMAGE")
        .unwrap_or_else(|_| "docktray-test-busybox:latest".to_owned());
    let images = harness.ok("list_images", json!({ "host": "local" }));
    let ours = images
        .as_array()
        .expect("a list")
        .iter()
        .find(|i| {
            i["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&json!(image)))
        })
        .expect("the test image listed");
    assert!(ours["containers"]
        .as_array()
        .is_some_and(|c| c.contains(&json!(user.name))));
    let usage = harness.ok("get_disk_usage", json!({ "host": "local", "fresh": true }));
    assert_eq!(usage["host"], "local");
    assert!(
        usage["images"]["total"].as_u64().unwrap_or(0) >= 1,
        "{usage:#}"
    );
    let err = harness
        .invoke(
            "remove_image",
            json!({ "host": "local", "image": image, "force": false }),
        )
        .unwrap_err();
    let message = err.as_str().expect("a plain string");
    assert!(message.contains("on local is used by"), "{message}");
    assert!(message.contains(&user.name), "{message}");
    let err = harness
        .invoke("list_images", json!({ "host": "nowhere" }))
        .unwrap_err();
    assert!(
        err.as_str()
            .is_some_and(|m| m.contains("no host named nowhere")),
        "{err}"
    );

    // A compose-labelled pair: the plan starts the dependency first and stops it last.
    let project = format!("dtd-stack-{}", std::process::id());
    let label = |service: &str| {
        vec![
            "--label".to_owned(),
            format!("com.docker.compose.project={project}"),
            "--label".to_owned(),
            format!("com.docker.compose.service={service}"),
        ]
    };
    let run = |name: &str, mut labels: Vec<String>| {
        let mut args = vec![
            "run".to_owned(),
            "-d".to_owned(),
            "--label".to_owned(),
            "docktray.test=1".to_owned(),
        ];
        args.push("--name".to_owned());
        args.push(name.to_owned());
        args.append(&mut labels);
        args.push(image.clone());
        args.extend(["sleep".to_owned(), "300".to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        TestContainer {
            name: name.to_owned(),
            id: docker(&args),
        }
    };
    let db = run(&format!("{project}-db"), label("db"));
    let mut web_labels = label("web");
    web_labels.extend([
        "--label".to_owned(),
        "com.docker.compose.depends_on=db:service_started:false".to_owned(),
    ]);
    let web = run(&format!("{project}-web"), web_labels);
    let plan = harness.ok(
        "stack_plan",
        json!({ "host": "local", "project": project, "action": "stop" }),
    );
    assert_eq!(
        plan["steps"],
        json!([
            { "action": "stop", "containers": [web.name] },
            { "action": "stop", "containers": [db.name] }
        ])
    );
    assert!(db.running() && web.running(), "a plan acts on nothing");
}

#[test]
fn a_terminal_session_takes_keystrokes_and_ends_when_closed() {
    let harness = Harness::start("interval = \"500ms\"\n");
    let container = TestContainer::run("term", &["sleep", "300"]);
    harness.wait_for("the container", |snapshot| {
        find_container(snapshot, &container.name).map(|_| ())
    });
    let started = harness.ok(
        "exec_start",
        json!({ "container": container.name, "program": null, "cols": 100, "rows": 30, "output": "__CHANNEL__:4242" }),
    );
    assert_eq!(started["shell"], "sh", "busybox has no bash");
    let session = started["session"].as_u64().expect("a session id");
    let sessions = harness
        .app
        .state::<docktray_desktop::exec_session::ExecSessions>();
    assert_eq!(sessions.count(), 1);

    // Raw keystrokes, then JSON text: both reach the shell, in order.
    raw_input(&harness, session, "echo grüße-✓ > /tmp/typed\r".as_bytes()).expect("raw input");
    harness.ok(
        "exec_input",
        json!({ "session": session, "data": "stty size >> /tmp/typed\r" }),
    );
    wait_docker(
        "the typed lines in the container",
        &["exec", &container.name, "cat", "/tmp/typed"],
        |text| text == "grüße-✓\n30 100\n",
    );
    harness.ok(
        "exec_resize",
        json!({ "session": session, "cols": 120, "rows": 40 }),
    );
    harness.ok(
        "exec_input",
        json!({ "session": session, "data": "stty size > /tmp/size\r" }),
    );
    wait_docker(
        "the new size",
        &["exec", &container.name, "cat", "/tmp/size"],
        |text| text == "40 120\n",
    );

    // Closing the tab ends the shell in the container.
    harness.ok("exec_close", json!({ "session": session }));
    wait_docker(
        "no shell left in the container",
        &["exec", &container.name, "ps", "-o", "comm"],
        |text| !text.lines().any(|l| l.trim() == "sh"),
    );
    let err = harness
        .invoke("exec_input", json!({ "session": session, "data": "x" }))
        .unwrap_err();
    assert!(
        err.as_str().is_some_and(|m| m.contains("has ended")),
        "{err}"
    );

    // A stopped container is refused with what to do.
    docker(&["stop", "-t", "0", &container.id]);
    let err = harness
        .invoke(
            "exec_start",
            json!({ "container": container.name, "program": null, "cols": 80, "rows": 24, "output": "__CHANNEL__:4243" }),
        )
        .unwrap_err();
    assert!(
        err.as_str().is_some_and(|m| m.contains("not running")),
        "{err}"
    );
}
