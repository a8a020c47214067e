#!/usr/bin/python3
"""A broker that resets the connection right behind a message.

reset_broker.py --port PORT --send TOPIC [--payload TEXT]
                [--pause-pidfile FILE] --log FILE

Serves one MQTT 3.1.1 client on 127.0.0.1:PORT as a broker would (CONNACK,
SUBACK granting what was asked, PUBACK) until the client's first PINGREQ
after its subscriptions were acknowledged.  Instead of the PINGRESP it gets
one QoS 0 PUBLISH on the --send topic, and the connection is reset right
behind it (SO_LINGER 0: an RST), as a rebooted broker host or a firewall
that rejects the connection does.  The client can read that message, and
its next write is refused.  With --pause-pidfile, the process whose pid the
file holds is stopped (SIGSTOP) from before the message until after the
reset, so that it finds both at once.  No real broker can be made to do
this on cue.  Logs one line per packet to FILE; "# reset" when done.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import time


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_packet(sock):
    """(first byte, body) of the next MQTT control packet."""
    first = read_exact(sock, 1)[0]
    length, shift = 0, 0
    for _ in range(4):
        b = read_exact(sock, 1)[0]
        length |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    else:
        raise ValueError("remaining length longer than 4 bytes")
    return first, read_exact(sock, length)


def encode_length(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def stop_process(pid, seconds=10):
    """SIGSTOP pid and wait until the kernel shows it stopped."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] in ("T", "t"):
                return
        time.sleep(0.001)
    sys.exit("reset_broker.py: process %d did not stop" % pid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--send", required=True)
    ap.add_argument("--payload", default="{}")
    ap.add_argument("--pause-pidfile")
    ap.add_argument("--log", required=True)
    ap.add_argument("--max-seconds", type=float, default=60)
    a = ap.parse_args()
    log = open(a.log, "w", buffering=1)

    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", a.port))
    lsock.listen(1)
    lsock.settimeout(a.max_seconds)
    log.write("# listening\n")
    conn, _ = lsock.accept()
    conn.settimeout(a.max_seconds)
    subscribed = False
    while True:
        first, body = read_packet(conn)
        kind = first >> 4
        if kind == 1:  # CONNECT
            log.write("connect\n")
            conn.sendall(b"\x20\x02\x00\x00")
        elif kind == 8:  # SUBSCRIBE: packet id, then (topic, qos) pairs
            mid, i, granted = body[:2], 2, bytearray()
            while i < len(body):
                (n,) = struct.unpack("!H", body[i:i + 2])
                log.write("subscribe %s\n" % body[i + 2:i + 2 + n].decode())
                granted.append(body[i + 2 + n] & 0x03)
                i += 3 + n
            conn.sendall(bytes([0x90]) + encode_length(2 + len(granted)) + mid + granted)
            subscribed = True
        elif kind == 3:  # PUBLISH
            qos = (first >> 1) & 0x03
            (n,) = struct.unpack("!H", body[:2])
            topic = body[2:2 + n].decode()
            log.write("publish %s\n" % topic)
            if qos == 1:
                conn.sendall(b"\x40\x02" + body[2 + n:4 + n])
            elif qos == 2:
                sys.exit("reset_broker.py: QoS 2 is not served")
        elif kind == 12:  # PINGREQ
            log.write("pingreq\n")
            if subscribed:
                break
            conn.sendall(b"\xd0\x00")
        elif kind == 14:  # DISCONNECT
            sys.exit("reset_broker.py: the client disconnected")
    pid = int(open(a.pause_pidfile).read()) if a.pause_pidfile else None
    if pid is not None:
        stop_process(pid)
    try:
        msg = utf8(a.send) + a.payload.encode()
        conn.sendall(b"\x30" + encode_length(len(msg)) + msg)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
    log.write("# reset\n")
    lsock.close()


if __name__ == "__main__":
    main()
