#!/bin/sh
# Installs what `make deb` (and, with "arm64", `make deb-arm64`) needs and is
# missing: debhelper, lintian, devscripts and the library headers; for arm64
# the cross compiler and the :arm64 -dev libraries.  Quiet when nothing is
# missing.  Needs root (or sudo) only when something has to be installed.
set -eu

LIBS="libmodbus-dev libmosquitto-dev libgpiod-dev libcjson-dev libinih-dev
libsqlite3-dev libsystemd-dev libldns-dev libmicrohttpd-dev"
PKGS="build-essential pkg-config debhelper devscripts lintian fakeroot file $LIBS"
if [ "${1:-}" = arm64 ]; then
    PKGS="$PKGS crossbuild-essential-arm64"
    for l in $LIBS pkg-config; do PKGS="$PKGS $l:arm64"; done
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    SUDO="need-root"
fi
# Another apt run (a second build, the tests' own deps) may hold the lock.
APT="apt-get -o DPkg::Lock::Timeout=600"

if [ "${1:-}" = arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    [ "$SUDO" = need-root ] && { echo "install-build-deps: need root to add arm64" >&2; exit 1; }
    $SUDO dpkg --add-architecture arm64
    $SUDO $APT update -qq
fi

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-build-deps: installing:$missing"
[ "$SUDO" = need-root ] && { echo "install-build-deps: need root to run: apt-get install$missing" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
$SUDO $APT update -qq
# libldns-dev 1.8.3-1+b1 (Debian 12) ships a generated HTML file that
# differs between architectures, so its :arm64 copy cannot be unpacked
# beside the host's (dpkg: "trying to overwrite shared ... README-Travis_8md.html").
# Only documentation is concerned: let the foreign copy overwrite it.
FORCE=""
[ "${1:-}" = arm64 ] && FORCE="-o Dpkg::Options::=--force-overwrite"
# shellcheck disable=SC2086
$SUDO $APT install -y -qq --no-install-recommends $FORCE $missing >/dev/null
echo "install-build-deps: done"
