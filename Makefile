# netprobe — make targets used by people and by CI alike.
# Debian's system Python is externally managed (PEP 668: pip may not install into it), so
# there netprobe is installed into .venv, made from it, and every target runs that one.
BASE_PYTHON ?= python3
EXTERNALLY_MANAGED := $(shell $(BASE_PYTHON) -c 'import os, sys, sysconfig; \
  print(int(sys.prefix == sys.base_prefix and os.path.isfile(os.path.join( \
  sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))' 2>/dev/null)
ifeq ($(EXTERNALLY_MANAGED),1)
PYTHON ?= .venv/bin/python
BIN := .venv/bin/
else
PYTHON ?= $(BASE_PYTHON)
BIN :=
endif
PIP ?= $(PYTHON) -m pip
SYSTEM_TOOLS := nft:nftables nc:netcat-openbsd ip:iproute2 nsenter:util-linux
# e2e on kind: the CNI profile (fixtures/kind/kind-$(CNI).yaml), its cluster, what to run
CNI ?= calico
KIND_CLUSTER ?= netprobe-$(CNI)
E2E_SUITES ?= suites
E2E_FLAGS ?=
REPORTS ?= reports

.PHONY: install deps run test check bench e2e e2e-emulated clean kind-up kind-down

## deps: the system tools the local dataplane needs (nftables, netcat-openbsd, iproute2)
deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install$$missing" >&2; exit 3; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

## install: netprobe and its development tools, editable
install:
ifeq ($(EXTERNALLY_MANAGED),1)
	@test -x $(PYTHON) || $(BASE_PYTHON) -m venv .venv || { \
	  echo "cannot make .venv: install python3-venv (apt-get install python3-venv)" >&2; exit 3; }
endif
	$(PIP) install -q -e '.[dev]'

## run: the example suites on the local dataplane (network namespaces + nftables; root)
run: deps install
	$(PYTHON) -m netprobe run suites/ --backend local

## test: the whole test suite (the root-only dataplane tests run when root)
test: install
	$(PYTHON) -m pytest

## check: lint, format, types, and the layers of .importlinter (docs/architecture.md)
check: install
	$(BIN)ruff check netprobe tests bench
	$(BIN)ruff format --check netprobe tests bench
	$(BIN)mypy
	$(BIN)lint-imports

## bench: performance benchmarks; they print figures, they do not pass or fail
bench:
	$(PYTHON) bench/analyzer.py
	$(PYTHON) bench/diff.py
	$(PYTHON) bench/commands.py
	$(PYTHON) bench/runner.py
	$(PYTHON) bench/runner_scale.py --pods 500 --sources 100
	$(PYTHON) bench/loading.py
	$(PYTHON) bench/output.py
	$(PYTHON) bench/nca.py

## kind-up: a kind cluster whose CNI enforces NetworkPolicy (CNI=calico|cilium|kindnet), ready
kind-up:
	CNI=$(CNI) KIND_CLUSTER=$(KIND_CLUSTER) hack/kind-up.sh

## e2e: kind-up if needed, then every suite on that cluster; JUnit and JSON in reports/$(CNI)/
## (the cluster is kind-up's, so suites may use its default and kube-system namespaces)
e2e: kind-up
	@mkdir -p $(REPORTS)/$(CNI)
	$(PYTHON) -m netprobe run $(E2E_SUITES) --backend kubernetes --context kind-$(KIND_CLUSTER) \
	  --cni $(CNI) --use-existing-namespaces \
	  --junit $(REPORTS)/$(CNI)/junit.xml --json $(REPORTS)/$(CNI)/results.json $(E2E_FLAGS)

## e2e-emulated: every suite with --backend kubernetes against the emulated cluster (root;
## tests/emulator: the real client over HTTPS and WebSocket, pods as local network
## namespaces, policies enforced by nftables); JUnit and JSON in reports/emulated/
e2e-emulated: deps install
	$(PYTHON) hack/e2e-emulated.py $(E2E_SUITES) --reports $(REPORTS)/emulated -- $(E2E_FLAGS)

## kind-down: delete the kind cluster of CNI=...
kind-down:
	CNI=$(CNI) KIND_CLUSTER=$(KIND_CLUSTER) hack/kind-down.sh

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache reports
