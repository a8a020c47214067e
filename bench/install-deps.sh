#!/bin/sh
# Installs what make bench needs beyond tests/install-deps.sh: the peers it
# measures emberd against (NUT 2.8 with generic_modbus, collectd 5.12) and
# gnuplot for the latency plot, python3-dnspython (the drain_dnsbgp phase's
# DNS reader), bind9 and bird2 (its servers), chromium, nodejs and npm (the
# console phase; its npm packages come from agent/console's lockfile) and
# rabbitmq-server (the failover_rmq phase's 3-node cluster), all from
# Debian 12 packages.  Quiet when
# nothing is missing.  Needs root (or sudo) only when something is missing.
set -eu

# A nodejs from elsewhere brings its own npm (tests/install-deps.sh).
NPM=npm
if command -v npm >/dev/null 2>&1 &&
    ! dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q "install ok installed"; then
    NPM=""
fi
PKGS="nut-server nut-client nut-modbus collectd-core gnuplot-nox
mosquitto mosquitto-clients python3-pymodbus python3-paho-mqtt python3-dnspython
bind9 bind9-dnsutils bird2 binutils procps iproute2 chromium nodejs $NPM rabbitmq-server"

. "$(dirname "$0")/../tools/install-missing.sh"
# nut-server, collectd-core and rabbitmq-server may enable system services;
# the bench runs its own instances on private ports and never touches those.
# shellcheck disable=SC2086
install_missing bench/install-deps bench/install-deps $PKGS
