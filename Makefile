# Two commands do everything on a fresh machine (see README.md):
#   make run    the main job
#   make test   the whole test suite
# Both install what they need first (scripts/setup.sh, idempotent).

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TARGET_DIR ?= $(HOME)/.cache/dmsrs-target

.PHONY: setup run test build bench fuzz clippy fmt doc clean-state

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --workspace --all-targets

# The embedded default needs no AWS SDK: building without the `aws` feature keeps the first
# release build short. `cargo build --release -p dmsrs-scenario` builds the full binary
# (--aws, --endpoint-url; see docs/localstack.md and docs/aws.md).
run: setup
	$(CARGO) build --release -p dmsrs-scenario --bin scenario --no-default-features
	$(CARGO_TARGET_DIR)/release/scenario run

test: setup
	$(CARGO) build -p dmsrs-scenario --bin scenario -p dmsrs-dms-server-bin --bin dms-server
	$(CARGO) nextest run --workspace --all-features --no-fail-fast
	$(CARGO) test --workspace --all-features --doc

bench: setup
	$(CARGO) bench -p dmsrs-codec --bench codec

fuzz:
	cd fuzz && $(CARGO) +nightly fuzz run decode -- -max_total_time=$${FUZZ_SECONDS:-300}

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all
