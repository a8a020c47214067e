#!/usr/bin/python3
"""make bench, scale phases: turns one measurement window's raw samples into
a JSON record, and several windows' records into their median, min and max.

    scale_stats.py round --snap SNAP --sub SUB_LOG --status-dir D --tag TAG --run N
                         --tck CLK_TCK --devices N --registers N --out ROUND.json
    scale_stats.py summary --out PHASE.json ROUND.json...

SNAP (written by bench/run.sh) has one sample a line:
    wall  start|end  EPOCH_SECONDS
    cpu   start|end  emberd|collectd  TICKS        (one line per process)
    mem   emberd|collectd  VmRSS VmHWM RssAnon THREADS   (kB, at the end)
The emberd status documents (emberctl -j status, read after the window) are
D/TAG-N-end-K.json for process K: polls and late polls since it started.
SUB_LOG is mosquitto_sub -F '%U %t'.
"""
import argparse
import collections
import json
import os
import statistics
import sys

SYSTEMS = ("emberd", "collectd")
# The figures summarised over runs (median, min, max).
FIGURES = ("cpu_pct_of_core", "cpu_s_per_min", "rss_kb", "hwm_kb", "anon_kb", "threads",
           "values", "expected", "topics_short", "polls", "late", "failed", "bus_util_max_pct")


def bus_sum(doc, field):
    return sum(b.get(field, 0) for b in (doc or {}).get("buses", []))


def load_status(d, tag, run, when, k):
    try:
        with open(os.path.join(d, "%s-%d-%s-%d.json" % (tag, run, when, k))) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def do_round(a):
    wall = {}
    cpu = collections.defaultdict(lambda: collections.defaultdict(float))
    mem = collections.defaultdict(list)
    for line in open(a.snap):
        f = line.split()
        if not f:
            continue
        if f[0] == "wall":
            wall[f[1]] = float(f[2])
        elif f[0] == "cpu":
            cpu[f[2]][f[1]] += float(f[3])
        elif f[0] == "mem":
            mem[f[1]].append([int(x) for x in f[2:6]])
    w0, w1 = wall["start"], wall["end"]
    win = w1 - w0
    cnt = collections.Counter()
    per_topic = collections.Counter()
    for line in open(a.sub):
        f = line.split()
        if len(f) < 2:
            continue
        try:
            t = float(f[0])
        except ValueError:
            continue
        if w0 <= t < w1:
            who = "emberd" if f[1].startswith("emberwatch/") else "collectd"
            cnt[who] += 1
            per_topic[f[1]] += 1
    res = {"tag": a.tag, "run": a.run, "window_s": round(win, 2), "devices": a.devices,
           "registers": a.registers}
    for who in SYSTEMS:
        if who not in mem:
            continue
        cpu_s = (cpu[who]["end"] - cpu[who]["start"]) / a.tck
        topics = [n for t, n in per_topic.items() if t.startswith("emberwatch/") == (who == "emberd")]
        ms = mem[who]
        res[who] = {"processes": len(ms),
                    "cpu_s_per_min": round(cpu_s * 60.0 / win, 3),
                    "cpu_pct_of_core": round(100.0 * cpu_s / win, 2),
                    "rss_kb": sum(m[0] for m in ms), "hwm_kb": sum(m[1] for m in ms),
                    "anon_kb": sum(m[2] for m in ms), "threads": sum(m[3] for m in ms),
                    "hwm_kb_each": [m[1] for m in ms],
                    "values": cnt[who], "expected": int(round(a.devices * a.registers * win)),
                    "topics": len(topics),
                    "topics_short": sum(1 for n in topics if n < int(win) - 1)}
    if "emberd" in res:
        e = res["emberd"]
        st = [load_status(a.status_dir, a.tag, a.run, "end", k) for k in range(e["processes"])]
        if any(t is None for t in st):
            print("scale_stats: missing emberd status for %s run %d" % (a.tag, a.run), file=sys.stderr)
            return 1
        # Since each process started: warm-up and window together.
        for key, field in (("polls", "polls"), ("late", "late"), ("failed", "failures")):
            e[key] = int(sum(bus_sum(t, field) for t in st))
        e["bus_util_max_pct"] = round(100 * max(
            [b.get("utilisation", 0) for t in st for b in t.get("buses", [])] or [0]), 2)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    return 0


def spread(xs):
    xs = [x for x in xs if isinstance(x, (int, float))]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def do_summary(a):
    runs = []
    for p in a.rounds:
        with open(p) as f:
            runs.append(json.load(f))
    if not runs:
        return 1
    out = {"tag": runs[0]["tag"], "runs_n": len(runs), "devices": runs[0]["devices"],
           "registers": runs[0]["registers"], "window_s": spread([r["window_s"] for r in runs]),
           "runs": runs}
    for who in SYSTEMS:
        rs = [r[who] for r in runs if who in r]
        if not rs:
            continue
        out[who] = {k: spread([r.get(k) for r in rs]) for k in FIGURES if any(k in r for r in rs)}
        out[who]["processes"] = rs[0]["processes"]
    if "collectd" in out:
        # emberd / collectd within each run (same machine, same moment), then
        # their median: the figure that survives a busy machine.
        both = [r for r in runs if "emberd" in r and "collectd" in r]

        def rat(k):
            return spread([r["emberd"][k] / r["collectd"][k] for r in both if r["collectd"][k] > 0])

        out["ratio_emberd_to_collectd"] = {"cpu": rat("cpu_pct_of_core"), "hwm": rat("hwm_kb"),
                                           "anon": rat("anon_kb")}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("round")
    r.add_argument("--snap", required=True)
    r.add_argument("--sub", required=True)
    r.add_argument("--status-dir", required=True)
    r.add_argument("--tag", required=True)
    r.add_argument("--run", type=int, required=True)
    r.add_argument("--tck", type=int, required=True)
    r.add_argument("--devices", type=int, required=True)
    r.add_argument("--registers", type=int, default=20)
    r.add_argument("--out", required=True)
    s = sub.add_parser("summary")
    s.add_argument("--out", required=True)
    s.add_argument("rounds", nargs="+")
    a = ap.parse_args()
    return do_round(a) if a.cmd == "round" else do_summary(a)


if __name__ == "__main__":
    sys.exit(main())
