# batchgate: build, run and test. `make run` and `make test` are the quick start.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
BIN := .build/debug/batchgate
EXAMPLES := config/examples/*.json config/examples/*.csv
CATALOG := --items config/catalog/items.json --packages config/catalog/packages.csv

STATE ?= ./var

.PHONY: deps build run examples test bench bench-daemon clean

# libcurl's headers and pkg-config (installed through apt-get when pkg-config cannot find
# libcurl), and rsync, which the daemon tests use to drop files as rsync does.
deps:
	@pkg-config --exists libcurl 2>/dev/null || { \
		echo "batchgate: installing libcurl4-openssl-dev and pkg-config (apt-get)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libcurl4-openssl-dev pkg-config; }
	@command -v rsync >/dev/null 2>&1 || { \
		echo "batchgate: installing rsync (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq rsync || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq rsync; }; }

build: deps
	$(SWIFT) build

# Runs the daemon in the foreground on $(STATE) (default ./var) until Ctrl-C.
run: build
	@echo "batchgate: drop manifests into $(STATE)/inbox/ (try: cp config/examples/*.json $(STATE)/inbox/);"
	@echo "batchgate: reports appear in $(STATE)/accepted/, $(STATE)/needs-batch/ and $(STATE)/rejected/. Ctrl-C stops."
	@$(BIN) run --root $(STATE)

# Checks the bundled example manifests against the example catalog. Exit status of check:
# 0 all accepted, 1 some need a production batch, 2 some rejected.
examples: build
	@$(BIN) check $(CATALOG) $(EXAMPLES); status=$$?; \
		echo "batchgate check exited $$status (0 accepted, 1 needs-batch, 2 rejected)"; \
		[ $$status -le 2 ]

test: deps
	$(SWIFT) test

# Throughput and memory of `check` over 10,000 generated manifests (see bench/README.md).
bench: deps
	bench/check_throughput.py

# Daemon burst, steady latency, memory and idle CPU (about two minutes; see docs/benchmarks.md).
bench-daemon: deps
	bench/daemon_bench.py

clean:
	rm -rf .build
