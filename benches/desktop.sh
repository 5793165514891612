#!/usr/bin/env bash
# Benchmark of the real desktop app: memory, CPU, launch -> tray icon, window opening and the live log view of
# the release build of docktray-desktop, watching 50 idle containers at the default 2 s interval, under Xvfb in
# a private D-Bus session with a StatusNotifierWatcher (the e2e harness's pieces). Results: docs/benchmarks.md,
# "Desktop app".
#
#   bash benches/desktop.sh
#
# Steps: scripts/build-ui.sh, then `cargo build --release -p docktray-desktop` and `--bin docktray` (the
# headless baseline); scripts/e2e-env.sh (Xvfb, WebKitWebDriver, tauri-driver, the Python venv); an Xvfb
# display; one `dbus-run-session` with only tests/e2e/sni_watcher.py (the tray host), dunst (the notification
# server, tests/e2e/dunst.sh) with tests/e2e/notify_monitor.py, and tauri-driver on it; then benches/desktop.py,
# which starts the containers (labelled docktray.test=1 and docktray.bench=1, named dtdesk-<pid>-*) and measures. The containers, the app
# and every helper are removed/stopped at the end, whatever happens.
#
# Engine: DOCKER_HOST and DOCKTRAY_TEST_IMAGE when set; else the engine of `scripts/test-env.sh env` when it
# answers (left running); else scripts/with-test-env.sh brings one up and down around the run.
#
# Env: BENCH_SKIP_BUILD=1 (use the binaries already in target/release), BENCH_CONTAINERS (50), BENCH_RUNS (5),
# BENCH_IDLE_SETTLE (60), BENCH_OPEN_SETTLE (30), BENCH_CPU_WINDOW (60), BENCH_LOG_WINDOW (60), BENCH_KEEP=1
# (keep the work dir: logs, results.json), BENCH_ONLY_WINDOW=1 (only the window-open runs; =plain: only those
# without WebDriver), BENCH_APP_LOG (the app's DOCKTRAY_LOG), BENCH_APP_ENV="NAME=value ..." (more variables
# for the app), DOCKTRAY_GPU=1 (the app keeps GTK's and WebKit's GPU defaults), BENCH_ONLY_LOGS=1 (only the
# log view's phases: one launch through WebDriver, the window on an idle container's Logs, 1,000 lines/s
# followed, the window closed), BENCH_APP_BINARY (the docktray-desktop to measure instead of the one built,
# e.g. a copy of an earlier build for a before/after comparison; BENCH_CLI_BINARY likewise for `docktray`),
# BENCH_AB=1 (only the log view's measures, in interleaved rounds of several variants:
# BENCH_VARIANTS="shipped; gpu DOCKTRAY_GPU=1; old BINARY=/path", BENCH_ROUNDS (3), BENCH_BROWSER=1 (default:
# also the page of `docktray serve` in Chromium, the user's alternative; needs the release `docktray`): see
# benches/desktop_ab.py). BENCH_APP_ENV and a variant's settings reach the app also when WebDriver starts it
# (through a launcher script). The results are also copied to
# target/bench/desktop-<time>.json, with each target (docs/benchmarks.md) marked met or not.
# Functions below run from traps, which shellcheck cannot see.
# shellcheck disable=SC2317
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/benches/desktop.sh"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

say() { echo "desktop.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Kill PID and all its descendants. Only processes this script started are ever passed here.
kill_tree() {
  local pid="$1" sig="${2:-TERM}" kids kid
  kids="$(pgrep -P "$pid" 2>/dev/null || true)"
  kill "-$sig" "$pid" 2>/dev/null || true
  for kid in $kids; do kill_tree "$kid" "$sig"; done
}

wait_gone() {
  local i state
  for ((i = 0; i < $2 * 10; i++)); do
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [[ -z "$state" || "$state" == Z ]] && return 0
    sleep 0.1
  done
  return 1
}

# Processes still running with this run's environment (BENCH_WORK=$1): the app, WebKit helpers, ... all
# started by this script.
leftovers() {
  local proc pid
  for proc in /proc/[0-9]*; do
    pid="${proc#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    tr '\0' '\n' 2>/dev/null <"$proc/environ" | grep -qxF "BENCH_WORK=$1" && echo "$pid"
  done
  return 0
}

# ---------------------------------------------------------------------------------------------------------
# Inner part: inside dbus-run-session, with DISPLAY and the app's environment set.
# ---------------------------------------------------------------------------------------------------------
PIDS=()
# shellcheck source=tests/e2e/dunst.sh
. "$ROOT/tests/e2e/dunst.sh"
inner() {
  local py="$E2E_VENV/bin/python"
  stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill_tree "$pid" TERM; done
    for pid in "${PIDS[@]}"; do wait_gone "$pid" 5 || kill_tree "$pid" KILL; done
  }
  trap stop_all EXIT

  wait_ready() {
    local i
    for ((i = 0; i < 200; i++)); do
      grep -qx ready "$1" 2>/dev/null && return 0
      kill -0 "$2" 2>/dev/null || { cat "$1" >&2; die "$3 exited during startup"; }
      sleep 0.1
    done
    die "$3 did not become ready in 20 s"
  }

  "$py" "$ROOT/tests/e2e/sni_watcher.py" "$E2E_SNI_LOG" >"$BENCH_WORK/sni_watcher.log" 2>&1 &
  PIDS+=($!)
  wait_ready "$BENCH_WORK/sni_watcher.log" $! "the StatusNotifierWatcher"
  "$py" "$ROOT/tests/e2e/notify_monitor.py" "$E2E_NOTIFY_LOG" >"$BENCH_WORK/notify_monitor.log" 2>&1 &
  PIDS+=($!)
  wait_ready "$BENCH_WORK/notify_monitor.log" $! "the notification monitor"
  start_dunst "$BENCH_WORK"

  "$E2E_TAURI_DRIVER" --port "$BENCH_PORT" --native-port "$BENCH_NATIVE_PORT" >"$BENCH_WORK/tauri-driver.log" 2>&1 &
  local driver=$! i
  PIDS+=("$driver")
  for ((i = 0; i < 300; i++)); do
    curl -fsS "http://127.0.0.1:$BENCH_PORT/status" >/dev/null 2>&1 && break
    kill -0 "$driver" 2>/dev/null || { tail -n 30 "$BENCH_WORK/tauri-driver.log" >&2; die "tauri-driver exited"; }
    sleep 0.1
  done
  ((i < 300)) || die "tauri-driver did not answer on port $BENCH_PORT within 30 s"

  timeout --kill-after=30 "${BENCH_TIMEOUT:-2400}" "$py" "$ROOT/benches/desktop.py"
}

if [[ "${1:-}" == --inner ]]; then
  inner
  exit $?
fi

# ---------------------------------------------------------------------------------------------------------
# Outer part: engine, build, tools, temp dirs, Xvfb; then the inner part inside dbus-run-session.
# ---------------------------------------------------------------------------------------------------------
if [[ -z "${DOCKER_HOST:-}" || -z "${DOCKTRAY_TEST_IMAGE:-}" ]]; then
  if env_lines="$("$ROOT/scripts/test-env.sh" env 2>/dev/null)" && [[ -n "$env_lines" ]]; then
    eval "$env_lines"
  fi
  if [[ -z "${DOCKER_HOST:-}" || -z "${DOCKTRAY_TEST_IMAGE:-}" ]] \
    || ! DOCKER_CONTEXT='' timeout 10 docker -H "$DOCKER_HOST" version >/dev/null 2>&1; then
    exec "$ROOT/scripts/with-test-env.sh" "$SELF" "$@"
  fi
fi
export DOCKER_HOST DOCKTRAY_TEST_IMAGE

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  say "building the window and the release binaries"
  "$ROOT/scripts/build-ui.sh"
  (cd "$ROOT" && cargo build --release -p docktray-desktop && cargo build --release --bin docktray)
fi
APP="${BENCH_APP_BINARY:-$TARGET/release/docktray-desktop}"
CLI="${BENCH_CLI_BINARY:-$TARGET/release/docktray}"
[[ -x "$APP" ]] || die "$APP missing"
# The headless baseline is measured in the full run only; the browser variant of BENCH_AB runs `docktray serve`.
if [[ "${BENCH_ONLY_LOGS:-0}" != 1 && -z "${BENCH_ONLY_WINDOW:-}" ]] \
  || [[ "${BENCH_AB:-0}" == 1 && "${BENCH_BROWSER:-1}" == 1 ]]; then
  [[ -x "$CLI" ]] || die "$CLI missing"
elif [[ ! -x "$CLI" ]]; then
  CLI=/bin/false
fi
APP="$(cd "$(dirname "$APP")" && pwd)/$(basename "$APP")"
CLI="$(cd "$(dirname "$CLI")" && pwd)/$(basename "$CLI")"

eval "$("$ROOT/scripts/e2e-env.sh" env)"

WORK="$(mktemp -d /tmp/docktray-bench.XXXXXX)"
PREFIX="dtdesk-$$"
XVFB_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid left ids
  unset BENCH_WORK
  left="$(leftovers "$WORK")"
  for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $left; do wait_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null || true; done
  # This run's containers only (others may be benchmarking on the same engine with the same labels).
  ids="$(DOCKER_CONTEXT='' docker ps -aq --filter "label=docktray.bench=1" --filter "name=^$PREFIX-" || true)"
  if [[ -n "$ids" ]]; then
    # shellcheck disable=SC2086
    DOCKER_CONTEXT='' docker rm -f -v $ids >/dev/null 2>&1 || say "could not remove containers $PREFIX-*"
  fi
  if [[ -n "$XVFB_PID" ]]; then
    kill_tree "$XVFB_PID" TERM
    wait_gone "$XVFB_PID" 5 || kill_tree "$XVFB_PID" KILL
  fi
  if [[ -f "$WORK/results.json" ]]; then
    mkdir -p "$TARGET/bench"
    cp "$WORK/results.json" "$TARGET/bench/desktop-$(date +%Y%m%d-%H%M%S).json"
  fi
  if ((rc != 0)); then
    rm -rf "$TARGET/bench/desktop-logs"
    mkdir -p "$TARGET/bench/desktop-logs"
    cp -f "$WORK"/*.log "$WORK"/*.json "$TARGET/bench/desktop-logs/" 2>/dev/null || true
    say "failed (exit $rc); logs in $TARGET/bench/desktop-logs/"
  fi
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK"/{home,config/docktray,data,cache,state,runtime}
chmod 700 "$WORK/runtime"
# The defaults a user gets, but the history in the work dir and the interval spelled out.
cat >"$WORK/config/docktray/config.toml" <<EOF
interval = "2s"

[history]
path = "$WORK/data/history.sqlite"
EOF

Xvfb -displayfd 3 -screen 0 1600x800x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
for ((i = 0; i < 100; i++)); do
  [[ -s "$WORK/display" ]] && break
  kill -0 "$XVFB_PID" 2>/dev/null || { cat "$WORK/xvfb.log" >&2; die "Xvfb exited"; }
  sleep 0.1
done
[[ -s "$WORK/display" ]] || die "Xvfb did not report a display within 10 s"
DISPLAY=":$(tr -dc '0-9' <"$WORK/display")"

read -r BENCH_PORT BENCH_NATIVE_PORT < <("$E2E_VENV/bin/python" - <<'EOF'
import socket
def free():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s
a, b = free(), free()
print(a.getsockname()[1], b.getsockname()[1])
EOF
)

export DISPLAY BENCH_PORT BENCH_NATIVE_PORT E2E_VENV E2E_TAURI_DRIVER
export BENCH_WORK="$WORK" BENCH_APP="$APP" BENCH_CLI="$CLI" BENCH_ROOT="$ROOT" BENCH_PREFIX="$PREFIX"
export E2E_SNI_LOG="$WORK/sni_items.json" E2E_NOTIFY_LOG="$WORK/notifications.json"
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data" XDG_CACHE_HOME="$WORK/cache"
export XDG_STATE_HOME="$WORK/state" XDG_RUNTIME_DIR="$WORK/runtime" TMPDIR="$WORK"
export NO_AT_BRIDGE=1 GDK_BACKEND=x11 PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
unset LC_ALL LANGUAGE WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS DOCKTRAY_LOG
# The app's own rendering choices (src-tauri/src/footprint.rs) unless DOCKTRAY_GPU=1 is passed through.
unset GDK_GL WEBKIT_DISABLE_COMPOSITING_MODE
# BENCH_APP_LOG: the app's log filter (DOCKTRAY_LOG) for a run whose logs are kept (BENCH_KEEP=1).
if [[ -n "${BENCH_APP_LOG:-}" ]]; then export DOCKTRAY_LOG="$BENCH_APP_LOG"; fi

# Only the services started above on the bus (nothing D-Bus-activated behind the benchmark's back).
cat >"$WORK/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$WORK</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF

say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo); $(uptime)"
say "display $DISPLAY, tauri-driver on port $BENCH_PORT, app $APP, work dir $WORK"
rc=0
dbus-run-session --config-file="$WORK/bus.conf" -- "$SELF" --inner 2>&1 | grep --line-buffered -v 'Failed to set fd limit' \
  || rc=${PIPESTATUS[0]}
exit "$rc"
