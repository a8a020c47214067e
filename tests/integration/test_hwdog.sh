#!/bin/bash
# The board's hardware watchdog ([board] watchdog, watchdog_timeout): emberd
# opens the device, sets its timeout, keeps it alive from the main loop
# while the loop is healthy, withholds the keepalive while a bus worker is
# hung (so the board resets), and writes the magic 'V' on a clean stop.
# The "device" is a regular file: it takes no watchdog ioctls, so emberd
# says so once and keeps it alive by writing a NUL byte each time.
. "$(dirname "$0")/lib.sh"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT"
: >"$T/watchdog"
cat >"$T/board.conf" <<EOB
[board]
name = wdboard
description = bench board with a stand-in watchdog device
watchdog = $T/watchdog
watchdog_timeout = 1s
EOB
CONF_AGENT_EXTRA=("board = $T/board.conf")
write_single_conf "$T/emberd.conf" "$SIM_PORT"

nuls() { tr -cd '\000' <"$T/watchdog" | wc -c; }
grows() { # grows N: the keepalive count rises by N within 5 s
    local from
    from=$(nuls)
    wait_until 5 bash -c "[ \$(tr -cd '\\000' <'$T/watchdog' | wc -c) -ge $((from + $1)) ]"
}

start_emberd emberd "$T/emberd.conf"
check "a non-device is said once: keepalive by writing" \
    log_has "$T/emberd.log" "watchdog $T/watchdog: not a watchdog device .*keepalive by writing"
check "... once only" test "$(grep -c 'not a watchdog device' "$T/emberd.log")" -eq 1
# 1 s timeout: a keepalive every 333 ms.
check "keepalives while the loop is healthy" grows 4
check "nothing but keepalives while running" bash -c "[ \$(tr -d '\\000' <'$T/watchdog' | wc -c) -eq 0 ]"
kill -TERM "$EMBERD_PID"
wait "$EMBERD_PID"
check "clean stop: the magic close 'V' comes last" test "$(tail -c 1 "$T/watchdog")" = V
check "... logged" log_has "$T/emberd.log" "watchdog $T/watchdog: disarmed (magic close)"

# A hung bus worker: the keepalives stop (the board would reset), while the
# main loop itself still runs.
need_fault_build emberd EMBERD_FAULT
: >"$T/watchdog"
EMBERD_FAULT=hang-bus:t start_emberd emberd2 "$T/emberd.conf"
check "keepalives before the worker counts as hung" grows 2
check "hung worker: keepalive withheld, said once" \
    wait_until 20 log_has "$T/emberd2.log" "withholding the hardware watchdog's keepalive"
n=$(nuls)
! grows 1
check "no keepalive while the worker is hung" test $? -eq 0
log "keepalives before the hang: $n"
check "... once" test "$(grep -c "withholding the hardware watchdog" "$T/emberd2.log")" -eq 1
check "the main loop still answers" "$EMBER_BIN/emberctl" -s "$T/ctl.sock" status >/dev/null
stop_pid "$EMBERD_PID"

# A watchdog that cannot be opened is an error in the log; emberd still
# watches the room.
sed -i "s|^watchdog = .*|watchdog = $T/no-such-dir/watchdog|" "$T/board.conf"
start_emberd emberd3 "$T/emberd.conf"
check "unopenable watchdog: named in the log" \
    log_has "$T/emberd3.log" "watchdog $T/no-such-dir/watchdog (\[board\] watchdog): cannot open"
check "... and emberd runs without it" \
    log_has "$T/emberd3.log" "running without the hardware watchdog"
stop_pid "$EMBERD_PID"

# The key names a device by its absolute path.
sed -i "s|^watchdog = .*|watchdog = watchdog0|" "$T/board.conf"
"$EMBER_BIN/emberd" -n -c "$T/emberd.conf" 2>"$T/rel.err"
check "a relative watchdog path is a configuration error" test $? -eq 1
check "... naming board file:line" \
    grep -qF "$T/board.conf:4: [board] watchdog: 'watchdog0' is not an absolute path" "$T/rel.err"
finish
