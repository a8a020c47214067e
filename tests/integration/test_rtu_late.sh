#!/bin/bash
# Late RTU replies: an RS485 device that answers correctly but long after the
# timeout must never have its reply taken for the answer to a later request.
# RTU frames carry no transaction id, so nothing in a stale reply to the
# block at 0x0001 tells it from the answer to the block at 0x0100: both are
# one input register.  A hostile peer (python3-serial on a socat pty pair)
# answers emberd (timeout 300 ms) 610-900 ms late, then 900-1080 ms late,
# then on time again.  No reading may ever be published good with the other
# block's value, the peer must never have sent a reply after a newer request
# (the line is kept silent for 4x the timeout after a failed request), the
# late phases must read stale/comms_lost, and both sensors come back good.
. "$(dirname "$0")/lib.sh"

P=emberwatch/lab/a1/sensor

start_broker
socat_pair "$T/rtu-peer" "$T/rtu-agent"
echo none >"$T/peer.ctl"
start_bg peer $PY "$TOP/tests/integration/rtu_late_peer.py" --port "$T/rtu-peer" \
    --ctl "$T/peer.ctl" 0x0001=300 0x0100=700
PEER_PID=$LAST_PID
wait_until 10 log_has "$T/peer.log" "^ready" || die "the RTU peer did not start"

cat >"$T/two-blocks.ini" <<'EOF'
# Two blocks of the same size and table, far enough apart to be read apart.
[profile]
name = two-blocks

[point lo]
table = input
address = 0x0001
type = int16
scale = 0.1
unit = C

[point hi]
table = input
address = 0x0100
type = int16
scale = 0.1
unit = C
EOF

write_conf "$T/emberd.conf" <<EOF
[bus rtu]
type = rtu
device = $T/rtu-agent
timeout = 300ms

[device room]
bus = rtu
profile = $T/two-blocks.ini
interval = 500ms

[sensor lo]
device = room
point = lo

[sensor hi]
device = room
point = hi
EOF
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"

# good_value_since MARK SENSOR VALUE: a good reading of VALUE after MARK.
good_value_since() {
    tail -n +$(($1 + 1)) "$T/rec.rec" | grep " $P/$2 " |
        grep -q "\"value\":$3,.*\"quality\":\"good\""
}
# late_replies: how many delayed replies the peer has sent so far.
late_replies() {
    local n
    n=$(grep '^reply ' "$T/peer.log" | tail -n 1 | sed -n 's/.*| late=\([0-9]*\) .*/\1/p')
    echo "${n:-0}"
}
late_at_least() { [ "$(late_replies)" -ge "$1" ]; }
wait_late() { # wait_late SECONDS N: until the peer has sent N more late replies
    wait_until "$1" late_at_least $(($(late_replies) + $2))
}

check "lo reads 30 good" wait_until 10 good_value_since 0 lo 30
check "hi reads 70 good" wait_until 10 good_value_since 0 hi 70

# The checks on what was published come after the run, so that a failing
# run still reports its figures.
m1=$(rec_mark rec)
echo "late 610 900" >"$T/peer.ctl"
check "replies 610-900 ms late: the peer sent 16 of them" wait_late 60 16
m2=$(rec_mark rec)
echo "late 900 1080" >"$T/peer.ctl"
check "replies 900-1080 ms late: the peer sent 12 of them" wait_late 60 12
m3=$(rec_mark rec)
echo none >"$T/peer.ctl"
wait_until 15 good_value_since "$m3" lo 30
wait_until 15 good_value_since "$m3" hi 70
wait_until 10 bash -c "[ \$(tail -n +$((m3 + 1)) '$T/rec.rec' | grep -c ' $P/hi ') -ge 6 ]"

# swapped.py REC PREFIX [MARK]: every reading (after line MARK): a good one
# carries its own block's value.
cat >"$T/swapped.py" <<'EOF'
import json, sys
want = {"lo": 30.0, "hi": 70.0}
bad = good = 0
for n, line in enumerate(open(sys.argv[1]), 1):
    if len(sys.argv) > 3 and n <= int(sys.argv[3]):
        continue
    f = line.rstrip("\n").split(" ", 3)
    if len(f) < 4 or not f[2].startswith(sys.argv[2] + "/"):
        continue
    name = f[2].rsplit("/", 1)[1]
    m = json.loads(f[3])
    if name in want and m.get("quality") == "good":
        good += 1
        if m.get("value") != want[name]:
            bad += 1
            print("swapped: %s" % line.strip())
print("%d good readings, %d with the other block's value" % (good, bad))
sys.exit(1 if bad else 0)
EOF
log "whole run: $($PY "$T/swapped.py" "$T/rec.rec" "$P" | tail -n 1)"
log "back on time: $($PY "$T/swapped.py" "$T/rec.rec" "$P" "$m3" | tail -n 1)"
log "peer: $(grep '^reply ' "$T/peer.log" | tail -n 1 | sed 's/.*| //')"
check "no good reading ever carried the other block's value" \
    $PY "$T/swapped.py" "$T/rec.rec" "$P"
check "the peer never sent a reply after a newer request had arrived" \
    bash -c "! grep -q ' crossed=1 ' '$T/peer.log'"
# lost_between FROM TO SENSOR: SENSOR read stale or comms_lost between the marks.
lost_between() {
    sed -n "$(($1 + 1)),$2p" "$T/rec.rec" | grep -qE " $P/$3 .*\"quality\":\"(stale|comms_lost)\""
}
check "replies 610-900 ms late: lo reads stale or comms_lost" lost_between "$m1" "$m2" lo
check "replies 610-900 ms late: hi reads stale or comms_lost" lost_between "$m1" "$m2" hi
check "replies 900-1080 ms late: lo reads stale or comms_lost" lost_between "$m2" "$m3" lo
check "replies 900-1080 ms late: hi reads stale or comms_lost" lost_between "$m2" "$m3" hi
check "on time again: lo recovers to 30 good" good_value_since "$m3" lo 30
check "on time again: hi recovers to 70 good" good_value_since "$m3" hi 70
check "emberd is still running" kill -0 "$EMBERD_PID"
check "the peer is still running" kill -0 "$PEER_PID"
finish
