#!/usr/bin/python3
"""make bench report: merges the per-phase results bench/run.sh wrote, prints
the table (every emberd figure next to the peers' figures from the same run,
with ratios), writes build/bench/results.json and plots the latency
distributions into build/bench/latency.png with gnuplot.

    report.py --dir RESULTS_DIR --out build/bench --seconds RUN_TIME
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time


def load(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def pct(xs, p):
    s = sorted(xs)
    if not s:
        return None
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def stats(xs):
    fin = [x for x in xs if x is not None and math.isfinite(x)]
    if not fin:
        return {"n": len(xs), "missed": len(xs)}
    return {"n": len(fin), "missed": len(xs) - len(fin), "median_ms": round(pct(fin, 50), 2),
            "p90_ms": round(pct(fin, 90), 2), "p99_ms": round(pct(fin, 99), 2),
            "max_ms": round(max(fin), 2), "min_ms": round(min(fin), 2)}


def f1(x, w=8, d=1):
    return ("%*.*f" % (w, d, x)) if isinstance(x, (int, float)) and math.isfinite(x) else "%*s" % (w, "-")


def ratio(peer, ours):
    if not isinstance(peer, (int, float)) or not isinstance(ours, (int, float)) or ours <= 0:
        return "-"
    return "%.1fx" % (peer / ours)


def pkg_version(p):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True,
                              text=True, timeout=5).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def emberd_version():
    exe = os.path.join(os.environ.get("EMBER_BIN", "build"), "emberd")
    try:
        out = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=5)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "emberd ?"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def clean(o):
    """JSON without Infinity/NaN."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: clean(v) for k, v in o.items()}
    if isinstance(o, list):
        return [clean(v) for v in o]
    return o


SERVER_NAME = {"sim": "ember-sim", "pym": "pymodbus"}
DET_ROWS = [
    ("emberd", "emberd", "1 s (default; adaptive)"),
    ("nut-2s", "NUT generic_modbus+upsd", "pollinterval 2 s (default)"),
    ("nut-1s", "NUT generic_modbus+upsd", "pollinterval 1 s"),
    ("cd-10s", "collectd modbus+thr+mqtt", "Interval 10 s (default): value"),
    ("cd-10s-notify", "collectd modbus+thr+mqtt", "Interval 10 s: threshold notif."),
    ("cd-1s", "collectd modbus+thr+mqtt", "Interval 1 s: value"),
    ("cd-1s-notify", "collectd modbus+thr+mqtt", "Interval 1 s: threshold notif."),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=int, default=0)
    a = ap.parse_args()
    d = a.dir
    res = {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release()},
           "peers": {"nut": pkg_version("nut-server"), "nut-modbus": pkg_version("nut-modbus"),
                     "collectd": pkg_version("collectd-core"), "mosquitto": pkg_version("mosquitto"),
                     "pymodbus": pkg_version("python3-pymodbus")},
           "run_seconds": a.seconds, "emberd": emberd_version()}
    L = []
    p = L.append
    W = 118
    p("=" * W)
    p("emberwatch make bench: one run, loopback, peers from Debian (NUT %s, collectd %s, mosquitto %s)"
      % (res["peers"]["nut"], res["peers"]["collectd"], res["peers"]["mosquitto"]))
    p("emberd: %s; machine: %s, %d cores, Linux %s; total run time %d s" % (
        emberd_version(),
        res["machine"]["cpu"], res["machine"]["cores"], res["machine"]["kernel"], a.seconds))
    p("ratios are peer / emberd (>1: emberd is faster / smaller); n = changes timed, miss = not seen in time")
    p("=" * W)
    plots = []  # (title, samples)

    # ---- 1. detection ------------------------------------------------------
    det = load(d, "detect.json")
    p("")
    p("1. Detection latency: XY-MD02 temperature register stepped 25.0 <-> 51.3 C through a 45 C")
    p("   threshold (alternating up/down) -> alarm at the consumer, ms.  Consumers: emberd event on MQTT;")
    p("   NUT ups.status read from upsd every 50 ms; collectd value / threshold notification on MQTT.")
    hdr = "   %-25s %-31s %-9s %4s %4s %8s %8s %8s %8s  %s" % (
        "system", "setting", "server", "n", "miss", "median", "p90", "p99", "max", "vs emberd activations")
    res["detection"] = {}
    if det is None:
        p("   not measured (detect phase failed)")
    else:
        p(hdr)
        sysd = det["systems"]
        for srv in ("sim", "pym"):
            base = None
            for key, name, setting in DET_ROWS:
                e = sysd.get(key, {}).get(srv)
                if e is None:
                    continue
                xs = [s["ms"] for s in e["samples"]]
                st = stats(xs)
                st["missed"] = e.get("missed", 0)
                res["detection"].setdefault(key, {})[SERVER_NAME[srv]] = dict(
                    st, samples_ms=xs, directions=[s["dir"] for s in e["samples"]], setting=setting)
                if key == "emberd":
                    # Ratios are against emberd's activations only: its clears
                    # are faster (alert polling), which would flatter it.
                    base = stats([x["ms"] for x in e["samples"] if x["dir"] == "up"])
                rr = "" if key == "emberd" else "%s / %s" % (
                    ratio(st.get("median_ms"), base and base.get("median_ms")),
                    ratio(st.get("p99_ms"), base and base.get("p99_ms")))
                p("   %-25s %-31s %-9s %4d %4d %s %s %s %s  %s" % (
                    name, setting, SERVER_NAME[srv], st["n"], st["missed"], f1(st.get("median_ms")),
                    f1(st.get("p90_ms")), f1(st.get("p99_ms")), f1(st.get("max_ms")), rr))
                if key == "emberd":
                    for dirn, label in (("up", "  activations (steps up)"),
                                        ("down", "  clears (steps down)")):
                        ys = [s["ms"] for s in e["samples"] if s["dir"] == dirn]
                        sd = stats(ys)
                        res["detection"]["emberd"][SERVER_NAME[srv]][dirn] = sd
                        p("   %-25s %-31s %-9s %4d %4s %s %s %s %s" % (
                            "", label, SERVER_NAME[srv], sd["n"], "", f1(sd.get("median_ms")),
                            f1(sd.get("p90_ms")), f1(sd.get("p99_ms")), f1(sd.get("max_ms"))))
            p("")
        # For the plot: both servers together.
        for key, name, setting in DET_ROWS:
            smp = [s for srv in ("sim", "pym") for s in sysd.get(key, {}).get(srv, {}).get("samples", [])]
            if not smp or "notify" in key:
                continue
            if key == "emberd":
                for dirn, what in (("up", "activations"), ("down", "clears")):
                    plots.append(("step: emberd 1 s (default), %s" % what,
                                  [s["ms"] for s in smp if s["dir"] == dirn]))
            else:
                plots.append(("step: %s, %s" % (name.split()[0], setting.split(":")[0]), [s["ms"] for s in smp]))
        est = load(d, "detect-emberd-status.json")
        if est:
            polls = sum(b.get("polls", 0) for b in est.get("buses", []))
            alert = sum(b.get("alert_polls", 0) for b in est.get("buses", []))
            late = sum(b.get("late", 0) for b in est.get("buses", []))
            res["detection"]["emberd_polls"] = {"polls": polls, "alert_polls": alert, "late": late}
            p("   emberd polled %d times in this phase, %d of them alert polls (adaptive), %d late." % (
                polls, alert, late))
        p("   emberd clears are fast because a value above the setpoint keeps its device on 100 ms alert")
        p("   polling (adaptive); activations from a normal reading wait for the next 1 s poll.")
        p("   NUT has no analog thresholds (issue #50): generic_modbus sees the same register as a contact")
        p("   (on when its low byte is 1: raw 513 = 0x0201 is LB, raw 250 = 0x00FA is not).")

    # ---- 2. ramp -------------------------------------------------------------
    ra = load(d, "ramp-adaptive.json")
    rf = load(d, "ramp-fixed.json")
    p("")
    p("2. Ramp 10 C/s through a 45 C high alarm (first register value >= 45 -> alarm at the consumer), ms")
    p("   %-25s %-31s %4s %4s %8s %8s %8s  %s" % ("system", "setting", "n", "miss", "median", "p99", "max",
                                                "vs emberd adaptive med/p99"))
    res["ramp"] = {}
    rows = []
    if ra:
        rows.append(("emberd", "1 s base, adaptive (default)", ra, "adaptive"))
    if rf:
        rows.append(("emberd", "1 s, adaptive = no", rf, "fixed"))
    if ra and ra.get("collectd_value"):
        rows.append(("collectd", "Interval 1 s: value", ra["collectd_value"], "collectd_value"))
    if ra and ra.get("collectd_notify"):
        rows.append(("collectd", "Interval 1 s: threshold notif.", ra["collectd_notify"], "collectd_notify"))
    base = stats(ra["samples_ms"]) if ra else None
    for name, setting, r, key in rows:
        st = stats(r["samples_ms"])
        res["ramp"][key] = dict(st, samples_ms=r["samples_ms"])
        rr = "" if key == "adaptive" else "%s / %s" % (
            ratio(st.get("median_ms"), base and base.get("median_ms")),
            ratio(st.get("p99_ms"), base and base.get("p99_ms")))
        p("   %-25s %-31s %4d %4d %s %s %s  %s" % (name, setting, st["n"], st["missed"],
                                                 f1(st.get("median_ms")), f1(st.get("p99_ms")),
                                                 f1(st.get("max_ms")), rr))
        plots.append(("ramp: %s, %s" % (name, setting.split(" (")[0]),
                      [x for x in r["samples_ms"] if x is not None and math.isfinite(x)]))
    if not rows:
        p("   not measured")
    p("   %-25s %-31s  n/a: no analog thresholds" % ("NUT generic_modbus+upsd", "any"))

    # ---- 3. GPIO -------------------------------------------------------------
    g = load(d, "gp.json")
    fs = (load(d, "gpio-fs.json") or {}).get("journal_fs", "?")
    p("")
    p("3. GPIO contact edge -> contact alarm event at an MQTT subscriber (simulated GPIO backend), ms")
    res["gpio"] = {}
    if g:
        p("   %-25s %-38s %4s %4s %8s %8s %8s %8s" % ("system", "setting", "n", "miss", "median", "p90",
                                                    "p99", "max"))
        for key, fname, setting in (("disk", "gp.json", "journal on %s (as shipped)" % fs),
                                    ("tmpfs", "gp-tmpfs.json", "journal on tmpfs (no fsync cost)")):
            r = load(d, fname)
            if not r:
                continue
            st = stats(r["samples_ms"])
            st["missed"] = r.get("missed", 0)
            res["gpio"][key] = dict(st, samples_ms=r["samples_ms"], setting=setting)
            p("   %-25s %-38s %4d %4d %s %s %s %s" % ("emberd, debounce 20 ms", setting, st["n"], st["missed"],
                                                  f1(st.get("median_ms"), 8, 2), f1(st.get("p90_ms"), 8, 2),
                                                  f1(st.get("p99_ms"), 8, 2), f1(st.get("max_ms"), 8, 2)))
            plots.append(("GPIO edge: emberd, %s" % setting.replace(" (as shipped)", ""), r["samples_ms"]))
        p("   emberd commits every event to its SQLite journal (synchronous=FULL: an fsync) before it publishes")
        p("   it; the tmpfs row shows what that fsync costs.  emberd sets TCP_NODELAY on its MQTT socket, so")
        p("   an event never waits behind the broker's delayed ACK of the previous telemetry message.")
    else:
        p("   not measured")
    p("   %-25s %-38s  n/a: no GPIO contact input (PEERS.md)" % ("NUT / collectd", ""))

    # ---- 4. scale ------------------------------------------------------------
    sc = load(d, "scale.json")
    s10 = load(d, "scale10k.json")
    res["scale"] = sc
    res["scale10k"] = s10
    why = {k: v["not_measured"] for k, v in (("scale", sc), ("scale10k", s10)) if v and "not_measured" in v}
    sc = None if "scale" in why else sc
    s10 = None if "scale10k" in why else s10
    p("")
    p("4. Scale: Modbus TCP devices x 20 int16 input registers at 1 Hz, every value to MQTT; one emberd process"
      " unless marked")

    def mb(x):
        return x / 1024.0

    def spread(v, conv=lambda x: x, fmt="%.1f"):
        """'median (min-max)' of a summary figure."""
        if not v:
            return "-"
        if v["min"] == v["max"]:
            return fmt % conv(v["median"])
        return (fmt + " (" + fmt + "-" + fmt + ")") % (conv(v["median"]), conv(v["min"]), conv(v["max"]))

    def scale_rows(ph, label):
        p("   %d points (%d devices x %d registers), %s" % (
            ph["devices"] * ph["registers"], ph["devices"], ph["registers"], label))
        p("   %d run(s) of %s s, each with freshly started processes; median (min-max) over the runs" % (
            ph["runs_n"], spread(ph["window_s"], fmt="%.0f")))
        p("   %-20s %-19s %-22s %-22s %-17s %-17s %s" % (
            "system", "CPU % of a core", "peak RSS MB (VmHWM)", "anon MB (RssAnon)", "late polls",
            "values recv/exp", "threads"))
        for who in ("emberd", "collectd"):
            x = ph.get(who)
            if not x:
                continue
            name = "emberd" if who == "emberd" else "collectd %s" % res["peers"]["collectd"].split("-")[0]
            if x.get("processes", 1) > 1:
                name += " (%d procs)" % x["processes"]
            late = "-"
            if "late" in x:
                late = "%d of %d" % (x["late"]["median"], x["polls"]["median"])
                if x["late"]["max"] != x["late"]["median"]:
                    late += " (max %d)" % x["late"]["max"]
            elif "topics_short" in x:
                late = "%d short" % x["topics_short"]["median"]
            p("   %-20s %-19s %-22s %-22s %-17s %-17s %s" % (
                name, spread(x["cpu_pct_of_core"], fmt="%.2f"), spread(x["hwm_kb"], mb),
                spread(x["anon_kb"], mb), late,
                "%d/%d" % (x["values"]["median"], x["expected"]["median"]), spread(x["threads"], fmt="%d")))
        r = ph.get("ratio_emberd_to_collectd")
        if r:
            p("   %-20s %-19s %-22s %-22s" % ("emberd / collectd", spread(r["cpu"], fmt="%.2f"),
                                             spread(r["hwm"], fmt="%.2f"), spread(r["anon"], fmt="%.2f")))
            p("   (ratios are taken within each run, both systems side by side on the same machine, then"
              " their median)")

    if sc:
        scale_rows(sc, "4 endpoints, beside collectd (modbus + mqtt, Interval 1 s)")
        p("   emberd: late = polls started > max(10% of interval, 5 ms) after due, of all its polls since it"
          " started (emberctl status,")
        p("   read after the window: its answer lists every sensor and would count in the figures above).")
        p("   collectd: 'short' = value topics with fewer than window-1 values in the window; one request per"
          " register (2,000/s) vs emberd one per device (100/s).")
        p("   RSS counts shared library pages; anon (RssAnon) is the process's own heap, stacks and"
          " relocated data.")
    else:
        p("   2,000 points: not measured%s" % (": " + why["scale"] if "scale" in why else ""))
    p("")
    if s10:
        scale_rows(s10, "10 endpoints, emberd alone")
    else:
        p("   10,000 points: not measured%s" % (": " + why["scale10k"] if "scale10k" in why else ""))

    # ---- 5. drain ------------------------------------------------------------
    dr = load(d, "drain.json")
    ds = load(d, "drain-status.json") or {}
    p("")
    p("5. Drain latency (ember-drain: drain request on MQTT -> HAProxy server in DRAIN), ms")
    if dr:
        res["drain"] = dr
        parts = [(k, v) for k, v in dr.items() if isinstance(v, dict) and "median_ms" in v]
        if "median_ms" in dr:
            parts.insert(0, ("drain", dr))
        p("   %-25s %-31s %4s %8s %8s %8s  (build/bench/drain.json, from bench/drain_latency.sh)" % (
            "system", "interval", "n", "median", "p99", "max"))
        for k, v in parts:
            p("   %-25s %-31s %4s %s %s %s" % ("ember-drain + emberd", k.replace("_", " "), v.get("n", "?"),
                                            f1(v.get("median_ms")), f1(v.get("p99_ms")), f1(v.get("max_ms"))))
            if isinstance(v.get("samples_ms"), list) and k.startswith("crossing_to_drain"):
                plots.append(("drain: emberd + ember-drain, crossing -> HAProxy DRAIN", v["samples_ms"]))
        if not parts:
            p("   build/bench/drain.json has no median_ms/p99_ms figures")
    else:
        res["drain"] = {"status": ds.get("status", "not measured (ember-drain missing)")}
        p("   %s" % ds.get("status", "not measured (ember-drain missing)"))
    p("   %-25s n/a: no peer drains traffic (PEERS.md)" % "NUT / collectd")

    # ---- 5b. drain to DNS and BGP; 5c. take-over by a peer controller --------
    def drain_section(name, mode, title, keys, plot_label):
        """One drain_latency.sh MODE result: its rows, its plotted samples."""
        r = load(d, name + ".json")
        st = load(d, name + "-status.json") or {}
        p("")
        p(title)
        if not r:
            res[name] = {"status": st.get("status", "not measured")}
            p("   %s" % st.get("status", "not measured"))
            return r
        res[name] = r
        p("   %-25s %-31s %4s %8s %8s %8s  (build/bench/%s.json, bench/drain_latency.sh %s)" % (
            "system", "interval", "n", "median", "p99", "max", name, mode))
        for k in keys:
            v = r.get(k)
            if not isinstance(v, dict):
                continue
            p("   %-25s %-31s %4s %s %s %s" % ("ember-drain + emberd", k.replace("_", " "), v.get("n", "?"),
                                            f1(v.get("median_ms")), f1(v.get("p99_ms")), f1(v.get("max_ms"))))
            label = plot_label(k, v)
            if isinstance(v.get("samples_ms"), list) and label:
                plots.append((label, v["samples_ms"]))
        return r

    dd = drain_section(
        "drain_dnsbgp", "dnsbgp",
        "5b. Drain to DNS and BGP: register crossing -> DNS answer changed / route gone at the observer BIRD, ms",
        ("crossing_to_request", "crossing_to_dns", "request_to_dns", "crossing_to_bgp", "request_to_bgp"),
        lambda k, v: ("drain: emberd + ember-drain, crossing -> %s" % v.get("target", k)
                      if k in ("crossing_to_dns", "crossing_to_bgp") else None))
    dt = drain_section(
        "drain_takeover", "takeover",
        "5c. Redundant controllers: c1 killed -9 at the crossing -> HAProxy DRAIN by c2 alone, ms",
        ("crossing_to_request", "crossing_to_drain_takeover", "request_to_drain_takeover", "kill_to_offline"),
        lambda k, v: ("drain: c1 killed, crossing -> HAProxy DRAIN by c2"
                      if k == "crossing_to_drain_takeover" else None))

    # ---- 6. replay -----------------------------------------------------------
    rp = load(d, "replay.json")
    p("")
    p("6. Journal replay: 10,000 alarm events queued during a broker outage -> QoS 1 subscriber")
    res["replay"] = rp
    if rp and rp.get("events_per_s"):
        p("   %-25s %d events journaled, %d distinct delivered in %.2f s from reconnect: %.0f events/s"
          " (%d duplicates)" % ("emberd", rp["journaled"], rp["received_distinct"], rp["seconds"],
                                rp["events_per_s"], rp["duplicates"]))
    elif rp:
        p("   emberd: only %d of %d events delivered" % (rp.get("received_distinct", 0), rp["events"]))
    else:
        p("   not measured")
    p("   %-25s n/a: collectd keeps no offline queue (drops at QoS 1, #2724); NUT has no MQTT"
      % "NUT / collectd")

    # ---- 7. footprint ----------------------------------------------------------
    fp = load(d, "footprint.json") or {}
    rss = load(d, "detect-rss.json") or {}
    res["footprint"] = {"sizes_bytes": fp, "detect_phase_peak_kb": rss}
    p("")
    p("7. Footprint")

    def size_line(name, key):
        v = fp.get(key)
        if v:
            p("   %-25s %9.1f kB unstripped %9.1f kB stripped" % (name, v[0] / 1024.0, v[1] / 1024.0))

    size_line("emberd", "emberd")
    if fp.get("ember-drain"):
        size_line("ember-drain", "ember-drain")
    else:
        p("   %-25s not built (build/ember-drain missing)" % "ember-drain")
    size_line("NUT generic_modbus", "generic_modbus")
    size_line("NUT upsd", "upsd")
    size_line("collectd", "collectd")
    if fp.get("collectd_plugins"):
        p("   %-25s %9.1f kB (modbus.so + mqtt.so + threshold.so, Debian-stripped)" % (
            "collectd plugins", fp["collectd_plugins"][0] / 1024.0))
    idle = fp.get("idle_rss_kb", [0, 0, 0])
    p("   RSS is VmRSS/VmHWM and counts shared library pages; 'anon' (RssAnon) is the process's own heap/stack.")
    p("   %-42s %6.1f MB RSS, %6.1f MB peak, %5.1f MB anon" % (
        "emberd idle (1 XY-MD02 at 1 s)", idle[0] / 1024.0, idle[1] / 1024.0, (idle[2:] or [0])[0] / 1024.0))
    if rss and "emberd" in rss:
        nd, up = rss["nut_driver"], rss["upsd"]
        for name, hwm, anon in (
                ("emberd, detect phase (10 devices)", rss["emberd"]["hwm_kb"], rss["emberd"]["anon_kb"]),
                ("NUT one driver + upsd, detect phase", nd["hwm_kb"] + up["hwm_kb"], nd["anon_kb"] + up["anon_kb"]),
                ("collectd Interval 1 s, detect phase", rss["collectd"]["hwm_kb"], rss["collectd"]["anon_kb"])):
            p("   %-42s %6.1f MB peak, %5.1f MB anon%s" % (
                name, hwm / 1024.0, anon / 1024.0,
                "" if name.startswith("emberd") else "   (%s / %s of emberd's)" % (
                    ratio(hwm, rss["emberd"]["hwm_kb"]), ratio(anon, rss["emberd"]["anon_kb"]))))
        p("   (NUT runs one driver per device: %d drivers in this phase)" % rss.get("nut_drivers", 0))
    if sc:
        p("   %-42s %6.1f MB peak, %5.1f MB anon | collectd %.1f MB peak, %.1f MB anon (medians)" % (
            "under the 2,000-point scale load", sc["emberd"]["hwm_kb"]["median"] / 1024.0,
            sc["emberd"]["anon_kb"]["median"] / 1024.0, sc["collectd"]["hwm_kb"]["median"] / 1024.0,
            sc["collectd"]["anon_kb"]["median"] / 1024.0))
    if s10:
        p("   %-42s %6.1f MB peak, %5.1f MB anon (medians)" % (
            "under the 10,000-point scale load", s10["emberd"]["hwm_kb"]["median"] / 1024.0,
            s10["emberd"]["anon_kb"]["median"] / 1024.0))
    if ds.get("hwm_kb"):
        p("   %-42s %6.1f MB RSS first seen, %6.1f MB peak" % (
            "ember-drain, during drain_latency.sh", ds["rss_kb"] / 1024.0, ds["hwm_kb"] / 1024.0))
    else:
        p("   %-42s not measured (ember-drain did not run)" % "ember-drain")

    # ---- 8. the NOC console ------------------------------------------------------
    cs = load(d, "console.json")
    res["console"] = cs
    p("")
    p("8. NOC console (agent/console) in Debian's chromium, headless: a fleet of 100 agents x 20 sensors at 1 Hz")
    p("   (2,000 messages/s) + 5 alarm transitions/s on mosquitto, the page on its websockets listener;")
    p("   no peer has a console for battery rooms to compare with")
    if cs and cs.get("per_minute"):
        p("   %-8s %9s %9s %7s %10s %10s %9s" % ("minute", "busy %", "script %", "fps", "heap MB", "after GC", "DOM nodes"))
        for m in cs["per_minute"]:
            p("   %-8d %9.1f %9.1f %7.1f %10.1f %10s %9d" % (
                m["minute"], m["busy_pct"], m["script_pct"], m["fps"], m["heap_mb"],
                "%.1f" % m["heap_gc_mb"] if m.get("heap_gc_mb") is not None else "", m.get("dom_nodes") or 0))
        idl, cf, bp = cs["input_delay_ms"], cs["click_to_frame_ms"], cs["broker_to_page_ms"]
        p("   main thread busy (median of minutes) %.1f %% (max %.1f %%); frames %.1f/s (min %.1f)" % (
            cs["busy_pct_median"], cs["busy_pct_max"], cs["fps_median"], cs["fps_min"]))
        p("   input delay (a click every 5 s, %d clicks): median %s, p99 %s, max %s ms; click to next frame p99 %s ms" % (
            idl["n"], f1(idl["p50"]).strip(), f1(idl["p99"]).strip(), f1(idl["max"]).strip(), f1(cf["p99"]).strip()))
        p("   broker -> page: a probe alarm every 5 s, from its delivery to a TCP subscriber (mosquitto_sub) to the")
        p("      first frame showing its row, %d probes (%d not seen): median %s, p99 %s, max %s ms" % (
            bp["n"], bp["missed"], f1(bp["p50"]).strip(), f1(bp["p99"]).strip(), f1(bp["max"]).strip()))
        for k, what in (("publish_to_tcp_subscriber_ms", "the load's publish -> TCP subscriber"),
                        ("publish_to_websocket_event_ms", "the load's publish -> the page's websocket event"),
                        ("websocket_event_to_frame_ms", "the page's websocket event -> the frame showing it")):
            v = cs.get(k)
            if v:
                p("      %-50s median %s, p99 %s ms" % (what, f1(v["p50"]).strip(), f1(v["p99"]).strip()))
        hg = cs["heap_gc_mb"]
        p("   JS heap after GC: %s MB at minute %s, %s MB at minute %s: %+.1f %%" % (
            hg[min(hg, key=int)], min(hg, key=int), hg[max(hg, key=int)], max(hg, key=int), cs["heap_growth_pct"]))
        if cs.get("page_errors"):
            p("   page errors: %s" % "; ".join(cs["page_errors"]))
    else:
        p("   not measured (bench/console_scale.sh failed or did not run)")

    # ---- 9. broker failover ------------------------------------------------------
    fo = load(d, "failover.json")
    p("")
    p("9. Broker failover: emberd with [mqtt] host listing 3 mosquitto brokers; the one it is on killed -9,")
    p("   then restarted: the kill -> emberd's \"online\" at a subscriber of the broker it moved to, ms")
    if fo and fo.get("switch_ms"):
        st = stats(fo["switch_ms"])
        res["failover"] = {"kills": fo["kills"], "switch_ms": st}
        p("   %d kills: median %s, p90 %s, p99 %s, max %s" % (
            len(fo["switch_ms"]), f1(st["median_ms"]).strip(), f1(st["p90_ms"]).strip(),
            f1(st["p99_ms"]).strip(), f1(st["max_ms"]).strip()))
        p("   (a closed connection gets one retry on the same broker, reconnect_min = 100 ms, then the next;")
        p("   a frozen broker is found by the keepalive instead: test_failover)")
    else:
        p("   not measured")
    fr = load(d, "failover_rmq.json")
    p("   on a 3-node RabbitMQ cluster (MQTT plugin): the node emberd is on killed -9, restarted after each")
    if fr and fr.get("switch_ms"):
        st = stats(fr["switch_ms"])
        res["failover_rmq"] = {"kills": fr["kills"], "rabbitmq": fr.get("rabbitmq"), "switch_ms": st}
        p("   RabbitMQ %s, %d kills: median %s, p90 %s, p99 %s, max %s" % (
            fr.get("rabbitmq", "?"), len(fr["switch_ms"]), f1(st["median_ms"]).strip(),
            f1(st["p90_ms"]).strip(), f1(st["p99_ms"]).strip(), f1(st["max_ms"]).strip()))
    else:
        p("   not measured")

    # ---- targets -------------------------------------------------------------
    p("")
    p("Targets (reported, not asserted)")
    tg = []

    def target(what, ok, detail):
        tg.append({"target": what, "met": ok, "measured": detail})
        p("   [%s] %-58s %s" % ("PASS" if ok else "MISS" if ok is not None else " -- ", what, detail))

    if det:
        peers = ("nut-1s", "nut-2s", "cd-1s", "cd-10s", "cd-1s-notify", "cd-10s-notify")
        for srv in ("ember-sim", "pymodbus"):
            e = res["detection"].get("emberd", {}).get(srv)
            if e and e.get("up", {}).get("p99_ms") is not None:
                up = e["up"]
                target("step: p99 within one poll interval + 5 ms (%s)" % srv, up["p99_ms"] <= 1005,
                       "activations p99 %.1f ms (all changes %.1f ms)" % (up["p99_ms"], e["p99_ms"]))
                best = min((res["detection"].get(k, {}).get(srv, {}).get("p99_ms") or 1e12) for k in peers)
                bestm = min((res["detection"].get(k, {}).get(srv, {}).get("median_ms") or 1e12) for k in peers)
                target("step: at least matching the best peer (%s)" % srv,
                       up["p99_ms"] <= best and up["median_ms"] <= bestm,
                       "emberd activations median/p99 %.1f/%.1f vs best peer %.1f/%.1f" % (
                           up["median_ms"], up["p99_ms"], bestm, best))
    if res["ramp"].get("adaptive"):
        r = res["ramp"]["adaptive"]
        target("10 C/s ramp: p99 within 150 ms", r.get("p99_ms", 1e9) <= 150, "p99 %.1f ms" % r.get("p99_ms", -1))
        cv = res["ramp"].get("collectd_value")
        if cv:
            target("ramp: at least matching collectd (Interval 1 s)",
                   r.get("p99_ms", 1e9) <= cv.get("p99_ms", 0) and r.get("median_ms", 1e9) <= cv.get("median_ms", 0),
                   "emberd %.1f/%.1f vs collectd %.1f/%.1f (median/p99)" % (
                       r["median_ms"], r["p99_ms"], cv["median_ms"], cv["p99_ms"]))
    for key, label in (("disk", "as shipped"), ("tmpfs", "journal on tmpfs")):
        r = res["gpio"].get(key)
        if r and r.get("p99_ms") is not None:
            target("GPIO edge to subscriber: p99 under 5 ms (%s)" % label, r["p99_ms"] < 5.0,
                   "p99 %.2f ms, median %.2f ms" % (r["p99_ms"], r["median_ms"]))
    if sc and sc.get("ratio_emberd_to_collectd"):
        e, c, r = sc["emberd"], sc["collectd"], sc["ratio_emberd_to_collectd"]
        target("scale 2k: emberd anon memory <= collectd's", r["anon"]["median"] <= 1.0,
               "RssAnon %.1f vs %.1f MB (median of %d runs), ratio %.2f" % (
                   mb(e["anon_kb"]["median"]), mb(c["anon_kb"]["median"]), sc["runs_n"], r["anon"]["median"]))
        target("scale 2k: emberd peak RSS within 10% of collectd's", r["hwm"]["median"] <= 1.10,
               "VmHWM %.1f vs %.1f MB, ratio %.2f" % (
                   mb(e["hwm_kb"]["median"]), mb(c["hwm_kb"]["median"]), r["hwm"]["median"]))
        target("scale 2k: emberd CPU <= 1/4 of collectd's (same run)", r["cpu"]["median"] <= 0.25,
               "%.2f %% vs %.2f %% of a core, ratio %.2f (runs %.2f-%.2f)" % (
                   e["cpu_pct_of_core"]["median"], c["cpu_pct_of_core"]["median"], r["cpu"]["median"],
                   r["cpu"]["min"], r["cpu"]["max"]))
        target("scale 2k: no late polls", e["late"]["max"] == 0,
               "%d late in all %d runs (%d polls a run, start to end of window)" % (
                   sum(x["emberd"]["late"] for x in sc["runs"]), sc["runs_n"], e["polls"]["median"]))
    if s10:
        e = s10["emberd"]
        target("scale 10k: no late polls", e["late"]["max"] == 0,
               "%d late in all %d runs; CPU %.2f %%, peak %.1f MB, anon %.1f MB" % (
                   sum(x["emberd"]["late"] for x in s10["runs"]), s10["runs_n"],
                   e["cpu_pct_of_core"]["median"], mb(e["hwm_kb"]["median"]), mb(e["anon_kb"]["median"])))
    for k, what in (("dns", "DNS answer changed"), ("bgp", "route gone at the observer BIRD")):
        v = (dd or {}).get("crossing_to_" + k)
        if isinstance(v, dict) and isinstance(v.get("p99_ms"), (int, float)):
            target("drain: register crossing -> %s, p99 under 200 ms" % what,
                   v["p99_ms"] < 200 and v["p99_ms"] != float("inf"), "p99 %.1f ms over %d runs" % (v["p99_ms"], v["n"]))
    v = (dt or {}).get("crossing_to_drain_takeover")
    if isinstance(v, dict) and isinstance(v.get("p99_ms"), (int, float)):
        w = (dt or {}).get("kill_to_offline") or {}
        target("take-over: the peer drains within 2 s of the kill (p99)",
               v["p99_ms"] < 2000 and v["p99_ms"] != float("inf"),
               "p99 %.1f ms over %d runs; the Last Will at the broker p99 %s ms" % (
                   v["p99_ms"], v["n"], f1(w.get("p99_ms")).strip()))
    if rp and rp.get("events_per_s"):
        target("replay: over 2,000 events/s", rp["events_per_s"] > 2000, "%.0f events/s" % rp["events_per_s"])
    if cs and cs.get("per_minute"):
        target("console: input delay under 100 ms (p99) under the fleet's load",
               cs["input_delay_ms"]["p99"] is not None and cs["input_delay_ms"]["p99"] < 100,
               "p99 %s ms over %d clicks; %.1f frames/s" % (
                   f1(cs["input_delay_ms"]["p99"]).strip(), cs["input_delay_ms"]["n"], cs["fps_median"]))
        hg = cs["heap_gc_mb"]
        target("console: JS heap grows under 10 %% from minute %s to %s" % (min(hg, key=int), max(hg, key=int)),
               cs["heap_growth_pct"] is not None and cs["heap_growth_pct"] < 10,
               "%+.1f %% (%s -> %s MB after GC)" % (cs["heap_growth_pct"], hg[min(hg, key=int)], hg[max(hg, key=int)]))
    res["targets"] = tg

    # ---- files ---------------------------------------------------------------
    os.makedirs(a.out, exist_ok=True)
    rj = os.path.join(a.out, "results.json")
    with open(rj, "w") as f:
        json.dump(clean(res), f, indent=1)
    png = os.path.join(a.out, "latency.png")
    plot(plots, png, os.path.join(d, "plot"))
    p("")
    p("results: %s" % rj)
    p("plot:    %s" % (png if os.path.exists(png) else "not written (gnuplot failed)"))
    print("\n".join(L))
    return 0


COLORS = ["#000000", "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
          "#999999", "#1b9e77", "#d95f02", "#7570b3", "#66a61e", "#e6ab02"]


def plot(series, png, tmp):
    """Empirical CDFs of every latency distribution, log-scale x: emberd's
    solid, the peers' dashed."""
    os.makedirs(tmp, exist_ok=True)
    cmds = []
    for i, (title, xs) in enumerate(series):
        xs = sorted(x for x in xs if x is not None and math.isfinite(x) and x > 0)
        if not xs:
            continue
        path = os.path.join(tmp, "s%d.dat" % i)
        with open(path, "w") as f:
            for k, x in enumerate(xs):
                f.write("%.3f %.4f\n" % (x, (k + 1) / float(len(xs))))
        peer = not ("emberd" in title or "ember-drain" in title)
        cmds.append("'%s' using 1:2 with steps lw 2 lc rgb '%s' dt %d title '%s (n=%d)'" % (
            path, COLORS[len(cmds) % len(COLORS)], 2 if peer else 1, title.replace("'", ""), len(xs)))
    if not cmds:
        return
    gp = """set terminal pngcairo size 1400,950 font ',10' noenhanced
set output '%s'
set title 'make bench: latency distributions (empirical CDF; emberwatch solid, peers dashed), one run on loopback'
set xlabel 'latency, ms (log scale)'
set ylabel 'fraction of events at or below'
set logscale x
set xrange [0.1:30000]
set yrange [0:1.02]
set grid xtics mxtics ytics
set key outside below maxcols 3 font ',9' noenhanced
set bmargin 12
plot %s
""" % (png, ", \\\n     ".join(cmds))
    try:
        subprocess.run(["gnuplot"], input=gp, text=True, check=True, timeout=60,
                       capture_output=True)
    except (OSError, subprocess.SubprocessError) as e:
        print("report: gnuplot: %s" % e, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
