# batchgate: build, run and test. `make run` and `make test` are the quick start; `make deb`
# builds the Debian package a server installs, `make install` installs on this machine.
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
MAN5DIR := $(PREFIX)/share/man/man5
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SYSCONFDIR ?= /etc
# The release build, shared by `make install`, `make release` and `make deb`: SCRATCH is SwiftPM's
# build folder (`.build` unless another is named, as a worktree beside others does).
SCRATCH ?= .build
RELEASE_FLAGS := -c release --scratch-path $(SCRATCH)
RELEASE_BIN = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/batchgate

# The one version, set in Sources/batchgate/Version.swift (what `batchgate --version` prints).
VERSION := $(shell sed -n 's/^let batchgateVersion = "\([^"]*\)"$$/\1/p' Sources/batchgate/Version.swift)

# How the repository's files become installed ones, for `make install` and `make deb` alike: the
# unit and tmpfiles entry name the binary and the config folder where they are installed, and the
# example config gets the service's state root and no catalog files (those are the examples').
UNIT_PATHS = s|/usr/local/bin/batchgate|$(1)/batchgate|g; s|/etc/batchgate|$(2)/batchgate|g
SERVICE_CONFIG = s|^stateRoot: ./var|stateRoot: /var/lib/batchgate|; s|^  items: catalog/items.json|  items: null|; s|^  packages: catalog/packages.csv|  packages: null|

# The Debian package (make deb), staged under $(SCRATCH)/deb and built by dpkg-deb.
DEB_ARCH = $(shell dpkg --print-architecture)
DEB = batchgate_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT = $(SCRATCH)/deb/root
DEB_MAINTAINER ?= batchgate maintainers <maintainers@users.noreply.r-seed-50f8a86a.example>
DEB_HOMEPAGE ?=

.PHONY: build-deps deb-deps test-deps deps bench-deps version-check deb deb-check build run examples test bench bench-daemon bench-metrc bench-status bench-all soak crash-rounds fuzz clean release install uninstall systemd-check live-check

# What building needs, and nothing more (make build, release, install, deb): libcurl's headers
# and pkg-config, installed through apt-get when pkg-config cannot find libcurl.
build-deps:
	@pkg-config --exists libcurl 2>/dev/null || { \
		echo "batchgate: installing libcurl4-openssl-dev and pkg-config (apt-get)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libcurl4-openssl-dev pkg-config; }

# What `make deb` needs besides build-deps: dpkg-dev (dpkg-shlibdeps, dpkg-parsechangelog).
deb-deps: build-deps
	@command -v dpkg-shlibdeps >/dev/null 2>&1 && command -v dpkg-parsechangelog >/dev/null 2>&1 || { \
		echo "batchgate: installing dpkg-dev for the Debian package (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dpkg-dev || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dpkg-dev; }; }

# What the tests, the soak and the benchmarks need besides build-deps: rsync, which the daemon
# tests use to drop files as rsync does; for the e-mail tests, Debian's python3-aiosmtpd (a real
# SMTP server) and openssl (its test certificate); for the Teams tests, Debian's
# python3-jsonschema (Microsoft's Adaptive Card schemas, checked by
# Tests/TestSupport/adaptive_card_check.py); and the receivers' own validators from PyPI, pinned
# in $(PYTHON_TOOLS_LIST), in $(PYTHON_TOOLS). A server that only runs batchgate needs none of them.
test-deps: build-deps
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

# The name the test tools had before build-deps and test-deps were told apart.
deps: test-deps

build: build-deps
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

test: test-deps
	$(SWIFT) test

# Throughput and memory of `check` over 10,000 generated manifests (see docs/benchmarks.md).
bench: test-deps
	bench/check_throughput.py

# Daemon burst (on an idle machine and with a core kept busy), steady and drop-to-alert latency,
# memory and idle CPU (about three minutes; see docs/benchmarks.md).
bench-daemon: test-deps
	bench/daemon_bench.py

# `batchgate status` on a 1 GB audit.jsonl, read from its end, beside tail (floor) and grep over the
# whole file (peer), in one run (see docs/benchmarks.md).
bench-status: build-deps
	bench/status_audit.py

# The GET rate and concurrency of a catalog sync, as the Metrc-shaped server counts them, beside
# Metrc's limits and a sequential client (see docs/benchmarks.md).
bench-metrc: test-deps
	bench/metrc_rate.py

# The release daemon fed RATE manifests a second for MINUTES minutes, memory sampled every 10 s:
# every file routed once and no growth beyond noise (see docs/reliability.md). CI runs 2 minutes.
MINUTES ?= 30
RATE ?= 50
soak: test-deps
	bench/soak.py --minutes $(MINUTES) --rate $(RATE)

# kill -9 at random moments of bursts, 20 rounds: every manifest routed exactly once (docs/reliability.md).
crash-rounds: test-deps
	bench/crash_rounds.py

# libFuzzer over the JSON and CSV readers, the catalog readers, the evaluator and the reports
# (Fuzz/FuzzCheck.swift, -sanitize=fuzzer,address) for SECONDS; see docs/reliability.md.
SECONDS ?= 600
fuzz:
	bench/fuzz.sh $(SECONDS)

# What bench-all needs besides test-deps: inotifywait (inotify-tools), the peer it measures against,
# and curl, with which that peer posts its alerts. Not part of test-deps: neither the tests nor CI
# need them.
bench-deps: test-deps
	@{ command -v inotifywait >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; } || { \
		echo "batchgate: installing inotify-tools and curl for the benchmark's peer (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq inotify-tools curl || \
		{ $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq inotify-tools curl; }; }

# Every benchmark at once: check, bursts of 10,000 and 50,000 (10,000 again with a core kept
# busy), steady latency, drop-to-alert latency, memory and idle CPU, each beside a rename floor and
# an inotifywait peer, in one run of about 6 minutes, plus up to 5 minutes' wait after an earlier
# benchmark on ext4 without a journal (see docs/benchmarks.md).
# BENCH_ARGS=--quick for a smoke test of about 2 minutes.
bench-all: bench-deps
	bench/run_all.py $(BENCH_ARGS)

# A release binary with the Swift runtime linked in: it needs only libc and libcurl on the host.
release: build-deps
	$(SWIFT) build $(RELEASE_FLAGS) --product batchgate --static-swift-stdlib

# Installs the binary, the systemd unit, sysusers and tmpfiles entries, the man pages and (when
# none is there yet) the example configuration and the logrotate file for audit.jsonl. Without
# DESTDIR, as root, it also creates the user and folders and tells systemd, so
# `systemctl enable --now batchgate` is the next step.
install: release
	install -D -m 0755 -s $(RELEASE_BIN) $(DESTDIR)$(BINDIR)/batchgate
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(MANDIR)
	sed '$(call UNIT_PATHS,$(BINDIR),$(SYSCONFDIR))' systemd/batchgate.service > $(DESTDIR)$(UNITDIR)/batchgate.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/batchgate.service
	install -m 0644 systemd/batchgate.sysusers $(DESTDIR)$(SYSUSERSDIR)/batchgate.conf
	sed '$(call UNIT_PATHS,$(BINDIR),$(SYSCONFDIR))' systemd/batchgate.tmpfiles > $(DESTDIR)$(TMPFILESDIR)/batchgate.conf
	chmod 0644 $(DESTDIR)$(TMPFILESDIR)/batchgate.conf
	install -m 0644 docs/batchgate.1 $(DESTDIR)$(MANDIR)/batchgate.1
	install -D -m 0644 docs/batchgate.yaml.5 $(DESTDIR)$(MAN5DIR)/batchgate.yaml.5
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/batchgate
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/batchgate/credentials
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/batchgate/batchgate.yaml ]; then \
		echo "batchgate: keeping the existing $(SYSCONFDIR)/batchgate/batchgate.yaml"; \
	else \
		sed '$(SERVICE_CONFIG)' config/batchgate.yaml > $(DESTDIR)$(SYSCONFDIR)/batchgate/batchgate.yaml; \
		chmod 0640 $(DESTDIR)$(SYSCONFDIR)/batchgate/batchgate.yaml; \
	fi
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/logrotate.d/batchgate ]; then \
		echo "batchgate: keeping the existing $(SYSCONFDIR)/logrotate.d/batchgate"; \
	else \
		install -D -m 0644 packaging/batchgate.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/batchgate; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
		if command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/batchgate.conf; fi; \
		if command -v systemd-tmpfiles >/dev/null; then systemd-tmpfiles --create $(TMPFILESDIR)/batchgate.conf; fi; \
		ls -ld $(SYSCONFDIR)/batchgate $(SYSCONFDIR)/batchgate/batchgate.yaml; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "batchgate: installed. Start it with: systemctl enable --now batchgate"; \
	fi

# Removes what install put in place, but not the configuration, the secrets or the state root
# (manifests and reports): remove /etc/batchgate and /var/lib/batchgate by hand if wanted. The
# logrotate file goes when it is as installed; one you edited stays.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/batchgate $(DESTDIR)$(UNITDIR)/batchgate.service \
		$(DESTDIR)$(SYSUSERSDIR)/batchgate.conf $(DESTDIR)$(TMPFILESDIR)/batchgate.conf $(DESTDIR)$(MANDIR)/batchgate.1 \
		$(DESTDIR)$(MAN5DIR)/batchgate.yaml.5
	@if cmp -s packaging/batchgate.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/batchgate; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/logrotate.d/batchgate; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/logrotate.d/batchgate ]; then \
		echo "batchgate: keeping $(SYSCONFDIR)/logrotate.d/batchgate: it was edited"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "batchgate: uninstalled; $(SYSCONFDIR)/batchgate and /var/lib/batchgate are kept"

# The unit as installed: `systemd-analyze verify` must be clean and the exposure 1.5 or lower.
systemd-check:
	systemd-analyze verify $(DESTDIR)$(UNITDIR)/batchgate.service
	systemd-analyze security --offline=true --threshold=15 $(DESTDIR)$(UNITDIR)/batchgate.service

# The package under a real systemd: boots systemd in a systemd-nspawn container on a Debian 12
# tree (cached in /var/cache/batchgate-live), installs $(DEB) with apt-get and runs the live checks
# of .ci/live/systemd-live, one PASS or FAIL line each (docs/deployment.md). Needs root.
live-check: deb
	.ci/live/systemd-live ./$(DEB)

# Fails when Sources/batchgate/Version.swift, CHANGELOG.md's newest entry and the Debian changelog
# made from it do not carry one version (packaging/check-version.sh; `make deb` also checks the
# binary's --version and the package).
version-check: deb-deps
	packaging/check-version.sh

# The Debian package $(DEB): the release binary (the Swift runtime linked in, so the server needs no
# Swift), the unit, sysusers and tmpfiles entries, the config and logrotate file as conffiles, the
# man pages, copyright and changelog, and the maintainer scripts of packaging/deb/. Built from a
# staged tree by dpkg-deb alone: no debhelper, no source package. Depends comes from dpkg-shlibdeps
# on the binary, so it names exactly the libraries it links (packaging/deb/control.in).
deb: deb-deps release version-check
	rm -rf $(DEB_ROOT) $(DEB) && install -d -m 0755 $(DEB_ROOT)/DEBIAN
	install -D -m 0755 $(RELEASE_BIN) $(DEB_ROOT)/usr/bin/batchgate
	strip --remove-section=.comment --remove-section=.note $(DEB_ROOT)/usr/bin/batchgate
	install -d -m 0755 $(DEB_ROOT)/usr/lib/systemd/system $(DEB_ROOT)/usr/lib/sysusers.d $(DEB_ROOT)/usr/lib/tmpfiles.d
	sed '$(call UNIT_PATHS,/usr/bin,/etc)' systemd/batchgate.service > $(DEB_ROOT)/usr/lib/systemd/system/batchgate.service
	install -m 0644 systemd/batchgate.sysusers $(DEB_ROOT)/usr/lib/sysusers.d/batchgate.conf
	sed '$(call UNIT_PATHS,/usr/bin,/etc)' systemd/batchgate.tmpfiles > $(DEB_ROOT)/usr/lib/tmpfiles.d/batchgate.conf
	install -d -m 0755 $(DEB_ROOT)/etc/batchgate $(DEB_ROOT)/etc/logrotate.d
	sed '$(SERVICE_CONFIG)' config/batchgate.yaml > $(DEB_ROOT)/etc/batchgate/batchgate.yaml
	install -m 0644 packaging/batchgate.logrotate $(DEB_ROOT)/etc/logrotate.d/batchgate
	install -d -m 0755 $(DEB_ROOT)/usr/share/man/man1 $(DEB_ROOT)/usr/share/doc/batchgate $(DEB_ROOT)/usr/share/lintian/overrides
	gzip -9n < docs/batchgate.1 > $(DEB_ROOT)/usr/share/man/man1/batchgate.1.gz
	install -d -m 0755 $(DEB_ROOT)/usr/share/man/man5
	gzip -9n < docs/batchgate.yaml.5 > $(DEB_ROOT)/usr/share/man/man5/batchgate.yaml.5.gz
	install -d -m 0755 $(DEB_ROOT)/usr/share/doc/batchgate/examples
	install -m 0644 systemd/batchgate-metrics.conf.example $(DEB_ROOT)/usr/share/doc/batchgate/examples/batchgate-metrics.conf
	install -m 0644 systemd/batchgate-inbox-elsewhere.conf.example $(DEB_ROOT)/usr/share/doc/batchgate/examples/batchgate-inbox-elsewhere.conf
	install -m 0644 packaging/deb/copyright $(DEB_ROOT)/usr/share/doc/batchgate/copyright
	packaging/deb/changelog.sh CHANGELOG.md '$(DEB_MAINTAINER)' | gzip -9n > $(DEB_ROOT)/usr/share/doc/batchgate/changelog.gz
	gzip -9n < README.md > $(DEB_ROOT)/usr/share/doc/batchgate/README.md.gz
	install -m 0644 packaging/deb/lintian-overrides $(DEB_ROOT)/usr/share/lintian/overrides/batchgate
	install -m 0644 packaging/deb/conffiles $(DEB_ROOT)/DEBIAN/conffiles
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm $(DEB_ROOT)/DEBIAN/
	chmod -R u=rwX,go=rX $(DEB_ROOT)
	cd $(DEB_ROOT) && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums
	depends=$$(packaging/deb/shlibdeps.sh $(DEB_ROOT)/usr/bin/batchgate) && \
	sed -e 's|@VERSION@|$(VERSION)|; s|@ARCH@|$(DEB_ARCH)|; s|@MAINTAINER@|$(DEB_MAINTAINER)|' \
		-e "s|@DEPENDS@|$$depends|; s|@INSTALLED_SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" \
		$(if $(DEB_HOMEPAGE),-e '/^Description:/i Homepage: $(DEB_HOMEPAGE)') \
		packaging/deb/control.in > $(DEB_ROOT)/DEBIAN/control
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || date +%s) \
		dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB)
	packaging/check-version.sh $(DEB_ROOT)/usr/bin/batchgate $(DEB)
	@ls -l $(DEB)

# The package as a sysadmin gets it, on this machine, as root: lintian, apt-get install, the binary
# and its config check, the unit, logrotate, purge (packaging/check-deb.sh). Restores the machine.
deb-check: deb
	packaging/check-deb.sh ./$(DEB)

clean:
	rm -rf .build .build-fuzz
