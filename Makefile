# Docktray developer entry points. See scripts/ for the pieces.
#   make test                     deps, fmt check, clippy, then the tests against a real engine
#   make test TEST_ARGS='docker_ --test-threads=1'   (args after `cargo test ... --`)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
# Steps depend on order (deps before builds, tests after lint); cargo parallelises inside.
.NOTPARALLEL:

CARGO ?= cargo
# Flags for `cargo test` before `--`, and args for the test harness after it.
# Not --all-targets: that would also run the benchmarks (harness = false) as tests.
CARGO_TEST_FLAGS ?= --workspace --lib --bins --tests
TEST_ARGS ?= --test-threads=2
CLIPPY_ARGS ?= --workspace --all-targets -- -D warnings

.PHONY: all deps ui build test run bundle bench fmt fmt-check lint clean toolchain

all: build

deps:
	scripts/deps.sh test

# rustfmt and clippy components, added only when missing.
toolchain:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt >/dev/null 2>&1 \
	  || { echo "make: cannot add rustfmt (rustup component add rustfmt)" >&2; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy >/dev/null 2>&1 \
	  || { echo "make: cannot add clippy (rustup component add clippy)" >&2; exit 1; }

# The window's files (ui/dist): docktray-desktop embeds them at compile time, so every cargo build needs them.
ui:
	scripts/build-ui.sh

build: ui
	$(CARGO) build --workspace

fmt: toolchain
	$(CARGO) fmt --all

fmt-check: toolchain
	$(CARGO) fmt --all -- --check

lint: toolchain ui
	$(CARGO) clippy $(CLIPPY_ARGS)

# Environment up -> tests -> environment down (always, via trap in with-test-env.sh);
# the exit code is the tests'.
# The Rust tests, then (same engine, only if they pass) the end-to-end test of the desktop app, then the page
# `docktray serve` serves in Chromium (scripts/e2e-browser.sh, about a minute; the binary cargo test built).
test: deps fmt-check lint ui-test e2e-app
	scripts/with-test-env.sh bash -c '"$$@" && scripts/e2e.sh && scripts/e2e-browser.sh' test $(CARGO) test $(CARGO_TEST_FLAGS) -- $(TEST_ARGS)

# The window's own checks: svelte-check (TypeScript strict) and the Vitest component tests.
.PHONY: ui-test
ui-test: ui
	cd ui && npm run --silent check && npm run --silent test

# End-to-end test of the real desktop app (scripts/e2e.sh; tests/e2e/): Xvfb, a private D-Bus session with a
# tray watcher and a notification recorder, WebDriver, the real engine. Screenshots go to docs/screenshots/.
#   make e2e E2E_ARGS='-k tray -x'    (pytest args)
.PHONY: e2e e2e-app
e2e-app: ui
	$(CARGO) build -p docktray-desktop
	$(CARGO) build -p docktray --example webdock_fixture

e2e: deps e2e-app
	scripts/with-test-env.sh scripts/e2e.sh $(E2E_ARGS)

# The desktop app (tray icon; the window opens from the tray menu). The engine CLI is `cargo run -- status`.
run:
	scripts/deps.sh run
	scripts/build-ui.sh
	$(CARGO) build -p docktray-desktop
	$(CARGO) run -p docktray-desktop

# Debian package of the desktop app: target/release/bundle/deb/Docktray_<version>_amd64.deb
bundle:
	scripts/deps.sh run
	scripts/bundle.sh

bench: deps
	@if [[ -x scripts/bench.sh ]]; then \
	  scripts/with-test-env.sh scripts/bench.sh; \
	else \
	  echo "make bench: scripts/bench.sh does not exist yet; nothing to run" >&2; \
	fi

clean:
	$(CARGO) clean
