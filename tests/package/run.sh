#!/bin/sh
# tests/package/run.sh - the Debian package on a fresh system.
#
# Meant to run as root in a fresh Debian 12/13 (or Raspberry Pi OS) chroot or
# container, from the top of the source tree, after the make check
# dependencies are installed (tests/install-deps.sh: mosquitto and
# mosquitto-clients are used here).  It:
#   1. builds the package (make deb; its build dependencies are installed
#      by debian/install-build-deps.sh),
#   2. installs it with apt, checks files, conffiles, the user and groups,
#   3. checks emberd -n and ember-drain -n with the packaged configurations,
#   4. starts emberd as the unit would (a chroot has no systemd): as user
#      emberwatch, with /var/lib/emberwatch and /run/emberwatch made for it
#      as StateDirectory=/RuntimeDirectory= would, on a copy of the packaged
#      emberd.conf with a private mosquitto's port on 127.0.0.1 (and the
#      board's GPIO chip and watchdog left out: a chroot has neither), and
#      waits for its retained status "online",
#   5. stops it by PID (status "offline" follows), purges the package and
#      checks nothing of it is left.
# Exits 0 when every check passed.  SKIP_BUILD=1 uses the .deb already in
# build/deb/.
set -eu

cd "$(dirname "$0")/../.."
TOP=$(pwd)
ARCH=$(dpkg --print-architecture)
T=$(mktemp -d /tmp/ember-pkg.XXXXXX)
chmod 755 "$T"
FAILS=0
BROKER_PID=""
EMBERD_PID=""

log() { echo "[package] $*"; }
ok() { log "ok: $*"; }
fail() { log "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION CMD...
    d=$1
    shift
    if "$@" >"$T/check.out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/    /' "$T/check.out"; fi
}
stop_pid() { # stop_pid PID: TERM, up to 10 s, then KILL
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    stop_pid "$EMBERD_PID"
    stop_pid "$BROKER_PID"
    [ -n "${SUB_PID:-}" ] && stop_pid "$SUB_PID"
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_for() { # wait_for SECONDS CMD...: polls every 100 ms
    n=$(($1 * 10))
    shift
    while ! "$@" >/dev/null 2>&1; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.1
    done
}

[ "$(id -u)" -eq 0 ] || { echo "tests/package/run.sh: run as root (in a chroot or container)" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive

# 1. Build.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    make deb >"$T/build.log" 2>&1 || { tail -n 60 "$T/build.log"; fail "make deb"; exit 1; }
    ok "make deb"
    grep -E '^[EW]: ' build/deb/lintian-"$ARCH".txt && fail "lintian errors or warnings" || ok "lintian: no error or warning"
fi
DEB=$(ls build/deb/emberwatch_*_"$ARCH".deb | tail -n 1)
[ -f "$DEB" ] || { fail "no build/deb/emberwatch_*_$ARCH.deb"; exit 1; }

# 2. Install.
apt-get -o DPkg::Lock::Timeout=600 install -y -q "./$DEB" >"$T/install.log" 2>&1 ||
    { tail -n 40 "$T/install.log"; fail "apt install ./$DEB"; exit 1; }
ok "apt install ./$DEB"
for f in /usr/sbin/emberd /usr/sbin/ember-drain /usr/bin/emberctl /usr/bin/ember-sim \
    /usr/share/emberwatch/profiles/xy-md02.ini /usr/share/emberwatch/boards/pi5.conf \
    /usr/share/man/man8/emberd.8.gz /usr/share/man/man5/emberd.conf.5.gz \
    /lib/systemd/system/emberd.service /lib/systemd/system/ember-drain.service \
    /usr/lib/sysusers.d/emberwatch.conf /usr/lib/tmpfiles.d/emberwatch.conf \
    /lib/udev/rules.d/60-emberwatch.rules /etc/logrotate.d/emberwatch; do
    check "installed $f" test -e "$f"
done
check "conffiles: /etc/emberwatch/emberd.conf, ember-drain.conf" \
    sh -c "dpkg-query -W -f='\${Conffiles}' emberwatch | grep -q ' /etc/emberwatch/emberd.conf ' &&
           dpkg-query -W -f='\${Conffiles}' emberwatch | grep -q ' /etc/emberwatch/ember-drain.conf '"
check "system user emberwatch" sh -c 'getent passwd emberwatch | cut -d: -f3 | { read u; [ "$u" -lt 1000 ]; }'
check "... in groups dialout and gpio" sh -c 'id -nG emberwatch | tr " " "\n" | grep -qx dialout &&
                                             id -nG emberwatch | tr " " "\n" | grep -qx gpio'
check "emberd.service: User=emberwatch, StateDirectory= and RuntimeDirectory=emberwatch" \
    sh -c 'grep -qx User=emberwatch /lib/systemd/system/emberd.service &&
           grep -qx StateDirectory=emberwatch /lib/systemd/system/emberd.service &&
           grep -qx RuntimeDirectory=emberwatch /lib/systemd/system/emberd.service &&
           grep -qx "ExecStart=/usr/sbin/emberd -c /etc/emberwatch/emberd.conf" /lib/systemd/system/emberd.service'

# 3. The packaged configurations.
check "emberd -n with the packaged /etc/emberwatch/emberd.conf" emberd -n
check "ember-drain -n with the packaged /etc/emberwatch/ember-drain.conf" ember-drain -n
if command -v logrotate >/dev/null; then
    check "logrotate reads /etc/logrotate.d/emberwatch" logrotate -d /etc/logrotate.d/emberwatch
fi

# 4. emberd as the unit runs it.
for d in /var/lib/emberwatch /run/emberwatch; do
    install -d -o emberwatch -g emberwatch -m 0750 "$d"
done
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
       echo 28883)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n' "$PORT" >"$T/mosquitto.conf"
mosquitto -c "$T/mosquitto.conf" >"$T/broker.log" 2>&1 &
BROKER_PID=$!
wait_for 10 grep -q running "$T/broker.log" || { cat "$T/broker.log"; fail "mosquitto did not start"; exit 1; }
mkdir -p "$T/boards"
board=$(sed -n 's/^board *= *\([^ ;]*\).*/\1/p' /etc/emberwatch/emberd.conf)
grep -v -e '^gpio_chip' -e '^watchdog' "/usr/share/emberwatch/boards/$board.conf" >"$T/boards/$board.conf"
sed -e "s/^port *=.*/port = $PORT/" -e "s|^\[agent\]|[agent]\nboard_dir = $T/boards|" \
    /etc/emberwatch/emberd.conf >"$T/emberd.conf"
chmod 644 "$T/emberd.conf" "$T/boards/$board.conf"
site=$(sed -n 's/^site *= *\([^ ;]*\).*/\1/p' /etc/emberwatch/emberd.conf)
id=$(sed -n 's/^id *= *\([^ ;]*\).*/\1/p' /etc/emberwatch/emberd.conf)
STATUS=emberwatch/$site/$id/status
mosquitto_sub -h 127.0.0.1 -p "$PORT" -t "$STATUS" -v >"$T/sub.out" 2>&1 &
SUB_PID=$!
setpriv --reuid=emberwatch --regid=emberwatch --init-groups /usr/sbin/emberd -c "$T/emberd.conf" \
    >"$T/emberd.log" 2>&1 &
EMBERD_PID=$!
if wait_for 15 grep -qx "$STATUS online" "$T/sub.out"; then
    ok "emberd (user emberwatch) publishes $STATUS online"
else
    fail "no $STATUS online"; sed 's/^/    /' "$T/emberd.log"
fi
check "emberd runs as emberwatch" sh -c "[ \"\$(stat -c %U /proc/$EMBERD_PID)\" = emberwatch ]"
check "its journal is /var/lib/emberwatch/journal.db, the user's" \
    sh -c '[ "$(stat -c %U /var/lib/emberwatch/journal.db)" = emberwatch ]'
check "its control socket answers: emberctl status" emberctl status
stop_pid "$EMBERD_PID"
EMBERD_PID=""
check "a clean stop publishes offline" wait_for 5 grep -qx "$STATUS offline" "$T/sub.out"
stop_pid "$SUB_PID"
SUB_PID=""
stop_pid "$BROKER_PID"
BROKER_PID=""

# 5. Purge.
apt-get -o DPkg::Lock::Timeout=600 purge -y -q emberwatch >"$T/purge.log" 2>&1 ||
    { tail -n 40 "$T/purge.log"; fail "apt purge emberwatch"; }
for f in /usr/sbin/emberd /usr/share/emberwatch /etc/emberwatch /var/lib/emberwatch \
    /lib/udev/rules.d/60-emberwatch.rules /etc/logrotate.d/emberwatch; do
    check "purged: $f" test ! -e "$f"
done

if [ "$FAILS" -eq 0 ]; then log "passed"; else log "$FAILS check(s) failed"; fi
[ "$FAILS" -eq 0 ]
