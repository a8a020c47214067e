#!/usr/bin/python3
"""Detection latency, side by side: steps an XY-MD02 temperature register
between 25.0 C and 51.3 C (through a 45 C high threshold, alternating up and
down) in two independent Modbus servers at once (ember-sim through its
control FIFO, pymodbus through mbserver.py's), and times, on this process's
monotonic clock, when each system under test shows the new state:

  emberd      "activated"/"cleared" event on MQTT (emberwatch/lab/det/event)
  NUT         ups.status gains/loses LB, read from upsd every 50 ms over the
              NUT network protocol (GET VAR), as upsc does
  collectd    the first value past the threshold on MQTT (mqtt plugin), and
              the threshold plugin's FAILURE/OKAY notification on MQTT
              (exec plugin -> cd-notify.sh -> mosquitto_pub)

NUT's generic_modbus has no analog thresholds (NUT issue #50): it reads a
register as a contact that is on when its low byte is 1.  51.3 C is raw 513
= 0x0201 and 25.0 C raw 250 = 0x00FA, so the very same register step is
"LB on/off" for NUT and a 45 C threshold crossing for the others.

Channels (one register each, see gen.py) run concurrently; each change is
held until every system watching that channel has seen it, then the next
one follows after a uniformly random pause of up to the slowest watcher's
poll interval, so changes fall at every phase of every poll schedule.

    detect.py --mqtt P --sim-fifo F --pym-fifo F --upsd-port P --out FILE
              [--fast 5] [--nut2 3] [--slow 20] [--n 50] [--max-seconds 150]
"""
import argparse
import json
import random
import re
import socket
import sys
import threading
import time

import benchmqtt

SERVERS = ("sim", "pym")
FAST0, NUT0, SLOW0 = 1, 11, 21
UP_C, DOWN_C = 51.3, 25.0
UP_RAW, DOWN_RAW = 513, 250

# What watches each kind of channel: (system key, poll interval for pacing).
WATCHERS = {
    "f": ["emberd", "nut-1s", "cd-1s", "cd-1s-notify"],
    "n": ["nut-2s"],
    "s": ["cd-10s", "cd-10s-notify"],
}
PAUSE = {"f": 1.0, "n": 2.0, "s": 10.0}
TIMEOUT = {"f": 6.0, "n": 8.0, "s": 30.0}

cond = threading.Condition()
obs = {}  # (system, server, channel) -> [(t, state)]
stop_all = threading.Event()


def note(key, t, state):
    with cond:
        obs.setdefault(key, []).append((t, state))
        cond.notify_all()


def on_message(c, u, m):
    now = time.monotonic()
    t = m.topic.split("/")
    try:
        if t[0] == "emberwatch":
            p = json.loads(m.payload)
            srv, ch = p["alarm"].split("-", 1)
            tr = p.get("transition")
            if tr in ("activated", "cleared"):
                note(("emberd", srv, ch), now, tr == "activated")
        elif t[0] in ("cd1", "cd10") and len(t) == 4:
            # cd1/HOST/modbus-INST/temperature-t, payload "time:value\0"
            v = float(m.payload.rstrip(b"\0").split(b":")[1])
            sysname = "cd-1s" if t[0] == "cd1" else "cd-10s"
            note((sysname, t[1], t[2].split("-", 1)[1]), now, v > 45.0)
        elif t[0] == "cdnotify" and len(t) == 4:
            sev = m.payload.decode()
            if sev in ("FAILURE", "OKAY"):
                sysname = "cd-1s-notify" if t[1] == "cd1" else "cd-10s-notify"
                note((sysname, t[2], t[3]), now, sev == "FAILURE")
    except (ValueError, KeyError, IndexError):
        pass


def nut_poller(port, upses, period=0.05):
    """Reads ups.status of every UPS from upsd every 50 ms; records changes."""
    last = {}
    s = None
    f = None
    while not stop_all.is_set():
        t_next = time.monotonic() + period
        try:
            if s is None:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
                f = s.makefile("rb")
            s.sendall(b"".join(b"GET VAR %s ups.status\n" % u.encode() for u in upses))
            for u in upses:
                line = f.readline().decode().strip()
                now = time.monotonic()
                mm = re.match(r'VAR (\S+) ups\.status "(.*)"', line)
                if not mm:
                    continue  # ERR DATA-STALE, DRIVER-NOT-CONNECTED, ...
                name, st = mm.group(1), mm.group(2)
                lb = "LB" in st.split()
                if last.get(name) != lb:
                    last[name] = lb
                    srv, kind_ch = name.split("-", 1)
                    sysname = "nut-1s" if kind_ch.startswith("f") else "nut-2s"
                    note((sysname, srv, kind_ch), now, lb)
        except OSError:
            s = None
            time.sleep(0.1)
        d = t_next - time.monotonic()
        if d > 0:
            time.sleep(d)


class Writer:
    def __init__(self, sim_fifo, pym_fifo):
        self.lock = threading.Lock()
        self.sim = open(sim_fifo, "w", buffering=1)
        self.pym = open(pym_fifo, "w", buffering=1)

    def set(self, srv, ch, slave, up):
        with self.lock:
            # Stamp before writing: the change can never be dated after a
            # reader has already seen it.
            t = time.monotonic()
            if srv == "sim":
                self.sim.write("set %s.temperature %.1f\n" % (ch, UP_C if up else DOWN_C))
            else:
                self.pym.write("set %d 1 %d\n" % (slave, UP_RAW if up else DOWN_RAW))
            return t


samples = {}  # (system, server) -> [{"ms", "dir"}]
misses = {}
counts_lock = threading.Lock()


def enough(kind, srv, n):
    """Every watcher has n changes; emberd n activations (its clears are
    quicker, so activations are reported on their own)."""
    with counts_lock:
        if any(len(samples.get((w, srv), [])) < n for w in WATCHERS[kind]):
            return False
        if "emberd" in WATCHERS[kind]:
            return sum(1 for s in samples[("emberd", srv)] if s["dir"] == "up") >= n
        return True


def channel(writer, srv, kind, idx, slave, n, rng):
    ch = "%s%d" % (kind, idx)
    up = False
    time.sleep(rng.random() * PAUSE[kind])
    while not stop_all.is_set() and not enough(kind, srv, n):
        up = not up
        t0 = writer.set(srv, ch, slave, up)
        pending = {w: 0 for w in WATCHERS[kind]}
        deadline = t0 + TIMEOUT[kind]
        with cond:
            while pending and not stop_all.is_set():
                for w in list(pending):
                    lst = obs.get((w, srv, ch), [])
                    for k in range(pending[w], len(lst)):
                        t, st = lst[k]
                        if t >= t0 and st == up:
                            with counts_lock:
                                samples.setdefault((w, srv), []).append(
                                    {"ms": round((t - t0) * 1000.0, 2), "dir": "up" if up else "down"})
                            del pending[w]
                            break
                    else:
                        pending[w] = len(lst)
                left = deadline - time.monotonic()
                if not pending or left <= 0:
                    break
                cond.wait(min(left, 0.5))
        for w in pending:
            with counts_lock:
                misses[(w, srv)] = misses.get((w, srv), 0) + 1
            print("detect: %s %s/%s: no %s within %.0f s" % (w, srv, ch, "up" if up else "down",
                                                              TIMEOUT[kind]), file=sys.stderr)
        time.sleep(rng.random() * PAUSE[kind])
    # Leave the register low, so a stopped channel raises nothing.
    if up:
        writer.set(srv, ch, slave, False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mqtt", type=int, required=True)
    ap.add_argument("--sim-fifo", required=True)
    ap.add_argument("--pym-fifo", required=True)
    ap.add_argument("--upsd-port", type=int, required=True)
    ap.add_argument("--fast", type=int, default=5)
    ap.add_argument("--nut2", type=int, default=3)
    ap.add_argument("--slow", type=int, default=20)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--max-seconds", type=float, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    c = benchmqtt.subscriber(
        a.mqtt, [("emberwatch/lab/det/event", 1), ("cd1/#", 0), ("cd10/#", 0), ("cdnotify/#", 0)],
        on_message, client_id="bench-detect")
    if c is None:
        print("detect: no SUBACK", file=sys.stderr)
        return 1

    upses = ["%s-f%d" % (s, i) for s in SERVERS for i in range(1, a.fast + 1)] + \
            ["%s-n%d" % (s, i) for s in SERVERS for i in range(1, a.nut2 + 1)]
    threading.Thread(target=nut_poller, args=(a.upsd_port, upses), daemon=True).start()

    # Every system must have read the low state once before the first change.
    need = [("emberd", None)] + [(w, (s, "%s%d" % (k, i)))
                                 for s in SERVERS
                                 for k, cnt in (("f", a.fast), ("n", a.nut2), ("s", a.slow))
                                 for i in range(1, cnt + 1)
                                 for w in WATCHERS[k] if w not in ("emberd",) and "notify" not in w]
    deadline = time.monotonic() + 30
    with cond:
        while time.monotonic() < deadline:
            missing = [x for x in need[1:] if not obs.get((x[0],) + x[1])]
            if not missing:
                break
            cond.wait(0.5)
    if missing:
        print("detect: never read: %s" % missing[:5], file=sys.stderr)
        return 1

    writer = Writer(a.sim_fifo, a.pym_fifo)
    threads = []
    rng0 = random.Random(a.seed)
    t_start = time.monotonic()
    for s in SERVERS:
        for kind, cnt, base in (("f", a.fast, FAST0), ("n", a.nut2, NUT0), ("s", a.slow, SLOW0)):
            for i in range(1, cnt + 1):
                th = threading.Thread(target=channel, daemon=True,
                                      args=(writer, s, kind, i, base + i - 1, a.n,
                                            random.Random(rng0.random())))
                th.start()
                threads.append(th)
    end = t_start + a.max_seconds
    for th in threads:
        th.join(max(0.0, end - time.monotonic()))
    stop_all.set()
    for th in threads:
        th.join(5)
    c.loop_stop()
    res = {"seconds": round(time.monotonic() - t_start, 1), "systems": {}}
    for (w, s), lst in sorted(samples.items()):
        res["systems"].setdefault(w, {})[s] = {"samples": lst, "missed": misses.get((w, s), 0)}
    for (w, s), m in misses.items():
        res["systems"].setdefault(w, {}).setdefault(s, {"samples": [], "missed": m})
    with open(a.out, "w") as f:
        json.dump(res, f)
    print("detect: %.0f s, %s" % (res["seconds"], ", ".join(
        "%s/%s %d" % (w, s, len(lst)) for (w, s), lst in sorted(samples.items()))), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
