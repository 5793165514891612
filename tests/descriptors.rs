//! The local sweep's kept counter files against the real engine: a restarted container is read from reopened
//! files and its figures still agree with `docker stats`; a removed one leaves no descriptor behind, also after
//! 300 containers came and went; beyond the budget files are opened per read with the same figures; and
//! `docktray status --json` reports the descriptors, the soft limit raised to the hard one.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use docktray::sources::docker::cgroup::{self, KeptFiles, Mounts, Outcome};
use docktray::sources::docker::descriptors::{self, Budget};
use docktray::sources::docker::formula::MemoryFormula;
use docktray::{Engine, Update};

const WAIT: Duration = Duration::from_secs(60);

/// Tests that count the whole process's descriptors run one at a time.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where each of this process's descriptors points, sockets, pipes and event descriptors left out (the
/// engine's HTTP connections to Docker come and go with its connection pool).
fn open_files() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.starts_with('/'))
        .collect()
}

/// Descriptors of the counter files of a container (its cgroup paths name its id; `/proc/<pid>/...` its
/// network namespace).
fn files_of(files: &[String], id: &str, pid: u32) -> usize {
    let proc_dir = format!("/proc/{pid}/");
    files
        .iter()
        .filter(|target| target.contains(id) || target.starts_with(&proc_dir))
        .count()
}

fn pid_of(name: &str) -> u32 {
    docker(&["inspect", "-f", "{{.State.Pid}}", name])
        .parse()
        .expect("a pid")
}

fn counters(outcome: &Outcome) -> &docktray::model::RawCounters {
    match outcome {
        Outcome::Counters(counters) => counters,
        other => panic!("expected counters, got {other:?}"),
    }
}

/// The sweep of one container.
fn sweep_one(kept: &mut KeptFiles, id: &str, pid: u32) -> Outcome {
    let mut read = kept.sweep(vec![(id.to_owned(), pid)], Instant::now());
    assert_eq!(read.len(), 1);
    read.remove(0).1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_container_is_read_from_reopened_files_with_correct_figures() {
    let _alone = ALONE.lock().await;
    // Runs 1 and 3 send about 100 kB, run 2 sends nothing: figures read from an earlier run's files (its
    // network namespace, its cgroup) would show the other run's traffic.
    let dir = tempfile::tempdir_in("/var/tmp").expect("tempdir");
    let volume = format!("{}:/data", dir.path().display());
    let ctr = TestContainer::run(
        "restart",
        &["-v", &volume],
        &[
            "sh",
            "-c",
            "n=$(( $(cat /data/n 2>/dev/null || echo 0) + 1 )); echo $n > /data/n; \
             if [ $n != 2 ]; then \
             ping -c 80 -i 0.05 -s 1200 \"$(ip route | awk '/default/ {print $3}')\" >/dev/null 2>&1; fi; \
             touch /data/ready; sleep 300",
        ],
    );
    let ready = dir.path().join("ready");
    let restart = || {
        std::fs::remove_file(&ready).expect("rm ready");
        docker(&["restart", "-t", "0", &ctr.name]);
    };
    let wait_ready = || {
        let deadline = Instant::now() + WAIT;
        while !ready.exists() {
            assert!(Instant::now() < deadline, "the container never got ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_ready();

    // The sweep itself, with no engine running: run 1, then run 2 after a restart.
    let mounts = Mounts::discover().expect("mountinfo");
    let mut kept = KeptFiles::new(mounts.clone(), MemoryFormula::DOCKER);
    let first_pid = pid_of(&ctr.name);
    let first = sweep_one(&mut kept, &ctr.id, first_pid);
    assert!(
        counters(&first).net_tx_bytes > 80_000,
        "the first run sent its traffic: {first:?}"
    );
    let held = files_of(&open_files(), &ctr.id, first_pid);
    assert!(held >= 5, "the container's files are kept open: {held}");
    assert_eq!(
        kept.open_count(),
        held + 2,
        "plus /proc/stat and /proc/meminfo"
    );
    restart();
    wait_ready();
    let second_pid = pid_of(&ctr.name);
    assert_ne!(first_pid, second_pid);
    // A sweep that still knows the old process finds its files gone and holds none of them.
    assert_eq!(sweep_one(&mut kept, &ctr.id, first_pid), Outcome::Gone);
    assert_eq!(files_of(&open_files(), &ctr.id, first_pid), 0);
    assert_eq!(kept.open_count(), 2);
    // The new run's files are opened and read: the new namespace's counters, not the first run's.
    let second = sweep_one(&mut kept, &ctr.id, second_pid);
    let second = counters(&second);
    assert!(second.net_tx_bytes < 20_000, "{second:?}");
    let paths = mounts
        .locate(second_pid, &ctr.id)
        .expect("the new run's cgroup");
    let fresh = cgroup::read_counters(
        &paths,
        second_pid,
        &cgroup::read_host_cpu().expect("host"),
        Instant::now(),
    )
    .expect("read per open");
    assert_eq!(fresh.net_tx_bytes, second.net_tx_bytes);
    assert_eq!(fresh.memory_limit_bytes, second.memory_limit_bytes);
    assert!(fresh.cpu_total_ns >= second.cpu_total_ns);
    assert_eq!(
        files_of(&open_files(), &ctr.id, second_pid),
        held,
        "as many files as before, all of the new run"
    );
    drop(kept);
    assert_eq!(files_of(&open_files(), &ctr.id, second_pid), 0);

    // The engine through a restart: run 2's quiet figures, then run 3's traffic, as docker stats counts it.
    let engine = start_engine(test_config()).await;
    let quiet = wait_for(&engine, WAIT, "figures of run 2", |s| {
        find(s, &ctr.name).and_then(|c| c.stats.clone())
    })
    .await;
    assert!(quiet.net_tx_bytes < 20_000, "{quiet:?}");
    restart();
    wait_ready();
    // The ping has ended: only figures sampled from now on hold all of its traffic (one sampled during it
    // showed 88 kB of the 99 kB that docker stats, asked later, counted).
    let traffic_done = chrono::Utc::now();
    let third_pid = pid_of(&ctr.name);
    let busy = wait_for(&engine, WAIT, "run 3's traffic in the figures", |s| {
        find(s, &ctr.name)
            .and_then(|c| c.stats.clone())
            .filter(|stats| stats.sampled_at > traffic_done && stats.net_tx_bytes > 80_000)
    })
    .await;
    let theirs = docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.NetIO}}|{{.PIDs}}",
        &ctr.name,
    ]);
    let (net, pids) = theirs.split_once('|').expect("two columns");
    let docker_tx = parse_size(net.split(" / ").nth(1).expect("tx"));
    assert!(
        (busy.net_tx_bytes as f64 - docker_tx).abs() <= docker_tx * 0.1,
        "{busy:?} vs {theirs}"
    );
    let now = container_stats(&engine, &ctr.name);
    assert_eq!(now.pids.to_string(), pids.trim(), "{theirs}");
    let files = open_files();
    // cgroupfs gives every run the same cgroup path: run 2's files would show as extra descriptors of it.
    let proc_dir = format!("/proc/{second_pid}/");
    assert!(
        !files.iter().any(|target| target.starts_with(&proc_dir)),
        "run 2's net/dev closed: {files:?}"
    );
    assert_eq!(
        files_of(&files, &ctr.id, third_pid),
        held,
        "run 3's files kept, none of run 2's beside them: {files:?}"
    );
    engine.shutdown().await;
}

fn container_stats(engine: &Engine, name: &str) -> docktray::ContainerStats {
    find(&engine.snapshot(), name)
        .and_then(|c| c.stats.clone())
        .expect("figures")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_container_leaves_no_descriptor() {
    let _alone = ALONE.lock().await;
    let engine = start_engine(test_config()).await;
    let ctr = TestContainer::run("fd-gone", &[], &["sleep", "300"]);
    let pid = pid_of(&ctr.name);
    wait_for(&engine, WAIT, "figures of the container", |s| {
        find(s, &ctr.name).and_then(|c| c.stats.clone())
    })
    .await;
    let held = files_of(&open_files(), &ctr.id, pid);
    assert!(held >= 5, "its counter files are kept open: {held}");

    let mut updates = engine.subscribe();
    docker(&["rm", "-f", &ctr.id]);
    wait_for(&engine, WAIT, "the container gone", |s| {
        find(s, &ctr.name).is_none().then_some(())
    })
    .await;
    // Closed at the destroy event; a sweep later nothing has come back.
    wait_sweep(&mut updates).await;
    assert_eq!(files_of(&open_files(), &ctr.id, pid), 0);
    engine.shutdown().await;
}

async fn wait_sweep(updates: &mut tokio::sync::broadcast::Receiver<Update>) {
    loop {
        let update = tokio::time::timeout(WAIT, updates.recv())
            .await
            .expect("a sweep");
        match update {
            Ok(Update::Stats { ref host, .. }) if host == "local" => return,
            // Hundreds of containers going at once overflow the queue: skipped updates are no sweep.
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(err) => panic!("the update stream ended: {err}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_containers_started_and_removed_leave_the_descriptor_count_where_it_was() {
    const COUNT: usize = 300;
    const IN_FLIGHT: usize = 8;
    let _alone = ALONE.lock().await;
    let engine = start_engine(test_config()).await;
    let mut updates = engine.subscribe();
    wait_sweep(&mut updates).await;
    let before = open_files();
    let kept_before = engine.self_figures().descriptors.kept_open;

    // Created and started through the API, 8 at a time, without networks (quicker to start; the sweep still
    // keeps each one's /proc/<pid>/net/dev open).
    let client = engine.client().expect("the engine's Docker client");
    let docker_api = client.docker().clone();
    let prefix = unique("many");
    let names: Vec<String> = (0..COUNT).map(|i| format!("{prefix}-{i}")).collect();
    let guard = Removal {
        docker: docker_api.clone(),
        names: names.clone(),
    };
    let started = Instant::now();
    let ids = for_each(&docker_api, &names, IN_FLIGHT, |docker, name| async move {
        let body = bollard::models::ContainerCreateBody {
            image: Some(image()),
            cmd: Some(vec!["sleep".into(), "600".into()]),
            labels: Some(HashMap::from([("docktray.test".into(), "1".into())])),
            host_config: Some(bollard::models::HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = bollard::query_parameters::CreateContainerOptionsBuilder::new()
            .name(&name)
            .build();
        let created = docker
            .create_container(Some(options), body)
            .await
            .unwrap_or_else(|err| panic!("creating {name}: {err}"));
        docker
            .start_container(&created.id, None)
            .await
            .unwrap_or_else(|err| panic!("starting {name}: {err}"));
        created.id
    })
    .await;
    eprintln!("{COUNT} containers started in {:?}", started.elapsed());

    let sampled = |s: &docktray::Snapshot| {
        s.containers
            .iter()
            .filter(|c| ids.contains(&c.info.id) && c.stats.is_some())
            .count()
    };
    wait_for(
        &engine,
        Duration::from_secs(180),
        "figures of all 300",
        |s| (sampled(s) == COUNT).then_some(()),
    )
    .await;
    wait_sweep(&mut updates).await;
    let figures = engine.self_figures().descriptors;
    assert!(
        figures.kept_open >= kept_before + 5 * COUNT as u64,
        "every container's files are kept: {figures:?}"
    );
    let open = figures.open.expect("/proc/self/fd");
    assert!(
        open <= before.len() as u64 + 8 * COUNT as u64 + 64,
        "at most 8 per container above the base: {figures:?}, {} before",
        before.len()
    );

    let removing = Instant::now();
    drop(guard);
    eprintln!("{COUNT} containers removed in {:?}", removing.elapsed());
    wait_for(&engine, Duration::from_secs(120), "all 300 gone", |s| {
        (!s.containers.iter().any(|c| ids.contains(&c.info.id))).then_some(())
    })
    .await;
    wait_sweep(&mut updates).await;
    let after = open_files();
    let leaked: Vec<&String> = after
        .iter()
        .filter(|target| ids.iter().any(|id| target.contains(id.as_str())))
        .collect();
    assert!(leaked.is_empty(), "descriptors left behind: {leaked:?}");
    // Containers of other tests on the shared engine may come and go meanwhile: their counter files are left
    // out of the count, and every net/dev still open must be a live process in a container that is not ours.
    assert_eq!(
        not_counter_files(&after),
        not_counter_files(&before),
        "the descriptor count is where it started:\nbefore {before:?}\nafter {after:?}"
    );
    for target in &after {
        let Some(pid) = net_dev_pid(target) else {
            continue;
        };
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .unwrap_or_else(|_| panic!("{target} is held for a process that is gone"));
        assert!(
            !ids.iter().any(|id| cgroup.contains(id.as_str())),
            "{target} of one of the removed containers is still open"
        );
    }
    let kept_after = engine.self_figures().descriptors.kept_open;
    assert!(
        kept_after <= kept_before + 8 * running_others(&ids) as u64,
        "{kept_after} kept files, {kept_before} before"
    );
    engine.shutdown().await;
}

/// Descriptors that are not a container's counter files (cgroup files, `/proc/<pid>/net/dev`).
fn not_counter_files(files: &[String]) -> Vec<&String> {
    let mut rest: Vec<&String> = files
        .iter()
        .filter(|target| !target.starts_with("/sys/fs/cgroup/") && net_dev_pid(target).is_none())
        .filter(|target| !(target.starts_with("/proc/") && target.ends_with("/fd")))
        .collect();
    rest.sort();
    rest
}

fn net_dev_pid(target: &str) -> Option<u32> {
    target
        .strip_prefix("/proc/")?
        .strip_suffix("/net/dev")?
        .parse()
        .ok()
}

/// Running containers on the engine that are not among `ours`.
fn running_others(ours: &[String]) -> usize {
    docker(&["ps", "-q", "--no-trunc"])
        .lines()
        .filter(|id| !ours.iter().any(|ours| ours == id))
        .count()
}

/// Runs `task` for every name, `in_flight` at a time; returns the results in order.
async fn for_each<F, Fut, T>(
    docker: &bollard::Docker,
    names: &[String],
    in_flight: usize,
    task: F,
) -> Vec<T>
where
    F: Fn(bollard::Docker, String) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    use futures_util::StreamExt;
    futures_util::stream::iter(names.iter().cloned())
        .map(|name| task(docker.clone(), name))
        .buffered(in_flight)
        .collect()
        .await
}

/// Removes the named containers (force, with volumes) when dropped, also when the test fails.
struct Removal {
    docker: bollard::Docker,
    names: Vec<String>,
}

impl Drop for Removal {
    fn drop(&mut self) {
        let docker = self.docker.clone();
        let names = std::mem::take(&mut self.names);
        // A runtime of its own: this may run while the test's runtime is unwinding.
        let remove = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(for_each(&docker, &names, 8, |docker, name| async move {
                let options = bollard::query_parameters::RemoveContainerOptionsBuilder::new()
                    .force(true)
                    .v(true)
                    .build();
                let _ = docker.remove_container(&name, Some(options)).await;
            }));
        });
        let _ = remove.join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_budget_containers_are_read_per_open_with_the_same_figures() {
    // It counts this process's descriptors of its containers: an engine started by another test here would
    // keep their files open too.
    let _alone = ALONE.lock().await;
    let containers: Vec<TestContainer> = (0..4)
        .map(|_| TestContainer::run("budget", &["--memory", "64m"], &["sleep", "300"]))
        .collect();
    let targets: Vec<(String, u32)> = containers
        .iter()
        .map(|c| (c.id.clone(), pid_of(&c.name)))
        .collect();
    // Room for two containers' files (6 or 7 each on cgroup v1, 7 on v2).
    let budget = Arc::new(Budget::new(15));
    let mut kept = KeptFiles::with_budget(
        Mounts::discover().expect("mountinfo"),
        MemoryFormula::DOCKER,
        budget.clone(),
    );
    let read = kept.sweep(targets.clone(), Instant::now());
    assert_eq!(budget.read_per_open(), 2, "two over the budget");
    assert!(
        budget.kept() <= 15 && budget.kept() >= 12,
        "{}",
        budget.kept()
    );
    for ((id, pid), (_, outcome)) in targets.iter().zip(&read) {
        let ours = counters(outcome);
        assert_eq!(ours.memory_limit_bytes, 64 << 20, "{id}");
        assert!(ours.memory_bytes > 0 && ours.pids >= 1, "{ours:?}");
        let open = files_of(&open_files(), id, *pid);
        let per_open = kept.container(id).expect("known").reads_per_open();
        assert_eq!(
            open == 0,
            per_open,
            "{id}: {open} open, per open {per_open}"
        );
    }
    // One leaves: the next sweep keeps a per-open container's files open in its place.
    let (gone, _) = targets[0].clone();
    kept.forget(&gone);
    let read = kept.sweep(targets[1..].to_vec(), Instant::now());
    assert!(read.iter().all(|(_, o)| matches!(o, Outcome::Counters(_))));
    assert_eq!(budget.read_per_open(), 1);
    drop(kept);
    assert_eq!(budget.kept(), 0);
}

#[test]
fn status_json_reports_descriptors_and_the_raised_limit() {
    let containers: Vec<TestContainer> = (0..3)
        .map(|_| TestContainer::run("fd-status", &[], &["sleep", "300"]))
        .collect();
    let (_, hard) = descriptors::raise_open_file_limit();
    let hard = hard.expect("RLIMIT_NOFILE");
    let mut command = Command::new(env!("CARGO_BIN_EXE_docktray"));
    command.args(["status", "--json"]);
    // Started with a low soft limit, as a desktop session often does.
    // SAFETY: setrlimit is async-signal-safe and only changes the child's own limit.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            let mut current = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            current.rlim_cur = 256;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &current) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().expect("run docktray");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    let figures = &json["engine"]["descriptors"];
    assert_eq!(figures["soft_limit"].as_u64(), Some(hard), "{figures}");
    assert_eq!(figures["hard_limit"].as_u64(), Some(hard), "{figures}");
    let running = json["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter(|c| c["state"] == "running")
        .count() as u64;
    let sampled_here = json["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter(|c| containers.iter().any(|ours| c["id"] == ours.id.as_str()))
        .filter(|c| c["stats"]["method"] == "cgroup")
        .count();
    assert_eq!(sampled_here, 3, "{stdout}");
    let kept = figures["kept_open"].as_u64().expect("kept_open");
    assert!(kept >= 5 * 3, "{figures}");
    let open = figures["open"].as_u64().expect("open");
    assert!(
        open >= kept && open <= 8 * running + 64,
        "{figures}, {running} running"
    );
    assert_eq!(
        figures["kept_open_budget"].as_u64(),
        Some(descriptors::budget_for(Some(hard)) as u64)
    );
    assert_eq!(figures["containers_read_per_open"].as_u64(), Some(0));
    // The last sweep's reads: at least the CPU, memory usage and net/dev of each of ours.
    let sweep = &json["engine"]["sweep"];
    let files_read = sweep["files_read"].as_u64().expect("files_read");
    assert!(files_read >= 3 * 3, "{sweep}");
    assert!(sweep["reads_skipped"].as_u64().is_some(), "{sweep}");
}
