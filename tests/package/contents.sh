#!/bin/sh
# tests/package/contents.sh DEB ARCH - checks a built emberwatch package
# without installing it: Architecture ARCH; exactly the expected files (the
# programs, every profile in agent/profiles, every board in boards/, every
# man page in agent/man, the example notifiers, units, conffiles and system
# integration files); the
# conffiles; and each program an ELF executable for ARCH (readelf's Machine:
# AArch64 for arm64, Advanced Micro Devices X86-64 for amd64).
# make deb-arm64 runs it on the arm64 package.
set -eu
DEB=$1
ARCH=$2
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/ember-contents.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0
ok() { echo "[contents] ok: $*"; }
fail() { echo "[contents] FAIL: $*"; FAILS=$((FAILS + 1)); }

case $ARCH in
arm64) machine=AArch64 ;;
amd64) machine="Advanced Micro Devices X86-64" ;;
armhf) machine=ARM ;;
*) echo "contents.sh: no ELF machine known for $ARCH" >&2; exit 2 ;;
esac

a=$(dpkg-deb -f "$DEB" Architecture)
[ "$a" = "$ARCH" ] && ok "Architecture: $a" || fail "Architecture: $a, not $ARCH"

{
    printf '%s\n' /usr/sbin/emberd /usr/sbin/ember-drain /usr/bin/emberctl /usr/bin/ember-sim \
        /etc/emberwatch/emberd.conf /etc/emberwatch/ember-drain.conf /etc/logrotate.d/emberwatch \
        /lib/systemd/system/emberd.service /lib/systemd/system/ember-drain.service \
        /lib/udev/rules.d/60-emberwatch.rules /usr/lib/sysusers.d/emberwatch.conf \
        /usr/lib/tmpfiles.d/emberwatch.conf \
        /usr/share/doc/emberwatch/changelog.gz /usr/share/doc/emberwatch/copyright \
        /usr/lib/emberwatch/notify/ember-mail /usr/lib/emberwatch/notify/ember-webhook
    for f in agent/profiles/*.ini; do echo "/usr/share/emberwatch/profiles/${f##*/}"; done
    for f in boards/*.conf; do echo "/usr/share/emberwatch/boards/${f##*/}"; done
    echo /usr/share/emberwatch/emberwatch-alerts.yml
    for f in agent/man/*.[158]; do echo "/usr/share/man/man${f##*.}/${f##*/}.gz"; done
} | sed 's|^/lib/|/usr/lib/|' | sort >"$T/expected"
# /lib and /usr/lib are one directory (merged /usr); Debian 13 wants /usr/lib.
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ {print $6}' | sed -e 's|^\./|/|' -e 's|^/lib/|/usr/lib/|' | sort >"$T/actual"
if diff -u "$T/expected" "$T/actual" >"$T/diff"; then
    ok "file list: $(wc -l <"$T/actual") files, as expected"
else
    fail "file list (- expected, + in the package):"
    sed -n 's/^\([-+]\/\)/    \1/p' "$T/diff"
fi

dpkg-deb -e "$DEB" "$T/control"
printf '/etc/emberwatch/ember-drain.conf\n/etc/emberwatch/emberd.conf\n/etc/logrotate.d/emberwatch\n' >"$T/conf.expected"
sort "$T/control/conffiles" | diff -u "$T/conf.expected" - >/dev/null &&
    ok "conffiles: emberd.conf, ember-drain.conf, logrotate.d/emberwatch" ||
    fail "conffiles: $(tr '\n' ' ' <"$T/control/conffiles")"

dpkg-deb -x "$DEB" "$T/root"
for p in usr/sbin/emberd usr/sbin/ember-drain usr/bin/emberctl usr/bin/ember-sim; do
    m=$(readelf -h "$T/root/$p" 2>/dev/null | sed -n 's/^ *Machine: *//p')
    t=$(readelf -h "$T/root/$p" 2>/dev/null | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')
    if [ "$m" = "$machine" ] && { [ "$t" = DYN ] || [ "$t" = EXEC ]; }; then
        ok "/$p: ELF $t, $m"
    else
        fail "/$p: ELF '$t' '$m', not $machine"
    fi
    readelf -d "$T/root/$p" | grep -q 'BIND_NOW' && ok "/$p: linked with -z now" || fail "/$p: no BIND_NOW"
done

# Run the packaged emberd -n on the packaged config and data: natively, or
# for arm64 under qemu-aarch64-static with this machine's arm64 libraries
# (make deb-arm64's build dependencies); skipped when neither is there.
run=""
how=""
if [ "$ARCH" = "$(dpkg --print-architecture)" ]; then
    how=native
elif [ "$ARCH" = arm64 ] && command -v qemu-aarch64-static >/dev/null && [ -e /lib/ld-linux-aarch64.so.1 ]; then
    run="qemu-aarch64-static -L /"
    how=qemu-aarch64-static
fi
if [ -n "$how" ]; then
    sed "s|^\[agent\]|[agent]\nprofile_dir = $T/root/usr/share/emberwatch/profiles\nboard_dir = $T/root/usr/share/emberwatch/boards|" \
        "$T/root/etc/emberwatch/emberd.conf" >"$T/emberd.conf"
    if out=$($run "$T/root/usr/sbin/emberd" -n -c "$T/emberd.conf" 2>&1); then
        ok "packaged emberd -n on the packaged config ($how): ${out##*: }"
    else
        fail "packaged emberd -n: $out"
    fi
else
    echo "[contents] skip: running the $ARCH emberd (no qemu-aarch64-static or arm64 libraries)"
fi

[ "$FAILS" -eq 0 ] && echo "[contents] $DEB: passed" || echo "[contents] $DEB: $FAILS check(s) failed"
[ "$FAILS" -eq 0 ]
