#!/bin/sh
# debian/build.sh OUTDIR [ARCH] - make deb / make deb-arm64.
# Builds the binary package from a copy of the tree (dpkg-buildpackage writes
# its results next to the source directory, which must not be the checkout's
# parent), moves the .deb, .buildinfo and .changes into OUTDIR and runs
# lintian on them: any error fails the build; warnings and infos are printed
# and kept in OUTDIR/lintian-ARCH.txt (debian/README.lintian says why each
# remaining one is there), then tests/package/contents.sh checks the files
# and the binaries' ELF machine.  With ARCH, cross-builds (-a ARCH -B).
set -eu
out=$1
arch=${2:-$(dpkg --print-architecture)}
top=$(cd "$(dirname "$0")/.." && pwd)
case $out in /*) ;; *) out=$top/$out ;; esac
work=$out/src-$arch
rm -rf "$work"
mkdir -p "$work/emberwatch"
(cd "$top" && tar --exclude=./build --exclude=./.git --exclude='*/build' -cf - .) |
    tar -xf - -C "$work/emberwatch"
cd "$work/emberwatch"
# No test suite at build time (see debian/rules); at most 2 jobs.
export DEB_BUILD_OPTIONS="nocheck parallel=2"
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
    dpkg-buildpackage -us -uc -b
else
    dpkg-buildpackage -us -uc -a "$arch" -B
fi
cd "$work"
ver=$(dpkg-parsechangelog -l emberwatch/debian/changelog -S Version)
changes=emberwatch_${ver}_$arch.changes
mv ./*.deb ./*.buildinfo "$changes" "$out/"
cd "$out"
rm -rf "$work"
echo "== lintian $changes"
rc=0
lintian --fail-on error --info --display-info --pedantic "$changes" >"lintian-$arch.txt" 2>&1 || rc=$?
cat "lintian-$arch.txt"
[ "$rc" -eq 0 ] || { echo "lintian: errors in $changes" >&2; exit 1; }
ls -l "$out"/emberwatch_"${ver}"_"$arch".deb
"$top/tests/package/contents.sh" "$out/emberwatch_${ver}_$arch.deb" "$arch"
