//! The first sweep of a local engine, taken while the engine still answers the first inspects: the running
//! containers' main pids are found in `/proc` ([`cgroup::scan`]), their files opened and read, and the readings
//! become the CPU baseline once the inspects have confirmed each pid. The first figures then wait for the
//! inspects or the warm-up, whichever is longer, not for the inspects, the opening of every file and the
//! warm-up in turn.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use tokio::task::JoinHandle;

use super::cgroup::{self, KeptFiles, Outcome};
use super::session::Session;
use crate::model::{CounterSample, Observation, RawCounters, SampleMethod};

/// A baseline sweep under way on the blocking pool: what it reads, the pids it found, and the kept files.
pub(super) type Early = JoinHandle<(Vec<(String, Outcome)>, HashMap<String, u32>, KeptFiles)>;

impl Session<'_> {
    /// Starts the baseline sweep of the containers the list calls running, when this engine's cgroup files
    /// are read here and nothing has been listed yet in this session.
    pub(super) fn start_baseline(&mut self, listed: &[(String, bool)]) -> Option<Early> {
        if !self.known.is_empty() || self.stats_unavailable.is_some() {
            return None;
        }
        let mut kept = self.kept.take()?;
        let running: Vec<String> = listed
            .iter()
            .filter(|(_, running)| *running)
            .map(|(id, _)| id.clone())
            .collect();
        Some(tokio::task::spawn_blocking(move || {
            let ids: HashSet<&str> = running.iter().map(String::as_str).collect();
            let pids = cgroup::scan::main_pids(&ids);
            let targets: Vec<(String, u32)> =
                pids.iter().map(|(id, pid)| (id.clone(), *pid)).collect();
            let read = kept.sweep(targets, Instant::now());
            (read, pids, kept)
        }))
    }

    /// Takes the baseline sweep's files back and reports its readings of the containers whose inspect named
    /// the same main pid (the others get their baseline at the next sweep). Returns when it was read.
    pub(super) async fn finish_baseline(&mut self, early: Early) -> Option<Instant> {
        let (read, pids, kept) = match early.await {
            Ok(done) => done,
            Err(err) => {
                // Its files were closed with it; the next sweep opens them again.
                tracing::warn!(%err, "the first counter sweep failed");
                return None;
            }
        };
        self.kept = Some(kept);
        let samples = confirmed(read, &pids, |id| {
            self.known
                .get(id)
                .filter(|known| known.has_processes)
                .and_then(|known| known.pid)
        });
        let at = samples.first().map(|sample| sample.counters.at);
        self.report(Observation::Counters {
            host: self.client.host.clone(),
            samples,
        })
        .await;
        at
    }
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
}
