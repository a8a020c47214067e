#!/bin/bash
# A stale Last Will answered (contract v1.3).  Two private mosquittos, B1
# and B2, bridged both ways (B2 runs the bridge); emberd and ember-drain list
# B1 then B2.  B1 frozen (SIGSTOP) sends both to B2 through the keepalive;
# B1 resumed finds their old connections closed and publishes their Last
# Wills, "offline", which the bridge carries to B2 after both said "online"
# there.  Each program, subscribed to its own status, answers with "online":
# a consumer on B2 sees "offline" then "online" again, both brokers keep
# "online" retained, and ember-drain counts the agent online.  Without the
# answer, both brokers would keep "offline" until the next reconnect.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

P=emberwatch/lab/a1
DS=emberwatch/_drain/test/status
P1=$(free_port)
P2=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type all\n' \
    "$P1" >"$T/b1.conf"
{
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type all\n' "$P2"
    printf '\nconnection b1\naddress 127.0.0.1:%s\ntopic emberwatch/# both 1\n' "$P1"
    printf 'notifications false\nrestart_timeout 1\nkeepalive_interval 60\n'
} >"$T/b2.conf"
start_bg b1 mosquitto -c "$T/b1.conf"
B1=$LAST_PID
wait_until 10 log_has "$T/b1.log" "running" || die "mosquitto B1 did not start"
start_bg b2 mosquitto -c "$T/b2.conf"
wait_until 10 log_has "$T/b2.log" "running" || die "mosquitto B2 did not start"
# The bridge is up once a message published on B1 reaches B2.
bridged() {
    mosquitto_pub -h 127.0.0.1 -p "$P1" -t emberwatch/probe -m x -r -q 1 &&
        [ "$(timeout 5 mosquitto_sub -h 127.0.0.1 -p "$P2" -C 1 -W 2 -t emberwatch/probe 2>/dev/null)" = x ]
}
wait_until 20 bridged || die "the bridge B2 -> B1 did not come up"
mosquitto_pub -h 127.0.0.1 -p "$P1" -t emberwatch/probe -r -n

# The consumer on B2: every status message, with the time it came.
start_bg watch stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$P2" -v -F '%U %t %p' -t "$P/status" -t "$DS"
WATCH=$T/watch.log

MQTT_PORT=$P1
LIST="127.0.0.1:$P1, 127.0.0.1:$P2"
start_backends b3-web1 b3-web2
start_haproxy web:b3-web1,b3-web2
printf 'host = %s\nkeepalive = 5\n' "$LIST" | write_b3_conf "$T/drain.conf" a1 b3
start_drain drain "$T/drain.conf"
check "ember-drain connects to B1" log_has "$T/drain.log" "mqtt: connected to 127.0.0.1:$P1 (broker 1 of 2)"
write_contact_conf "$T/emberd.conf" "host = $LIST" "keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s"
start_emberd emberd "$T/emberd.conf"
check "emberd connects to B1" wait_until 10 log_has "$T/emberd.log" "mqtt: connected to 127.0.0.1:$P1 (broker 1 of 2)"

agent_status() { # ember-drain's view of agent a1
    drain_cli status --json lab | $PY -c 'import json, sys
print([a["status"] for a in json.load(sys.stdin)["sites"][0]["agents"] if a["agent"] == "a1"][0])'
}
check "ember-drain counts the agent online" wait_until 20 eval '[ "$(agent_status)" = online ]'

# ---- B1 frozen: both move to B2 ------------------------------------------------
kill -STOP "$B1"
check "emberd moves to B2 when B1 stops answering" \
    wait_until 30 log_has "$T/emberd.log" "mqtt: connected to 127.0.0.1:$P2 (broker 2 of 2)"
check "ember-drain moves to B2 too" \
    wait_until 30 log_has "$T/drain.log" "mqtt: connected to 127.0.0.1:$P2 (broker 2 of 2)"

# ---- B1 resumed: the stale Last Wills come over the bridge ----------------------
L=$(($(wc -l <"$WATCH") + 1))
kill -CONT "$B1"
# said TOPIC PAYLOAD [N]: the consumer on B2 got PAYLOAD on TOPIC since the
# resume (at least N times)
said() { [ "$(tail -n +"$L" "$WATCH" | grep -c " $1 $2\$")" -ge "${3:-1}" ]; }
wait_until 20 said "$P/status" offline ||
    die "B1 published no stale Last Will for emberd after it resumed: nothing to answer (b1.log)"
check "B1's stale Last Will for emberd reached B2 (the consumer saw 'offline')" said "$P/status" offline
check "emberd says it answered it" \
    wait_until 10 log_has "$T/emberd.log" "says 'offline' while we are connected to 127.0.0.1:$P2"
# last TOPIC: the last payload the consumer on B2 got on TOPIC
last() { tail -n +"$L" "$WATCH" | grep " $1 " | tail -n 1 | cut -d' ' -f3; }
check "the consumer then saw 'online' again" wait_until 10 eval '[ "$(last $P/status)" = online ]'
check "ember-drain's stale Last Will reached B2 too" wait_until 20 said "$DS" offline
check "ember-drain answered its own" wait_until 10 eval '[ "$(last $DS)" = online ]'
check "ember-drain says so" log_has "$T/drain.log" "says 'offline' while we are connected"

# late PORT TOPIC: what a new subscriber on that broker reads first, "RETAIN PAYLOAD"
late() { timeout 10 mosquitto_sub -h 127.0.0.1 -p "$1" -C 1 -W 5 -F '%r %p' -t "$2" 2>/dev/null; }
check "B2 keeps emberd 'online', retained" wait_until 10 eval '[ "$(late $P2 $P/status)" = "1 online" ]'
check "B1 keeps emberd 'online', retained (over the bridge)" \
    wait_until 10 eval '[ "$(late $P1 $P/status)" = "1 online" ]'
check "both keep ember-drain 'online'" \
    wait_until 10 eval '[ "$(late $P2 $DS)" = "1 online" ] && [ "$(late $P1 $DS)" = "1 online" ]'
check "ember-drain counts the agent online again" wait_until 10 eval '[ "$(agent_status)" = online ]'
check "emberctl -j status counts the answer" eval "'$EMBER_BIN/emberctl' -s '$T/ctl.sock' -j status |
    $PY -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)[\"mqtt_stale_wills\"] >= 1 else 1)'"
# No echo: one answer per stale Will, not a loop between the brokers.
check "no loop: a handful of status messages in all" eval '[ $(tail -n +"$L" "$WATCH" | wc -l) -le 8 ]'

# ---- a clean stop is not answered ---------------------------------------------------
L=$(($(wc -l <"$WATCH") + 1))
stop_pid "$EMBERD_PID"
check "a clean stop leaves 'offline' at the consumer" wait_until 10 eval '[ "$(last $P/status)" = offline ]'
check "... retained on B2" wait_until 10 eval '[ "$(late $P2 $P/status)" = "1 offline" ]'
check "... and nothing answered it" eval '! said "$P/status" online'
check "and ember-drain counts the agent offline" wait_until 10 eval '[ "$(agent_status)" = offline ]'
check "no sanitizer report" eval "! grep -q 'runtime error\|AddressSanitizer' '$T/emberd.log' '$T/drain.log'"
finish
