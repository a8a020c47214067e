#!/bin/bash
# The history for the facility engineer: emberd keeps the events and drain
# requests the broker has acknowledged in a table of their own, bounded by
# [agent] history_max and history_age, and `emberctl events` lists them
# through the control socket (emberctl links no SQLite): with the operator,
# value and seq, filtered by --since and --alarm, in local time or --utc.
# Events held during a broker outage join the history only once the broker
# has them; the outbox is never cut for the history.  The journal read with
# the sqlite3 CLI while emberd is stopped, as the README says.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || die "sqlite3 is not installed (tests/install-deps.sh)"
start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
echo "set xy-md02.temperature 24" >"$T/sim.ctl"
CONF_AGENT_EXTRA=("history_max = 6")
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 500ms warm "keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s"
P=emberwatch/lab/a1
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
check "online" rec_wait 10 rec " $P/status online"
ctl() { "$EMBER_BIN/emberctl" -s "$T/ctl.sock" "$@"; }
events_json() { ctl -j events "$@"; }
# nev [ARGS]: how many events the history lists
nev() { events_json "$@" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))'; }

check "no alarm event in the history to start with (the zone's first request only)" \
    eval "[ \$(nev --alarm room-hot) -eq 0 ] && [ \$(nev) -le 1 ]"
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "the crossing at the broker" rec_wait 10 rec '"alarm":"room-hot".*"transition":"activated"'
ctl -b kim ack room-hot >/dev/null || die "emberctl ack"
check "the ack at the broker" rec_wait 10 rec '"alarm":"room-hot".*"transition":"acked"'
has() { # has JQ-LIKE-PYTHON-EXPR [ARGS...]: some listed event satisfies the expression e
    local expr=$1
    shift
    events_json "$@" | $PY -c "import json,sys; sys.exit(0 if any($expr for e in json.load(sys.stdin)['events']) else 1)"
}
check "emberctl events lists the activation with its value and seq" \
    wait_until 10 has "e.get('alarm') == 'room-hot' and e['transition'] == 'activated' and e['value'] >= 45 and e['seq'] > 0"
check "and the ack, by kim" wait_until 10 has "e.get('transition') == 'acked' and e.get('by') == 'kim'"
check "and the zone's drain request" has "e.get('zone') == 'b3' and e.get('transition') == 'drain_request' and e['request'] == 'drain'"
check "the same seq as at the broker" eval "seq=\$(grep '\"transition\":\"acked\"' '$T/rec.rec' | grep -o '\"seq\":[0-9]*' | head -1 | cut -d: -f2);
    has \"e.get('transition') == 'acked' and e['seq'] == \$seq\""
check "--alarm room-warm: only room-warm's" eval "[ \$(nev --alarm room-warm) -ge 1 ] &&
    ! has \"e.get('alarm') != 'room-warm'\" --alarm room-warm"
check "--since 1h has them, --limit 1 the newest only" eval "[ \$(nev --since 1h) -ge 3 ] && [ \$(nev --limit 1) -eq 1 ]"

# Local time and UTC: the same row, 9 hours apart in Seoul.
row_time() { ctl events "$@" | awk '$4 == "room-hot" && $5 == "activated" {print $1" "$2; exit}'; }
tz_gap() {
    local loc utc
    loc=$(TZ=Asia/Seoul row_time) && utc=$(TZ=Asia/Seoul row_time --utc) || return 1
    [ $(($(date -u -d "${loc%.*}" +%s) - $(date -u -d "${utc%.*}" +%s))) -eq 32400 ]
}
check "text output in local time, or in UTC with --utc" tz_gap
ctl events >"$T/events.txt"
log "emberctl events:"
sed 's/^/    /' "$T/events.txt" >&2

# ---- bad input ----
check "--limit 0 is bad usage (exit 2)" eval "ctl events --limit 0 >/dev/null 2>&1; [ \$? -eq 2 ]"
check "--utc with another command is bad usage (exit 2)" eval "ctl status --utc >/dev/null 2>&1; [ \$? -eq 2 ]"
check "--since that is no duration is refused by emberd (exit 1)" eval "ctl events --since soon 2>'$T/err'; [ \$? -eq 1 ] && grep -q 'since' '$T/err'"

# ---- the broker away: held events join the history only once acknowledged ----
stop_pid "$BROKER_PID"
check "emberd notices" wait_until 30 log_has "$T/emberd.log" "lost"
before=$(nev --limit 10000)
echo "set xy-md02.temperature 24" >"$T/sim.ctl"
check "the clearing waits in the journal" wait_until 20 eval "ctl -j status | grep -q '\"journal_pending\":[1-9]'"
check "and is not in the history yet" eval "! has \"e.get('alarm') == 'room-hot' and e['transition'] == 'cleared'\""
start_bg broker2 mosquitto -c "$T/mosquitto.conf"
BROKER_PID=$LAST_PID
wait_until 10 log_has "$T/broker2.log" "running" || die "mosquitto did not restart"
rec_start rec2 "$P/#" # the first recorder's session went with the first broker
check "once the broker has it, it is" wait_until 30 has "e.get('alarm') == 'room-hot' and e['transition'] == 'cleared'"

# ---- the count bound: history_max = 6 ----
for t in 50 24 50 24 50 24; do
    m=$(grep -c '"transition"' "$T/rec2.rec")
    echo "set xy-md02.temperature $t" >"$T/sim.ctl"
    wait_until 10 eval "[ \$(grep -c '\"transition\"' '$T/rec2.rec') -gt $m ]" || die "no event for $t"
done
maxseq() { cat "$T/rec.rec" "$T/rec2.rec" | grep -o '"seq":[0-9]*' | cut -d: -f2 | sort -n | tail -1; }
check "at most history_max rows are kept, the newest" wait_until 10 eval "[ \$(nev --limit 10000) -eq 6 ] &&
    has \"e['seq'] == \$(maxseq)\" --limit 10000"
check "the outbox is empty: nothing was held back for the history" eval "ctl -j status | grep -q '\"journal_pending\":0'"

# ---- the journal read with sqlite3 while emberd is down (README) ----
stop_pid "$EMBERD_PID"
sqlite3 -readonly "$T/journal.db" \
    "SELECT seq, datetime(acked_ms / 1000, 'unixepoch', 'localtime'), json_extract(payload, '\$.alarm'),
            json_extract(payload, '\$.transition'), json_extract(payload, '\$.by') FROM history ORDER BY seq" \
    >"$T/sqlite.out" 2>&1
check "sqlite3 reads the history while emberd is stopped" eval "[ \$(wc -l <'$T/sqlite.out') -eq 6 ] && grep -q '|room-hot|' '$T/sqlite.out'"
check "emberctl links no SQLite" eval "! ldd '$EMBER_BIN/emberctl' | grep -q sqlite"
finish
