#!/bin/bash
# The console on mosquitto (run by tests/console/run.sh inside its network
# namespace): a private mosquitto with a TCP listener and a websockets
# listener that also serves the page (http_dir = agent/console/dist);
# ember-sim with two emberd agents of site "lab" (a1: room-temp in zone b3
# with room-warm/room-hot/room-lost; a2: room-humidity in zone b4);
# ember-drain (mqtt_commands = yes) draining web/b3-web1 and web/b3-web2 in a
# real HAProxy; a paho recorder as the independent MQTT reader.  Then
# console.test.mjs drives the page through the story and checks each step
# on the page, at the broker and at HAProxy.
. "$(dirname "$0")/stack.sh"

# ---- mosquitto: TCP for the programs, websockets (and the page) for the browser
WS_PORT=$(free_port)
# As root mosquitto would switch to user mosquitto, who may not read the tree.
broker_conf "persistence false" "user $(id -un)" "listener $WS_PORT 127.0.0.1" "protocol websockets" \
    "http_dir $DIST"
start_bg broker mosquitto -c "$T/mosquitto.conf"
BROKER_PID=$LAST_PID
wait_until 10 log_has "$T/broker.log" "running" || die "mosquitto did not start"
only_lo() { [ "$(ip -o link show | wc -l)" -eq 1 ] && ip -o link show | grep -q ': lo:'; }
check "the namespace has no interface but lo" only_lo
# mosquitto 2.0.11 listens for websockets on every address; in this
# namespace every address is loopback's.
ws_listens() { ss -ltnH "sport = :$WS_PORT" | grep -q LISTEN; }
check "websockets listener on port $WS_PORT" ws_listens
log "listeners: $(ss -ltnH | awk '{print $4}' | tr '\n' ' ')"
page_served() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS_PORT/")" = 200 ]; }
check "mosquitto serves the page on its websockets listener" page_served

# ---- the room: ember-sim, agents a1 and a2 ----------------------------------
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
MQ=("keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s")
write_room_conf "$T/a1.conf" "$SIM_PORT" "${MQ[@]}"
write_conf "$T/a2.conf" "${MQ[@]}" <<EOC
[bus t]
type = tcp
host = 127.0.0.1
port = $SIM_PORT

[device room]
bus = t
profile = xy-md02
interval = 1s

[sensor room-humidity]
device = room
point = humidity
zone = b4

[alarm room-wet]
sensor = room-humidity
kind = high
setpoint = 95
severity = warning

[zone b4]
vote = 1
EOC
sed -i -e 's/^id = a1$/id = a2/' -e "s|$T/journal.db|$T/a2-journal.db|" -e "s|$T/ctl.sock|$T/a2-ctl.sock|" \
    -e "s|$T/gpio-sim|$T/a2-gpio-sim|" "$T/a2.conf"

rec_start rec "emberwatch/#"
start_emberd a1 "$T/a1.conf"
A1_PID=$EMBERD_PID
start_emberd a2 "$T/a2.conf"

# ---- HAProxy and ember-drain --------------------------------------------------
lab_site "a1, a2" "b3, b4"
check "both agents online at the broker" eval "rec_wait 10 rec ' emberwatch/lab/a1/status online' &&
    rec_wait 10 rec ' emberwatch/lab/a2/status online'"

# ---- the browser ------------------------------------------------------------
run_story mosquitto "http://127.0.0.1:$WS_PORT/?broker=ws://127.0.0.1:$WS_PORT/&operator=noc-kim&prefix=emberwatch&autoconnect=1"
wait "$A1_PID" 2>/dev/null # killed -9 by the story: reaped quietly
finish
