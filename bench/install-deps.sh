#!/bin/sh
# Installs what make bench needs beyond tests/install-deps.sh: the peers it
# measures emberd against (NUT 2.8 with generic_modbus, collectd 5.12) and
# gnuplot for the latency plot, all from Debian 12 packages.  Quiet when
# nothing is missing.  Needs root (or sudo) only when something is missing.
set -eu

PKGS="nut-server nut-client nut-modbus collectd-core gnuplot-nox
mosquitto mosquitto-clients python3-pymodbus python3-paho-mqtt binutils procps"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "bench/install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "bench/install-deps: need root to run: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# nut-server and collectd-core may enable system services; the bench runs its
# own instances on private ports and never touches those.
echo "bench/install-deps: done"
