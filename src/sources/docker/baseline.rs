//! The first two sweeps of a local engine, taken while the engine still lists and inspects the containers:
//! the running containers' main pids are found in `/proc` ([`cgroup::scan`]), their files opened, then read
//! twice a warm-up apart. The readings count once the inspects have confirmed each pid; when every running
//! container has both, the first figures are there as soon as the inspects are, with no sweep after them.
//! Otherwise the first tick, a warm-up after the second reading, gives the others their baseline.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::cgroup::{self, KeptFiles, Outcome};
use super::session::Session;
use crate::model::{CounterSample, Observation, RawCounters, SampleMethod};

/// What the first two sweeps read, the pids they read them for, and the kept files.
pub(super) struct Readings {
    first: Vec<(String, Outcome)>,
    second: Vec<(String, Outcome)>,
    /// When the second sweep read.
    second_at: Instant,
    pids: HashMap<String, u32>,
    kept: KeptFiles,
}

/// The first two sweeps under way.
pub(super) type Early = JoinHandle<Option<Readings>>;

/// What the first sweeps gave: when their figures were read, and whether every container that has processes
/// has figures from them (then the source is ready at once).
#[derive(Debug, Clone, Copy)]
pub(super) struct FirstFigures {
    pub at: Instant,
    pub complete: bool,
}

impl Session<'_> {
    /// Starts the first two sweeps, `warmup` apart, of every container process found on this machine, when
    /// this engine's cgroup files are read here and nothing has been listed yet in this session. Called before
    /// the list, so the warm-up runs while the engine lists and inspects.
    pub(super) fn start_baseline(&mut self, warmup: Duration) -> Option<Early> {
        if !self.known.is_empty() || self.stats_unavailable.is_some() {
            return None;
        }
        let mut kept = self.kept.take()?;
        Some(tokio::spawn(async move {
            let blocking = tokio::task::spawn_blocking(move || {
                let pids = cgroup::scan::every_main_pid();
                let targets: Vec<(String, u32)> =
                    pids.iter().map(|(id, pid)| (id.clone(), *pid)).collect();
                // Open first, then read: the sweep's time is true of every reading in it.
                kept.open(&targets);
                let at = Instant::now();
                let first = kept.sweep(targets.clone(), at);
                (first, at, targets, pids, kept)
            });
            let (first, first_at, targets, pids, mut kept) = blocking.await.ok()?;
            tokio::time::sleep_until((first_at + warmup).into()).await;
            let (second, second_at, kept) = tokio::task::spawn_blocking(move || {
                let at = Instant::now();
                let second = kept.sweep(targets, at);
                (second, at, kept)
            })
            .await
            .ok()?;
            Some(Readings {
                first,
                second,
                second_at,
                pids,
                kept,
            })
        }))
    }

    /// Takes the first sweeps' files back and reports both readings of the containers whose inspect named the
    /// same main pid (the others get their baseline at the first tick). Call after the containers were
    /// reported, so the engine has somewhere to put the readings.
    pub(super) async fn finish_baseline(&mut self, early: Early) -> Option<FirstFigures> {
        let Readings {
            first,
            second,
            second_at,
            pids,
            kept,
        } = match early.await {
            Ok(Some(done)) => done,
            Ok(None) | Err(_) => {
                // Its files were closed with it; the next sweep opens them again.
                tracing::warn!("the first counter sweeps failed");
                return None;
            }
        };
        self.kept = Some(kept);
        let inspected = |id: &str| {
            self.known
                .get(id)
                .filter(|known| known.has_processes)
                .and_then(|known| known.pid)
        };
        let first = confirmed(first, &pids, inspected);
        let second = confirmed(second, &pids, inspected);
        let complete = covers(&self.targets(), &second);
        tracing::debug!(host = %self.client.host, confirmed = second.len(), complete, "first sweeps joined");
        for samples in [first, second] {
            self.report(Observation::Counters {
                host: self.client.host.clone(),
                samples,
            })
            .await;
        }
        Some(FirstFigures {
            at: second_at,
            complete,
        })
    }
}

/// Whether every container with processes (id, inspected main pid) has a reading among `samples`: one without
/// a pid is read through the API, at the first tick.
fn covers(targets: &[(String, Option<u32>)], samples: &[CounterSample]) -> bool {
    let read: HashSet<&str> = samples.iter().map(|sample| sample.id.as_str()).collect();
    targets
        .iter()
        .all(|(id, pid)| pid.is_some() && read.contains(id.as_str()))
}

/// The readings whose container's inspected main pid is the one found in `/proc`.
fn confirmed(
    read: Vec<(String, Outcome)>,
    found: &HashMap<String, u32>,
    inspected: impl Fn(&str) -> Option<u32>,
) -> Vec<CounterSample> {
    read.into_iter()
        .filter_map(|(id, outcome)| match outcome {
            Outcome::Counters(counters) => Some((id, counters)),
            Outcome::Gone | Outcome::Unreadable => None,
        })
        .filter(|(id, _)| found.get(id).is_some_and(|pid| inspected(id) == Some(*pid)))
        .map(|(id, counters): (String, RawCounters)| CounterSample {
            id,
            counters,
            method: SampleMethod::Cgroup,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> RawCounters {
        RawCounters {
            at: Instant::now(),
            cpu_total_ns: 1,
            system_ns: 2,
            online_cpus: 2,
            memory_bytes: 3,
            memory_limit_bytes: 4,
            net_rx_bytes: 0,
            net_tx_bytes: 0,
            block_read_bytes: 0,
            block_write_bytes: 0,
            pids: 1,
        }
    }

    #[test]
    fn only_readings_of_the_inspected_pid_become_a_baseline() {
        let read = vec![
            ("same".to_owned(), Outcome::Counters(counters())),
            ("other-pid".to_owned(), Outcome::Counters(counters())),
            ("stopped".to_owned(), Outcome::Counters(counters())),
            ("gone".to_owned(), Outcome::Gone),
        ];
        let found: HashMap<String, u32> = [
            ("same", 10),
            ("other-pid", 20),
            ("stopped", 30),
            ("gone", 40),
        ]
        .into_iter()
        .map(|(id, pid)| (id.to_owned(), pid))
        .collect();
        let inspected = |id: &str| match id {
            "same" => Some(10),
            "other-pid" => Some(21),
            "gone" => Some(40),
            _ => None,
        };
        let kept: Vec<String> = confirmed(read, &found, inspected)
            .into_iter()
            .map(|sample| sample.id)
            .collect();
        assert_eq!(kept, vec!["same".to_owned()]);
    }

    #[test]
    fn ready_at_once_only_when_every_running_container_has_a_confirmed_reading() {
        let sample = |id: &str| CounterSample {
            id: id.to_owned(),
            counters: counters(),
            method: SampleMethod::Cgroup,
        };
        let targets = |list: &[(&str, Option<u32>)]| -> Vec<(String, Option<u32>)> {
            list.iter()
                .map(|(id, pid)| ((*id).to_owned(), *pid))
                .collect()
        };
        let read = [sample("a"), sample("b")];
        assert!(covers(&targets(&[("a", Some(1)), ("b", Some(2))]), &read));
        assert!(covers(&[], &read));
        // One more container than was read (started after the scan, or a pid the inspect did not confirm).
        assert!(!covers(
            &targets(&[("a", Some(1)), ("b", Some(2)), ("c", Some(3))]),
            &read
        ));
        // No main pid: read through the API at the first tick.
        assert!(!covers(&targets(&[("a", Some(1)), ("b", None)]), &read));
    }
}
