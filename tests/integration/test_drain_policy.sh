#!/bin/bash
# ember-drain's policy knobs against a real HAProxy 2.6 (requests published
# by hand as two agents would): hold_down swallows a flapping request;
# offline = vote counts an agent that dies while another zone requests
# drain, never on its own; weight and maint_after; the MQTT command topic
# (hold, undrain refused while the condition holds, undrain while held,
# malformed commands); dry-run mode changes nothing in HAProxy.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_broker
start_backends dc1-web dc2-web dc1-api dc2-api
start_haproxy web:dc1-web,dc2-web api:dc1-api,dc2-api
write_drain_conf "$T/drain.conf" <<EOC
[site lab]
zones = b3, b4
vote = 2
offline = vote
hold_down = 1s
targets = hx
mqtt_commands = yes

[haproxy hx]
socket = $HX_SOCK
servers = web/dc1-web, api/dc1-api
weight = 0
maint_after = 2s
refresh = 500ms
EOC
P=emberwatch/lab
rec_start rec "$P/drain/state"
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
weight() { # weight BACKEND/SERVER: current (user) weight
    hx_cmd "show servers state ${1%%/*}" | while read -r -a f; do
        [[ ${#f[@]} -gt 8 && ${f[3]} == "${1#*/}" ]] && echo "${f[7]}"
    done
}

pub -r -t "$P/a1/status" -m online
pub -r -t "$P/a2/status" -m online
pub_req a1 b3 none 1
pub_req a2 b4 none 1
start_drain drain "$T/drain.conf"

# 1. hold_down: both zones request drain, one clears within 1 s: no drain.
pub_req a1 b3 drain 2
pub_req a2 b4 drain 2
check "condition noticed, waiting hold_down" wait_until 5 log_has "$T/drain.log" "draining if it still holds in"
pub_req a2 b4 none 3
check "flapping request suppressed" wait_until 5 log_has "$T/drain.log" "drain condition cleared within hold_down; not draining"
check "no drain after a flap (1.5 s watch)" stays 1.5 hx_is web/dc1-web ready
check "audit: suppressed" grep -q '"event":"suppressed"' "$T/drain-audit.log"

# 2. offline = vote: agent a2 dies (its Last Will) while zone b3 requests.
pub -r -t "$P/a2/status" -m offline
check "a2 offline noticed" wait_until 5 log_has "$T/drain.log" "agent a2 is offline"
check "offline agent counted" wait_until 5 log_has "$T/drain.log" "offline agent a2 counted"
check "drained after hold_down" wait_until 5 hx_is web/dc1-web drain
check "... both servers" wait_until 5 hx_is api/dc1-api drain
check "weight set to 0 on drain" test "$(weight web/dc1-web)" = 0
check "site drained" wait_until 5 site_is lab drained
check "maint after maint_after" wait_until 5 hx_is web/dc1-web maint
check "... both servers in maint" wait_until 5 hx_is api/dc1-api maint
check "audit: maint" grep -q '"event":"maint"' "$T/drain-audit.log"

# 3. MQTT commands: undrain refused while the condition holds; hold; undrain.
pub -t "$P/drain/cmd/undrain" -m '{"by":"ops1"}'
check "MQTT undrain refused while the condition holds" wait_until 5 log_has "$T/drain.log" "MQTT command undrain rejected: site lab: the drain condition still holds"
pub -t "$P/drain/cmd/undrain" -m 'not json'
check "malformed MQTT command rejected" wait_until 5 log_has "$T/drain.log" "MQTT command undrain rejected: payload is not a JSON object"
pub -t "$P/drain/cmd/explode" -m '{}'
check "unknown MQTT command rejected" wait_until 5 log_has "$T/drain.log" "unknown MQTT command 'explode' rejected"
check "still drained after rejected commands" site_is lab drained
pub -t "$P/drain/cmd/hold" -m '{"by":"ops1","reason":"inspect"}'
check "held via MQTT" wait_until 5 site_is lab held
pub -t "$P/drain/cmd/undrain" -m '{"by":"ops1"}'
check "undrain while held: servers ready" wait_until 5 eval "hx_is web/dc1-web ready && hx_is api/dc1-api ready"
check "weight restored (100% of the initial weight)" test "$(weight web/dc1-web)" = 1
check "held, underlying serving" rec_wait 5 rec " $P/drain/state .*\"state\":\"held\",\"held_state\":\"serving\""
check "the condition still holds but the hold keeps it serving (1 s watch)" stays 1 hx_is web/dc1-web ready
check "audit records the MQTT operator" grep -q '"event":"undrain".*"by":"ops1 (mqtt)","via":"mqtt"' "$T/drain-audit.log"

# 4. Release with the condition still true: drains again after hold_down.
pub -t "$P/drain/cmd/release" -m '{"by":"ops1"}'
check "release re-evaluates: drains again" wait_until 5 hx_is web/dc1-web drain
check "second drain has drain_id 2" wait_until 5 grep -q '"event":"drain".*"drain_id":2' "$T/drain-audit.log"

# 5. The agent comes back and clears; the zone b3 request clears; undrain.
pub -r -t "$P/a2/status" -m online
pub_req a1 b3 none 4
check "no drain requests" wait_until 5 log_has "$T/drain.log" "site lab: no drain requests"
check "undrain by CLI" drain_cli undrain lab
check "ready" wait_until 5 eval "hx_is web/dc1-web ready && hx_is api/dc1-api ready"
# offline = vote never drains on an agent's own silence: a1 requests drain
# for b3 (1 of 2) and also serves b4; a1 dying must not add b4's vote.
pub_req a1 b4 none 5
pub_req a1 b3 drain 6
check "a1's request seen" wait_until 5 log_has "$T/drain.log" "request from a1 for zone b3: drain (seq 6"
pub -r -t "$P/a1/status" -m offline
check "a1 offline noticed" wait_until 5 log_has "$T/drain.log" "agent a1 is offline"
check "an agent's own request plus its own silence never drains (1.5 s watch)" stays 1.5 hx_is web/dc1-web ready
pub_req a1 b3 none 7
stop_drain

# 6. Dry run: logs and publishes what it would do, changes nothing.
pub -r -t "$P/a1/status" -m online
DRAIN_EXTRA=("dry_run = yes")
sed -i 's/^hold_down = 1s/hold_down = 0/' "$T/drain.conf"
write_drain_conf "$T/dry.conf" < <(sed -n '/^\[site lab\]/,$p' "$T/drain.conf")
rm -f "$T/drain-state.json"
start_drain dry "$T/dry.conf"
pub_req a1 b3 drain 8
pub_req a2 b4 drain 8
check "dry run: would send" wait_until 5 log_has "$T/dry.log" "dry run: would send 'set server web/dc1-web state drain'"
check "dry run: reports drained" wait_until 5 site_is lab drained
check "dry run: retained state says so" rec_wait 5 rec " $P/drain/state .*\"state\":\"drained\".*\"dry_run\":true"
check "dry run: HAProxy untouched" eval "hx_is web/dc1-web ready && hx_is api/dc1-api ready"
check "dry run: audit has haproxy_dry_run" grep -q '"event":"haproxy_dry_run"' "$T/drain-audit.log"
stop_drain
stop_haproxy
finish
