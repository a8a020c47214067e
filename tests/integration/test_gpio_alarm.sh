#!/bin/bash
# GPIO contacts on the simulated backend: an edge produces the sensor reading,
# the retained alarm, the event and the zone's drain request on a real broker;
# a chattering contact produces one alarm, not dozens; the alarm output
# (buzzer) follows unacknowledged critical alarms; ember-sim drives the same
# inputs through its control FIFO.
. "$(dirname "$0")/lib.sh"

start_broker
cat >"$T/board.conf" <<EOF
[board]
name = testboard
description = bench board with two contacts and a buzzer, simulated GPIO

[input smoke1]
line = 17
active_low = yes
debounce = 20ms

[input heat1]
line = 27
active_low = yes
debounce = 20ms

[output buzzer]
line = 22
EOF
CONF_AGENT_EXTRA=("board = $T/board.conf" "alarm_outputs = buzzer")
write_conf "$T/emberd.conf" <<EOF
[sensor smoke]
gpio = smoke1
zone = b3

[sensor heat]
gpio = heat1
zone = b3

[alarm smoke]
sensor = smoke
kind = contact
severity = critical

[alarm heat]
sensor = heat
kind = contact
severity = critical
off_delay = 0

[zone b3]
vote = 1
EOF
P=emberwatch/lab/a1
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
check "simulated backend announced" log_has "$T/emberd.log" "gpio: simulated backend"
check "FIFO created" test -p "$T/gpio-sim"
check "initial contact state published" rec_wait 5 rec " $P/alarm/smoke .*\"state\":\"cleared\""

gpio() { printf '%s %s\n' "$1" "$2" >"$T/gpio-sim"; }
status_output() { "$EMBER_BIN/emberctl" -s "$T/ctl.sock" -j status |
    $PY -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin)["outputs"] if o["name"]=="buzzer"][0])'; }

# 1. One clean edge.
check "buzzer off at start" test "$(status_output)" = 0
m=$(rec_mark rec)
gpio smoke1 1
check "sensor reads the contact" rec_wait_after "$m" 5 rec " $P/sensor/smoke .*\"value\":1,.*\"good\""
check "alarm event" rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"smoke\".*\"kind\":\"contact\".*\"state\":\"active\".*\"transition\":\"activated\""
check "retained alarm state" rec_wait_after "$m" 5 rec " $P/alarm/smoke .*\"state\":\"active\""
check "zone drain request" rec_wait_after "$m" 5 rec " $P/drain/b3 .*\"request\":\"drain\",.*\"alarms\":\\[\"smoke\"\\]"
check "buzzer on for an unacknowledged critical alarm" wait_until 5 bash -c "[ \"\$($(declare -f status_output); EMBER_BIN=$EMBER_BIN T=$T PY=$PY status_output)\" = 1 ]"
check "emberctl status (text) shows the buzzer on" eval "'$EMBER_BIN/emberctl' -s '$T/ctl.sock' status | grep -qE '^buzzer +on\$'"
"$EMBER_BIN/emberctl" -s "$T/ctl.sock" ack smoke >/dev/null
check "buzzer off once acknowledged" test "$(status_output)" = 0
check "emberctl status (text) shows it off" eval "'$EMBER_BIN/emberctl' -s '$T/ctl.sock' status | grep -qE '^buzzer +off\$'"
gpio smoke1 0
check "clears after the 2 s contact off-delay" rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"smoke\".*\"transition\":\"cleared\""

# 2. Chatter: 5 ms toggles for 1 s, then settled open.
m=$(rec_mark rec)
$PY - "$T/gpio-sim" <<'EOF'
import sys, time
f = open(sys.argv[1], "w", buffering=1)
end = time.monotonic() + 1.0
v = 0
while time.monotonic() < end:
    v ^= 1
    f.write("smoke1 %d\n" % v)
    time.sleep(0.005)
f.write("smoke1 0\n")
EOF
check "chatter ends cleared" rec_wait_after "$m" 10 rec " $P/event .*\"alarm\":\"smoke\".*\"transition\":\"cleared\""
n_act=$(tail -n +$((m + 1)) "$T/rec.rec" | grep " $P/event " | grep -c '"alarm":"smoke".*"transition":"activated"')
n_changes=$(tail -n +$((m + 1)) "$T/rec.rec" | grep -c " $P/sensor/smoke ")
log "chatter: $n_changes debounced contact changes, $n_act alarm activation(s)"
check "a chattering contact produces one alarm" test "$n_act" -eq 1
check "debounce bounds the changes (<= 1 per 20 ms)" test "$n_changes" -le 51

# A reload keeps watching the contacts.
"$EMBER_BIN/emberctl" -s "$T/ctl.sock" reload >/dev/null
check "reload accepted" test $? -eq 0
m=$(rec_mark rec)
gpio smoke1 1
check "contact still watched after a reload" rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"smoke\".*\"transition\":\"activated\""
gpio smoke1 0
rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"smoke\".*\"transition\":\"cleared\"" || die "no clear"

# 3. ember-sim drives the same inputs.
start_sim sim -p xy-md02 --tcp "127.0.0.1:$(free_port)" -g "$T/gpio-sim" -c "$T/sim.ctl"
m=$(rec_mark rec)
echo "gpio heat1 1" >"$T/sim.ctl"
check "ember-sim gpio command raises the heat alarm" rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"heat\".*\"transition\":\"activated\""
echo "gpio heat1 0" >"$T/sim.ctl"
check "and clears it (off_delay 0)" rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"heat\".*\"transition\":\"cleared\""

# 4. Garbage on the FIFO is logged and ignored.
printf 'nonsense\nsmoke1 7\nghost 1\n' >"$T/gpio-sim"
check "bad FIFO lines are logged" wait_until 5 log_has "$T/emberd.log" "ghost"
check "emberd keeps running" kill -0 "$EMBERD_PID"
kill -TERM "$EMBERD_PID"
wait "$EMBERD_PID"
check "FIFO removed on exit" test ! -e "$T/gpio-sim"
finish
