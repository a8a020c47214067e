#!/usr/bin/python3
"""Prints what emberwatch agents publish, one readable line per message.

    demo_watch.py PORT [TOPIC-FILTER] [SECONDS]
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
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
signal.signal(signal.SIGINT, lambda *_: stop.append(1))


def paint(word):
    code = COLOURS.get(word)
    return "\033[%sm%s\033[0m" % (code, word) if tty and code else word


def target(t):
    """A drain/state target: name=state, and the records a DNS RRset read back."""
    text = "%s=%s" % (t.get("name"), t.get("state"))
    if isinstance(t.get("records"), list):
        text += " [%s]" % " ".join(str(r) for r in t["records"])
    return text


def on_message(client, userdata, m):
    levels = m.topic.split("/")
    if len(levels) == 4 and levels[2] == "drain":
        name = "drain/" + levels[3]  # the drain controller's site topics
    else:
        name = "/".join(levels[3:]) if len(levels) > 3 else m.topic
    text = m.payload.decode("utf-8", "replace")
    now = time.strftime("%H:%M:%S")
    try:
        p = json.loads(text)
    except ValueError:
        print("%s  %-30s %s%s" % (now, name, paint(text), "  (retained)" if m.retain else ""))
        return
    if isinstance(p, dict) and "transition" in p:
        if p["transition"] == "activated":
            word = paint("ALARM " + p.get("severity", "").upper())
        else:
            word = "alarm " + p["transition"]
        v = "-" if p.get("value") is None else p["value"]
        print("%s  %-30s %s %s: %s (value %s, seq %s)%s" % (
            now, "event", word, p.get("alarm"), p.get("message"), v, p.get("seq"),
            "  [TEST]" if p.get("test") else ""))
    elif isinstance(p, dict) and "request" in p:
        req = p["request"].upper()
        if p["request"] == "drain" and not p.get("test"):
            req = "\033[1;31mDRAIN\033[0m" if tty else "DRAIN"
        print("%s  %-30s %s  %s  alarms=%s%s" % (
            now, name, req, p.get("reason"), ",".join(p.get("alarms", [])),
            "  [TEST]" if p.get("test") else ""))
    elif isinstance(p, dict) and "targets" in p and "state" in p:
        state = p["state"].upper()
        if tty and p["state"] in ("draining", "drained"):
            state = "\033[1;31m%s\033[0m" % state
        targets = ", ".join(target(t) for t in p["targets"])
        print("%s  %-30s %s  %s  (cause: %s)" % (now, name, state, targets, p.get("cause")))
    elif isinstance(p, dict) and "state" in p and "alarm" in p:
        return  # retained alarm states repeat what the events say
    elif isinstance(p, dict) and "quality" in p:
        v = "-" if p.get("value") is None else p["value"]
        print("%s  %-30s %10s %-6s %s" % (now, name, v, p.get("unit", ""), paint(p["quality"])))
    else:
        print("%s  %-30s %s" % (now, name, text))
    sys.stdout.flush()


c = mqttcompat.client()
c.on_message = on_message
mqttcompat.on_connect(c, lambda cl, sp, rc: cl.subscribe(topic, qos=1))
c.connect("127.0.0.1", port, 30)
deadline = time.monotonic() + seconds if seconds > 0 else None
while not stop and (deadline is None or time.monotonic() < deadline):
    c.loop(timeout=0.1)
c.disconnect()
