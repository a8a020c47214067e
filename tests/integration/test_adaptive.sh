#!/bin/bash
# Adaptive polling: a device near its setpoint is polled at the alert rate
# while the other device on the same TCP bus keeps its 1 s schedule; on an
# RTU bus the alert device is polled back to back but takes at most half of
# the line.  Sensor messages are thinned to 10/s per sensor.
. "$(dirname "$0")/lib.sh"

start_broker
SIM_PORT=$(free_port)
socat_pair "$T/rtu-sim" "$T/rtu-agent"
cat >"$T/sim.scn" <<EOF
[listen tcp0]
tcp = 127.0.0.1:$SIM_PORT

[listen rtu0]
rtu = $T/rtu-sim

[device hot]
listen = tcp0
slave = 1
profile = xy-md02

[device calm]
listen = tcp0
slave = 2
profile = xy-md02

[device rhot]
listen = rtu0
slave = 1
profile = xy-md02

[signal hot.temperature]
initial = 44.5

[signal calm.temperature]
initial = 21

[signal rhot.temperature]
initial = 44.5
EOF
start_sim sim -s "$T/sim.scn" -P "$TOP/agent/profiles"
write_conf "$T/emberd.conf" <<EOF
[bus tcp]
type = tcp
host = 127.0.0.1
port = $SIM_PORT

[bus rtu]
type = rtu
device = $T/rtu-agent

[device hot]
bus = tcp
slave = 1
profile = xy-md02

[device calm]
bus = tcp
slave = 2
profile = xy-md02

[device rhot]
bus = rtu
slave = 1
profile = xy-md02

[sensor hot-t]
device = hot
point = temperature

[sensor calm-t]
device = calm
point = temperature

[sensor rhot-t]
device = rhot
point = temperature

[alarm hot-high]
sensor = hot-t
kind = high
setpoint = 45

[alarm rhot-high]
sensor = rhot-t
kind = high
setpoint = 45
EOF
P=emberwatch/lab/a1/sensor
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
# Let 4 s of traffic accumulate once everything publishes.
rec_wait 10 rec " $P/calm-t " || die "no calm readings"
m=$(rec_mark rec)
wait_until 15 bash -c "awk 'NR > $m' '$T/rec.rec' | grep -c ' $P/calm-t ' | awk '{exit !(\$1 >= 5)}'"
$PY - "$T/rec.rec" "$m" <<'EOF' >"$T/rates"
import sys
path, mark = sys.argv[1], int(sys.argv[2])
ts = {}
for i, line in enumerate(open(path)):
    f = line.split(" ", 3)
    if i < mark or len(f) < 4 or f[0].startswith("#"):
        continue
    ts.setdefault(f[2].rsplit("/", 1)[1], []).append(float(f[0]))
span = max(max(v) for v in ts.values()) - min(min(v) for v in ts.values())
def rate(k): return len(ts.get(k, [])) / (span / 1000.0)
def maxgap(k):
    v = ts.get(k, [])
    return max(b - a for a, b in zip(v, v[1:])) if len(v) > 1 else 1e9
print("span_s=%.1f hot=%.1f/s rhot=%.1f/s calm=%.1f/s calm_max_gap_ms=%.0f" %
      (span / 1000.0, rate("hot-t"), rate("rhot-t"), rate("calm-t"), maxgap("calm-t")))
print(rate("hot-t"), rate("rhot-t"), rate("calm-t"), maxgap("calm-t"))
EOF
log "$(head -1 "$T/rates")"
read -r hot rhot calm gap < <(tail -1 "$T/rates")
check "TCP device near its setpoint polled at ~10/s" $PY -c "import sys; sys.exit(0 if $hot >= 6 else 1)"
check "RTU device near its setpoint published faster than 1/s" $PY -c "import sys; sys.exit(0 if $rhot >= 3 else 1)"
check "sensor messages thinned to at most ~10/s" $PY -c "import sys; sys.exit(0 if $rhot <= 11 and $hot <= 11 else 1)"
check "neighbour on the same TCP bus keeps 1/s" $PY -c "import sys; sys.exit(0 if 0.8 <= $calm <= 1.3 else 1)"
check "neighbour never waits much more than its interval" $PY -c "import sys; sys.exit(0 if $gap <= 1250 else 1)"
"$EMBER_BIN/emberctl" -s "$T/ctl.sock" -j status >"$T/status.json"
$PY - "$T/status.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
b = {x["name"]: x for x in d["buses"]}
assert b["tcp"]["alert_polls"] > 0 and b["rtu"]["alert_polls"] > 0, b
assert 0 < b["rtu"]["utilisation"] <= 0.55, b  # at most half the line
print("rtu utilisation %.0f%%" % (100 * b["rtu"]["utilisation"]))
EOF
check "status reports alert polls and utilisation per bus" test $? -eq 0
finish
