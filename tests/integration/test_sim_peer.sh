#!/bin/bash
# ember-sim speaks real Modbus to independent peers: mbpoll (a master built on
# libmodbus) and pymodbus (a separate Python implementation of the protocol),
# over Modbus TCP and over RTU on a socat pty pair.  Covers register encodings from the profiles, the control
# FIFO, exceptions for unknown units and unmapped addresses, the dropout,
# slow, exception and garbage faults, a stalled client, the demo scenario,
# configuration and command-line errors, and a clean exit on SIGTERM.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
start_bg socat socat -d -d "pty,raw,echo=0,link=$T/a" "pty,raw,echo=0,link=$T/b"
wait_until 10 test -e "$T/a" -a -e "$T/b" || die "socat pty pair did not appear"

# Values chosen so each encoding is exact: 23.4 C -> 234 (int16 x0.1),
# 31.25 C -> 4000 (APC int16 /128), module_2 -3.21 C -> -321 (int16 x0.01).
cat >"$T/peer.scn" <<EOF
[sim]
profile_dir = $TOP/agent/profiles

[listen tcp0]
tcp = 127.0.0.1:$PORT

[listen rtu0]
rtu = $T/a
baud = 19200
; pyserial cannot set parity on a pty here (tcsetattr fails with EINVAL, and
; ptys ignore parity anyway), so the pymodbus peer needs 8N1.
parity = none

[device room]
listen = tcp0
slave = 1
profile = xy-md02

[device meter]
listen = tcp0
slave = 2
profile = sdm120

[device ups]
listen = tcp0
slave = 3
profile = apc-smart-ups

[device dead]
listen = tcp0
slave = 4
profile = xy-md02

[device node]
listen = rtu0
slave = 5
profile = ember-node

[signal room.temperature]
initial = 23.4

[signal room.humidity]
initial = 51.2

[signal meter.voltage]
initial = 231.5

[signal meter.current]
initial = 4.75

[signal ups.battery_temperature]
initial = 31.25

[signal node.module_1]
initial = 26.55

[signal node.module_2]
initial = -3.21

[fault dead]
dropout = 0s 1h
EOF

# The independent peer: pymodbus 3.0 (Debian's python3-pymodbus).
cat >"$T/peer.py" <<'EOF'
import socket, struct, sys, threading, time
from pymodbus.client import ModbusTcpClient, ModbusSerialClient
from pymodbus.exceptions import ModbusIOException

def decode(regs, fmt):
    if fmt == "int16":
        return [struct.unpack(">h", struct.pack(">H", r))[0] for r in regs]
    if fmt == "div128":
        return [struct.unpack(">h", struct.pack(">H", r))[0] / 128 for r in regs]
    if fmt == "f32":  # float32, high word first (ABCD)
        return [round(struct.unpack(">f", struct.pack(">HH", regs[i], regs[i + 1]))[0], 4)
                for i in range(0, len(regs), 2)]
    return regs

def read(client, fc, addr, count, slave, fmt="raw"):
    fn = client.read_input_registers if fc == 4 else client.read_holding_registers
    try:
        r = fn(addr, count=count, slave=slave)
    except ModbusIOException as e:  # no reply: 3.0 returns it, 3.8 raises it
        r = e
    except Exception as e:  # pymodbus raises on some malformed replies
        return "error %s" % type(e).__name__
    if hasattr(r, "exception_code"):
        return "exc %d" % r.exception_code
    if r.isError():
        return "timeout" if "No response" in str(r) else "error %s" % r
    return "ok " + " ".join(str(v) for v in decode(r.registers, fmt))

cmd = sys.argv[1]
if cmd == "tcp":  # tcp PORT SLAVE FC ADDR COUNT [FMT]
    port, slave, fc, addr, count = (int(x, 0) for x in sys.argv[2:7])
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    print(read(c, fc, addr, count, slave, *sys.argv[7:]))
    c.close()
elif cmd == "rtu":  # rtu DEVICE BAUD PARITY SLAVE FC ADDR COUNT [FMT]
    dev, baud, par = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    slave, fc, addr, count = (int(x, 0) for x in sys.argv[5:9])
    c = ModbusSerialClient(port=dev, baudrate=baud, parity=par, timeout=1, retries=0)
    c.connect()
    print(read(c, fc, addr, count, slave, *sys.argv[9:]))
    c.close()
elif cmd == "write":  # write PORT SLAVE ADDR VALUE: FC06, then read the register back
    port, slave, addr, value = (int(x, 0) for x in sys.argv[2:6])
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    w = c.write_register(addr, value, slave=slave)
    print("error" if w.isError() else read(c, 3, addr, 1, slave))
    c.close()
elif cmd == "slow":  # slow PORT SLOW_SLAVE FAST_SLAVE: a slow device must not delay another
    port, slow, fast = (int(x) for x in sys.argv[2:5])
    out = {}
    def timed(name, slave, delay):
        time.sleep(delay)
        c = ModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
        t = time.monotonic()
        res = read(c, 4, 1, 1, slave)
        out[name] = (res, time.monotonic() - t)
        c.close()
    a = threading.Thread(target=timed, args=("slow", slow, 0))
    b = threading.Thread(target=timed, args=("fast", fast, 0.1))
    a.start(); b.start(); a.join(); b.join()
    print("slow %s %.3f fast %s %.3f" % (out["slow"][0].split()[0], out["slow"][1],
                                         out["fast"][0].split()[0], out["fast"][1]))
elif cmd == "stall":  # stall PORT SLAVE: half a request on one socket, a read on another
    port, slave = int(sys.argv[2]), int(sys.argv[3])
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"\x00\x01\x00")  # 3 of the 7 MBAP header bytes, then silence
    time.sleep(0.05)
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=3, retries=0)
    t = time.monotonic()
    res = read(c, 4, 1, 1, slave)
    print("%s %.3f" % (res.split()[0], time.monotonic() - t))
    c.close(); s.close()
EOF
peer() { $PY "$T/peer.py" "$@" 2>>"$T/peer.log"; }

# mbpoll prints "[REF]: VALUE" lines; keep just the values.
mb() { mbpoll "$@" 2>&1 | sed -n -E 's/^\[[0-9]+\]:[[:space:]]+//p' | tr '\n' ' ' | sed 's/ $//'; }
mbtcp() { mb -m tcp -p "$PORT" -0 -1 -o 1 "$@" 127.0.0.1; }
mbrtu() { mb -m rtu -b 19200 -P none -0 -1 -o 1 "$@" "$T/b"; }

# no_valid_reply CMD...: CMD (a peer) got neither registers nor an exception.
no_valid_reply() {
    local got
    got=$("$@")
    log "got: $got"
    case $got in ok* | exc*) return 1 ;; esac
}
mb_fails_with() { # mb_fails_with PATTERN MBPOLL-ARGS...: mbpoll's output matches PATTERN
    local pat=$1
    shift
    mbpoll "$@" 2>&1 | grep -q -- "$pat"
}
mb_no_values() { ! mbpoll "$@" 2>&1 | grep -q '^\[[0-9]*\]:'; }

expect() { # expect WANT CMD...: CMD's output equals WANT
    local want=$1 got
    shift
    got=$("$@")
    [ "$got" = "$want" ] && return 0
    log "expected '$want', got '$got' from: $*"
    return 1
}

start_sim sim -s "$T/peer.scn" -c "$T/sim.ctl" -v
check "ready line names listeners and devices" log_has "$T/sim.log" "ready: 2 listeners, 5 devices"
check "control FIFO created" test -p "$T/sim.ctl"

# ---- Modbus TCP ----
check "mbpoll TCP: XY-MD02 input registers 1-2" expect "234 512" mbtcp -a 1 -t 3 -r 1 -c 2
check "mbpoll TCP: SDM120 float32 ABCD" expect "231.5" mbtcp -a 2 -t 3:float -B -r 0 -c 1
check "pymodbus TCP: SDM120 voltage and current float32 ABCD" \
    expect "ok 231.5 0.0 0.0 4.75" peer tcp "$PORT" 2 4 0 8 f32
check "pymodbus TCP: APC battery temperature, holding 135 int16 /128" \
    expect "ok 31.25" peer tcp "$PORT" 3 3 135 1 div128
check "pymodbus TCP: APC status bits (online) in holding 0-1" \
    expect "ok 0 2" peer tcp "$PORT" 3 3 0 2
check "unknown unit id: exception 0x0B (gateway target failed to respond)" \
    expect "exc 11" peer tcp "$PORT" 77 4 1 1
check "unmapped address: exception 0x02" expect "exc 2" peer tcp "$PORT" 1 4 100 1
check "unmapped table (XY-MD02 has no holding registers): exception 0x02" \
    expect "exc 2" peer tcp "$PORT" 1 3 1 1
check "mbpoll sees the unknown unit fail" mb_fails_with 'Target device failed to respond' \
    -m tcp -p "$PORT" -a 77 -t 3 -r 1 -0 -1 -o 1 127.0.0.1

check "a peer's write to a holding register is held (FC06, read back)" \
    expect "ok 5120" peer write "$PORT" 3 135 5120
check "the write is logged as a held value" \
    wait_until 5 log_has "$T/sim.log" "peer wrote ups.battery_temperature = 40"
echo "release ups.battery_temperature" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "release ups.battery_temperature" || die "release not applied"
check "after release the scenario value is back" \
    expect "ok 31.25" peer tcp "$PORT" 3 3 135 1 div128

# ---- RTU over the pty pair ----
check "mbpoll RTU: ember-node module_1..2 (int16 x0.01)" \
    expect "2655 65215 (-321)" mbrtu -a 5 -t 3 -r 0x10 -c 2
check "pymodbus RTU: ember-node module_1..2" \
    expect "ok 2655 -321" peer rtu "$T/b" 19200 N 5 4 0x10 2 int16
check "pymodbus RTU: ember-node firmware version" expect "ok 256" peer rtu "$T/b" 19200 N 5 4 0 1

# ---- control FIFO ----
echo "set room.temperature 55.5" >"$T/sim.ctl"
check "control 'set' is applied and logged with real-time ms" \
    wait_until 5 log_has "$T/sim.log" "control: set room.temperature = 55.5 (held) at .*real_ms="
check "mbpoll reads the value set through the FIFO" expect "555" mbtcp -a 1 -t 3 -r 1 -c 1
echo "set node.module_1 -12.34" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "node.module_1 = -12.34" || die "set on node not applied"
check "RTU peer reads the value set through the FIFO" \
    expect "ok -1234" peer rtu "$T/b" 19200 N 5 4 0x10 1 int16
printf 'release room.temperature\nnonsense here\n' >"$T/sim.ctl"
check "bad control lines are logged and ignored" \
    wait_until 5 log_has "$T/sim.log" "control: ignored 'nonsense here'"
check "'release' returns to the scenario" expect "234" mbtcp -a 1 -t 3 -r 1 -c 1

# ---- faults ----
check "dropout: pymodbus times out" expect "timeout" peer tcp "$PORT" 4 4 1 1
check "dropout: mbpoll times out" mb_fails_with 'timed out' \
    -m tcp -p "$PORT" -a 4 -t 3 -r 1 -0 -1 -o 0.5 127.0.0.1
check "other units answer during the dropout" expect "234" mbtcp -a 1 -t 3 -r 1 -c 1

echo "fault meter exception" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "fault meter exception" || die "fault not applied"
check "exception fault: exception 0x04 (server device failure)" \
    expect "exc 4" peer tcp "$PORT" 2 4 0 2
echo "fault meter garbage" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "fault meter garbage" || die "fault not applied"
check "garbage fault: pymodbus gets no valid reply" no_valid_reply peer tcp "$PORT" 2 4 0 2
check "garbage fault: mbpoll gets no valid reply" \
    mb_no_values -m tcp -p "$PORT" -a 2 -t 3 -r 0 -0 -1 -o 0.5 127.0.0.1
echo "fault meter none" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "fault meter none" || die "fault not cleared"
check "'fault none' clears it" expect "ok 231.5" peer tcp "$PORT" 2 4 0 2 f32

echo "fault room slow 600" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "fault room slow 600 ms" || die "slow fault not applied"
out=$(peer slow "$PORT" 1 2)
log "slow fault: $out"
check "slow fault: the reply comes after ~600 ms" \
    awk -v o="$out" 'BEGIN { split(o, f, " "); exit !(f[2] == "ok" && f[3] >= 0.55 && f[3] < 2.5) }'
check "slow fault: another unit answers on time meanwhile" \
    awk -v o="$out" 'BEGIN { split(o, f, " "); exit !(f[5] == "ok" && f[6] < 0.3) }'
echo "fault room scenario" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "fault room: back to the scenario" || die "fault not released"

echo "fault node dropout" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "fault node dropout" || die "fault not applied"
check "RTU dropout: pymodbus times out" expect "timeout" peer rtu "$T/b" 19200 N 5 4 0 1
echo "fault node scenario" >"$T/sim.ctl"
wait_until 5 log_has "$T/sim.log" "fault node: back" || die "fault not released"
check "RTU answers again" expect "ok 256" peer rtu "$T/b" 19200 N 5 4 0 1

out=$(peer stall "$PORT" 1)
log "stalled client: $out"
check "a client stalled mid-request does not block the others" \
    awk -v o="$out" 'BEGIN { split(o, f, " "); exit !(f[1] == "ok" && f[2] < 0.5) }'

# ---- clean exit ----
kill -TERM "$SIM_PID"
wait "$SIM_PID"
rc=$?
check "SIGTERM: exit status 0 (and no leaks under ASan)" test "$rc" -eq 0
check "SIGTERM: the control FIFO is removed" test ! -e "$T/sim.ctl"

# ---- the demo scenario ----
start_bg socat2 socat -d -d "pty,raw,echo=0,link=$T/c" "pty,raw,echo=0,link=$T/d"
wait_until 10 test -e "$T/c" -a -e "$T/d" || die "second socat pty pair did not appear"
PORT2=$(free_port)
start_sim demo -s "$TOP/agent/sim/scenarios/battery-room.scn" \
    -l "tcp0=tcp:127.0.0.1:$PORT2" -l "rtu0=rtu:$T/c"
check "demo scenario: ready with its 5 devices" log_has "$T/demo.log" "ready: 2 listeners, 5 devices"
v=$(peer tcp "$PORT2" 3 3 0x210A 1 int16)
log "demo: BMS max_cell_temperature raw $v"
check "demo: BMS max cell temperature starts near 27.5 C" \
    awk -v o="$v" 'BEGIN { split(o, f, " "); exit !(f[1] == "ok" && f[2] >= 270 && f[2] <= 285) }'
check "demo: ember-node answers RTU 19200 8E1 on the pty" \
    expect "256" mb -m rtu -b 19200 -P even -0 -1 -o 1 -a 1 -t 3 -r 0 -c 1 "$T/d"
v=$(mb -m tcp -p "$PORT2" -a 4 -t 3:float -B -r 0 -0 -1 -o 1 127.0.0.1)
log "demo: SDM630 voltage_l1 $v"
check "demo: SDM630 float32 voltage near 230 V" awk -v v="$v" 'BEGIN { exit !(v > 228 && v < 232) }'

# ---- configuration and command-line errors ----
printf '[device x]\nprofile = xy-md02\nslave = 999\n[signal x.nope]\ninitial = 1\n' >"$T/bad.scn"
"$EMBER_BIN/ember-sim" -s "$T/bad.scn" -P "$TOP/agent/profiles" >"$T/bad.out" 2>&1
rc=$?
check "config error: exit status 1" test "$rc" -eq 1
check "config error: file:line naming the key" log_has "$T/bad.out" "bad.scn:3: slave: '999'"
check "config error: every error reported" log_has "$T/bad.out" "bad.scn:4: \[signal x.nope\]"
# From a checkout, with nothing naming a profile directory, ember-sim finds
# the checkout's agent/profiles (next to its build directory).
QPORT=$(free_port)
env -u EMBER_PROFILE_DIR "$EMBER_BIN/ember-sim" -p xy-md02 --tcp "127.0.0.1:$QPORT" \
    >"$T/quick.log" 2>&1 &
PIDS+=("$!")
check "-p NAME from a checkout without EMBER_PROFILE_DIR: ready" \
    wait_until 10 log_has "$T/quick.log" "ready"
stop_pid "${PIDS[-1]}"
env -u EMBER_PROFILE_DIR "$EMBER_BIN/ember-sim" -p xy-md03 --tcp "127.0.0.1:$QPORT" \
    >"$T/noprof.out" 2>&1
check "unknown profile: exit status 1" test $? -eq 1
check "... naming what exists there" \
    log_has "$T/noprof.out" "profile 'xy-md03' not found; profiles in $TOP/agent/profiles: .*xy-md02"
check "... and why that directory" \
    log_has "$T/noprof.out" "looked up in $TOP/agent/profiles (the source tree"
EMBER_PROFILE_DIR="$T/none" "$EMBER_BIN/ember-sim" -p xy-md02 --tcp "127.0.0.1:$QPORT" \
    >"$T/noprof2.out" 2>&1
check "EMBER_PROFILE_DIR missing: the directory and the error" \
    log_has "$T/noprof2.out" "profile 'xy-md02' not found ($T/none: No such file or directory)"
check "... naming the variable" log_has "$T/noprof2.out" 'looked up in .*(\$EMBER_PROFILE_DIR)'
"$EMBER_BIN/ember-sim" --frobnicate >"$T/usage.out" 2>&1
rc=$?
check "bad option: exit status 2" test "$rc" -eq 2
check "bad option: usage on stderr" log_has "$T/usage.out" "^usage: ember-sim"
"$EMBER_BIN/ember-sim" -p xy-md02 -s "$T/bad.scn" >"$T/usage2.out" 2>&1
check "-p with -s: exit status 2" test $? -eq 2
"$EMBER_BIN/ember-sim" --help >"$T/help.out" 2>&1
for o in --scenario --profile --slave --tcp --rtu --baud --parity --listen --profile-dir \
    --control --verbose --quiet --help --version; do
    check "--help documents $o" log_has "$T/help.out" "$o"
done

finish
