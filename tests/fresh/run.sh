#!/bin/bash
# tests/fresh/run.sh [bookworm|trixie|all]: the README's commands on a fresh
# Debian machine.  For each suite: a minimal debootstrap chroot (minbase) in
# build/fresh/SUITE/root, unpacked from $FRESH_CACHE/SUITE-minbase.tgz
# (default build/fresh/; made with debootstrap --make-tarball on first use),
# a clone of this repository's
# committed HEAD in it, then, each bounded in time:
#
#   prereq   the README's prerequisite line:
#            apt-get update && apt-get install -y make git ca-certificates
#   demo     DEMO_SECONDS=$FRESH_DEMO_SECONDS make demo; the output must show a
#            critical alarm, zone b3's drain and dig's answer without the
#            room's address
#   check    make check
#   package  tests/package/run.sh, when the repository has it
#
# FRESH_PHASES="prereq demo check package" (the default) picks phases; two
# short ones check the harness itself: "nopkg" (plain make before any
# package: must stop naming pkg-config) and "names" (every package
# tests/install-deps.sh names exists in the suite: apt-get install -s).
#
# Each chroot runs in its own network namespace with only loopback, so "all"
# runs both suites in parallel without port clashes.  apt reaches the mirror
# through a socat relay: 127.0.1.80:80 in the namespace (deb.debian.org in
# the chroot's /etc/hosts) -> a unix socket -> deb.debian.org:80 from the
# host; npm (make check's npm ci in agent/console) reaches the npm registry
# the same way, 127.0.1.43:443 -> registry.npmjs.org:443 (TLS end to end;
# FRESH_NPM_HOST names another registry host).  The host's local CA
# certificates (/usr/local/share/ca-certificates, where a network that
# inspects TLS keeps its CA) are copied into the chroot before the
# prerequisite line, whose ca-certificates package adds them to the system
# store, as on a machine of that network.  The phase "console" (a short
# check of that path) runs make console-check and make browser only.
# /usr/sbin/policy-rc.d (exit 101) keeps package scripts from starting
# system brokers.  Mounts (proc, sys, dev, dev/pts, dev/shm), processes left
# in the chroot, the relay and the namespace are removed on exit.  Needs root,
# debootstrap, socat and iproute2 on the host.  Logs: build/fresh/SUITE/*.log.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
MIRROR_HOST=$(echo "$MIRROR" | sed -E 's|^[a-z]+://([^/:]+).*|\1|')
NPM_HOST=${FRESH_NPM_HOST:-registry.npmjs.org}
PHASES=${FRESH_PHASES:-prereq demo check package}
DEMO_SECONDS=${FRESH_DEMO_SECONDS:-130}
PREREQ='apt-get update && apt-get install -y make git ca-certificates'

# ---- all: each suite in its own process, in parallel -------------------------
if [ "${1:-all}" = all ]; then
    t0=$(date +%s)
    pids=()
    for s in bookworm trixie; do
        "$0" "$s" &
        pids+=($!)
    done
    trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait; exit 130' INT TERM
    rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    for s in bookworm trixie; do
        echo "== $s"
        cat "$TOP/build/fresh/$s/summary" 2>/dev/null
    done
    echo "fresh: all suites: $(($(date +%s) - t0)) s, $([ $rc = 0 ] && echo PASS || echo FAIL)"
    exit $rc
fi

SUITE=$1
case $SUITE in bookworm | trixie) ;; *)
    echo "usage: tests/fresh/run.sh [bookworm|trixie|all]" >&2
    exit 2
    ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "fresh: needs root (debootstrap, chroot, mount, ip netns)" >&2; exit 2; }
for c in debootstrap socat ip chroot timeout; do
    command -v "$c" >/dev/null || { echo "fresh: $c missing on the host" >&2; exit 2; }
done

D=$TOP/build/fresh/$SUITE
ROOT=$D/root
# FRESH_CACHE: where the minbase tarballs are kept between runs (a clean
# clone has no build/; CI keeps them outside the clone).
CACHE=${FRESH_CACHE:-$TOP/build/fresh}
TGZ=$CACHE/$SUITE-minbase.tgz
NS=emberfresh-$SUITE-$$
RELAY=$D/apt-relay.sock
NPM_RELAY=$D/npm-relay.sock
MOUNTS=(proc sys dev dev/pts dev/shm)
RELAY_PIDS=()
PHASE_PID=
T_START=$(date +%s)

say() { echo "[$SUITE] $*"; }
log_phase() { printf '%-12s %6s s  %s\n' "$1" "$2" "$3" >>"$D/summary"; }

mounted_below() { # prints mount points at or below $ROOT
    awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts
}

# Processes whose root is the chroot (a daemon a package or a test left).
kill_chroot_procs() {
    local p r pids=()
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        [ "$r" = "$ROOT" ] && pids+=("${p#/proc/}")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    say "stopping ${#pids[@]} process(es) left in the chroot: ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null
    sleep 2
    kill -KILL "${pids[@]}" 2>/dev/null
    sleep 0.5
}

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$PHASE_PID" ]; then
        kill -TERM "$PHASE_PID" 2>/dev/null
        sleep 1
    fi
    kill_chroot_procs
    local i m
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        m=$ROOT/${MOUNTS[$i]}
        mountpoint -q "$m" 2>/dev/null || continue
        timeout 20 umount "$m" 2>/dev/null || timeout 20 umount -l "$m" ||
            say "could not unmount $m"
    done
    for p in "${RELAY_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -f "$RELAY" "$NPM_RELAY"
    ip netns del "$NS" 2>/dev/null
    if [ -n "$(mounted_below)" ]; then
        say "still mounted below $ROOT:"
        mounted_below
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_phase NAME SECONDS COMMAND: COMMAND under bash in the chroot's
# namespace, output in $D/NAME.log; records the duration.
run_phase() {
    local name=$1 secs=$2 cmd=$3 t rc
    say "$name: $cmd (at most $secs s; log $D/$name.log)"
    t=$(date +%s)
    # In the background, so that a signal to this script runs its cleanup
    # at once (bash runs traps only between foreground commands).
    timeout --kill-after=30 "$secs" ip netns exec "$NS" \
        chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
        /bin/bash -c "cd /root/emberwatch && $cmd" </dev/null >"$D/$name.log" 2>&1 &
    PHASE_PID=$!
    wait "$PHASE_PID"
    rc=$?
    PHASE_PID=
    t=$(($(date +%s) - t))
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        log_phase "$name" "$t" "TIMEOUT after $secs s"
    else
        log_phase "$name" "$t" "exit $rc"
    fi
    say "$name: exit $rc after $t s"
    return $rc
}

fail() {
    say "FAIL: $*"
    if [ -n "${2:-}" ]; then
        # A test's own failure lines first (the tail is often another test's).
        grep -m 3 -A 12 -e '] FAIL: ' -e '^FAIL' "$2" | sed "s/^/[$SUITE]   /"
        tail -n 25 "$2" | sed "s/^/[$SUITE]   /"
    fi
    log_phase total "$(($(date +%s) - T_START))" FAIL
    exit 1
}

# ---- the chroot ---------------------------------------------------------------
mkdir -p "$D" "$CACHE"
: >"$D/summary"
[ -z "$(mounted_below)" ] || { echo "fresh: something is mounted below $ROOT; unmount it first" >&2; exit 2; }
rm -rf "$ROOT"

t=$(date +%s)
if [ ! -s "$TGZ" ]; then
    say "making $TGZ (debootstrap --make-tarball, first use)"
    rm -rf "$D/tarball-work"
    timeout 1800 debootstrap --variant=minbase --make-tarball="$TGZ.tmp" "$SUITE" "$D/tarball-work" \
        "$MIRROR" >"$D/make-tarball.log" 2>&1 || fail "debootstrap --make-tarball" "$D/make-tarball.log"
    mv "$TGZ.tmp" "$TGZ"
    rm -rf "$D/tarball-work"
fi
timeout 1200 debootstrap --variant=minbase --unpack-tarball="$TGZ" "$SUITE" "$ROOT" "$MIRROR" \
    >"$D/debootstrap.log" 2>&1 || fail "debootstrap" "$D/debootstrap.log"
log_phase debootstrap "$(($(date +%s) - t))" "ok"
say "debootstrap: $(($(date +%s) - t)) s"

mount -t proc proc "$ROOT/proc" &&
    mount -t sysfs sysfs "$ROOT/sys" &&
    mount --bind /dev "$ROOT/dev" &&
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$ROOT/dev/pts" &&
    mount -t tmpfs -o mode=1777,size=512m shm "$ROOT/dev/shm" || fail "mounting proc/sys/dev"

printf '#!/bin/sh\n# tests/fresh: no package starts a service in this chroot.\nexit 101\n' \
    >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n127.0.1.80 %s\n127.0.1.43 %s\n' \
    "$(hostname)" "$MIRROR_HOST" "$NPM_HOST" >"$ROOT/etc/hosts"
mkdir -p "$ROOT/usr/local/share/ca-certificates"
for c in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$c" ] && cp "$c" "$ROOT/usr/local/share/ca-certificates/"
done

# The network namespace and the mirror relay.
ip netns add "$NS" || fail "ip netns add $NS"
ip netns exec "$NS" ip link set lo up || fail "lo up in $NS"
rm -f "$RELAY"
socat "UNIX-LISTEN:$RELAY,fork,mode=600" "TCP:$MIRROR_HOST:80" 2>"$D/relay-host.log" &
RELAY_PIDS+=($!)
for _ in $(seq 100); do [ -S "$RELAY" ] && break; sleep 0.05; done
ip netns exec "$NS" socat TCP-LISTEN:80,bind=127.0.1.80,fork,reuseaddr "UNIX-CONNECT:$RELAY" \
    2>"$D/relay-ns.log" &
RELAY_PIDS+=($!)
rm -f "$NPM_RELAY"
socat "UNIX-LISTEN:$NPM_RELAY,fork,mode=600" "TCP:$NPM_HOST:443" 2>"$D/npm-relay-host.log" &
RELAY_PIDS+=($!)
for _ in $(seq 100); do [ -S "$NPM_RELAY" ] && break; sleep 0.05; done
ip netns exec "$NS" socat TCP-LISTEN:443,bind=127.0.1.43,fork,reuseaddr "UNIX-CONNECT:$NPM_RELAY" \
    2>"$D/npm-relay-ns.log" &
RELAY_PIDS+=($!)

# Exactly what is committed.
HEAD=$(git -C "$TOP" rev-parse HEAD) || fail "git rev-parse HEAD in $TOP"
[ -z "$(git -C "$TOP" status --porcelain --untracked-files=no)" ] ||
    say "note: uncommitted changes in $TOP are not tested (HEAD $HEAD is)"
git clone -q --no-hardlinks "$TOP" "$ROOT/root/emberwatch" >"$D/clone.log" 2>&1 &&
    git -C "$ROOT/root/emberwatch" checkout -q --detach "$HEAD" >>"$D/clone.log" 2>&1 ||
    fail "git clone" "$D/clone.log"
say "testing $HEAD"

# ---- the phases ---------------------------------------------------------------
for phase in $PHASES; do
    case $phase in
    prereq)
        run_phase prereq 900 "$PREREQ" || fail "the prerequisite line" "$D/prereq.log"
        ;;
    nopkg)
        run_phase nopkg 120 "make"
        grep -qE "not found \(Debian package pkg-config\)|missing pkg-config modules:" "$D/nopkg.log" ||
            fail "plain make without packages did not name what is missing" "$D/nopkg.log"
        grep -q "No such file" "$D/nopkg.log" && fail "plain make reached the compiler" "$D/nopkg.log"
        ;;
    names)
        run_phase names 300 'apt-get update -qq && for w in build demo check bench; do
            apt-get install -s --no-install-recommends $(INSTALL_DEPS_LIST=1 tests/install-deps.sh $w) \
                >/dev/null || { echo "names: install-deps.sh $w names a package this release lacks"; exit 1; }
            echo "names: $w: all found"; done' || fail "package names" "$D/names.log"
        ;;
    demo)
        run_phase demo $((DEMO_SECONDS + 1800)) "DEMO_SECONDS=$DEMO_SECONDS make demo" ||
            fail "make demo" "$D/demo.log"
        grep -qE "event +ALARM CRITICAL" "$D/demo.log" || fail "make demo showed no critical alarm" "$D/demo.log"
        grep -qE "drain/b3 +DRAIN" "$D/demo.log" || fail "make demo showed no drain of zone b3" "$D/demo.log"
        grep -qE "dig www\.demo\.test A +198\.51\.100\.4 +\(without" "$D/demo.log" ||
            fail "make demo showed no DNS answer without the room's address" "$D/demo.log"
        say "demo: $(grep -cE 'event +ALARM' "$D/demo.log") alarm events, zone b3 drained (HAProxy, DNS)"
        ;;
    check)
        run_phase check 5400 "make check" || fail "make check" "$D/check.log"
        ;;
    console)
        run_phase console 1800 "tests/install-deps.sh check && make console-check && make browser" ||
            fail "make console-check browser" "$D/console.log"
        ;;
    package)
        if [ -x "$ROOT/root/emberwatch/tests/package/run.sh" ]; then
            run_phase package 1800 "tests/package/run.sh" || fail "tests/package/run.sh" "$D/package.log"
        else
            say "package: no tests/package/run.sh at $HEAD; skipped"
            log_phase package 0 "skipped (no tests/package/run.sh)"
        fi
        ;;
    *) fail "unknown phase $phase" ;;
    esac
done
log_phase total "$(($(date +%s) - T_START))" PASS
say "PASS ($(($(date +%s) - T_START)) s)"
cat "$D/summary"
