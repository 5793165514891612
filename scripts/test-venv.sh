#!/usr/bin/env bash
# The Python venv of the integration tests' real receivers (tests/receivers/): aiosmtpd for the e-mail channel.
# Created in $CARGO_TARGET_DIR/test-venv (default target/test-venv) with Debian's python3, rebuilt when
# tests/receivers/requirements.txt changes; quiet when it is up to date. scripts/deps.sh test runs it.
#   scripts/test-venv.sh          (prints nothing on success)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="$TARGET/test-venv"
REQS="$ROOT/tests/receivers/requirements.txt"

die() { echo "test-venv.sh: $*" >&2; exit 1; }

PY=/usr/bin/python3
[[ -x "$PY" ]] || PY="$(command -v python3 || true)"
[[ -n "$PY" ]] || die "python3 not found (apt-get install -y python3 python3-venv)"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  echo "test-venv.sh: creating $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" || die "python3 -m venv failed (python3-venv installed?)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS" \
    || { rm -rf "$VENV"; die "pip install -r $REQS failed"; }
  echo "$want" >"$stamp"
fi
