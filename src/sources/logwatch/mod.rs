//! The log watcher: follows the logs of every container a `[[log_alerts]]` rule selects, on the engine's shared
//! log streams (the same Docker stream the window's log view uses, never a second one), matches each line
//! ([`matcher`]) and reports the counts to the engine as observations, once a second while a rule is active.
//! The engine's alert evaluator decides what is an alert.

pub mod matcher;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::LogAlert;
use crate::model::{
    ContainerInfo, ContainerState, Observation, Reporter, Target, TargetKind, Update,
};
use crate::sources::docker::logs::{LogHub, LogQuery};
use matcher::{RuleState, REPORT_EVERY};

/// The containers the engine knows right now, for a full resync after the update stream lagged.
pub trait Containers: Send + Sync + 'static {
    fn containers(&self) -> Vec<ContainerInfo>;
}

/// Everything the watcher needs from the engine.
pub struct Wiring {
    pub hub: LogHub,
    pub containers: Arc<dyn Containers>,
    pub updates: broadcast::Receiver<Update>,
    pub reporter: Reporter,
    pub rules: watch::Receiver<Vec<LogAlert>>,
    pub shutdown: watch::Receiver<bool>,
}

/// Follows the selected containers until shutdown; rules may change at any time.
pub async fn run(mut wiring: Wiring) {
    let mut followers: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut known: HashMap<String, ContainerInfo> = wiring
        .containers
        .containers()
        .into_iter()
        .map(|info| (info.id.clone(), info))
        .collect();
    loop {
        followers.retain(|_, handle| !handle.is_finished());
        let rules = wiring.rules.borrow().clone();
        for info in known.values() {
            // Only once it runs: a stream opened on a container just created (between `docker create` and its
            // start) ends at once and is opened again; a follower, once started, stays through stops and restarts.
            if info.state == ContainerState::Running
                && !followers.contains_key(&info.id)
                && rules.iter().any(|rule| rule.selects(info))
            {
                followers.insert(
                    info.id.clone(),
                    tokio::spawn(follow(
                        wiring.hub.clone(),
                        info.clone(),
                        wiring.rules.clone(),
                        wiring.reporter.clone(),
                    )),
                );
            }
        }
        tokio::select! {
            update = wiring.updates.recv() => match update {
                Ok(Update::ContainerChanged(info)) => {
                    known.insert(info.id.clone(), *info);
                }
                Ok(Update::ContainerRemoved { id, .. }) => {
                    known.remove(&id);
                    // Its alerts end with the container (the evaluator closes them).
                    if let Some(handle) = followers.remove(&id) {
                        handle.abort();
                    }
                }
                Ok(Update::HostRemoved { host }) => {
                    known.retain(|_, info| info.host != host);
                    followers.retain(|id, handle| {
                        let keep = known.contains_key(id);
                        if !keep {
                            handle.abort();
                        }
                        keep
                    });
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    known = wiring
                        .containers
                        .containers()
                        .into_iter()
                        .map(|info| (info.id.clone(), info))
                        .collect();
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            changed = wiring.rules.changed() => if changed.is_err() { break },
            _ = wiring.shutdown.changed() => break,
        }
    }
    for handle in followers.into_values() {
        handle.abort();
    }
}

/// Follows one container's shared log stream, matching each line against the rules that select it, until no
/// rule selects it any more.
async fn follow(
    hub: LogHub,
    info: ContainerInfo,
    mut rules: watch::Receiver<Vec<LogAlert>>,
    reporter: Reporter,
) {
    let target = Target {
        kind: TargetKind::Container,
        host: info.host.clone(),
        id: info.id.clone(),
        name: info.name.trim_start_matches('/').to_owned(),
    };
    let mut states: Vec<RuleState> = Vec::new();
    let farewells = refresh(&mut states, &rules.borrow_and_update(), &info, &target);
    debug_assert!(farewells.is_empty());
    if states.is_empty() {
        return;
    }
    // Only what is written from now on: old lines were judged (or not) before.
    let query = LogQuery {
        tail: Some(0),
        ..LogQuery::default()
    };
    let mut subscription = match hub.subscribe(&info.id, query).await {
        Ok(subscription) => subscription,
        Err(err) => {
            tracing::warn!(container = %target.label(), %err, "cannot follow its logs for log alerts");
            return;
        }
    };
    let mut ticker = tokio::time::interval(REPORT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            line = subscription.next() => match line {
                Some(line) => {
                    let at = Utc::now();
                    for state in &mut states {
                        state.feed(&line.plain, at);
                    }
                }
                // The hub shut down: the engine is stopping.
                None => return,
            },
            _ = ticker.tick() => {
                let at = Utc::now();
                let reports: Vec<_> = states
                    .iter_mut()
                    .filter_map(|state| state.report(&target, at))
                    .collect();
                if !reports.is_empty() {
                    reporter.report(Observation::LogMatches(reports)).await;
                }
            }
            changed = rules.changed() => {
                if changed.is_err() {
                    return;
                }
                let farewells = refresh(&mut states, &rules.borrow_and_update(), &info, &target);
                if !farewells.is_empty() {
                    reporter.report(Observation::LogMatches(farewells)).await;
                }
                if states.is_empty() {
                    return;
                }
            }
        }
    }
}

/// Makes `states` the rules that select this container now, keeping the counts of rules that stay; returns the
/// last word of rules that went away (their alerts clear).
fn refresh(
    states: &mut Vec<RuleState>,
    rules: &[LogAlert],
    info: &ContainerInfo,
    target: &Target,
) -> Vec<crate::model::LogMatch> {
    let at = Utc::now();
    let wanted: Vec<&LogAlert> = rules.iter().filter(|rule| rule.selects(info)).collect();
    let mut farewells = Vec::new();
    let mut kept: Vec<RuleState> = Vec::new();
    for mut state in states.drain(..) {
        match wanted
            .iter()
            .find(|rule| rule.label() == state.config.label())
        {
            Some(rule) => {
                state.update((*rule).clone());
                kept.push(state);
            }
            None => farewells.extend(state.farewell(target, at)),
        }
    }
    for rule in wanted {
        if !kept
            .iter()
            .any(|state| state.config.label() == rule.label())
        {
            kept.extend(RuleState::new(rule.clone()));
        }
    }
    *states = kept;
    farewells
}
