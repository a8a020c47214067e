#!/bin/bash
# The MQTT 3.1.1 contract against another broker: RabbitMQ's MQTT plugin, a
# private node on loopback (its own node name, ports, epmd, directories and
# cookie under $T).  Real emberd + ember-sim: status online retained for a
# late subscriber, telemetry, an alarm activation (retained state + event),
# an ack over cmd/ack, the zone's drain request, a state request answered
# to a wildcard subscriber, and the Last Will "offline" after kill -9.
# Then a user without read on its own status topic, with and without
# [mqtt] answer_stale_will.
#
# RabbitMQ 3.10 keeps retained messages per node and sends them only to
# subscriptions without wildcards; late subscribers here name exact topics.
. "$(dirname "$0")/lib.sh"

[ -d "$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins/rabbitmq_mqtt-* 2>/dev/null | head -1)" ] ||
    die "the rabbitmq_mqtt plugin is missing"

# ---------------------------------------------------------------- a private node
t0=$(date +%s%N)
start_rabbitmq rabbitmq_mqtt
check "rabbitmq_mqtt enabled in the private plugins file" grep -q rabbitmq_mqtt "$RMQ_DIR/enabled_plugins"
log "RabbitMQ $RMQ_VERSION MQTT ready after $((($(date +%s%N) - t0) / 1000000)) ms"
BEAM=$RMQ_BEAM
listens_only_loopback() {
    local n
    n=$(loopback_listeners "$BEAM") && [ "$n" -ge 3 ] # AMQP, MQTT, Erlang distribution
}
check "the node listens on 127.0.0.1 only" listens_only_loopback

# ---------------------------------------------------------------- emberd on RabbitMQ
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
printf 'guest\n' >"$T/rmq.pw"
chmod 600 "$T/rmq.pw"
KEEPALIVE=5
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 500ms "protocol = 3.1.1" "keepalive = $KEEPALIVE" \
    "username = guest" "password_file = $T/rmq.pw" "reconnect_max = 1s"
P=emberwatch/lab/a1
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
check "emberd connected to RabbitMQ" wait_until 10 log_has "$T/emberd.log" "mqtt: connected to 127.0.0.1:$MQTT_PORT"
check "status online" rec_wait 10 rec " $P/status online$"

# late SUB TOPIC: a new MQTT 3.1.1 subscriber's first message as "RETAIN PAYLOAD".
late() {
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -C 1 -W 5 -F '%r %p' -t "$1" 2>/dev/null
}
# shellcheck disable=SC2053 # the pattern is meant to match as a glob
glob() { [[ $1 == $2 ]]; } # glob STRING PATTERN
check "late subscriber reads the retained status online" test "$(late "$P/status")" = "1 online"
check "telemetry" rec_wait 10 rec " $P/sensor/room-temp \{.*\"value\":24,\"unit\":\"C\",\"quality\":\"good\"\}$"
check "initial alarm state" rec_wait 10 rec " $P/alarm/room-hot .*\"state\":\"cleared\""
check "initial drain state none" rec_wait 10 rec " $P/drain/b3 .*\"request\":\"none\""

echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "alarm activated: event" \
    rec_wait 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"state\":\"active\",\"acked\":false.*\"transition\":\"activated\""
check "alarm activated: state" rec_wait 5 rec " $P/alarm/room-hot .*\"state\":\"active\",\"acked\":false"
check "zone drain request" rec_wait 5 rec " $P/drain/b3 .*\"request\":\"drain\".*\"alarms\":\\[\"room-hot\"\\].*\"test\":false"
r=$(late "$P/alarm/room-hot")
check "late subscriber reads the retained alarm state active" \
    glob "$r" '1 {*"state":"active","acked":false*}'
r=$(late "$P/drain/b3")
check "late subscriber reads the retained drain request" glob "$r" '1 {*"request":"drain"*}'
n=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -W 2 -F '%r %t' -t "$P/#" 2>/dev/null |
    grep -c '^1 ')
log "NOTE: a late subscriber to $P/# got $n retained messages (RabbitMQ sends retained messages only to exact topics)"
# What a console does instead: subscribe to the wildcard, then ask for the
# state (contract v1.2); emberd republishes it, with the seq it had.
rec_start late "emberwatch/#"
m=$(rec_mark late)
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -q 1 -t emberwatch/_state/request -m '{"by":"console"}'
check "state request: status online to a wildcard subscriber" rec_wait_after "$m" 10 late " $P/status online$"
check "state request: the active alarm state" rec_wait_after "$m" 10 late \
    " $P/alarm/room-hot .*\"state\":\"active\",\"acked\":false"
check "state request: the zone's drain request" rec_wait_after "$m" 10 late " $P/drain/b3 .*\"request\":\"drain\""
stop_pid "$REC_PID"

mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -q 1 -t "$P/cmd/ack" -m '{"alarm":"room-hot","by":"noc"}'
check "ack over cmd/ack" rec_wait 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"acked\":true.*\"transition\":\"acked\""
check "emberd logged the command" wait_until 10 log_has "$T/emberd.log" "mqtt command ack room-hot by noc done"
late_acked() { glob "$(late "$P/alarm/room-hot")" '1 {*"state":"active","acked":true*}'; }
check "retained alarm state now acked" wait_until 10 late_acked

echo "set xy-md02.temperature 24" >"$T/sim.ctl"
check "alarm cleared" rec_wait 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"cleared\""
check "drain request back to none" rec_wait 5 rec " $P/drain/b3 .*\"request\":\"none\""
check "event seq strictly increasing" bash -c "grep ' $P/event ' '$T/rec.rec' | sed -E 's/.*\"seq\":([0-9]+).*/\\1/' |
    awk 'NR > 1 && \$1 <= p { exit 1 } { p = \$1 }'"

# Last Will: kill -9, RabbitMQ publishes "offline" (retained).
K=$(mono_ms)
kill -KILL "$EMBERD_PID"
wait "$EMBERD_PID" 2>/dev/null # (reap it quietly)
check "Last Will offline after kill -9" rec_wait 10 rec " $P/status offline$"
t=$(grep " $P/status offline$" "$T/rec.rec" | head -1 | cut -d' ' -f1)
d=$($PY -c "print(int($t - $K))")
log "Last Will after kill -9: ${d} ms (limit $((KEEPALIVE * 1500)) ms)"
check "offline within 1.5 keepalives" test "$d" -le $((KEEPALIVE * 1500))
check "late subscriber reads the retained status offline" test "$(late "$P/status")" = "1 offline"

# emberd comes back: online again, states republished.
m=$(rec_mark rec)
start_emberd emberd2 "$T/emberd.conf"
check "restarted emberd is online again" rec_wait_after "$m" 10 rec " $P/status online$"
check "late subscriber reads online again" test "$(late "$P/status")" = "1 online"
check "no broker-side error about emberd's session" \
    bash -c "! grep -iE 'error.*(emberd-lab-a1|client id)' '$T/rabbitmq.log'"
stop_pid "$EMBERD_PID"

# A site whose broker gives the agent no read on its own status topic
# (RabbitMQ topic permissions, MQTT topics as routing keys with '.'): the
# session's subscription to it, which answers stale Last Wills, is refused.
# With [mqtt] answer_stale_will = no the agent makes no such subscription.
check "user agent added" rabbitmqctl_node add_user agent agent-pw
check "agent may use the vhost" rabbitmqctl_node set_permissions -p / agent '.*' '.*' '.*'
check "agent may write every topic, and read all but its own status" \
    rabbitmqctl_node set_topic_permissions -p / agent amq.topic '.*' '^(?!emberwatch\.lab\.a1\.status$).*'
printf 'agent-pw\n' >"$T/agent.pw"
chmod 600 "$T/agent.pw"
for answer in yes no; do
    write_zone_conf "$T/emberd-$answer.conf" "$SIM_PORT" 500ms "protocol = 3.1.1" "keepalive = $KEEPALIVE" \
        "username = agent" "password_file = $T/agent.pw" "reconnect_max = 1s" "answer_stale_will = $answer"
done
# The default: the refusal shows, as a SUBACK refusal that emberd logs naming
# the topic (RabbitMQ 4.0), after which emberd works on, or as the broker
# closing the connection and logging the refused read (RabbitMQ 3.10).
m=$(rec_mark rec)
start_emberd emberd-yes "$T/emberd-yes.conf"
warned() { log_has "$T/emberd-yes.log" "refused the subscription to our own status $P/status"; }
closed() {
    [ "$(grep -c 'mqtt: connected to' "$T/emberd-yes.log")" -ge 2 ] &&
        grep -qiE "access.*refused.*agent|access_refused" "$T/rabbitmq.log"
}
check "answer_stale_will = yes: the broker refuses the status subscription" wait_until 20 eval 'warned || closed'
if warned; then
    check "answer_stale_will = yes, refused with a SUBACK: online all the same" \
        rec_wait_after "$m" 10 rec " $P/status online$"
    log "NOTE: RabbitMQ $RMQ_VERSION refuses the subscription with a SUBACK"
else
    log "NOTE: RabbitMQ $RMQ_VERSION closes the connection: $(grep -m1 -iE 'access.*refused.*agent|access_refused' "$T/rabbitmq.log")"
fi
stop_pid "$EMBERD_PID"
m=$(rec_mark rec)
start_emberd emberd-no "$T/emberd-no.conf"
check "answer_stale_will = no: connected" wait_until 10 log_has "$T/emberd-no.log" "mqtt: connected to"
check "answer_stale_will = no: online" rec_wait_after "$m" 10 rec " $P/status online$"
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "answer_stale_will = no: an alarm goes out" rec_wait_after "$m" 10 rec \
    " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"activated\""
echo "set xy-md02.temperature 24" >"$T/sim.ctl"
check "answer_stale_will = no: and its clearing" rec_wait_after "$m" 10 rec \
    " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"cleared\""
check "answer_stale_will = no: one connection, never closed by the broker" \
    test "$(grep -c 'mqtt: connected to' "$T/emberd-no.log")" -eq 1
check "answer_stale_will = no: nothing refused" bash -c "! grep -q 'refused the subscription' '$T/emberd-no.log'"
finish
