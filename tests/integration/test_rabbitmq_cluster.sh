#!/bin/bash
# Broker failover on a real 3-node RabbitMQ cluster (its MQTT plugin; node
# names, ports, epmd and cookie private to the test, all on 127.0.0.1).
# emberd lists nodes a, b, c and ember-drain a, c, b: both start on a.  A
# persistent-session consumer is on c (in RabbitMQ 3.10 an MQTT session's
# queue lives on one node).  Node a is killed -9 in the middle of an alarm
# burst: emberd goes on on b, ember-drain on c; the consumer gets every event
# of the burst, in increasing seq, nothing lost.  A subscriber on c gets the
# agent's status through the state request (c keeps no retained copy of it).
# Then a second contact, in zone b3, asks for a drain: ember-drain, now on
# another node, drains HAProxy's b3 servers.  Prints the switch times.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

t0=$(date +%s)
start_rabbitmq_cluster
log "RabbitMQ $RMQ_VERSION: a cluster of 3 nodes in $(($(date +%s) - t0)) s"
for x in a b c; do
    check "node $x listens on 127.0.0.1 only" eval "n=\$(loopback_listeners ${RMQC_BEAM[$x]}) && [ \$n -ge 3 ]"
done
M=${RMQC_MQTT[a]}
MQTT_PORT=$M # write_conf's and write_drain_conf's port; the host lists name their own
list() { local x out=""; for x in "$@"; do out="$out${out:+, }127.0.0.1:${RMQC_MQTT[$x]}"; done; echo "$out"; }
P=emberwatch/lab/a1

# ---- the consumer on c, HAProxy and ember-drain (a, c, b) -----------------------
start_bg consumer $PY "$TOP/tests/integration/seq_sub.py" --port "${RMQC_MQTT[c]}" \
    --client-id noc-on-c --topic "$P/event" --out "$T/events" --max-seconds 170
wait_until 20 log_has "$T/events" "# subscribed" || die "the consumer on c did not subscribe"
start_backends b3-web1 b3-web2 b4-web1
start_haproxy web:b3-web1,b3-web2,b4-web1
printf 'host = %s\nkeepalive = 5\n' "$(list a c b)" | write_b3_conf "$T/drain.conf" a1 b3
start_drain drain "$T/drain.conf"
check "ember-drain on node a" log_has "$T/drain.log" "mqtt: connected to 127.0.0.1:${RMQC_MQTT[a]} (broker 1 of 3)"
check "site lab serving" site_is lab serving

# ---- emberd (a, b, c): c1 for the burst, c2 in zone b3 --------------------------
cat >"$T/board.conf" <<EOC
[board]
name = cluster
[input c1]
line = 1
debounce = 0
[input c2]
line = 2
debounce = 0
EOC
CONF_AGENT_EXTRA=("board = $T/board.conf")
write_conf "$T/emberd.conf" "host = $(list a b c)" "keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s" <<EOC
[sensor c1]
gpio = c1

[alarm c1]
sensor = c1
kind = contact
off_delay = 0
severity = critical

[sensor c2]
gpio = c2
zone = b3

[alarm c2]
sensor = c2
kind = contact
severity = critical

[zone b3]
vote = 1
EOC
start_emberd emberd "$T/emberd.conf"
check "emberd on node a" wait_until 10 log_has "$T/emberd.log" "mqtt: connected to 127.0.0.1:${RMQC_MQTT[a]} (broker 1 of 3)"
check "ember-drain sees the agent online" wait_until 20 eval "drain_cli status --json lab | grep -q '\"agent\":\"a1\",\"status\":\"online\"'"

distinct() { grep -v '^#' "$T/events" | cut -d' ' -f1 | sort -un | wc -l; }
complete() { # at least N distinct seqs, and every seq from the first to the last
    local first last
    first=$(grep -v '^#' "$T/events" | cut -d' ' -f1 | sort -n | head -1)
    last=$(grep -v '^#' "$T/events" | cut -d' ' -f1 | sort -n | tail -1)
    [ "$(distinct)" -ge "$1" ] && [ $((last - first + 1)) -eq "$(distinct)" ]
}
increasing() {
    grep -v '^#' "$T/events" | cut -d' ' -f1 | $PY -c 'import sys
s=[int(x) for x in sys.stdin]
sys.exit(0 if all(a < b for a, b in zip(s, s[1:])) else 1)'
}
connected_after() { tail -n +"$3" "$T/$1.log" | grep -q "mqtt: connected to 127.0.0.1:${RMQC_MQTT[$2]} "; }

# ---- node a killed -9 in the middle of the burst ---------------------------------
N=1500
toggles "$N" 0.002 &
BURST=$!
PIDS+=("$BURST")
wait_until 20 eval "[ \$(distinct) -ge 200 ]" || die "the burst did not reach the consumer"
LE=$(($(wc -l <"$T/emberd.log") + 1))
LD=$(($(wc -l <"$T/drain.log") + 1))
k0=$(date +%s%N)
kill_rabbitmq_node a
wait_until 30 connected_after emberd b "$LE" || die "emberd did not go on on node b"
log "emberd: node a killed -> connected to node b after $((($(date +%s%N) - k0) / 1000000)) ms"
wait_until 30 connected_after drain c "$LD" || die "ember-drain did not go on on node c"
log "ember-drain: node a killed -> connected to node c after $((($(date +%s%N) - k0) / 1000000)) ms"
CHECKS=$((CHECKS + 2))
wait "$BURST"
check "the consumer on c got every event of the burst" wait_until 90 complete "$N"
check "in increasing seq" increasing

# ---- the whole state on c without retained messages ------------------------------
MQTT_PORT=${RMQC_MQTT[c]} rec_start late "$P/status" # waits for its SUBACK
# QoS 0, bounded: on RabbitMQ 4.0 a QoS 1 publish here got no PUBACK after
# node a's death (a queue it routes to lived there), and mosquitto_pub waited.
timeout 10 mosquitto_pub -h 127.0.0.1 -p "${RMQC_MQTT[c]}" -V mqttv311 -q 0 -t emberwatch/_state/request/lab -m '{}' ||
    die "mosquitto_pub to node c failed"
check "a subscriber on c gets the agent online through the state request" rec_wait 15 late " $P/status online"

# ---- a drain request after the switch ----------------------------------------------
echo "c2 1" >"$T/gpio-sim"
check "zone b3 asks, and ember-drain (on node c) drains the site" wait_until 20 site_is lab drained
check "HAProxy's b3 servers in DRAIN" eval "hx_is web/b3-web1 drain && hx_is web/b3-web2 drain"
check "logs without a sanitizer report" eval "! grep -q 'runtime error\|AddressSanitizer' '$T/emberd.log' '$T/drain.log'"
finish
