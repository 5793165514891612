//! What reading services from labels costs each snapshot (the tray takes one every interval, an open window one
//! a second), and what the Caddy sync's planning costs per pass: `ServiceRegistry::build` and
//! `sinks::caddy::plan::{wanted_routes, plan}` over fleets of 50 and 500 containers, a third of them labelled
//! with a service, each with a dozen other labels (compose, OCI image labels) as real containers have.
//!
//! Run: `cargo bench -p docktray --bench services` (release). Prints a Markdown table; results are in
//! docs/benchmarks.md.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use docktray::config::Config;
use docktray::model::{
    ContainerInfo, ContainerSnapshot, ContainerState, OverallLevel, ServiceRegistry, Snapshot,
};
use docktray::sinks::caddy::plan::{
    found_routes, plan, resolve_servers, route_json, wanted_routes,
};
use serde_json::json;

const RUNS: usize = 200;

fn fleet(n: usize) -> Vec<ContainerInfo> {
    (0..n)
        .map(|i| {
            let mut labels: BTreeMap<String, String> = (0..12)
                .map(|k| {
                    (
                        format!("org.opencontainers.image.field{k}"),
                        format!("value {i} {k}"),
                    )
                })
                .collect();
            labels.insert(
                "com.docker.compose.project".into(),
                format!("project{}", i / 5),
            );
            labels.insert("com.docker.compose.service".into(), format!("service{i}"));
            if i % 3 == 0 {
                labels.insert("docktray.revp.domain".into(), format!("app{i}.example.com"));
                labels.insert("docktray.revp.port".into(), "80".into());
                labels.insert("docktray.revp.path".into(), "/".into());
                labels.insert("docktray.revp.ssl".into(), "true".into());
            }
            ContainerInfo {
                host: "local".into(),
                id: format!("{i:064x}"),
                name: format!("container-{i}"),
                image: "nginx:1.27".into(),
                state: ContainerState::Running,
                status: String::new(),
                health: None,
                exit_code: None,
                oom_killed: false,
                restart_count: 0,
                compose_project: None,
                compose_service: Some(format!("service{i}")),
                ports: vec![],
                created: Utc::now(),
                started_at: None,
                finished_at: None,
                labels,
                ip_addresses: BTreeMap::from([(
                    "bridge".into(),
                    format!("172.17.{}.{}", i / 250, i % 250 + 2),
                )]),
                pid: None,
                pod: None,
            }
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(mut run: impl FnMut()) -> Duration {
    run();
    median(
        (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let mut config = Config::default();
    config.caddy.admin_url = "http://localhost:2019".into();
    println!("| containers | services | registry build (per snapshot) | wanted routes + plan (per sync pass) |");
    println!("| ---: | ---: | ---: | ---: |");
    for n in [50, 500] {
        let infos = fleet(n);
        let build = time(|| {
            black_box(ServiceRegistry::build(infos.iter(), "docktray."));
        });
        let registry = ServiceRegistry::build(infos.iter(), "docktray.");
        let snapshot = Snapshot {
            taken_at: Utc::now(),
            overall: OverallLevel::Ok,
            alerts: vec![],
            sources: vec![],
            hosts: vec![],
            containers: infos
                .iter()
                .cloned()
                .map(|info| ContainerSnapshot { info, stats: None })
                .collect(),
            services: registry.services.clone(),
            service_problems: vec![],
            proxy: None,
            forecasts: Vec::new(),
            channels: Vec::new(),
        };
        // Caddy already holds every route (the usual pass: nothing to change).
        let wanted = wanted_routes(&snapshot, &config);
        let routes: Vec<_> = wanted
            .iter()
            .map(|w| route_json(w, w.upstream.as_deref().unwrap_or("x:1")))
            .collect();
        let app =
            json!({"http_port": 80, "servers": {"srv0": {"listen": [":443"], "routes": routes}}});
        let servers = resolve_servers(&app, &config).expect("one server");
        let planning = time(|| {
            let wanted = wanted_routes(&snapshot, &config);
            let found = found_routes(&app);
            black_box(plan(&wanted, &found, &servers, &Default::default()));
        });
        println!(
            "| {n} | {} | {:.1} µs | {:.1} µs |",
            registry.services.len(),
            build.as_secs_f64() * 1e6,
            planning.as_secs_f64() * 1e6
        );
    }
}
