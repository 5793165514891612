#!/usr/bin/env bash
# Collector benchmark: docktray's engine against `docker stats` on a real Docker engine (benches/collector.rs).
#   make bench                               environment up -> bench -> environment down
#   scripts/bench.sh                         against the already running test environment
#   WINDOW_SECS=10 BENCH_N=10 scripts/bench.sh   quick trial (defaults: 60 and "10,50,200,500"; N=500 needs
#                                            about 5 GB of free memory and a few minutes to start the containers)
#   then benches/engine_term.py: the totals against docker stats in 6 interleaved rounds at N=200 (about 14
#   minutes; BENCH_TERM=0 skips it)
# Builds in release mode (the bench profile) and prints a Markdown table; a copy of the output goes to
# target/bench/collector.md. Results and method: docs/benchmarks.md.
# Every container it makes is named dtbench-<pid>-<i> and labelled docktray.test=1 and docktray.bench=1; they
# are removed at the end, also on failure or Ctrl-C. The engine should be otherwise idle while it runs: other
# containers starting or stopping during a window show up in the engine's CPU (the report prints the running
# count at each window boundary and how busy the machine was).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."

if [[ -z "${DOCKER_HOST:-}" || -z "${DOCKTRAY_TEST_IMAGE:-}" ]]; then
  env_text="$("$here/test-env.sh" env)" \
    || { echo "bench.sh: no test environment: run 'scripts/test-env.sh up' first, or 'make bench'" >&2; exit 1; }
  eval "$env_text"
fi
export DOCKER_CLI="${DOCKER_CLI:-$(command -v docker || true)}"
[[ -n "$DOCKER_CLI" ]] || { echo "bench.sh: no docker CLI on PATH (set DOCKER_CLI)" >&2; exit 1; }

# Only this benchmark's containers (named dtbench-*): other tools label theirs docktray.bench=1 too.
cleanup() {
  local ids
  ids="$(DOCKER_CONTEXT='' "$DOCKER_CLI" ps -aq --filter label=docktray.bench=1 --filter name=dtbench- 2>/dev/null || true)"
  # shellcheck disable=SC2086
  [[ -z "$ids" ]] || DOCKER_CONTEXT='' "$DOCKER_CLI" rm -f -v $ids >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Build first, so compiling is never inside a measurement window.
cargo bench --bench collector --no-run
[[ "${BENCH_TERM:-1}" == 0 ]] || cargo build --release --bin docktray
mkdir -p target/bench
DOCKER_CONTEXT='' cargo bench --bench collector | tee target/bench/collector.md
# The engine's extra is noise in single windows at a few hundred containers: the totals against docker stats
# again in interleaved rounds (benches/engine_term.py; BENCH_TERM=0 skips it, BENCH_TERM_N sets N).
if [[ "${BENCH_TERM:-1}" != 0 ]]; then
  target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  DOCKER_CONTEXT='' N="${BENCH_TERM_N:-200}" ROUNDS="${BENCH_TERM_ROUNDS:-6}" WINDOW="${BENCH_TERM_WINDOW:-30}" \
    python3 benches/engine_term.py "$target_dir/release/docktray" | tee -a target/bench/collector.md
fi
