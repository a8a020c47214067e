#!/bin/bash
# make demo as a user runs it (bounded by DEMO_SECONDS): it prints the
# console's URL first, and the page answers there from this side; the ports
# it prints listen on 127.0.0.1 only; every sensor of the bench config shows
# up good in its summary, at most one sensors line a second; the room's
# runaway drains HAProxy's b3 servers and removes the room's address from
# the demo's DNS zone (dig, run here, reads the demo's named before and
# after, over TCP as the demo's hint does); and every process the demo
# started, named included, is gone afterwards, with nothing left in its
# network namespace.
. "$(dirname "$0")/lib.sh"

command -v dig >/dev/null || die "dig not installed (Debian bind9-dnsutils)"
# DEMO_SECONDS leaves room for the drain and the reads of the zone after it
# on a loaded machine; the demo's named stops when the demo does.
DEMO_SECONDS=20 TMPDIR="$T" timeout 60 "$TOP/agent/examples/demo.sh" "$EMBER_BIN" \
    >"$T/demo.out" 2>&1 &
DEMO=$!
PIDS+=("$DEMO")
# Drive the demo's room into runaway at once instead of waiting ~95 s for
# the scenario: two independent sensors critical -> zone b3 drains.
wait_until 10 bash -c "ls '$T'/emberwatch-demo.*/sim.ctl" || die "demo did not start ember-sim"
run=$(ls -d "$T"/emberwatch-demo.* | head -1)
wait_until 10 grep -qE "sensors .*node1-module2" "$T/demo.out" || die "demo shows no telemetry"
check "demo prints the console's URL first" \
    grep -qE '^console: http://127\.0\.0\.1:[0-9]+/\?operator=noc&prefix=emberwatch&autoconnect=1$' \
    <(head -n 1 "$T/demo.out")
url=$(head -n 1 "$T/demo.out" | sed 's/^console: //')
ws_port=$(echo "$url" | sed -nE 's|^http://127\.0\.0\.1:([0-9]+)/.*|\1|p')
page_served() {
    $PY -c 'import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
sys.exit("emberwatch NOC console" not in body)' "$url"
}
check "the console's page answers at that URL" page_served
mqtt_port=$(sed -nE 's/.*mosquitto_sub -p ([0-9]+) .*/\1/p' "$T/demo.out" | head -1)
check "the printed MQTT port reaches the demo's broker" \
    test "$(timeout 10 mosquitto_sub -p "${mqtt_port:-0}" -t emberwatch/bench/demo-agent/status -C 1 -W 5)" = online
# The demo's named, read independently: its port from what the demo prints.
dns_port=$(sed -nE 's/.*named on 127\.0\.0\.1:([0-9]+).*/\1/p' "$T/demo.out" | head -1)
check "demo prints its named's port" test -n "$dns_port"
named_pid=$(cat "$run/named/named.pid" 2>/dev/null)
check "demo's named runs" kill -0 "${named_pid:-0}"
web_port=$(sed -nE 's|.*web on http://127\.0\.0\.1:([0-9]+)/.*|\1|p' "$T/demo.out" | head -1)
on_loopback() { # on_loopback PORT: something listens on PORT, on 127.0.0.1 only
    local a
    a=$(ss -ltnH "sport = :$1" | awk '{ print $4 }')
    [ -n "$a" ] && ! echo "$a" | grep -qv '^127\.0\.0\.1:'
}
netns=""
if grep -q "the programs run in a network namespace of their own" "$T/demo.out"; then
    netns=$(readlink "/proc/$named_pid/ns/net")
    check "demo's named runs in a network namespace of its own" test "$netns" != "$(readlink /proc/self/ns/net)"
    for p in "$ws_port" "$mqtt_port" "${web_port:-0}" "$dns_port"; do
        check "port $p listens on 127.0.0.1 only" on_loopback "$p"
    done
else
    log "no network namespace: $(grep -m1 'no network namespace' "$T/demo.out")"
    check "demo's named listens on loopback only" test "$(loopback_listeners "$named_pid" "$dns_port")" -ge 1
    for p in "$mqtt_port" "${web_port:-0}"; do
        check "port $p listens on 127.0.0.1 only" on_loopback "$p"
    done
    on_loopback "$ws_port" || check "the demo says its websockets port listens on every address" \
        grep -q "^WARNING: .*listens on every address" "$T/demo.out"
fi
dq() { # the addresses dig reads for www.demo.test A, sorted, on one line
    dig +tcp @127.0.0.1 -p "$dns_port" +short +norecurse +time=1 +tries=2 www.demo.test A |
        grep -E '^[0-9.]+$' | sort | tr '\n' ' ' | sed 's/ $//'
}
dns_is() { test "$(dq)" = "$1"; }
# The answer holds until the drain (~95 s in); on a loaded machine the first
# query through the relay may outlast dig's 2 s, so it is asked again.
check "dig: before the drain www.demo.test answers with room b3's 192.0.2.3" \
    wait_until 15 dns_is "192.0.2.3 198.51.100.4"
echo "set bms.max_cell_temperature 95" >"$run/sim.ctl"
echo "set node.module_2 97" >"$run/sim.ctl"
check "dig: after the drain www.demo.test answers without room b3's 192.0.2.3" \
    wait_until 15 dns_is "198.51.100.4"
wait "$DEMO"
rc=$?
check "demo exits 0" test $rc -eq 0
# The summary names each sensor's first reading (a quality other than good
# would follow its value and unit).
for s in room-temp room-rh ups-battery-temp ups-on-battery rack1-max-cell-temp feed-power \
    node1-module2 node1-contact node1-gas; do
    check "demo shows $s good" grep -qE "  sensors +(.*, )?$s -?[0-9.]+( (C|%RH|W|ppm))?(, |\$)" "$T/demo.out"
done
most_per_second=$(grep -E '^[0-9:]{8}  sensors ' "$T/demo.out" | cut -c1-8 | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
check "at most one sensors line a second (most: ${most_per_second:-0})" test "${most_per_second:-0}" -le 1
check "demo shows status online" grep -qE "status +online" "$T/demo.out"
check "demo shows the critical alarms" grep -qE "event +ALARM CRITICAL rack1-cell-hot" "$T/demo.out"
check "demo shows zone b3 draining" grep -qE "drain/b3 +DRAIN +2 of 2 required sensors" "$T/demo.out"
check "demo shows HAProxy's b3 servers drained" \
    grep -qE "drain/state +DRAINED +lb/web/b3-web1=drain, lb/web/b3-web2=drain" "$T/demo.out"
check "demo shows dig's answer before the drain" \
    grep -qE "dig www\.demo\.test A +192\.0\.2\.3 198\.51\.100\.4 +\(with b3's" "$T/demo.out"
check "demo shows dig's answer without b3's address after the drain" \
    grep -qE "dig www\.demo\.test A +198\.51\.100\.4 +\(without b3's 192\.0\.2\.3: drained\)" "$T/demo.out"
check "demo shows the DNS RRset drained, as read back" \
    grep -qE "drain/state +DRAINED +.*gslb/www\.demo\.test\./A=absent \[198\.51\.100\.4\]" "$T/demo.out"
check "demo recorded its processes" test -s "$run/pids"
check "demo recorded named among them" grep -qx "$named_pid" "$run/pids"
alive=0
while read -r pid; do
    kill -0 "$pid" 2>/dev/null && alive=$((alive + 1))
done <"$run/pids"
check "demo stopped every process it started" test "$alive" -eq 0
check "emberd stopped cleanly in the demo" log_has "$run/emberd.log" "stopping"
check "named is stopped" bash -c "! kill -0 $named_pid 2>/dev/null"
in_netns() { # the processes left in the demo's network namespace
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$netns" ] && echo "${p#/proc/}"
    done
}
[ -z "$netns" ] || check "no process is left in the demo's network namespace" test -z "$(in_netns)"
for p in "$ws_port" "$mqtt_port" "${web_port:-0}"; do
    check "nothing listens on the demo's port $p any more" test -z "$(ss -ltnH "sport = :$p")"
done
check "named stopped cleanly (on TERM)" log_has "$run/named.log" "exiting"
check "nothing answers on the demo's DNS port any more" test -z "$(dq)"
finish
