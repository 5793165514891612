//! The keys kept per container between sweeps: made again when the container's name changes, dropped with the
//! container or its host.

use super::tests::{at, config, cpu, info};
use super::*;

fn feed(evaluator: &mut Evaluator, container: &ContainerInfo, value: f64, from: i64, to: i64) {
    for seconds in (from..=to).step_by(2) {
        evaluator.container_stats(container, &cpu(value, seconds));
    }
}

#[test]
fn a_renamed_container_is_named_anew_in_its_alerts() {
    let mut evaluator = Evaluator::new(&config(""));
    let web = info("web");
    feed(&mut evaluator, &web, 95.0, 0, 12);
    assert_eq!(evaluator.active().len(), 1);
    assert_eq!(evaluator.active()[0].target.name, "web");
    // `docker rename`: the same id under a new name.
    let renamed = ContainerInfo {
        name: "shop".into(),
        ..web
    };
    let mut resolved = Vec::new();
    for seconds in (14..=30).step_by(2) {
        resolved.extend(evaluator.container_stats(&renamed, &cpu(5.0, seconds)));
    }
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0].kind, TransitionKind::Resolved);
    assert!(
        resolved[0].alert.message.contains("shop"),
        "{}",
        resolved[0].alert.message
    );
    // A new alert carries the new name too.
    feed(&mut evaluator, &renamed, 95.0, 32, 44);
    assert_eq!(evaluator.active()[0].target.name, "shop");
}

#[test]
fn keys_of_removed_containers_and_hosts_are_forgotten() {
    let mut evaluator = Evaluator::new(&config(""));
    let web = info("web");
    let db = info("db");
    feed(&mut evaluator, &web, 5.0, 0, 4);
    feed(&mut evaluator, &db, 5.0, 0, 4);
    assert_eq!(evaluator.container_keys.len(), 2);
    evaluator.container_removed("local", &web.id, &web.name, at(6));
    assert_eq!(evaluator.container_keys.len(), 1);
    assert!(evaluator.container_keys.contains_key(&db.id));
    evaluator.host_removed("local", std::slice::from_ref(&db.id), at(8));
    assert!(evaluator.container_keys.is_empty());
    assert!(evaluator.tracks.is_empty());
}
