#!/usr/bin/env bash
# Install what the end-to-end test of the real app (scripts/e2e.sh, tests/e2e/) needs, only what is missing.
# Idempotent and quiet when everything is present.
#
#   scripts/e2e-env.sh          install, then print nothing
#   scripts/e2e-env.sh env      install, then print `export ...` lines (eval "$(scripts/e2e-env.sh env)")
#
# - Debian packages (apt-get, as root or with sudo): Xvfb, WebKitWebDriver, a D-Bus session bus, ImageMagick
#   (`import` for the tray capture), Chromium and its chromedriver (the served page), xwininfo, dunst (the notification server, and dunstctl), python3-venv, and the app's run-time libraries.
# - tauri-driver: the one on PATH, else `cargo install tauri-driver --locked` into target/e2e-tools
#   (project-local, about 50 s once).
# - A Python venv in target/e2e-venv with tests/e2e/requirements.txt (selenium, dbus-next, pytest, pillow),
#   re-created only when that file changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="$TARGET/e2e-tools"
VENV="$TARGET/e2e-venv"
REQS="$ROOT/tests/e2e/requirements.txt"
TAURI_DRIVER_VERSION="${TAURI_DRIVER_VERSION:-2.1.0}"

# chromium + chromium-driver: the browser test of the page `docktray serve` serves (tests/e2e/test_browser.py).
PKGS=(xvfb xauth webkit2gtk-driver chromium chromium-driver dbus dbus-daemon imagemagick x11-utils xdotool dunst python3 python3-venv curl procps
  libwebkit2gtk-4.1-0 libayatana-appindicator3-1 librsvg2-common fonts-dejavu-core)

die() { echo "e2e-env.sh: $*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: Debian/Ubuntu only"

missing=()
for pkg in "${PKGS[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $EUID -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    die "missing Debian packages: ${missing[*]}; not root and no sudo: apt-get install -y ${missing[*]}"
  fi
  echo "e2e-env.sh: installing ${missing[*]}" >&2
  log="$(mktemp)"
  if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get install failed for: ${missing[*]}"
  fi
  rm -f "$log"
fi

# tauri-driver: PATH first (e.g. ~/.cargo/bin), then the project-local install.
if command -v tauri-driver >/dev/null 2>&1; then
  TAURI_DRIVER="$(command -v tauri-driver)"
elif [[ -x "$TOOLS/bin/tauri-driver" ]]; then
  TAURI_DRIVER="$TOOLS/bin/tauri-driver"
else
  command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
  echo "e2e-env.sh: cargo install tauri-driver@$TAURI_DRIVER_VERSION into $TOOLS (about a minute)" >&2
  cargo install --quiet --locked --root "$TOOLS" "tauri-driver@$TAURI_DRIVER_VERSION" \
    || die "cargo install tauri-driver failed"
  TAURI_DRIVER="$TOOLS/bin/tauri-driver"
fi

# Python venv: Debian's python3 (not a pyenv shim), rebuilt when requirements.txt changes.
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY="$(command -v python3)"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  echo "e2e-env.sh: creating $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" || die "python3 -m venv failed (python3-venv installed?)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS" \
    || { rm -rf "$VENV"; die "pip install -r $REQS failed"; }
  echo "$want" >"$stamp"
fi

if [[ "${1:-}" == env ]]; then
  printf 'export E2E_TAURI_DRIVER=%q\n' "$TAURI_DRIVER"
  printf 'export E2E_VENV=%q\n' "$VENV"
fi
