"""paho-mqtt 1.6 (Debian 12 bookworm) and 2.x (Debian 13 trixie) behind one
small interface, for every Python MQTT peer of the tests, the demo and the
benchmarks.

paho 2 wants the callback API version named when the client is made (version
1 is deprecated there) and passes version 2 callbacks flags objects and
reason codes where 1.6 passed a dict and ints.  client() picks version 2
where paho has it; on_connect() and on_subscribe() install callbacks that get
plain values either way.  on_message has one signature in both.

Scripts outside tests/ put this directory on sys.path (or PYTHONPATH, as
tests/integration/lib.sh does) and import mqttcompat.
"""
import paho.mqtt.client as mqtt

PAHO2 = hasattr(mqtt, "CallbackAPIVersion")


def client(**kw):
    """mqtt.Client(**kw), with the version 2 callback API on paho 2."""
    if PAHO2:
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kw)
    return mqtt.Client(**kw)


def _code(rc):
    """A reason code (paho 2) or an int (1.6) as an int."""
    return rc if isinstance(rc, int) else rc.value


def on_connect(c, fn):
    """Calls fn(client, session_present, rc) on CONNACK; rc 0 is accepted."""
    if PAHO2:
        c.on_connect = lambda cl, u, flags, rc, props: fn(
            cl, bool(flags.session_present), _code(rc))
    else:
        c.on_connect = lambda cl, u, flags, rc: fn(
            cl, bool(flags.get("session present")), rc)


def on_subscribe(c, fn):
    """Calls fn(client, mid, granted) on SUBACK: granted is a list of ints,
    the QoS granted per topic or 128 for a refused one."""
    if PAHO2:
        c.on_subscribe = lambda cl, u, mid, codes, props: fn(
            cl, mid, [_code(x) for x in codes])
    else:
        c.on_subscribe = lambda cl, u, mid, granted: fn(cl, mid, list(granted))
