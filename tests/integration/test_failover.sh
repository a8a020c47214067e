#!/bin/bash
# Broker failover: emberd with [mqtt] host listing three private mosquitto
# brokers (A, B, C) on loopback.  It connects to the first; A killed -9 in
# the middle of an alarm burst moves it to B (a closed connection gets one
# more try, a refused one moves on); B frozen (SIGSTOP: it stops answering
# keepalives) moves it to C, not back to B; C killed -9 moves it on round
# the list to B again (A still dead).  Persistent-session consumers, one per
# broker, together get every event, each seq at least once and in
# increasing order on each broker, but for those A had acknowledged and had
# not yet passed on when it was killed: QoS 1 hands an event over to the
# broker, and a broker killed -9 without persistence loses what it held.
# The test reads A's PUBACKs from its log to tell that loss (A's) from a
# loss of emberd's (an event dropped before a broker acknowledged it).  After each switch the new broker has
# the agent online and its alarm state retained, for a late subscriber.
# Bad host lists are refused with file:line.  Prints each switch time (the
# kill to emberd's "connected"), which make bench measures properly.
. "$(dirname "$0")/lib.sh"

P=emberwatch/lab/a1
declare -A BPORT BPID
start_named_broker() { # start_named_broker NAME: a private mosquitto on a port of its own
    local n=$1
    [ -n "${BPORT[$n]:-}" ] || BPORT[$n]=$(free_port)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type all\n' \
        "${BPORT[$n]}" >"$T/mosq-$n.conf"
    start_bg "broker-$n" mosquitto -c "$T/mosq-$n.conf"
    BPID[$n]=$LAST_PID
    wait_until 10 log_has "$T/broker-$n.log" "running" || die "mosquitto $n did not start"
}
for n in A B C; do start_named_broker "$n"; done
MQTT_PORT=${BPORT[A]} # write_conf's default port; every host below names its own
LIST="127.0.0.1:${BPORT[A]}, 127.0.0.1:${BPORT[B]}, 127.0.0.1:${BPORT[C]}"

# ---- bad host lists -----------------------------------------------------------
bad_hosts() { # bad_hosts LIST PATTERN
    write_contact_conf "$T/bad.conf" "host = $1"
    ! "$EMBER_BIN/emberd" -n -c "$T/bad.conf" >"$T/bad.out" 2>&1 &&
        grep -q "bad.conf:$(grep -n '^host' "$T/bad.conf" | cut -d: -f1): \[mqtt\] host: .*$2" "$T/bad.out"
}
check "an empty entry is refused, with file:line" bad_hosts "a,,b" "an empty broker"
check "an IPv6 address without brackets is refused" bad_hosts "::1" "write an IPv6 address as \[ADDRESS\]"
check "a bad port is refused" bad_hosts "a:99999" "the port must be a number"
check "a broker listed twice is refused" bad_hosts "a:1, a:1" "listed twice"

# ---- consumers, one per broker, and emberd ------------------------------------
for n in A B C; do
    start_bg "sub-$n" $PY "$TOP/tests/integration/seq_sub.py" --port "${BPORT[$n]}" \
        --client-id "noc-$n" --topic "$P/event" --out "$T/events-$n" --max-seconds 170
    wait_until 10 log_has "$T/events-$n" "# subscribed" || die "consumer on $n did not subscribe"
done
write_contact_conf "$T/emberd.conf" "host = $LIST" "keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s"
check "emberd -n accepts the list" "$EMBER_BIN/emberd" -n -c "$T/emberd.conf"
start_emberd emberd "$T/emberd.conf"
check "emberd connects to the first broker" \
    wait_until 10 log_has "$T/emberd.log" "mqtt: connected to 127.0.0.1:${BPORT[A]} (broker 1 of 3)"

# late NAME TOPIC: what a new subscriber on broker NAME reads first, "RETAIN PAYLOAD"
late() { timeout 10 mosquitto_sub -h 127.0.0.1 -p "${BPORT[$1]}" -C 1 -W 5 -F '%r %p' -t "$2" 2>/dev/null; }
# connected_after NAME LINE: emberd's log, from line LINE on, says it connected to NAME
connected_after() { tail -n +"$2" "$T/emberd.log" | grep -q "mqtt: connected to 127.0.0.1:${BPORT[$1]} "; }
switch_ms() { # switch_ms NAME LINE T0_NS: waits for the switch to NAME, prints ms since T0
    wait_until 30 connected_after "$1" "$2" || return 1
    echo $((($(date +%s%N) - $3) / 1000000))
}
distinct() { cat "$T"/events-? | grep -v '^#' | cut -d' ' -f1 | sort -un | wc -l; }
increasing() { # each broker's consumer saw seqs in increasing order
    local f
    for f in "$T"/events-?; do
        grep -v '^#' "$f" | cut -d' ' -f1 | $PY -c 'import sys
s=[int(x) for x in sys.stdin]
sys.exit(0 if all(a < b for a, b in zip(s, s[1:])) else 1)' || return 1
    done
}
first_seq() { cat "$T"/events-? | grep -v '^#' | cut -d' ' -f1 | sort -n | head -1; }
last_seq() { cat "$T"/events-? | grep -v '^#' | cut -d' ' -f1 | sort -n | tail -1; }
LOST_A=0 # events A acknowledged and lost in its kill -9 (set after it)
complete() { # every seq from the first to the last at least once (but A's loss), and N of them
    local n=$1 d
    d=$(($(distinct) + LOST_A))
    [ "$d" -ge "$n" ] && [ $(($(last_seq) - $(first_seq) + 1)) -eq "$d" ]
}
# lost_with_a: prints how many seqs between the first and the last no
# consumer got; fails unless each is one broker A had acknowledged: A's
# consumer got A's events from its first seq on, in order, so A held the
# seqs up to that one plus the number of event PUBLISHes A sent a PUBACK for.
lost_with_a() {
    $PY - "$T" "$P/event" <<'PYEOF'
import glob, re, sys
t, topic = sys.argv[1:]
seqs, first_a = set(), None
for f in sorted(glob.glob(t + "/events-?")):
    for line in open(f):
        if line.startswith("#"):
            continue
        s = int(line.split()[0])
        seqs.add(s)
        if f.endswith("-A") and first_a is None:
            first_a = s
pending, acked = set(), 0
pub = re.compile(r"Received PUBLISH from \S+ \(d\d, q1, r\d, m(\d+), '" + re.escape(topic) + "'")
ack = re.compile(r"Sending PUBACK to \S+ \(m(\d+),")
for line in open(t + "/broker-A.log"):
    m = pub.search(line)
    if m:
        pending.add(m.group(1))
        continue
    m = ack.search(line)
    if m and m.group(1) in pending:
        pending.discard(m.group(1))
        acked += 1
missing = [s for s in range(min(seqs), max(seqs) + 1) if s not in seqs]
print(len(missing))
held = first_a + acked - 1
if any(s > held for s in missing):
    print("lost before any broker had them: %s (A held up to seq %d)"
          % ([s for s in missing if s > held], held), file=sys.stderr)
    sys.exit(1)
PYEOF
}

# ---- A killed -9 in the middle of a burst -----------------------------------------
N1=1500
toggles "$N1" 0.002 &
BURST=$!
PIDS+=("$BURST")
wait_until 10 eval "[ \$(distinct) -ge 200 ]" || die "the burst did not start"
L=$(($(wc -l <"$T/emberd.log") + 1))
t0=$(date +%s%N)
kill -KILL "${BPID[A]}"
ms=$(switch_ms B "$L" "$t0") || { proc_state "$EMBERD_PID"; die "emberd did not move to B after A was killed"; }
log "switch A -> B after kill -9: $ms ms"
check "moved to B, the next in the list" connected_after B "$L"
wait "$BURST"
wait_until 60 eval "[ \$((\$(last_seq) - \$(first_seq) + 1)) -ge $N1 ]" || die "the burst's last events never came"
burst_done() { LOST_A=$(lost_with_a) && complete "$N1"; }
wait_until 30 burst_done || lost_with_a >/dev/null # says what was lost, if that is why
check "every event of the burst reached a consumer (each seq at least once) but those A held when killed" burst_done
log "A acknowledged and lost $LOST_A of the burst's events in its kill -9"
check "each consumer saw its seqs in increasing order" increasing
check "B has the agent online, retained" eval "[ \"\$(late B $P/status)\" = '1 online' ]"
check "B has the alarm's state retained" eval "late B $P/alarm/c1 | grep -q '^1 .*\"alarm\":\"c1\"'"

# ---- B frozen: no keepalive answer; emberd moves on to C, not back to B ------------
L=$(($(wc -l <"$T/emberd.log") + 1))
t0=$(date +%s%N)
kill -STOP "${BPID[B]}"
ms=$(switch_ms C "$L" "$t0") || die "emberd did not move to C after B froze"
log "switch B -> C after B froze (keepalive 5 s): $ms ms"
check "B's silence was noticed through the keepalive" eval "tail -n +$L '$T/emberd.log' | grep -q 'lost (no reply within the keepalive)'"
# Straight from the loss to C: a retry of B would come in between (and take
# a connect deadline).
check "and B was not tried again first" eval "tail -n +$L '$T/emberd.log' | grep -A1 'lost (no reply within the keepalive)' |
    tail -n 1 | grep -q 'mqtt: trying the next broker, 127.0.0.1:${BPORT[C]} (broker 3 of 3)'"
kill -CONT "${BPID[B]}"
N2=$(($(distinct) + 100))
toggles 100 0.005
check "the events after the switch reached C" wait_until 30 complete "$N2"
check "C has the agent online, retained" eval "[ \"\$(late C $P/status)\" = '1 online' ]"

# ---- C killed -9: round the list, past dead A, to B -------------------------------
L=$(($(wc -l <"$T/emberd.log") + 1))
t0=$(date +%s%N)
kill -KILL "${BPID[C]}"
ms=$(switch_ms B "$L" "$t0") || die "emberd did not come round to B after C was killed"
log "switch C -> (A refused) -> B: $ms ms"
check "and not to A, still dead" eval "! tail -n +$L '$T/emberd.log' | grep -q 'connected to 127.0.0.1:${BPORT[A]} '"
N3=$(($(distinct) + 50))
toggles 50 0.005
check "the events reached B again" wait_until 30 complete "$N3"
check "each consumer still saw its seqs in increasing order" increasing
check "emberd's log has no sanitizer report" eval "! grep -q 'runtime error\|AddressSanitizer' '$T/emberd.log'"
finish
