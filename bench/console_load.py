#!/usr/bin/python3
"""The console benchmark's load: a fleet of agents speaking the MQTT contract
to one broker, for bench/console_scale.mjs's page to show.

    console_load.py --port P [--agents 100] [--sensors 20] [--sites 10]
                    [--churn 5] [--probe-every 5] [--seconds 0]
                    [--probes FILE] [--ready FILE]

Each agent (site-SS/agent-AAA) is "online" (retained) with one zone and its
drain request "none" (retained), and publishes each of its sensors once a
second (QoS 0), spread over the second in 100 ms slots, as emberd does.
Alarm churn: --churn transitions a second over a pool of two alarms per
agent, each going normal -> activated -> acked -> cleared (normal again), with
the retained alarm state and the event (QoS 1, seq increasing per agent), so
the page's alarm list keeps changing without growing.  A probe: every
--probe-every seconds agent site-00/probe raises alarm probe-N (critical) and
clears and acks probe-(N-1); each raise's publish time (epoch seconds) goes to
--probes as "N TIME" lines, for the page-side delay.  --ready is written once
the retained state is out.  Stops on SIGTERM, SIGINT or after --seconds.
"""
import argparse
import json
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import mqttcompat  # noqa: E402

P = "emberwatch"
SEVERITIES = ("critical", "warning", "warning", "advisory")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--sensors", type=int, default=20)
    ap.add_argument("--sites", type=int, default=10)
    ap.add_argument("--churn", type=float, default=5.0)
    ap.add_argument("--probe-every", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--probes")
    ap.add_argument("--ready")
    a = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    rnd = random.Random(1)

    agents = ["%s/site-%02d/agent-%03d" % (P, i % a.sites, i) for i in range(a.agents)]
    seq = {ag: 0 for ag in agents}
    zone = {ag: "z%d" % (i % 4) for i, ag in enumerate(agents)}

    c = mqttcompat.client(client_id="ember-console-load-%d" % os.getpid())
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.will_set("%s/site-00/probe/status" % P, "offline", qos=1, retain=True)
    c.connect("127.0.0.1", a.port, 30)
    c.loop_start()

    def pub(topic, payload, qos=0, retain=False):
        if not isinstance(payload, str):
            payload = json.dumps(payload, separators=(",", ":"))
        c.publish(topic, payload, qos=qos, retain=retain)

    now = time.time()
    for ag in agents + ["%s/site-00/probe" % P]:
        pub(ag + "/status", "online", 1, True)
    for ag in agents:
        pub("%s/drain/%s" % (ag, zone[ag]), {"ts": iso(now), "zone": zone[ag], "request": "none",
                                             "reason": "no critical alarm", "alarms": [],
                                             "votes": 0, "vote": 2, "seq": 0, "test": False}, 1, True)

    # The alarm pool: (agent, sensor index) -> step 0 normal, 1 active, 2 acked.
    pool = [(ag, k) for ag in agents for k in (0, 1) if k < a.sensors]
    step = {p: 0 for p in pool}

    def alarm(ag, name, sensor, severity, state, acked, transition, value, t):
        seq[ag] = seq.get(ag, 0) + 1
        body = {"ts": iso(t), "alarm": name, "sensor": sensor, "zone": zone.get(ag, "z0"),
                "kind": "high", "severity": severity, "state": state, "acked": acked,
                "shelved": False, "value": value, "setpoint": 45, "unit": "C",
                "since": iso(t), "seq": seq[ag], "test": False,
                "message": "%s at or above 45 C" % sensor}
        pub("%s/alarm/%s" % (ag, name), body, 1, True)
        body["transition"] = transition
        pub(ag + "/event", body, 1)

    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    probes = open(a.probes, "w", buffering=1) if a.probes else None

    slots = 10
    t0 = time.monotonic()
    tick = 0
    churn_due = 0.0
    probe_n = 0
    next_probe = t0 + a.probe_every
    while not stop and (a.seconds <= 0 or time.monotonic() - t0 < a.seconds):
        slot = tick % slots
        t = time.time()
        for i, ag in enumerate(agents):
            for s in range(a.sensors):
                if (i * a.sensors + s) % slots != slot:
                    continue
                v = 24.0 + ((i * 7 + s * 3) % 10) + 2.0 * rnd.random()
                pub("%s/sensor/s%02d" % (ag, s), '{"ts":"%s","value":%.1f,"unit":"C","quality":"good"}'
                    % (iso(t), v))
        churn_due += a.churn / slots
        while churn_due >= 1:
            churn_due -= 1
            p = rnd.choice(pool)
            ag, k = p
            name, sensor = "s%02d-hot" % k, "s%02d" % k
            sev = SEVERITIES[(agents.index(ag) + k) % len(SEVERITIES)]
            st = step[p]
            if st == 0:
                alarm(ag, name, sensor, sev, "active", False, "activated", 46.0, t)
            elif st == 1:
                alarm(ag, name, sensor, sev, "active", True, "acked", 46.0, t)
            else:
                alarm(ag, name, sensor, sev, "cleared", True, "cleared", 30.0, t)
            step[p] = (st + 1) % 3
        if time.monotonic() >= next_probe:
            next_probe += a.probe_every
            pa = "%s/site-00/probe" % P
            if probe_n:
                alarm(pa, "probe-%d" % probe_n, "probe", "critical", "cleared", True, "cleared", 0, t)
            probe_n += 1
            tp = time.time()
            alarm(pa, "probe-%d" % probe_n, "probe", "critical", "active", False, "activated", 1, tp)
            if probes:
                probes.write("%d %.6f\n" % (probe_n, tp))
        tick += 1
        # The next 100 ms slot, on the monotonic clock (no drift).
        delay = t0 + tick / slots - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    c.loop_stop()
    c.disconnect()


if __name__ == "__main__":
    main()
