#!/bin/bash
# Local notifications ([notify NAME]) on real processes: a setpoint crossing
# in ember-sim runs the notifier with the event's EMBER_* variables and, on
# stdin, the very JSON the broker delivered (same seq); severity, on and
# alarms filters hold; a failing notifier is retried and its failure logged;
# one removed after the start fails with "cannot start"; a notifier that
# hangs (with a setsid grandchild) and one that floods its output are killed
# at their timeouts, whole trees, while emberd keeps polling, publishing and
# answering emberctl, and its log stays bounded; a burst beyond `queue`
# drops the oldest non-critical pending notifications and counts them; a
# reload adds and removes notifiers; the shipped ember-webhook (against a
# local HTTP receiver, through a retry) and ember-mail (into a fake
# sendmail) deliver; a stop terminates the running notifier and says what
# was pending; emberd -n and the start refuse a missing or non-executable
# command with file:line.
. "$(dirname "$0")/lib.sh"

EX=$TOP/agent/examples/notify
P=emberwatch/lab/a1
CTL=("$EMBER_BIN/emberctl" -s "$T/ctl.sock")
gone() { ! alive "$1"; }
quiet() { "$@" >/dev/null; }
gpio() { printf '%s\n' "$@" >"$T/gpio-sim"; }
# event_line ALARM TRANSITION: the recorder's last event line for it.
event_line() { grep " $P/event " "$T/rec.rec" | grep "\"alarm\":\"$1\"" | grep "\"transition\":\"$2\"" | tail -n 1; }
payload() { cut -d' ' -f4- <<<"$1"; }
seq_of() { sed -E 's/.*"seq":([0-9]+).*/\1/' <<<"$1"; }
# same_bytes FILE STRING: FILE holds exactly STRING (no newline added).
same_bytes() { printf '%s' "$2" | cmp -s - "$1"; }
# env_matches ENVFILE PAYLOAD EVENT NOTIFIER: ENVFILE (a notifier's `env |
# grep ^EMBER_ | sort`) holds exactly the EMBER_* variables emberd.conf(5)
# derives from the event's JSON, worked out here independently: no
# variable missing, none extra (none of the test's own EMBER_* leaks).
env_matches() {
    $PY - "$@" <<'EOF'
import json, sys
envf, payload, event, notifier = sys.argv[1:5]
j = json.loads(payload, parse_int=str, parse_float=str)
def text(v):
    if v is None: return ""
    if v is True: return "1"
    if v is False: return "0"
    if isinstance(v, list): return ",".join(v)
    return v
want = {"EMBER_EVENT": event, "EMBER_SITE": "lab", "EMBER_AGENT": "a1", "EMBER_NOTIFIER": notifier}
for var, keys in [("ALARM", ["alarm"]), ("SENSOR", ["sensor"]), ("ZONE", ["zone"]),
                  ("KIND", ["kind"]), ("SEVERITY", ["severity"]), ("STATE", ["state", "request"]),
                  ("VALUE", ["value"]), ("SETPOINT", ["setpoint"]), ("UNIT", ["unit"]),
                  ("SEQ", ["seq"]), ("EPOCH", ["epoch"]), ("TS", ["ts"]),
                  ("MESSAGE", ["message", "reason"]), ("BY", ["by"]), ("TEST", ["test"]),
                  ("ALARMS", ["alarms"])]:
    v = None
    for k in keys:
        if k in j:
            v = j[k]
            break
    want["EMBER_" + var] = text(v)
got = dict(l.partition("=")[::2] for l in open(envf).read().splitlines())
if got != want:
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            print("  %s: got %r, want %r" % (k, got.get(k), want.get(k)), file=sys.stderr)
    sys.exit(1)
EOF
}

# ---- the notifier programs ---------------------------------------------------
# rec.sh DIR: records a notification as DIR/SEQ.EVENT.env (its EMBER_*
# variables) and DIR/SEQ.EVENT.json (its stdin), and "EVENT SEQ WHAT" in DIR/log.
cat >"$T/rec.sh" <<'EOF'
#!/bin/sh
d=$1
mkdir -p "$d"
env | grep '^EMBER_' | sort >"$d/$EMBER_SEQ.$EMBER_EVENT.env"
cat >"$d/$EMBER_SEQ.$EMBER_EVENT.json"
echo "$EMBER_EVENT $EMBER_SEQ ${EMBER_ALARM:-$EMBER_ZONE}" >>"$d/log"
EOF
cat >"$T/fail.sh" <<'EOF'
#!/bin/sh
echo attempt >>"$1"
echo "refusing $EMBER_EVENT $EMBER_ALARM on purpose" >&2
exit 3
EOF
cat >"$T/hang.sh" <<'EOF'
#!/bin/sh
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo $! >"$1/hang.gc"
echo $$ >"$1/hang.pid.new" && mv "$1/hang.pid.new" "$1/hang.pid"
sleep 300
EOF
# gate.sh DIR: says it started (DIR/started: seq), then waits for DIR/open
# (30 s at most) and says it ran (DIR/ran: seq).
cat >"$T/gate.sh" <<'EOF'
#!/bin/sh
d=$1
echo $$ >"$d/pid"
echo "$EMBER_SEQ" >>"$d/started"
i=0
while [ ! -e "$d/open" ] && [ $i -lt 600 ]; do
    sleep 0.05
    i=$((i + 1))
done
echo "$EMBER_SEQ" >>"$d/ran"
EOF
cat >"$T/fake-sendmail" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >"$(dirname "$0")/sendmail.args"
cat >"$(dirname "$0")/sendmail.msg"
EOF
cp "$T/rec.sh" "$T/gone.sh"
chmod 755 "$T"/*.sh "$T/fake-sendmail"
mkdir -p "$T/q"

# ---- every key and variable is documented ------------------------------------
# Each key of conf.c's notify_keys has its own entry (".TP" then ".B key")
# in emberd.conf(5)'s [notify NAME] section, and each EMBER_* variable
# notifymsg.c sets is named there.
man=$(sed -n '/^\.SH \[notify NAME\]/,/^\.SH /p' "$TOP/agent/man/emberd.conf.5")
keys=$(sed -n '/^static const struct cfg_directive notify_keys\[\]/,/^};/p' "$TOP/agent/emberd/conf.c" |
    sed -nE 's/^ *CFG_ROW\("([a-z_]+)", CFG_.*/\1/p')
check "(the [notify] keys were found in conf.c: $(echo $keys))" test "$(wc -w <<<"$keys")" -ge 8
has_entry() { [[ $man == *$'.TP\n.B '"$1"$'\n'* ]]; }
for k in $keys; do
    check "emberd.conf(5) documents [notify] $k" has_entry "$k"
done
vars=$(grep -oE '"EMBER_[A-Z]+"' "$TOP/agent/emberd/notifymsg.c" | tr -d '"' | sort -u)
check "(the variables were found in notifymsg.c)" test "$(wc -w <<<"$vars")" -ge 18
for v in $vars EMBER_NOTIFIER; do
    check "emberd.conf(5) names $v" grep -qw "$v" <<<"$man"
done

# ---- a missing or non-executable command is refused ---------------------------
start_broker
: >"$T/notexec"
write_conf "$T/bad.conf" <<EOF
[notify page]
command = $T/missing --urgent

[notify mail]
command = $T/notexec
EOF
l1=$(grep -n "^command = $T/missing" "$T/bad.conf" | cut -d: -f1)
l2=$(grep -n "^command = $T/notexec" "$T/bad.conf" | cut -d: -f1)
"$EMBER_BIN/emberd" -n -c "$T/bad.conf" >"$T/bad.out" 2>&1
check "emberd -n refuses a missing or non-executable command (exit 1)" test $? -eq 1
check "... the missing one with file:line" \
    grep -qF "$T/bad.conf:$l1: [notify page] command: $T/missing: No such file or directory" "$T/bad.out"
check "... the non-executable one with file:line" \
    grep -qF "$T/bad.conf:$l2: [notify mail] command: $T/notexec is not an executable file" "$T/bad.out"
timeout 20 "$EMBER_BIN/emberd" -c "$T/bad.conf" >"$T/bad-start.out" 2>&1
check "emberd refuses to start with them (exit 1)" test $? -eq 1
check "... naming the same file:line" grep -qF "$T/bad.conf:$l1: [notify page] command:" "$T/bad-start.out"

# ---- the running agent ----------------------------------------------------------
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
start_bg http $PY "$TOP/tests/integration/http_rec.py" --out "$T/http.rec" --fail-first 1
wait_until 10 log_has "$T/http.rec" "# listening" || die "the HTTP receiver did not start"
HTTP_PORT=$(sed -n 's/^# listening //p' "$T/http.rec")

{
    printf '[board]\nname = notify-test\n'
    for i in 1 2 3 4 5; do printf '\n[input c%d]\nline = %d\ndebounce = 0\n' "$i" "$i"; done
} >"$T/board.conf"
CONF_AGENT_EXTRA=("board = $T/board.conf")
# body NOTIFIER-SECTIONS: the room (room-hot critical, room-warm warning,
# zone b3 at vote 1, polled every 500ms), five contacts (c1 warning, c2-c5
# critical) and the notifiers given.
body() {
    room_sections "$SIM_PORT" 500ms warm
    printf '\n[zone b3]\nvote = 1\n'
    for i in 1 2 3 4 5; do
        sev=critical
        [ $i = 1 ] && sev=warning
        printf '\n[sensor c%d]\ngpio = c%d\n\n[alarm c%d]\nsensor = c%d\nkind = contact\n' $i $i $i $i
        printf 'off_delay = 0\nseverity = %s\n' $sev
    done
    printf '%s\n' "$1"
}
MAIN="
[notify main]
command = $T/rec.sh $T/main
on = activated, cleared, acked, drain, undrain
severity = critical

[notify q]
command = $T/gate.sh $T/q
on = activated, cleared
alarms = c1, c5
queue = 3
timeout = 60s
"
body "$MAIN
[notify warn]
command = $T/rec.sh $T/warn
alarms = room-warm, room-hot

[notify fail]
command = $T/fail.sh $T/fail.count
alarms = c2
retries = 2
retry_delay = 100ms

[notify gone]
command = $T/gone.sh $T/gone
alarms = c2

[notify hang]
command = $T/hang.sh $T
alarms = c3
timeout = 3s
retries = 0

[notify flood]
command = /usr/bin/yes flood
alarms = c4
timeout = 2s
retries = 0
" | write_conf "$T/emberd.conf"
out=$("$EMBER_BIN/emberd" -n -c "$T/emberd.conf" 2>&1)
check "emberd -n counts the notifiers" grep -q "configuration OK (.*, 1 zone, 7 notifiers)" <<<"$out"

rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
check "room reads 24" rec_wait 10 rec " $P/sensor/room-temp .*\"value\":24,"
check "no notification at start (a zone announcing none is no undrain)" \
    stays 1 test ! -e "$T/main/log" -a ! -e "$T/warn/log"

# ---- a crossing: env and stdin, severity/on/alarms filters ---------------------
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "room-hot activated on MQTT" rec_wait 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"activated\""
check "drain request on MQTT" rec_wait 5 rec " $P/drain/b3 .*\"request\":\"drain\""
hot=$(event_line room-hot activated)
hot_seq=$(seq_of "$hot")
drain=$(grep " $P/drain/b3 " "$T/rec.rec" | grep '"request":"drain"' | tail -n 1)
drain_seq=$(seq_of "$drain")
check "main notified of room-hot activated (seq $hot_seq)" wait_until 10 grep -qx "activated $hot_seq room-hot" "$T/main/log"
check "main notified of the drain of b3 (seq $drain_seq)" wait_until 10 grep -qx "drain $drain_seq b3" "$T/main/log"
check "stdin is the MQTT event, byte for byte" same_bytes "$T/main/$hot_seq.activated.json" "$(payload "$hot")"
check "stdin of drain is the MQTT drain request, byte for byte" \
    same_bytes "$T/main/$drain_seq.drain.json" "$(payload "$drain")"
check "every EMBER_* variable of the event, and only those" \
    env_matches "$T/main/$hot_seq.activated.env" "$(payload "$hot")" activated main
check "... of the drain request too" env_matches "$T/main/$drain_seq.drain.env" "$(payload "$drain")" drain main
for kv in EMBER_EVENT=activated EMBER_ALARM=room-hot EMBER_SENSOR=room-temp EMBER_ZONE=b3 \
    EMBER_SEVERITY=critical EMBER_STATE=active EMBER_VALUE=50 EMBER_UNIT=C EMBER_SEQ="$hot_seq" \
    EMBER_TEST=0 EMBER_BY= EMBER_NOTIFIER=main EMBER_SITE=lab EMBER_AGENT=a1; do
    check "... $kv" grep -qx -- "$kv" "$T/main/$hot_seq.activated.env"
done
check "... EMBER_STATE=drain and the votes' reason for the drain" \
    grep -qx "EMBER_STATE=drain" "$T/main/$drain_seq.drain.env"
check "... EMBER_ALARMS names the alarm behind it" grep -qx "EMBER_ALARMS=room-hot" "$T/main/$drain_seq.drain.env"
warm=$(event_line room-warm activated)
check "room-warm (warning) activated on MQTT" test -n "$warm"
check "warn (severity warning by default) notified of room-warm" \
    wait_until 10 grep -qx "activated $(seq_of "$warm") room-warm" "$T/warn/log"
check "warn notified of room-hot too" wait_until 10 grep -qx "activated $hot_seq room-hot" "$T/warn/log"
check "... not of the drain: a notifier with 'alarms' gets no zone event" \
    stays 1 bash -c "! grep -q '^drain ' '$T/warn/log'"
check "main (severity = critical) is not notified of room-warm" bash -c "! grep -q room-warm '$T/main/log'"

"${CTL[@]}" ack room-hot --by kim >/dev/null || die "ack failed"
check "main (on: acked) notified of the ack" wait_until 10 grep -q "^acked [0-9]* room-hot$" "$T/main/log"
ack_seq=$(grep "^acked " "$T/main/log" | cut -d' ' -f2)
check "... with EMBER_BY=kim" grep -qx "EMBER_BY=kim" "$T/main/$ack_seq.acked.env"

echo "set xy-md02.temperature 24" >"$T/sim.ctl"
check "room-hot cleared on MQTT" rec_wait 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"cleared\""
clr_seq=$(seq_of "$(event_line room-hot cleared)")
check "main (on: cleared) notified of the clear" wait_until 10 grep -qx "cleared $clr_seq room-hot" "$T/main/log"
check "main (on: undrain) notified of b3 back to none" wait_until 10 grep -q "^undrain [0-9]* b3$" "$T/main/log"
undrain_seq=$(grep "^undrain " "$T/main/log" | cut -d' ' -f2)
check "... EMBER_STATE=none" grep -qx "EMBER_STATE=none" "$T/main/$undrain_seq.undrain.env"
check "main is not notified of room-warm's clear either" bash -c "! grep -q room-warm '$T/main/log'"
check "warn (on: activated, drain by default) gets no cleared, acked or undrain" \
    stays 1 bash -c "! grep -qE '^(cleared|acked|undrain) ' '$T/warn/log'"

# ---- failures: retried and logged; a command removed since the start ----------
rm "$T/gone.sh"
gpio "c2 1"
check "c2 activated on MQTT" rec_wait 10 rec " $P/event .*\"alarm\":\"c2\".*\"transition\":\"activated\""
c2_seq=$(seq_of "$(event_line c2 activated)")
check "the failing notifier's failure is logged after 3 attempts" \
    wait_until 10 log_has "$T/emberd.log" "notify fail: activated c2 (seq $c2_seq) failed after 3 attempts: exit 3"
check "... it ran 3 times (retries = 2)" test "$(wc -l <"$T/fail.count")" -eq 3
check "... each retry logged" log_has "$T/emberd.log" "notify fail: failed (exit 3); retrying in 100 ms (2 of 2)"
check "... its stderr is in the log" log_has "$T/emberd.log" "notify fail: refusing activated c2 on purpose"
check "a command removed since the start fails with cannot start" \
    wait_until 10 log_has "$T/emberd.log" "notify gone: activated c2 (seq $c2_seq) failed: $T/gone.sh: cannot start: No such file or directory"

# ---- a notifier that hangs and one that floods, at once -----------------------
lines_before=$(wc -l <"$T/emberd.log")
gpio "c3 1" "c4 1"
check "the hanging notifier runs" wait_until 10 test -s "$T/hang.pid"
hang_pid=$(cat "$T/hang.pid")
gc_pid=$(cat "$T/hang.gc")
check "... with its setsid grandchild (pid $gc_pid)" alive "$gc_pid"
m=$(rec_mark rec)
check "telemetry keeps arriving meanwhile" wait_until 5 \
    bash -c "[ \$(tail -n +$((m + 1)) '$T/rec.rec' | grep -c ' $P/sensor/room-temp ') -ge 2 ]"
check "emberctl status answers meanwhile" quiet "${CTL[@]}" status
check "(the notifier was still hanging then)" alive "$hang_pid"
check "the hanging notifier is terminated at its timeout" \
    wait_until 10 log_has "$T/emberd.log" "notify hang: timed out after 3s; terminating it"
check "... its failure logged" wait_until 5 log_has "$T/emberd.log" "notify hang: activated c3 (seq [0-9]*) failed after 1 attempt: timed out after 3s"
check "... its process is gone" wait_until 5 gone "$hang_pid"
check "... and so is its setsid grandchild" wait_until 5 gone "$gc_pid"
check "the flooding notifier is terminated at its timeout" \
    wait_until 10 log_has "$T/emberd.log" "notify flood: activated c4 (seq [0-9]*) failed after 1 attempt: timed out after 2s"
yes_pid=$(sed -n 's/.*notify flood: started \/usr\/bin\/yes (pid \([0-9]*\).*/\1/p' "$T/emberd.log" | head -n 1)
check "... its process (pid $yes_pid) is gone" wait_until 5 gone "$yes_pid"
check "... its output is rate-limited, the rest counted" \
    grep -qE "notify flood: [0-9]+ output lines suppressed \(more than 20 a second\)" "$T/emberd.log"
flood_lines=$(grep -c "notify flood: flood$" "$T/emberd.log")
check "... $flood_lines of its lines logged (20 a second for about 3 s at most)" \
    test "$flood_lines" -ge 20 -a "$flood_lines" -le 80
added=$(($(wc -l <"$T/emberd.log") - lines_before))
check "emberd's log grew by $added lines through the hang and the flood" test "$added" -lt 200
check "emberd still runs" alive "$EMBERD_PID"

# ---- a burst beyond the queue -------------------------------------------------
gpio "c1 1"
check "the gated notifier runs the first c1 event" wait_until 10 test -s "$T/q/started"
first=$(head -n 1 "$T/q/started")
# While it runs: c5 (critical), then 8 changes of c1 (warning) for a queue
# of 3: the 6 oldest c1 events are dropped, c5 and the last two c1 stay.
gpio "c5 1" "c1 0" "c1 1" "c1 0" "c1 1" "c1 0" "c1 1" "c1 0" "c1 1"
check "the burst is on MQTT" wait_until 10 bash -c "[ \$(grep ' $P/event ' '$T/rec.rec' | grep -c '\"alarm\":\"c1\"') -eq 9 ]"
c5_seq=$(seq_of "$(event_line c5 activated)")
mapfile -t c1_seqs < <(grep " $P/event " "$T/rec.rec" | grep '"alarm":"c1"' | sed -E 's/.*"seq":([0-9]+).*/\1/')
check "(the first c1 event, seq ${c1_seqs[0]}, is the one running)" test "$first" = "${c1_seqs[0]}"
check "6 drops counted and logged" wait_until 5 log_has "$T/emberd.log" "notify q: .*; 6 dropped since start"
check "... the first one logged by name" \
    log_has "$T/emberd.log" "notify q: queue full (queue = 3): dropped cleared c1 (seq ${c1_seqs[1]})"
touch "$T/q/open"
check "the notifier then runs what stayed" wait_until 10 bash -c "[ \$(wc -l <'$T/q/ran') -eq 4 ]"
check "... in order: the running one, c5 (critical), the last two c1" \
    test "$(tr '\n' ' ' <"$T/q/ran")" = "${c1_seqs[0]} $c5_seq ${c1_seqs[7]} ${c1_seqs[8]} "
check "... and nothing more" stays 1 test "$(wc -l <"$T/q/ran")" -eq 4
"${CTL[@]}" -j status >"$T/status.json"
$PY - "$T/status.json" <<'EOF'
import json, sys
n = {x["name"]: x for x in json.load(open(sys.argv[1]))["notifiers"]}
assert list(n) == ["main", "q", "warn", "fail", "gone", "hang", "flood"], list(n)
q, fail, gone, hang = n["q"], n["fail"], n["gone"], n["hang"]
assert (q["runs"], q["ok"], q["dropped"], q["pending"], q["running"]) == (4, 4, 6, 0, False), q
assert (fail["runs"], fail["failed"]) == (1, 1), fail
assert (gone["runs"], gone["failed"]) == (1, 1), gone
assert (hang["failed"], hang["dropped"]) == (1, 0), hang
EOF
check "emberctl -j status counts each notifier's runs, failures and drops" test $? -eq 0
check "... and its table shows them" \
    bash -c "'${CTL[0]}' -s '$T/ctl.sock' status | grep -qE '^q +4 +4 +0 +6 +0 +no\$'"

# ---- a reload adds and removes notifiers; the shipped examples ---------------
body "$MAIN
[notify hook]
command = $EX/ember-webhook http://127.0.0.1:$HTTP_PORT/page
on = activated
alarms = room-hot
retry_delay = 200ms

[notify mail]
command = $EX/ember-mail -s $T/fake-sendmail oncall@example.com noc@example.com
on = activated
alarms = room-hot
" | write_conf "$T/emberd.conf"
check "emberctl reload applies [notify] changes" quiet "${CTL[@]}" reload
check "... hook added" log_has "$T/emberd.log" "reload: \[notify hook\] added"
check "... warn removed" log_has "$T/emberd.log" "reload: \[notify warn\] removed; 0 pending notifications dropped"
warn_lines=$(wc -l <"$T/warn/log")
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "room-hot activated again" wait_until 10 bash -c "[ \$(grep ' $P/event ' '$T/rec.rec' | grep '\"alarm\":\"room-hot\"' | grep -c '\"transition\":\"activated\"') -eq 2 ]"
hot2=$(event_line room-hot activated)
hot2_seq=$(seq_of "$hot2")
check "main still notified" wait_until 10 grep -qx "activated $hot2_seq room-hot" "$T/main/log"
check "ember-webhook POSTed the event (a 500 first, retried)" \
    wait_until 15 bash -c "[ \$(grep -c '\"method\": \"POST\"' '$T/http.rec') -eq 2 ]"
check "... the retry is logged" log_has "$T/emberd.log" "notify hook: failed (exit 22); retrying in 200 ms (1 of 2)"
check "... then done" wait_until 5 log_has "$T/emberd.log" "notify hook: activated room-hot (seq $hot2_seq) done"
check "... HTTP 200 in the log" log_has "$T/emberd.log" "notify hook: HTTP 200"
$PY - "$T/http.rec" "$(payload "$hot2")" <<'EOF'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
want = sys.argv[2]
for r in reqs:
    h = {k.lower(): v for k, v in r["headers"].items()}
    assert r["path"] == "/page", r["path"]
    assert r["body"] == want, (r["body"], want)
    assert h["content-type"] == "application/json", h
    assert h["x-emberwatch-event"] == "activated", h
    assert h["x-emberwatch-seq"] == json.loads(want)["seq"].__str__(), h
EOF
check "... its body is the MQTT event, byte for byte, with its headers" test $? -eq 0
check "ember-mail handed a message to sendmail" wait_until 10 test -s "$T/sendmail.msg"
check "... as sendmail -t -oi" grep -qx -- "-t -oi" "$T/sendmail.args"
check "... to both recipients" grep -qx "To: oncall@example.com, noc@example.com" "$T/sendmail.msg"
check "... with the alarm in the subject" \
    wait_until 10 grep -qx "Subject: \[emberwatch lab/a1\] CRITICAL room-hot activated" "$T/sendmail.msg"
check "... and the event's JSON in the body" wait_until 10 grep -qxF "$(payload "$hot2")" "$T/sendmail.msg"
check "... logged done" wait_until 5 log_has "$T/emberd.log" "notify mail: activated room-hot (seq $hot2_seq) done"
check "the removed notifier gets nothing more" stays 1 test "$(wc -l <"$T/warn/log")" -eq "$warn_lines"

# ---- a stop: the running notifier is terminated, pending ones are said ----------
rm -f "$T/q/open" "$T/q/started"
gpio "c1 0"
check "the gated notifier runs again" wait_until 10 test -s "$T/q/started"
gate_pid=$(cat "$T/q/pid")
gpio "c1 1"
check "a second c1 event is on MQTT" wait_until 10 bash -c "[ \$(grep ' $P/event ' '$T/rec.rec' | grep -c '\"alarm\":\"c1\"') -eq 11 ]"
kill -TERM "$EMBERD_PID"
wait "$EMBERD_PID"
check "emberd stops cleanly (exit 0)" test $? -eq 0
check "... saying it terminates the running notification" \
    log_has "$T/emberd.log" "notify q: stopping: terminating the running cleared c1"
check "... and that one was pending" log_has "$T/emberd.log" "notify q: stopping: 1 pending notification not run"
check "... the notifier's process is gone" wait_until 5 gone "$gate_pid"
finish
