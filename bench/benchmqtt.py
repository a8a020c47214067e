"""The MQTT subscriber side the bench's Python scripts share (gpio_lat.py,
ramp.py, drain_latency.py, detect.py), on tests/mqttcompat.py, so it runs on
paho-mqtt 1.6 (Debian 12) and 2.x (Debian 13) alike.

    sub = benchmqtt.JsonEvents(keep=benchmqtt.alarm_is("overtemp"))
    c = benchmqtt.subscriber(port, [(topic, 1)], sub.on_message)
    t = sub.wait_for(lambda p: p.get("transition") == "activated", since, 2.0)

Times are this process's time.monotonic(), as the scripts take theirs.
"""
import json
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt

# tests/mqttcompat.py: one client for paho-mqtt 1.6 and 2.x.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import mqttcompat  # noqa: E402


def subscriber(port, topics, on_message, client_id=None, timeout=10):
    """A client of the broker on 127.0.0.1:port (MQTT 3.1.1) calling
    on_message(client, userdata, message), subscribed to topics, a list of
    (topic, qos), at every connect.  Returns it with its network loop
    running once the broker's SUBACK came within timeout seconds, else
    None."""
    subscribed = threading.Event()
    kw = {"client_id": client_id} if client_id else {}
    c = mqttcompat.client(protocol=mqtt.MQTTv311, **kw)
    c.on_message = on_message
    mqttcompat.on_connect(c, lambda cl, sp, rc: cl.subscribe(topics))
    mqttcompat.on_subscribe(c, lambda cl, mid, granted: subscribed.set())
    c.connect("127.0.0.1", port, 30)
    c.loop_start()
    if subscribed.wait(timeout):
        return c
    c.loop_stop()
    return None


def alarm_is(name):
    """keep= for JsonEvents: the events of alarm `name`."""
    return lambda p: p.get("alarm") == name


class JsonEvents:
    """The JSON objects arriving at a subscriber (its on_message), each as
    (arrival time, object) in self.events; those keep(object) refuses and
    payloads that are not JSON are dropped.  self.cond guards self.events
    and is notified at each arrival."""

    def __init__(self, keep=None):
        self.events = []
        self.cond = threading.Condition()
        self.keep = keep or (lambda p: True)

    def on_message(self, c, u, m):
        now = time.monotonic()
        try:
            p = json.loads(m.payload)
        except ValueError:
            return
        if not isinstance(p, dict) or not self.keep(p):
            return
        with self.cond:
            self.events.append((now, p))
            self.cond.notify_all()

    def wait_for(self, match, since, timeout):
        """The arrival time of the first event at or after `since` for which
        match(object) holds, waiting up to timeout seconds; None if none."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, p in self.events:
                    if t >= since and match(p):
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def transition_is(name):
    """match= for JsonEvents.wait_for(): an alarm event's transition."""
    return lambda p: p.get("transition") == name


def pct(xs, p):
    """The p-th percentile of xs (nearest rank)."""
    s = sorted(xs)
    k = min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))
    return s[k]
