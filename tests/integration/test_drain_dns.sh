#!/bin/bash
# The [dns] target against a real BIND 9 named on 127.0.0.1 (a private port,
# its own config directory and zone, a TSIG key with an update-policy), with
# dig as the independent reader:
#   * a drain deletes the site's addresses from the named RRsets and adds the
#     standby's, in one signed RFC 2136 update; dig sees it and drain/state
#     publishes what was read back;
#   * a record whose TTL is longer than max_ttl is warned about and audited;
#   * what the drain removed is kept in the state file: after kill -9 the
#     restarted ember-drain still knows it, and its undrain restores exactly
#     what was there (TTLs included; a standby address that was in the
#     RRset before the drain stays);
#   * a drain that would leave an RRset empty is refused, audited, and the
#     RRset is untouched;
#   * an unknown key (BADKEY), a wrong secret (BADSIG), a zone the key may
#     not update (REFUSED) and a server that does not answer (timeout) each
#     give a clear, audited error and change nothing.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

# ---- named ------------------------------------------------------------------
Z=example.test
zone_file $Z <<EOC
www IN A 192.0.2.10
www IN A 198.51.100.10
www IN A 203.0.113.11
www IN AAAA 2001:db8::10
api 300 IN A 192.0.2.10
solo IN A 192.0.2.12
EOC
zone_file locked.test <<EOC
www IN A 192.0.2.10
www IN A 198.51.100.10
EOC
start_named $Z "zone \"locked.test\" { type primary; file \"$T/named/locked.test.zone\"; allow-update { none; }; };"
tsig_secret "$T/wrong.secret"
check "named answers on 127.0.0.1:$DNS_PORT" test -n "$(dq www.$Z A)"
check "named listens on loopback only" test "$(loopback_listeners "$NAMED_PID" "$DNS_PORT")" -ge 1

# ---- ember-drain --------------------------------------------------------------
start_broker
DEAD_PORT=$(free_port)
dns_section() { # dns_section NAME ZONE NAMES ADDRESSES STANDBY KEY SECRETFILE [PORT] [EXTRA]
    cat <<EOC

[dns $1]
server = 127.0.0.1:${8:-$DNS_PORT}
zone = $2
names = $3
addresses = $4
${5:+standby = $5}
tsig_key = $6
tsig_algorithm = hmac-sha256
tsig_secret_file = $7
timeout = 500ms
refresh = 1s
${9:-}
EOC
}
site_section() { printf '\n[site %s]\nzones = b3\nvote = 1\nhold_down = 0\ntargets = %s\n' "$1" "$2"; }
{
    site_section lab gslb
    dns_section gslb $Z "www, api" "192.0.2.10, 2001:db8::10" "203.0.113.11, 2001:db8::20" \
        ember-drain "$T/tsig.secret" "" "max_ttl = 60s"
    site_section solo solo
    dns_section solo $Z solo 192.0.2.12 "" ember-drain "$T/tsig.secret"
    site_section badkey badkey
    dns_section badkey $Z www 198.51.100.10 "" nosuchkey "$T/tsig.secret"
    site_section badsig badsig
    dns_section badsig $Z www 198.51.100.10 "" ember-drain "$T/wrong.secret"
    site_section locked locked
    dns_section locked locked.test www 192.0.2.10 "" ember-drain "$T/tsig.secret"
    site_section dead dead
    dns_section dead $Z www 198.51.100.10 "" ember-drain "$T/tsig.secret" "$DEAD_PORT"
} | write_drain_conf "$T/drain.conf"
check "ember-drain -n accepts the [dns] sections" "$EMBER_BIN/ember-drain" -n -c "$T/drain.conf"

pub_site() { # pub_site SITE REQUEST SEQ: agent a1's retained request for zone b3
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -t "emberwatch/$1/a1/drain/b3" \
        -m "{\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\",\"zone\":\"b3\",\"request\":\"$2\",\"reason\":\"test\",\"alarms\":[\"room-hot\"],\"votes\":1,\"vote\":1,\"seq\":$3,\"test\":false}"
}
A=$T/drain-audit.log
audit_has() { grep -q -- "$1" "$A"; }
# dns_target SITE NAME FIELD: a field of one of the site's targets in `status`.
dns_target() {
    drain_cli status --json "$1" | $PY -c '
import json, sys
s = json.load(sys.stdin)["sites"][0]
t = [t for t in s["targets"] if t["name"] == sys.argv[1]][0]
v = t.get(sys.argv[2])
print(" ".join(sorted(v)) if isinstance(v, list) else v)' "$2" "$3"
}

P=emberwatch/lab
rec_start rec "$P/drain/state"
start_drain drain "$T/drain.conf"
check "site lab serving" site_is lab serving
check "status reads the RRsets back: www A" wait_until 10 \
    eval "[ \"\$(dns_target lab gslb/www.$Z./A records)\" = '192.0.2.10 198.51.100.10 203.0.113.11' ]"
check "status: the site's address is present" test "$(dns_target lab gslb/www.$Z./A state)" = present

# 1. Drain: delete the site's addresses, add the standby's.
pub_site lab drain 1
check "site lab drained (every RRset reads back)" wait_until 10 site_is lab drained
check "dig: www A without the site's address, standby already there kept" \
    test "$(dq www.$Z A)" = "198.51.100.10 203.0.113.11"
check "dig: www AAAA replaced by the standby's" test "$(dq www.$Z AAAA)" = "2001:db8::20"
check "dig: api A replaced by the standby's" test "$(dq api.$Z A)" = "203.0.113.11"
check "dig: api AAAA (never the site's) left alone" test -z "$(dq api.$Z AAAA)"
check "drain/state publishes what was read back" \
    rec_wait 5 rec "\"name\":\"gslb/www.$Z./AAAA\",\"kind\":\"dns\",\"state\":\"absent\",\"records\":\[\"2001:db8::20\"\]"
status_has() { drain_cli status "$1" | grep -Eq -- "$2"; }
check "ember-drain status shows the records read back" \
    status_has lab "dns +gslb/www\.$Z\./A +absent \[198\.51\.100\.10 203\.0\.113\.11\]"
check "the update is audited" audit_has "\"event\":\"dns\".*\"update\":\"delete www.$Z. A 192.0.2.10"
check "api's TTL (300 s > max_ttl 60 s) is warned about" log_has "$T/drain.log" "api.$Z. A 300 s.*longer than max_ttl 60 s"
check "... and audited" audit_has "\"dns\":\"gslb\".*longer than max_ttl"

# 2. What was removed survives kill -9: the state file keeps it.
check "the state file keeps what the drain removed" $PY -c "
import json
d = {(e['name'], e['type']): e for e in json.load(open('$T/drain-state.json'))['dns']}
w = d[('www.$Z.', 'A')]
assert [r['addr'] for r in w['removed']] == ['192.0.2.10'] and w['added'] == [], w
a = d[('api.$Z.', 'A')]
assert a['removed'] == [{'addr': '192.0.2.10', 'ttl': 300}], a
assert [r['addr'] for r in a['added']] == ['203.0.113.11'], a
assert ('api.$Z.', 'AAAA') not in d, d"
kill -9 "$DRAIN_PID"
wait "$DRAIN_PID" 2>/dev/null
log "killed ember-drain -9 while drained"
start_drain drain2 "$T/drain.conf"
check "restarted: the journals are read back" log_has "$T/drain2.log" "\[dns gslb\] www.$Z. A: 1 record(s) to restore on undrain"
check "restarted: still drained" wait_until 10 site_is lab drained
check "restarted: dig unchanged" test "$(dq www.$Z A)" = "198.51.100.10 203.0.113.11"

# 3. Undrain (by the restarted controller) restores exactly what was there.
pub_site lab none 2
check "the request is cleared" wait_until 5 sh -c "grep -q 'request from a1 for zone b3: none' '$T/drain2.log'"
drain_cli undrain lab --reason "fire out" >/dev/null
check "site lab serving again" wait_until 10 site_is lab serving
check "dig: www A exactly as before" \
    wait_until 10 eval "[ \"\$(dq www.$Z A)\" = '192.0.2.10 198.51.100.10 203.0.113.11' ]"
check "dig: www AAAA exactly as before" test "$(dq www.$Z AAAA)" = "2001:db8::10"
check "dig: api A exactly as before" test "$(dq api.$Z A)" = "192.0.2.10"
check "api's TTL restored (300)" \
    test "$(dig @127.0.0.1 -p "$DNS_PORT" +noall +answer +norecurse api.$Z A | awk '{print $2}')" = 300
check "nothing left to undo in the state file" \
    wait_until 10 $PY -c "import json; assert json.load(open('$T/drain-state.json')).get('dns', []) == []"

# 4. A drain that would leave an RRset empty is refused.
pub_site solo drain 1
check "solo: refused, audited" wait_until 10 audit_has "\"dns\":\"solo\".*would leave it empty"
check "solo: the RRset is untouched" test "$(dq solo.$Z A)" = "192.0.2.12"
check "solo: stays draining (not drained)" site_is solo draining
check "solo: status shows the error" status_has solo "error: not sent: removing the site's addresses from solo\.$Z\. A would leave it empty"

# 5. TSIG and server errors: clear, audited, nothing changed.
pub_site badkey drain 1
check "unknown key: BADKEY, audited" wait_until 10 audit_has "\"dns\":\"badkey\".*BADKEY"
pub_site badsig drain 1
check "wrong secret: BADSIG, audited" wait_until 10 audit_has "\"dns\":\"badsig\".*BADSIG"
pub_site locked drain 1
check "zone without update rights: REFUSED, audited" wait_until 10 audit_has "\"dns\":\"locked\".*REFUSED"
pub_site dead drain 1
check "no server: timeout, audited" wait_until 10 audit_has "\"dns\":\"dead\".*\\(no answer\\|within\\|unreachable\\)"
check "dig: www A untouched by the failed updates" test "$(dq www.$Z A)" = "192.0.2.10 198.51.100.10 203.0.113.11"
check "dig: locked.test untouched" test "$(dq www.locked.test A)" = "192.0.2.10 198.51.100.10"
for s in badkey badsig locked; do
    check "$s stays draining" site_is $s draining
done
sleep 1 # four retries at 250 ms
for s in solo badkey badsig locked dead; do
    check "$s: one audit entry for its error, not one per retry" \
        test "$(grep -c "\"dns\":\"$s\"" "$A")" -eq 1
done
grep '"event":"dns_error"' "$A" | $PY -c 'import json,sys
for l in sys.stdin: e=json.loads(l); print("audit", e["site"], e["result"])' >&2

stop_drain
stop_pid "$NAMED_PID"
finish
