#!/usr/bin/python3
"""Register crossing -> HAProxy DRAIN latency, for bench/drain_latency.sh.

    drain_latency.py --port MQTT_PORT --fifo SIM_FIFO --point DEV.POINT
                     --request-topic TOPIC --haproxy-sock PATH --server BE/SRV
                     --drain-cmd "ember-drain --socket S" --site SITE
                     [--runs 100] [--high 50] [--low 25] [--out FILE]

Each run, at a random phase of the agent's poll schedule: write --high to the
point through ember-sim's control FIFO (the crossing; the time is taken just
before the write), then read `show servers state BE` on HAProxy's stats
socket every 1 ms until srv_admin_state has the drain bit (0x08).  The drain
request reaching this process's own MQTT subscriber (paho) is timed too, so
the total splits into detection (crossing -> request) and ember-drain's share
(request -> DRAIN).  All times are this process's monotonic clock.

Between runs: write --low, wait for the zone's request to go back to "none",
`ember-drain undrain SITE`, and wait for HAProxy to report the server ready.
"""
import argparse
import json
import random
import socket
import subprocess
import sys
import time

import benchmqtt
from benchmqtt import pct


def admin_state(path, backend, server):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
        s.sendall(("show servers state %s\n" % backend).encode())
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    finally:
        s.close()
    for line in buf.decode("utf-8", "replace").splitlines():
        f = line.split()
        if len(f) > 8 and f[0].isdigit() and f[3] == server:
            return int(f[6])
    return None


def summary(xs):
    return {"n": len(xs), "median_ms": round(pct(xs, 50), 2), "p99_ms": round(pct(xs, 99), 2),
            "max_ms": round(max(xs), 2), "min_ms": round(min(xs), 2),
            "samples_ms": [round(x, 2) for x in xs]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fifo", required=True)
    ap.add_argument("--point", required=True)
    ap.add_argument("--request-topic", required=True)
    ap.add_argument("--haproxy-sock", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--drain-cmd", required=True)
    ap.add_argument("--site", required=True)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--high", type=float, default=50.0)
    ap.add_argument("--low", type=float, default=25.0)
    ap.add_argument("--phase-ms", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    a = ap.parse_args()
    random.seed(a.seed)
    backend, server = a.server.split("/", 1)

    requests = benchmqtt.JsonEvents()  # the zone's drain requests
    reqs, cond = requests.events, requests.cond
    c = benchmqtt.subscriber(a.port, [(a.request_topic, 1)], requests.on_message)
    if c is None:
        print("no SUBACK from the broker", file=sys.stderr)
        return 1
    fifo = open(a.fifo, "w", buffering=1)

    def setv(v):
        fifo.write("set %s %.3f\n" % (a.point, v))

    def wait_request(kind, since, timeout):
        return requests.wait_for(lambda p: p.get("request") == kind and not p.get("test"), since,
                                 timeout)

    def wait_admin(pred, timeout, step=0.001):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = admin_state(a.haproxy_sock, backend, server)
            now = time.monotonic()
            if st is not None and pred(st):
                return now
            time.sleep(step)
        return None

    def reset():
        setv(a.low)
        deadline = time.monotonic() + 10.0
        with cond:
            # The zone's latest real request must be "none" again.
            while not reqs or reqs[-1][1].get("request") != "none":
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("the drain request did not clear")
                cond.wait(left)
        if admin_state(a.haproxy_sock, backend, server) & 0x08:
            for _ in range(50):
                r = subprocess.run(a.drain_cmd.split() + ["undrain", a.site],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                if r.returncode == 0:
                    break
                time.sleep(0.1)  # the drain condition is still clearing
            if wait_admin(lambda s: not s & 0x08, 10.0, 0.005) is None:
                raise RuntimeError("server did not return to ready after undrain")

    total, detect, drain = [], [], []
    reset()
    time.sleep(1.0)
    for i in range(a.runs):
        time.sleep(random.random() * a.phase_ms / 1000.0)
        t_cross = time.monotonic()
        setv(a.high)
        t_drain = wait_admin(lambda s: s & 0x08, 5.0)
        t_req = wait_request("drain", t_cross, 5.0)
        if t_drain is None or t_req is None:
            print("run %d: no %s within 5 s" % (i, "DRAIN" if t_drain is None else "request"),
                  file=sys.stderr)
            total.append(float("inf"))
        else:
            total.append((t_drain - t_cross) * 1000.0)
            detect.append((t_req - t_cross) * 1000.0)
            drain.append((t_drain - t_req) * 1000.0)
        reset()
    c.loop_stop()
    res = {"runs": a.runs, "crossing_to_drain": summary(total),
           "crossing_to_request": summary(detect), "request_to_drain": summary(drain)}
    print(json.dumps({k: (v if not isinstance(v, dict) else
                          {x: y for x, y in v.items() if x != "samples_ms"})
                      for k, v in res.items()}))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0 if all(x != float("inf") for x in total) else 1


if __name__ == "__main__":
    sys.exit(main())
