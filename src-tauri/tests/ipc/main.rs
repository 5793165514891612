//! The window's commands through Tauri's IPC (mock runtime, the app's real context and capabilities) against a
//! real engine: the Docker engine `make test` brings up (`scripts/test-env.sh`; DOCKER_HOST and
//! DOCKTRAY_TEST_IMAGE come from `eval "$(scripts/test-env.sh env)"`). Test containers carry the
//! `docktray.test=1` label and are removed when their guard drops.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docktray::monitor::{Monitor, MonitorOptions};
use docktray::Config;
use docktray_desktop::Shell;
use serde_json::{json, Value};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, Manager, WebviewWindow, WebviewWindowBuilder};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The local Webdock API fixture shared with the engine's tests.
#[path = "../../../tests/common/webdock.rs"]
#[allow(dead_code)]
mod webdock_fixture;

/// The real sshd shared with the engine's SSH host tests.
#[path = "../../../tests/common/sshd.rs"]
#[allow(dead_code)]
mod sshd;

/// The app as the window sees it, with a real monitor behind it.
struct Harness {
    app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
    config_path: PathBuf,
}

impl Harness {
    /// `config_text` is written to the settings file the app saves to.
    fn start(config_text: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config_text).expect("write config");
        let mut config = Config::load(Some(&config_path)).expect("test config loads");
        config.history.path = dir.path().join("history.sqlite").display().to_string();
        let monitor = tauri::async_runtime::block_on(async {
            let monitor = Monitor::start(
                config.clone(),
                MonitorOptions {
                    history: true,
                    notifications: false,
                },
            )
            .expect("monitor starts");
            assert!(
                monitor.engine().ready(Duration::from_secs(20)).await,
                "the engine did not get ready; is the test engine up (make test)? {:?}",
                monitor.engine().snapshot().sources
            );
            monitor
        });
        let app = docktray_desktop::with_ipc(mock_builder())
            .manage(Shell::new(monitor, config, config_path.clone()))
            .build(docktray_desktop::context())
            .expect("app builds");
        let window = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("window");
        Self {
            app,
            window,
            _dir: dir,
            config_path,
        }
    }

    fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        invoke_in(&self.window, command, args)
    }

    fn ok(&self, command: &str, args: Value) -> Value {
        self.invoke(command, args)
            .unwrap_or_else(|err| panic!("{command} failed: {err}"))
    }

    /// Polls `get_snapshot` until `check` finds something.
    fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&Value) -> Option<T>) -> T {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let snapshot = self.ok("get_snapshot", json!({}));
            if let Some(found) = check(&snapshot) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last snapshot: {snapshot:#}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        tauri::async_runtime::block_on(docktray_desktop::control::shut_down(self.app.handle()));
    }
}

fn invoke_in(
    window: &WebviewWindow<MockRuntime>,
    command: &str,
    args: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: command.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("JSON answer"))
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run the docker CLI: {err}"));
    assert!(
        output.status.success(),
        "docker {} failed: {} (run the tests with `make test`, which starts the engine)",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A labelled test container, removed on drop.
struct TestContainer {
    name: String,
    id: String,
}

impl TestContainer {
    fn run(prefix: &str, command: &[&str]) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "dtd-{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let image = std::env::var("DOCKTRAY_TEST_IMAGE")
            .unwrap_or_else(|_| "docktray-test-busybox:latest".to_owned());
        let mut args = vec![
            "run",
            "-d",
            "--label",
            "docktray.test=1",
            "--name",
            &name,
            &image,
        ];
        args.extend_from_slice(command);
        let id = docker(&args);
        Self { name, id }
    }

    fn running(&self) -> bool {
        docker(&["inspect", "-f", "{{.State.Running}}", &self.id]) == "true"
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.id])
            .output();
    }
}

fn find_container<'a>(snapshot: &'a Value, name: &str) -> Option<&'a Value> {
    snapshot["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

mod containers;
mod settings;
mod workbench;
