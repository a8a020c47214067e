#!/bin/bash
# The sensor-node firmware's host port (firmware/build/ember-node-host) on one
# end of a socat pty pair: two independent Modbus masters - mbpoll (libmodbus)
# and pymodbus - read and write it over RTU, including every exception, the
# write-protect sequence, a slave id change that survives a restart,
# broadcasts, a bad CRC and a frame split by a silence; then emberd polls it
# with the ember-node profile and raises (and clears) an over-temperature
# alarm on a real broker.
. "$(dirname "$0")/lib.sh"

FW_BIN=${FW_BIN:-$TOP/firmware/build}
NODE_BIN=$FW_BIN/ember-node-host
if [ ! -x "$NODE_BIN" ]; then
    log "building the host node"
    make -C "$TOP/firmware" FW_BUILD="$FW_BIN" host >"$T/fw-build.log" 2>&1 || die "firmware host build failed"
fi

# start_node NAME [ARGS...]: the node on $T/node, control FIFO $T/node.ctl,
# settings in $T/node.state; waits for its "ready:" line.  NODE_WRAP runs it
# under a tool (valgrind), like EMBER_WRAP does emberd.
start_node() {
    local name=$1
    shift
    # shellcheck disable=SC2086 # NODE_WRAP is a command line: split it
    start_bg "$name" ${NODE_WRAP:-} "$NODE_BIN" --pty "$T/node" --control "$T/node.ctl" --state "$T/node.state" "$@"
    NODE_PID=$LAST_PID
    wait_until 10 log_has "$T/$name.log" "ready:" || die "host node did not start"
}

# mbpoll (libmodbus 3.1.6) on the master end; mbv keeps just the values.
mb() { mbpoll -m rtu -b 19200 -P even -0 -1 -o 1 "$@" "$T/bus" 2>&1; }
mbv() { mb "$@" | sed -n -E 's/^\[[0-9]+\]:[[:space:]]+([0-9]+).*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
near() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { exit !(a - b <= d && b - a <= d) }'; }
expect() { # expect WANT CMD...: CMD's output equals WANT
    local want=$1 got
    shift
    got=$("$@")
    [ "$got" = "$want" ] && return 0
    log "expected '$want', got '$got'"
    return 1
}

# The independent peer: pymodbus 3.0 for requests, pyserial for raw frames.
# pyserial cannot set parity on a pty (EINVAL) and a pty ignores it anyway,
# so this side opens 8N1.
cat >"$T/peer.py" <<'EOF'
import sys, time
import serial
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ModbusIOException

def crc16(b):
    c = 0xFFFF
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
    return bytes([c & 0xFF, c >> 8])

def call(fn, *a, **kw):
    """fn's reply: pymodbus 3.0 returns a ModbusIOException for no reply, 3.8 raises it."""
    try:
        return fn(*a, **kw)
    except ModbusIOException as e:
        return e

def result(r):
    if hasattr(r, "exception_code"):
        return "exc %d" % r.exception_code
    if r.isError():
        return "timeout" if "No response" in str(r) else "error %s" % r
    return None

dev, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
if cmd in ("raw", "split"):
    # raw HEX: a frame (CRC appended) in one write; "bad" as the last word
    # corrupts the CRC.  split HEX: the frame in two writes 50 ms apart.
    # Prints the reply in hex, or "none" after 300 ms of silence.
    bad = args[-1] == "bad"
    f = bytes.fromhex("".join(a for a in args if a != "bad"))
    f += crc16(f)
    if bad:
        f = f[:-1] + bytes([f[-1] ^ 0xFF])
    s = serial.Serial(dev, 19200, timeout=0.3)
    if cmd == "split":
        s.write(f[:4]); s.flush(); time.sleep(0.05); s.write(f[4:])
    else:
        s.write(f)
    r = s.read(256)
    print(r.hex() if r else "none")
    sys.exit(0)
c = ModbusSerialClient(port=dev, baudrate=19200, parity="N", timeout=1, retries=0)
c.connect()
if cmd == "read":  # read FC SLAVE ADDR COUNT
    fc, slave, addr, count = (int(x, 0) for x in args)
    fn = c.read_input_registers if fc == 4 else c.read_holding_registers
    r = call(fn, addr, count=count, slave=slave)
    print(result(r) or "ok " + " ".join(str(v) for v in r.registers))
elif cmd == "write":  # write SLAVE ADDR VALUE...: FC06 for one value, FC16 for more
    slave, addr, *vals = (int(x, 0) for x in args)
    if len(vals) == 1:
        r = call(c.write_register, addr, vals[0], slave=slave)
    else:
        r = call(c.write_registers, addr, vals, slave=slave)
    print(result(r) or "ok")
elif cmd == "coils":  # coils SLAVE: FC01, which the node does not implement
    print(result(call(c.read_coils, 0, count=1, slave=int(args[0]))) or "ok")
c.close()
EOF
peer() { $PY "$T/peer.py" "$T/bus" "$@" 2>>"$T/peer.log"; }

socat_pair "$T/node" "$T/bus"
start_node node --set "temp 1 24.5" --set "temp 3 31" --set "gas 40"

# ---- libmodbus (mbpoll) ----
read -r fw _ _ faults <<<"$(mbv -a 1 -t 3 -r 0 -c 4)"
check "mbpoll FC04: firmware version 1.0 (256)" test "$fw" = 256
check "mbpoll FC04: no faults" test "$faults" = 0
check "mbpoll FC04: the whole map (0x0000-0x0024) in one request" \
    test "$(mbv -a 1 -t 3 -r 0 -c 37 | wc -w)" = 37
read -r m1 m2 m3 m4 <<<"$(mbv -a 1 -t 3 -r 0x10 -c 4)"
log "modules: $m1 $m2 $m3 $m4"
check "module 1 reads 24.5 C (0.01 C units)" near "$m1" 2450 4
check "module 2 reads 25.00 C exactly (ADC count 2048)" test "$m2" = 2500
check "module 3 reads 31 C" near "$m3" 3100 4
check "hottest module is module 3" test "$(mbv -a 1 -t 3 -r 0x20 -c 1)" = "$m3"
check "gas 40 ppm, no gas alarm" expect "40 0" mbv -a 1 -t 3 -r 0x23 -c 2
check "mbpoll FC03: factory holding registers" expect "1 192 2 100 1 0" mbv -a 1 -t 4 -r 0 -c 6
check "mbpoll: illegal data address past 0x0024" \
    bash -c "mbpoll -m rtu -b 19200 -P even -0 -1 -o 1 -a 1 -t 3 -r 0x25 -c 1 '$T/bus' 2>&1 | grep -q 'Illegal data address'"
check "mbpoll: write-protected slave id (exception 04)" \
    bash -c "mbpoll -m rtu -b 19200 -P even -0 -1 -o 1 -a 1 -t 4 -r 0 '$T/bus' 7 2>&1 | grep -q 'Slave device or server failure'"
check "mbpoll: another slave id gets no answer" \
    bash -c "mbpoll -m rtu -b 19200 -P even -0 -1 -o 0.3 -a 9 -t 3 -r 0 -c 1 '$T/bus' 2>&1 | grep -q 'timed out'"
echo "contact 1" >"$T/node.ctl"
check "smoke/heat contact reads 1 after the debounce" \
    wait_until 5 expect 1 mbv -a 1 -t 3 -r 0x22 -c 1

# ---- pymodbus ----
check "pymodbus FC04: module temperatures" \
    bash -c "$PY '$T/peer.py' '$T/bus' read 4 1 0x11 1 | grep -qx 'ok 2500'"
check "pymodbus: illegal function (FC01)" expect "exc 1" peer coils 1
check "pymodbus: illegal address (holding 0x0015)" expect "exc 2" peer read 3 1 0x15 1
check "pymodbus: write-protect (FC06 while locked)" expect "exc 4" peer write 1 0 7
check "pymodbus: wrong unlock key is an illegal value" expect "exc 3" peer write 1 4 0x1234
check "pymodbus: unlock" expect "ok" peer write 1 4 0x5AA5
check "pymodbus: lock register reads 0 while unlocked" expect "ok 0" peer read 3 1 4 1
check "pymodbus: illegal value (baud code 385)" expect "exc 3" peer write 1 1 385
check "pymodbus FC16: stage slave 7" expect "ok" peer write 1 0 7 192 2 100
check "staged value reads back, old address still in force" expect "ok 7" peer read 3 1 0 1
check "pymodbus: lock and commit (answered by slave 1)" expect "ok" peer write 1 4 1
check "node logs the committed settings" wait_until 5 log_has "$T/node.log" "settings committed: slave 7, 19200 8E1"
check "slave 7 answers" expect "ok 256" peer read 4 7 0 1
check "slave 1 is silent now" expect "timeout" peer read 4 1 0 1

# ---- restart: the settings were saved ----
stop_pid "$NODE_PID"
check "the node exits cleanly on SIGTERM" log_has "$T/node.log" "stopping:"
start_node node2
check "restarted node loads slave 7 from its saved settings" log_has "$T/node2.log" "ready: slave 7, 19200 8E1"
check "mbpoll reads slave 7 after the restart" expect 256 mbv -a 7 -t 3 -r 0 -c 1

# ---- raw frames: bad CRC, a frame split by a silence, broadcasts ----
check "bad CRC: no reply" expect none peer raw 07 04 0000 0001 bad
check "a frame split by 50 ms of silence is two bad frames: no reply" expect none peer split 07 04 0000 0001
check "the node counted 3 CRC errors" expect "ok 3" peer read 3 7 0x11 1
check "a good raw frame is answered (FC04 reply, CRC included)" \
    expect "070402010030a0" peer raw 07 04 0000 0001
check "broadcast unlock: executed, no reply" expect none peer raw 00 06 0004 5aa5
check "broadcast FC16 slave 1 + lock: executed, no reply" \
    expect none peer raw 00 10 0000 0005 0a 0001 00c0 0002 0064 0001
check "node logs slave 1 again" wait_until 5 log_has "$T/node2.log" "settings committed: slave 1, 19200 8E1"
check "slave 1 answers again" expect "ok 256" peer read 4 1 0 1
check "two broadcasts counted" expect "ok 2" peer read 3 1 0x14 1

# ---- emberd with the ember-node profile ----
start_broker
P=emberwatch/lab/a1
write_conf "$T/emberd.conf" <<EOF
[bus n]
type = rtu
device = $T/bus
baud = 19200
parity = even

[device node]
bus = n
slave = 1
profile = ember-node
interval = 500ms

[sensor m2]
device = node
point = module_2

[alarm m2-hot]
sensor = m2
kind = high
setpoint = 60
severity = critical
EOF
rec_start rec "$P/#"
start_emberd emberd "$T/emberd.conf"
check "emberd reads module 2 at 25 C" \
    rec_wait 10 rec " $P/sensor/m2 .*\"value\":25,\"unit\":\"C\",\"quality\":\"good\""
check "m2-hot starts cleared" rec_wait 10 rec " $P/alarm/m2-hot .*\"state\":\"cleared\""
echo "temp 2 75" >"$T/node.ctl"
check "over-temperature: m2-hot activated on $P/event" \
    rec_wait 10 rec " $P/event .*\"alarm\":\"m2-hot\".*\"transition\":\"activated\""
check "the event carries the node's reading (~75 C) and setpoint" \
    rec_wait 5 rec " $P/event .*\"alarm\":\"m2-hot\".*\"value\":7[45](\.[0-9]+)?,\"setpoint\":60.*\"transition\":\"activated\""
check "retained alarm state is active and critical" \
    rec_wait 5 rec " $P/alarm/m2-hot .*\"severity\":\"critical\",\"state\":\"active\""
echo "open 2" >"$T/node.ctl"
check "an open thermistor (0x8000) is quality bad in emberd" \
    rec_wait 10 rec " $P/sensor/m2 .*\"quality\":\"bad\""
echo "temp 2 25" >"$T/node.ctl"
check "back to 25 C: m2-hot cleared" \
    rec_wait 10 rec " $P/event .*\"alarm\":\"m2-hot\".*\"transition\":\"cleared\""
check "emberd and the node are still running" kill -0 "$EMBERD_PID" "$NODE_PID"
stop_pid "$NODE_PID"
check "the node stops cleanly; no memory errors reported (NODE_WRAP=valgrind)" \
    bash -c "grep -q stopping: '$T/node2.log' && ! grep -q '^==[0-9]*==' '$T/node.log' '$T/node2.log'"
finish
