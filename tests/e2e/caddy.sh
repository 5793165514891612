# shellcheck shell=bash
# The real Caddy of the e2e test (scripts/e2e.sh), and a stand-in browser: sourced by it and called before the
# app's config is written.
#
#   start_caddy WORK_DIR   starts Debian's caddy with its admin API and one HTTP server on free loopback ports
#                          (plain HTTP, a route of the user's own for user.test), its data and autosave under
#                          WORK_DIR/caddy; sets and exports E2E_CADDY_ADMIN (http://127.0.0.1:PORT) and
#                          E2E_CADDY_HTTP (the server's port). It carries E2E_WORK, so the caller's clean-up
#                          stops it. Returns once the admin API answers.
#   fake_browser WORK_DIR  puts an `xdg-open` first on PATH that only records the address it is given, one per
#                          line, in WORK_DIR/opened-urls (exported as E2E_OPENED_LOG): the test checks what the
#                          window asked to open without starting a browser.
start_caddy() {
  local dir="$1/caddy" i
  mkdir -p "$dir"
  read -r E2E_CADDY_ADMIN_PORT E2E_CADDY_HTTP < <(python3 - <<'PY'
import socket
ports = []
holders = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    holders.append(s)
    ports.append(s.getsockname()[1])
print(*ports)
PY
)
  cat >"$dir/caddy.json" <<JSON
{"admin": {"listen": "127.0.0.1:$E2E_CADDY_ADMIN_PORT"},
 "apps": {"http": {"http_port": $E2E_CADDY_HTTP, "servers": {"main": {
   "listen": ["127.0.0.1:$E2E_CADDY_HTTP"], "automatic_https": {"disable": true},
   "routes": [{"@id": "user-route", "match": [{"host": ["user.test"]}],
               "handle": [{"handler": "static_response", "body": "user page"}]}]}}}}}
JSON
  E2E_WORK="$1" HOME="$dir" XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" \
    caddy run --config "$dir/caddy.json" </dev/null >"$1/caddy.log" 2>&1 &
  local pid=$!
  E2E_CADDY_ADMIN="http://127.0.0.1:$E2E_CADDY_ADMIN_PORT"
  for ((i = 0; i < 150; i++)); do
    curl -fsS "$E2E_CADDY_ADMIN/config/" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$1/caddy.log" >&2; die "caddy exited during startup (scripts/deps.sh test installs it)"; }
    sleep 0.1
  done
  ((i < 150)) || die "caddy's admin API did not answer at $E2E_CADDY_ADMIN within 15 s"
  export E2E_CADDY_ADMIN E2E_CADDY_HTTP
}

fake_browser() {
  mkdir -p "$1/bin"
  cat >"$1/bin/xdg-open" <<'SH'
#!/bin/sh
printf '%s\n' "$1" >>"$E2E_OPENED_LOG"
SH
  chmod +x "$1/bin/xdg-open"
  export E2E_OPENED_LOG="$1/opened-urls" PATH="$1/bin:$PATH"
}
