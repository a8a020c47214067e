#!/usr/bin/python3
"""Plays systemd's side of sd_notify: binds a unix datagram socket at PATH and
appends every datagram received to OUT, one line per "KEY=VALUE" field,
prefixed with the monotonic time in ms.  Stops on SIGTERM."""
import signal
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.1)
f = open(out, "a", buffering=1)
f.write("# bound\n")
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
deadline = time.monotonic() + 170
while not stop and time.monotonic() < deadline:
    try:
        data = s.recv(4096)
    except socket.timeout:
        continue
    now = time.monotonic() * 1000
    for field in data.decode("utf-8", "replace").split("\n"):
        if field:
            f.write("%.1f %s\n" % (now, field))
