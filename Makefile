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

.PHONY: all deps build test run bench fmt fmt-check lint clean toolchain

all: build

deps:
	scripts/deps.sh test

# rustfmt and clippy components, added only when missing.
toolchain:
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt >/dev/null 2>&1 \
	  || { echo "make: cannot add rustfmt (rustup component add rustfmt)" >&2; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy >/dev/null 2>&1 \
	  || { echo "make: cannot add clippy (rustup component add clippy)" >&2; exit 1; }

build:
	$(CARGO) build --workspace

fmt: toolchain
	$(CARGO) fmt --all

fmt-check: toolchain
	$(CARGO) fmt --all -- --check

lint: toolchain
	$(CARGO) clippy $(CLIPPY_ARGS)

# Environment up -> tests -> environment down (always, via trap in with-test-env.sh);
# the exit code is the tests'.
test: deps fmt-check lint
	scripts/with-test-env.sh $(CARGO) test $(CARGO_TEST_FLAGS) -- $(TEST_ARGS)

# The desktop shell arrives in a later issue; the engine CLI is `cargo run -p docktray -- status`.
run:
	scripts/deps.sh run
	$(CARGO) build --workspace
	$(CARGO) run -p docktray-desktop

bench: deps
	@if [[ -x scripts/bench.sh ]]; then \
	  scripts/with-test-env.sh scripts/bench.sh; \
	else \
	  echo "make bench: scripts/bench.sh does not exist yet; nothing to run" >&2; \
	fi

clean:
	$(CARGO) clean
