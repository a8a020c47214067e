#!/usr/bin/python3
"""A Modbus RTU slave that answers correctly, but late (python3-serial;
the CRC from python3-pymodbus).

It serves input registers (FC 04) and holding registers (FC 03) with fixed
values on one end of a pty pair.  Every request is answered with the right
registers, after a delay drawn (seeded) from the range the control file
names, so a slow RS485 device can be played against emberd:

    CTL file: "late MIN_MS MAX_MS"   or   "none"   (read when it changes)

Each reply's log line says how late it went out and whether it "crossed" a
later request, that is whether a newer request had already arrived when
this reply was sent.  A crossed reply is one the master could take for the
answer to that newer request.  The totals are printed on every reply:

    reply N addr=0x0001 late_ms=734 crossed=0 | late=5 crossed=0

A line "ready" is printed once the port is open.  Stops on SIGTERM.
"""
import argparse
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

import serial

try:  # pymodbus 3.0-3.6 (bookworm)
    from pymodbus.utilities import computeCRC
except ImportError:  # pymodbus 3.7+ (trixie) keeps it on the RTU framer
    from pymodbus.framer.rtu import FramerRTU

    computeCRC = FramerRTU.compute_CRC


def crc16(data):
    """The frame's CRC as it goes on the wire."""
    return struct.pack(">H", computeCRC(data))


def now_ms():
    return time.monotonic() * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", required=True)
    ap.add_argument("--slave", type=int, default=1)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("regs", nargs="+", help="ADDRESS=VALUE (uint16), e.g. 0x0001=300")
    a = ap.parse_args()

    regs = {}
    for r in a.regs:
        k, v = r.split("=")
        regs[int(k, 0)] = int(v, 0) & 0xFFFF
    rnd = random.Random(a.seed)
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))

    ser = serial.Serial(a.port, 9600, timeout=0)
    out = sys.stdout
    print("ready", flush=True)

    mode = (0.0, 0.0)
    ctl_mtime = None
    buf = b""
    pending = []      # heap of (due ms, request number, address, frame, arrival ms, delayed)
    nreq = 0          # requests received so far
    late_total = 0    # replies sent after a delay
    crossed_total = 0
    while not stop[0]:
        try:
            st = os.stat(a.ctl)
            if st.st_mtime_ns != ctl_mtime:
                ctl_mtime = st.st_mtime_ns
                words = open(a.ctl).read().split()
                if words[:1] == ["late"]:
                    mode = (float(words[1]), float(words[2]))
                else:
                    mode = (0.0, 0.0)
                print("mode %s %.0f %.0f" % (words[0] if words else "none", *mode), flush=True)
        except (OSError, IndexError, ValueError):
            pass

        t = now_ms()
        wait = 0.02
        if pending:
            wait = max(0.0, min(wait, (pending[0][0] - t) / 1000.0))
        r, _, _ = select.select([ser.fileno()], [], [], wait)
        if r:
            buf += ser.read(4096)
        # Requests for FC 03/04 are 8 bytes; anything that is not a valid
        # frame is skipped a byte at a time until one lines up.
        while len(buf) >= 8:
            frame = buf[:8]
            if frame[0] != a.slave or frame[1] not in (3, 4) or crc16(frame[:6]) != frame[6:8]:
                buf = buf[1:]
                continue
            buf = buf[8:]
            nreq += 1
            addr = (frame[2] << 8) | frame[3]
            count = (frame[4] << 8) | frame[5]
            if all(addr + i in regs for i in range(count)) and 1 <= count <= 125:
                data = b"".join(regs[addr + i].to_bytes(2, "big") for i in range(count))
                body = bytes((a.slave, frame[1], 2 * count)) + data
            else:
                body = bytes((a.slave, frame[1] | 0x80, 2))
            delay = rnd.uniform(*mode) if mode[1] > 0 else 0.0
            got = now_ms()
            heapq.heappush(pending, (got + delay, nreq, addr, body + crc16(body), got, delay > 0))

        t = now_ms()
        while pending and pending[0][0] <= t:
            _, n, addr, reply, got, delayed = heapq.heappop(pending)
            ser.write(reply)
            ser.flush()
            sent = now_ms()
            crossed = nreq > n
            late_total += 1 if delayed else 0
            crossed_total += 1 if crossed else 0
            out.write("reply %d addr=0x%04x late_ms=%.0f crossed=%d | late=%d crossed=%d\n"
                      % (n, addr, sent - got, crossed, late_total, crossed_total))
            out.flush()
    ser.close()


if __name__ == "__main__":
    main()
