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
TEST_PKGS=("${COMMON_PKGS[@]}" "${DESKTOP_PKGS[@]}" busybox-static dbus dbus-daemon gnome-keyring libsecret-tools
  openssh-server openssh-client)
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

if ! command -v cargo >/dev/null 2>&1; then
  [[ -x "$HOME/.cargo/bin/cargo" ]] \
    && die "cargo is installed at $HOME/.cargo/bin but not on PATH: run 'source \$HOME/.cargo/env'"
  die "cargo not found: install Rust with rustup (https://rustup.rs), then re-run"
fi

# The end-to-end test's tools (Xvfb, WebKitWebDriver, tauri-driver, a Python venv), when missing.
if [[ "$mode" == test ]]; then
  "$(dirname "${BASH_SOURCE[0]}")/e2e-env.sh"
fi
