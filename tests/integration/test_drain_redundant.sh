#!/bin/bash
# Two ember-drain controllers (c1, c2, each the other's [drain] peer) serve
# one site against one real HAProxy 2.6:
#   * both act on the agents' request; each runs its hook once; the server
#     does not flap;
#   * an undrain on c1 alone is followed by c2 (and c2's stale drained state
#     never drains c1 again); a manual drain on c2 alone is followed by c1;
#   * a person's hold on c1 is followed by c2, and so is the release;
#   * c1 killed -9 in the middle of a drain only it decided: c2, following
#     it, completes the drain, and shows c1 offline;
#   * a state on a peer's topic that names another controller is ignored.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

need_fault_build ember-drain EMBER_DRAIN_FAULT
start_broker
start_backends dc1-web dc2-web dc1-api dc2-api
start_haproxy web:dc1-web,dc2-web api:dc1-api,dc2-api

cat >"$T/hook.sh" <<EOC
#!/bin/sh
echo "\$EMBER_CONTROLLER \$EMBER_ACTION id=\$EMBER_DRAIN_ID decided_by=\$EMBER_DECIDED_BY" >>"$T/hooks.out"
EOC
chmod +x "$T/hook.sh"
: >"$T/hooks.out"

# site_conf: the site both controllers serve.
site_conf() {
    cat <<EOC
[site lab]
zones = b3
vote = 1
targets = hx
hooks = note

[haproxy hx]
socket = $HX_SOCK
servers = web/dc1-web, api/dc1-api
refresh = 500ms

[hook note]
exec = $T/hook.sh
undrain = yes
timeout = 5s
EOC
}
site_conf | write_peer_conf c1 c2
site_conf | write_peer_conf c2 c1
declare -A PID
start_ctl() { # start_ctl ID [ENV=VALUE...]
    local id=$1
    shift
    start_bg "$id" env "$@" ${EMBER_WRAP:-} "$EMBER_BIN/ember-drain" -c "$T/$id.conf"
    PID[$id]=$LAST_PID
    wait_until 30 log_has "$T/$id.log" "settled:" || die "ember-drain $id did not settle"
}
cli() { local id=$1; shift; "$EMBER_BIN/ember-drain" --socket "$T/$id.sock" "$@"; }
state_of() { # state_of ID: the site's state as controller ID reports it
    cli "$1" status --json lab | $PY -c 'import json,sys; print(json.load(sys.stdin)["sites"][0]["state"])'
}
is() { [ "$(state_of "$1")" = "$2" ]; }
both() { is c1 "$1" && is c2 "$1"; }
audit_has() { grep -q -- "$2" "$T/$1-audit.log"; }
hooks() { grep -c -- "$1" "$T/hooks.out" || true; }
# steady SERVER STATE SECONDS: HAProxy reports STATE at every read (every
# 100 ms) for SECONDS: no flapping.
steady() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        hx_is "$1" "$2" || { log "$1 read $(hx_state "$1") (wanted $2)"; return 1; }
        sleep 0.1
    done
}
P=emberwatch/lab
rec_start rec "$P/drain/state/#" "$P/drain/state"

start_ctl c1
start_ctl c2
check "c1 publishes its own state, listing c2 online" \
    rec_wait 10 rec " $P/drain/state/c1 .*\"controllers\":\[\{\"id\":\"c1\",\"status\":\"online\".*\{\"id\":\"c2\",\"status\":\"online\""
check "c2 publishes its own state" rec_wait 10 rec " $P/drain/state/c2 .*\"controller\":\"c2\""

# 1. Both act on the agents' request; the hook runs once per controller.
pub_req a1 b3 drain 1 false '["room-hot"]'
check "c1 drained" wait_until 10 is c1 drained
check "c2 drained" wait_until 10 is c2 drained
check "HAProxy: web/dc1-web in DRAIN" hx_is web/dc1-web drain
check "HAProxy: api/dc1-api in DRAIN" hx_is api/dc1-api drain
check "c1's hook ran once" test "$(hooks '^c1 drain')" -eq 1
check "c2's hook ran once" test "$(hooks '^c2 drain')" -eq 1
check "no flapping while both hold it (2 s)" steady web/dc1-web drain 2
check "site view: both controllers, each decided" \
    rec_wait 5 rec " $P/drain/state .*\"controllers\":\[\{\"id\":\"c[12]\",\"status\":\"online\",\"state\":\"drained\",\"decided_by\":\"c[12]\"\},\{\"id\":\"c[12]\",\"status\":\"online\",\"state\":\"drained\""

# 2. An undrain on c1 alone: c2 follows; nothing drains again.
pub_req a1 b3 none 2
check "both see the request cleared" wait_until 5 eval \
    "log_has '$T/c1.log' 'site lab: no drain requests' && log_has '$T/c2.log' 'site lab: no drain requests'"
check "undrain on c1" cli c1 undrain lab --by tester --reason "fire out"
check "c2 follows: serving" wait_until 10 is c2 serving
check "c1 serving" wait_until 10 is c1 serving
check "c2 audited the followed undrain" audit_has c2 '"event":"undrain_peer".*undrain followed from peer c1'
check "c2 names the person who undrained" audit_has c2 '"event":"undrain_peer".*"by":"tester'
check "HAProxy: web/dc1-web READY" wait_until 5 hx_is web/dc1-web ready
check "HAProxy: api/dc1-api READY" wait_until 5 hx_is api/dc1-api ready
check "no flapping after the undrain (2 s)" steady web/dc1-web ready 2
check "c1 never followed c2's stale drained state" eval "! audit_has c1 '\"event\":\"drain_peer\"'"
check "undrain hooks ran once per controller" wait_until 5 \
    eval "test \$(hooks '^c1 undrain') -eq 1 && test \$(hooks '^c2 undrain') -eq 1"

# 3. A manual drain on c2 alone: c1 follows it, carrying c2's decision.
check "manual drain on c2" cli c2 drain lab --by tester --reason "drill"
check "c1 follows: drained" wait_until 10 is c1 drained
check "c1 audited drain_peer" audit_has c1 '"event":"drain_peer".*peer c2: drain by tester'
check "c1's hook knows who decided" wait_until 5 grep -q '^c1 drain id=2 decided_by=c2' "$T/hooks.out"
check "undrain on c2" cli c2 undrain lab --by tester
check "both serving again" wait_until 10 both serving
check "HAProxy: web/dc1-web READY again" wait_until 5 hx_is web/dc1-web ready

# 4. A hold on c1 is followed by c2; so is the release.
check "hold on c1" cli c1 hold lab --by tester --reason "maintenance"
check "c2 held" wait_until 5 is c2 held
check "c2 audited hold_peer" audit_has c2 '"event":"hold_peer"'
pub_req a1 b3 drain 3 false '["room-hot"]'
check "held on both: neither drains" wait_until 5 eval \
    "log_has '$T/c1.log' 'site is held: not draining' && log_has '$T/c2.log' 'site is held: not draining'"
check "HAProxy untouched while held" hx_is web/dc1-web ready
pub_req a1 b3 none 4
check "release on c1" cli c1 release lab --by tester
check "c2 released" wait_until 5 is c2 serving
check "c2 audited release_peer" audit_has c2 '"event":"release_peer"'
check "hold on c1 again" cli c1 hold lab --by tester
check "c2 held again" wait_until 5 is c2 held
check "release on c2, the follower" cli c2 release lab --by tester
check "c1 follows the release" wait_until 5 is c1 serving
check "c2 stays released" eval "wait_until 1 false; is c2 serving"

# 5. c1 killed -9 in the middle of a drain that only it decided (manual):
# every HAProxy command makes its worker pause 3 s, so the kill lands
# between its two commands.  c2 follows and completes the drain.
stop_pid "${PID[c1]}"
start_ctl c1 EMBER_DRAIN_FAULT=slow-haproxy:3000
check "manual drain on c1" cli c1 drain lab --by tester --reason "takeover drill"
check "c1 sent its first command" wait_until 5 eval "hx_is web/dc1-web drain || hx_is api/dc1-api drain"
kill -9 "${PID[c1]}"
t_kill=$(mono_ms)
wait "${PID[c1]}" 2>/dev/null
log "killed c1 -9 mid-drain"
check "c2 completes: both servers in DRAIN" wait_until 10 eval "hx_is web/dc1-web drain && hx_is api/dc1-api drain"
t_done=$(mono_ms)
check "c2 drained" wait_until 10 is c2 drained
log "takeover: both servers in DRAIN $($PY -c "print(round($t_done - $t_kill))") ms after the kill"
check "c2 carries c1's decision" audit_has c2 '"event":"drain_peer".*peer c1: drain by tester'
check "c2's site view shows c1 offline (its Will)" \
    rec_wait 10 rec " $P/drain/state/c2 .*\{\"id\":\"c1\",\"status\":\"offline\""
check "ember-drain status on c2: c1 offline, c2 carrying c1's decision" eval \
    "cli c2 status lab | grep -q 'controller c1: offline' && cli c2 status lab | grep -q 'controller c2: online, drained (decided by c1)'"

# 6. c1 comes back: it restores its decision from the state file and
# converges with c2; nothing flaps.
start_ctl c1
check "c1 drained after its restart" wait_until 10 is c1 drained
check "no flapping with both back (1 s)" steady web/dc1-web drain 1

# 7. A state on c2's topic naming another controller is not c2's: ignored.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$P/drain/state/c2" \
    -m '{"ts":"2026-12-05T00:00:00Z","site":"lab","state":"serving","controller":"c9","undone":[{"controller":"c1","drain_id":9}]}'
check "the forged state is logged and ignored" wait_until 5 log_has "$T/c1.log" \
    "ignoring a state on drain/state/c2 that is not that controller's"
check "c1 still drained" is c1 drained

stop_pid "${PID[c1]}"
stop_pid "${PID[c2]}"
if grep -lE "Sanitizer|runtime error|Invalid (read|write)|definitely lost" "$T"/c1.log "$T"/c2.log; then
    die "sanitizer/valgrind report in ember-drain's log"
fi
finish
