//! Forecasts on real recorded history: the monitor records a real engine's samples into a real SQLite history,
//! the forecaster fits them, the engine judges the projections.
//!
//! - a container whose memory grows steadily (a busybox process appending 1 MiB a second to a tmpfs file,
//!   which its memory cgroup is charged for) raises the leak forecast, with a time to its limit within 20 % of
//!   the true one (from the files it wrote, counted with `docker exec`);
//! - a container whose memory is flat never raises one;
//! - a container restarted into a higher but flat level does not look like a trend (the fit starts after the
//!   restart);
//! - a small ext4 file system on a loop device, filled by the test, raises the disk forecast.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use docktray::alerts::{metric, AlertTransition, TransitionKind};
use docktray::model::{Forecast, ForecastKind, ForecastState};
use docktray::monitor::{Monitor, MonitorOptions};
use docktray::{Config, Snapshot, Update};
use tokio::sync::broadcast;

use common::*;

const MIB: f64 = 1024.0 * 1024.0;

fn monitor_config(dir: &Path, forecasts: &str) -> Config {
    let text = format!(
        "interval = \"500ms\"\n[alerts]\nhold = \"1s\"\n[history]\npath = \"{}\"\n{forecasts}",
        dir.join("history.sqlite").display()
    );
    Config::parse(&text, Path::new("forecasts-test.toml")).expect("valid config")
}

/// Every alert change published, collected in the background.
fn collect(
    mut updates: broadcast::Receiver<Update>,
) -> Arc<std::sync::Mutex<Vec<AlertTransition>>> {
    let seen: Arc<std::sync::Mutex<Vec<AlertTransition>>> = Arc::default();
    let sink = seen.clone();
    tokio::spawn(async move {
        loop {
            match updates.recv().await {
                Ok(Update::Alert(change)) => sink.lock().unwrap().push(*change),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    seen
}

fn forecast_of<'a>(snapshot: &'a Snapshot, kind: ForecastKind, id: &str) -> Option<&'a Forecast> {
    snapshot
        .forecasts
        .iter()
        .find(|f| f.kind == kind && (f.target.id == id || f.detail.as_deref() == Some(id)))
}

fn files_in(container: &TestContainer) -> f64 {
    docker(&["exec", &container.id, "sh", "-c", "ls /leak | wc -l"])
        .trim()
        .parse()
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_forecasts_see_a_leak_and_ignore_flat_lines_and_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = monitor_config(
        dir.path(),
        "[forecasts]\nevery = \"2s\"\n\
         [forecasts.disk]\nenabled = false\nwarning = \"7d\"\ncritical = \"1d\"\n\
         [forecasts.memory]\nwarning = \"1h\"\ncritical = \"5s\"\nwindow = \"5m\"\nmin_data = \"20s\"\nhold = \"1s\"\n",
    );
    let monitor = Monitor::start(
        config,
        MonitorOptions {
            history: true,
            notifications: false,
        },
    )
    .expect("monitor");
    let changes = collect(monitor.engine().subscribe());
    assert!(monitor.engine().ready(Duration::from_secs(20)).await);

    let tmpfs = ["--memory", "96m", "--tmpfs", "/leak:size=200m"];
    let leak = TestContainer::run(
        "leak",
        &tmpfs,
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 300 ]; do dd if=/dev/zero of=/leak/f$i bs=1048576 count=1 2>/dev/null; \
             i=$((i+1)); sleep 1; done; sleep 3600",
        ],
    );
    let started = Instant::now();
    let files_at_start = files_in(&leak);
    let flat = TestContainer::run(
        "flat",
        &tmpfs,
        &[
            "sh",
            "-c",
            "dd if=/dev/zero of=/leak/f bs=1048576 count=20 2>/dev/null; sleep 3600",
        ],
    );
    let restarted = TestContainer::run(
        "restart",
        &tmpfs,
        &[
            "sh",
            "-c",
            "if [ -e /marker ]; then n=40; else n=5; touch /marker; fi; \
             dd if=/dev/zero of=/leak/f bs=1048576 count=$n 2>/dev/null; sleep 3600",
        ],
    );

    // The leak: raised as a forecast alert once 20 s of history exist.
    let engine = monitor.engine();
    let (alert, forecast, live_memory, limit) =
        wait_for(engine, Duration::from_secs(60), "the leak forecast", |s| {
            let alert = s
                .alerts
                .iter()
                .find(|a| a.metric == metric::MEMORY_LIMIT_FORECAST && a.target.id == leak.id)?;
            let forecast = forecast_of(s, ForecastKind::Memory, &leak.id)?;
            let stats = s
                .containers
                .iter()
                .find(|c| c.info.id == leak.id)?
                .stats
                .as_ref()?;
            Some((
                alert.clone(),
                forecast.clone(),
                stats.memory_bytes as f64,
                stats.memory_limit_bytes as f64,
            ))
        })
        .await;
    let read_at = Utc::now();
    let elapsed = started.elapsed().as_secs_f64();
    // The true rate: the files the container wrote, counted inside it.
    let rate = (files_in(&leak) - files_at_start) * MIB / (started.elapsed().as_secs_f64());
    assert!(
        rate > 0.5 * MIB,
        "the container writes about 1 MiB/s: {rate}"
    );
    let true_reach =
        read_at + chrono::TimeDelta::milliseconds(((limit - live_memory) / rate * 1000.0) as i64);
    let projected = forecast.reaches_at.expect("a projection");
    let true_left = (true_reach - forecast.computed_at).num_milliseconds() as f64;
    let error = (projected - true_reach).num_milliseconds().abs() as f64 / true_left;
    assert!(
        error < 0.2,
        "projected {projected}, true {true_reach} ({:.0} % off after {elapsed:.0} s): {forecast:#?}",
        error * 100.0
    );
    let slope_error = (forecast.slope_per_hour / 3600.0 - rate).abs() / rate;
    assert!(
        slope_error < 0.2,
        "slope {} B/s against {rate} B/s",
        forecast.slope_per_hour / 3600.0
    );
    assert_eq!(forecast.state, ForecastState::Rising);
    assert!(
        alert.message.contains("reaches its limit in"),
        "{}",
        alert.message
    );
    assert_eq!(alert.unit, "h");

    // The restart: into a higher level, flat again.
    let before_restart: DateTime<Utc> = Utc::now();
    docker(&["restart", "-t", "1", &restarted.id]);
    let after_restart = Utc::now();
    // Watch for 40 s: across the restart the jump would look like a rise for a while; after it nothing rises.
    let watch_until = Instant::now() + Duration::from_secs(40);
    while Instant::now() < watch_until {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let snapshot = engine.snapshot();
    let restart_forecast =
        forecast_of(&snapshot, ForecastKind::Memory, &restarted.id).expect("forecast");
    assert!(
        matches!(
            restart_forecast.state,
            ForecastState::Steady | ForecastState::Unsteady
        ),
        "{restart_forecast:#?}"
    );
    assert!(
        restart_forecast
            .since
            .is_some_and(|since| since >= before_restart),
        "the fit starts after the restart at {after_restart}: {restart_forecast:#?}"
    );
    let flat_forecast = forecast_of(&snapshot, ForecastKind::Memory, &flat.id).expect("forecast");
    assert_ne!(
        flat_forecast.state,
        ForecastState::Rising,
        "{flat_forecast:#?}"
    );
    assert_eq!(flat_forecast.hours_left, None);

    let changes = changes.lock().unwrap().clone();
    let forecast_alerts = |id: &str| {
        changes
            .iter()
            .filter(|c| c.alert.metric == metric::MEMORY_LIMIT_FORECAST && c.alert.target.id == id)
            .filter(|c| c.kind == TransitionKind::Raised)
            .count()
    };
    assert_eq!(
        forecast_alerts(&flat.id),
        0,
        "a flat series raised a forecast"
    );
    assert_eq!(forecast_alerts(&restarted.id), 0, "a restart faked a trend");
    assert_eq!(forecast_alerts(&leak.id), 1);
    drop((leak, flat, restarted));
    monitor.shutdown().await.expect("shutdown");
}

/// A small ext4 file system on a loop device, unmounted when dropped.
struct LoopMount {
    mount: PathBuf,
}

impl LoopMount {
    fn new(dir: &Path, megabytes: u32) -> Self {
        let image = dir.join("fs.img");
        let mount = dir.join("mnt");
        std::fs::create_dir_all(&mount).expect("mount point");
        let file = std::fs::File::create(&image).expect("image");
        file.set_len(u64::from(megabytes) * 1024 * 1024)
            .expect("size");
        let run = |program: &str, args: &[&str]| {
            let out = Command::new(program).args(args).output().expect(program);
            assert!(
                out.status.success(),
                "{program} {args:?}: {} (the test needs root and loop devices; apt-get install e2fsprogs mount)",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            "mkfs.ext4",
            &["-q", "-F", "-m", "0", image.to_str().unwrap()],
        );
        run(
            "mount",
            &[
                "-o",
                "loop",
                image.to_str().unwrap(),
                mount.to_str().unwrap(),
            ],
        );
        Self { mount }
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filling_file_system_raises_the_disk_forecast() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mounted = LoopMount::new(dir.path(), 160);
    let mount = mounted.mount.to_string_lossy().into_owned();
    let config = monitor_config(
        dir.path(),
        "[forecasts]\nevery = \"2s\"\n\
         [forecasts.memory]\nenabled = false\nwarning = \"1d\"\ncritical = \"2h\"\n\
         [forecasts.disk]\nwarning = \"1h\"\ncritical = \"5s\"\nwindow = \"5m\"\nmin_data = \"40s\"\nhold = \"1s\"\n",
    );
    let monitor = Monitor::start(
        config,
        MonitorOptions {
            history: true,
            notifications: false,
        },
    )
    .expect("monitor");
    assert!(monitor.engine().ready(Duration::from_secs(20)).await);
    // 1 MiB every 0.6 s until the file system is full.
    let stop = Arc::new(AtomicBool::new(false));
    let filler = {
        let stop = stop.clone();
        let path = mounted.mount.join("fill");
        std::thread::spawn(move || {
            let mut file = std::fs::File::create(path).expect("fill file");
            let chunk = vec![7u8; 1024 * 1024];
            while !stop.load(Ordering::Relaxed) {
                if file
                    .write_all(&chunk)
                    .and_then(|()| file.sync_data())
                    .is_err()
                {
                    return;
                }
                std::thread::sleep(Duration::from_millis(600));
            }
        })
    };
    let engine = monitor.engine();
    let (alert, forecast) = wait_for(engine, Duration::from_secs(150), "the disk forecast", |s| {
        let alert = s.alerts.iter().find(|a| {
            a.metric == metric::DISK_FULL_FORECAST && a.detail.as_deref() == Some(mount.as_str())
        })?;
        let forecast = forecast_of(s, ForecastKind::Disk, &mount)?;
        Some((alert.clone(), forecast.clone()))
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let _ = filler.join();
    assert_eq!(forecast.state, ForecastState::Rising, "{forecast:#?}");
    assert!(
        forecast.hours_left.is_some_and(|h| h < 1.0),
        "{forecast:#?}"
    );
    assert!(forecast.summary.starts_with("full in"), "{forecast:#?}");
    assert!(
        alert.message.contains(&format!("Disk {mount} of local")),
        "{}",
        alert.message
    );
    // About 1 MiB per 0.6 s of 160 MiB: about 0.9 % a second, read every 30 s from the kernel.
    let per_second = forecast.slope_per_hour / 3600.0;
    assert!(
        (0.3..2.0).contains(&per_second),
        "{per_second} %/s: {forecast:#?}"
    );
    monitor.shutdown().await.expect("shutdown");
    drop(mounted);
}

/// A forecast alert is acknowledged like any other (the acknowledgement sticks while it is active and is recorded),
/// and clears with "the trend turned" once the container frees what it had leaked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forecast_alert_is_acknowledged_and_clears_when_the_trend_turns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = monitor_config(
        dir.path(),
        "[forecasts]\nevery = \"1s\"\n\
         [forecasts.disk]\nenabled = false\nwarning = \"7d\"\ncritical = \"1d\"\n\
         [forecasts.memory]\nwarning = \"1h\"\ncritical = \"5s\"\nwindow = \"5m\"\nmin_data = \"15s\"\nhold = \"1s\"\n",
    );
    let monitor = Monitor::start(
        config,
        MonitorOptions {
            history: true,
            notifications: false,
        },
    )
    .expect("monitor");
    let changes = collect(monitor.engine().subscribe());
    assert!(monitor.engine().ready(Duration::from_secs(20)).await);
    // Leaks 1 MiB a second until /leak/stop exists, then stays.
    let leak = TestContainer::run(
        "turn",
        &["--memory", "96m", "--tmpfs", "/leak:size=200m"],
        &[
            "sh",
            "-c",
            "i=0; while [ ! -e /leak/stop ] && [ $i -lt 80 ]; do \
             dd if=/dev/zero of=/leak/f$i bs=1048576 count=1 2>/dev/null; i=$((i+1)); sleep 1; done; sleep 3600",
        ],
    );
    let engine = monitor.engine();
    let is_ours = |a: &docktray::alerts::Alert| {
        a.metric == metric::MEMORY_LIMIT_FORECAST && a.target.id == leak.id
    };
    let raised = wait_for(
        engine,
        Duration::from_secs(60),
        "the leak forecast alert",
        |s| s.alerts.iter().find(|a| is_ours(a)).cloned(),
    )
    .await;
    assert!(!raised.acknowledged);
    assert!(
        engine.acknowledge(raised.id).await,
        "acknowledge {raised:#?}"
    );
    // Later rounds keep the acknowledgement (the alert stays the same one).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let snapshot = engine.snapshot();
    let still = snapshot
        .alerts
        .iter()
        .find(|a| is_ours(a))
        .expect("still active while the leak goes on");
    assert_eq!(still.id, raised.id);
    assert!(still.acknowledged, "{still:#?}");

    // The trend turns: the writer stops and the leaked files are freed.
    docker(&[
        "exec",
        &leak.id,
        "sh",
        "-c",
        "touch /leak/stop; sleep 2; rm -f /leak/f*",
    ]);
    let resolved = wait_for(
        engine,
        Duration::from_secs(60),
        "the forecast alert to clear",
        |s| {
            let active = s.alerts.iter().any(&is_ours);
            let forecast = forecast_of(s, ForecastKind::Memory, &leak.id)?;
            (!active && forecast.state != ForecastState::Rising).then(|| forecast.clone())
        },
    )
    .await;
    assert_eq!(resolved.hours_left, None, "{resolved:#?}");
    let changes = changes.lock().unwrap().clone();
    let ours: Vec<&AlertTransition> = changes.iter().filter(|c| is_ours(&c.alert)).collect();
    let kinds: Vec<TransitionKind> = ours.iter().map(|c| c.kind).collect();
    assert_eq!(kinds.first(), Some(&TransitionKind::Raised), "{kinds:?}");
    let last = ours.last().expect("transitions");
    assert_eq!(last.kind, TransitionKind::Resolved, "{kinds:?}");
    assert!(
        last.alert.message.contains("the trend turned"),
        "{}",
        last.alert.message
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == TransitionKind::Raised)
            .count(),
        1,
        "raised once: {kinds:?}"
    );
    drop(leak);
    monitor.shutdown().await.expect("shutdown");
}
