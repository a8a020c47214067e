#!/bin/bash
# Alarms end to end on real processes: a Modbus setpoint crossing in ember-sim
# produces the retained alarm state, an event and the zone's drain request on
# a real broker; acknowledgements from emberctl and from MQTT; malformed and
# unknown commands are rejected and change nothing; shelve, test (never a real
# drain), reload, and a restart that keeps seq increasing and republishes.
. "$(dirname "$0")/lib.sh"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"

write_room_conf "$T/emberd.conf" "$SIM_PORT"
cat >>"$T/emberd.conf" <<EOF

[sensor room-rh]
device = room
point = humidity
zone = b3
EOF
P=emberwatch/lab/a1
CTL=("$EMBER_BIN/emberctl" -s "$T/ctl.sock")
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
check "room reads 24" rec_wait 10 rec " $P/sensor/room-temp .*\"value\":24,"
check "initial alarm states published retained-style" rec_wait 10 rec " $P/alarm/room-hot .*\"state\":\"cleared\""
check "initial drain state none" rec_wait 10 rec " $P/drain/b3 .*\"request\":\"none\""
check "control socket is 0660" test "$(stat -c %a "$T/ctl.sock")" = 660

# 1. A setpoint crossing in the Modbus server.
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "activated event" rec_wait 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"state\":\"active\",\"acked\":false.*\"transition\":\"activated\""
check "warning activated too" rec_wait 5 rec " $P/event .*\"alarm\":\"room-warm\".*\"transition\":\"activated\""
check "retained alarm state active" rec_wait 5 rec " $P/alarm/room-hot .*\"severity\":\"critical\",\"state\":\"active\",\"acked\":false,\"shelved\":false,\"value\":50,\"setpoint\":45"
check "zone drain request (vote 1)" rec_wait 5 rec " $P/drain/b3 .*\"request\":\"drain\".*\"alarms\":\\[\"room-hot\"\\].*\"test\":false"
timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C 1 -t "$P/alarm/room-hot" >"$T/ret1"
check "alarm state is retained on the broker" grep -q '"state":"active"' "$T/ret1"
timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C 1 -t "$P/drain/b3" >"$T/ret2"
check "drain request is retained on the broker" grep -q '"request":"drain"' "$T/ret2"

# 2. Ack from emberctl.
"${CTL[@]}" ack room-hot --by tech-lee >"$T/ack.out" 2>&1
check "emberctl ack exits 0" test $? -eq 0
check "acked event" rec_wait 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"acked\":true.*\"transition\":\"acked\""
"${CTL[@]}" ack room-hot >/dev/null 2>"$T/ack2.err"
check "second ack is rejected (exit 1)" test $? -eq 1
check "second ack says why" grep -q "already acknowledged" "$T/ack2.err"

# 3. Ack over MQTT.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/cmd/ack" -m '{"alarm":"room-warm","by":"noc"}'
check "ack over MQTT" rec_wait 5 rec " $P/event .*\"alarm\":\"room-warm\".*\"transition\":\"acked\""

# 4. Malformed and unknown commands: rejected, nothing changes.
before=$(grep -c " $P/event " "$T/rec.rec")
for bad in 'not json' '{"alarm":5}' '{"alarm":"ghost","duration":"1m"}' '[1,2]' '{"alarm":"room-hot","duration":"x"}'; do
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/cmd/shelve" -m "$bad"
done
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/cmd/frobnicate" -m '{}'
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/cmd/reload" -m '{}'
check "each bad command is logged" wait_until 5 bash -c "[ \$(grep -c 'mqtt command .* rejected' '$T/emberd.log') -ge 7 ]"
check "unknown alarm named in the log" log_has "$T/emberd.log" 'unknown alarm "ghost"'
check "reload is not an MQTT command" log_has "$T/emberd.log" 'cmd/reload rejected: unknown command'
check "no event from bad commands" test "$(grep -c " $P/event " "$T/rec.rec")" -eq "$before"
check "emberd still running" kill -0 "$EMBERD_PID"

# 5. Shelve and unshelve from emberctl.
"${CTL[@]}" shelve room-warm 30m >/dev/null
check "shelved event" rec_wait 5 rec " $P/event .*\"alarm\":\"room-warm\".*\"shelved\":true.*\"transition\":\"shelved\""
"${CTL[@]}" unshelve room-warm >/dev/null
check "unshelved event" rec_wait 5 rec " $P/event .*\"alarm\":\"room-warm\".*\"transition\":\"unshelved\""
"${CTL[@]}" shelve ghost 30m 2>/dev/null
check "shelving an unknown alarm exits 1" test $? -eq 1

# 6. Tables and JSON.
"${CTL[@]}" status >"$T/status.out"
check "status table shows the sensor" grep -qE "^room-temp +50 +C +good" "$T/status.out"
check "status table shows the zone" grep -qE "^b3 +drain +1/1" "$T/status.out"
"${CTL[@]}" alarms >"$T/alarms.out"
check "alarms table" grep -qE "^room-hot +active +yes +no +critical" "$T/alarms.out"
"${CTL[@]}" --json alarms | $PY -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] and len(d["alarms"]) == 3'
check "alarms --json parses" test $? -eq 0
"$EMBER_BIN/emberctl" -s "$T/nope.sock" status 2>/dev/null
check "unreachable emberd exits 3" test $? -eq 3
"$EMBER_BIN/emberctl" -c "$T/emberd.conf" status >/dev/null
check "emberctl -c finds the socket in the config" test $? -eq 0

# 7. Clear, then a zone test: test alarms shown, a test drain, never a real one.
echo "set xy-md02.temperature 24" >"$T/sim.ctl"
check "cleared event" rec_wait 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"cleared\""
check "drain request back to none" rec_wait 5 rec " $P/drain/b3 .*\"request\":\"none\".*\"votes\":0"
n=$(rec_mark rec)
"${CTL[@]}" test b3 2s >/dev/null
check "test event with test:true" rec_wait 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"test\":true.*\"transition\":\"test\""
check "test drain is marked test" rec_wait 5 rec " $P/drain/b3 .*\"request\":\"drain\".*\"test\":true"
check "test ends by itself" rec_wait 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"test_end\""
check "a test never publishes a real drain" bash -c "! tail -n +$((n + 1)) '$T/rec.rec' | grep ' $P/drain/b3 ' | grep '\"request\":\"drain\"' | grep -q '\"test\":false'"

# 8. Restart: seq keeps increasing, states republished, acks kept.
m=$(rec_mark rec)
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
rec_wait_after "$m" 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"activated\"" ||
    die "no re-activation"
"${CTL[@]}" ack room-hot >/dev/null || die "ack failed"
rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"acked\"" || die "no ack"
max_before=$(grep " $P/event " "$T/rec.rec" | sed -E 's/.*"seq":([0-9]+).*/\1/' | sort -n | tail -1)
kill -TERM "$EMBERD_PID"
wait "$EMBERD_PID"
m=$(rec_mark rec)
start_emberd emberd2 "$T/emberd.conf"
check "restart republishes the active alarm with its ack" \
    rec_wait_after "$m" 10 rec " $P/alarm/room-hot .*\"state\":\"active\",\"acked\":true"
echo "set xy-md02.temperature 24" >"$T/sim.ctl"
check "the alarm clears after the restart" \
    rec_wait_after "$m" 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"cleared\""
seq_after=$(tail -n +$((m + 1)) "$T/rec.rec" | grep " $P/event " | sed -E 's/.*"seq":([0-9]+).*/\1/' | sort -n | head -1)
log "last seq before restart $max_before, first after $seq_after"
check "seq keeps increasing across a restart" test "$seq_after" -gt "$max_before"
check "no re-announcement of the still-active alarm after restart" \
    bash -c "! tail -n +$((m + 1)) '$T/rec.rec' | grep ' $P/event ' | grep -q '\"transition\":\"activated\"'"

# 9. Reload: a bad config is refused and changes nothing; a good one applies.
cp "$T/emberd.conf" "$T/emberd.conf.good"
echo "[alarm broken" >>"$T/emberd.conf"
"${CTL[@]}" reload 2>"$T/reload.err"
check "reload of a broken config exits 1" test $? -eq 1
check "reload error names file:line" grep -q "emberd.conf:[0-9]*: syntax error" "$T/reload.err"
# emberctl -c on the broken file: emberctl(1) promises exit 1 and the
# first error (emberd's), not a usage error before emberd is asked.
"$EMBER_BIN/emberctl" -c "$T/emberd.conf" reload 2>"$T/reload-c.err"
check "reload -c of a broken config exits 1" test $? -eq 1
check "... with emberd's first error" \
    grep -q "emberctl: reload: configuration has 1 error; first: .*emberd.conf:[0-9]*: syntax error" \
    "$T/reload-c.err"
# A first error longer than 180 characters comes through whole.
long=$(printf 'x%.0s' $(seq 180))
cp "$T/emberd.conf.good" "$T/emberd.conf"
printf '[alarm long]\nsensor = %s\nkind = high\nsetpoint = 1\n' "$long" >>"$T/emberd.conf"
"$EMBER_BIN/emberd" -n -c "$T/emberd.conf" 2>"$T/check-long.err"
first=$(head -n 1 "$T/check-long.err")
check "(the first error is long: ${#first} characters)" test "${#first}" -gt 200
"${CTL[@]}" reload 2>"$T/reload-long.err"
check "reload with a long first error exits 1" test $? -eq 1
check "... and prints that error whole" grep -qF -- "first: $first" "$T/reload-long.err"
# Every [mqtt] key takes a restart: the reload is refused, naming the key.
sed "s/^port = $MQTT_PORT\$/&\nkeepalive = 30/" "$T/emberd.conf.good" >"$T/emberd.conf"
check "(the test config now sets [mqtt] keepalive)" grep -qx "keepalive = 30" "$T/emberd.conf"
"${CTL[@]}" reload 2>"$T/reload-mqtt.err"
check "reload of an [mqtt] change exits 1" test $? -eq 1
check "... naming the key" grep -qF "reload refused: [mqtt] keepalive changed; restart" \
    "$T/reload-mqtt.err"
cp "$T/emberd.conf.good" "$T/emberd.conf"
cat >>"$T/emberd.conf" <<EOF

[alarm room-dry]
sensor = room-rh
kind = low
setpoint = 50
EOF
"${CTL[@]}" reload >/dev/null
check "reload applies a good config" test $? -eq 0
check "new alarm active after reload" rec_wait 10 rec " $P/event .*\"alarm\":\"room-dry\".*\"transition\":\"activated\""

# 10. A reload applies control_mode (chmod of the socket) and journal_max in
# place, and refuses a key that needs a restart, naming it.
# (Into the one [agent] section: a second one is an error.)
sed -i 's/^\[agent\]$/[agent]\ncontrol_mode = 0600\njournal_max = 5000/' "$T/emberd.conf"
"${CTL[@]}" reload >/dev/null
check "reload applies control_mode and journal_max" test $? -eq 0
check "control socket is now mode 0600" test "$(stat -c %a "$T/ctl.sock")" = 600
check "applied keys are logged" log_has "$T/emberd2.log" "reload: applied \[agent\] journal_max, \[agent\] control_mode"
cp "$T/emberd.conf" "$T/emberd.conf.good"
sed -i "s|^gpio_sim = .*|gpio_sim = $T/other-fifo|" "$T/emberd.conf"
"${CTL[@]}" reload 2>"$T/reload.err"
check "reload of a restart-only change exits 1" test $? -eq 1
check "the refusal names the key" grep -q "reload refused: \[agent\] gpio_sim changed; restart emberd to apply it" "$T/reload.err"
check "the refused reload left the socket alone" test "$(stat -c %a "$T/ctl.sock")" = 600
cp "$T/emberd.conf.good" "$T/emberd.conf"
check "emberd survived it all" kill -0 "$EMBERD_PID"
finish
