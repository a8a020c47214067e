#!/bin/bash
# Nothing lost: 1,000 alarm events while the broker is down for 30 s all
# arrive once it returns (a persistent-session consumer dedupes by seq);
# emberd killed -9 mid-burst and restarted loses nothing and seq continues;
# a journal that cannot be opened is a clear error at start, not a crash,
# and a full disk at start means starting degraded.
. "$(dirname "$0")/lib.sh"
OUTAGE=${OUTAGE:-30}
N=1000

persistent_broker_conf
start_persistent_broker 1
write_contact_conf "$T/emberd.conf" "keepalive = 5" "reconnect_max = 1s"
P=emberwatch/lab/a1
start_bg sub $PY "$TOP/tests/integration/seq_sub.py" --port "$MQTT_PORT" --topic "$P/event" \
    --out "$T/seqs"
SUB_PID=$LAST_PID
wait_until 10 log_has "$T/seqs" "# subscribed" || die "consumer did not subscribe"
start_emberd emberd "$T/emberd.conf"
wait_until 10 log_has "$T/emberd.log" "mqtt: connected" || die "emberd did not connect"

count_seqs() { grep -cE '^[0-9]+ ' "$T/seqs" || true; }

# ---- 1. broker down during a burst ----------------------------------------
stop_pid "$BROKER_PID"
wait_until 10 log_has "$T/emberd.log" "lost" || die "emberd did not notice the outage"
toggles $N
wait_until 20 bash -c "grep -c 'alarm c1: ' '$T/emberd.log' | awk '{exit !(\$1 >= $N)}'" ||
    die "emberd did not raise $N events"
pending=$("$EMBER_BIN/emberctl" -s "$T/ctl.sock" -j status | $PY -c 'import json,sys; print(json.load(sys.stdin)["journal_pending"])')
log "broker down: $pending events waiting in the journal; outage ${OUTAGE}s"
check "all $N events are journaled while the broker is down" test "$pending" -ge $N
sleep "$OUTAGE" # the outage itself is the test condition, not a wait for readiness
start_persistent_broker 2
check "every event delivered after the outage" wait_until 60 bash -c "[ \$(grep -cE '^[0-9]+ ' '$T/seqs') -ge $N ]"
$PY - "$T/seqs" <<'EOF' >"$T/gaps1"
import sys
s = sorted(int(l.split()[0]) for l in open(sys.argv[1]) if l[0].isdigit())
gaps = [x for x in range(s[0], s[-1] + 1) if x not in set(s)]
print("first=%d last=%d distinct=%d gaps=%d" % (s[0], s[-1], len(s), len(gaps)))
sys.exit(1 if gaps else 0)
EOF
check "no gaps in seq" test $? -eq 0
log "outage: $(cat "$T/gaps1")"
wait_until 10 bash -c "[ \$($EMBER_BIN/emberctl -s $T/ctl.sock -j status | $PY -c 'import json,sys; print(json.load(sys.stdin)[\"journal_pending\"])') -eq 0 ]"
check "journal empties once the broker has acknowledged" test $? -eq 0

# ---- 2. emberd killed -9 mid-burst ----------------------------------------
before=$(count_seqs)
toggles $N 0.003 &
TOG=$!
PIDS+=("$TOG")
wait_until 20 bash -c "[ \$(grep -cE '^[0-9]+ ' '$T/seqs') -ge $((before + 200)) ]" ||
    die "burst did not start"
kill -KILL "$EMBERD_PID"
wait "$TOG" 2>/dev/null
max_journal=$($PY -c "
import sqlite3, sys
db = sqlite3.connect('$T/journal.db')
r = db.execute('SELECT max(seq) FROM outbox').fetchone()[0]
print(r or 0)")
max_seen=$($PY -c "import sys; print(max(int(l.split()[0]) for l in open('$T/seqs') if l[0].isdigit()))")
last_run1=$(( max_journal > max_seen ? max_journal : max_seen ))
check "the kill landed mid-burst" test "$max_journal" -lt $((2 * N)) -o "$max_seen" -lt $((2 * N))
log "killed -9: consumer had $(count_seqs) events, highest journaled seq $max_journal, highest seen $max_seen"
start_emberd emberd2 "$T/emberd.conf"
check "restart replays what the broker had not acknowledged" \
    wait_until 30 bash -c "$PY -c \"
import sys
s = set(int(l.split()[0]) for l in open('$T/seqs') if l[0].isdigit())
sys.exit(0 if all(x in s for x in range(min(s), $last_run1 + 1)) else 1)\""
m=$(count_seqs)
toggles 2
wait_until 10 bash -c "[ \$(grep -cE '^[0-9]+ ' '$T/seqs') -ge $((m + 2)) ]"
first_run2=$($PY -c "import sys; print(max(int(l.split()[0]) for l in open('$T/seqs') if l[0].isdigit()))")
log "seq before the kill reached $last_run1; after the restart $first_run2"
check "seq continues after kill -9 (never reused)" test "$first_run2" -gt "$last_run1"
stop_pid "$SUB_PID"
dups=$(grep -o '# duplicates [0-9]*' "$T/seqs" | tail -1)
log "consumer saw ${dups#\# } (at-least-once; deduped by seq)"

# ---- 3. journals that cannot be written -----------------------------------
stop_pid "$EMBERD_PID"
bad() { # bad NAME JOURNAL: emberd must exit 1 naming the journal
    local name=$1 j=$2
    sed "s|^journal = .*|journal = $j|" "$T/emberd.conf" >"$T/$name.conf"
    timeout 10 "$EMBER_BIN/emberd" -c "$T/$name.conf" >"$T/$name.out" 2>&1
    echo $?
}
rc=$(bad ro /proc/emberwatch-journal.db)
check "read-only journal path: exit 1" test "$rc" -eq 1
check "read-only journal path: named in the error" grep -q "cannot open the journal /proc/emberwatch-journal.db" "$T/ro.out"
rc=$(bad nodir "$T/no/such/dir/journal.db")
check "missing directory: exit 1 with the path" bash -c "[ $rc -eq 1 ] && grep -q 'no/such/dir/journal.db' '$T/nodir.out'"
# No permission: as a user who may not create files in the journal's
# directory (root may everywhere), still a configuration error.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    mkdir -p "$T/perm/ro"
    chmod 711 "$T"
    chmod 755 "$T/perm" "$T/perm/ro"
    sed "s|^journal = .*|journal = $T/perm/ro/journal.db|" "$T/emberd.conf" >"$T/perm/perm.conf"
    chmod 644 "$T/perm/perm.conf" "$T/board.conf"
    timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$EMBER_BIN/emberd" -c "$T/perm/perm.conf" >"$T/perm.out" 2>&1
    rc=$?
    check "journal without permission: exit 1 naming it" \
        bash -c "[ $rc -eq 1 ] && grep -q 'cannot open the journal $T/perm/ro/journal.db' '$T/perm.out'"
fi
# A full disk at start is not a configuration error: emberd starts degraded,
# says so, and monitors.  The file-size limit makes every write past 8 KiB
# fail (EFBIG); test_disk_full does the same on a full tmpfs.
sed "s|^journal = .*|journal = $T/full/journal.db|" "$T/emberd.conf" >"$T/full.conf"
mkdir -p "$T/full"
start_bg full bash -c "trap '' XFSZ; ulimit -f 8; exec ${EMBER_WRAP:-} '$EMBER_BIN/emberd' -c '$T/full.conf'"
FULL_PID=$LAST_PID
check "full disk at start: emberd runs, degraded" wait_until 30 log_has "$T/full.log" "running:"
check "full disk at start: the log says so, naming the journal" \
    grep -q "journal $T/full/journal.db.*starting degraded" "$T/full.log"
check "full disk at start: emberctl status says degraded" \
    wait_until 10 bash -c "'$EMBER_BIN/emberctl' -s '$T/ctl.sock' -j status | grep -q '\"journal\":\"degraded\"'"
check "full disk at start: the _journal self-alarm is raised" \
    wait_until 10 log_has "$T/full.log" "alarm _journal: warning activated"
stop_pid "$FULL_PID"
finish
