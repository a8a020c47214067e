#!/usr/bin/python3
"""The demo's terminal summary of what emberwatch agents and ember-drain
publish: one line for each event (alarm transitions, status, drain requests
and drain states, commands and their results), and at most one line a
second for the sensors.

    demo_watch.py PORT [TOPIC-FILTER] [SECONDS]

The sensors line names only the sensors that changed since it last named
them: at once for a new quality or a new value without a unit (a contact),
and at most every 5 s for a value that moved by at least 5 % (and at least
1 C, 2 %RH or 10 ppm).  The first reading of every sensor is named once.
"""
import json
import os
import signal
import sys
import time

# tests/mqttcompat.py: one client for paho-mqtt 1.6 and 2.x.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
import mqttcompat  # noqa: E402

port = int(sys.argv[1])
topic = sys.argv[2] if len(sys.argv) > 2 else "emberwatch/#"
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0
tty = sys.stdout.isatty()
COLOURS = {"good": "32", "stale": "33", "bad": "35", "comms_lost": "31",
           "online": "32", "offline": "31"}
# The least change of a value that gets it named again, by unit (and 5 %),
# and how long a sensor whose value moves is not named again.
STEP = {"C": 1.0, "%RH": 2.0, "ppm": 10.0}
HOLD = 5.0
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
signal.signal(signal.SIGINT, lambda *_: stop.append(1))

latest = {}  # sensor -> (value, unit, quality), as last received
shown = {}   # sensor -> (value, unit, quality, monotonic time), as last named


def paint(word):
    code = COLOURS.get(word)
    return "\033[%sm%s\033[0m" % (code, word) if tty and code else word


def line(name, text):
    print("%s  %-30s %s" % (time.strftime("%H:%M:%S"), name, text))
    sys.stdout.flush()


def target(t):
    """A drain/state target: name=state, and the records a DNS RRset read back."""
    text = "%s=%s" % (t.get("name"), t.get("state"))
    if isinstance(t.get("records"), list):
        text += " [%s]" % " ".join(str(r) for r in t["records"])
    return text


def moved(was, now, t):
    """Whether a sensor changed enough since it was last named."""
    if was is None or was[2] != now[2] or was[1] != now[1]:
        return True
    a, b = was[0], now[0]
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not now[1]:
        return a != b
    return t - was[3] >= HOLD and abs(b - a) >= max(STEP.get(now[1], 0.0), 0.05 * abs(a))


def sensors_line():
    """The sensors that moved since they were last named, on one line."""
    items = []
    t = time.monotonic()
    for name in sorted(latest):
        now = latest[name]
        if not moved(shown.get(name), now, t):
            continue
        shown[name] = now + (t,)
        v, unit, quality = now
        text = "%s %s%s" % (name, "-" if v is None else v, " " + unit if unit else "")
        if quality != "good":
            text += " " + paint(quality)
        items.append(text)
    if items:
        line("sensors", ", ".join(items))


def on_message(client, userdata, m):
    levels = m.topic.split("/")
    if len(levels) >= 3 and levels[1] == "_console":
        return  # a console's permission probe (it publishes no command)
    if len(levels) >= 3 and levels[1] == "_state":
        name = "state request"  # a console's: everyone republishes its state
    elif len(levels) == 4 and levels[1] == "_drain":
        name = "drain/" + levels[3]  # ember-drain's own status
    elif len(levels) >= 4 and levels[2] == "drain":
        name = "/".join(levels[2:])  # the drain controller's site topics
    else:
        name = "/".join(levels[3:]) if len(levels) > 3 else m.topic
    text = m.payload.decode("utf-8", "replace")
    try:
        p = json.loads(text)
    except ValueError:
        line(name, "%s%s" % (paint(text), "  (retained)" if m.retain else ""))
        return
    if isinstance(p, dict) and "transition" in p:
        if p["transition"] == "activated":
            word = paint("ALARM " + p.get("severity", "").upper())
        else:
            word = "alarm " + p["transition"]
        v = "-" if p.get("value") is None else p["value"]
        by = " by %s" % p["by"] if p.get("by") else ""
        line("event", "%s %s: %s (value %s, seq %s)%s%s" % (
            word, p.get("alarm"), p.get("message"), v, p.get("seq"), by,
            "  [TEST]" if p.get("test") else ""))
    elif isinstance(p, dict) and "request" in p:
        req = p["request"].upper()
        if p["request"] == "drain" and not p.get("test"):
            req = "\033[1;31mDRAIN\033[0m" if tty else "DRAIN"
        line(name, "%s  %s  alarms=%s%s" % (
            req, p.get("reason"), ",".join(p.get("alarms", [])),
            "  [TEST]" if p.get("test") else ""))
    elif isinstance(p, dict) and "targets" in p and "state" in p:
        state = p["state"].upper()
        if tty and p["state"] in ("draining", "drained"):
            state = "\033[1;31m%s\033[0m" % state
        targets = ", ".join(target(t) for t in p["targets"])
        line(name, "%s  %s  (cause: %s)" % (state, targets, p.get("cause")))
    elif isinstance(p, dict) and "state" in p and "alarm" in p:
        return  # retained alarm states repeat what the events say
    elif isinstance(p, dict) and "quality" in p:
        latest[name.split("/", 1)[-1]] = (p.get("value"), p.get("unit") or "", p["quality"])
    elif isinstance(p, dict) and "ok" in p and "cmd" in p:
        line(name, "%s %s%s%s" % (
            p.get("cmd"), "ok" if p["ok"] else "refused: %s" % p.get("error"),
            " by %s" % p["by"] if p.get("by") else "", "  (id %s)" % p["id"] if p.get("id") else ""))
    elif name == "state request" and isinstance(p, dict):
        line(name, "by %s: agents and controllers republish their state" % p.get("by", "-"))
    else:
        line(name, text)


c = mqttcompat.client()
c.on_message = on_message
mqttcompat.on_connect(c, lambda cl, sp, rc: cl.subscribe(topic, qos=1))
c.connect("127.0.0.1", port, 30)
deadline = time.monotonic() + seconds if seconds > 0 else None
tick = time.monotonic() + 1
while not stop and (deadline is None or time.monotonic() < deadline):
    c.loop(timeout=0.1)
    if time.monotonic() >= tick:
        sensors_line()
        tick = time.monotonic() + 1
c.disconnect()
