#!/usr/bin/python3
"""Register crossing -> drained target latency, for bench/drain_latency.sh.

    drain_latency.py --port MQTT_PORT --fifo SIM_FIFO --point DEV.POINT
                     --request-topic TOPIC --drain-cmd "ember-drain --socket S"
                     --site SITE [--haproxy-sock PATH --server BE/SRV]
                     [--dns SERVER:PORT,NAME,TYPE,ADDRESS] [--bird SOCKET,PREFIX]
                     [--runs 100] [--high 50] [--low 25] [--out FILE]

Each run, at a random phase of the agent's poll schedule: write --high to the
point through ember-sim's control FIFO (the crossing; the time is taken just
before the write), then watch every given target, each from its own thread,
until it reads drained:
  * haproxy: `show servers state BE` on the stats socket every 1 ms, until
    srv_admin_state has the drain bit (0x08);
  * dns: a query to the server (dnspython, UDP) every 1 ms, until the answer
    no longer holds ADDRESS;
  * bird: `birdc -s SOCKET show route PREFIX` on the observer, until it
    answers "Network not found".
The drain request reaching this process's own MQTT subscriber (paho) is timed
too, so each total splits into detection (crossing -> request) and
ember-drain's share (request -> target).  All times are this process's
monotonic clock.

Between runs: write --low, wait for the zone's request to go back to "none",
`ember-drain undrain SITE`, and wait until every target reads serving again.

Take-over (--kill-pidfile FILE --restart-cmd CMD --will-topic TOPIC): right
before each crossing the controller whose pid FILE holds is killed (SIGKILL,
as a fire takes its building), so the drain is carried out by its peer
alone; the time from the kill to the dead controller's Last Will (`offline`
on TOPIC) is timed too.  After each run CMD starts it again.
"""

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
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


class HAProxyProbe:
    name = "haproxy"
    what = "HAProxy DRAIN"

    def __init__(self, sock, server):
        self.sock = sock
        self.backend, self.server = server.split("/", 1)

    def drained(self):
        st = admin_state(self.sock, self.backend, self.server)
        return None if st is None else bool(st & 0x08)


class DNSProbe:
    """One UDP query per call; None when the server does not answer."""
    name = "dns"
    what = "DNS answer changed (dig's query)"

    def __init__(self, spec):
        import dns.message
        import dns.query
        import dns.rdatatype
        self.q, self.m, self.t = dns.query, dns.message, dns.rdatatype
        server, self.qname, self.qtype, self.addr = spec.split(",")
        self.host, port = server.rsplit(":", 1)
        self.port = int(port)

    def drained(self):
        msg = self.m.make_query(self.qname, self.qtype)
        msg.flags &= ~0x0100  # no recursion wanted (dig +norecurse)
        try:
            ans = self.q.udp(msg, self.host, port=self.port, timeout=0.5)
        except Exception:
            return None
        addrs = {r.to_text() for rr in ans.answer for r in rr}
        return self.addr not in addrs


class BirdProbe:
    """`birdc show route PREFIX` on the observer BIRD."""
    name = "bgp"
    what = "route gone from the observer BIRD"

    def __init__(self, spec):
        self.sock, self.prefix = spec.split(",")

    def drained(self):
        r = subprocess.run(["birdc", "-s", self.sock, "show", "route", self.prefix],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if "Network not found" in r.stdout:
            return True
        if any(l.startswith(self.prefix + " ") for l in r.stdout.splitlines()):
            return False
        return None  # no answer from BIRD


def watch(probe, want, timeout, step=0.001):
    """The monotonic time at which probe.drained() first equals want, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = probe.drained()
        now = time.monotonic()
        if v is want:
            return now
        time.sleep(step)
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
    ap.add_argument("--haproxy-sock")
    ap.add_argument("--server")
    ap.add_argument("--dns", help="SERVER:PORT,NAME,TYPE,ADDRESS")
    ap.add_argument("--bird", help="SOCKET,PREFIX (the observer)")
    ap.add_argument("--drain-cmd", required=True)
    ap.add_argument("--site", required=True)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--high", type=float, default=50.0)
    ap.add_argument("--low", type=float, default=25.0)
    ap.add_argument("--phase-ms", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    ap.add_argument("--kill-pidfile")
    ap.add_argument("--restart-cmd")
    ap.add_argument("--will-topic")
    ap.add_argument("--key-suffix", default="", help="appended to the result keys (_takeover)")
    a = ap.parse_args()
    random.seed(a.seed)
    probes = []
    if a.haproxy_sock:
        probes.append(HAProxyProbe(a.haproxy_sock, a.server))
    if a.dns:
        probes.append(DNSProbe(a.dns))
    if a.bird:
        probes.append(BirdProbe(a.bird))
    if not probes:
        print("no target to watch (--haproxy-sock, --dns, --bird)", file=sys.stderr)
        return 2

    requests = benchmqtt.JsonEvents()  # the zone's drain requests
    reqs, cond = requests.events, requests.cond
    c = benchmqtt.subscriber(a.port, [(a.request_topic, 1)], requests.on_message)
    if c is None:
        print("no SUBACK from the broker", file=sys.stderr)
        return 1
    fifo = open(a.fifo, "w", buffering=1)
    wills, will_cond = [], threading.Condition()

    def on_will(cl, u, m):
        with will_cond:
            wills.append((time.monotonic(), m.payload.decode("utf-8", "replace")))
            will_cond.notify_all()

    wc = benchmqtt.subscriber(a.port, [(a.will_topic, 1)], on_will) if a.will_topic else None

    def wait_will(since, timeout):
        deadline = time.monotonic() + timeout
        with will_cond:
            while True:
                for t, pl in wills:
                    if t >= since and pl == "offline":
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                will_cond.wait(left)

    def setv(v):
        fifo.write("set %s %.3f\n" % (a.point, v))

    def wait_request(kind, since, timeout):
        return requests.wait_for(lambda p: p.get("request") == kind and not p.get("test"), since,
                                 timeout)

    def watch_all(want, timeout, step=0.001):
        """Each probe watched from its own thread: {name: time or None}."""
        got = {}
        ts = [threading.Thread(target=lambda pr=pr: got.__setitem__(pr.name, watch(pr, want, timeout, step)))
              for pr in probes]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return got

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
        if any(pr.drained() is not False for pr in probes):
            for _ in range(50):
                r = subprocess.run(a.drain_cmd.split() + ["undrain", a.site],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                if r.returncode == 0:
                    break
                time.sleep(0.1)  # the drain condition is still clearing
            back = watch_all(False, 10.0, 0.005)
            if any(v is None for v in back.values()):
                raise RuntimeError("not serving again after undrain: %s" %
                                   ", ".join(k for k, v in back.items() if v is None))

    total = {pr.name: [] for pr in probes}
    share = {pr.name: [] for pr in probes}
    detect = []
    offline = []
    reset()
    time.sleep(1.0)
    for i in range(a.runs):
        time.sleep(random.random() * a.phase_ms / 1000.0)
        t_kill = None
        if a.kill_pidfile:
            with open(a.kill_pidfile) as f:
                os.kill(int(f.read().split()[0]), signal.SIGKILL)
            t_kill = time.monotonic()
        t_cross = time.monotonic()
        setv(a.high)
        got = watch_all(True, 5.0)
        t_req = wait_request("drain", t_cross, 5.0)
        if t_req is None:
            print("run %d: no drain request within 5 s" % i, file=sys.stderr)
        else:
            detect.append((t_req - t_cross) * 1000.0)
        for name, t in got.items():
            if t is None or t_req is None:
                if t is None:
                    print("run %d: %s not drained within 5 s" % (i, name), file=sys.stderr)
                total[name].append(float("inf"))
            else:
                total[name].append((t - t_cross) * 1000.0)
                share[name].append((t - t_req) * 1000.0)
        if t_kill is not None and wc is not None:
            t_off = wait_will(t_kill, 30.0)
            if t_off is None:
                print("run %d: no Last Will within 30 s of the kill" % i, file=sys.stderr)
                offline.append(float("inf"))
            else:
                offline.append((t_off - t_kill) * 1000.0)
        reset()
        if a.restart_cmd:
            subprocess.run(a.restart_cmd, shell=True, check=True)
    c.loop_stop()
    if wc is not None:
        wc.loop_stop()
    res = {"runs": a.runs, "crossing_to_request": summary(detect)}
    if offline:
        res["kill_to_offline"] = summary(offline)
    for pr in probes:
        # HAProxy keeps the names drain_latency.sh has always written.
        k = ("drain" if pr.name == "haproxy" else pr.name) + a.key_suffix
        res["crossing_to_" + k] = summary(total[pr.name])
        res["request_to_" + k] = summary(share[pr.name] or [float("inf")])
        res["crossing_to_" + k]["target"] = pr.what
    print(json.dumps({k: (v if not isinstance(v, dict) else
                          {x: y for x, y in v.items() if x != "samples_ms"})
                      for k, v in res.items()}))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0 if all(x != float("inf") for xs in list(total.values()) + [offline] for x in xs) else 1


if __name__ == "__main__":
    sys.exit(main())
