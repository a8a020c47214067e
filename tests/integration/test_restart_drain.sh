#!/bin/bash
# A restart keeps the zone's drain request, on real processes: ember-sim ->
# emberd (zone b3, vote = 1, a critical high alarm) -> mosquitto ->
# ember-drain (hold_down 6 s) -> HAProxy.  The sensor goes to 50 C and
# drain/b3 says "drain"; emberd is killed -9 during the hold_down and started
# again, later stopped cleanly and started again.  Each time the zone comes
# back with its alarms: every drain/b3 it publishes still says "drain" with
# the request's own seq (never a fabricated "none", never seq 0), emberctl
# status shows b3 drain, ember-drain's hold_down is not cancelled and the
# site drains.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
# One XY-MD02 (sensor t) and, in zone b3 with vote = 1, a critical alarm
# above 45 C.
write_single_conf "$T/emberd.conf" "$SIM_PORT"
cat >>"$T/emberd.conf" <<EOC

[zone b3]
vote = 1

[alarm room-hot]
zone = b3
sensor = t
kind = high
severity = critical
setpoint = 45
EOC

start_backends dc1-web dc2-web
start_haproxy web:dc1-web,dc2-web
write_lab_conf 6s <<EOC
agents = a1
zones = b3
vote = 1
EOC

P=emberwatch/lab
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
check "emberd announces zone b3's request (none)" rec_wait 10 rec " $P/a1/drain/b3 .*\"request\":\"none\""
start_drain drain "$T/drain.conf"
check "site serving" site_is lab serving

zone_b3() { # zone_b3: emberd's own view of zone b3 (emberctl status)
    "$EMBER_BIN/emberctl" -s "$T/ctl.sock" -j status |
        $PY -c 'import json,sys; print([z["request"] for z in json.load(sys.stdin)["zones"] if z["name"] == "b3"][0])'
}
# drain_b3_since MARK: every drain/b3 payload recorded after MARK, as
# "request seq" lines.
drain_b3_since() {
    tail -n +$(($1 + 1)) "$T/rec.rec" | grep " $P/a1/drain/b3 " | while read -r l; do
        echo "$(rec_field "$l" request) $(rec_field "$l" seq)"
    done
}
# republished_ok MARK SEQ: emberd published drain/b3 after MARK, and every
# such message says "drain" with seq SEQ.
republished_ok() {
    local out
    out=$(drain_b3_since "$1")
    [ -n "$out" ] && ! grep -qv "^drain $2\$" <<<"$out"
}

# restarted WHAT NAME MARK: emberd (log NAME) is back; whatever it publishes
# once connected and after its first poll is out, drain/b3 still says
# "drain" with the request's seq, and emberctl status agrees.
restarted() {
    wait_until 10 log_has "$T/$2.log" "mqtt: connected" || die "emberd did not reconnect"
    check "$1: emberd republished drain/b3" rec_wait_after "$3" 10 rec " $P/a1/drain/b3 "
    wait_until 5 log_has "$T/$2.log" "sensor t: good"
    sleep 0.5 # a bounded watch for a wrong message, not a wait for readiness
    log "$1: drain/b3 said: $(drain_b3_since "$3" | tr '\n' ';')"
    check "$1: drain/b3 still says drain with seq $req_seq (no none, no seq 0)" \
        republished_ok "$3" "$req_seq"
    check "$1: emberctl status shows b3 drain" test "$(zone_b3)" = drain
}

# The sensor goes to 50 C: zone b3 requests drain; hold_down starts.
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "zone b3 requests drain" rec_wait 10 rec " $P/a1/drain/b3 .*\"request\":\"drain\""
req_seq=$(rec_field "$(grep " $P/a1/drain/b3 .*\"request\":\"drain\"" "$T/rec.rec" | tail -1)" seq)
log "drain request for b3: seq $req_seq"
check "ember-drain waits out its hold_down" wait_until 5 log_has "$T/drain.log" "draining if it still holds in"

# 1. kill -9 emberd during the hold_down, and start it again.
m=$(rec_mark rec)
kill -KILL "$EMBERD_PID"
wait "$EMBERD_PID" 2>/dev/null
start_emberd emberd2 "$T/emberd.conf"
restarted "after kill -9" emberd2 "$m"
check "the hold_down was not cancelled" bash -c "! grep -q 'cleared within hold_down' '$T/drain.log'"
check "the site drains when the hold_down ends" wait_until 10 hx_is web/dc1-web drain
check "ember-drain: site drained" wait_until 5 site_is lab drained

# 2. A clean stop and start.
m=$(rec_mark rec)
stop_pid "$EMBERD_PID"
start_emberd emberd3 "$T/emberd.conf"
restarted "after a clean restart" emberd3 "$m"
check "ember-drain still counts a1/b3's drain request" \
    bash -c "'$EMBER_BIN/ember-drain' --socket '$T/drain.sock' status | grep -q 'request a1/b3: drain'"
check "drain/b3 never carried seq 0" bash -c "! grep ' $P/a1/drain/b3 ' '$T/rec.rec' | grep -q '\"seq\":0[,}]'"

# 3. The alarm clears: the zone says none with a new seq.
echo "set xy-md02.temperature 25" >"$T/sim.ctl"
check "alarm cleared: drain/b3 none" rec_wait_after "$m" 10 rec " $P/a1/drain/b3 .*\"request\":\"none\""
none_seq=$(rec_field "$(grep " $P/a1/drain/b3 .*\"request\":\"none\"" "$T/rec.rec" | tail -1)" seq)
check "the clearing has a newer seq ($none_seq > $req_seq)" test "$none_seq" -gt "$req_seq"
stop_pid "$EMBERD_PID"
stop_drain
check "no sanitizer report from emberd" bash -c "! grep -lE 'Sanitizer|runtime error' '$T'/emberd*.log"
finish
