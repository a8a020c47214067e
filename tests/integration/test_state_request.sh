#!/bin/bash
# State requests (contract v1.2): a message on {p}/_state/request, or on
# {p}/_state/request/{site}, makes every agent and drain controller of that
# site republish its status, alarm states and drain requests (emberd) or its
# drain states (ember-drain), with their current seq: a console that gets no
# retained messages (RabbitMQ and a wildcard subscription) still gets the
# full state.  Real mosquitto, ember-sim, emberd, ember-drain and HAProxy.
# Requests within 5 s of an answer are coalesced into one answer at the end
# of the gap; a request for another site is not answered; a retained request
# is never taken for one when the broker replays it on a connect.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 500ms "reconnect_min = 100ms" "reconnect_max = 1s"
P=emberwatch/lab/a1
D=emberwatch/lab/drain
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
ask() { pub -t "emberwatch/_state/request$1" -m "{\"by\":\"test\"}"; }
start_emberd emberd "$T/emberd.conf"
start_backends dc1-web
start_haproxy web:dc1-web
write_lab_conf 0s <<EOC
zones = b3
vote = 1
EOC
start_drain drain "$T/drain.conf"
rec_start rec "emberwatch/#"
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "room-hot active" rec_wait 10 rec " $P/alarm/room-hot .*\"state\":\"active\""
check "zone b3 requests drain" rec_wait 10 rec " $P/drain/b3 .*\"request\":\"drain\""
check "site lab drained" rec_wait 10 rec " $D/state .*\"state\":\"drained\""
alarm_seq=$(grep " $P/alarm/room-hot " "$T/rec.rec" | tail -1 | sed -E 's/.*"seq":([0-9]+).*/\1/')
drain_seq=$(grep " $P/drain/b3 " "$T/rec.rec" | tail -1 | sed -E 's/.*"seq":([0-9]+).*/\1/')
check "seqs read" test -n "$alarm_seq" -a -n "$drain_seq"
served() { count_lines "$T/$1.log" "mqtt: state request: republishing"; }

# 1. One request: everything again, with the seq it had (no new transition).
m=$(rec_mark rec)
ask ""
check "agent status republished" rec_wait_after "$m" 10 rec " $P/status online$"
check "alarm state republished with its own seq" rec_wait_after "$m" 10 rec \
    " $P/alarm/room-hot .*\"state\":\"active\".*\"seq\":$alarm_seq,"
check "other alarm states too" rec_wait_after "$m" 10 rec " $P/alarm/_journal "
check "drain request republished with its own seq" rec_wait_after "$m" 10 rec \
    " $P/drain/b3 .*\"request\":\"drain\".*\"seq\":$drain_seq,"
check "controller status republished" rec_wait_after "$m" 10 rec " emberwatch/_drain/test/status online$"
check "site view republished" rec_wait_after "$m" 10 rec " $D/state .*\"state\":\"drained\""
check "no event made by the request" bash -c "! tail -n +$((m + 1)) '$T/rec.rec' | grep -q ' $P/event '"
check "emberd answered once" test "$(served emberd)" = 1
check "ember-drain answered once" test "$(served drain)" = 1

# 2. Ten more requests at once, within 5 s of that answer: one answer, at
#    the end of the gap, for all ten.
m=$(rec_mark rec)
for i in 1 2 3 4 5 6 7 8 9 10; do ask ""; done
check "the burst is answered" rec_wait_after "$m" 10 rec " $P/alarm/room-hot .*\"seq\":$alarm_seq,"
check "the controller answers the burst" rec_wait_after "$m" 10 rec " $D/state .*\"state\":\"drained\""
check "once by emberd" stays 6 test "$(served emberd)" = 2
check "once by ember-drain" test "$(served drain)" = 2
check "every request counted" log_has "$T/emberd.log" "republishing every state (11 requests so far)"
check "agent status once for the burst" test "$(tail -n +$((m + 1)) "$T/rec.rec" | grep -c " $P/status online$")" = 1

# 3. A request for another site is not answered; one for lab is.
ask /elsewhere
check "another site's request is ignored" stays 6 test "$(served emberd)" = 2
check "by the controller too" test "$(served drain)" = 2
m=$(rec_mark rec)
ask /lab
check "the site's request is answered" rec_wait_after "$m" 10 rec " $P/alarm/room-hot .*\"seq\":$alarm_seq,"
check "by the controller too" rec_wait_after "$m" 10 rec " $D/state .*\"state\":\"drained\""

# 4. A retained request is answered when published, never when the broker
#    replays it on a connect.
pub -r -t "emberwatch/_state/request" -m '{"by":"stale"}'
stop_pid "$EMBERD_PID"
start_emberd emberd2 "$T/emberd.conf"
check "a replayed retained request is refused" wait_until 10 log_has "$T/emberd2.log" \
    "state request on emberwatch/_state/request ignored: it is retained"
check "and not answered" stays 6 test "$(served emberd2)" = 0
pub -r -n -t "emberwatch/_state/request"
check "emberd still running" kill -0 "$EMBERD_PID"
check "ember-drain still running" kill -0 "$DRAIN_PID"
finish
