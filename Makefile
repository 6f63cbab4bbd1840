# Tepat — the two commands a newcomer needs are `make demo` and `make test`.
# Project-local tools (the Kotlin compiler from npm, schemathesis from PyPI) go into .tools/ (ignored).

SHELL := /bin/bash
CARGO ?= cargo
TOOLS := $(CURDIR)/.tools

.PHONY: demo test test-rust test-api lint bench bindings android check-system

## The main job on an embedded default: a server, a field day offline, a flaky sync, a supervisor review.
demo:
	$(CARGO) run -q -p tepat-e2e --bin tepat-demo

## Every test: Rust unit/property/integration/end-to-end tests, then schemathesis against a running server.
test: test-rust test-api

test-rust:
	$(CARGO) test --workspace

## schemathesis (PyPI, into .tools/venv) against a running tepat-server with schemas/openapi.yaml: no 5xx, and
## every response matches the document.
test-api:
	TOOLS=$(TOOLS) CARGO=$(CARGO) bash server/scripts/test-api.sh

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
