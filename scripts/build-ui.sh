#!/usr/bin/env bash
# Builds the window's files into ui/dist, which docktray-desktop embeds when it is compiled (so every cargo
# build of the workspace needs them: `make build`, `make lint`, `make test` and `make run` call this first).
#   scripts/build-ui.sh
# `npm ci` runs only when ui/node_modules is missing or older than ui/package-lock.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../ui"

die() { echo "build-ui.sh: $*" >&2; exit 1; }

if [[ ! -f package.json ]]; then
  [[ -f dist/index.html ]] && exit 0
  die "neither ui/package.json nor ui/dist/index.html exists: the window cannot be built"
fi
command -v npm >/dev/null 2>&1 || die "npm not found: run scripts/deps.sh run (installs nodejs and npm)"
# Vite needs Node 20.19 or newer.
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node $(node --version) is too old for the window's build: install Node 20.19 or newer"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
