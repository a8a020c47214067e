#!/bin/sh
# Installs whatever the build, the tests and the demo need and is missing,
# from Debian 12 / Raspberry Pi OS (bookworm) packages.  Quiet when nothing
# is missing.  Needs root (or sudo) only when something has to be installed.
set -eu

PKGS="build-essential pkg-config
libmodbus-dev libmosquitto-dev libgpiod-dev libcjson-dev libinih-dev libsqlite3-dev
libsystemd-dev libcmocka-dev
mosquitto mosquitto-clients socat mbpoll haproxy curl
python3-pymodbus python3-serial python3-serial-asyncio python3-paho-mqtt
valgrind openssl rabbitmq-server faketime iproute2"
# "install-deps.sh fuzz" (make fuzz) also wants clang with its libFuzzer and
# sanitizer runtimes; make check does not (it replays the corpora with gcc).
if [ "${1:-}" = fuzz ]; then
    PKGS="$PKGS clang libclang-rt-dev"
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-deps: need root to run: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The mosquitto package may start a system broker on port 1883, and
# rabbitmq-server one on 5672/25672 with epmd on 4369; the tests and the demo
# use private brokers (and a private epmd) on their own ports, so leave them
# alone.
echo "install-deps: done"
