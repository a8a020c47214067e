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
import sys
import time

import benchmqtt


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

    events = benchmqtt.JsonEvents(keep=benchmqtt.alarm_is(a.alarm))
    c = benchmqtt.subscriber(a.port, [(a.topic, 1)], events.on_message, client_id="bench-gpio")
    if c is None:
        print("gpio_lat: no SUBACK", file=sys.stderr)
        return 1
    fifo = open(a.fifo, "w", buffering=1)

    def wait_for(transition, since, timeout):
        return events.wait_for(benchmqtt.transition_is(transition), since, timeout)

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
