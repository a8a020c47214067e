#!/bin/bash
# Drain latency on real processes on loopback: a register crossing in
# ember-sim -> emberd (high alarm, critical, zone vote = 1) -> mosquitto ->
# ember-drain (site vote = 1, hold_down = 0) -> HAProxy 2.6 reporting DRAIN
# for the zone's server in `show servers state`, polled every 1 ms from the
# benchmark over the stats socket.  All on one monotonic clock
# (bench/drain_latency.py).  Between runs the value drops, the request clears
# and `ember-drain undrain` returns the server to service.
#
#   RUNS=N (default 100); EMBER_BIN (default build/).  Prints a table and
#   writes build/bench/drain.json.
#
# emberd polls the device every 100 ms (its shortest interval), so detection
# is bounded by that; the target is ember-drain's own share: request ->
# DRAIN well under 50 ms.
set -u
export TMPDIR=${TMPDIR:-/tmp}
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/drain_lib.sh"
TEST_NAME=drain-bench
RUNS=${RUNS:-100}
OUT=$TOP/build/bench
mkdir -p "$OUT"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 100ms
start_backends dc1-web dc2-web
start_haproxy web:dc1-web,dc2-web
write_drain_conf "$T/drain.conf" <<EOC
[site lab]
zones = b3
vote = 1
hold_down = 0
targets = hx

[haproxy hx]
socket = $HX_SOCK
servers = web/dc1-web
EOC
start_emberd emberd "$T/emberd.conf"
start_drain drain "$T/drain.conf"

log "$RUNS runs: crossing (ember-sim) -> HAProxy DRAIN, emberd polling every 100 ms"
$PY "$TOP/bench/drain_latency.py" --port "$MQTT_PORT" --fifo "$T/sim.ctl" \
    --point xy-md02.temperature --request-topic emberwatch/lab/a1/drain/b3 \
    --haproxy-sock "$HX_SOCK" --server web/dc1-web \
    --drain-cmd "$EMBER_BIN/ember-drain --socket $T/drain.sock --by bench" --site lab \
    --runs "$RUNS" --out "$OUT/drain.json" >"$T/bench.out" || die "drain benchmark failed"
grep -q '"event":"drained"' "$T/drain-audit.log" || die "no drain in the audit log"

$PY - "$OUT/drain.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
rows = [("register crossing -> HAProxy DRAIN (end to end)", r["crossing_to_drain"]),
        ("  crossing -> drain request at a subscriber (emberd)", r["crossing_to_request"]),
        ("  drain request -> HAProxy DRAIN (ember-drain)", r["request_to_drain"])]
print()
print("%-56s %6s %9s %9s %9s" % ("benchmark (ms)", "n", "median", "p99", "max"))
for name, x in rows:
    print("%-56s %6d %9.1f %9.1f %9.1f" % (name, x["n"], x["median_ms"], x["p99_ms"], x["max_ms"]))
d = r["request_to_drain"]
print()
print("ember-drain target: DRAIN under 50 ms after detection: %s (p99 %.1f ms)" %
      ("met" if d["p99_ms"] < 50 else "NOT met", d["p99_ms"]))
print("results: %s" % sys.argv[1])
PYEOF
stop_drain
stop_haproxy
finish
