#!/bin/bash
# systemd integration: the unit file is valid; emberd sends READY=1 once it
# runs, pings WATCHDOG=1 at half the watchdog interval and says STOPPING=1 on
# a clean stop, using a recorder in place of systemd's notify socket.
. "$(dirname "$0")/lib.sh"

sed -e "s|@SBINDIR@|$EMBER_BIN|g" -e "s|@SYSCONFDIR@|/etc|g" "$TOP/agent/systemd/emberd.service.in" >"$T/emberd.service"
if systemd-analyze --help 2>/dev/null | grep -q -- "--man"; then
    systemd-analyze verify --man=no "$T/emberd.service" >"$T/verify.log" 2>&1
    check "unit file verifies" test $? -eq 0
fi
check "unit is Type=notify" grep -qx "Type=notify" "$T/emberd.service"
check "unit checks the config first" grep -qx "ExecStartPre=$EMBER_BIN/emberd -n -c /etc/emberwatch/emberd.conf" "$T/emberd.service"
check "unit has the watchdog on" grep -qE "^WatchdogSec=[0-9]+s$" "$T/emberd.service"
check "unit creates the runtime and state directories" \
    grep -qx "RuntimeDirectory=emberwatch" "$T/emberd.service"
check "state directory matches the default [agent] journal" grep -qx "StateDirectory=emberwatch" "$T/emberd.service"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
write_single_conf "$T/emberd.conf" "$SIM_PORT"
start_bg notify $PY "$TOP/tests/integration/notify_rec.py" "$T/notify.sock" "$T/notify.rec"
wait_until 10 log_has "$T/notify.rec" "# bound" || die "notify recorder did not start"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 start_emberd emberd "$T/emberd.conf"
check "READY=1 sent" wait_until 10 log_has "$T/notify.rec" " READY=1$"
# 400 ms watchdog: pings every 200 ms, so three arrive well within 5 s.
check "watchdog pinged" wait_until 5 bash -c "[ \$(grep -c ' WATCHDOG=1$' '$T/notify.rec') -ge 3 ]"
kill -TERM "$EMBERD_PID"
wait "$EMBERD_PID"
check "STOPPING=1 sent on a clean stop" log_has "$T/notify.rec" " STOPPING=1$"
check "on a terminal (no JOURNAL_STREAM) lines read 'emberd: ...'" \
    bash -c "grep -q '^emberd: running:' '$T/emberd.log' && ! grep -q '^<[0-9]>' '$T/emberd.log'"

# Under the journal (systemd sets JOURNAL_STREAM to stderr's device:inode)
# every line starts with its sd-daemon priority, so journalctl -p works; a
# critical alarm is logged at crit (<2>), a warning alarm at warning (<4>).
: >"$T/emberj.log"
write_room_conf "$T/emberj.conf" "$SIM_PORT"
sed -i "s|$T/journal.db|$T/journal-j.db|; s|$T/ctl.sock|$T/ctl-j.sock|" "$T/emberj.conf"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/emberj.log") start_emberd emberj "$T/emberj.conf"
check "info under the journal: <6>" log_has "$T/emberj.log" "^<6>running: "
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "critical alarm at crit: <2>" \
    wait_until 10 log_has "$T/emberj.log" "^<2>critical: alarm room-hot: critical activated"
check "warning alarm at warning: <4>" \
    wait_until 10 log_has "$T/emberj.log" "^<4>warning: alarm room-warm: warning activated"
echo "set xy-md02.temperature 24" >"$T/sim.ctl"
check "every line under the journal has a priority" \
    bash -c "! grep -qv '^<[0-9]>' '$T/emberj.log'"
stop_pid "$EMBERD_PID"
# A JOURNAL_STREAM that is not stderr's (inherited by a child whose stderr
# is elsewhere) leaves the plain format.
JOURNAL_STREAM=1:1 start_emberd emberk "$T/emberj.conf"
check "JOURNAL_STREAM of another file: plain lines" \
    bash -c "grep -q '^emberd: running:' '$T/emberk.log' && ! grep -q '^<[0-9]>' '$T/emberk.log'"
stop_pid "$EMBERD_PID"

# A hung bus worker (fault injection) must stop the pings, so systemd
# restarts emberd; the main loop itself keeps running.
: >"$T/notify.rec"
need_fault_build emberd EMBERD_FAULT
EMBERD_FAULT=hang-bus:t NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 \
    start_emberd emberd2 "$T/emberd.conf"
check "pings while the worker is within its limit" \
    wait_until 5 bash -c "[ \$(grep -c ' WATCHDOG=1$' '$T/notify.rec') -ge 3 ]"
check "hung worker detected" wait_until 20 log_has "$T/emberd2.log" "withholding the watchdog ping"
n=$(grep -c ' WATCHDOG=1$' "$T/notify.rec")
! wait_until 2 bash -c "[ \$(grep -c ' WATCHDOG=1$' '$T/notify.rec') -gt $n ]"
check "no pings while a worker is hung" test $? -eq 0
check "STATUS tells systemd why" log_has "$T/notify.rec" "STATUS=bus t worker hung"
check "the main loop still answers" "$EMBER_BIN/emberctl" -s "$T/ctl.sock" status
finish
