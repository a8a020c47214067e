#!/bin/bash
# make demo: a private mosquitto on loopback, ember-sim playing a battery-room
# scenario (Modbus TCP + RTU over a socat pty pair), emberd polling it, and
# ember-drain taking the room's servers out of a local HAProxy when the zone
# asks; prints what flows until Ctrl-C, then stops everything it started (by
# PID).  DEMO_SECONDS=N stops it after N seconds.
set -u
BIN=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
RUN=$(mktemp -d "${TMPDIR:-/tmp}/emberwatch-demo.XXXXXX")
PIDS=()

cleanup() {
    trap - EXIT INT TERM
    echo
    echo "demo: stopping (logs in $RUN)"
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    printf '%s\n' "${PIDS[@]}" >"$RUN/pids"
    exit 0
}
trap cleanup EXIT INT TERM

bg() { # bg NAME CMD...
    local name=$1
    shift
    "$@" >"$RUN/$name.log" 2>&1 &
    PIDS+=($!)
}

wait_for() { # wait_for SECONDS CMD...
    local n=$(($1 * 50))
    shift
    while ! "$@" 2>/dev/null; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.02
    done
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

MQTT_PORT=$(free_port)
SIM_PORT=$(free_port)

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" \
    >"$RUN/mosquitto.conf"
bg broker mosquitto -c "$RUN/mosquitto.conf" -v
wait_for 10 grep -q running "$RUN/broker.log" || { echo "demo: mosquitto did not start" >&2; exit 1; }

bg socat socat "pty,raw,echo=0,link=$RUN/rtu-sim" "pty,raw,echo=0,link=$RUN/rtu-agent"
wait_for 10 test -e "$RUN/rtu-sim" -a -e "$RUN/rtu-agent" || { echo "demo: socat failed" >&2; exit 1; }

bg ember-sim "$BIN/ember-sim" -s "$TOP/agent/sim/scenarios/battery-room.scn" \
    -l "tcp0=tcp:127.0.0.1:$SIM_PORT" -l "rtu0=rtu:$RUN/rtu-sim" -c "$RUN/sim.ctl"
wait_for 10 grep -q ready "$RUN/ember-sim.log" || {
    echo "demo: ember-sim did not start:" >&2
    cat "$RUN/ember-sim.log" >&2
    exit 1
}

sed -e "s|@TOP@|$TOP|g" -e "s|@RUN@|$RUN|g" -e "s|@MQTT_PORT@|$MQTT_PORT|g" \
    -e "s|@SIM_PORT@|$SIM_PORT|g" "$TOP/agent/examples/bench.conf.in" >"$RUN/emberd.conf"
"$BIN/emberd" -n -c "$RUN/emberd.conf" || exit 1
bg emberd "$BIN/emberd" -c "$RUN/emberd.conf"

# HAProxy in front of four web servers: two in the burning room (b3), two
# elsewhere; ember-drain takes the b3 pair out when zone b3 asks.
WEB_PORT=$(free_port)
{
    printf 'global\n    stats socket %s mode 600 level admin\n\n' "$RUN/haproxy.sock"
    printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n'
    printf '    timeout server 10s\n\nfrontend www\n    bind 127.0.0.1:%s\n' "$WEB_PORT"
    printf '    default_backend web\n\nbackend web\n    balance roundrobin\n'
    for n in b3-web1 b3-web2 b4-web1 b4-web2; do
        p=$(free_port)
        mkdir -p "$RUN/www-$n"
        echo "$n" >"$RUN/www-$n/index.html"
        bg "www-$n" $PY -m http.server "$p" --bind 127.0.0.1 --directory "$RUN/www-$n"
        printf '    server %s 127.0.0.1:%s\n' "$n" "$p"
    done
} >"$RUN/haproxy.cfg"
bg haproxy haproxy -db -f "$RUN/haproxy.cfg"
wait_for 10 test -S "$RUN/haproxy.sock" || { echo "demo: haproxy did not start" >&2; exit 1; }
sed -e "s|@RUN@|$RUN|g" -e "s|@MQTT_PORT@|$MQTT_PORT|g" \
    "$TOP/agent/examples/ember-drain-demo.conf.in" >"$RUN/ember-drain.conf"
"$BIN/ember-drain" -n -c "$RUN/ember-drain.conf" >/dev/null || exit 1
bg ember-drain "$BIN/ember-drain" -c "$RUN/ember-drain.conf"

cat <<MSG

emberwatch demo: a UPS battery room that goes into thermal runaway
  broker     mosquitto on 127.0.0.1:$MQTT_PORT
  simulator  ember-sim, scenario agent/sim/scenarios/battery-room.scn
             (Modbus TCP 127.0.0.1:$SIM_PORT, RTU on $RUN/rtu-sim)
  agent      emberd -c $RUN/emberd.conf

  timeline   0-20 s normal; ~50 s the UPS battery passes 40 C (warning);
             from 60 s the rack runs away: ~75 s its rate of rise is critical,
             ~95 s off-gas makes a second sensor critical and zone b3 asks for
             a DRAIN: ember-drain puts HAProxy's b3 servers in DRAIN;
             smoke at 100 s, 60 C at ~120 s; the scenario repeats every
             240 s, the drain stays until "ember-drain undrain bench"

  drain      ember-drain -c $RUN/ember-drain.conf -> HAProxy (web on 127.0.0.1:$WEB_PORT)

  raw messages:       mosquitto_sub -p $MQTT_PORT -v -t 'emberwatch/#'
  operate the agent:  $BIN/emberctl -s $RUN/emberd.sock alarms   (or status, ack ID, test b3)
  drain controller:   $BIN/ember-drain --socket $RUN/ember-drain.sock status   (undrain bench)
  HAProxy servers:    echo 'show servers state web' | socat stdio $RUN/haproxy.sock
  change a value:     echo 'set ups.battery_temperature 60' > $RUN/sim.ctl
Press Ctrl-C to stop.

MSG
# Show the agent's messages as they arrive, one line each.
$PY "$TOP/agent/examples/demo_watch.py" "$MQTT_PORT" 'emberwatch/#' "${DEMO_SECONDS:-0}" &
SUB=$!
PIDS+=($SUB)
wait "$SUB"
