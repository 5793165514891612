#!/usr/bin/env bash
# Install the Debian packages Docktray needs, only when something is missing.
#   scripts/deps.sh [test|run]     (default: test)
# Quiet when everything is already installed. Does not install Rust.
set -euo pipefail

# Package sets. Later issues add to these (openssh-server, xvfb, gnome-keyring, ...).
COMMON_PKGS=(docker.io ca-certificates pkg-config libssl-dev build-essential curl)
# The desktop app (Tauri 2): webview, tray indicator (also loaded at run time), SVG icons.
DESKTOP_PKGS=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev)
# gnome-keyring: the real Secret Service the keychain tests store Webdock tokens in; libsecret-tools: secret-tool,
# an independent client that checks what was stored.
# openssh-server and -client: tests/ssh_hosts.rs runs a real sshd on 127.0.0.1 and connects with the system ssh.
# iproute2: the second private dockerd (tests/common/dockerd.rs) gets its own bridge with `ip link`.
# dunst: the real notification server the notification tests send to (tests/common/notifications.rs), on a private
# bus, drawing on its own display from xvfb (Xvfb; the end-to-end test uses it too).
# podman: the tests/podman binary starts its own `podman system service` on private sockets (rootful, and rootless as
# a user it creates); uidmap: newuidmap/newgidmap, which rootless Podman needs for its user namespace.
# caddy: the real reverse proxy tests/caddy_sync.rs and tests/services.rs start on loopback ports (the package's
# service needs systemd and stays off; the tests run `caddy run --config` themselves).
# prometheus: the real scraper (and promtool) the API tests run against `docktray serve` (tests/api_prometheus.rs);
# its service stays off, the tests start `prometheus` themselves. openssl: the API's TLS test makes a self-signed
# certificate, and tests/channels.rs a private CA for its SMTP server (aiosmtpd in a venv, scripts/test-venv.sh);
# systemd: `systemd-analyze verify` checks the shipped unit (packaging/docktray-serve.service); python3-venv: the
# venvs with openapi-spec-validator (below) and the channels' receivers; e2fsprogs, mount: tests/forecasts.rs fills
# a small ext4 file system mounted from a loop device. mmdebstrap: scripts/image.sh makes the container image's
# Debian 12 base from the mirror when no debian:12-slim can be pulled (tests/container_image.rs).
TEST_PKGS=("${COMMON_PKGS[@]}" "${DESKTOP_PKGS[@]}" busybox-static dbus dbus-daemon gnome-keyring libsecret-tools
  openssh-server openssh-client iproute2 dunst xvfb podman uidmap caddy prometheus openssl systemd python3-venv
  mmdebstrap e2fsprogs mount)
RUN_PKGS=("${COMMON_PKGS[@]}" "${DESKTOP_PKGS[@]}")

die() { echo "deps.sh: $*" >&2; exit 1; }

mode="${1:-test}"
case "$mode" in
  test) wanted=("${TEST_PKGS[@]}") ;;
  run) wanted=("${RUN_PKGS[@]}") ;;
  *) die "usage: $0 [test|run]" ;;
esac

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian/Ubuntu only"

# The window is built with npm (ui/): Debian's nodejs and npm when there is no npm at all (a Node from
# elsewhere, e.g. NodeSource, is used as it is).
if ! command -v npm >/dev/null 2>&1; then
  wanted+=(nodejs npm)
fi

missing=()
for pkg in "${wanted[@]}"; do
  # Docker from docker.com (docker-ce) or elsewhere is used as it is: installing docker.io would replace it.
  if [[ "$pkg" == docker.io ]] && command -v dockerd >/dev/null 2>&1; then
    continue
  fi
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if [[ $EUID -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "deps.sh: not root and no sudo; install them with:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    || die "apt-get update failed"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
fi

# Vite needs Node 20.19 or newer, and Debian 12 ships 18 (Ubuntu 22.04: 12). Then the official Node binary is
# taken from the npm registry's node-linux-<arch> package (the registry npm already reaches) and installed as
# $NODE_PREFIX/bin/node (default /usr/local, ahead of /usr/bin on PATH); Debian's npm runs on it.
NODE_FROM_REGISTRY=22.12.0
node_recent() {
  command -v node >/dev/null 2>&1 \
    && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
      2>/dev/null
}
if ! node_recent; then
  case "$(uname -m)" in
    x86_64) node_arch=x64 ;;
    aarch64) node_arch=arm64 ;;
    *) die "Node $(node --version 2>/dev/null || echo '(none)') is too old for the window's build and no Node binary is published for $(uname -m): install Node 20.19 or newer" ;;
  esac
  node_prefix="${NODE_PREFIX:-/usr/local}"
  if [[ ! -w "$node_prefix" && $EUID -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
    die "Node $(node --version 2>/dev/null || echo '(none)') is too old for the window's build: install Node 20.19 or newer"
  fi
  sudo_node=()
  [[ -w "$node_prefix" || $EUID -eq 0 ]] || sudo_node=(sudo)
  echo "deps.sh: installing Node $NODE_FROM_REGISTRY as $node_prefix/bin/node (Node 20.19 or newer is needed)" >&2
  node_tmp="$(mktemp -d)"
  trap 'rm -rf "$node_tmp"' EXIT
  (cd "$node_tmp" && npm pack --silent --no-fund --loglevel=error "node-linux-$node_arch@$NODE_FROM_REGISTRY" >/dev/null) \
    || die "cannot fetch node-linux-$node_arch@$NODE_FROM_REGISTRY from the npm registry"
  tar -xzf "$node_tmp"/node-linux-"$node_arch"-*.tgz -C "$node_tmp" package/bin/node \
    || die "the node-linux-$node_arch package has no bin/node"
  "${sudo_node[@]}" install -D -m 0755 "$node_tmp/package/bin/node" "$node_prefix/bin/node"
  hash -r
  node_recent || die "installed $node_prefix/bin/node, but $(command -v node || echo node) is still older than 20.19: put $node_prefix/bin first on PATH"
fi

if ! command -v cargo >/dev/null 2>&1; then
  [[ -x "$HOME/.cargo/bin/cargo" ]] \
    && die "cargo is installed at $HOME/.cargo/bin but not on PATH: run 'source \$HOME/.cargo/env'"
  die "cargo not found: install Rust with rustup (https://rustup.rs), then re-run"
fi

# The end-to-end test's tools (Xvfb, WebKitWebDriver, tauri-driver, a Python venv), when missing; and the venv of
# the integration tests' real receivers (aiosmtpd for the e-mail channel).
if [[ "$mode" == test ]]; then
  "$(dirname "${BASH_SOURCE[0]}")/e2e-env.sh"
  "$(dirname "${BASH_SOURCE[0]}")/test-venv.sh"
fi

# The API test's OpenAPI validator (PyPI's openapi-spec-validator) in its own venv, target/api-venv
# (tests/api.rs runs target/api-venv/bin/openapi-spec-validator).
OPENAPI_VALIDATOR=openapi-spec-validator==0.9.0
if [[ "$mode" == test ]]; then
  api_venv="${CARGO_TARGET_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target}/api-venv"
  if [[ ! -x "$api_venv/bin/openapi-spec-validator" || "$(cat "$api_venv/.version" 2>/dev/null || true)" != "$OPENAPI_VALIDATOR" ]]; then
    echo "deps.sh: installing $OPENAPI_VALIDATOR into $api_venv" >&2
    rm -rf "$api_venv"
    /usr/bin/python3 -m venv "$api_venv" || die "python3 -m venv failed (python3-venv installed?)"
    "$api_venv/bin/pip" install --quiet --disable-pip-version-check "$OPENAPI_VALIDATOR" \
      || { rm -rf "$api_venv"; die "pip install $OPENAPI_VALIDATOR failed"; }
    echo "$OPENAPI_VALIDATOR" >"$api_venv/.version"
  fi
fi
