# batchgate: build, run and test. `make run` and `make test` are the quick start.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
BIN := .build/debug/batchgate
EXAMPLES := config/examples/*.json config/examples/*.csv
CATALOG := --items config/catalog/items.json --packages config/catalog/packages.csv

STATE ?= ./var

# The receivers' validators the tests run (slack_sdk, the CloudEvents SDK, ...), pinned, from PyPI.
PYTHON_TOOLS := .build/python-tools
PYTHON_TOOLS_LIST := Tests/TestSupport/python-tools.txt

# Installation (make install / make uninstall), in the usual GNU variables.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man/man1
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SYSCONFDIR ?= /etc
RELEASE_BIN = $(shell $(SWIFT) build -c release --show-bin-path)/batchgate

.PHONY: deps bench-deps build run examples test bench bench-daemon bench-metrc bench-all soak crash-rounds fuzz clean release install uninstall systemd-check

# libcurl's headers and pkg-config (installed through apt-get when pkg-config cannot find
# libcurl); rsync, which the daemon tests use to drop files as rsync does; for the e-mail
# tests, Debian's python3-aiosmtpd (a real SMTP server) and openssl (its test certificate); for
# the Teams tests, Debian's python3-jsonschema (Microsoft's Adaptive Card schemas, checked by
# Tests/TestSupport/adaptive_card_check.py); and the receivers' own validators from PyPI, pinned
# in $(PYTHON_TOOLS_LIST), in $(PYTHON_TOOLS).
deps:
	@pkg-config --exists libcurl 2>/dev/null || { \
		echo "batchgate: installing libcurl4-openssl-dev and pkg-config (apt-get)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libcurl4-openssl-dev pkg-config; }
	@command -v rsync >/dev/null 2>&1 || { \
		echo "batchgate: installing rsync (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq rsync || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq rsync; }; }
	@{ /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null && command -v openssl >/dev/null 2>&1; } || { \
		echo "batchgate: installing python3-aiosmtpd and openssl for the e-mail tests (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-aiosmtpd openssl || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-aiosmtpd openssl; }; }
	@/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || { \
		echo "batchgate: installing python3-jsonschema for the Teams card tests (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-jsonschema || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-jsonschema; }; }
	@/usr/bin/python3 -m pip --version >/dev/null 2>&1 || { \
		echo "batchgate: installing python3-pip for the receivers' validators the tests run (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-pip || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-pip; }; }
	@cmp -s $(PYTHON_TOOLS_LIST) $(PYTHON_TOOLS)/.installed 2>/dev/null || { \
		echo "batchgate: installing the pinned test tools of $(PYTHON_TOOLS_LIST) into $(PYTHON_TOOLS) (pip)"; \
		rm -rf $(PYTHON_TOOLS) && \
		/usr/bin/python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
			--target $(PYTHON_TOOLS) -r $(PYTHON_TOOLS_LIST) && \
		cp $(PYTHON_TOOLS_LIST) $(PYTHON_TOOLS)/.installed; }

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

# Throughput and memory of `check` over 10,000 generated manifests (see docs/benchmarks.md).
bench: deps
	bench/check_throughput.py

# Daemon burst, steady latency, memory and idle CPU (about two minutes; see docs/benchmarks.md).
bench-daemon: deps
	bench/daemon_bench.py

# The GET rate and concurrency of a catalog sync, as the Metrc-shaped server counts them, beside
# Metrc's limits and a sequential client (see docs/benchmarks.md).
bench-metrc: deps
	bench/metrc_rate.py

# The release daemon fed RATE manifests a second for MINUTES minutes, memory sampled every 10 s:
# every file routed once and no growth beyond noise (see docs/reliability.md). CI runs 2 minutes.
MINUTES ?= 30
RATE ?= 50
soak: deps
	bench/soak.py --minutes $(MINUTES) --rate $(RATE)

# kill -9 at random moments of bursts, 20 rounds: every manifest routed exactly once (docs/reliability.md).
crash-rounds: deps
	bench/crash_rounds.py

# libFuzzer over the JSON and CSV readers, the catalog readers, the evaluator and the reports
# (Fuzz/FuzzCheck.swift, -sanitize=fuzzer,address) for SECONDS; see docs/reliability.md.
SECONDS ?= 600
fuzz:
	bench/fuzz.sh $(SECONDS)

# What bench-all needs besides deps: inotifywait (inotify-tools), the peer it measures against.
# Not part of deps: neither the tests nor CI need it.
bench-deps: deps
	@command -v inotifywait >/dev/null 2>&1 || { \
		echo "batchgate: installing inotify-tools for the benchmark's peer (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq inotify-tools || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq inotify-tools; }; }

# Every benchmark at once: check, bursts of 10,000 and 50,000, steady latency, memory and idle
# CPU, each beside a rename floor and an inotifywait peer, in one run of about 5 minutes, plus up to
# 5 minutes' wait after an earlier benchmark on ext4 without a journal (see docs/benchmarks.md).
# BENCH_ARGS=--quick for a smoke test of about 1.5 minutes.
bench-all: bench-deps
	bench/run_all.py $(BENCH_ARGS)

# A release binary with the Swift runtime linked in: it needs only libc and libcurl on the host.
release: deps
	$(SWIFT) build -c release --product batchgate --static-swift-stdlib

# Installs the binary, the systemd unit, sysusers and tmpfiles entries, the man page and (when
# none is there yet) the example configuration. Without DESTDIR, as root, it also creates the
# user and folders and tells systemd, so `systemctl enable --now batchgate` is the next step.
install: release
	install -D -m 0755 -s $(RELEASE_BIN) $(DESTDIR)$(BINDIR)/batchgate
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(MANDIR)
	sed 's#/usr/local/bin/batchgate#$(BINDIR)/batchgate#; s#/etc/batchgate#$(SYSCONFDIR)/batchgate#g' \
		systemd/batchgate.service > $(DESTDIR)$(UNITDIR)/batchgate.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/batchgate.service
	install -m 0644 systemd/batchgate.sysusers $(DESTDIR)$(SYSUSERSDIR)/batchgate.conf
	sed 's#/etc/batchgate#$(SYSCONFDIR)/batchgate#g' systemd/batchgate.tmpfiles > $(DESTDIR)$(TMPFILESDIR)/batchgate.conf
	chmod 0644 $(DESTDIR)$(TMPFILESDIR)/batchgate.conf
	install -m 0644 docs/batchgate.1 $(DESTDIR)$(MANDIR)/batchgate.1
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/batchgate
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/batchgate/credentials
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/batchgate/batchgate.yaml ]; then \
		echo "batchgate: keeping the existing $(SYSCONFDIR)/batchgate/batchgate.yaml"; \
	else \
		sed 's#^stateRoot: ./var#stateRoot: /var/lib/batchgate#; s#^  items: catalog/items.json#  items: null#; s#^  packages: catalog/packages.csv#  packages: null#' \
			config/batchgate.yaml > $(DESTDIR)$(SYSCONFDIR)/batchgate/batchgate.yaml; \
		chmod 0640 $(DESTDIR)$(SYSCONFDIR)/batchgate/batchgate.yaml; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
		if command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/batchgate.conf; fi; \
		if command -v systemd-tmpfiles >/dev/null; then systemd-tmpfiles --create $(TMPFILESDIR)/batchgate.conf; fi; \
		ls -ld $(SYSCONFDIR)/batchgate $(SYSCONFDIR)/batchgate/batchgate.yaml; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "batchgate: installed. Start it with: systemctl enable --now batchgate"; \
	fi

# Removes what install put in place, but not the configuration, the secrets or the state root
# (manifests and reports): remove /etc/batchgate and /var/lib/batchgate by hand if wanted.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/batchgate $(DESTDIR)$(UNITDIR)/batchgate.service \
		$(DESTDIR)$(SYSUSERSDIR)/batchgate.conf $(DESTDIR)$(TMPFILESDIR)/batchgate.conf $(DESTDIR)$(MANDIR)/batchgate.1
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "batchgate: uninstalled; $(SYSCONFDIR)/batchgate and /var/lib/batchgate are kept"

# The unit as installed: `systemd-analyze verify` must be clean and the exposure 1.5 or lower.
systemd-check:
	systemd-analyze verify $(DESTDIR)$(UNITDIR)/batchgate.service
	systemd-analyze security --offline=true --threshold=15 $(DESTDIR)$(UNITDIR)/batchgate.service

clean:
	rm -rf .build .build-fuzz
