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

. "$(dirname "$0")/../tools/install-missing.sh"
# shellcheck disable=SC2086
install_missing firmware/install-deps firmware/install-deps $PKGS
