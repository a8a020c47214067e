#!/bin/bash
# End to end on real components: ember-sim serving three device profiles over
# Modbus TCP and RTU (socat pty pair), emberd polling them, a real mosquitto,
# and an independent paho subscriber checking topics and payloads.
. "$(dirname "$0")/lib.sh"

start_broker
SIM_PORT=$(free_port)
socat_pair "$T/rtu-sim" "$T/rtu-agent"

cat >"$T/bench.scn" <<EOF
[sim]
profile_dir = $TOP/agent/profiles

[listen tcp0]
tcp = 127.0.0.1:$SIM_PORT

[listen rtu0]
rtu = $T/rtu-sim
baud = 19200
parity = even

[device room]
listen = tcp0
slave = 1
profile = xy-md02

[device ups]
listen = tcp0
slave = 2
profile = apc-smart-ups

[device node]
listen = rtu0
slave = 5
profile = ember-node

[signal room.temperature]
initial = 23.5
EOF
start_sim sim -s "$T/bench.scn" -c "$T/sim.ctl"

write_conf "$T/emberd.conf" "keepalive = 5" <<EOF
[bus tcp]
type = tcp
host = 127.0.0.1
port = $SIM_PORT

[bus rs485]
type = rtu
device = $T/rtu-agent
baud = 19200
parity = even
rs485 = yes

[device room]
bus = tcp
slave = 1
profile = xy-md02
interval = 500ms

[device ups]
bus = tcp
slave = 2
profile = apc-smart-ups
interval = 500ms

[device node]
bus = rs485
slave = 5
profile = ember-node
interval = 500ms

[sensor room-temp]
device = room
point = temperature
zone = b3

[sensor ups-batt]
device = ups
point = battery_temperature

[sensor ups-on-battery]
device = ups
point = on_battery

[sensor ups-vin]
device = ups
point = input_voltage

[sensor node-m2]
device = node
point = module_2
EOF
rec_start rec 'emberwatch/lab/a1/#'
start_emberd emberd "$T/emberd.conf"

P=emberwatch/lab/a1
check "status online" rec_wait 10 rec " $P/status online$"
check "room temperature (TCP, scenario initial)" \
    rec_wait 10 rec " $P/sensor/room-temp \{\"ts\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\",\"value\":23\.5,\"unit\":\"C\",\"quality\":\"good\"\}$"
check "APC battery temperature (holding 135, /128)" \
    rec_wait 10 rec " $P/sensor/ups-batt .*\"value\":25,\"unit\":\"C\",\"quality\":\"good\""
check "APC status bit" rec_wait 10 rec " $P/sensor/ups-on-battery .*\"value\":0,.*\"good\""
check "APC input voltage" rec_wait 10 rec " $P/sensor/ups-vin .*\"value\":229,\"unit\":\"V\",\"quality\":\"good\""
check "sensor node over RTU (socat pty)" \
    rec_wait 10 rec " $P/sensor/node-m2 .*\"value\":26\.2,\"unit\":\"C\",\"quality\":\"good\""
check "RS485 ioctl on a pty is only a warning" log_has "$T/emberd.log" "RS485 mode not available"

# A change in the simulator shows up in the next poll.
echo "set ups.battery_temperature 47.5" >"$T/sim.ctl"
check "changed value published" rec_wait 5 rec " $P/sensor/ups-batt .*\"value\":47\.5,"

# "Not available" marker from the device -> quality bad, value null.
echo "set ups.input_voltage 1023.984375" >"$T/sim.ctl" # raw 0xFFFF
check "0xFFFF input voltage is bad" \
    rec_wait 5 rec " $P/sensor/ups-vin .*\"value\":null,\"unit\":\"V\",\"quality\":\"bad\""

# A Modbus exception from the device -> bad; then it recovers.
echo "fault ups exception" >"$T/sim.ctl"
check "exception reply is bad" rec_wait 5 rec " $P/sensor/ups-batt .*\"value\":null,.*\"quality\":\"bad\""
echo "fault ups none" >"$T/sim.ctl"
n=$(wc -l <"$T/rec.rec")
wait_until 5 bash -c "tail -n +$n '$T/rec.rec' | grep -q ' $P/sensor/ups-batt .*\"value\":47.5,.*good'"
check "recovers after the fault clears" test $? -eq 0

# Telemetry is not retained; status is.
timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C 1 -t "$P/status" >"$T/retained" 2>&1
check "status is retained as online" grep -qx online "$T/retained"
check "telemetry is not retained" bash -c "! grep -q ' 1 $P/sensor/' '$T/rec.rec'"

# Clean stop: offline published by emberd itself, exit 0.
kill -TERM "$EMBERD_PID"
wait "$EMBERD_PID"
rc=$?
check "clean stop exits 0" test $rc -eq 0
timeout 5 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C 1 -t "$P/status" >"$T/retained2" 2>&1
check "status is retained as offline after a clean stop" grep -qx offline "$T/retained2"
finish
