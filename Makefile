# Tieline: build, run and test on Debian.
#
#   make run     install what is missing, build release, serve config/tieline.yaml
#   make test    install what is missing (incl. sipp, socat), build, run every test
#   make bench   release build of the gateway and the benchmark, then run it
#   make check   validate config/tieline.yaml
#
# Packages are installed only when dpkg says they are missing, so a machine
# that has everything needs no network (apt-get update runs only before an
# install).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Swift from PATH, else the toolchain in /opt/swift.
ifeq ($(shell command -v swift 2>/dev/null),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif
SWIFT ?= swift
CONFIG ?= config/tieline.yaml

# Headers and pkg-config files for the C shims (Package.swift).
BUILD_PACKAGES := libsrtp2-dev libssl-dev libopus-dev libspandsp-dev liblua5.4-dev libsqlite3-dev pkg-config openssl
# The real peers the integration tests run: sipp, socat (TLS in front of
# sipp), tshark (RTP capture), sox (tones), Kamailio (registrar and
# record-routing proxy) and baresip (a phone registered to it).
TEST_PACKAGES := sip-tester socat tshark sox chromium chromium-driver iproute2 util-linux postgresql \
  kamailio kamailio-tls-modules baresip

# $(call install,PACKAGES): apt-get install the ones not installed, as root
# or through sudo.
define install
missing=""; \
if command -v dpkg-query >/dev/null; then \
  for package in $(1); do \
    status=$$(dpkg-query -W -f='$${Status}' "$$package" 2>/dev/null || true); \
    [ "$$status" = "install ok installed" ] || missing="$$missing $$package"; \
  done; \
else \
  echo "no dpkg here: install$(foreach p,$(1), $(p)) by hand if the build needs them"; \
fi; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
  elif command -v sudo >/dev/null; then sudo="sudo"; \
  else echo "missing:$$missing (run as root, or install them)" >&2; exit 1; fi; \
  echo "installing:$$missing"; \
  $$sudo apt-get update -qq; \
  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
fi
endef

# The WebRTC test peer (aiortc, numpy) lives in a virtual environment made
# from Tests/WebRTCTests/Peers/requirements.txt, remade when that changes.
PYTHON ?= python3
PEER_REQUIREMENTS := Tests/WebRTCTests/Peers/requirements.txt

.PHONY: deps test-deps venv build release run test bench check clean

deps:
	@$(call install,$(BUILD_PACKAGES))

# The build packages too, in one apt-get run.
test-deps:
	@$(call install,$(BUILD_PACKAGES) $(TEST_PACKAGES))
	@$(MAKE) --no-print-directory venv

venv: .venv/requirements.txt

.venv/requirements.txt: $(PEER_REQUIREMENTS)
	@if ! $(PYTHON) -m venv --clear .venv 2>/dev/null; then \
	  $(call install,python3 python3-venv); \
	  /usr/bin/python3 -m venv --clear .venv; \
	fi
	.venv/bin/pip install --quiet --disable-pip-version-check -r $(PEER_REQUIREMENTS)
	cp $(PEER_REQUIREMENTS) $@

build: deps
	$(SWIFT) build --build-tests

release: deps
	$(SWIFT) build -c release --product tieline

run: release
	exec .build/release/tieline serve --config $(CONFIG)

# A throwaway PostgreSQL server on loopback for the records tests, stopped
# (and its directory removed) however the tests end.
test: test-deps
	$(SWIFT) build --build-tests
	pg_dir=$$(mktemp -d "$${TMPDIR:-/tmp}/tieline-postgres.XXXXXX"); \
	trap 'Tests/Support/postgres.sh stop "$$pg_dir"' EXIT; \
	url=$$(Tests/Support/postgres.sh start "$$pg_dir"); \
	TIELINE_TEST_POSTGRES_URL="$$url" $(SWIFT) test

bench: test-deps
	$(SWIFT) build -c release --product tieline
	$(SWIFT) build -c release --product tieline-bench
	.build/release/tieline-bench

check: release
	.build/release/tieline check --config $(CONFIG)

clean:
	$(SWIFT) package clean
