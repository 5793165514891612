//! What log-pattern alerts cost per line, and that the cost is bounded:
//! 1. the matcher alone (`RuleState::feed`) on short lines, matching and not, and on 64 KiB lines (only the first
//!    8 KiB are looked at, so a huge line costs about what an 8 KiB one does);
//! 2. against the real engine: a container writing about 1,000 lines a second, followed for 20 s by an engine
//!    with and without a `[[log_alerts]]` rule on it; the process's CPU time in each run (the rule's share is the
//!    difference), and what a user would run instead (`docker logs -f | grep -c`, both processes' CPU time over
//!    the same 20 s). Needs the test engine: `eval "$(scripts/test-env.sh env)"`; skipped without
//!    `DOCKTRAY_TEST_IMAGE`.
//!
//! Run: `cargo bench -p docktray --bench log_alerts` (release). Prints a Markdown table; results are in
//! docs/benchmarks.md.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use docktray::config::{Config, LogAlert};
use docktray::engine::Engine;
use docktray::sources::logwatch::matcher::RuleState;

const LINES: usize = 200_000;

fn rule(pattern: &str) -> LogAlert {
    let text = format!(
        "[[log_alerts]]\ncontainer = \"x\"\npattern = \"{pattern}\"\ncount = 10\nwindow = \"1m\"\n"
    );
    Config::parse(&text, Path::new("bench.toml"))
        .map(|c| c.log_alerts[0].clone())
        .unwrap_or_else(|err| panic!("{err}"))
}

/// Nanoseconds per line fed to one rule.
fn per_line(pattern: &str, line: &str, lines: usize) -> f64 {
    let mut state = RuleState::new(rule(pattern)).unwrap_or_else(|| panic!("pattern {pattern}"));
    let at = Utc::now();
    let start = Instant::now();
    for _ in 0..lines {
        black_box(state.feed(black_box(line), at));
    }
    start.elapsed().as_nanos() as f64 / lines as f64
}

/// This process's CPU time (user + system) so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("docker {args:?}: {err}"));
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// CPU time of an engine running for `secs` with `rules` (TOML) configured.
async fn engine_cpu(rules: &str, secs: u64) -> Duration {
    let text = format!("interval = \"2s\"\n{rules}");
    let config =
        Config::parse(&text, Path::new("bench.toml")).unwrap_or_else(|err| panic!("{err}"));
    let engine = Engine::start(config);
    assert!(engine.ready(Duration::from_secs(20)).await, "engine ready");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cpu_time();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let used = cpu_time().saturating_sub(before);
    let streams = engine.logs().follow_streams_opened();
    let alerts = engine
        .snapshot()
        .alerts
        .iter()
        .filter(|a| a.metric == "log_pattern")
        .count();
    engine.shutdown().await;
    assert!(
        rules.is_empty() || (streams == 1 && alerts == 1),
        "the rule followed the logs ({streams} streams) and raised ({alerts} alerts)"
    );
    used
}

fn main() {
    println!("| case | ns per line |");
    println!("|---|---|");
    let short_hit = "2026-12-04T05:00:00Z ERROR payment failed for order 1234";
    let short_miss = "2026-12-04T05:00:00Z INFO request served in 12 ms";
    let huge = "x".repeat(64 * 1024) + " ERROR";
    let eight = "x".repeat(8 * 1024);
    for (label, pattern, line, n) in [
        ("literal, 56 B line, match", "ERROR", short_hit, LINES),
        ("literal, 48 B line, no match", "ERROR", short_miss, LINES),
        (
            "`(?i)error\\|fatal\\|panic`, 48 B line, no match",
            "(?i)error|fatal|panic",
            short_miss,
            LINES,
        ),
        (
            "`(?i)error\\|fatal\\|panic`, 8 KiB line, no match",
            "(?i)error|fatal|panic",
            eight.as_str(),
            LINES / 20,
        ),
        (
            "`(?i)error\\|fatal\\|panic`, 64 KiB line (cut at 8 KiB)",
            "(?i)error|fatal|panic",
            huge.as_str(),
            LINES / 20,
        ),
    ] {
        println!("| {label} | {:.0} |", per_line(pattern, line, n));
    }

    let Ok(image) = std::env::var("DOCKTRAY_TEST_IMAGE") else {
        eprintln!("log_alerts bench: DOCKTRAY_TEST_IMAGE unset, skipping the engine runs");
        return;
    };
    let name = format!("docktray-bench-logs-{}", std::process::id());
    // About 1,000 lines a second: a burst of 1,000 every second, one in ten matching.
    let script = "while :; do i=0; while [ $i -lt 100 ]; do echo \"ERROR line $i\"; \
                  j=0; while [ $j -lt 9 ]; do echo \"INFO request $i.$j served\"; j=$((j+1)); done; \
                  i=$((i+1)); done; sleep 1; done";
    docker(&[
        "run",
        "-d",
        "--label",
        "docktray.test=1",
        "--name",
        &name,
        &image,
        "sh",
        "-c",
        script,
    ]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let secs = 20;
    let rules = format!(
        "[[log_alerts]]\ncontainer = \"{name}\"\npattern = \"(?i)error|fatal\"\ncount = 10\nwindow = \"1m\"\n"
    );
    let without = runtime.block_on(engine_cpu("", secs));
    let with = runtime.block_on(engine_cpu(&rules, secs));
    let (pipe, counted) = grep_pipe_cpu(&name, secs);
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let lines = 1000.0 * secs as f64;
    println!();
    println!("| engine over {secs} s, ~1,000 lines/s | CPU ms | % of one core |");
    println!("|---|---|---|");
    for (label, used) in [
        ("no log alert", without),
        ("one log alert (follows the stream and matches)", with),
    ] {
        println!(
            "| {label} | {} | {:.2} |",
            used.as_millis(),
            used.as_secs_f64() / secs as f64 * 100.0
        );
    }
    println!(
        "| `docker logs -f --tail 0 \\| grep -c -i -E 'error\\|fatal'` ({counted} counted) | {} | {:.2} |",
        pipe.as_millis(),
        pipe.as_secs_f64() / secs as f64 * 100.0
    );
    let share = with.saturating_sub(without);
    println!(
        "| the rule's share per line | {:.1} µs | |",
        share.as_secs_f64() * 1e6 / lines
    );
    println!();
    println!(
        "The rule's share against what a user would run instead (the two client processes): {:.2}x",
        share.as_secs_f64() / pipe.as_secs_f64().max(1e-9)
    );
}

/// CPU time (user + system) of one process so far, from /proc.
fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// What a user would run instead: `docker logs -f --tail 0 NAME | grep -c -i -E 'error|fatal'` for `secs`; the
/// CPU time of both processes (after the same 2 s settling as the engine runs) and the lines grep counted.
fn grep_pipe_cpu(name: &str, secs: u64) -> (Duration, String) {
    use std::process::Stdio;
    let mut logs = Command::new("docker")
        .args(["logs", "-f", "--tail", "0", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("docker logs: {err}"));
    let Some(stdout) = logs.stdout.take() else {
        panic!("docker logs has no stdout");
    };
    let grep = Command::new("grep")
        .args(["-c", "-i", "-E", "error|fatal"])
        .stdin(Stdio::from(stdout))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("grep: {err}"));
    std::thread::sleep(Duration::from_secs(2));
    let before = process_cpu(logs.id()) + process_cpu(grep.id());
    std::thread::sleep(Duration::from_secs(secs));
    let used = (process_cpu(logs.id()) + process_cpu(grep.id())).saturating_sub(before);
    let _ = logs.kill();
    let _ = logs.wait();
    let counted = grep
        .wait_with_output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    (used, counted)
}
