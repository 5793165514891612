#!/usr/bin/env bash
# End-to-end test of the real desktop app: target/debug/docktray-desktop under Xvfb and a private D-Bus session,
# driven through WebDriver (tauri-driver + WebKitWebDriver) by tests/e2e/ (pytest + selenium), against the real
# Docker engine of scripts/test-env.sh. Screenshots of each view land in docs/screenshots/.
#
#   scripts/e2e.sh [PYTEST ARGS...]       e.g. scripts/e2e.sh -k tray -x
#
# Needs the app built (`make build`). Without DOCKER_HOST/DOCKTRAY_TEST_IMAGE it runs itself inside
# scripts/with-test-env.sh. Inside one `dbus-run-session` (NO_AT_BRIDGE=1) it starts:
#   - tests/e2e/sni_watcher.py: a StatusNotifierWatcher, so the tray icon is exported over D-Bus and the test
#     can read its pixels and menu from outside the app;
#   - tests/e2e/notify_monitor.py: a D-Bus monitor recording every Notify call and the id the server answered;
#   - dunst, the real notification server, on the Xvfb display with a private dunstrc (the test clicks its
#     notifications with dunstctl);
#   - tauri-driver (which starts WebKitWebDriver, which starts the app), polled on /status until it answers;
# then pytest, then stops everything (trap). The app gets its own HOME and XDG dirs in a temp dir, with a
# config.toml of low thresholds and short holds. Exit code: pytest's.
#
# Env: DOCKTRAY_APP (binary, default target/debug/docktray-desktop), E2E_SCREENSHOT_DIR (default
# docs/screenshots), E2E_KEEP=1 keeps the temp dir (logs, config, recordings). On failure the logs are copied
# to target/e2e-logs/.
# Functions below run from traps, which shellcheck cannot see.
# shellcheck disable=SC2317
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/e2e.sh"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

say() { echo "e2e.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Kill PID and all its descendants (children first found, then killed parent-first so none is re-parented
# unseen). Only processes this script started are ever passed here.
kill_tree() {
  local pid="$1" sig="${2:-TERM}" kids kid
  kids="$(pgrep -P "$pid" 2>/dev/null || true)"
  kill "-$sig" "$pid" 2>/dev/null || true
  for kid in $kids; do kill_tree "$kid" "$sig"; done
}

# Wait up to $2 seconds for PID $1 to exit (a zombie counts as gone).
wait_gone() {
  local i state
  for ((i = 0; i < $2 * 10; i++)); do
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [[ -z "$state" || "$state" == Z ]] && return 0
    sleep 0.1
  done
  return 1
}

# Processes still running with this run's environment (E2E_WORK=$1): the app, WebKit helpers, an at-spi bus
# launcher that D-Bus activated, ... all started by this script. Prints their pids.
leftovers() {
  local proc pid
  for proc in /proc/[0-9]*; do
    pid="${proc#/proc/}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    tr '\0' '\n' 2>/dev/null <"$proc/environ" | grep -qxF "E2E_WORK=$1" && echo "$pid"
  done
  return 0
}

# ---------------------------------------------------------------------------------------------------------
# Inner part: runs inside dbus-run-session, with DISPLAY and the app's environment already set.
# ---------------------------------------------------------------------------------------------------------
PIDS=()
# shellcheck source=tests/e2e/dunst.sh
. "$ROOT/tests/e2e/dunst.sh"
# shellcheck source=tests/e2e/caddy.sh
. "$ROOT/tests/e2e/caddy.sh"
inner() {
  local py="$E2E_VENV/bin/python"
  # PIDS is global: the EXIT trap runs after this function has returned.
  stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill_tree "$pid" TERM; done
    for pid in "${PIDS[@]}"; do wait_gone "$pid" 5 || kill_tree "$pid" KILL; done
  }
  trap stop_all EXIT

  # wait_ready FILE PID NAME: until FILE says "ready", or fail if PID dies / 20 s pass.
  wait_ready() {
    local i
    for ((i = 0; i < 200; i++)); do
      grep -qx ready "$1" 2>/dev/null && return 0
      kill -0 "$2" 2>/dev/null || { cat "$1" >&2; die "$3 exited during startup"; }
      sleep 0.1
    done
    die "$3 did not become ready in 20 s"
  }

  "$py" "$ROOT/tests/e2e/sni_watcher.py" "$E2E_SNI_LOG" >"$E2E_WORK/sni_watcher.log" 2>&1 &
  PIDS+=($!)
  wait_ready "$E2E_WORK/sni_watcher.log" $! "the StatusNotifierWatcher"
  # The notification server: a real dunst on this display and bus (tests/e2e/dunst.sh). The monitor starts
  # first, so it sees every call dunst answers.
  "$py" "$ROOT/tests/e2e/notify_monitor.py" "$E2E_NOTIFY_LOG" >"$E2E_WORK/notify_monitor.log" 2>&1 &
  PIDS+=($!)
  wait_ready "$E2E_WORK/notify_monitor.log" $! "the notification monitor"
  start_dunst "$E2E_WORK"

  # tauri-driver (and through it WebKitWebDriver and the app) inherits this environment.
  "$E2E_TAURI_DRIVER" --port "$E2E_PORT" --native-port "$E2E_NATIVE_PORT" \
    >"$E2E_WORK/tauri-driver.log" 2>&1 &
  local driver=$!
  PIDS+=("$driver")
  local i
  for ((i = 0; i < 300; i++)); do
    curl -fsS "http://127.0.0.1:$E2E_PORT/status" >/dev/null 2>&1 && break
    kill -0 "$driver" 2>/dev/null || { tail -n 30 "$E2E_WORK/tauri-driver.log" >&2; die "tauri-driver exited"; }
    sleep 0.1
  done
  ((i < 300)) || die "tauri-driver did not answer on port $E2E_PORT within 30 s"

  # The whole pytest run is bounded, whatever hangs (a WebDriver call, a D-Bus call).
  local rc=0
  (cd "$ROOT" && timeout --kill-after=30 "${E2E_TIMEOUT:-1200}" "$py" -m pytest -c "$ROOT/tests/e2e/pytest.ini" --rootdir "$ROOT/tests/e2e" "$ROOT/tests/e2e" "$@") || rc=$?
  return "$rc"
}

if [[ "${1:-}" == --inner ]]; then
  shift
  inner "$@"
  exit $?
fi

# ---------------------------------------------------------------------------------------------------------
# Outer part: tools, engine, temp dirs, Xvfb; then the inner part inside dbus-run-session.
# ---------------------------------------------------------------------------------------------------------
if [[ -z "${DOCKER_HOST:-}" || -z "${DOCKTRAY_TEST_IMAGE:-}" ]]; then
  exec "$ROOT/scripts/with-test-env.sh" "$SELF" "$@"
fi

eval "$("$ROOT/scripts/e2e-env.sh" env)"

APP="${DOCKTRAY_APP:-$TARGET/debug/docktray-desktop}"
[[ -x "$APP" ]] || die "$APP not found: build it first (make build)"
APP="$(cd "$(dirname "$APP")" && pwd)/$(basename "$APP")"

# Short path: the app and D-Bus create unix sockets under it.
WORK="$(mktemp -d /tmp/docktray-e2e.XXXXXX)"
XVFB_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid left
  unset E2E_WORK  # or the helpers that leftovers() runs would match themselves
  left="$(leftovers "$WORK")"
  for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $left; do wait_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null || true; done
  if [[ -n "$XVFB_PID" ]]; then
    kill_tree "$XVFB_PID" TERM
    wait_gone "$XVFB_PID" 5 || kill_tree "$XVFB_PID" KILL
  fi
  if ((rc != 0)); then
    rm -rf "$TARGET/e2e-logs"
    mkdir -p "$TARGET/e2e-logs"
    cp -f "$WORK"/*.log "$WORK"/*.json "$WORK"/*.png "$WORK"/config/docktray/config.toml "$TARGET/e2e-logs/" 2>/dev/null || true
    say "failed (exit $rc); logs in $TARGET/e2e-logs/"
  fi
  if [[ "${E2E_KEEP:-0}" == 1 ]]; then
    say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK"/{home,config/docktray,data,cache,state,runtime}
chmod 700 "$WORK/runtime"

# The local Webdock API (examples/webdock_fixture.rs: the tests' fixture, two VPS servers), so the window shows
# VPS cards and a VPS detail; its token reaches the app through the environment, as for a headless user. It
# carries E2E_WORK, so the clean-up above finds and stops it.
FIXTURE="$TARGET/debug/examples/webdock_fixture"
[[ -x "$FIXTURE" ]] || die "$FIXTURE not found: build it first (cargo build -p docktray --example webdock_fixture)"
WEBDOCK_TOKEN="e2e-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
E2E_WORK="$WORK" "$FIXTURE" "$WEBDOCK_TOKEN" >"$WORK/webdock-url" 2>"$WORK/webdock-fixture.log" &
for ((i = 0; i < 100; i++)); do
  [[ -s "$WORK/webdock-url" ]] && break
  sleep 0.1
done
WEBDOCK_URL="$(head -n1 "$WORK/webdock-url")"
[[ "$WEBDOCK_URL" == http://127.0.0.1:*/v1 ]] || die "the Webdock fixture did not start: $(cat "$WORK/webdock-fixture.log")"
export DOCKTRAY_WEBDOCK_TOKEN_E2E="$WEBDOCK_TOKEN"
# A real Caddy whose routes the app keeps (the Services view), and an xdg-open that records what is opened.
start_caddy "$WORK"
fake_browser "$WORK"
cat >"$WORK/config/docktray/config.toml" <<EOF
# Written by scripts/e2e.sh: fast sampling, low container CPU thresholds and short holds, so a container held
# at --cpus 0.5 turns critical within seconds; host alerts off, so whatever else this machine is doing does
# not colour the tray.
interval = "500ms"

[alerts]
hold = "2s"

[thresholds.container_cpu_percent]
warning = 15
critical = 30

[thresholds.host_cpu_percent]
warning = 80
critical = 95
enabled = false

[thresholds.host_memory_percent]
warning = 80
critical = 95
enabled = false

[thresholds.host_disk_percent]
warning = 80
critical = 95
enabled = false

[notifications]
group_window = "500ms"

[history]
path = "$WORK/data/history.sqlite"

# The Caddy above (tests/e2e/caddy.sh).
[caddy]
admin_url = "$E2E_CADDY_ADMIN"
check_every = "2s"

# The local Webdock API above (memory, disk and quota of its servers are well under the thresholds).
[[webdock]]
name = "e2e"
servers = "all"
base_url = "$WEBDOCK_URL"
EOF

# A free display: Xvfb picks it and writes its number to fd 3. Wide enough that dunst's notifications sit beside
# the app's window, never in a screenshot (tests/e2e/dunst.sh).
Xvfb -displayfd 3 -screen 0 1600x800x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
for ((i = 0; i < 100; i++)); do
  [[ -s "$WORK/display" ]] && break
  kill -0 "$XVFB_PID" 2>/dev/null || { cat "$WORK/xvfb.log" >&2; die "Xvfb exited"; }
  sleep 0.1
done
[[ -s "$WORK/display" ]] || die "Xvfb did not report a display within 10 s"
DISPLAY=":$(tr -dc '0-9' <"$WORK/display")"

# Two free TCP ports for tauri-driver and WebKitWebDriver (4444/4445 when free).
read -r E2E_PORT E2E_NATIVE_PORT < <("$E2E_VENV/bin/python" - <<'EOF'
import socket
def free(pref):
    for port in (pref, 0):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return s
        except OSError:
            s.close()
a = free(4444); b = free(4445)
print(a.getsockname()[1], b.getsockname()[1])
EOF
)

export DISPLAY E2E_PORT E2E_NATIVE_PORT E2E_VENV E2E_TAURI_DRIVER
export E2E_WORK="$WORK" E2E_APP="$APP" E2E_ROOT="$ROOT"
export E2E_SNI_LOG="$WORK/sni_items.json" E2E_NOTIFY_LOG="$WORK/notifications.json"
export E2E_SCREENSHOT_DIR="${E2E_SCREENSHOT_DIR:-$ROOT/docs/screenshots}"
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data" XDG_CACHE_HOME="$WORK/cache"
export XDG_STATE_HOME="$WORK/state" XDG_RUNTIME_DIR="$WORK/runtime" TMPDIR="$WORK"
export NO_AT_BRIDGE=1 GDK_BACKEND=x11 PYTHONDONTWRITEBYTECODE=1
# The locale of servers, containers and CI (WebKit then reports navigator.language "C"): the window must cope.
export LANG="${E2E_LANG:-C.UTF-8}"
unset LC_ALL LANGUAGE
# The app runs with its own rendering choices (GTK without GL, so WebKit without GPU compositing; see
# src-tauri/src/footprint.rs). Screenshots are taken from the X display (tests/e2e/conftest.py window_png):
# WebDriver's screenshot command can wait minutes for a repaint in that mode.
if [[ "${E2E_WEBKIT_NO_COMPOSITING:-0}" == 1 ]]; then
  export WEBKIT_DISABLE_COMPOSITING_MODE=1
fi
export DOCKTRAY_LOG="${DOCKTRAY_LOG:-info}"
unset WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS

# The session bus: no service directories, so nothing is auto-started behind the test's back (desktop
# portals, a keyring, the accessibility bus, whatever notification daemon the machine has): the only
# services are the ones started above.
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

say "display $DISPLAY, tauri-driver on port $E2E_PORT, app $APP, work dir $WORK"
rc=0
dbus-run-session --config-file="$WORK/bus.conf" -- "$SELF" --inner "$@" 2>&1 | grep --line-buffered -v 'Failed to set fd limit' \
  || rc=${PIPESTATUS[0]}
exit "$rc"
