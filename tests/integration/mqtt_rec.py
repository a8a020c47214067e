#!/usr/bin/python3
"""Independent MQTT peer for the integration tests (paho-mqtt, not libmosquitto).

Subscribes to the given topic filters and appends one line per message to
OUT:  <monotonic ms> <retained 0|1> <topic> <payload>
A line "# subscribed" is written once the broker has acknowledged every
subscription, so tests can wait for readiness instead of sleeping.
With --username (and --password-file, whose first line is the password) it
logs in as that broker user.
Stops on SIGTERM or after --max-seconds.
"""
import argparse
import signal
import sys
import time

import paho.mqtt.client as mqtt

import mqttcompat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-seconds", type=float, default=170)
    ap.add_argument("--username")
    ap.add_argument("--password-file")
    ap.add_argument("topics", nargs="+")
    a = ap.parse_args()

    out = open(a.out, "a", buffering=1)
    pending = set()
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))

    def on_connect(c, session_present, rc):
        for t in a.topics:
            _, mid = c.subscribe(t, qos=1)
            pending.add(mid)

    def on_subscribe(c, mid, granted):
        pending.discard(mid)
        if not pending:
            out.write("# subscribed\n")

    def on_message(c, userdata, m):
        now = time.monotonic() * 1000.0
        payload = m.payload.decode("utf-8", "replace")
        out.write("%.1f %d %s %s\n" % (now, 1 if m.retain else 0, m.topic, payload))

    c = mqttcompat.client(protocol=mqtt.MQTTv311)
    if a.username:
        password = None
        if a.password_file:
            with open(a.password_file) as f:
                password = f.readline().rstrip("\n")
        c.username_pw_set(a.username, password)
    mqttcompat.on_connect(c, on_connect)
    mqttcompat.on_subscribe(c, on_subscribe)
    c.on_message = on_message
    c.connect("127.0.0.1", a.port, keepalive=30)
    deadline = time.monotonic() + a.max_seconds
    while not stop[0] and time.monotonic() < deadline:
        c.loop(timeout=0.05)
    c.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
