#!/usr/bin/env bash
# End-to-end test of the page `docktray serve` serves (tests/browser/): a real `docktray serve` (binary built with
# the UI embedded: scripts/build-ui.sh, then cargo build) against the real Docker engine of scripts/test-env.sh,
# and Debian's Chromium driven over WebDriver by chromedriver (pytest + selenium), on an Xvfb display so the page
# is screenshotted as a user sees it (docs/screenshots/browser-*.png).
#
#   scripts/e2e-browser.sh [PYTEST ARGS...]      e.g. scripts/e2e-browser.sh -k sign_in -x
#
# Needs DOCKER_HOST and DOCKTRAY_TEST_IMAGE (eval "$(scripts/test-env.sh env)"); wrap it in the shared lock
# (flock /tmp/docktray-tests.lock ...). Two servers are started: one with [api] allow_actions = true, one
# read-only. Env: DOCKTRAY_BIN (default target/debug/docktray), E2E_SCREENSHOT_DIR (default docs/screenshots),
# E2E_KEEP=1 keeps the temp dir.
# shellcheck disable=SC2317
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${DOCKTRAY_BIN:-$TARGET/debug/docktray}"

say() { echo "e2e-browser.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[[ -n "${DOCKER_HOST:-}" && -n "${DOCKTRAY_TEST_IMAGE:-}" ]] \
  || die "DOCKER_HOST and DOCKTRAY_TEST_IMAGE are not set: eval \"\$(scripts/test-env.sh env)\" first"
[[ -x "$BIN" ]] || die "$BIN is missing: run scripts/build-ui.sh, then cargo build -p docktray"
eval "$("$ROOT/scripts/e2e-env.sh" env)"
command -v chromium >/dev/null && command -v chromedriver >/dev/null || die "chromium/chromedriver missing (scripts/e2e-env.sh)"

WORK="$(mktemp -d /tmp/docktray-browser.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((rc != 0)); then
    mkdir -p "$TARGET/e2e-logs"
    cp -f "$WORK"/*.log "$WORK"/*.png "$TARGET/e2e-logs/" 2>/dev/null || true
    say "failed (exit $rc); logs in $TARGET/e2e-logs/"
  fi
  if [[ "${E2E_KEEP:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# One server: its own HOME/XDG dirs and config, the token in a file (DOCKTRAY_API_TOKEN_FILE, as the systemd unit).
# Sets SERVER_URL. Called directly, never in $(...): a subshell would lose the pid, and the server (holding the
# shared test lock's descriptor) would outlive this script.
start_server() {
  local name="$1" actions="$2" port dir
  port="$(free_port)"
  dir="$WORK/$name"
  mkdir -p "$dir"/{home,config/docktray,data,cache,state}
  openssl rand -hex 32 >"$dir/token"
  cat >"$dir/config/docktray/config.toml" <<CONF
# Written by scripts/e2e-browser.sh: fast sampling so live charts move within seconds.
interval = "500ms"

[history]
path = "$dir/data/history.sqlite"

# Alerts at once, so the page's acknowledgement can be tested within seconds.
[alerts]
hold = "0s"

[api]
listen = "127.0.0.1:$port"
allow_actions = $actions
# Also served under /docktray, for the Caddy below (it passes the prefix on).
base_path = "/docktray"
CONF
  HOME="$dir/home" XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data" XDG_CACHE_HOME="$dir/cache" \
    XDG_STATE_HOME="$dir/state" DOCKTRAY_API_TOKEN_FILE="$dir/token" \
    "$BIN" serve --no-notify >"$WORK/$name-serve.log" 2>&1 &
  PIDS+=($!)
  local i
  for ((i = 0; i < 100; i++)); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || die "docktray serve ($name) did not start: $(cat "$WORK/$name-serve.log")"
  SERVER_URL="http://127.0.0.1:$port/"
}

# Xvfb on a free display (it writes the number to fd 3).
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
  [[ -s "$WORK/display" ]] && break
  sleep 0.1
done
[[ -s "$WORK/display" ]] || die "Xvfb did not report a display within 10 s: $(cat "$WORK/xvfb.log")"
export DISPLAY=":$(tr -dc '0-9' <"$WORK/display")"

export BROWSER_URL BROWSER_TOKEN_FILE BROWSER_RO_URL BROWSER_RO_TOKEN_FILE
start_server rw true
BROWSER_URL="$SERVER_URL"
BROWSER_TOKEN_FILE="$WORK/rw/token"
start_server ro false
BROWSER_RO_URL="$SERVER_URL"
BROWSER_RO_TOKEN_FILE="$WORK/ro/token"
# Caddy in front of the first server under /docktray (a reverse proxy on another port, WebSockets included).
CADDY_PORT="$(free_port)"
CADDY_ADMIN="$(free_port)"
UPSTREAM="${BROWSER_URL#http://}"
UPSTREAM="${UPSTREAM%/}"
cat >"$WORK/caddy.json" <<CADDY
{"admin": {"listen": "127.0.0.1:$CADDY_ADMIN"},
 "apps": {"http": {"http_port": $CADDY_PORT, "servers": {"browser": {
   "listen": ["127.0.0.1:$CADDY_PORT"], "automatic_https": {"disable": true},
   "routes": [{"match": [{"path": ["/docktray", "/docktray/*"]}],
               "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "$UPSTREAM"}]}]}]}}}}}
CADDY
command -v caddy >/dev/null || die "caddy missing (scripts/deps.sh installs it)"
HOME="$WORK" XDG_DATA_HOME="$WORK/caddy-data" XDG_CONFIG_HOME="$WORK/caddy-config" \
  caddy run --config "$WORK/caddy.json" >"$WORK/caddy.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
  curl -fsS -o /dev/null "http://127.0.0.1:$CADDY_PORT/docktray/healthz" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$CADDY_PORT/docktray/healthz" || die "Caddy did not proxy: $(cat "$WORK/caddy.log")"
export BROWSER_PROXY_URL="http://127.0.0.1:$CADDY_PORT/docktray/"

export E2E_SCREENSHOT_DIR="${E2E_SCREENSHOT_DIR:-$ROOT/docs/screenshots}" E2E_WORK="$WORK"

cd "$ROOT/tests/browser"
"$E2E_VENV/bin/python" -m pytest -p no:cacheprovider "$@"
