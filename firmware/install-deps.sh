#!/bin/sh
# Installs what the firmware build and its tests need and is missing, from
# Debian 12 packages.  Quiet when nothing is missing.  The top-level build
# calls it; it needs root (or sudo) only when something has to be installed.
#
#   install-deps.sh         cross compiler, newlib, cmocka, valgrind, and the
#                           integration test's socat / mbpoll / pymodbus
#   install-deps.sh qemu    also qemu-system-arm (make -C firmware qemu)
set -eu

PKGS="build-essential gcc-arm-none-eabi libnewlib-arm-none-eabi libcmocka-dev valgrind
socat mbpoll python3-pymodbus python3-serial"
if [ "${1:-}" = qemu ]; then
    PKGS="$PKGS qemu-system-arm"
fi

# INSTALL_DEPS_LIST=1: print the packages and install nothing.
if [ "${INSTALL_DEPS_LIST:-}" = 1 ]; then
    echo $PKGS
    exit 0
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "firmware/install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "firmware/install-deps: need root to run: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "firmware/install-deps: done"
