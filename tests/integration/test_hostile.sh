#!/bin/bash
# Hostile input on real processes: emberd against misbehaving Modbus devices
# (ember-sim faults: garbage frames, exception replies, slow replies beyond
# the timeout, dropouts; unit ids nobody serves on TCP and on RTU over a
# socat pty pair), malformed MQTT commands and garbage on the control socket.
# emberd must never crash or stall: faults surface as quality bad
# (exceptions) or stale/comms_lost (no answer, or an answer that is not a
# frame), the healthy device on another bus keeps reading good, every fault
# recovers to good once it clears, every bad command is rejected in the log,
# and emberctl still answers at the end.  Random payloads come from a seeded
# generator, so a failure replays with the same bytes.
. "$(dirname "$0")/lib.sh"

P=emberwatch/lab/a1/sensor
INTERVAL_MS=500

start_broker
PORT_A=$(free_port)
PORT_B=$(free_port)
socat_pair "$T/rtu-sim" "$T/rtu-agent"
socat_pair "$T/rtu2-sim" "$T/rtu2-agent"

# A: the faulted TCP device; B: a healthy one on its own bus; C: the faulted
# RTU device; D: serves slave 5 only, while emberd asks its line for slave 6.
start_sim simA -p xy-md02 --tcp "127.0.0.1:$PORT_A" -c "$T/simA.ctl"
start_sim simB -p xy-md02 --tcp "127.0.0.1:$PORT_B"
start_sim simC -p ember-node --rtu "$T/rtu-sim" --slave 5 -c "$T/simC.ctl"
start_sim simD -p ember-node --rtu "$T/rtu2-sim" --slave 5

write_conf "$T/emberd.conf" <<EOF
[bus a]
type = tcp
host = 127.0.0.1
port = $PORT_A
timeout = 300ms
retries = 0
backoff_max = 500ms

[bus b]
type = tcp
host = 127.0.0.1
port = $PORT_B

# Simulator B's listener, asked for a unit id it has no device for: it
# answers exception 0x0B (gateway target failed to respond).
[bus ghost]
type = tcp
host = 127.0.0.1
port = $PORT_B
backoff_max = 500ms

[bus rtu]
type = rtu
device = $T/rtu-agent
timeout = 300ms
retries = 0
backoff_max = 500ms

# Nobody answers slave 6 on this line.
[bus rtu-ghost]
type = rtu
device = $T/rtu2-agent
timeout = 200ms
retries = 0

[device a]
bus = a
profile = xy-md02
interval = ${INTERVAL_MS}ms

[device b]
bus = b
profile = xy-md02
interval = ${INTERVAL_MS}ms

[device ghost]
bus = ghost
slave = 9
profile = xy-md02
interval = ${INTERVAL_MS}ms

[device node]
bus = rtu
slave = 5
profile = ember-node
interval = ${INTERVAL_MS}ms

[device node-ghost]
bus = rtu-ghost
slave = 6
profile = ember-node
interval = ${INTERVAL_MS}ms

[sensor ta]
device = a
point = temperature

[sensor tb]
device = b
point = temperature
zone = z

[sensor tghost]
device = ghost
point = temperature

[sensor tnode]
device = node
point = module_2

[sensor tnode-ghost]
device = node-ghost
point = module_2

[alarm tb-high]
sensor = tb
kind = high
setpoint = 100
severity = critical

[zone z]
vote = 1
EOF
rec_start rec "$P/#"
# -d: emberd logs why each poll failed, which tells what it saw on the wire.
start_emberd emberd "$T/emberd.conf" -d
T0=$(date +%s%N)

alive() { kill -0 "$EMBERD_PID" 2>/dev/null; }
# seen_after MARK SECONDS SENSOR QUALITY: a message of SENSOR with QUALITY
# recorded after MARK.
seen_after() { rec_wait_after "$1" "$2" rec " $P/$3 .*\"quality\":\"$4\""; }
# good_since MARK SENSOR MIN: SENSOR published at least MIN messages since
# MARK, every one of them good.
good_since() {
    local lines
    lines=$(tail -n +$(($1 + 1)) "$T/rec.rec" | grep " $P/$2 ")
    [ "$(grep -c . <<<"$lines")" -ge "$3" ] && ! grep -qv '"quality":"good"' <<<"$lines"
}
phase_start() { PHASE_MARK=$(rec_mark rec); }
# wait_for_messages SENSOR MIN: until SENSOR has MIN messages since phase_start.
wait_for_messages() { # wait_for_messages SENSOR N [SECONDS]
    wait_until "${3:-10}" bash -c "[ \$(tail -n +$((PHASE_MARK + 1)) '$T/rec.rec' | grep -c ' $P/$1 ') -ge $2 ]"
}

for s in ta tb tnode; do
    check "$s reads good at the start" rec_wait 10 rec " $P/$s .*\"quality\":\"good\""
done

# ---- unit ids nobody serves ---------------------------------------------
check "TCP unit id 9 (exception 0x0B: target failed to respond) goes comms_lost" \
    rec_wait 10 rec " $P/tghost .*\"value\":null,.*\"quality\":\"comms_lost\""
check "RTU slave 6 (no answer on the line) goes comms_lost" \
    rec_wait 10 rec " $P/tnode-ghost .*\"value\":null,.*\"quality\":\"comms_lost\""
check "emberd saw exception 0x0B for TCP unit 9" \
    log_has "$T/emberd.log" "bus ghost: device ghost: Target device failed to respond"
check "emberd saw no answer for RTU slave 6" \
    log_has "$T/emberd.log" "bus rtu-ghost: device node-ghost: Connection timed out"
check "an unserved unit id never reads good" \
    bash -c "! grep -qE ' $P/(tghost|tnode-ghost) .*\"good\"' '$T/rec.rec'"

# ---- device faults: A over TCP and C over RTU at the same time ------------
# fault_phase FAULT QUALITY: both devices read QUALITY (value null) while
# faulted -- bad for an answer that is an exception, comms_lost for none or
# one that is not a frame, after a first failed poll reported stale with the
# last value --, B stays good throughout, and both recover to good.
fault_phase() {
    local fault=$1 want=$2 mark s
    phase_start
    echo "fault xy-md02 $fault" >"$T/simA.ctl"
    echo "fault ember-node $fault" >"$T/simC.ctl"
    check "$fault: TCP device reads $want" \
        rec_wait_after "$PHASE_MARK" 10 rec " $P/ta .*\"value\":null,.*\"quality\":\"$want\""
    check "$fault: RTU device reads $want" \
        rec_wait_after "$PHASE_MARK" 10 rec " $P/tnode .*\"value\":null,.*\"quality\":\"$want\""
    if [ "$want" = comms_lost ]; then
        for s in ta tnode; do
            check "$fault: $s was stale with its last value first" rec_wait_after "$PHASE_MARK" 1 \
                rec " $P/$s .*\"value\":[0-9.]+,.*\"quality\":\"stale\""
        done
    fi
    check "$fault: emberd is still running" alive
    mark=$(rec_mark rec)
    echo "fault xy-md02 none" >"$T/simA.ctl"
    echo "fault ember-node none" >"$T/simC.ctl"
    check "$fault: TCP device recovers to good" seen_after "$mark" 10 ta good
    check "$fault: RTU device recovers to good" seen_after "$mark" 10 tnode good
    wait_for_messages tb 4
    check "$fault: the healthy device stayed good meanwhile" good_since "$PHASE_MARK" tb 4
}
fault_phase garbage comms_lost
fault_phase exception bad
fault_phase dropout comms_lost

# Slow replies: beyond the 300 ms timeout they are no answer, for as long as
# the fault lasts; within it they are only slow.
# no_good_since MARK SENSOR MIN: once the fault shows (SENSOR's first
# message since MARK that is not good), SENSOR published at least MIN
# messages and none of them good.  Readings before that were answered
# before the simulator applied the fault (a poll already on the wire, or a
# slow run under valgrind), so they say nothing about late replies.
no_good_since() {
    local lines
    lines=$(tail -n +$(($1 + 1)) "$T/rec.rec" | grep " $P/$2 " |
        awk '!on && !/"quality":"good"/ {on = 1} on')
    [ "$(grep -c . <<<"$lines")" -ge "$3" ] && ! grep -q '"quality":"good"' <<<"$lines"
}
phase_start
echo "fault xy-md02 slow 1500" >"$T/simA.ctl"
check "slow 1500 ms (timeout 300 ms): TCP device reads comms_lost" \
    rec_wait_after "$PHASE_MARK" 10 rec " $P/ta .*\"value\":null,.*\"quality\":\"comms_lost\""
wait_for_messages ta 10
check "slow 1500 ms: TCP device never reads good while replies are late" no_good_since "$PHASE_MARK" ta 8
check "slow: emberd is still running" alive
mark=$(rec_mark rec)
echo "fault xy-md02 slow 100" >"$T/simA.ctl"
check "slow 100 ms (within the timeout): TCP device reads good again" seen_after "$mark" 10 ta good
mark=$(rec_mark rec)
wait_until 10 bash -c "[ \$(tail -n +$((mark + 1)) '$T/rec.rec' | grep -c ' $P/ta ') -ge 4 ]"
check "slow within the timeout stays good" good_since "$mark" ta 4
echo "fault xy-md02 none" >"$T/simA.ctl"
wait_for_messages tb 4
check "slow: the healthy device stayed good meanwhile" good_since "$PHASE_MARK" tb 4

phase_start
# RTU frames carry no transaction id: after a timeout emberd keeps the line
# silent until 4 timeouts after the request and drops what arrives, so a
# reply up to 4 timeouts late is thrown away instead of being taken for the
# next answer (test_rtu_late plays replies 610-1080 ms late; set timeout
# above the device's worst reply time; see emberd.conf(5)).
echo "fault ember-node slow 450" >"$T/simC.ctl"
check "slow 450 ms on RTU (timeout 300 ms): reads comms_lost" \
    rec_wait_after "$PHASE_MARK" 10 rec " $P/tnode .*\"value\":null,.*\"quality\":\"comms_lost\""
# A failed RTU request holds the line for 4 timeouts, so a poll of this
# device takes about 1.7 s while the fault lasts: wait long enough for 6.
wait_for_messages tnode 8 20
check "slow 450 ms on RTU: a late reply is never taken for the next answer" \
    no_good_since "$PHASE_MARK" tnode 6
mark=$(rec_mark rec)
echo "fault ember-node none" >"$T/simC.ctl"
check "slow on RTU: recovers to good" seen_after "$mark" 10 tnode good
check "device faults: emberd logged no sanitizer report" \
    bash -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' '$T/emberd.log'"
log "device faults done after $((($(date +%s%N) - T0) / 1000000)) ms"

# ---- malformed MQTT commands ----------------------------------------------
# One paho client publishes everything at QoS 1 and waits for every PUBACK,
# so all of it has reached the broker (and, in order, emberd) when it exits.
cat >"$T/pub.py" <<'EOF'
import random, sys, time
import paho.mqtt.client as mqtt
import mqttcompat

port, base = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(20261125)
def rbytes(n): return bytes(rnd.getrandbits(8) for _ in range(n))
deep_small = b'{"alarm":' + b"[" * 3000 + b"]" * 3000 + b"}"   # under 4 KiB: cJSON's nesting limit
deep_big = b"[" * 600000 + b"]" * 600000                        # 1.2 MB of nesting
deep_obj = b'{"a":' * 800 + b"1" + b"}" * 800
msgs = [
    ("ack", rbytes(3000)),
    ("shelve", rbytes(4096)),
    ("unshelve", rbytes(1)),
    ("test", rbytes(200) + b"\n" + rbytes(200)),
    ("ack", b'{"alarm":"' + b"a" * (1 << 20) + b'"}'),             # ~1 MB
    ("shelve", rbytes(1 << 20)),                                     # 1 MB random
    ("unshelve", deep_small),
    ("test", deep_big),
    ("ack", deep_obj),
    ("test", b'{"zone":"\xff\xfe\xc3\x28"}'),                        # invalid UTF-8
    ("ack", b'{"alarm":"tb-high\xc0\xaf"}'),
    ("unshelve", b'{"alarm":"\xed\xa0\x80"}'),                       # UTF-16 surrogate
    ("ack", b'{"alarm":"t\\u0000b-high"}'),
    ("ack", b'{"alarm":"tb-high"\x00}'),
    ("ack", b'{"alarm":123}'),
    ("ack", b'{"alarm":["tb-high"]}'),
    ("ack", b'{"alarm":{"name":"tb-high"}}'),
    ("ack", b'{"alarm":"tb-high","by":7}'),
    ("ack", b'["tb-high"]'),
    ("ack", b'"tb-high"'),
    ("ack", b"null"),
    ("ack", b""),
    ("shelve", b'{"alarm":"tb-high"}'),
    ("shelve", b'{"alarm":"tb-high","duration":[60]}'),
    ("shelve", b'{"alarm":"tb-high","duration":-60}'),
    ("shelve", b'{"alarm":"tb-high","duration":1e999}'),
    ("shelve", b'{"alarm":"tb-high","duration":"forever"}'),
    ("shelve", b'{"alarm":"tb-high","duration":"8d"}'),
    ("shelve", b'{"alarm":"tb-high","duration":true}'),
    ("test", b'{"zone":null}'),
    ("test", b'{"zone":"z","duration":"1h"}'),
    ("test", b'{"zone":"' + b"z" * 65 + b'"}'),
    ("unshelve", b'{"alarm":"../../etc"}'),
    ("reload", b"{}"),
    ("status", b'{"cmd":"status"}'),
    ("no-such-command", b"{}"),
]
c = mqttcompat.client(protocol=mqtt.MQTTv311)
c.connect("127.0.0.1", port, keepalive=30)
c.loop_start()
infos = [c.publish(base + "/cmd/" + name, payload, qos=1) for name, payload in msgs]
for i in infos:
    i.wait_for_publish()
c.loop_stop()
c.disconnect()
print(len(msgs))
EOF
BASE=emberwatch/lab/a1
phase_start
before=$(count_lines "$T/emberd.log" "mqtt command .* rejected")
NCMD=$($PY "$T/pub.py" "$MQTT_PORT" "$BASE") || die "publishing the hostile commands failed"
log "published $NCMD malformed commands"
check "every malformed command is rejected in the log" wait_until 20 bash -c \
    "[ \$(grep -c 'mqtt command .* rejected' '$T/emberd.log') -ge $((before + NCMD)) ]"
check "malformed commands: emberd is still running" alive
for why in "payload larger than 4096 bytes" "payload is not JSON" "payload must be a JSON object" \
    "\"alarm\" must be a name" "\"zone\" must be a name" "\"by\" must be a name" \
    "missing \"duration\"" "\"duration\" out of range" "\"duration\" must be seconds" \
    "\"duration\" must be between" "unknown command \"reload\"" "unknown command \"status\""; do
    check "rejected: $why" log_has "$T/emberd.log" "rejected: $why"
done
check "no malformed command was carried out" \
    bash -c "! grep -q 'mqtt command .* done' '$T/emberd.log'"
# A well-formed command still works afterwards.
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$BASE/cmd/shelve" \
    -m '{"alarm":"tb-high","duration":"1m","by":"hostile-test"}'
check "a valid shelve still works" wait_until 10 log_has "$T/emberd.log" \
    "mqtt command shelve tb-high by hostile-test done"
mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t "$BASE/cmd/unshelve" -m '{"alarm":"tb-high"}'
check "a valid unshelve still works" wait_until 10 log_has "$T/emberd.log" \
    "mqtt command unshelve tb-high done"
wait_for_messages tb 4
check "telemetry kept flowing through the command barrage" good_since "$PHASE_MARK" tb 4

# ---- garbage on the control socket --------------------------------------
cat >"$T/ctl.py" <<'EOF'
import random, socket, sys, threading, time

path, mode = sys.argv[1], sys.argv[2]
rnd = random.Random(1125)
def rbytes(n): return bytes(rnd.getrandbits(8) for _ in range(n))

def conn():
    # With a timeout the socket is non-blocking, and connect() to a unix
    # socket whose backlog is full fails with EAGAIN instead of waiting:
    # retry until emberd has accepted the ones before (bounded).
    deadline = time.monotonic() + 10
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)

def reply(s):
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (ConnectionResetError, socket.timeout):
        pass
    return data

def send_all(s, data):
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass   # emberd closed after answering "request too long"

if mode == "garbage":       # random bytes ending in a newline: an answer, ok false
    s = conn()
    send_all(s, rbytes(3000).replace(b"\n", b" ") + b"\n")
    r = reply(s)
    print(r.decode("utf-8", "replace").strip())
    sys.exit(0 if b'"ok":false' in r else 1)
elif mode == "nonewline":   # random bytes, then EOF: closed without an answer
    s = conn()
    send_all(s, rbytes(2000).replace(b"\n", b" "))
    s.shutdown(socket.SHUT_WR)
    r = reply(s)
    print(repr(r[:80]))
    sys.exit(0)
elif mode == "long":        # 1 MB without a newline: "request too long"
    s = conn()
    send_all(s, b"x" * (1 << 20))
    r = reply(s)
    print(r.decode("utf-8", "replace").strip())
    sys.exit(0 if b"request too long" in r else 1)
elif mode == "idle":        # N clients that connect and never send; hold until killed
    n = int(sys.argv[3])
    socks = [conn() for _ in range(n)]
    print("connected %d" % n, flush=True)
    time.sleep(60)
elif mode == "burst":       # N clients at once, each asking for status
    n = int(sys.argv[3])
    results = [None] * n
    go = threading.Barrier(n)
    def one(i):
        try:
            s = conn()
            go.wait()
            # A refused client may find the socket closed already ("busy"
            # is waiting in its receive buffer): read the answer anyway.
            send_all(s, b'{"cmd":"status"}\n')
            results[i] = reply(s)
        except Exception as e:
            results[i] = repr(e).encode()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts: t.start()
    for t in ts: t.join()
    ok = sum(1 for r in results if r.startswith(b'{"ok":true'))
    busy = sum(1 for r in results if b'"busy"' in r)
    print("ok=%d busy=%d other=%d" % (ok, busy, n - ok - busy))
    for r in results:
        if not r.startswith(b'{"ok":true') and b'"busy"' not in r:
            print("  other: %r" % r[:100])
    sys.exit(0 if ok >= 1 and ok + busy == n else 1)
EOF
CTL="$T/ctl.sock"
emberctl() { "$EMBER_BIN/emberctl" -s "$CTL" -t 3 "$@" >"$T/emberctl.out" 2>&1; }
phase_start
check "control socket: random bytes and a newline get an error answer" \
    $PY "$T/ctl.py" "$CTL" garbage
check "control socket: random bytes without a newline are dropped" $PY "$T/ctl.py" "$CTL" nonewline
check "control socket: a 1 MB line is refused as too long" $PY "$T/ctl.py" "$CTL" long
check "control socket: garbage is rejected in the log" \
    log_has "$T/emberd.log" "control command rejected: payload is not JSON"
check "control socket garbage: emberd is still running" alive

# One client that connects and never sends does not hold up anyone.
start_bg idle1 $PY "$T/ctl.py" "$CTL" idle 1
IDLE1=$LAST_PID
wait_until 10 log_has "$T/idle1.log" "connected 1" || die "idle client did not connect"
check "emberctl status answers while a client sits idle" emberctl status
stop_pid "$IDLE1"

# 20 clients at once: every one gets an answer (status, or busy past 8).
out=$($PY "$T/ctl.py" "$CTL" burst 20)
rc=$?
log "20 clients at once: $out"
check "20 clients at once all get an answer (status, or busy)" test "$rc" -eq 0

# 20 idle clients fill every slot: emberd refuses more ("busy") but its
# loop runs on: telemetry keeps flowing, and the slots come back after the
# client timeout (5 s).
phase_start
start_bg idle20 $PY "$T/ctl.py" "$CTL" idle 20
IDLE20=$LAST_PID
wait_until 10 log_has "$T/idle20.log" "connected 20" || die "idle clients did not connect"
emberctl status
log "emberctl status with every slot taken: $(head -c 120 "$T/emberctl.out")"
wait_for_messages tb 6
check "telemetry keeps flowing while idle clients hold every slot" good_since "$PHASE_MARK" tb 6
check "emberctl status answers again once idle clients time out" wait_until 15 emberctl status
stop_pid "$IDLE20"
check "emberctl status answers after the control-socket abuse" emberctl status
check "emberctl -j status reports the healthy sensor good" \
    bash -c "'$EMBER_BIN/emberctl' -s '$CTL' -j status | grep -q '\"name\":\"tb\",\"value\":[0-9.]*,\"unit\":\"C\",\"quality\":\"good\"'"

# ---- the end: still up, clean stop ---------------------------------------
check "emberd survived everything" alive
check "no sanitizer report in emberd's log" \
    bash -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' '$T/emberd.log'"
kill -TERM "$EMBERD_PID"
wait "$EMBERD_PID"
rc=$?
check "clean stop exits 0 (no leak report)" test "$rc" -eq 0
log "total $((($(date +%s%N) - T0) / 1000000)) ms"
finish
