#!/bin/bash
# ember-drain's [bgp] target against two real BIRD 2 routers on 127.0.0.1.
#
# "edge" announces the site's anycast prefixes (static protocol anycast:
# 192.0.2.0/24 and 203.0.113.0/24) and another route (static protocol
# stay1: 198.51.100.0/24) over one BGP session to "observer", an
# independent BIRD whose table is read with birdc.  A drain must withdraw
# both anycast prefixes from the observer while 198.51.100.0/24 and the
# session stay; a prefix announced again by hand is withdrawn again (the
# state is read back from BIRD); only `undrain` announces them again.  A
# missing control socket and a protocol BIRD does not have are clear,
# audited errors; bad [bgp] keys name file:line.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_bird_pair "192.0.2.0/24 203.0.113.0/24" "198.51.100.0/24"
check "observer's BGP session to edge is established" session_up observer edge
for p in 192.0.2.0/24 203.0.113.0/24 198.51.100.0/24; do
    check "observer learned $p" obs_has $p
done

start_broker
write_drain_conf "$T/drain.conf" <<EOC
[site lab]
vote = 1
hold_down = 0
targets = edge

[bgp edge]
socket = $T/edge.ctl
protocol = anycast
prefixes = 192.0.2.0/24, 203.0.113.0/24
refresh = 300ms

[site lab2]
vote = 1
hold_down = 0
targets = ghost, gone

[bgp ghost]
socket = $T/edge.ctl
protocol = ghost
prefixes = 10.99.0.0/16

[bgp gone]
socket = $T/no-such-bird.ctl
protocol = anycast
prefixes = 192.0.2.0/24
timeout = 200ms
EOC
out=$("$EMBER_BIN/ember-drain" -n -c "$T/drain.conf")
check "ember-drain -n counts the bgp targets ($out)" grep -qF \
    "configuration OK (2 sites, 0 haproxy instances with 0 servers, 3 bgp targets with 4 prefixes, 0 hooks)" <<<"$out"

P=emberwatch/lab
rec_start rec "$P/drain/state"
start_drain drain "$T/drain.conf"
check "retained drain/state: serving, prefixes announced as BIRD reads them" \
    rec_wait 10 rec " $P/drain/state .*\"state\":\"serving\",\"targets\":\\[\\{\"name\":\"edge/anycast/192.0.2.0/24\",\"kind\":\"bgp\",\"state\":\"announced\",\"protocol\":\"up\""
drain_cli status >"$T/status0.out"
check "status shows the bgp target announced" grep -q "edge/anycast/203.0.113.0/24.*announced" "$T/status0.out"

# 1. A drain request: both anycast prefixes leave the observer's table; the
# other route and the session stay.
t0=$(date +%s%N)
pub_req a1 b3 drain 1
check "observer lost 192.0.2.0/24" wait_until 5 obs_lacks 192.0.2.0/24
check "observer lost 203.0.113.0/24" wait_until 5 obs_lacks 203.0.113.0/24
t1=$(date +%s%N)
log "drain request -> both prefixes gone from the observer in $(((t1 - t0) / 1000000)) ms"
check "198.51.100.0/24 (same session, not drained) stays at the observer" obs_has 198.51.100.0/24
check "the BGP session stays established (edge)" session_up edge observer
check "the BGP session stays established (observer)" session_up observer edge
check "site drained" wait_until 5 site_is lab drained
check "retained drain/state: drained, prefixes withdrawn, protocol down" \
    rec_wait 5 rec " $P/drain/state .*\"state\":\"drained\",\"targets\":\\[\\{\"name\":\"edge/anycast/192.0.2.0/24\",\"kind\":\"bgp\",\"state\":\"withdrawn\",\"protocol\":\"down\""
check "audit: the disable command and BIRD's answer" \
    grep -qF '"event":"bgp","bgp":"edge","command":"disable \"anycast\"","result":"anycast: disabled","ok":true' "$T/drain-audit.log"

# 2. Someone announces them again by hand: the read-back sees it and the
# worker withdraws them again (the drain stands).
# (The observer may or may not see the prefix in between: how long it is
# announced depends on when the worker next reads BIRD, so only the
# worker's second disable and the end state are checked.)
disables() { grep -cF '"command":"disable \"anycast\"","result":"anycast: disabled","ok":true' "$T/drain-audit.log"; }
before=$(disables)
check "birdc enable anycast (by hand)" birdc_q edge enable anycast
check "ember-drain disables it again (audited)" wait_until 10 eval "[ \$(disables) -gt $before ]"
check "the observer lacks 192.0.2.0/24 again" wait_until 5 obs_lacks 192.0.2.0/24
check "still drained" site_is lab drained

# 3. Alarms clear: the site stays drained; only a person's undrain announces.
pub_req a1 b3 none 2
sleep 1
check "cleared request does not announce (observer still lacks the prefix)" obs_lacks 192.0.2.0/24
check "undrain lab" drain_cli undrain lab --by tester --reason "fire out"
check "observer relearned 192.0.2.0/24" wait_until 5 obs_has 192.0.2.0/24
check "observer relearned 203.0.113.0/24" wait_until 5 obs_has 203.0.113.0/24
check "site serving" wait_until 5 site_is lab serving
check "audit: the enable command" wait_until 5 \
    grep -qF '"command":"enable \"anycast\"","result":"anycast: enabled","ok":true' "$T/drain-audit.log"
check "the session never dropped (one Established since start)" session_up observer edge

# 4. Errors: a BIRD without the protocol, and no BIRD at the socket.
check "drain lab2 (manual)" drain_cli drain lab2 --by tester --reason "error paths"
check "audit: BIRD has no protocol ghost" wait_until 5 \
    grep -qF '"event":"bgp_error","bgp":"ghost","error":"BIRD has no protocol ghost"' "$T/drain-audit.log"
check "audit: the missing control socket, named" wait_until 5 \
    grep -qF "\"event\":\"bgp_error\",\"bgp\":\"gone\",\"error\":\"show protocols \\\"anycast\\\": BIRD socket $T/no-such-bird.ctl: No such file or directory\"" "$T/drain-audit.log"
check "lab2 stays draining (nothing reads back withdrawn)" site_is lab2 draining
drain_cli status --json lab2 >"$T/status2.json"
check "status --json shows the errors and states" $PY -c '
import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["sites"][0]["targets"]}
assert t["ghost/ghost/10.99.0.0/16"]["protocol"] == "missing", t
assert t["gone/anycast/192.0.2.0/24"]["state"] == "unreachable", t
assert "No such file" in t["gone/anycast/192.0.2.0/24"]["error"], t
' "$T/status2.json"
check "lab's prefixes unaffected by lab2 (gone shares the protocol name only)" obs_has 192.0.2.0/24
check "errors audited once per change, not per retry" \
    test "$(count_lines "$T/drain-audit.log" '"bgp":"ghost","error"')" -eq 1
stop_drain

# 5. Bad [bgp] keys: file:line.
cat >"$T/bad.conf" <<EOC
[site lab]
targets = b1

[bgp b1]
socket = $T/edge.ctl
protocol = any-cast
prefixes = 192.0.2.1/24, 2001:db8::/129, 192.0.2.0/24, 192.0.2.0/24

[bgp b2]
prefixes = 10.0.0.0/8
EOC
"$EMBER_BIN/ember-drain" -n -c "$T/bad.conf" 2>"$T/bad.err" && die "bad.conf loaded"
expect() { grep -qF -- "$1" "$T/bad.err"; }
check "bad protocol name" expect "bad.conf:4: [bgp b1] protocol: 'any-cast' is not a BIRD protocol name"
check "host bits set" expect "bad.conf:4: [bgp b1] prefixes: '192.0.2.1/24' is not a network"
check "length out of range" expect "bad.conf:4: [bgp b1] prefixes: '2001:db8::/129' is not a network"
check "listed twice" expect "bad.conf:4: [bgp b1] prefixes: '192.0.2.0/24' is listed twice"
check "missing socket" expect "bad.conf:9: [bgp b2]: missing key 'socket'"
check "missing protocol" expect "bad.conf:9: [bgp b2]: missing key 'protocol'"
check "untargeted bgp" expect "bad.conf:9: [bgp b2]: not a target of any [site]"

finish
