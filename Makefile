# netprobe — make targets used by people and by CI alike.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
SYSTEM_TOOLS := nft:nftables nc:netcat-openbsd ip:iproute2

.PHONY: install deps run test check bench e2e clean

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
	$(PIP) install -q -e '.[dev]'

## run: the example suites on the local dataplane (network namespaces + nftables; root)
run: deps install
	netprobe run suites/ --backend local

## test: the whole test suite (the root-only dataplane tests run when root)
test:
	$(PYTHON) -m pytest

## check: lint, format and types
check:
	ruff check netprobe tests bench
	ruff format --check netprobe tests bench
	mypy

## bench: performance benchmarks; they print figures, they do not pass or fail
bench:
	$(PYTHON) bench/analyzer.py
	$(PYTHON) bench/runner.py

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache reports
