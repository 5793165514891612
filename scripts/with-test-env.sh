#!/usr/bin/env bash
# Run a command with the test environment up, and always tear it down afterwards.
#   scripts/with-test-env.sh CMD [ARGS...]
# The command sees DOCKER_HOST / DOCKTRAY_TEST_IMAGE from scripts/test-env.sh env, and a private cache directory
# (XDG_CACHE_HOME), so nothing a test leaves there (Webdock's shared reply cache) lands in the user's home.
# Exit code: the command's; if the command succeeded but teardown failed, teardown's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
(($#)) || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

cache_home="$(mktemp -d "${TMPDIR:-/tmp}/docktray-test-cache.XXXXXX")"
export XDG_CACHE_HOME="$cache_home"

cleanup() {
  local rc=$? drc=0
  trap - EXIT INT TERM
  rm -rf "$cache_home"
  "$here/test-env.sh" down || drc=$?
  if ((rc == 0 && drc != 0)); then
    echo "with-test-env.sh: teardown failed (exit $drc)" >&2
    rc=$drc
  fi
  exit "$rc"
}
# Set before 'up' so a half-finished 'up' (engine started, image build failed) is undone too.
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$here/test-env.sh" up
eval "$("$here/test-env.sh" env)"
"$@"
