#!/bin/bash
# Drain latency on real processes on loopback: a register crossing in
# ember-sim -> emberd (high alarm, critical, zone vote = 1) -> mosquitto ->
# ember-drain (site vote = 1, hold_down = 0) -> the site's target, read back
# independently by the benchmark (bench/drain_latency.py), all on one
# monotonic clock.  Between runs the value drops, the request clears and
# `ember-drain undrain` returns the site to service.
#
#   drain_latency.sh [haproxy]   HAProxy 2.6 reporting DRAIN for the zone's
#                                server in `show servers state`, polled every
#                                1 ms over the stats socket;
#                                writes build/bench/drain.json
#   drain_latency.sh dnsbgp      one site with a [dns] target (BIND 9 named,
#                                TSIG zone; the answer queried every 1 ms
#                                until it lacks the site's address) and a
#                                [bgp] target (two BIRD 2 routers peering;
#                                `birdc show route` at the observer until the
#                                prefix is gone), both watched in every run;
#                                writes build/bench/drain_dnsbgp.json
#   drain_latency.sh takeover    two controllers, c1 and c2, each the other's
#                                peer, on one HAProxy; right before each
#                                crossing c1 is killed -9 (the site's own
#                                controller lost with it), so c2 alone drains;
#                                also times c1's Last Will at the broker;
#                                c1 is started again after each run;
#                                writes build/bench/drain_takeover.json
#
#   RUNS=N (default 100); EMBER_BIN (default build/).  Prints a table.
#
# emberd polls the device every 100 ms (its shortest interval), so detection
# is bounded by that; the targets: HAProxy, ember-drain's own share, request
# -> DRAIN well under 50 ms; DNS and BGP, crossing -> changed at the reader
# under 200 ms p99.
set -u
export TMPDIR=${TMPDIR:-/tmp}
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/drain_lib.sh"
MODE=${1:-haproxy}
TEST_NAME=drain-bench-$MODE
RUNS=${RUNS:-100}
OUT=$TOP/build/bench
mkdir -p "$OUT"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 100ms
# hx_site: site lab drained through the HAProxy these modes start.
hx_site() {
    printf '[site lab]\nzones = b3\nvote = 1\nhold_down = 0\ntargets = hx\n\n'
    printf '[haproxy hx]\nsocket = %s\nservers = web/dc1-web\n' "$HX_SOCK"
}
case $MODE in
haproxy)
    start_backends dc1-web dc2-web
    start_haproxy web:dc1-web,dc2-web
    hx_site | write_drain_conf "$T/drain.conf"
    WATCH=(--haproxy-sock "$HX_SOCK" --server web/dc1-web)
    JSON=$OUT/drain.json
    ;;
dnsbgp)
    zone_file example.test <<EOC
www IN A 192.0.2.10
www IN A 198.51.100.10
EOC
    start_named example.test
    start_bird_pair "192.0.2.0/24" "198.51.100.0/24"
    {
        printf '[site lab]\nzones = b3\nvote = 1\nhold_down = 0\ntargets = gslb, edge\n'
        dns_target gslb example.test www 192.0.2.10
        bgp_target edge 192.0.2.0/24
    } | write_drain_conf "$T/drain.conf"
    WATCH=(--dns "127.0.0.1:$DNS_PORT,www.example.test,A,192.0.2.10" --bird "$T/observer.ctl,192.0.2.0/24")
    JSON=$OUT/drain_dnsbgp.json
    ;;
takeover)
    start_backends dc1-web dc2-web
    start_haproxy web:dc1-web,dc2-web
    hx_site | write_peer_conf c1 c2
    hx_site | write_peer_conf c2 c1
    # c1 runs outside start_bg, since drain_latency.py kills and restarts
    # it; its pid is in $T/c1.pid, and it is stopped on the way out.
    cat >"$T/start-c1.sh" <<EOC
#!/bin/sh
n=\$(grep -c "settled:" "$T/c1.log" 2>/dev/null || true)
"$EMBER_BIN/ember-drain" -c "$T/c1.conf" >>"$T/c1.log" 2>&1 &
echo \$! >"$T/c1.pid"
i=0
while [ "\$(grep -c "settled:" "$T/c1.log")" -le "\${n:-0}" ]; do
    i=\$((i + 1)); [ \$i -gt 600 ] && { echo "c1 did not settle" >&2; exit 1; }
    sleep 0.05
done
EOC
    chmod +x "$T/start-c1.sh"
    trap 'rc=$?; stop_pid "$(cat "$T/c1.pid" 2>/dev/null)"; (exit $rc); cleanup' EXIT
    WATCH=(--haproxy-sock "$HX_SOCK" --server web/dc1-web --kill-pidfile "$T/c1.pid"
        --restart-cmd "$T/start-c1.sh" --will-topic emberwatch/_drain/c1/status --key-suffix _takeover)
    JSON=$OUT/drain_takeover.json
    ;;
*) die "usage: drain_latency.sh [haproxy|dnsbgp|takeover]" ;;
esac
start_emberd emberd "$T/emberd.conf"
if [ "$MODE" = takeover ]; then
    "$T/start-c1.sh" || die "c1 did not start"
    start_bg c2 "$EMBER_BIN/ember-drain" -c "$T/c2.conf"
    DRAIN_PID=$LAST_PID
    wait_until 30 log_has "$T/c2.log" "settled:" || die "c2 did not settle"
    DRAIN_SOCK=$T/c2.sock
else
    start_drain drain "$T/drain.conf"
    DRAIN_SOCK=$T/drain.sock
fi

log "$RUNS runs: crossing (ember-sim) -> $MODE target drained, emberd polling every 100 ms"
$PY "$TOP/bench/drain_latency.py" --port "$MQTT_PORT" --fifo "$T/sim.ctl" \
    --point xy-md02.temperature --request-topic emberwatch/lab/a1/drain/b3 "${WATCH[@]}" \
    --drain-cmd "$EMBER_BIN/ember-drain --socket $DRAIN_SOCK --by bench" --site lab \
    --runs "$RUNS" --out "$JSON" >"$T/bench.out" || die "drain benchmark failed"
if [ "$MODE" = takeover ]; then
    grep -q '"event":"drained"' "$T/c2-audit.log" || die "no drain in c2's audit log"
else
    grep -q '"event":"drained"' "$T/drain-audit.log" || die "no drain in the audit log"
fi

$PY - "$JSON" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
# (target, what it reads, the p99 target and what it applies to)
targets = [("drain", "HAProxy DRAIN", 50, "request_to_drain", "ember-drain: DRAIN under 50 ms after detection"),
           ("drain_takeover", "HAProxy DRAIN by c2 alone, c1 killed", 2000, "crossing_to_drain_takeover",
            "take-over: the surviving controller drains within 2 s of the kill"),
           ("dns", "DNS answer changed", 200, "crossing_to_dns", "DNS: answer changed under 200 ms after the crossing"),
           ("bgp", "route gone at the observer BIRD", 200, "crossing_to_bgp", "BGP: route gone under 200 ms after the crossing")]
print()
print("%-66s %6s %9s %9s %9s" % ("benchmark (ms)", "n", "median", "p99", "max"))
x = r["crossing_to_request"]
print("%-66s %6d %9.1f %9.1f %9.1f" % ("crossing -> drain request at a subscriber (emberd)", x["n"], x["median_ms"], x["p99_ms"], x["max_ms"]))
for k, what, _, _, _ in targets:
    for pre, label in (("crossing_to_", "register crossing -> %s (end to end)"), ("request_to_", "  drain request -> %s (ember-drain)")):
        x = r.get(pre + k)
        if x:
            print("%-66s %6d %9.1f %9.1f %9.1f" % (label % what, x["n"], x["median_ms"], x["p99_ms"], x["max_ms"]))
x = r.get("kill_to_offline")
if x:
    print("%-66s %6d %9.1f %9.1f %9.1f" % ("c1 killed -9 -> its Last Will at a subscriber (broker detection)", x["n"], x["median_ms"], x["p99_ms"], x["max_ms"]))
print()
for k, _, limit, key, text in targets:
    if key in r:
        print("target, %s: %s (p99 %.1f ms)" % (text, "met" if r[key]["p99_ms"] < limit else "NOT met", r[key]["p99_ms"]))
print("results: %s" % sys.argv[1])
PYEOF
stop_drain
[ "$MODE" = haproxy ] && stop_haproxy
finish
