#!/bin/bash
# make demo as a user runs it (bounded by DEMO_SECONDS): every sensor of the
# bench config shows up good, the room's runaway drains HAProxy's b3 servers,
# and every process the demo started is gone afterwards.
. "$(dirname "$0")/lib.sh"

DEMO_SECONDS=10 TMPDIR="$T" timeout 60 "$TOP/agent/examples/demo.sh" "$EMBER_BIN" \
    >"$T/demo.out" 2>&1 &
DEMO=$!
PIDS+=("$DEMO")
# Drive the demo's room into runaway at once instead of waiting ~95 s for
# the scenario: two independent sensors critical -> zone b3 drains.
wait_until 10 bash -c "ls '$T'/emberwatch-demo.*/sim.ctl" || die "demo did not start ember-sim"
run=$(ls -d "$T"/emberwatch-demo.* | head -1)
wait_until 10 grep -q "sensor/node1-module2" "$T/demo.out" || die "demo shows no telemetry"
echo "set bms.max_cell_temperature 95" >"$run/sim.ctl"
echo "set node.module_2 97" >"$run/sim.ctl"
wait "$DEMO"
rc=$?
check "demo exits 0" test $rc -eq 0
for s in room-temp room-rh ups-battery-temp ups-on-battery rack1-max-cell-temp feed-power \
    node1-module2 node1-contact node1-gas; do
    check "demo shows $s good" grep -qE "sensor/$s +[-0-9.]+ .*good" "$T/demo.out"
done
check "demo shows status online" grep -qE "status +online" "$T/demo.out"
check "demo shows the critical alarms" grep -qE "event +ALARM CRITICAL rack1-cell-hot" "$T/demo.out"
check "demo shows zone b3 draining" grep -qE "drain/b3 +DRAIN +2 of 2 required sensors" "$T/demo.out"
check "demo shows HAProxy's b3 servers drained" \
    grep -qE "drain/state +DRAINED +lb/web/b3-web1=drain, lb/web/b3-web2=drain" "$T/demo.out"
check "demo recorded its processes" test -s "$run/pids"
alive=0
while read -r pid; do
    kill -0 "$pid" 2>/dev/null && alive=$((alive + 1))
done <"$run/pids"
check "demo stopped every process it started" test "$alive" -eq 0
check "emberd stopped cleanly in the demo" log_has "$run/emberd.log" "stopping"
finish
