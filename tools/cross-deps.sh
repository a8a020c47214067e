#!/bin/sh
# Installs what cross-building emberwatch for another Debian architecture and
# running its unit tests under qemu user mode need, from Debian 12 (bookworm)
# multiarch packages:
#
#   tools/cross-deps.sh [ARCH]      ARCH is a Debian architecture, arm64 by default
#
# Adds ARCH as a foreign architecture when it is not one yet.  Quiet when
# nothing is missing.  Needs root (or sudo) only when something has to be
# installed.  apt may be busy with another install: wait for its lock.
set -eu

ARCH=${1:-arm64}
case $ARCH in
arm64) TRIPLET=aarch64-linux-gnu ;;
armhf) TRIPLET=arm-linux-gnueabihf ;;
*) echo "cross-deps: unsupported architecture '$ARCH' (arm64, armhf)" >&2; exit 2 ;;
esac

# The cross compiler and the cross pkg-config (pkgconf:ARCH ships
# TRIPLET-pkg-config), the target's libraries with their .pc files, and qemu
# to run the target's unit tests on this machine.
PKGS="crossbuild-essential-$ARCH pkgconf:$ARCH qemu-user-static
libmodbus-dev:$ARCH libmosquitto-dev:$ARCH libgpiod-dev:$ARCH libcjson-dev:$ARCH
libinih-dev:$ARCH libsqlite3-dev:$ARCH libsystemd-dev:$ARCH libldns-dev:$ARCH libmicrohttpd-dev:$ARCH libcmocka-dev:$ARCH"

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    SUDO="need-root"
fi
APT="apt-get -o DPkg::Lock::Timeout=600"

need_root() {
    if [ "$SUDO" = need-root ]; then
        echo "cross-deps: need root to run: $*" >&2
        exit 1
    fi
}

added=""
if [ "$(dpkg --print-architecture)" != "$ARCH" ] &&
    ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
    need_root "dpkg --add-architecture $ARCH"
    echo "cross-deps: dpkg --add-architecture $ARCH"
    $SUDO dpkg --add-architecture "$ARCH"
    added=1
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    need_root "apt-get install$missing"
    echo "cross-deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO $APT update -qq
    # libldns-dev 1.8.3-1+b1 (Debian 12) ships a generated HTML file that
    # differs between architectures, so its :arm64 copy cannot be unpacked
    # beside the host's (dpkg: "trying to overwrite shared ... README-Travis_8md.html").
    # Only documentation is concerned: let the foreign copy overwrite it.
    # shellcheck disable=SC2086
    $SUDO $APT install -y -qq --no-install-recommends -o Dpkg::Options::=--force-overwrite $missing >/dev/null
elif [ -n "$added" ]; then
    $SUDO $APT update -qq
fi

command -v "$TRIPLET-gcc" >/dev/null && command -v "$TRIPLET-pkg-config" >/dev/null || {
    echo "cross-deps: $TRIPLET-gcc or $TRIPLET-pkg-config still missing" >&2
    exit 1
}
