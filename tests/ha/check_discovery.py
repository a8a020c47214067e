#!/usr/bin/python3
"""Checks emberd's Home Assistant discovery messages.

    check_discovery.py SCHEMA DISCOVERY REC PREFIX EXPECTED

DISCOVERY: mosquitto_sub -F '%r %t %p' lines of the retained messages under
PREFIX/#; REC: the paho recorder's file of the v1 topics ("ms retained topic
payload").  Every message must be retained, its topic
PREFIX/COMPONENT/NODE/OBJECT/config, its payload valid against SCHEMA's
definition for COMPONENT, its unique_id unique; EXPECTED of them.  Then, as
Home Assistant would, each value_template is rendered (Jinja2) against the
latest v1 message on the entity's state_topic: a sensor must give the
payload's value as a number, a binary sensor the payload_on or payload_off
that matches the v1 state; each availability topic must hold "online".
Prints one line per entity; exits 1 naming the first problem.
"""
import json
import re
import sys

import jinja2
import jsonschema

schema_path, disc_path, rec_path, prefix, expected = sys.argv[1:6]
schema = json.load(open(schema_path))
pattern = re.compile(schema["topic_pattern"])
env = jinja2.Environment()


def fail(msg):
    print("check_discovery: " + msg)
    sys.exit(1)


latest = {}
for line in open(rec_path):
    if line.startswith("#"):
        continue
    parts = line.rstrip("\n").split(" ", 3)
    if len(parts) == 4:
        latest[parts[2]] = parts[3]

configs = []
for line in open(disc_path):
    line = line.rstrip("\n")
    if not line:
        continue
    retained, topic, payload = line.split(" ", 2)
    if retained != "1":
        fail("%s: not retained" % topic)
    m = pattern.match(topic)
    if not m or m.group("prefix") != prefix:
        fail("%s: not PREFIX/COMPONENT/NODE/OBJECT/config with [A-Za-z0-9_-] ids" % topic)
    try:
        cfg = json.loads(payload)
    except ValueError as e:
        fail("%s: not JSON: %s" % (topic, e))
    v = jsonschema.Draft7Validator(schema["definitions"][m.group("component")])
    errors = sorted(v.iter_errors(cfg), key=str)
    if errors:
        fail("%s: %s" % (topic, errors[0].message))
    configs.append((topic, m.group("component"), cfg))

if len(configs) != int(expected):
    fail("%d discovery messages, expected %s" % (len(configs), expected))
ids = [c["unique_id"] for _, _, c in configs]
if len(set(ids)) != len(ids):
    fail("unique_id repeated: %s" % ids)

for topic, comp, cfg in configs:
    st = cfg["state_topic"]
    if st not in latest:
        fail("%s: nothing on its state_topic %s" % (topic, st))
    raw = latest[st]
    for a in cfg.get("availability", []):
        if latest.get(a["topic"]) != a.get("payload_available", "online"):
            fail("%s: availability %s is %r" % (topic, a["topic"], latest.get(a["topic"])))
    if "value_template" in cfg:
        value_json = json.loads(raw)
        out = env.from_string(cfg["value_template"]).render(value_json=value_json, value=raw).strip()
    else:
        value_json, out = None, raw
    if comp == "sensor":
        if value_json.get("value") is None:
            ok = out in ("None", "")
        else:
            ok = abs(float(out) - float(value_json["value"])) < 1e-9
        if not ok:
            fail("%s: value_template gave %r for %s" % (topic, out, raw))
    else:
        on, off = cfg.get("payload_on", "ON"), cfg.get("payload_off", "OFF")
        if out not in (on, off):
            fail("%s: value_template gave %r, neither %r nor %r" % (topic, out, on, off))
        if value_json is not None and "state" in value_json:
            want = on if value_json["state"] == "active" else off
        elif value_json is not None and "request" in value_json:
            want = on if value_json["request"] == "drain" and not value_json.get("test") else off
        else:
            want = on if raw == "online" else off
        if out != want:
            fail("%s: %r for %s, expected %r" % (topic, out, raw, want))
    if "json_attributes_template" in cfg:
        attrs = json.loads(env.from_string(cfg["json_attributes_template"]).render(value_json=json.loads(raw)))
        if not isinstance(attrs, dict):
            fail("%s: json_attributes_template is not a mapping" % topic)
    print("%-14s %-45s %s -> %s" % (comp, cfg["unique_id"], st, out))
print("check_discovery: %d messages valid" % len(configs))
