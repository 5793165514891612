//! Prometheus against `docktray serve`, all real: `promtool check metrics` on a scrape and `promtool check rules`
//! on `docktray prometheus rules`; then a real Prometheus server scrapes two `docktray serve` processes that
//! watch two different real engines (the test engine and a private one), with bearer tokens from credentials
//! files. Through Prometheus's query API: both targets are up, the CPU rate of a `--cpus 0.5` burner reads
//! 0.35-0.65, a container's working set is within 10 % of `docker stats`, the generated rules are loaded and the
//! burner fires the matching alert, and every query of the shipped Grafana dashboard returns data.

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::caddy::free_port;
use common::dockerd::PrivateDockerd;
use common::serve::{Options, Serve};
use common::*;
use serde_json::Value;

const THRESHOLDS: &str =
    "[alerts]\nhold = \"2s\"\n[thresholds.container_cpu_percent]\nwarning = 20\ncritical = 30\n";

fn promtool(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/deps.sh installs it)");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("promtool")
}

struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(config: &str, rules: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("rules.yml"), rules).expect("rules");
        let config = config.replace("RULES", &dir.path().join("rules.yml").display().to_string());
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("config");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let prometheus = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while prometheus.get("/-/ready").is_none() {
            assert!(Instant::now() < deadline, "prometheus did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        prometheus
    }

    fn get(&self, path: &str) -> Option<String> {
        let out = Command::new("curl")
            .args(["-s", "-f", "-m", "10", "-G"])
            .arg(format!("http://127.0.0.1:{}{path}", self.port))
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn api(&self, path: &str) -> Value {
        serde_json::from_str(&self.get(path).unwrap_or_default()).unwrap_or(Value::Null)
    }

    /// An instant query's result vector.
    fn query(&self, promql: &str) -> Vec<Value> {
        let out = Command::new("curl")
            .args(["-s", "-m", "10", "-G", "--data-urlencode"])
            .arg(format!("query={promql}"))
            .arg(format!("http://127.0.0.1:{}/api/v1/query", self.port))
            .output()
            .expect("curl");
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert_eq!(answer["status"], "success", "{promql}: {answer}");
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn value(result: &Value) -> f64 {
        result["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    }

    /// Polls `check` for up to `timeout`, failing with `what` and the last value seen.
    fn wait<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&Self) -> Result<T, String>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            match check(self) {
                Ok(found) => return found,
                Err(last) if Instant::now() > deadline => {
                    panic!("{what} within {timeout:?}; last: {last}")
                }
                Err(_) => std::thread::sleep(Duration::from_secs(1)),
            }
        }
    }
}

#[test]
fn promtool_accepts_a_scrape_and_the_generated_rules() {
    let _container = TestContainer::run("prom", &[], &["sleep", "600"]);
    let serve = Serve::start(Options {
        extra: THRESHOLDS,
        ..Options::default()
    });
    std::thread::sleep(Duration::from_secs(2));
    let (status, text) = serve.get("/metrics");
    assert_eq!(status, 200);
    for series in [
        "container_cpu_usage_seconds_total{",
        "container_memory_working_set_bytes{",
        "container_network_receive_bytes_total{",
        "docktray_source_up{",
        "process_resident_memory_bytes",
    ] {
        assert!(
            text.contains(series),
            "{series} missing from the scrape:\n{text}"
        );
    }
    let out = promtool(&["check", "metrics"], Some(&text));
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // OpenMetrics when asked for.
    let (status, open) = serve.request(
        "GET",
        "/metrics",
        &["Accept: application/openmetrics-text; version=1.0.0"],
        None,
    );
    assert_eq!(status, 200);
    assert!(open.trim_end().ends_with("# EOF"), "{open}");
    let rules = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .arg("--config")
        .arg(&serve.config)
        .args(["prometheus", "rules"])
        .output()
        .expect("docktray prometheus rules");
    assert!(rules.status.success());
    let file = serve.dir.path().join("rules.yml");
    std::fs::write(&file, &rules.stdout).expect("write");
    let out = promtool(&["check", "rules", &file.display().to_string()], None);
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&rules.stdout).contains("> 30"),
        "the configured critical level"
    );
}

#[test]
fn a_real_prometheus_scrapes_two_servers_on_two_engines() {
    let second = PrivateDockerd::new("dtp", "198.18.12.1/24");
    second.load_test_image();
    let burner = TestContainer::run(
        "promburn",
        &["--cpus", "0.5"],
        &["sh", "-c", "while :; do :; done"],
    );
    let hog_name = unique("promhog");
    let image = image();
    second.docker(&[
        "run",
        "-d",
        "--name",
        &hog_name,
        "--label",
        "docktray.test=1",
        &image,
        "sh",
        "-c",
        "x=$(head -c 40000000 /dev/zero | tr '\\000' a); while :; do sleep 600; done",
    ]);
    let first = Serve::start(Options {
        extra: THRESHOLDS,
        ..Options::default()
    });
    let other = Serve::start(Options {
        extra: THRESHOLDS,
        docker_host: Some(second.host()),
        token: Some("second-machines-token".to_owned()),
        ..Options::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let credentials = |name: &str, token: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, token).expect("credentials");
        path.display().to_string()
    };
    let rules = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .arg("--config")
        .arg(&first.config)
        .args(["prometheus", "rules", "--window", "20s"])
        .output()
        .expect("rules");
    let config = format!(
        "global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\nrule_files:\n  - RULES\nscrape_configs:\n\
         \x20 - job_name: docktray-first\n    authorization:\n      type: Bearer\n      credentials_file: {}\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n\
         \x20 - job_name: docktray-second\n    authorization:\n      type: Bearer\n      credentials_file: {}\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        credentials("first", &first.token),
        first.port,
        credentials("second", &other.token),
        other.port,
    );
    let prometheus = Prometheus::start(&config, &String::from_utf8_lossy(&rules.stdout));
    prometheus.wait(Duration::from_secs(30), "both targets up", |p| {
        let targets = p.api("/api/v1/targets");
        let active = targets["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up = active.iter().filter(|t| t["health"] == "up").count();
        (up == 2).then_some(()).ok_or_else(|| targets.to_string())
    });
    // The burner's CPU rate, once a 20 s window is filled.
    std::thread::sleep(Duration::from_secs(24));
    let query = format!(
        "rate(container_cpu_usage_seconds_total{{name=\"{}\"}}[20s])",
        burner.name
    );
    let rate = prometheus.wait(Duration::from_secs(30), "a CPU rate", |p| {
        let result = p.query(&query);
        result
            .first()
            .map(Prometheus::value)
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{result:?}"))
    });
    assert!(
        (0.35..=0.65).contains(&rate),
        "rate of a --cpus 0.5 burner: {rate}"
    );
    // The other engine's container, through the other server: its working set against docker stats.
    let working = prometheus.wait(Duration::from_secs(20), "the second engine's series", |p| {
        let result = p.query(&format!(
            "container_memory_working_set_bytes{{name=\"{hog_name}\"}}"
        ));
        result
            .first()
            .map(Prometheus::value)
            .ok_or_else(|| format!("{result:?}"))
    });
    let usage = second.docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}}",
        &hog_name,
    ]);
    let docker_bytes = parse_size(usage.split('/').next().expect("usage"));
    assert!(
        (working - docker_bytes).abs() <= docker_bytes * 0.10,
        "working set {working} vs docker stats {docker_bytes} ({usage})"
    );
    assert!(docker_bytes > 30e6, "the hog holds its memory: {usage}");
    // The generated rules are loaded, and the burner fires the matching alert.
    let loaded = prometheus.api("/api/v1/rules").to_string();
    assert!(
        loaded.contains("docktray_container_cpu_percent_critical"),
        "{loaded}"
    );
    prometheus.wait(Duration::from_secs(40), "the burner's alert firing", |p| {
        let alerts = p.api("/api/v1/alerts");
        let firing = alerts["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .any(|a| {
                a["labels"]["alertname"] == "docktray_container_cpu_percent_critical"
                    && a["labels"]["name"] == burner.name.as_str()
                    && a["state"] == "firing"
            });
        firing.then_some(()).ok_or_else(|| alerts.to_string())
    });
    // Every query of the shipped Grafana dashboard returns data.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/grafana/docktray-dashboard.json"
        ))
        .expect("dashboard"),
    )
    .expect("dashboard JSON");
    let mut queries = Vec::new();
    collect_exprs(&dashboard, &mut queries);
    assert!(queries.len() >= 8, "{queries:?}");
    for expr in queries {
        let concrete = expr
            .replace("$__rate_interval", "20s")
            .replace("$__interval", "2s")
            .replace("=~\"$host\"", "=~\".*\"")
            .replace("=~\"$name\"", "=~\".*\"")
            .replace("=~\"$job\"", "=~\".*\"");
        let result = prometheus.query(&concrete);
        assert!(
            !result.is_empty(),
            "the dashboard query {expr} returns nothing"
        );
    }
}

fn collect_exprs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(expr)) = map.get("expr") {
                out.push(expr.clone());
            }
            for child in map.values() {
                collect_exprs(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}
