#!/bin/bash
# Commands that must not run do not (MQTT contract v1.1), on real processes:
# emberd with ember-sim and ember-drain with HAProxy, a real mosquitto, and
# mosquitto_pub / paho as the operator.  A retained cmd/shelve is not run
# again when emberd starts, a retained cmd/test not again on a reconnect; a
# command id runs once; a payload with a raw NUL byte or a key named twice
# is refused; every command gets a result on cmd/result naming its id and
# operator, and the events name the operator (a shelve its end).  The same
# for ember-drain's drain/cmd/{hold,release,undrain}.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
write_room_conf "$T/emberd.conf" "$SIM_PORT" "client_id = cmdtest-a1" "reconnect_min = 100ms" \
    "reconnect_max = 1s"
P=emberwatch/lab/a1
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
# res_after MARK SECONDS PATTERN: a cmd/result recorded after MARK.
res_after() { rec_wait_after "$1" "$2" rec " $P/cmd/result $3"; }
# retained_has NAME PATTERN: the alarm's retained state, straight from the
# broker, matches PATTERN.
retained_has() {
    timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C 1 -t "$P/alarm/$1" | grep -qE -- "$2"
}
rec_start rec "$P/#" "emberwatch/lab/drain/#"

# 1. A retained cmd/shelve left on the broker is not run when emberd starts.
pub -r -t "$P/cmd/shelve" -m '{"alarm":"room-warm","duration":"1h","by":"stale"}'
m=$(rec_mark rec)
start_emberd emberd "$T/emberd.conf"
check "room reads 24" rec_wait 10 rec " $P/sensor/room-temp .*\"value\":24,"
check "retained shelve refused with a result" res_after "$m" 10 \
    '.*"cmd":"shelve","ok":false,"error":"retained command not run.*"by":"stale"'
check "retained shelve refused in the log" log_has "$T/emberd.log" "cmd/shelve rejected: retained command not run"
check "room-warm is not shelved" retained_has room-warm '"shelved":false' 
check "no shelve event" bash -c "! grep -q ' $P/event .*\"transition\":\"shelved\"' '$T/rec.rec'"
pub -r -n -t "$P/cmd/shelve"

# 2. A retained cmd/test runs once when published, never again on a reconnect.
pub -r -t "$P/cmd/test" -m '{"zone":"b3","duration":"1s","by":"tester"}'
check "live test runs once" wait_until 10 log_has "$T/emberd.log" "mqtt command test b3 by tester done"
check "test event names the operator" rec_wait 5 rec \
    " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"test\".*\"by\":\"tester\""
check "test ends" rec_wait 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"test_end\""
m=$(rec_mark rec)
# A client taking over emberd's client id disconnects it; emberd
# reconnects, subscribes again and is handed the retained cmd/test.
timeout 3 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i cmdtest-a1 -t "nothing/here" -C 1 -W 1 >/dev/null 2>&1
check "emberd reconnected" rec_wait_after "$m" 10 rec " $P/status online"
check "retained test refused after the reconnect" res_after "$m" 10 \
    '.*"cmd":"test","ok":false,"error":"retained command not run'
check "test did not run again" test "$(count_lines "$T/emberd.log" "mqtt command test b3 by tester done")" = 1
check "no second test event" bash -c "[ \$(grep -c ' $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"test\"' '$T/rec.rec') -eq 1 ]"
pub -r -n -t "$P/cmd/test"

# 3. A command id runs at most once (a QoS 1 retransmission).
m=$(rec_mark rec)
pub -t "$P/cmd/test" -m '{"zone":"b3","duration":"1s","by":"tester","id":"t-42"}'
check "test with id runs" res_after "$m" 10 '.*"id":"t-42","cmd":"test","ok":true,"by":"tester"'
check "its test ends" wait_until 10 bash -c "[ \$(grep -c ' $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"test_end\"' '$T/rec.rec') -eq 2 ]"
m=$(rec_mark rec)
pub -t "$P/cmd/test" -m '{"zone":"b3","duration":"1s","by":"tester","id":"t-42"}'
check "the same id is refused" res_after "$m" 10 \
    '.*"id":"t-42","cmd":"test","ok":false,"error":"id \\"t-42\\" already seen: not run again","by":"tester"'
check "the duplicate did not run" test "$(count_lines "$T/emberd.log" "mqtt command test b3 by tester done")" = 2
check "duplicate refused in the log" log_has "$T/emberd.log" 'cmd/test rejected: id "t-42" already seen'

# 4. A raw NUL byte and a key named twice are refused; room-hot stays unacked.
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "room-hot really active (not a test)" rec_wait 10 rec \
    " $P/alarm/room-hot .*\"state\":\"active\",\"acked\":false.*\"value\":50,.*\"test\":false"
printf '{"alarm":"room-hot\0junk","by":"nul"}' >"$T/nul.json"
m=$(rec_mark rec)
pub -t "$P/cmd/ack" -f "$T/nul.json"
check "NUL byte refused with a result" res_after "$m" 10 '.*"cmd":"ack","ok":false,"error":"payload contains a NUL byte"'
check "NUL byte refused in the log" log_has "$T/emberd.log" "cmd/ack rejected: payload contains a NUL byte"
m=$(rec_mark rec)
pub -t "$P/cmd/ack" -m '{"alarm":"room-hot","alarm":"room-lost","by":"dup","id":"d-1"}'
check "duplicate key refused with a result" res_after "$m" 10 '.*"cmd":"ack","ok":false,"error":"payload names a key twice"'
check "duplicate key refused in the log" log_has "$T/emberd.log" "cmd/ack rejected: payload names a key twice"
check "room-hot still unacknowledged" retained_has room-hot '"acked":false' 
check "no acked event" bash -c "! grep -q ' $P/event .*\"transition\":\"acked\"' '$T/rec.rec'"

# 5. Results and events name the operator; a shelve carries its end.
m=$(rec_mark rec)
pub -t "$P/cmd/ack" -m '{"alarm":"room-hot","by":"noc-kim","id":"a-1"}'
check "ack result" res_after "$m" 10 '\{"ts":"[^"]+","id":"a-1","cmd":"ack","ok":true,"by":"noc-kim"\}$'
check "acked event names the operator" rec_wait 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"acked\".*\"by\":\"noc-kim\""
pub -t "$P/cmd/shelve" -m '{"alarm":"room-warm","duration":"10m","by":"noc-kim","id":"s-1"}'
check "shelve result" res_after "$m" 10 '.*"id":"s-1","cmd":"shelve","ok":true,"by":"noc-kim"'
check "shelved event with its end and operator" rec_wait 5 rec \
    " $P/event .*\"alarm\":\"room-warm\".*\"transition\":\"shelved\",\"shelved_until\":\"20[0-9-]+T[0-9:.]+Z\",\"by\":\"noc-kim\""
check "retained state carries shelved_until" retained_has room-warm '"shelved":true.*"shelved_until":"20' 
pub -t "$P/cmd/unshelve" -m '{"alarm":"room-warm","by":"noc-lee"}'
check "unshelve result without id" res_after "$m" 10 '.*"id":null,"cmd":"unshelve","ok":true,"by":"noc-lee"'
check "unshelved event names the operator" rec_wait 5 rec " $P/event .*\"alarm\":\"room-warm\".*\"transition\":\"unshelved\",\"shelved_until\":null,\"by\":\"noc-lee\""
pub -t "$P/cmd/unshelve" -m '{"alarm":"room-warm","by":"noc-lee","id":"u-2"}'
check "a command that fails says why" res_after "$m" 10 '.*"id":"u-2","cmd":"unshelve","ok":false,"error":"alarm room-warm is not shelved","by":"noc-lee"'
pub -t "$P/cmd/frobnicate" -m '{}'
check "an unknown command gets a result" res_after "$m" 10 '.*"cmd":"frobnicate","ok":false,"error":"unknown command'
check "emberd never takes its own result for a command" bash -c "! grep -q 'cmd/result rejected' '$T/emberd.log'"
check "results are not retained" bash -c "! grep -q ' 1 $P/cmd/result ' '$T/rec.rec'"
check "emberd still running" kill -0 "$EMBERD_PID"

# 6. ember-drain: the same on drain/cmd/{hold,release,undrain}.
D=emberwatch/lab/drain
start_backends dc1-web dc2-web
start_haproxy web:dc1-web,dc2-web
write_drain_conf "$T/drain.conf" <<EOC
[site lab]
zones = b9
vote = 1
targets = hx
mqtt_commands = yes

[haproxy hx]
socket = $HX_SOCK
servers = web/dc1-web
EOC
dres_after() { rec_wait_after "$1" "$2" rec " $D/cmd/result $3"; }
pub -r -t "$D/cmd/hold" -m '{"by":"stale","reason":"old"}'
m=$(rec_mark rec)
start_drain drain "$T/drain.conf"
check "drain: retained hold refused with a result" dres_after "$m" 10 \
    '.*"cmd":"hold","ok":false,"error":"retained command not run.*"by":"stale"'
check "drain: site serving, not held" site_is lab serving
# The retained hold stays on the broker: clearing it would deliver an empty
# hold, which is a valid command.
m=$(rec_mark rec)
pub -t "$D/cmd/hold" -m '{"by":"ops1","reason":"inspect","id":"h-1"}'
check "drain: hold result" dres_after "$m" 10 '\{"ts":"[^"]+","id":"h-1","cmd":"hold","ok":true,"by":"ops1"\}$'
check "drain: held" wait_until 5 site_is lab held
pub -t "$D/cmd/release" -m '{"by":"ops1","id":"r-1"}'
check "drain: release result" dres_after "$m" 10 '.*"id":"r-1","cmd":"release","ok":true,"by":"ops1"'
check "drain: serving again" wait_until 5 site_is lab serving
m=$(rec_mark rec)
pub -t "$D/cmd/hold" -m '{"by":"ops1","reason":"inspect","id":"h-1"}'
check "drain: the same id is refused" dres_after "$m" 10 '.*"id":"h-1","cmd":"hold","ok":false,"error":"id \\"h-1\\" already seen: not run again","by":"ops1"'
check "drain: the duplicate hold did not run" site_is lab serving
printf '{"by":"ops1\0x","reason":"r"}' >"$T/dnul.json"
pub -t "$D/cmd/hold" -f "$T/dnul.json"
check "drain: NUL byte refused with a result" dres_after "$m" 10 '.*"cmd":"hold","ok":false,"error":"payload contains a NUL byte"'
pub -t "$D/cmd/hold" -m '{"by":"ops1","by":"ops2"}'
check "drain: duplicate key refused with a result" dres_after "$m" 10 '.*"cmd":"hold","ok":false,"error":"payload names a key twice"'
check "drain: still serving" site_is lab serving
check "drain: refusals in the log" log_has "$T/drain.log" "MQTT command hold rejected: payload names a key twice"
check "drain: its own result is never a command" bash -c "! grep -q \"MQTT command 'result'\" '$T/drain.log'"
check "drain: results are not retained" bash -c "! grep -q ' 1 $D/cmd/result ' '$T/rec.rec'"
finish
