#!/usr/bin/python3
"""An independent Modbus TCP server for make bench: pymodbus 3.0 (Debian's
python3-pymodbus), not libmodbus, serving N XY-MD02-like slaves.

    mbserver.py --port P --slaves N --fifo CONTROL [--temp 25.0]

Every slave 1..N has input registers 0..15: 1 = temperature (int16, 0.1 C),
2 = humidity (uint16, 0.1 %RH), as in agent/profiles/xy-md02.ini.  Control
lines on the FIFO (created here):

    set SLAVE ADDR RAW      hold input register ADDR of SLAVE at RAW (int16)

Prints "ready" on stderr once it listens.  Stops on SIGTERM.
"""
import argparse
import asyncio
import logging
import os
import signal
import sys

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)

try:  # pymodbus 3.8
    from pymodbus.server import ModbusTcpServer
except ImportError:  # pymodbus 3.0
    from pymodbus.server.async_io import ModbusTcpServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--slaves", type=int, default=1)
    ap.add_argument("--fifo", required=True)
    ap.add_argument("--temp", type=float, default=25.0)
    a = ap.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    # pymodbus logs every client disconnect as an ERROR ("has been canceled").
    for name in ("pymodbus", "pymodbus.server", "pymodbus.server.async_io"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    slaves = {}
    for s in range(1, a.slaves + 1):
        ir = [0] * 16
        ir[1] = int(round(a.temp * 10)) & 0xFFFF
        ir[2] = 450
        # Register N is block entry N + 1 (pymodbus 3.0 without zero_mode,
        # and 3.8, which dropped zero_mode).
        slaves[s] = ModbusSlaveContext(ir=ModbusSequentialDataBlock(1, ir))
    ctx = ModbusServerContext(slaves=slaves, single=False)

    if not os.path.exists(a.fifo):
        os.mkfifo(a.fifo, 0o600)
    # O_RDWR keeps the FIFO open (no EOF) when writers come and go.
    fd = os.open(a.fifo, os.O_RDWR | os.O_NONBLOCK)
    buf = bytearray()

    def on_fifo():
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        buf.extend(data)
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            f = line.decode(errors="replace").split()
            if len(f) == 4 and f[0] == "set":
                try:
                    slave, addr, raw = int(f[1]), int(f[2]), int(f[3])
                    slaves[slave].setValues(4, addr, [raw & 0xFFFF])
                except (ValueError, KeyError) as e:
                    print("mbserver: bad command %r: %s" % (line, e), file=sys.stderr)
            elif f:
                print("mbserver: bad command %r" % line, file=sys.stderr)

    async def run():
        loop = asyncio.get_running_loop()
        loop.add_reader(fd, on_fifo)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        # The server object, then serve_forever(): the same calls on
        # pymodbus 3.0 and 3.8 (StartAsyncTcpServer lost defer_start).
        server = ModbusTcpServer(ctx, address=("127.0.0.1", a.port))
        srv = asyncio.ensure_future(server.serve_forever())
        # serve_forever binds first; wait until the port accepts.
        for _ in range(200):
            try:
                r, w = await asyncio.open_connection("127.0.0.1", a.port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.01)
        print("mbserver: ready on 127.0.0.1:%d, %d slaves" % (a.port, a.slaves),
              file=sys.stderr, flush=True)
        await stop.wait()
        srv.cancel()

    asyncio.run(run())
    os.unlink(a.fifo)


if __name__ == "__main__":
    main()
