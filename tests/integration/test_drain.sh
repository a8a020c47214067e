#!/bin/bash
# ember-drain end to end on real processes: ember-sim -> emberd (agent a1,
# zone b3) and a second agent (a2, zone b4, published by hand) -> mosquitto ->
# ember-drain -> a real HAProxy 2.6 with two backends of two servers each,
# python http.server backends and real HTTP traffic through HAProxy.
#
# A single warning does not drain; one critical zone of the two required does
# not; a test request is shown and never acted on; a hold blocks the drain;
# the release drains exactly the site's servers and traffic moves to the
# others; cleared alarms do not undrain; `undrain` restores service.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 200ms warm

start_backends dc1-web dc2-web dc1-api dc2-api
start_haproxy web:dc1-web,dc2-web api:dc1-api,dc2-api

cat >"$T/hook.sh" <<EOC
#!/bin/sh
echo "\$EMBER_ACTION site=\$EMBER_SITE zones=\$EMBER_ZONES alarms=\$EMBER_ALARMS dry=\$EMBER_DRY_RUN id=\$EMBER_DRAIN_ID cause=\$EMBER_CAUSE" >>"$T/hooks.out"
echo "hook says hello"
EOC
chmod +x "$T/hook.sh"
write_drain_conf "$T/drain.conf" <<EOC
[site lab]
agents = a1, a2
zones = b3, b4
vote = 2
offline = hold
hold_down = 0
targets = hx
hooks = rec

[haproxy hx]
socket = $HX_SOCK
servers = web/dc1-web, api/dc1-api
refresh = 1s

[hook rec]
exec = $T/hook.sh
timeout = 5s
EOC
check "ember-drain -n accepts the test config" "$EMBER_BIN/ember-drain" -n -c "$T/drain.conf"

P=emberwatch/lab
rec_start rec "$P/#" "emberwatch/_drain/#"
start_emberd emberd "$T/emberd.conf"
check "emberd publishes zone b3's request (none)" rec_wait 10 rec " $P/a1/drain/b3 .*\"request\":\"none\""
pub_req a2 b4 none 1
start_drain drain "$T/drain.conf"
check "control socket is 0660" test "$(stat -c %a "$T/drain.sock")" = 660
check "retained drain/state: serving" rec_wait 10 rec " $P/drain/state .*\"state\":\"serving\""
check "ember-drain status: serving" site_is lab serving
check "ember-drain's own status online" rec_wait 5 rec " emberwatch/_drain/test/status online"

tr0=$(traffic web 10)
check "traffic reaches both web servers before any drain ($(echo $tr0))" \
    test "$tr0" = "$(printf 'dc1-web 5\ndc2-web 5')"

all_ready() {
    hx_is web/dc1-web ready && hx_is api/dc1-api ready && hx_is web/dc2-web ready &&
        hx_is api/dc2-api ready
}

# 1. A warning alarm: no drain request, no drain.
echo "set xy-md02.temperature 40" >"$T/sim.ctl"
check "warning alarm activated" rec_wait 10 rec " $P/a1/event .*\"alarm\":\"room-warm\".*\"transition\":\"activated\""
check "a single warning does not drain (1 s watch)" stays 1 all_ready
check "still serving after the warning" site_is lab serving

# 2. A critical alarm in zone b3: one of the two zones required.
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "zone b3 requests drain" rec_wait 10 rec " $P/a1/drain/b3 .*\"request\":\"drain\".*\"test\":false"
check "ember-drain saw it" wait_until 5 log_has "$T/drain.log" "request from a1 for zone b3: drain"
check "one zone of two does not drain (1 s watch)" stays 1 all_ready
drain_cli status >"$T/status0.out"
check "status shows 1/2 votes" grep -qE '^lab +serving +1/2 ' "$T/status0.out"

# 3. A test request for zone b4: shown, never acted on.
pub_req a2 b4 drain 2 true '["b4-smoke"]'
check "test request seen" wait_until 5 log_has "$T/drain.log" "request from a2 for zone b4: drain (test: not acted on)"
check "the test request is shown in drain/state" rec_wait 5 rec " $P/drain/state .*\"tests\":\\[\\{\"agent\":\"a2\",\"zone\":\"b4\"\\}\\]"
check "a test request never drains (1 s watch)" stays 1 all_ready
drain_cli status >"$T/status1.out"
check "status lists the test request" grep -q "request a2/b4: drain TEST: shown, never acted on" "$T/status1.out"

# 4. Hold, then the second zone really requests drain: nothing moves.
check "hold lab" drain_cli hold lab --by tester --reason "fire drill"
check "state held" site_is lab held
check "retained drain/state: held" rec_wait 5 rec " $P/drain/state .*\"state\":\"held\",\"held_state\":\"serving\""
pub_req a2 b4 drain 3 false '["b4-smoke"]'
check "condition noticed but held" wait_until 5 log_has "$T/drain.log" "drain condition holds but the site is held"
check "a hold blocks the drain (1 s watch)" stays 1 all_ready

# 5. Release: the two zones agree, the site drains.
t0=$(date +%s%N)
check "release lab" drain_cli release lab --by tester
check "web/dc1-web drained" wait_until 5 hx_is web/dc1-web drain
check "api/dc1-api drained" wait_until 5 hx_is api/dc1-api drain
t1=$(date +%s%N)
log "release -> both servers DRAIN in $(((t1 - t0) / 1000000)) ms (includes the client round trip)"
check "the other site's servers stay ready" eval "hx_is web/dc2-web ready && hx_is api/dc2-api ready"
check "site drained" wait_until 5 site_is lab drained
check "retained drain/state: drained with HAProxy's read-back states" \
    rec_wait 5 rec " $P/drain/state .*\"state\":\"drained\",\"targets\":\\[\\{\"name\":\"hx/web/dc1-web\",\"kind\":\"haproxy\",\"state\":\"drain\""
trw=$(traffic web 10)
check "web traffic moved to dc2-web ($(echo $trw))" test "$trw" = "dc2-web 10"
tra=$(traffic api 10)
check "api traffic moved to dc2-api ($(echo $tra))" test "$tra" = "dc2-api 10"
check "drain hook ran with the documented environment" \
    grep -q "^drain site=lab zones=b3,b4 alarms=room-hot,b4-smoke dry=0 id=1 cause=zones b3, b4 requested drain (2 of 2 zones)" "$T/hooks.out"
check "hook output is logged" log_has "$T/drain.log" "hook rec: hook says hello"

# 6. The alarms clear: the site stays drained (only undrain returns it).
echo "set xy-md02.temperature 25" >"$T/sim.ctl"
pub_req a2 b4 none 4
check "zone b3 request back to none" rec_wait 10 rec " $P/a1/drain/b3 .*\"request\":\"none\""
check "ember-drain saw both clear" wait_until 5 log_has "$T/drain.log" "site lab: no drain requests"
check "cleared alarms do not undrain (1 s watch)" stays 1 hx_is web/dc1-web drain
check "still drained" site_is lab drained

# 7. Undrain.
check "undrain lab" drain_cli undrain lab --by tester --reason "fire out, room inspected"
check "web/dc1-web ready again" wait_until 5 hx_is web/dc1-web ready
check "api/dc1-api ready again" wait_until 5 hx_is api/dc1-api ready
check "site serving" wait_until 5 site_is lab serving
check "retained drain/state: serving after undrain" \
    rec_wait 5 rec " $P/drain/state .*\"state\":\"serving\",\"targets\":\\[\\{\"name\":\"hx/web/dc1-web\",\"kind\":\"haproxy\",\"state\":\"ready\""
tr2=$(traffic web 10)
check "traffic back on both web servers ($(echo $tr2))" test "$tr2" = "$(printf 'dc1-web 5\ndc2-web 5')"
check "undrain hook ran" wait_until 5 grep -q "^undrain site=lab" "$T/hooks.out"
drain_cli undrain lab >"$T/undrain2.out" 2>&1
check "a second undrain is refused (exit 1)" test $? -eq 1
check "... saying it is already serving" grep -q "already serving" "$T/undrain2.out"

# 8. Everything is in the audit log.
A=$T/drain-audit.log
for ev in '"event":"hold"' '"event":"suppressed_held"' '"event":"release"' '"event":"drain"' \
    '"event":"drained"' '"command":"set server web/dc1-web state drain","result":"ok"' \
    '"event":"undrain"' '"command":"set server web/dc1-web state ready","result":"ok"' \
    '"event":"serving"' '"hook":"rec","action":"drain","result":"ok"'; do
    check "audit log has $ev" grep -q "$ev" "$A"
done
check "every audit line is JSON" $PY -c "import json,sys; [json.loads(l) for l in open('$A')]"
check "state file says serving" $PY -c "import json; s=json.load(open('$T/drain-state.json')); assert s['sites'][0]['state']=='serving', s"

stop_drain
check "offline on ember-drain's own status topic after a clean stop" \
    rec_wait 5 rec " emberwatch/_drain/test/status offline"
check "control socket removed" test ! -e "$T/drain.sock"
stop_haproxy
finish
