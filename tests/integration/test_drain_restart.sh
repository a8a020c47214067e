#!/bin/bash
# ember-drain is idempotent and restart-safe, against a real HAProxy 2.6:
#   * kill -9 in the middle of a drain (one server drained, the other not
#     yet, the hook still running): the restarted ember-drain sends only the
#     missing command and re-runs the unfinished hook, and the site converges
#     to drained;
#   * a restart after the alarms cleared keeps the site drained and sends
#     nothing (no command already in effect is re-sent, no hook re-run);
#   * with the state file gone, the broker's retained drain/state rebuilds it;
#   * HAProxy restarted (its runtime drain lost) is drained again;
#   * after undrain, a restart leaves the site serving.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_broker
start_backends dc1-web dc2-web dc1-api dc2-api
start_haproxy web:dc1-web,dc2-web api:dc1-api,dc2-api

cat >"$T/hook.sh" <<EOC
#!/bin/sh
echo "start \$EMBER_ACTION id=\$EMBER_DRAIN_ID" >>"$T/hooks.out"
sleep 2
echo "end \$EMBER_ACTION id=\$EMBER_DRAIN_ID" >>"$T/hooks.out"
EOC
chmod +x "$T/hook.sh"
write_drain_conf "$T/drain.conf" <<EOC
[site lab]
zones = b3
vote = 1
targets = hx
hooks = slow

[haproxy hx]
socket = $HX_SOCK
servers = web/dc1-web, api/dc1-api
refresh = 500ms

[hook slow]
exec = $T/hook.sh
timeout = 10s
EOC
P=emberwatch/lab
rec_start rec "$P/drain/state"
A=$T/drain-audit.log
audit_mark() { wc -l <"$A"; }
audit_since() { tail -n +$(($1 + 1)) "$A"; }

# 1. kill -9 mid-action.  EMBER_DRAIN_FAULT makes the HAProxy worker pause
# 3 s after each command, so the kill lands between the two.
need_fault_build ember-drain EMBER_DRAIN_FAULT
EMBER_DRAIN_FAULT=slow-haproxy:3000 start_drain drain1 "$T/drain.conf"
pub_req a1 b3 drain 10 false '["room-hot"]'
check "first server drained" wait_until 5 hx_is web/dc1-web drain
check "hook started" wait_until 5 grep -q "^start drain id=1" "$T/hooks.out"
check "second server not yet (mid-action)" hx_is api/dc1-api ready
check "state file recorded the decision: draining" wait_until 5 \
    $PY -c "import json; s=json.load(open('$T/drain-state.json'))['sites'][0]; assert s['state']=='draining' and not s['hooks_done'], s"
kill -9 "$DRAIN_PID"
wait "$DRAIN_PID" 2>/dev/null
log "killed ember-drain -9 mid-action"
m=$(audit_mark)
rm -f "$T/drain.sock" # a dead daemon's socket; the next one replaces it anyway
start_drain drain2 "$T/drain.conf"
check "restart converges: second server drained" wait_until 5 hx_is api/dc1-api drain
check "first server still drained" hx_is web/dc1-web drain
check "site drained after restart" wait_until 10 site_is lab drained
check "restored from the state file" log_has "$T/drain2.log" "restored draining from the state file"
check "only the missing command was sent after the restart" \
    test "$(audit_since "$m" | grep -c '"event":"haproxy"')" -eq 1
check "... and it was api/dc1-api's" bash -c "tail -n +$((m + 1)) '$A' | grep '\"event\":\"haproxy\"' | grep -q 'set server api/dc1-api state drain'"
check "the unfinished hook ran again for the same drain" \
    test "$(grep -c '^start drain id=1' "$T/hooks.out")" -eq 2
check "retained drain/state: drained" rec_wait 10 rec " $P/drain/state .*\"state\":\"drained\""

# 2. Alarms clear; restart: stays drained, nothing re-sent, hook not re-run.
pub_req a1 b3 none 11
check "request cleared seen" wait_until 5 log_has "$T/drain2.log" "site lab: no drain requests"
stop_drain
hooks_before=$(grep -c '^start' "$T/hooks.out")
m=$(audit_mark)
start_drain drain3 "$T/drain.conf"
check "drained after a restart with the alarms cleared" site_is lab drained
check "servers still drained" eval "hx_is web/dc1-web drain && hx_is api/dc1-api drain"
wait_until 2 false # let the worker's first read and a refresh pass (bounded)
check "no HAProxy command after the restart" test "$(audit_since "$m" | grep -c '"event":"haproxy"')" -eq 0
check "no hook re-run" test "$(grep -c '^start' "$T/hooks.out")" -eq "$hooks_before"

# 3. State file lost: the retained drain/state rebuilds the decision.
stop_drain
rm -f "$T/drain-state.json"
m=$(audit_mark)
start_drain drain4 "$T/drain.conf"
check "adopted the retained state" log_has "$T/drain4.log" "adopted the retained drain state 'drained'"
check "still drained without a state file" site_is lab drained
check "state file written again" wait_until 5 test -s "$T/drain-state.json"
check "no HAProxy command after rebuilding" test "$(audit_since "$m" | grep -c '"event":"haproxy"')" -eq 0

# 4. HAProxy restarts and forgets its runtime state: drained again.
stop_haproxy
start_bg haproxy haproxy -db -f "$T/haproxy.cfg"
HX_PID=$LAST_PID
wait_until 10 hx_cmd "show info" >/dev/null || die "haproxy did not restart"
check "the restarted HAProxy is drained again (reasserted)" wait_until 5 hx_is web/dc1-web drain
check "... both servers" wait_until 5 hx_is api/dc1-api drain
trw=$(traffic web 6)
check "web traffic on dc2-web only ($(echo $trw))" test "$trw" = "dc2-web 6"

# 5. Undrain, restart: serving, nothing done.
check "undrain" drain_cli undrain lab --by tester
check "servers ready" wait_until 5 eval "hx_is web/dc1-web ready && hx_is api/dc1-api ready"
check "site serving" wait_until 5 site_is lab serving
stop_drain
m=$(audit_mark)
start_drain drain5 "$T/drain.conf"
check "serving after restart" site_is lab serving
wait_until 1 false
check "no command after that restart" test "$(audit_since "$m" | grep -c '"event":"haproxy"')" -eq 0
check "servers still ready" eval "hx_is web/dc1-web ready && hx_is api/dc1-api ready"

# 6. A retained test request at start never drains.
stop_drain
pub_req a1 b3 drain 12 true
start_drain drain6 "$T/drain.conf"
check "test request shown after restart" log_has "$T/drain6.log" "test: not acted on"
wait_until 1 false
check "a retained test request does not drain at start" eval "hx_is web/dc1-web ready && site_is lab serving"
stop_drain
stop_haproxy
finish
