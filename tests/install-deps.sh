#!/bin/sh
# Installs the Debian packages one command needs and is missing, from Debian
# 12 (bookworm) or 13 (trixie) / Raspberry Pi OS packages.  Quiet when nothing
# is missing.  Needs root (or sudo) only when something has to be installed.
#
#   install-deps.sh build   what plain make needs: compiler, pkg-config, -dev libraries
#   install-deps.sh demo    build + what make demo runs: mosquitto, socat, HAProxy,
#                           python3-paho-mqtt, BIND 9 (named, dig), iproute2 and
#                           util-linux (its network namespace) (no firmware
#                           toolchain, no test tools)
#   install-deps.sh check   everything make check needs: the test tools, valgrind,
#                           RabbitMQ, chromium, nodejs and npm (the console's
#                           build check and browser tests), and
#                           (firmware/install-deps.sh qemu) the firmware cross
#                           toolchain and qemu-system-arm
#   install-deps.sh console the same as check (an older name)
#   install-deps.sh bench   build + what make bench runs besides its peers
#                           (bench/run.sh installs NUT, collectd and gnuplot itself)
#   install-deps.sh fuzz    build + clang with its libFuzzer and sanitizer runtimes
#   install-deps.sh         the same as check
set -eu

BUILD="build-essential pkg-config
libmodbus-dev libmosquitto-dev libgpiod-dev libcjson-dev libinih-dev libsqlite3-dev
libsystemd-dev libldns-dev libmicrohttpd-dev"
# agent/examples/demo.sh: mosquitto, socat (the RTU pty pair), haproxy,
# python3 -m http.server and demo_watch.py (paho), named (bind9) for the DNS
# target and dig (bind9-dnsutils) reading its answers; mosquitto_sub is in
# the hints it prints; its network namespace: unshare (util-linux), ip and ss
# (iproute2; a minbase system has no iproute2).
DEMO="mosquitto mosquitto-clients socat haproxy python3-paho-mqtt bind9 bind9-dnsutils iproute2 util-linux"
# iproute2 (ss) and procps (ps): tests check listening sockets and processes;
# a minbase system has neither.  bind9 and bind9-dnsutils: test_drain_dns's
# named and dig.  bird2: test_drain_bgp's two BIRD 2 routers (bird, birdc).
# python3-jsonschema, python3-jinja2: test_ha_discovery checks Home
# Assistant discovery messages against a schema and renders their templates.
# sqlite3: test_history reads the journal as the README shows.
# gdb: a test that finds a program stuck prints its threads' stacks
# (proc_state in tests/integration/lib.sh).
# prometheus: test_metrics's Prometheus scraping emberd, and promtool (the
# package may start a system Prometheus on port 9090; the test runs its own).
# chromium, nodejs and npm: make console-check (the console rebuilt from its
# lockfile) and tests/console's browser tests (Playwright's library, installed
# by npm ci in agent/console from the npm registry, drives Debian's chromium
# headless).  A nodejs from
# elsewhere (NodeSource's package) brings its own npm and conflicts with
# Debian's: then npm is not asked for.
NPM=npm
if command -v npm >/dev/null 2>&1 &&
    ! dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q "install ok installed"; then
    NPM=""
fi
CHECK="libcmocka-dev mosquitto mosquitto-clients socat mbpoll haproxy curl
python3-pymodbus python3-serial python3-serial-asyncio python3-paho-mqtt
valgrind openssl rabbitmq-server faketime iproute2 procps bind9 bind9-dnsutils
bird2 chromium nodejs $NPM prometheus sqlite3 python3-jsonschema python3-jinja2 gdb"
BENCH="mosquitto mosquitto-clients socat haproxy curl python3-pymodbus python3-paho-mqtt"

what=${1:-check}
case $what in
build) PKGS=$BUILD ;;
demo) PKGS="$BUILD $DEMO" ;;
check) PKGS="$BUILD $CHECK" ;;
console) what=check PKGS="$BUILD $CHECK" ;;
bench) PKGS="$BUILD $BENCH" ;;
# libclang-rt-dev: libFuzzer and the sanitizer runtimes of the default clang.
fuzz) PKGS="$BUILD clang libclang-rt-dev" ;;
*)
    echo "usage: install-deps.sh [build|demo|check|console|bench|fuzz]" >&2
    exit 2
    ;;
esac

# INSTALL_DEPS_LIST=1: print the packages and install nothing (tests/fresh
# checks the names exist in each Debian release).
if [ "${INSTALL_DEPS_LIST:-}" = 1 ]; then
    echo $PKGS
    [ "$what" = check ] && exec "$(dirname "$0")/../firmware/install-deps.sh" qemu
    exit 0
fi

. "$(dirname "$0")/../tools/install-missing.sh"
# The mosquitto package may start a system broker on port 1883, and
# rabbitmq-server one on 5672/25672 with epmd on 4369; the tests and the demo
# use private brokers (and a private epmd) on their own ports, so leave them
# alone.
# shellcheck disable=SC2086
install_missing "install-deps ($what)" install-deps $PKGS

# make check also builds the sensor-node firmware and boots it in qemu.
if [ "$what" = check ]; then
    exec "$(dirname "$0")/../firmware/install-deps.sh" qemu
fi
