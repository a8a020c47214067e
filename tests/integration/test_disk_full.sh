#!/bin/bash
# A full disk: the journal on a 512 KiB tmpfs that is filled up.  emberd
# keeps publishing live, raises the `_journal` self-alarm (retained, shown by
# emberctl status, never in a zone), holds what it cannot write in memory
# and counts it; with the broker down too, nothing made meanwhile is lost;
# a restart with the disk still full starts degraded instead of exiting; once
# space is freed the self-alarm clears.  Across all of it, no two different
# events share a dedupe key (agent, epoch, seq).  Needs root (mount).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || die "needs root to mount a tmpfs"
# DISK_FULL_ALL=1: run every check and report each failure, then fail at the
# end (to see the whole picture on a build without the fix).
FAILS=0
if [ -n "${DISK_FULL_ALL:-}" ]; then
    check() {
        local what=$1
        shift
        if "$@"; then log "ok: $what"; else log "FAILED: $what"; FAILS=$((FAILS + 1)); fi
    }
    die() { log "FAILED: $*"; FAILS=$((FAILS + 1)); }
fi
N=1200

DISK="$T/disk"
mkdir -p "$DISK"
mount -t tmpfs -o size=512k tmpfs "$DISK" || die "cannot mount a tmpfs on $DISK"
# Processes first (they hold files on the tmpfs), then the mount, then
# lib.sh's cleanup with the test's own exit status.
trap 'rc=$?; for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
      umount "$DISK" 2>/dev/null; (exit $rc); cleanup' EXIT

persistent_broker_conf
start_persistent_broker 1
write_contact_conf "$T/emberd.conf" "keepalive = 5" "reconnect_max = 1s"
sed -i "s|^journal = .*|journal = $DISK/journal.db|" "$T/emberd.conf"
P=emberwatch/lab/a1

# A persistent-session consumer (QoS 1) that keeps every event and every
# alarm/_journal state verbatim: "<retained> <topic> <payload>".
start_bg consumer $PY "$TOP/tests/integration/seq_sub.py" --port "$MQTT_PORT" --raw \
    --client-id disk-full-consumer --topic "$P/event" --topic "$P/alarm/_journal" --out "$T/events"
wait_until 10 log_has "$T/events" "# subscribed" || die "consumer did not subscribe"

nevents() { grep -c " $P/event " "$T/events" || true; }
# distinct events received (a replayed duplicate is the same payload)
ndistinct() { grep " $P/event " "$T/events" | cut -d' ' -f3- | sort -u | wc -l; }
status() { "$EMBER_BIN/emberctl" -s "$T/ctl.sock" -j status; }
jfield() { status | $PY -c "import json,sys; print(json.load(sys.stdin).get('$1'))"; }
journal_state() { # the last alarm/_journal state received: active or cleared
    grep " $P/alarm/_journal " "$T/events" | tail -1 | cut -d' ' -f3- |
        $PY -c 'import json,sys; print(json.loads(sys.stdin.read() or "{}").get("state"))'
}
fill_disk() { dd if=/dev/zero of="$DISK/fill" bs=4k >/dev/null 2>&1 || true; }

start_emberd emberd "$T/emberd.conf"
wait_until 10 log_has "$T/emberd.log" "mqtt: connected" || die "emberd did not connect"
toggles 2
wait_until 10 bash -c "[ \$(grep -c ' $P/event ' '$T/events') -ge 2 ]" || die "no events before the disk filled"

# ---- 1. disk full, broker up: live publishing goes on ---------------------
fill_disk
log "tmpfs full: $(df -k "$DISK" | tail -1 | awk '{print $4}') KiB free"
before=$(ndistinct) # distinct: a replay at connect may repeat an event
toggles $N
check "all $N transitions published live while the disk is full" \
    wait_until 60 bash -c "[ \$(grep ' $P/event ' '$T/events' | cut -d' ' -f3- | sort -u | wc -l) -ge $((before + N)) ]"
check "emberd still runs" kill -0 "$EMBERD_PID"
check "the _journal self-alarm is published active, retained" \
    wait_until 10 bash -c "[ \"\$(grep ' $P/alarm/_journal ' '$T/events' | tail -1 | cut -d' ' -f3- | $PY -c 'import json,sys; print(json.loads(sys.stdin.read() or \"{}\").get(\"state\"))')\" = active ]"
sub=$(mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$P/alarm/_journal" -C 1 -W 5 -v -R 2>/dev/null; \
      mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$P/alarm/_journal" -C 1 -W 5)
check "a new subscriber gets the retained _journal alarm, severity warning, no zone" \
    $PY -c 'import json,sys; d=json.loads(sys.argv[1].splitlines()[-1]); sys.exit(not (d["state"]=="active" and d["severity"]=="warning" and d["zone"] is None))' "$sub"
check "emberctl status shows the journal condition" \
    bash -c "'$EMBER_BIN/emberctl' -s '$T/ctl.sock' status | grep -qiE 'journal.*(degraded|_journal)'"
unstored=$(jfield journal_unstored)
log "disk full, broker up: $(nevents) events received, journal_unstored=$unstored seq_unreserved=$(jfield seq_unreserved)"
check "messages not written to disk are counted" test "${unstored:-0}" != None -a "${unstored:-0}" -gt 0

# ---- 2. disk full and broker down: nothing lost, every loss counted -------
stop_pid "$BROKER_PID"
wait_until 10 log_has "$T/emberd.log" "lost" || die "emberd did not notice the outage"
before=$(ndistinct)
toggles 20
wait_until 10 bash -c "[ \$(grep -c 'alarm c1: ' '$T/emberd.log') -ge $((N + 22)) ]" ||
    die "emberd did not raise the 20 events"
pending=$(jfield journal_pending)
log "disk full, broker down: journal_pending=$pending journal_dropped=$(jfield journal_dropped)"
check "the 20 events made while disk and broker were both away are held" test "$pending" -ge 20
start_persistent_broker 2
check "all 20 arrive once the broker is back" \
    wait_until 30 bash -c "[ \$(grep ' $P/event ' '$T/events' | cut -d' ' -f3- | sort -u | wc -l) -ge $((before + 20)) ]"

# ---- 3. restart with the disk still full: start degraded ------------------
stop_pid "$EMBERD_PID"
fill_disk
start_bg emberd2 ${EMBER_WRAP:-} "$EMBER_BIN/emberd" -c "$T/emberd.conf"
EMBERD_PID=$LAST_PID
wait_until 30 log_has "$T/emberd2.log" "running:" || true
check "a restart with the disk full starts (degraded), not exit 1" kill -0 "$EMBERD_PID"
check "it says so in the log" grep -qi "journal.*degraded" "$T/emberd2.log"
wait_until 10 log_has "$T/emberd2.log" "mqtt: connected" || die "emberd did not connect"
before=$(ndistinct)
toggles 10
check "it monitors and publishes" \
    wait_until 20 bash -c "[ \$(grep ' $P/event ' '$T/events' | cut -d' ' -f3- | sort -u | wc -l) -ge $((before + 10)) ]"
check "the self-alarm is active in the restarted emberd" wait_until 10 eval '[ "$(journal_state)" = active ]'

# ---- 4. space freed: the condition clears, keys stay unique ---------------
rm -f "$DISK/fill"
check "the _journal self-alarm clears once the journal can be written" \
    wait_until 40 bash -c "[ \"\$(grep ' $P/alarm/_journal ' '$T/events' | tail -1 | cut -d' ' -f3- | $PY -c 'import json,sys; print(json.loads(sys.stdin.read() or \"{}\").get(\"state\"))')\" = cleared ]"
stop_pid "$EMBERD_PID"
[ -p "$T/gpio-sim" ] || rm -f "$T/gpio-sim" # a FIFO, unless a dead emberd left a file
start_emberd emberd3 "$T/emberd.conf"
wait_until 10 log_has "$T/emberd3.log" "mqtt: connected" || die "emberd did not connect"
before=$(ndistinct)
toggles 10
wait_until 20 bash -c "[ \$(grep ' $P/event ' '$T/events' | cut -d' ' -f3- | sort -u | wc -l) -ge $((before + 10)) ]" ||
    die "events after the space was freed did not arrive"
# A consumer dedupes on (agent, epoch, seq): two different payloads under one
# key would make it drop a real event.
$PY - "$T/events" "$P/event" <<'EOF' >"$T/keys"
import json, sys
keys = {}
for line in open(sys.argv[1]):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) < 3 or parts[1] != sys.argv[2]:
        continue
    d = json.loads(parts[2])
    keys.setdefault((d.get("epoch"), d["seq"]), set()).add(parts[2])
clash = [k for k, v in keys.items() if len(v) > 1]
epochs = sorted({k[0] for k in keys}, key=str)
by_seq = {}
for (e, q), v in keys.items():
    by_seq.setdefault(q, set()).update(v)
seq_only = sum(1 for v in by_seq.values() if len(v) > 1)
print("events=%d epochs=%d clashes=%d%s (on seq alone: %d)" % (len(keys), len(epochs),
      len(clash), (" e.g. %s" % (clash[:3],)) if clash else "", seq_only))
sys.exit(1 if clash else 0)
EOF
rc=$?
log "dedupe keys: $(cat "$T/keys")"
check "no two different events share (agent, epoch, seq)" test $rc -eq 0
[ "$FAILS" -eq 0 ] || die "$FAILS checks failed"
[ "$FAILS" -eq 0 ] || exit 1
finish
