#!/bin/bash
# No event lost past 65,535 queued: with journal_max = 200000, N (default
# 70,000, more than one MQTT message-id space) alarm events are journaled
# while the broker is down.  The broker comes back and emberd is killed -9
# 1.5 s into the replay, then started again; then a second such burst is
# replayed without a kill.  A persistent-session consumer (deduping by seq)
# must end with every seq of each burst, and the journal must empty once the
# broker has acknowledged everything: no acknowledgement may free a row
# other than the one it was for.
. "$(dirname "$0")/lib.sh"
N=${N:-70000}
KILL_AFTER=${KILL_AFTER:-1.5}

# The burst is N durable (synchronous=FULL) commits: keep the journal on a
# tmpfs when there is one, so the test measures the replay, not the disk.
JDIR=$T
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    JDIR=$(mktemp -d /dev/shm/ember-replay.XXXXXX)
    trap 'rc=$?; rm -rf "$JDIR"; (exit $rc); cleanup' EXIT
fi

# Two bursts of N wait for the consumer in the broker's queue at worst.
persistent_broker_conf $((3 * N))
start_persistent_broker 1

write_contact_conf "$T/emberd.conf" "keepalive = 5" "reconnect_max = 1s"
sed -i "s|^journal = .*|journal = $JDIR/journal.db\njournal_max = 200000|" "$T/emberd.conf"
P=emberwatch/lab/a1
start_bg sub $PY "$TOP/tests/integration/seq_sub.py" --port "$MQTT_PORT" --topic "$P/event" \
    --out "$T/seqs" --client-id noc-replay-window --max-seconds 600
SUB_PID=$LAST_PID
wait_until 10 log_has "$T/seqs" "# subscribed" || die "consumer did not subscribe"
start_emberd emberd "$T/emberd.conf"
wait_until 10 log_has "$T/emberd.log" "mqtt: connected" || die "emberd did not connect"

pending() {
    "$EMBER_BIN/emberctl" -s "$T/ctl.sock" -j status |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["journal_pending"])'
}
count_seqs() { grep -cE '^[0-9]+ ' "$T/seqs" || true; }
pending_ge() { [ "$(pending)" -ge "$1" ]; }
pending_is() { [ "$(pending)" = "$1" ]; }

# burst AFTER: N contact changes through the GPIO simulator, each one an
# alarm event, while the broker is down; sets FIRST and LAST, the seqs of
# the burst's events (the journaled ones above AFTER).
burst() {
    local t0 base
    base=$(pending)
    t0=$(date +%s)
    toggles "$N"
    wait_until 120 pending_ge $((base + N)) || die "emberd did not journal $N events (pending $(pending))"
    log "broker down: $(pending) events journaled in $(($(date +%s) - t0)) s"
    read -r FIRST LAST < <($PY -c "
import sqlite3
print(*sqlite3.connect('$JDIR/journal.db').execute('SELECT min(seq), max(seq) FROM outbox WHERE seq > ?', ($1,)).fetchone())")
}
# missing LO HI: how many seqs in [LO, HI] the consumer never received.
missing() {
    $PY - "$T/seqs" "$1" "$2" <<'EOF'
import sys
s = set(int(l.split()[0]) for l in open(sys.argv[1]) if l[0].isdigit())
lo, hi = int(sys.argv[2]), int(sys.argv[3])
print(sum(1 for x in range(lo, hi + 1) if x not in s))
EOF
}
# settle LO HI: waits until every seq in [LO, HI] has arrived, or until
# nothing more arrives for 5 s (what is lost then never comes); then gives
# the journal a moment to empty.
settle() {
    local prev=-1 now i
    for ((i = 0; i < 30; i++)); do
        [ "$(missing "$1" "$2")" -eq 0 ] && break
        now=$(count_seqs)
        [ "$now" -eq "$prev" ] && break
        prev=$now
        sleep 5
    done
    wait_until 10 pending_is 0
}
# expect_all WHAT LO HI: after the replay, no seq in [LO, HI] is missing
# and no row is left in the journal.
expect_all() {
    local lost left
    settle "$2" "$3"
    lost=$(missing "$2" "$3")
    left=$(pending)
    log "$1: $lost of $(($3 - $2 + 1)) events lost, $left rows left in the journal"
    check "$1: no event lost" test "$lost" -eq 0
    check "$1: the journal empties once the broker has acknowledged everything" test "$left" -eq 0
}

# ---- 1. killed -9 in the middle of the replay -------------------------------
stop_pid "$BROKER_PID"
wait_until 10 log_has "$T/emberd.log" "lost" || die "emberd did not notice the outage"
burst 0
first=$FIRST last=$LAST
check "more events queued than MQTT has message ids" test $((last - first + 1)) -gt 65535
start_persistent_broker 2
wait_until 10 log_has "$T/emberd.log" "journal: replaying" || die "emberd did not start the replay"
sleep "$KILL_AFTER" # the kill's timing is the test condition, not a wait for readiness
seen_at_kill=$(count_seqs)
kill -KILL "$EMBERD_PID"
wait "$EMBERD_PID" 2>/dev/null
log "killed -9 ${KILL_AFTER}s into the replay; the consumer had $seen_at_kill of $((last - first + 1))"
check "the kill landed mid-replay" test "$seen_at_kill" -lt $((last - first + 1))
start_emberd emberd2 "$T/emberd.conf"
expect_all "kill -9 mid-replay" "$first" "$last"

# ---- 2. the same burst replayed without a kill ------------------------------
stop_pid "$BROKER_PID"
wait_until 10 log_has "$T/emberd2.log" "lost" || die "emberd did not notice the outage"
burst "$last"
check "again more events queued than MQTT has message ids" test $((LAST - FIRST + 1)) -gt 65535
start_persistent_broker 3
expect_all "replay without a kill" "$FIRST" "$LAST"
stop_pid "$SUB_PID"
stop_pid "$EMBERD_PID"
check "no sanitizer report from emberd" bash -c "! grep -lE 'Sanitizer|runtime error' '$T'/emberd*.log"
log "consumer: $(grep -o '# duplicates [0-9]*' "$T/seqs" | tail -1 | sed 's/# //') (at-least-once; deduped by seq)"
finish
