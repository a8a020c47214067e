#!/bin/bash
# A broker connection reset while emberd answers a message that came on it.
# The first broker in the list (reset_broker.py) answers emberd's first
# keepalive PINGREQ with a state request and resets the connection right
# behind it, while emberd is stopped (SIGSTOP), so that emberd reads the
# request with the reset already there and the write of its answer is
# refused.  emberd must see the connection lost, move to the next broker (a
# real mosquitto) and go on publishing.  Had it written the answer from
# inside libmosquitto's message callback, libmosquitto 2.0.11 would report
# the loss through on_disconnect under the callback mutex it already holds
# and leave emberd's only thread asleep for good.  (test_failover once ran
# into this at random: a PUBACK's callback refilled the window on a socket
# that had just died.)
. "$(dirname "$0")/lib.sh"

P=emberwatch/lab/a1
start_broker
RPORT=$(free_port)
start_bg reset $PY "$TOP/tests/integration/reset_broker.py" --port "$RPORT" \
    --send emberwatch/_state/request --payload '{"by":"test"}' \
    --pause-pidfile "$T/emberd.pid" --log "$T/reset.rec"
wait_until 10 log_has "$T/reset.rec" "# listening" || die "reset_broker.py did not listen"
rec_start rec "$P/#"

write_contact_conf "$T/emberd.conf" "host = 127.0.0.1:$RPORT, 127.0.0.1:$MQTT_PORT" \
    "keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s"
start_emberd emberd "$T/emberd.conf"
echo "$EMBERD_PID" >"$T/emberd.pid"
check "the first broker sent a state request and reset the connection" \
    wait_until 20 log_has "$T/reset.rec" "# reset" # a keepalive (5 s) after the connect
check "emberd read the state request that came before the reset" \
    wait_until 10 log_has "$T/emberd.log" "mqtt: state request: republishing"
if ! wait_until 15 log_has "$T/emberd.log" "mqtt: connection to 127.0.0.1:$RPORT lost"; then
    proc_state "$EMBERD_PID"
    die "emberd did not notice the reset connection"
fi
check "emberd moved to the next broker" \
    wait_until 15 log_has "$T/emberd.log" "mqtt: connected to 127.0.0.1:$MQTT_PORT (broker 2 of 2)"
check "online on the next broker" rec_wait 10 rec " $P/status online$"

toggles 1
check "an alarm event after the reset reaches a consumer" rec_wait 10 rec " $P/event "
check "emberd is still running" alive "$EMBERD_PID"
finish
