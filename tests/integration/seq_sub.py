#!/usr/bin/python3
"""A NOC-style consumer with a persistent session (clean_session false, QoS 1):
records every event's seq (deduplicated) so a test can check nothing was lost.

    seq_sub.py --port P --topic T [--topic T2...] --out FILE [--client-id ID] [--raw]

Writes "# subscribed" once the broker has acknowledged the subscription, then
one line per distinct seq: "<seq> <transition> <ts>".  With --raw, every
message verbatim instead, duplicates included: "<retained> <topic> <payload>"
(for a test that judges the dedupe key itself).  Reconnects by itself when
the broker goes away and comes back.  Stops on SIGTERM.
"""
import argparse
import json
import signal
import sys
import time

import paho.mqtt.client as mqtt

import mqttcompat

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--topic", required=True, action="append")
ap.add_argument("--raw", action="store_true")
ap.add_argument("--out", required=True)
ap.add_argument("--client-id", default="noc-seq-counter")
ap.add_argument("--max-seconds", type=float, default=170)
a = ap.parse_args()

out = open(a.out, "a", buffering=1)
seen = set()
dups = [0]
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))


def on_connect(c, session_present, rc):
    if rc == 0 and not session_present:
        c.subscribe([(t, 1) for t in a.topic])


def on_subscribe(c, mid, granted):
    out.write("# subscribed\n")


def on_message(c, u, m):
    if a.raw:
        out.write("%d %s %s\n" % (m.retain, m.topic, m.payload.decode()))
        return
    try:
        p = json.loads(m.payload)
        seq = int(p["seq"])
    except (ValueError, KeyError, TypeError):
        return
    if seq in seen:
        dups[0] += 1
        return
    seen.add(seq)
    out.write("%d %s %s\n" % (seq, p.get("transition", "-"), p.get("ts", "-")))


c = mqttcompat.client(client_id=a.client_id, clean_session=False, protocol=mqtt.MQTTv311)
mqttcompat.on_connect(c, on_connect)
mqttcompat.on_subscribe(c, on_subscribe)
c.on_message = on_message
c.reconnect_delay_set(0.1, 0.5)
deadline = time.monotonic() + a.max_seconds
connected = False
while not stop and time.monotonic() < deadline:
    if not connected:
        try:
            c.connect("127.0.0.1", a.port, 10)
            connected = True
        except OSError:
            time.sleep(0.1)
            continue
    if c.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
        connected = False
        time.sleep(0.1)
out.write("# duplicates %d\n" % dups[0])
