#!/usr/bin/python3
"""Ramp-to-alarm latency: drives a temperature ramp in ember-sim through its
control FIFO and times the alarm event at an MQTT subscriber (paho), both on
this process's monotonic clock.

    ramp.py --port MQTT_PORT --fifo SIM_FIFO --point DEV.POINT --topic EVENT_TOPIC
            --alarm NAME [--ramps 50] [--rate 10] [--setpoint 45] [--out FILE]

Each ramp holds the value at --low, then rises at --rate C/s (a "set" every
5 ms, rounded to the register's --resolution) through --setpoint to --high;
the crossing is the instant the first value at or above the setpoint was
written.  The latency is the time from that
instant to the "activated" event for --alarm.  Then the value drops back to
--reset (default: --low), the alarm clears, and the next ramp starts after
--hold plus a uniformly random part of --phase (the agent's base poll
interval), so the crossings fall at every phase of the agent's poll schedule.

Dropping straight back to --low (rather than below it and then up again)
leaves nothing for adaptive polling to react to before the next ramp: the
drop is a falling reading far below the setpoint, so the agent is back on
its base interval as soon as it has seen the alarm clear, and a short hold
is enough.  Several ramp.py runs may drive different devices of one
ember-sim at once (each line written to the FIFO is atomic).
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
    ap.add_argument("--point", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--alarm", required=True)
    ap.add_argument("--ramps", type=int, default=50)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--setpoint", type=float, default=45.0)
    ap.add_argument("--low", type=float, default=35.0)
    ap.add_argument("--high", type=float, default=50.0)
    ap.add_argument("--reset", type=float, default=None)
    ap.add_argument("--hold", type=float, default=0.3)
    ap.add_argument("--phase", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resolution", type=float, default=0.1)
    ap.add_argument("--out")
    # A peer watching the same device: collectd's value topic (payload
    # "time:value\0") and its threshold notifications (FAILURE/OKAY).
    ap.add_argument("--cd-topic")
    ap.add_argument("--cd-notify-topic")
    a = ap.parse_args()
    random.seed(a.seed)
    if a.reset is None:
        a.reset = a.low

    alarm = benchmqtt.JsonEvents(keep=benchmqtt.alarm_is(a.alarm))
    events, cond = alarm.events, alarm.cond

    peer = {"value": [], "notify": []}

    def on_message(c, u, m):
        now = time.monotonic()
        if a.cd_topic and m.topic == a.cd_topic:
            try:
                v = float(m.payload.rstrip(b"\0").split(b":")[1])
            except (ValueError, IndexError):
                return
            with cond:
                peer["value"].append((now, v >= a.setpoint - 1e-9))
            return
        if a.cd_notify_topic and m.topic == a.cd_notify_topic:
            with cond:
                peer["notify"].append((now, m.payload == b"FAILURE"))
            return
        alarm.on_message(c, u, m)

    topics = [(a.topic, 1)] + [(t, 0) for t in (a.cd_topic, a.cd_notify_topic) if t]
    c = benchmqtt.subscriber(a.port, topics, on_message)
    if c is None:
        print("no SUBACK from the broker", file=sys.stderr)
        return 1
    fifo = open(a.fifo, "w", buffering=1)

    def setv(v):
        fifo.write("set %s %.3f\n" % (a.point, v))

    def wait_for(transition, since, timeout):
        return alarm.wait_for(benchmqtt.transition_is(transition), since, timeout)

    lat = []
    peer_lat = {"value": [], "notify": []}
    setv(a.reset)
    time.sleep(1.5)
    for i in range(a.ramps):
        setv(a.low)
        # Hold long enough for the agent to be back on its base poll
        # interval, then a random phase of it.
        time.sleep(a.hold + a.phase * random.random())
        start = time.monotonic()
        crossing = None
        v = a.low
        while v < a.high:
            # Take the time before writing, so the crossing can never be
            # stamped after the agent has already seen it.
            t = time.monotonic()
            v = a.low + a.rate * (t - start)
            # Write what the device register can hold (XY-MD02: 0.1 C), so
            # the crossing is the first value the register shows at or
            # above the setpoint.
            q = min(round(v / a.resolution) * a.resolution, a.high)
            if crossing is None and q >= a.setpoint - 1e-9:
                crossing = t
            setv(q)
            time.sleep(0.005)
        got = wait_for("activated", crossing, 5.0)
        if got is None:
            print("ramp %d: no alarm within 5 s (crossing at %.3f; events %s)" % (
                i, crossing, [(round(t, 3), p.get("transition")) for t, p in events]),
                file=sys.stderr)
            lat.append(float("inf"))
        else:
            lat.append((got - crossing) * 1000.0)
        if a.cd_topic:
            # The peer reads at its own interval: wait (up to 5 s) for it.
            deadline = crossing + 5.0
            for k in ("value", "notify") if a.cd_notify_topic else ("value",):
                with cond:
                    while True:
                        hit = [t for t, st in peer[k] if t >= crossing and st]
                        if hit or time.monotonic() > deadline:
                            break
                        cond.wait(0.05)
                peer_lat[k].append((hit[0] - crossing) * 1000.0 if hit else float("inf"))
        setv(a.reset)
        if wait_for("cleared", time.monotonic() - 0.01, 10.0) is None:
            print("ramp %d: alarm did not clear" % i, file=sys.stderr)
    c.loop_stop()

    def summary(lat):
        return {"ramps": len(lat), "median_ms": benchmqtt.pct(lat, 50),
                "p99_ms": benchmqtt.pct(lat, 99), "max_ms": max(lat), "min_ms": min(lat),
                "samples_ms": [round(x, 1) for x in lat]}

    res = summary(lat)
    for k, v in peer_lat.items():
        if v:
            res["collectd_" + k] = summary(v)
    print(json.dumps(res))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
