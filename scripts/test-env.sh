#!/usr/bin/env bash
# Bring up / tear down the real components Docktray's tests need.
#
#   scripts/test-env.sh up     reuse a running Docker engine, or (as root) start a private
#                              dockerd; build the local test image; write $STATE/env
#   scripts/test-env.sh down   remove containers labelled docktray.test=1; stop the private
#                              dockerd only if this script started it
#   scripts/test-env.sh env    print $STATE/env  (eval "$(scripts/test-env.sh env)")
#
# State dir: ${DOCKTRAY_TEST_STATE:-/tmp/docktray-test} (keep it short: unix socket paths
# must stay under ~100 bytes). Nothing is ever pulled from a registry.
#
# Machine notes (Debian 12, cgroup v1, docker.io 20.10 engine, docker CLI 28 in /usr/local/bin):
# - The private engine runs with the default bridge and --iptables=true, so containers get
#   a docker0 bridge network (tests send traffic between containers / to the gateway).
#   --bridge=none would break those tests. --cpus and --memory work on cgroup v1 here.
# - The CLI 28 client negotiates down to the 20.10 engine's API 1.41 by itself; /usr/bin/docker
#   from docker.io (20.10) is preferred when present since it matches the engine.
# - Own containerd namespaces, so this engine never collides with another dockerd that shares
#   a system containerd. It does share the docker0 bridge / 172.17.0.0/16 with any other
#   bridged dockerd on the host: run one private engine per machine (a second one should use
#   --bridge=none --iptables=false and its own containerd namespaces).
# - After a crash (dockerd SIGKILLed) containers keep running under orphaned shims and a new
#   dockerd spends 10 s stopping each one; 'up' kills them first. 'down' kills running
#   containers of the private engine before stopping it for the same reason.
set -euo pipefail

STATE="${DOCKTRAY_TEST_STATE:-/tmp/docktray-test}"
SOCK="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
DATA_ROOT="$STATE/data"
EXEC_ROOT="$STATE/exec"
LOG="$STATE/dockerd.log"
ENV_FILE="$STATE/env"
LOCK_FILE="$STATE/lock"
IMAGE="docktray-test-busybox:latest"
LABEL="docktray.test=1"
DEFAULT_HOST="unix:///var/run/docker.sock"
DOCKERD="${DOCKERD:-/usr/sbin/dockerd}"
START_TIMEOUT=60
STOP_TIMEOUT=20

die() { echo "test-env.sh: $*" >&2; exit 1; }
say() { echo "test-env.sh: $*" >&2; }

# Docker CLI: $DOCKER_CLI, else docker.io's /usr/bin/docker (same version as the engine), else PATH.
if [[ -n "${DOCKER_CLI:-}" ]]; then
  CLI="$DOCKER_CLI"
elif [[ -x /usr/bin/docker ]]; then
  CLI=/usr/bin/docker
else
  CLI="$(command -v docker || true)"
fi

need_cli() { [[ -n "$CLI" ]] || die "no docker CLI found: run scripts/deps.sh test (installs docker.io)"; }

# dk HOST args...: run the CLI against HOST, ignoring any docker context.
dk() { local host="$1"; shift; DOCKER_CONTEXT='' "$CLI" -H "$host" "$@"; }

# answers HOST: true if an engine answers there within a few seconds.
answers() {
  [[ -n "$CLI" ]] || return 1
  local v
  v="$(timeout 5 env DOCKER_CONTEXT='' "$CLI" -H "$1" version --format '{{.Server.Version}}' 2>/dev/null)" || return 1
  [[ -n "$v" ]]
}

# pid_is PIDFILE NAME: print the pid if PIDFILE names a live process called NAME.
pid_is() {
  local pidfile="$1" name="$2" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(tr -dc '0-9' <"$pidfile")"
  [[ -n "$pid" ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == "$name" ]] || return 1
  echo "$pid"
}

# stop_pid PID NAME: TERM, wait up to STOP_TIMEOUT s, then KILL.
stop_pid() {
  local pid="$1" name="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  say "$name (pid $pid) did not stop within ${STOP_TIMEOUT}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 25; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  say "warning: $name (pid $pid) is still alive after SIGKILL"
}

# Stop our dockerd (if any) and the containerd it supervises; remove pidfiles and sockets.
stop_private() {
  local pid
  if pid="$(pid_is "$PIDFILE" dockerd)"; then
    stop_pid "$pid" dockerd
  fi
  # dockerd normally stops its containerd; after a crash/KILL it can be left orphaned.
  if pid="$(pid_is "$EXEC_ROOT/containerd/containerd.pid" containerd)"; then
    stop_pid "$pid" containerd
  fi
  rm -f "$PIDFILE" "$SOCK" "$EXEC_ROOT/containerd/containerd.pid"
}

# After a crash, containers of our engine keep running under orphaned shims; a new dockerd
# then spends 10 s per container stopping them. Kill those containers' processes instead.
kill_orphan_containers() {
  local shim kids
  for shim in $(pgrep -f "^/usr/bin/containerd-shim-runc-v2 .*-address $EXEC_ROOT/containerd/containerd.sock" || true); do
    kids="$(pgrep -P "$shim" || true)"
    # shellcheck disable=SC2086
    [[ -z "$kids" ]] || kill -KILL $kids 2>/dev/null || true
  done
}

private_running() { pid_is "$PIDFILE" dockerd >/dev/null && answers "unix://$SOCK"; }

start_private() {
  [[ -x "$DOCKERD" ]] || die "$DOCKERD not found: run scripts/deps.sh test (installs docker.io)"
  ((${#SOCK} < 100)) || die "socket path too long (${#SOCK} bytes): $SOCK; set a shorter DOCKTRAY_TEST_STATE"
  # Stale state from a crashed run: a dockerd that no longer answers, an orphaned containerd,
  # a leftover pidfile or socket file. dockerd refuses to start over a live pidfile.
  stop_private
  kill_orphan_containers
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
  say "starting private dockerd on unix://$SOCK (log: $LOG)"
  echo "=== $(date -Is) starting $DOCKERD" >>"$LOG"
  # setsid: own session, so Ctrl-C in the calling terminal does not hit the engine.
  setsid "$DOCKERD" \
    --data-root "$DATA_ROOT" \
    --exec-root "$EXEC_ROOT" \
    --pidfile "$PIDFILE" \
    --host "unix://$SOCK" \
    --containerd-namespace docktray \
    --containerd-plugins-namespace docktray-plugins \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local pid=$! i
  for ((i = 0; i < START_TIMEOUT * 2; i++)); do
    if answers "unix://$SOCK"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$LOG" >&2 || true
      die "dockerd exited during startup (log above, full log: $LOG)"
    fi
    sleep 0.5
  done
  tail -n 30 "$LOG" >&2 || true
  stop_private
  die "dockerd did not answer on unix://$SOCK within ${START_TIMEOUT}s (log above, full log: $LOG)"
}

build_image() {
  local host="$1"
  dk "$host" image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  local bb=/bin/busybox
  [[ -x "$bb" ]] || die "$bb not found: run scripts/deps.sh test (installs busybox-static)"
  if ldd "$bb" >/dev/null 2>&1; then
    die "$bb is dynamically linked: install busybox-static (scripts/deps.sh test)"
  fi
  say "building $IMAGE from $bb (no pull)"
  local root
  root="$(mktemp -d "$STATE/rootfs.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" EXIT
  mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev,usr}
  chmod 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  local applet
  while read -r applet; do
    [[ -n "$applet" && "$applet" != busybox && "$applet" != */* ]] || continue
    ln -sf busybox "$root/bin/$applet"
  done < <("$bb" --list)
  ln -s bin "$root/sbin"
  ln -s ../bin "$root/usr/bin"
  ln -s ../bin "$root/usr/sbin"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . \
    | dk "$host" import --change 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null \
    || die "docker import of $IMAGE failed"
  rm -rf "$root"
  trap - EXIT
}

write_env() {
  local host="$1" started="$2" tmp
  tmp="$(mktemp "$STATE/env.XXXXXX")"
  {
    printf 'export DOCKER_HOST=%q\n' "$host"
    printf 'export DOCKTRAY_TEST_IMAGE=%q\n' "$IMAGE"
    printf 'export DOCKTRAY_TEST_ENGINE_STARTED=%q\n' "$started"
    printf 'export DOCKTRAY_TEST_STATE=%q\n' "$STATE"
  } >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

cmd_up() {
  need_cli
  local host started
  if private_running; then
    host="unix://$SOCK" started=1
  else
    local ext="${DOCKER_HOST:-$DEFAULT_HOST}"
    # A DOCKER_HOST pointing at our own (dead) private socket is not an external engine.
    if [[ "$ext" != "unix://$SOCK" ]] && answers "$ext"; then
      host="$ext" started=0
    elif [[ $EUID -eq 0 ]]; then
      start_private
      host="unix://$SOCK" started=1
    else
      die "no Docker engine answers at $ext and not root, so a private dockerd cannot be started.
  Start Docker (e.g. 'sudo systemctl start docker'), make sure you can use it (docker group),
  or set DOCKER_HOST to a reachable engine, then re-run."
    fi
  fi
  build_image "$host"
  write_env "$host" "$started"
}

cmd_down() {
  local host="" started=0
  if [[ -f "$ENV_FILE" ]]; then
    host="$(sed -n 's/^export DOCKER_HOST=//p' "$ENV_FILE")"
    started="$(sed -n 's/^export DOCKTRAY_TEST_ENGINE_STARTED=//p' "$ENV_FILE")"
  fi
  # No env file but our dockerd is alive (e.g. 'up' was interrupted): it is ours to stop.
  if [[ -z "$host" ]] && pid_is "$PIDFILE" dockerd >/dev/null; then
    host="unix://$SOCK" started=1
  fi
  if [[ -n "$host" ]] && answers "$host"; then
    local ids
    ids="$(dk "$host" ps -aq --filter "label=$LABEL")"
    if [[ -n "$ids" ]]; then
      # shellcheck disable=SC2086
      dk "$host" rm -f -v $ids >/dev/null || say "warning: could not remove some labelled containers"
    fi
  fi
  if [[ "$started" == 1 ]]; then
    # Our own engine: kill whatever still runs, or dockerd waits 10 s per container that
    # ignores SIGTERM (e.g. 'sleep' as PID 1) while shutting down.
    if [[ -n "$host" ]] && answers "$host"; then
      local running
      running="$(dk "$host" ps -q)"
      # shellcheck disable=SC2086
      [[ -z "$running" ]] || dk "$host" kill $running >/dev/null 2>&1 || true
    fi
    stop_private
  fi
  rm -f "$ENV_FILE"
}

cmd_env() {
  [[ -f "$ENV_FILE" ]] || die "no $ENV_FILE: run 'scripts/test-env.sh up' first"
  cat "$ENV_FILE"
}

case "${1:-}" in
  up | down)
    # shellcheck disable=SC2174  # only the state dir itself needs to be private
    mkdir -p -m 700 "$STATE"
    exec 9>"$LOCK_FILE"
    flock -w 120 9 || die "another test-env.sh holds $LOCK_FILE"
    "cmd_$1"
    ;;
  env) cmd_env ;;
  *) die "usage: $0 up|down|env" ;;
esac
