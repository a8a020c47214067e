#!/bin/bash
# Home Assistant MQTT discovery ([homeassistant] discovery = yes) on a real
# emberd, ember-sim and mosquitto: a retained configuration message for each
# sensor, alarm and zone and for the agent, each checked against a JSON
# schema written from Home Assistant's MQTT documentation
# (tests/ha/discovery.schema.json) and its templates rendered with Jinja2
# against the v1 messages they read, before and after a crossing (by
# tests/ha/check_discovery.py); the v1 topics unchanged beside them; a site
# and id with dots still give ids Home Assistant takes; a bad prefix refused
# with file:line; a reload that changes [homeassistant] refused.
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import jsonschema, jinja2' 2>/dev/null ||
    die "python3-jsonschema and python3-jinja2 are not installed (tests/install-deps.sh)"
start_broker
SIM_PORT=$(free_port)
HA=ha-test/discovery

bad_prefix() {
    write_zone_conf "$T/bad.conf" "$SIM_PORT" 500ms
    printf '\n[homeassistant]\ndiscovery = yes\nprefix = %s\n' "$1" >>"$T/bad.conf"
    ! "$EMBER_BIN/emberd" -n -c "$T/bad.conf" >"$T/bad.out" 2>&1 &&
        grep -q "bad.conf:$(wc -l <"$T/bad.conf"): \[homeassistant\] prefix: '$1' must be a topic without wildcards" "$T/bad.out"
}
check "a prefix with a wildcard is refused, with file:line" bad_prefix "home/#"
check "a prefix with a trailing / is refused" bad_prefix "home/"

start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
echo "set xy-md02.temperature 24.5" >"$T/sim.ctl"
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 500ms warm
sed -i 's/^site = lab$/site = lab.east/' "$T/emberd.conf"
printf '\n[sensor room-rh]\ndevice = room\npoint = humidity\nzone = b3\n' >>"$T/emberd.conf"
printf '\n[homeassistant]\ndiscovery = yes\nprefix = %s\n' "$HA" >>"$T/emberd.conf"
check "emberd -n accepts [homeassistant]" "$EMBER_BIN/emberd" -n -c "$T/emberd.conf"
P=emberwatch/lab.east/a1
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
# 2 sensors + 2 alarms + 1 zone + the agent
N=6
collect() { # the retained discovery messages, "RETAIN TOPIC PAYLOAD"
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C "$N" -W 8 -F '%r %t %p' -t "$HA/#" >"$T/disc" 2>/dev/null
    [ "$(wc -l <"$T/disc")" -eq "$N" ]
}
# Discovery goes out before the states: once these are in, a new
# subscriber gets the discovery messages as retained ones.
check "the alarm states are retained on their v1 topics" eval "rec_wait 20 rec ' $P/alarm/room-hot ' && rec_wait 10 rec ' $P/drain/b3 '"
check "$N retained discovery messages" wait_until 15 collect
check "node ids without the site's dot" eval "grep -q '^1 $HA/sensor/emberwatch_lab_east_a1/room-temp/config ' '$T/disc'"
check "v1 telemetry goes on beside them" rec_wait 10 rec " $P/sensor/room-temp "
checker() { /usr/bin/python3 "$TOP/tests/ha/check_discovery.py" "$TOP/tests/ha/discovery.schema.json" "$T/disc" "$T/rec.rec" "$HA" "$N" >"$T/check.out" 2>&1; }
check "every message valid against the schema, and its templates read the v1 messages (normal)" checker
log "$(tail -n 1 "$T/check.out")"
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "the crossing at the broker" rec_wait 10 rec '"alarm":"room-hot".*"transition":"activated"'
check "zone b3 drain request at the broker" rec_wait 10 rec " $P/drain/b3 .*\"request\":\"drain\""
check "after the crossing: room-hot ON and the zone ON, as Home Assistant would read them" eval "checker &&
    grep -q 'alarm_room-hot .* -> ON' '$T/check.out' && grep -q 'zone_b3 .* -> ON' '$T/check.out'"
sed -n 1,8p "$T/check.out" >&2
# A schema that cannot fail is no check: a typo'd key must fail it.
sed 's/"unit_of_measurement"/"unit_of_measurment"/' "$T/disc" >"$T/disc-typo"
check "a misspelt key fails the schema" eval "! /usr/bin/python3 '$TOP/tests/ha/check_discovery.py' '$TOP/tests/ha/discovery.schema.json' '$T/disc-typo' '$T/rec.rec' '$HA' $N >/dev/null"
sed 's/"device_class":"temperature"/"device_class":"temp"/' "$T/disc" >"$T/disc-cls"
check "an unknown device class fails it" eval "! /usr/bin/python3 '$TOP/tests/ha/check_discovery.py' '$TOP/tests/ha/discovery.schema.json' '$T/disc-cls' '$T/rec.rec' '$HA' $N >/dev/null"

sed -i 's/^discovery = yes$/discovery = no/' "$T/emberd.conf"
reload_refused() {
    ! "$EMBER_BIN/emberctl" -s "$T/ctl.sock" reload >"$T/reload.out" 2>&1 &&
        grep -q 'reload refused: \[homeassistant\] discovery changed' "$T/reload.out"
}
check "a reload that turns discovery off is refused, naming the key" reload_refused
finish
