//! The workbench on the real engine: images, volumes and networks listed as the docker CLI lists them, removals
//! refused while in use (naming the container), prunes whose reclaimed space `docker system df` confirms, `df`
//! as `docker system df`, a compose-labelled stack acted on in dependency order, and a host disk alert that
//! names what Docker could free.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::Duration;

use common::workbench::{docker_system_df, TestImage, TestNetwork, TestVolume};
use common::*;
use docktray::model::{alert::metric, human_size, DockerDiskUsage, ImageSummary, NetworkSummary};
use docktray::model::{UsageLine, VolumeSummary};

/// The tests here compare whole listings and totals of the one engine: they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.blocking_lock()
}

fn docktray(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(args)
        .output()
        .expect("run docktray")
}

fn ok_stdout(args: &[&str]) -> String {
    let out = docktray(args);
    assert!(
        out.status.success(),
        "docktray {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json<T: serde::de::DeserializeOwned>(args: &[&str]) -> T {
    serde_json::from_str(&ok_stdout(args)).expect("docktray JSON")
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

#[test]
fn images_volumes_and_networks_are_listed_as_the_docker_cli_lists_them() {
    let _serial = serial();
    let repository = unique("img");
    let image = TestImage::committed(&format!("{repository}:one"), 64);
    docker(&["tag", &image.reference, &format!("{repository}:two")]);
    let volume = TestVolume::new("vol");
    let network = TestNetwork::new("net");
    let user = TestContainer::run(
        "user",
        &[
            "-v",
            &format!("{}:/data", volume.0),
            "--network",
            &network.0,
        ],
        &["sleep", "300"],
    );
    // Made from the committed image, never started: it uses the image all the same.
    let idle_name = unique("idle");
    docker(&[
        "create",
        "--label",
        "docktray.test=1",
        "--name",
        &idle_name,
        &image.reference,
    ]);
    let _idle = TestContainer {
        name: idle_name.clone(),
        id: idle_name.clone(),
    };

    // Images: the same references and ids as `docker image ls`.
    let ours: Vec<ImageSummary> = json(&["images", "--json"]);
    let our_rows: BTreeSet<String> = ours
        .iter()
        .flat_map(|i| {
            let refs = if i.tags.is_empty() {
                vec!["<none>:<none>".to_owned()]
            } else {
                i.tags.clone()
            };
            refs.into_iter()
                .map(move |r| format!("{r} {}", short(&i.id)))
        })
        .collect();
    let docker_rows: BTreeSet<String> = docker(&[
        "image",
        "ls",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
    ])
    .lines()
    .map(str::to_owned)
    .collect();
    assert_eq!(our_rows, docker_rows);
    let committed = ours
        .iter()
        .find(|i| i.id == image.id)
        .expect("the committed image");
    assert_eq!(committed.containers, vec![idle_name.clone()]);
    assert!(!committed.dangling);
    assert!(committed.size > 64 * 1024, "{}", committed.size);
    // The table shows each tag on its own row, as docker does.
    let table = ok_stdout(&["images"]);
    for tag in ["one", "two"] {
        assert!(
            table.lines().any(|l| l.starts_with(&repository)
                && l.contains(tag)
                && l.contains(&short(&image.id))),
            "{table}"
        );
    }
    assert!(table.starts_with("REPOSITORY"), "{table}");

    // Volumes: as `docker volume ls`, with the container that mounts ours.
    let ours: Vec<VolumeSummary> = json(&["volumes", "--json"]);
    let our_rows: BTreeSet<String> = ours
        .iter()
        .map(|v| format!("{} {}", v.driver, v.name))
        .collect();
    let docker_rows: BTreeSet<String> =
        docker(&["volume", "ls", "--format", "{{.Driver}} {{.Name}}"])
            .lines()
            .map(str::to_owned)
            .collect();
    assert_eq!(our_rows, docker_rows);
    let ours_volume = ours
        .iter()
        .find(|v| v.name == volume.0)
        .expect("our volume");
    assert_eq!(ours_volume.containers, vec![user.name.clone()]);
    assert_eq!(ours_volume.size, Some(0));

    // Networks: as `docker network ls`, with the attached container and its address.
    let ours: Vec<NetworkSummary> = json(&["networks", "--json"]);
    let our_rows: BTreeSet<String> = ours
        .iter()
        .map(|n| format!("{} {} {} {}", short(&n.id), n.name, n.driver, n.scope))
        .collect();
    let docker_rows: BTreeSet<String> = docker(&[
        "network",
        "ls",
        "--format",
        "{{.ID}} {{.Name}} {{.Driver}} {{.Scope}}",
    ])
    .lines()
    .map(str::to_owned)
    .collect();
    assert_eq!(our_rows, docker_rows);
    let ours_network = ours
        .iter()
        .find(|n| n.name == network.0)
        .expect("our network");
    let address = docker(&[
        "inspect",
        "-f",
        &format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            network.0
        ),
        &user.name,
    ]);
    assert_eq!(ours_network.containers.len(), 1);
    assert_eq!(ours_network.containers[0].container, user.name);
    assert_eq!(
        ours_network.containers[0]
            .ipv4
            .as_deref()
            .map(|a| a.split('/').next().unwrap_or_default()),
        Some(address.as_str())
    );
    let subnet = docker(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        &network.0,
    ]);
    assert_eq!(ours_network.subnets, vec![subnet]);
    assert!(ours.iter().any(|n| n.name == "bridge" && n.builtin));

    // Removing what is in use is refused, naming the container; Docker's own networks are refused too.
    let out = docktray(&["volumes", "rm", &volume.0, "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "volume '{}' on local is used by container {}",
            volume.0, user.name
        )),
        "{stderr}"
    );
    let out = docktray(&["networks", "rm", &network.0, "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("used by container {}", user.name)),
        "{stderr}"
    );
    let out = docktray(&["networks", "rm", "bridge", "--yes"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Docker's own networks"));
    docker(&["volume", "inspect", &volume.0]);
    docker(&["network", "inspect", &network.0]);

    // Unused, they go.
    drop(user);
    let out = ok_stdout(&["networks", "rm", &network.0, "--yes"]);
    assert!(out.contains("space reclaimed"), "{out}");
    assert!(!docker_output(&["network", "inspect", &network.0])
        .status
        .success());
    ok_stdout(&["volumes", "rm", &volume.0, "--yes"]);
    assert!(!docker_output(&["volume", "inspect", &volume.0])
        .status
        .success());
}

#[test]
fn a_used_image_is_refused_naming_its_container_and_prunes_free_what_docker_system_df_confirms() {
    let _serial = serial();
    let image = TestImage::committed(&format!("{}:used", unique("img")), 3000);
    let user_name = unique("user");
    docker(&[
        "create",
        "--label",
        "docktray.test=1",
        "--name",
        &user_name,
        &image.reference,
    ]);
    let user = TestContainer {
        name: user_name.clone(),
        id: user_name.clone(),
    };

    // Without a terminal and without --yes nothing is removed.
    let out = docktray(&["images", "rm", &image.reference]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    // Used (even by a stopped container): refused, naming it.
    let out = docktray(&["images", "rm", &image.reference, "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "image '{}' on local is used by container {user_name}",
            image.reference
        )),
        "{stderr}"
    );
    assert!(stderr.contains("force"), "{stderr}");
    docker(&["image", "inspect", &image.reference]);
    // Once the container is gone it goes, and the space it held is said.
    drop(user);
    let out = ok_stdout(&["images", "rm", &image.reference, "--yes"]);
    assert!(out.contains(&format!("deleted {}", image.id)), "{out}");
    assert!(!docker_output(&["image", "inspect", &image.reference])
        .status
        .success());

    // A dangling image: an older image whose tag a newer one took.
    let tag = format!("{}:moving", unique("img"));
    let old = TestImage::committed(&tag, 2000);
    let _new = TestImage::committed(&tag, 10);
    let ours: Vec<ImageSummary> = json(&["images", "--json"]);
    let dangling = ours
        .iter()
        .find(|i| i.id == old.id)
        .expect("the older image listed");
    assert!(
        dangling.dangling && dangling.tags.is_empty(),
        "{dangling:?}"
    );
    let images_size = |rows: &[[String; 5]]| parse_size(&rows[0][3]);
    let before = images_size(&docker_system_df());
    let out = ok_stdout(&["images", "prune", "--yes"]);
    let reclaimed = reclaimed_bytes(&out);
    let after = images_size(&docker_system_df());
    assert!(out.contains(&old.id), "{out}");
    assert!(!docker_output(&["image", "inspect", &old.id])
        .status
        .success());
    assert!(reclaimed > 2_000_000.0, "{out}");
    // docker system df rounds to four digits: agree within that.
    assert!(
        ((before - after) - reclaimed).abs() <= before * 0.002 + 1000.0,
        "df said {before} then {after}, prune said {reclaimed}: {out}"
    );

    // An unused volume with data: pruned, and `docker system df` sees its size go.
    let volume = TestVolume::new("data");
    docker(&[
        "run",
        "--rm",
        "--label",
        "docktray.test=1",
        "-v",
        &format!("{}:/data", volume.0),
        &common::image(),
        "sh",
        "-c",
        "dd if=/dev/urandom of=/data/blob bs=1024 count=1500 2>/dev/null",
    ]);
    let volumes_size = |rows: &[[String; 5]]| parse_size(&rows[2][3]);
    let before = volumes_size(&docker_system_df());
    let out = ok_stdout(&["volumes", "prune", "--yes"]);
    let reclaimed = reclaimed_bytes(&out);
    let after = volumes_size(&docker_system_df());
    assert!(out.contains(&volume.0), "{out}");
    assert!(reclaimed >= 1_500_000.0, "{out}");
    assert!(
        ((before - after) - reclaimed).abs() <= before * 0.002 + 1000.0,
        "df said {before} then {after}, prune said {reclaimed}: {out}"
    );
}

/// The bytes of "space reclaimed: 2.05MB".
fn reclaimed_bytes(out: &str) -> f64 {
    let text = out
        .rsplit("space reclaimed: ")
        .next()
        .unwrap_or_default()
        .trim();
    parse_size(text)
}

#[test]
fn df_agrees_with_docker_system_df() {
    let _serial = serial();
    // Something in each line: an unused image, a stopped container with data, a volume with data.
    let _image = TestImage::committed(&format!("{}:df", unique("img")), 500);
    let stopped = TestContainer::run(
        "stopped",
        &[],
        &[
            "sh",
            "-c",
            "dd if=/dev/urandom of=/blob bs=1024 count=700 2>/dev/null",
        ],
    );
    docker(&["wait", &stopped.id]);
    let volume = TestVolume::new("dfvol");
    let _running = TestContainer::run(
        "running",
        &["-v", &format!("{}:/data", volume.0)],
        &[
            "sh",
            "-c",
            "dd if=/dev/urandom of=/data/blob bs=1024 count=300 2>/dev/null; sleep 300",
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    let row = |line: &UsageLine, kind: &str| {
        let reclaimable = match (line.reclaimable * 100).checked_div(line.size) {
            // docker system df gives no percentage for the build cache.
            _ if kind == "Build Cache" => human_size(line.reclaimable),
            Some(percent) => format!("{} ({percent}%)", human_size(line.reclaimable)),
            None => human_size(line.reclaimable),
        };
        [
            kind.to_owned(),
            line.total.to_string(),
            line.active.to_string(),
            human_size(line.size),
            reclaimable,
        ]
    };
    // Figures of running containers may move between the two reads: agree on one of a few tries.
    let mut last = None;
    for _ in 0..3 {
        let ours: Vec<DockerDiskUsage> = json(&["df", "--json"]);
        let ours = &ours[0];
        let theirs = docker_system_df();
        let rows = vec![
            row(&ours.images, "Images"),
            row(&ours.containers, "Containers"),
            row(&ours.volumes, "Local Volumes"),
            row(&ours.build_cache, "Build Cache"),
        ];
        if rows == theirs {
            assert!(ours.containers.reclaimable >= 700 * 1024, "{ours:?}");
            assert!(ours.volumes.size >= 300 * 1024, "{ours:?}");
            assert!(ours.root_dir.is_some());
            // The table says the same.
            let table = ok_stdout(&["df"]);
            for row in &theirs {
                let wanted = row.join(" ");
                assert!(
                    table
                        .lines()
                        .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == wanted),
                    "{wanted} in {table}"
                );
            }
            return;
        }
        last = Some((rows, theirs));
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("docktray df and docker system df differ: {last:?}");
}

#[test]
fn a_compose_labelled_stack_stops_and_starts_in_dependency_order() {
    let _serial = serial();
    let project = unique("shop");
    // Exits on SIGTERM at once, so each stop takes moments.
    let serve = [
        "sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ];
    let service = |name: &str, depends_on: Option<&str>| {
        let mut options = vec![
            "--label".to_owned(),
            format!("com.docker.compose.project={project}"),
            "--label".to_owned(),
            format!("com.docker.compose.service={name}"),
        ];
        if let Some(dependency) = depends_on {
            options.push("--label".to_owned());
            options.push(format!(
                "com.docker.compose.depends_on={dependency}:service_started:false"
            ));
        }
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        TestContainer::run(name, &options, &serve)
    };
    let db = service("db", None);
    let web = service("web", Some("db"));
    let proxy = service("proxy", Some("web"));
    let time = |ctr: &TestContainer, field: &str| -> chrono::DateTime<chrono::Utc> {
        docker(&["inspect", "-f", &format!("{{{{.State.{field}}}}}"), &ctr.id])
            .parse()
            .expect("a time")
    };

    // Without --yes (and no terminal) a stop does nothing.
    let out = docktray(&["stack", "stop", &project]);
    assert_eq!(out.status.code(), Some(2));
    assert!(docker(&["inspect", "-f", "{{.State.Running}}", &db.id]) == "true");

    let out = ok_stdout(&["stack", "stop", &project, "--yes"]);
    let order: Vec<&str> = out.lines().collect();
    assert_eq!(
        order,
        vec![
            format!("stop   {}", proxy.name),
            format!("stop   {}", web.name),
            format!("stop   {}", db.name)
        ],
        "{out}"
    );
    for ctr in [&db, &web, &proxy] {
        assert_eq!(
            docker(&["inspect", "-f", "{{.State.Running}}", &ctr.id]),
            "false"
        );
    }
    // Dependents stopped first, as the engine recorded it.
    assert!(time(&proxy, "FinishedAt") < time(&web, "FinishedAt"));
    assert!(time(&web, "FinishedAt") < time(&db, "FinishedAt"));

    let out = ok_stdout(&["stack", "start", &project]);
    assert!(
        out.lines().next().is_some_and(|l| l.contains(&db.name)),
        "{out}"
    );
    for ctr in [&db, &web, &proxy] {
        assert_eq!(
            docker(&["inspect", "-f", "{{.State.Running}}", &ctr.id]),
            "true"
        );
    }
    // Dependencies started first.
    assert!(time(&db, "StartedAt") < time(&web, "StartedAt"));
    assert!(time(&web, "StartedAt") < time(&proxy, "StartedAt"));

    let out = ok_stdout(&["stack", "restart", &project, "--yes"]);
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(time(&db, "StartedAt") < time(&proxy, "StartedAt"));

    let out = docktray(&["stack", "start", "dtt-no-such-project"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no compose project 'dtt-no-such-project'")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_disk_alert_names_what_docker_could_free() {
    let _serial = SERIAL.lock().await;
    // A dangling image: space Docker could give back.
    let tag = format!("{}:moving", unique("img"));
    let _old = TestImage::committed(&tag, 1000);
    let _new = TestImage::committed(&tag, 10);
    let mut config = test_config();
    let text = "[thresholds.host_disk_percent]\nwarning = 0.01\ncritical = 99.99\nhold = \"2s\"\n";
    let thresholds: docktray::Config =
        docktray::Config::parse(text, std::path::Path::new("test.toml")).expect("thresholds");
    config.thresholds = thresholds.thresholds;
    let engine = start_engine(config).await;
    // Measured now (the engine measures by itself 10 s after connecting, then every 5 minutes).
    let usage = engine
        .disk_usage("local", Duration::ZERO)
        .await
        .expect("disk usage");
    assert!(usage.images.reclaimable > 1_000_000, "{usage:?}");
    let note = usage.reclaim_note().expect("something to reclaim");
    let root = usage
        .root_dir
        .clone()
        .expect("docker info names the data directory");
    let alert = wait_for(
        &engine,
        Duration::from_secs(30),
        "a host disk alert naming reclaimable space",
        |s| {
            s.alerts
                .iter()
                .find(|a| {
                    a.metric == metric::HOST_DISK
                        && a.target.host == "local"
                        && a.message.contains("Docker could free")
                })
                .cloned()
        },
    )
    .await;
    assert!(alert.message.contains(&note), "{} / {note}", alert.message);
    assert!(alert.message.contains("images "), "{}", alert.message);
    // Only the disk holding Docker's data says so.
    let mount = alert.detail.clone().expect("the disk's mount point");
    assert!(root.starts_with(&mount), "{root} is on {mount}");
    let others: Vec<_> = engine
        .snapshot()
        .alerts
        .into_iter()
        .filter(|a| a.metric == metric::HOST_DISK && a.detail != alert.detail)
        .collect();
    assert!(
        others
            .iter()
            .all(|a| !a.message.contains("Docker could free")),
        "{others:?}"
    );
    engine.shutdown().await;
}
