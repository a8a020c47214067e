#!/bin/bash
# make bench: latency figures measured on this machine, on loopback, with real
# processes (mosquitto, ember-sim, emberd).  Prints a table and writes
# build/bench/results.json.  RAMPS=N changes the number of ramps (default 50).
#
#   ramp   10 C/s ramp through a 45 C high alarm, 1 s base poll interval:
#          crossing in the Modbus server -> "activated" event at a subscriber.
#          Run with adaptive polling (the default) and with adaptive = no.
set -u
export TMPDIR=${TMPDIR:-/tmp}
. "$(dirname "$0")/../tests/integration/lib.sh"
TEST_NAME=bench
RAMPS=${RAMPS:-50}
OUT=$TOP/build/bench
mkdir -p "$OUT"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"

ramp_run() { # ramp_run NAME ADAPTIVE
    local name=$1 adaptive=$2
    rm -f "$T/journal.db"*
    write_conf "$T/$name.conf" <<EOC
[bus t]
type = tcp
host = 127.0.0.1
port = $SIM_PORT

[device room]
bus = t
profile = xy-md02
interval = 1s
adaptive = $adaptive

[sensor room-temp]
device = room
point = temperature

[alarm room-hot]
sensor = room-temp
kind = high
setpoint = 45
deadband = 1
severity = critical
EOC
    start_emberd "emberd-$name" "$T/$name.conf"
    local pid=$EMBERD_PID
    log "ramp ($name): $RAMPS ramps at 10 C/s through 45 C, base interval 1 s"
    $PY "$TOP/bench/ramp.py" --port "$MQTT_PORT" --fifo "$T/sim.ctl" --point xy-md02.temperature \
        --topic "emberwatch/lab/a1/event" --alarm room-hot --ramps "$RAMPS" \
        --out "$OUT/ramp-$name.json" >/dev/null || die "ramp benchmark failed"
    stop_pid "$pid"
}

ramp_run adaptive yes
ramp_run fixed no

$PY - "$OUT" <<'PYEOF'
import json, os, sys
out = sys.argv[1]
a = json.load(open(os.path.join(out, "ramp-adaptive.json")))
f = json.load(open(os.path.join(out, "ramp-fixed.json")))
rows = [("ramp 10 C/s -> alarm, adaptive polling (default)", a),
        ("ramp 10 C/s -> alarm, fixed 1 s polling", f)]
print()
print("%-52s %6s %9s %9s %9s" % ("benchmark (ms)", "n", "median", "p99", "max"))
for name, r in rows:
    print("%-52s %6d %9.1f %9.1f %9.1f" % (name, r["ramps"], r["median_ms"], r["p99_ms"], r["max_ms"]))
print()
print("adaptive vs fixed: median %.1fx, p99 %.1fx faster" %
      (f["median_ms"] / max(a["median_ms"], 0.1), f["p99_ms"] / max(a["p99_ms"], 0.1)))
json.dump({"ramp_adaptive": a, "ramp_fixed": f}, open(os.path.join(out, "results.json"), "w"),
          indent=1)
print("results: %s" % os.path.join(out, "results.json"))
PYEOF
finish
