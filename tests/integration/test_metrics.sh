#!/bin/bash
# emberd's and ember-drain's [metrics] endpoints, scraped by a real
# Prometheus (Debian's) on loopback: the page in both formats (Prometheus text 0.0.4 by default,
# OpenMetrics when asked), its names linted by promtool check metrics,
# values read back through Prometheus's HTTP API (a sensor's value and
# quality, an alarm raised by a crossing, the zone's drain request, the MQTT
# link going down and the journal filling; ember-drain's site state, votes,
# agents and HAProxy's target states through a drain), the shipped alerting rules
# (promtool check rules, then loaded and firing), bad [metrics] lines
# refused with file:line, a port in use that emberd goes on without and
# takes once it is free, and what the endpoint answers besides GET /metrics.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

command -v prometheus >/dev/null && command -v promtool >/dev/null ||
    die "prometheus and promtool are not installed (tests/install-deps.sh)"
RULES=$TOP/agent/examples/emberwatch-alerts.yml

# ---- configuration errors name the file and line ------------------------------
start_broker
SIM_PORT=$(free_port)
M_PORT=$(free_port)
bad_listen() { # bad_listen VALUE PATTERN: emberd -n refuses "listen = VALUE"
    write_zone_conf "$T/bad.conf" "$SIM_PORT" 500ms
    printf '\n[metrics]\nlisten = %s\n' "$1" >>"$T/bad.conf"
    local line
    line=$(grep -n '^listen' "$T/bad.conf" | cut -d: -f1)
    ! "$EMBER_BIN/emberd" -n -c "$T/bad.conf" >"$T/bad.out" 2>&1 &&
        grep -q "bad.conf:$line: \[metrics\] listen: .*$2" "$T/bad.out"
}
check "a host name is refused, with file:line" bad_listen "localhost:9108" "not an IPv4 address"
check "a port out of range is refused" bad_listen "127.0.0.1:70000" "port must be a number from 1 to 65535"
check "an address without a port is refused" bad_listen "127.0.0.1" "expected ADDRESS:PORT"
check "an IPv6 address without brackets is refused" bad_listen "::1:9108" "expected ADDRESS:PORT"
unknown_key() {
    write_zone_conf "$T/bad.conf" "$SIM_PORT" 500ms
    printf '\n[metrics]\nport = 9108\n' >>"$T/bad.conf"
    ! "$EMBER_BIN/emberd" -n -c "$T/bad.conf" >"$T/bad.out" 2>&1 &&
        grep -q "bad.conf:$(wc -l <"$T/bad.conf"): \[metrics\]: unknown key 'port'" "$T/bad.out"
}
check "an unknown [metrics] key is refused, with file:line" unknown_key

# ---- emberd with an endpoint ---------------------------------------------------
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
echo "set xy-md02.temperature 24.5" >"$T/sim.ctl"
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 500ms warm "keepalive = 5" "reconnect_max = 1s"
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$M_PORT" >>"$T/emberd.conf"
check "emberd -n accepts [metrics]" "$EMBER_BIN/emberd" -n -c "$T/emberd.conf"
rec_start rec "emberwatch/#"
start_emberd emberd "$T/emberd.conf"
E1=$EMBERD_PID
check "emberd says where it serves" wait_until 10 log_has "$T/emberd.log" "metrics: serving http://127.0.0.1:$M_PORT/metrics"
URL=http://127.0.0.1:$M_PORT/metrics
ctype() { curl -s -o /dev/null -w '%{content_type}' "$@"; }
check "text format 0.0.4 by default" eval "[ \"\$(ctype '$URL')\" = 'text/plain; version=0.0.4; charset=utf-8' ]"
check "OpenMetrics when asked" eval "[ \"\$(ctype -H 'Accept: application/openmetrics-text;version=1.0.0' '$URL')\" = \
'application/openmetrics-text; version=1.0.0; charset=utf-8' ]"
curl -s -H 'Accept: application/openmetrics-text;version=1.0.0' "$URL" >"$T/om.txt"
check "an OpenMetrics page ends with # EOF" eval "[ \"\$(tail -n 1 '$T/om.txt')\" = '# EOF' ]"
curl -s "$URL" >"$T/prom.txt"
lint() { promtool check metrics <"$T/prom.txt" >"$T/lint.out" 2>&1; }
check "promtool check metrics finds nothing to say about the names" lint
log "page: $(wc -l <"$T/prom.txt") lines, $(grep -vc '^#' "$T/prom.txt") samples"
check "other paths are 404" eval "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$M_PORT/)\" = 404 ]"
check "POST is 405" eval "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x '$URL')\" = 405 ]"
check "HEAD is answered" eval "[ \"\$(curl -s -I -o /dev/null -w '%{http_code}' '$URL')\" = 200 ]"

# ---- ember-drain with an endpoint: site lab, HAProxy's b3 pair ---------------------
D_PORT=$(free_port)
start_backends b3-web1 b3-web2 b4-web1
start_haproxy web:b3-web1,b3-web2,b4-web1
printf '[metrics]\nlisten = 127.0.0.1:%s\n' "$D_PORT" | write_b3_conf "$T/drain.conf" a1 b3
check "ember-drain -n accepts [metrics]" "$EMBER_BIN/ember-drain" -n -c "$T/drain.conf"
start_drain drain "$T/drain.conf"
check "site lab serving" site_is lab serving
check "ember-drain serves its page" wait_until 10 log_has "$T/drain.log" "metrics: serving http://127.0.0.1:$D_PORT/metrics"
curl -s "http://127.0.0.1:$D_PORT/metrics" >"$T/dprom.txt"
check "promtool check metrics: ember-drain's page" eval "promtool check metrics <'$T/dprom.txt' >'$T/dlint.out' 2>&1"

# ---- Prometheus scraping both, with the shipped rules ------------------------------
P_PORT=$(free_port)
cp "$RULES" "$T/rules.yml"
cat >"$T/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [$T/rules.yml]
scrape_configs:
  - job_name: emberd
    static_configs:
      - targets: ['127.0.0.1:$M_PORT']
  - job_name: ember-drain
    static_configs:
      - targets: ['127.0.0.1:$D_PORT']
EOC
check "promtool check rules: the shipped rules" promtool check rules "$RULES"
start_bg prometheus prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$P_PORT" --log.level=warn
PROM=$LAST_PID
API=http://127.0.0.1:$P_PORT/api/v1
check "prometheus ready" wait_until 30 eval "curl -sf http://127.0.0.1:$P_PORT/-/ready >/dev/null"
# q EXPR: the value of Prometheus's first result for EXPR, or nothing.
q() {
    curl -s --get --data-urlencode "query=$1" "$API/query" |
        $PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
is() { [ "$(q "$1")" = "$2" ]; } # is EXPR VALUE
check "the target is up" wait_until 20 is 'up{job="emberd"}' 1
check "the sensor's value read back through Prometheus" \
    wait_until 20 is 'emberd_sensor_value{sensor="room-temp",unit="C",zone="b3"}' 24.5
check "its quality is good" wait_until 10 is 'emberd_sensor_quality{sensor="room-temp",quality="good"}' 1
check "the MQTT link is up" wait_until 10 is emberd_mqtt_connected 1
check "no alarm active yet" is 'emberd_alarm_active{alarm="room-hot",severity="critical"}' 0
check "bus polls counted" wait_until 10 eval "[ \"\$(q 'emberd_bus_polls_total{bus=\"t\"} > 2')\" != '' ]"
check "the build info names site and agent" is 'emberd_build_info{site="lab",agent="a1"}' 1
check "ember-drain: up, site lab serving" eval "wait_until 20 is 'up{job=\"ember-drain\"}' 1 &&
    wait_until 10 is 'ember_drain_site_state{site=\"lab\",state=\"serving\"}' 1"
check "ember-drain: HAProxy's b3-web1 read back ready" \
    wait_until 10 is 'ember_drain_target_state{site="lab",target="hx/web/b3-web1",kind="haproxy",state="ready"}' 1
check "ember-drain: agent a1 online" wait_until 10 is 'ember_drain_agent_online{site="lab",agent="a1"}' 1

echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "the crossing raises room-hot at the broker" rec_wait 10 rec '"alarm":"room-hot".*"transition":"activated"'
check "and in Prometheus" wait_until 20 is 'emberd_alarm_active{alarm="room-hot",sensor="room-temp",zone="b3",severity="critical"}' 1
check "unacknowledged" is 'emberd_alarm_acknowledged{alarm="room-hot"}' 0
check "zone b3 asks for a drain, 1 of 1 votes" eval "wait_until 10 is 'emberd_zone_drain_requested{zone=\"b3\"}' 1 &&
    is 'emberd_zone_votes{zone=\"b3\"}' 1 && is 'emberd_zone_votes_required{zone=\"b3\"}' 1"
alert_firing() {
    curl -s "$API/alerts" | $PY -c 'import json,sys
a=[x for x in json.load(sys.stdin)["data"]["alerts"] if x["labels"].get("alertname")==sys.argv[1] and x["state"]=="firing"]
sys.exit(0 if a else 1)' "$1"
}
check "the shipped rule EmberCriticalAlarmUnacknowledged fires" wait_until 20 alert_firing EmberCriticalAlarmUnacknowledged
check "and EmberZoneDrainRequested" wait_until 20 alert_firing EmberZoneDrainRequested
check "ember-drain: the zone's request counts, 1 of 1 votes" eval "wait_until 10 is 'ember_drain_zone_drain_requested{site=\"lab\",agent=\"a1\",zone=\"b3\"}' 1 &&
    is 'ember_drain_site_votes{site=\"lab\"}' 1 && is 'ember_drain_site_votes_required{site=\"lab\"}' 1"
check "ember-drain: site lab drained, in Prometheus" wait_until 20 is 'ember_drain_site_state{site="lab",state="drained"}' 1
check "ember-drain: HAProxy's b3 pair read back in DRAIN" eval "wait_until 10 is 'ember_drain_target_state{target=\"hx/web/b3-web1\",state=\"drain\"}' 1 &&
    wait_until 10 is 'ember_drain_target_state{target=\"hx/web/b3-web2\",state=\"drain\"}' 1 && hx_is web/b3-web1 drain"
check "ember-drain: the shipped rule EmberSiteDrained fires" wait_until 20 alert_firing EmberSiteDrained
"$EMBER_BIN/emberctl" -s "$T/ctl.sock" ack room-hot >/dev/null || die "emberctl ack"
check "the ack shows" wait_until 20 is 'emberd_alarm_acknowledged{alarm="room-hot"}' 1

# ---- the broker goes away: the link and the journal ---------------------------
stop_pid "$BROKER_PID"
check "MQTT link down in Prometheus" wait_until 30 is emberd_mqtt_connected 0
check "ember-drain's too" wait_until 30 is ember_drain_mqtt_connected 0
check "emberctl status says so, with the telemetry dropped meanwhile" wait_until 10 eval "'$EMBER_BIN/emberctl' -s '$T/ctl.sock' status |
    grep -qE '^agent lab/a1   mqtt disconnected \(telemetry dropped while away: [1-9][0-9]*\)'"
echo "set xy-md02.temperature 24" >"$T/sim.ctl"
check "the clearing waits in the journal" wait_until 30 eval "[ \"\$(q 'emberd_journal_pending_messages > 0')\" != '' ]"
check "a sensor going silent turns its quality" eval "stop_pid $SIM_PID; wait_until 30 is 'emberd_sensor_quality{sensor=\"room-temp\",quality=\"comms_lost\"}' 1"
check "its value is NaN then" eval "[ \"\$(q 'emberd_sensor_value{sensor=\"room-temp\"}')\" = NaN ]"

# ---- a reload cannot move the endpoint ------------------------------------------
cp "$T/emberd.conf" "$T/emberd.conf.orig"
sed -i "s|^listen = 127.0.0.1:$M_PORT|listen = 127.0.0.1:$(free_port)|" "$T/emberd.conf"
reload_refused() {
    ! "$EMBER_BIN/emberctl" -s "$T/ctl.sock" reload >"$T/reload.out" 2>&1 &&
        grep -q 'reload refused: \[metrics\] listen changed; restart emberd to apply it' "$T/reload.out"
}
check "a reload that moves [metrics] listen is refused, naming it" reload_refused
cp "$T/emberd.conf.orig" "$T/emberd.conf"
check "the page is still served" eval "curl -sf '$URL' | grep -q '^emberd_mqtt_connected 0'"

# ---- a port in use --------------------------------------------------------------
# A second emberd (its own journal, socket and id) told to use the port the
# first one holds: it goes on without the endpoint, and takes the port once
# the first one stops.
sed -e "s|$T/journal.db|$T/j2.db|" -e "s|$T/ctl.sock|$T/ctl2.sock|" -e 's/^id = a1$/id = a2/' \
    -e "s|$T/gpio-sim|$T/gpio2|" "$T/emberd.conf" >"$T/e2.conf"
start_emberd e2 "$T/e2.conf"
E2=$EMBERD_PID
check "a port in use is said once, and emberd goes on" eval "log_has '$T/e2.log' 'metrics: cannot listen on 127.0.0.1:$M_PORT: Address already in use; going on without it, trying again every 5 s'"
check "it still polls" wait_until 10 eval "'$EMBER_BIN/emberctl' -s '$T/ctl2.sock' -j status | grep -q '\"polls\":[1-9]'"
# Past the first retry (every 5 s): still one line about it.
uptime_past() { "$EMBER_BIN/emberctl" -s "$T/ctl2.sock" -j status | $PY -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["uptime_s"] > float(sys.argv[1]) else 1)' "$1"; }
check "the port in use is said once, not at every retry" eval "wait_until 15 uptime_past 11 &&
    [ \$(grep -c 'cannot listen on' '$T/e2.log') -eq 1 ]"
stop_pid "$E1"
check "it takes the port once free" wait_until 15 log_has "$T/e2.log" "metrics: serving http://127.0.0.1:$M_PORT/metrics (the address is free now)"
check "and serves its own page" wait_until 5 eval "curl -s '$URL' | grep -q 'emberd_build_info{version=\"[^\"]*\",site=\"lab\",agent=\"a2\"} 1'"
check "emberd's logs have no sanitizer report" eval "! grep -q 'runtime error\|AddressSanitizer' '$T/emberd.log' '$T/e2.log'"
stop_pid "$E2"
stop_pid "$PROM"
finish
