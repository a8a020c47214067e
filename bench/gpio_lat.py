#!/usr/bin/python3
"""GPIO edge -> MQTT alarm latency: writes "NAME 1" into emberd's simulated
GPIO FIFO (as the kernel would report a contact closing) and times the
contact alarm's "activated" event at an MQTT subscriber (paho), both on this
process's monotonic clock.  Then opens the contact again ("NAME 0"), waits
for "cleared" (off_delay = 0), and pauses a random 30-80 ms (past the
input's 20 ms debounce lockout) before the next edge.

    gpio_lat.py --port MQTT --fifo GPIO_FIFO --input NAME --topic EVENT_TOPIC
                --alarm NAME [--n 200] --out FILE
"""
import argparse
import json
import random
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt

# tests/mqttcompat.py: one client for paho-mqtt 1.6 and 2.x.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import mqttcompat  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fifo", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--alarm", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--pause", type=float, default=0.03, help="shortest pause between edges, s")
    ap.add_argument("--jitter", type=float, default=0.05, help="random part of the pause, s")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    random.seed(a.seed)

    events = []
    cond = threading.Condition()

    def on_message(c, u, m):
        now = time.monotonic()
        try:
            p = json.loads(m.payload)
        except ValueError:
            return
        if p.get("alarm") == a.alarm:
            with cond:
                events.append((now, p.get("transition")))
                cond.notify_all()

    subscribed = threading.Event()
    c = mqttcompat.client(client_id="bench-gpio", protocol=mqtt.MQTTv311)
    c.on_message = on_message
    mqttcompat.on_connect(c, lambda cl, sp, rc: cl.subscribe(a.topic, qos=1))
    mqttcompat.on_subscribe(c, lambda cl, mid, granted: subscribed.set())
    c.connect("127.0.0.1", a.port, 30)
    c.loop_start()
    if not subscribed.wait(10):
        print("gpio_lat: no SUBACK", file=sys.stderr)
        return 1
    fifo = open(a.fifo, "w", buffering=1)

    def wait_for(transition, since, timeout):
        deadline = time.monotonic() + timeout
        with cond:
            while True:
                for t, tr in events:
                    if t >= since and tr == transition:
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                cond.wait(left)

    lat = []
    missed = 0
    for i in range(a.n):
        time.sleep(a.pause + a.jitter * random.random())
        t0 = time.monotonic()
        fifo.write("%s 1\n" % a.input)
        got = wait_for("activated", t0, 2.0)
        if got is None:
            missed += 1
            print("gpio_lat: edge %d: no activation within 2 s" % i, file=sys.stderr)
        else:
            lat.append((got - t0) * 1000.0)
        time.sleep(a.pause + a.jitter * random.random())
        t1 = time.monotonic()
        fifo.write("%s 0\n" % a.input)
        if wait_for("cleared", t1, 2.0) is None:
            print("gpio_lat: edge %d: no clear within 2 s" % i, file=sys.stderr)
    c.loop_stop()
    with open(a.out, "w") as f:
        json.dump({"samples_ms": [round(x, 3) for x in lat], "missed": missed}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
