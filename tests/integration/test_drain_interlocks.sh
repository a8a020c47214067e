#!/bin/bash
# The safety interlocks hold for every target kind at once: one site drains
# a [dns] target (a real BIND 9 named with a TSIG zone, read with dig), a
# [bgp] target (two real BIRD 2 routers peering on 127.0.0.1, read at the
# observer) and a [haproxy] target (a real HAProxy 2.6).  Requests are
# published by hand as two agents (zones b3, b4; the site needs both):
#   * a request marked test never acts, even from both zones;
#   * one zone's request does not act (vote = 2), the second one does;
#   * nothing acts before hold_down has expired;
#   * a held site does not act on the requests; release lets it;
#   * cleared requests leave the site drained; only `undrain` restores;
#   * with dry_run = yes nothing changes at any server, the would-be
#     commands are audited (dns_dry_run, bgp_dry_run, haproxy_dry_run) and
#     drain/state says dry run;
#   * `ember-drain status` shows each target with the state read back.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

Z=example.test
zone_file $Z <<EOC
www IN A 192.0.2.10
www IN A 198.51.100.10
EOC
start_named $Z
start_bird_pair "192.0.2.0/24" "198.51.100.0/24"
start_backends dc1-web dc2-web
start_haproxy web:dc1-web,dc2-web
start_broker

HOLD_DOWN=2
site_conf() { # site_conf FILE: the site, its three targets
    {
        printf '[site lab]\nzones = b3, b4\nvote = 2\nhold_down = %ss\ntargets = gslb, edge, hx\n' "$HOLD_DOWN"
        dns_target gslb $Z www 192.0.2.10 "timeout = 500ms" "refresh = 500ms"
        bgp_target edge 192.0.2.0/24 "refresh = 300ms"
        printf '\n[haproxy hx]\nsocket = %s\nservers = web/dc1-web\nrefresh = 300ms\n' "$HX_SOCK"
    } | write_drain_conf "$1"
}
site_conf "$T/drain.conf"
out=$("$EMBER_BIN/ember-drain" -n -c "$T/drain.conf")
check "ember-drain -n counts the three kinds ($out)" grep -qF \
    "(1 site, 1 haproxy instance with 1 server, 1 bgp target with 1 prefix, 1 dns target, 0 hooks)" <<<"$out"

# What each server says, independently of ember-drain.
serving() { [ "$(dq www.$Z A)" = "192.0.2.10 198.51.100.10" ] && obs_has 192.0.2.0/24 && hx_is web/dc1-web ready; }
drained() { [ "$(dq www.$Z A)" = "198.51.100.10" ] && obs_lacks 192.0.2.0/24 && hx_is web/dc1-web drain; }
check "dig, the observer and HAProxy: serving before ember-drain starts" serving
check "the observer keeps the other route" obs_has 198.51.100.0/24

P=emberwatch/lab
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 "$@"; }
pub -r -t "$P/a1/status" -m online
pub -r -t "$P/a2/status" -m online
pub_req a1 b3 none 1
pub_req a2 b4 none 1
rec_start rec "$P/drain/state"
start_drain drain "$T/drain.conf"
A=$T/drain-audit.log
check "site lab serving" site_is lab serving

# status_target NAME: "KIND STATE" of one target in `status --json`.
status_target() {
    drain_cli status --json lab | $PY -c '
import json, sys
t = [t for t in json.load(sys.stdin)["sites"][0]["targets"] if t["name"] == sys.argv[1]][0]
print(t["kind"], t["state"])' "$1"
}
status_is() { [ "$(status_target "$1")" = "$2" ]; }
status_shows() { # status_shows DNS BGP HAPROXY: the three targets' read-back states
    status_is "gslb/www.$Z./A" "dns $1" && status_is "edge/anycast/192.0.2.0/24" "bgp $2" &&
        status_is hx/web/dc1-web "haproxy $3"
}
check "status --json: dns present, bgp announced, haproxy ready" wait_until 5 status_shows present announced ready
drain_cli status lab >"$T/status0.out"
check "status (text) lists the dns target with its records" grep -Eq "dns +gslb/www\.$Z\./A +present \[192\.0\.2\.10 198\.51\.100\.10\]" "$T/status0.out"
check "status (text) lists the bgp target announced" grep -Eq "bgp +edge/anycast/192\.0\.2\.0/24 +announced" "$T/status0.out"
check "status (text) lists the haproxy target ready" grep -Eq "haproxy +hx/web/dc1-web +ready" "$T/status0.out"

# 1. Test requests from both zones (enough votes, were they real): shown,
# never acted on, for longer than hold_down.
pub_req a1 b3 drain 2 true
pub_req a2 b4 drain 2 true
check "test request seen" wait_until 5 log_has "$T/drain.log" "request from a2 for zone b4: drain (test: not acted on)"
check "test requests never act: dig, observer, HAProxy unchanged ($((HOLD_DOWN + 1)) s watch)" stays $((HOLD_DOWN + 1)) serving
check "still serving" site_is lab serving
check "nothing audited as a dns or bgp change" test "$(count_lines "$A" '"event":"\(dns\|bgp\|haproxy\)"')" -eq 0

# 2. Votes: one zone's real request does not act.
pub_req a2 b4 none 3
pub_req a1 b3 drain 4
check "a1's real request seen" wait_until 5 log_has "$T/drain.log" "request from a1 for zone b3: drain (seq 4"
check "one zone of two does not act ($((HOLD_DOWN + 1)) s watch)" stays $((HOLD_DOWN + 1)) serving
drain_cli status lab >"$T/status1.out"
check "status shows 1/2 votes" grep -qE '^lab +serving +1/2 ' "$T/status1.out"

# 3. The second zone: nothing before hold_down expires, then every target.
t0=$(date +%s%N)
pub_req a2 b4 drain 5
check "the condition waits hold_down" wait_until 5 log_has "$T/drain.log" "draining if it still holds in"
check "nothing acts during hold_down (1.2 s watch)" stays 1.2 serving
check "after hold_down: dig, observer and HAProxy all drained" wait_until 10 drained
t1=$(date +%s%N)
log "second zone's request -> all three targets drained in $(((t1 - t0) / 1000000)) ms (hold_down ${HOLD_DOWN} s)"
check "not before hold_down ($(((t1 - t0) / 1000000)) ms >= $((HOLD_DOWN * 1000 - 100)) ms)" \
    test $(((t1 - t0) / 1000000)) -ge $((HOLD_DOWN * 1000 - 100))
check "the other route stays at the observer" obs_has 198.51.100.0/24
check "site drained" wait_until 5 site_is lab drained
check "status --json: dns absent, bgp withdrawn, haproxy drain" wait_until 5 status_shows absent withdrawn drain
drain_cli status lab >"$T/status2.out"
check "status (text) shows the dns records read back" grep -Eq "dns +gslb/www\.$Z\./A +absent \[198\.51\.100\.10\]" "$T/status2.out"
check "retained drain/state: drained" rec_wait 5 rec " $P/drain/state .*\"state\":\"drained\""

# 4. The requests clear: the site stays drained; only a person undrains.
pub_req a1 b3 none 6
pub_req a2 b4 none 6
check "no drain requests" wait_until 5 log_has "$T/drain.log" "site lab: no drain requests"
check "cleared requests do not undrain: dig, observer, HAProxy stay drained (1.5 s watch)" stays 1.5 drained
check "still drained" site_is lab drained
check "undrain lab (a person)" drain_cli undrain lab --by tester --reason "room inspected"
check "undrain restores dig, the observer and HAProxy" wait_until 10 serving
check "site serving" wait_until 5 site_is lab serving
check "audit: the undrain by the person" grep -q '"event":"undrain".*"by":"tester (uid [0-9]*)","via":"control socket"' "$A"

# 5. Hold: a held site does not act on the requests; release lets it.
check "hold lab" drain_cli hold lab --by tester --reason "drill"
check "site held" site_is lab held
pub_req a1 b3 drain 7
pub_req a2 b4 drain 7
check "condition noticed but held" wait_until 5 log_has "$T/drain.log" "drain condition holds but the site is held"
check "a held site does not act ($((HOLD_DOWN + 1)) s watch)" stays $((HOLD_DOWN + 1)) serving
check "release lab" drain_cli release lab --by tester
check "release lets it drain: dig, observer, HAProxy" wait_until $((HOLD_DOWN + 10)) drained
check "site drained after release" wait_until 5 site_is lab drained
pub_req a1 b3 none 8
pub_req a2 b4 none 8
check "no drain requests again" wait_until 5 eval '[ "$(count_lines "$T/drain.log" "site lab: no drain requests")" -ge 2 ]'
check "undrain lab" drain_cli undrain lab --by tester
check "serving again" wait_until 10 serving
check "site serving again" wait_until 5 site_is lab serving
stop_drain

# 6. dry_run = yes: the site goes through its states, no server changes.
DRAIN_EXTRA=("dry_run = yes")
HOLD_DOWN=0
site_conf "$T/dry.conf"
rm -f "$T/drain-state.json"
start_drain dry "$T/dry.conf"
pub_req a1 b3 drain 9
pub_req a2 b4 drain 9
check "dry run: reports drained" wait_until 10 site_is lab drained
check "dry run: retained drain/state says drained, dry run" rec_wait 5 rec " $P/drain/state .*\"state\":\"drained\".*\"dry_run\":true"
check "dry run: dig, the observer and HAProxy unchanged (1.5 s watch)" stays 1.5 serving
for ev in dns_dry_run bgp_dry_run haproxy_dry_run; do
    check "dry run: audit has $ev" grep -q "\"event\":\"$ev\"" "$A"
done
check "dry run: the update it would send is logged" log_has "$T/dry.log" "dns gslb: dry run: would send update: delete www.$Z. A 192.0.2.10"
check "dry run: the BIRD command it would send is logged" log_has "$T/dry.log" "dry run: would send 'disable \"anycast\"'"
check "dry run: status says DRY RUN" eval 'drain_cli status lab | grep -q "DRY RUN"'
pub_req a1 b3 none 10
pub_req a2 b4 none 10
stop_drain
finish
