#!/usr/bin/python3
"""Writes the configuration files make bench runs: ember-sim scenarios,
emberd configs, NUT (ups.conf, upsd.conf) and collectd configs.

    gen.py detect  --dir D --top TOP --mqtt P --sim-port P --pym-port P --upsd-port P
                   [--fast 5] [--nut2 3] [--slow 20]
    gen.py scale   --dir D --top TOP --mqtt P --ports P1,.. [--cd-ports P1,..] [--per 25]
                   [--emberd-procs 1] [--tag scale]
    gen.py ramp    --dir D --top TOP --mqtt P --sim-port P
    gen.py gpio    --dir D --top TOP --mqtt P [--journal-dir TMPFS_DIR]
    gen.py replay  --dir D --top TOP --mqtt P

Every emberd gets its own agent id (so its own MQTT client id and topics),
journal, control socket and GPIO FIFO under D, so several run side by side.

Detection layout (the same on both Modbus servers, ember-sim and pymodbus):
  slave 1..F      "fast" channels: emberd (1 s default), NUT pollinterval 1,
                  collectd Interval 1 all watch each change
  slave 11..10+M  NUT at its default pollinterval (2 s)
  slave 21..20+S  collectd at its default Interval (10 s)
Each slave is an XY-MD02 (temperature: FC04 register 1, int16, 0.1 C).
"""
import argparse
import os
import sys

SERVERS = ("sim", "pym")
FAST0, NUT0, SLOW0 = 1, 11, 21


def w(path, text):
    with open(path, "w") as f:
        f.write(text)


def agent_conf(a, agent_id, extra_agent="", extra_mqtt="", journal_dir=None):
    d = a.dir
    return """[agent]
site = lab
id = {id}
profile_dir = {top}/agent/profiles
board_dir = {top}/boards
journal = {jd}/{id}.journal.db
control = {d}/{id}.sock
gpio_sim = {d}/{id}.gpio
{extra_agent}
[mqtt]
port = {mqtt}
{extra_mqtt}
""".format(id=agent_id, top=a.top, d=d, mqtt=a.mqtt, extra_agent=extra_agent,
           extra_mqtt=extra_mqtt, jd=journal_dir or d)


def layout(a):
    """(server, kind, index, slave) for every detection channel."""
    out = []
    for s in SERVERS:
        out += [(s, "f", i, FAST0 + i - 1) for i in range(1, a.fast + 1)]
        out += [(s, "n", i, NUT0 + i - 1) for i in range(1, a.nut2 + 1)]
        out += [(s, "s", i, SLOW0 + i - 1) for i in range(1, a.slow + 1)]
    return out


def gen_detect(a):
    d = a.dir
    chans = layout(a)
    # ember-sim scenario: one TCP listener, every channel an XY-MD02.
    scn = ["[sim]", "profile_dir = %s/agent/profiles" % a.top, "",
           "[listen tcp0]", "tcp = 127.0.0.1:%d" % a.sim_port, ""]
    for s, k, i, slave in chans:
        if s != "sim":
            continue
        scn += ["[device %s%d]" % (k, i), "slave = %d" % slave, "profile = xy-md02", "",
                "[signal %s%d.temperature]" % (k, i), "initial = 25.0", ""]
    w(os.path.join(d, "detect.scn"), "\n".join(scn))

    # emberd: both servers, the fast channels, its defaults (1 s, adaptive).
    body = []
    for s, port in (("sim", a.sim_port), ("pym", a.pym_port)):
        body += ["[bus %s]" % s, "type = tcp", "host = 127.0.0.1", "port = %d" % port, ""]
    for s, k, i, slave in chans:
        if k != "f":
            continue
        n = "%s-%s%d" % (s, k, i)
        body += ["[device %s]" % n, "bus = %s" % s, "slave = %d" % slave, "profile = xy-md02", "",
                 "[sensor %s]" % n, "device = %s" % n, "point = temperature", "",
                 "[alarm %s]" % n, "sensor = %s" % n, "kind = high", "setpoint = 45",
                 "deadband = 1", "severity = critical", ""]
    w(os.path.join(d, "det.conf"), agent_conf(a, "det") + "\n" + "\n".join(body))

    # NUT: one generic_modbus driver per channel it watches; upsd serves them.
    # generic_modbus reads a register as a contact: state on when its low
    # byte is 1 (1 ^ noro, noro defaults to 0).  LB_regtype is read from
    # OB_regtype (so both must be set, else it segfaults); 2 = input register.
    ups = ["maxretry = 1", ""]
    for s, k, i, slave in chans:
        if k not in ("f", "n"):
            continue
        port = a.sim_port if s == "sim" else a.pym_port
        ups += ["[%s-%s%d]" % (s, k, i), "  driver = generic_modbus",
                "  port = 127.0.0.1:%d" % port, "  rio_slave_id = %d" % slave,
                "  LB_addr = 1", "  LB_regtype = 2", "  OB_regtype = 2"]
        if k == "f":
            ups += ["  pollinterval = 1"]
        ups += [""]
    w(os.path.join(d, "nut", "ups.conf"), "\n".join(ups))
    w(os.path.join(d, "nut", "upsd.conf"), "LISTEN 127.0.0.1 %d\n" % a.upsd_port)
    w(os.path.join(d, "nut", "upsd.users"), "\n")
    w(os.path.join(d, "nut", "nut.conf"), "MODE=standalone\n")

    # collectd: Interval 1 on the fast channels, default Interval (10 s) on
    # the slow ones; modbus + threshold + mqtt, and the threshold's
    # notifications to MQTT through exec (NotificationExec, as nobody).
    for name, kind, interval in (("cd1", "f", 1), ("cd10", "s", None)):
        hosts = []
        for s, port in (("sim", a.sim_port), ("pym", a.pym_port)):
            hosts += ['  <Host "%s">' % s, '    Address "127.0.0.1"', '    Port "%d"' % port]
            for s2, k, i, slave in chans:
                if s2 == s and k == kind:
                    hosts += ["    <Slave %d>" % slave, '      Instance "%s%d"' % (k, i),
                              '      Collect "temp"', "    </Slave>"]
            hosts += ["  </Host>"]
        w(os.path.join(d, name + ".conf"), collectd_conf(
            a, name, interval, """<Plugin modbus>
  <Data "temp">
    RegisterBase 1
    RegisterType Int16
    RegisterCmd ReadInput
    Type temperature
    Instance "t"
    Scale 0.1
  </Data>
%s
</Plugin>
LoadPlugin threshold
<Plugin threshold>
  <Plugin "modbus">
    <Type "temperature">
      FailureMax 45
      Hysteresis 1
    </Type>
  </Plugin>
</Plugin>
LoadPlugin exec
<Plugin exec>
  NotificationExec "%s" "%s/cd-notify.sh" "%d" "%s"
</Plugin>
""" % ("\n".join(hosts), a.exec_user, d, a.mqtt, name)))


def collectd_conf(a, name, interval, body):
    os.makedirs(os.path.join(a.dir, name), exist_ok=True)
    return """Hostname "{name}"
FQDNLookup false
BaseDir "{d}/{name}"
PIDFile "{d}/{name}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
{interval}
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File stderr
  Timestamp true
</Plugin>
LoadPlugin modbus
LoadPlugin mqtt
<Plugin mqtt>
  <Publish "bench">
    Host "127.0.0.1"
    Port "{mqtt}"
    ClientId "{name}"
    Prefix "{name}"
  </Publish>
</Plugin>
{body}""".format(name=name, d=a.dir, mqtt=a.mqtt, body=body,
                 interval="Interval %d" % interval if interval else "# Interval: default (10 s)")


def gen_scale(a):
    """The scale load: len(ports) Modbus TCP listeners with a.per devices of
    20 registers each.  Writes TAG-ember.scn and TAGn.conf (agent id TAGn)
    for emberd and, with --cd-ports, TAG-cd.scn and cdTAG.conf for collectd
    on a simulator of its own."""
    d = a.dir
    tag = a.tag
    ports = [int(p) for p in a.ports.split(",")]
    cd_ports = [int(p) for p in a.cd_ports.split(",")] if a.cd_ports else []
    prof = os.path.join(a.top, "bench", "profiles", "bench-20reg.ini")
    points = ["r%02d" % i for i in range(20)]
    devs = []  # (listener index, slave, name)
    for li in range(len(ports)):
        for sl in range(1, a.per + 1):
            devs.append((li, sl, "d%d-%02d" % (li, sl)))
    # One simulator per system under test, same devices: each system's load
    # never slows the other's replies.
    sims = [("ember", ports)] + ([("cd", cd_ports)] if cd_ports else [])
    for who, pl in sims:
        scn = ["[sim]", ""]
        for li, p in enumerate(pl):
            scn += ["[listen l%d]" % li, "tcp = 127.0.0.1:%d" % p, ""]
        for li, sl, n in devs:
            scn += ["[device %s]" % n, "listen = l%d" % li, "slave = %d" % sl,
                    "profile = %s" % prof, ""]
        w(os.path.join(d, "%s-%s.scn" % (tag, who)), "\n".join(scn))

    # emberd: one process holds every device unless --emberd-procs splits
    # them evenly (for a build whose sensor cap is below the load).
    nproc = a.emberd_procs
    for pi in range(nproc):
        mine = [x for k, x in enumerate(devs) if k % nproc == pi]
        body = []
        for li, p in enumerate(ports):
            if any(x[0] == li for x in mine):
                body += ["[bus l%d]" % li, "type = tcp", "host = 127.0.0.1", "port = %d" % p, ""]
        for li, sl, n in mine:
            body += ["[device %s]" % n, "bus = l%d" % li, "slave = %d" % sl,
                     "profile = %s" % prof, ""]
            for pt in points:
                body += ["[sensor %s-%s]" % (n, pt), "device = %s" % n, "point = %s" % pt, ""]
        w(os.path.join(d, "%s%d.conf" % (tag, pi)),
          agent_conf(a, "%s%d" % (tag, pi)) + "\n" + "\n".join(body))
    if not cd_ports:
        return

    # collectd: the same devices x 20 registers at Interval 1, to MQTT.
    data = []
    for pt in points:
        data += ['  <Data "%s">' % pt, "    RegisterBase %d" % int(pt[1:]), "    RegisterType Int16",
                 "    RegisterCmd ReadInput", "    Type gauge", '    Instance "%s"' % pt,
                 "    Scale 0.1", "  </Data>"]
    hosts = []
    for li, p in enumerate(cd_ports):
        hosts += ['  <Host "l%d">' % li, '    Address "127.0.0.1"', '    Port "%d"' % p]
        for li2, sl, n in devs:
            if li2 == li:
                hosts += ["    <Slave %d>" % sl, '      Instance "%s"' % n]
                hosts += ['      Collect "%s"' % pt for pt in points]
                hosts += ["    </Slave>"]
        hosts += ["  </Host>"]
    w(os.path.join(d, "cd%s.conf" % tag), collectd_conf(
        a, "cd" + tag, 1, "<Plugin modbus>\n%s\n%s\n</Plugin>\n" % ("\n".join(data), "\n".join(hosts))))


def gen_ramp(a):
    d = a.dir
    scn = ["[sim]", "profile_dir = %s/agent/profiles" % a.top, "",
           "[listen tcp0]", "tcp = 127.0.0.1:%d" % a.sim_port, ""]
    for name, slave in (("ra", 1), ("rf", 2)):
        scn += ["[device %s]" % name, "slave = %d" % slave, "profile = xy-md02", ""]
    w(os.path.join(d, "ramp.scn"), "\n".join(scn))
    for agent, slave, adaptive in (("ramp-adaptive", 1, "yes"), ("ramp-fixed", 2, "no")):
        w(os.path.join(d, agent + ".conf"), agent_conf(a, agent) + """
[bus t]
type = tcp
host = 127.0.0.1
port = {port}

[device room]
bus = t
slave = {slave}
profile = xy-md02
interval = 1s
adaptive = {adaptive}

[sensor room-temp]
device = room
point = temperature

[alarm room-hot]
sensor = room-temp
kind = high
setpoint = 45
deadband = 1
severity = critical
""".format(port=a.sim_port, slave=slave, adaptive=adaptive))

    # The same ramps read by collectd (Interval 1), the peer that can
    # threshold an analog register.  FailureMax is "value > max": 44.95
    # makes its alarm start at 45.0, as emberd's (value >= setpoint).
    w(os.path.join(d, "cdramp.conf"), collectd_conf(a, "cdramp", 1, """<Plugin modbus>
  <Data "temp">
    RegisterBase 1
    RegisterType Int16
    RegisterCmd ReadInput
    Type temperature
    Instance "t"
    Scale 0.1
  </Data>
  <Host "ramp">
    Address "127.0.0.1"
    Port "%d"
    <Slave 1>
      Instance "ra"
      Collect "temp"
    </Slave>
  </Host>
</Plugin>
LoadPlugin threshold
<Plugin threshold>
  <Plugin "modbus">
    <Type "temperature">
      FailureMax 44.95
      Hysteresis 1
    </Type>
  </Plugin>
</Plugin>
LoadPlugin exec
<Plugin exec>
  NotificationExec "%s" "%s/cd-notify.sh" "%d" "cdramp"
</Plugin>
""" % (a.sim_port, a.exec_user, d, a.mqtt)))


def gen_gpio(a):
    d = a.dir
    w(os.path.join(d, "gpio-board.conf"), """[board]
name = bench-gpio
description = simulated GPIO, one contact at the default debounce

[input smoke1]
line = 17
""")
    # gp: the journal next to everything else (on disk); gp-tmpfs: the same
    # agent with its journal on tmpfs (--journal-dir), where fsync is free.
    for name, jd in (("gp", None), ("gp-tmpfs", a.journal_dir)):
        if name == "gp-tmpfs" and not jd:
            continue
        w(os.path.join(d, name + ".conf"),
          agent_conf(a, name, "board = %s/gpio-board.conf\n" % d, journal_dir=jd) + """
[sensor smoke]
gpio = smoke1

[alarm smoke]
sensor = smoke
kind = contact
severity = critical
off_delay = 0
""")


def gen_replay(a):
    d = a.dir
    w(os.path.join(d, "burst-board.conf"), """[board]
name = bench-burst
description = simulated GPIO, one contact without debounce

[input c1]
line = 1
debounce = 0
""")
    w(os.path.join(d, "rp.conf"), agent_conf(a, "rp", "board = %s/burst-board.conf\n" % d,
                                             "keepalive = 5\nreconnect_max = 1s\n") + """
[sensor c1]
gpio = c1

[alarm c1]
sensor = c1
kind = contact
off_delay = 0
severity = critical
""")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["detect", "scale", "ramp", "gpio", "replay"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--top", required=True)
    ap.add_argument("--mqtt", type=int, required=True)
    ap.add_argument("--sim-port", type=int)
    ap.add_argument("--pym-port", type=int)
    ap.add_argument("--upsd-port", type=int)
    ap.add_argument("--fast", type=int, default=5)
    ap.add_argument("--nut2", type=int, default=3)
    ap.add_argument("--slow", type=int, default=20)
    ap.add_argument("--ports")
    ap.add_argument("--cd-ports")
    ap.add_argument("--per", type=int, default=25)
    ap.add_argument("--emberd-procs", type=int, default=1)
    ap.add_argument("--tag", default="scale")
    ap.add_argument("--journal-dir")
    # collectd's exec plugin will not run a hook as root: as root it must
    # name another user; otherwise it must name the user collectd runs as.
    ap.add_argument("--exec-user", default="nobody" if os.geteuid() == 0 else
                    __import__("pwd").getpwuid(os.geteuid()).pw_name)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.dir, "nut"), exist_ok=True)
    globals()["gen_" + a.what](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
