#!/bin/bash
# The console on RabbitMQ (run by tests/console/run.sh inside its network
# namespace): a private RabbitMQ node with its MQTT and Web MQTT plugins
# (WebSockets on /ws), ember-sim, emberd a1 (zone b3), ember-drain draining
# web/b3-web1 and web/b3-web2 in a real HAProxy, and the page served by
# python3 -m http.server (RabbitMQ serves no files).  The alarm is raised and
# the site drained before the page connects: RabbitMQ delivers no retained
# message to a wildcard subscription, so the page shows the alarm, the
# agent and the drain only because emberd and ember-drain answer its state
# request ({p}/_state/request).
. "$(dirname "$0")/stack.sh"
[ -d "$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins/rabbitmq_web_mqtt-* 2>/dev/null | head -1)" ] ||
    die "the rabbitmq_web_mqtt plugin is missing (rabbitmq-server)"
# Without the state request this phase can only time out: say so at once.
grep -q "_state/request" "$EMBER_BIN/emberd" ||
    die "$EMBER_BIN/emberd does not answer state requests ({p}/_state/request)"
grep -q "_state/request" "$EMBER_BIN/ember-drain" ||
    die "$EMBER_BIN/ember-drain does not answer state requests ({p}/_state/request)"

WEB_PORT=$(free_port)
t0=$(date +%s%N)
start_rabbitmq rabbitmq_mqtt,rabbitmq_web_mqtt "web_mqtt.tcp.ip = 127.0.0.1" "web_mqtt.tcp.port = $WEB_PORT"
web_open() { (exec 3<>"/dev/tcp/127.0.0.1/$WEB_PORT") 2>/dev/null; }
wait_until 30 web_open || die "RabbitMQ's Web MQTT listener did not open"
log "RabbitMQ $RMQ_VERSION with Web MQTT ready after $((($(date +%s%N) - t0) / 1000000)) ms"
only_loopback() {
    local n
    n=$(loopback_listeners "$RMQ_BEAM") && [ "$n" -ge 4 ] # AMQP, MQTT, Web MQTT, distribution
}
check "the node listens on 127.0.0.1 only" only_loopback

SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
printf 'guest\n' >"$T/rmq.pw"
chmod 600 "$T/rmq.pw"
write_room_conf "$T/a1.conf" "$SIM_PORT" "protocol = 3.1.1" "keepalive = 5" "username = guest" \
    "password_file = $T/rmq.pw" "reconnect_min = 100ms" "reconnect_max = 1s"
rec_start rec "emberwatch/#"
start_emberd a1 "$T/a1.conf"
A1_PID=$EMBERD_PID

lab_site a1 b3

# The crossing, before any page is open.
P=emberwatch/lab
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "room-hot active" rec_wait 10 rec " $P/a1/alarm/room-hot .*\"state\":\"active\",\"acked\":false"
check "HAProxy: b3-web1 drained" wait_until 10 hx_is web/b3-web1 drain
check "HAProxy: b3-web2 drained" wait_until 10 hx_is web/b3-web2 drain
check "retained drain/state drained" rec_wait 10 rec " $P/drain/state .*\"state\":\"drained\""
# What the page would get from its wildcard subscription on its own: no
# retained message (a 2 s watch).
n=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -W 2 -F '%r %t' -t "emberwatch/#" 2>/dev/null |
    grep -c '^1 ')
check "RabbitMQ $RMQ_VERSION gives a late wildcard subscriber no retained message ($n)" test "$n" -eq 0

HTTP_PORT=$(free_port)
start_bg http $PY -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$DIST"
wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/" || die "http.server did not start"

export CONSOLE_SHOT_FIRST=21
run_story rabbitmq "http://127.0.0.1:$HTTP_PORT/?broker=ws://127.0.0.1:$WEB_PORT/ws&username=guest&password=guest&operator=noc-lee&prefix=emberwatch&autoconnect=1"
finish
