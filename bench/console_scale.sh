#!/bin/bash
# bench/console_scale.sh OUT.json: the NOC console (agent/console/dist) under
# a fleet's load, in Debian's chromium: a private mosquitto serving the page
# from its websockets listener (http_dir) and taking bench/console_load.py's
# fleet (CONSOLE_AGENTS agents x CONSOLE_SENSORS sensors at 1 Hz, default
# 100 x 20, plus CONSOLE_CHURN alarm transitions a second, default 5, and a
# probe alarm every 5 s, timed at the broker by mosquitto_sub) on its TCP
# listener; bench/console_scale.mjs drives
# the page for CONSOLE_MINUTES (default 10) and writes OUT.json.
#
# Runs in a network namespace of its own with only loopback (unshare --net;
# a user namespace too when not root), like tests/console: mosquitto 2.0.11
# binds a websockets listener to every interface.  Needs npm ci in
# agent/console (playwright-core; run here when it is missing), chromium,
# mosquitto and python3-paho-mqtt.  Every process is stopped by its PID.
set -u
OUT=${1:?usage: bench/console_scale.sh OUT.json}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
CONSOLE=$TOP/agent/console
DIST=${CONSOLE_DIST:-$CONSOLE/dist} # the page served (another build for a comparison)
say() { echo "[console_scale] $*" >&2; }

if [ -z "${EMBER_SCALE_NS:-}" ]; then
    for c in node npm unshare ip mosquitto mosquitto_sub; do
        command -v "$c" >/dev/null || { say "$c missing (tests/install-deps.sh check)"; exit 2; }
    done
    [ -x /usr/bin/chromium ] || { say "/usr/bin/chromium missing (tests/install-deps.sh check)"; exit 2; }
    if [ ! -f "$CONSOLE/node_modules/playwright-core/package.json" ]; then
        say "npm ci in $CONSOLE (no node_modules/playwright-core)"
        (cd "$CONSOLE" && timeout 600 npm ci --no-audit --no-fund) >&2 || { say "npm ci failed"; exit 2; }
    fi
    ns=(unshare --net)
    [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --net)
    export EMBER_SCALE_NS=1
    exec "${ns[@]}" -- bash "$0" "$@"
fi

ip link set lo up || { say "cannot bring lo up in the namespace"; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ember-console-scale.XXXXXX")
PIDS=()
cleanup() {
    local i p
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        p=${PIDS[$i]}
        kill -TERM "$p" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
MQTT_PORT=$(free_port)
WS_PORT=$(free_port)
# As root mosquitto would switch to user mosquitto, who may not read the tree.
cat >"$T/mosquitto.conf" <<EOC
user $(id -un)
persistence false
allow_anonymous true
max_queued_messages 100000
listener $MQTT_PORT 127.0.0.1
listener $WS_PORT 127.0.0.1
protocol websockets
http_dir $DIST
log_dest stderr
log_type error
log_type warning
EOC
mosquitto -c "$T/mosquitto.conf" >"$T/broker.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null && break; sleep 0.05; done

# The broker's side of each probe: when a plain MQTT subscriber on the TCP
# listener gets it (mosquitto_sub, %U: receive time, epoch seconds).
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -F '%U %t %p' -t 'emberwatch/site-00/probe/alarm/+' \
    >"$T/probe-sub.log" 2>&1 &
PIDS+=($!)
MINUTES=${CONSOLE_MINUTES:-10}
/usr/bin/python3 "$HERE/console_load.py" --port "$MQTT_PORT" --agents "${CONSOLE_AGENTS:-100}" \
    --sensors "${CONSOLE_SENSORS:-20}" --churn "${CONSOLE_CHURN:-5}" --probes "$T/probes" \
    --ready "$T/ready" >"$T/load.log" 2>&1 &
LOAD=$!
PIDS+=($LOAD)
for _ in $(seq 200); do [ -s "$T/ready" ] && break; sleep 0.05; done
[ -s "$T/ready" ] || { say "console_load.py did not start:"; cat "$T/load.log" >&2; exit 1; }
say "fleet: ${CONSOLE_AGENTS:-100} agents x ${CONSOLE_SENSORS:-20} sensors at 1 Hz; $MINUTES min"

CONSOLE_URL="http://127.0.0.1:$WS_PORT/?operator=bench&prefix=emberwatch&autoconnect=1" \
    PROBES=$T/probes PROBE_SUB=$T/probe-sub.log MINUTES=$MINUTES OUT=$OUT SHOT=${CONSOLE_SHOT:-} \
    timeout -k 10 $((MINUTES * 60 + 240)) node "$HERE/console_scale.mjs" &
NODE=$!
PIDS+=($NODE)
wait "$NODE"
rc=$?
# Was the fleet kept up the whole time?  The broker's own clients count.
kill -0 "$LOAD" 2>/dev/null || { say "console_load.py stopped early:"; cat "$T/load.log" >&2; rc=1; }
exit $rc
