#!/bin/bash
# Security end to end on real processes: a private mosquitto with a TLS
# listener that requires client certificates, a password file and an ACL;
# a PKI made here with openssl (a CA, a server certificate for
# 127.0.0.1/localhost, client certificates for emberd, noc and intruder, and
# a rogue certificate signed by another CA).  Shows: emberd connects with its
# certificate and password and publishes; clients without a password, with a
# wrong password, without a certificate or with a certificate from another
# CA are refused; the authenticated but unauthorised "intruder" sees nothing,
# cannot spoof the agent's topics and cannot ack; "noc" reads and acks; a
# password file readable by others stops emberd (and emberd -n); a wrong CA
# or a wrong broker name makes emberd log the TLS failure and keep retrying;
# the control socket refuses other Unix users.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd is not installed"

# ---------------------------------------------------------------- the PKI
PKI=$T/pki
mkdir -p "$PKI"
umask 077 # keys, passwords and the password file are private
CLIENT_EXT="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
mkca ca "emberwatch test CA"
mkca rogue-ca "some other CA"
mkcert server ca "broker" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
# A certificate from the right CA for another host name: host name checks.
mkcert othername ca "broker.elsewhere.example" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:broker.elsewhere.example"
mkcert emberd ca "emberd lab-a1" "$CLIENT_EXT"
mkcert noc ca "noc" "$CLIENT_EXT"
mkcert intruder ca "intruder" "$CLIENT_EXT"
mkcert rogue rogue-ca "intruder" "$CLIENT_EXT"
check "PKI: server certificate verifies against the CA" \
    bash -c "openssl verify -CAfile '$PKI/ca.crt' '$PKI/server.crt' >/dev/null 2>&1"
check "PKI: the rogue certificate does not" \
    bash -c "! openssl verify -CAfile '$PKI/ca.crt' '$PKI/rogue.crt' >/dev/null 2>&1"

# ---------------------------------------------------------------- the broker
PW_EMBERD=ember-$RANDOM-$RANDOM
PW_NOC=noc-$RANDOM-$RANDOM
PW_INTRUDER=intr-$RANDOM-$RANDOM
mosquitto_passwd -b -c "$T/passwd" emberd "$PW_EMBERD" >>"$T/openssl.log" 2>&1 &&
    mosquitto_passwd -b "$T/passwd" noc "$PW_NOC" >>"$T/openssl.log" 2>&1 &&
    mosquitto_passwd -b "$T/passwd" intruder "$PW_INTRUDER" >>"$T/openssl.log" 2>&1 ||
    die "mosquitto_passwd failed"
P=emberwatch/lab/a1
cat >"$T/acl" <<EOF
# emberd lab/a1 publishes its own topics and reads its own commands.
user emberd
topic write $P/status
topic write $P/sensor/+
topic write $P/alarm/+
topic write $P/event
topic write $P/drain/+
topic read $P/cmd/+
topic write $P/cmd/result

# The NOC reads everything and may command any agent.
user noc
topic read emberwatch/#
topic write emberwatch/+/+/cmd/+

# A valid user with no rights at all.
user intruder
EOF
MQTT_PORT=$(free_port)
PORT2=$(free_port)
while [ "$PORT2" = "$MQTT_PORT" ]; do PORT2=$(free_port); done
# Started as root, mosquitto would switch to user "mosquitto", which cannot
# read the 0700 test directory: keep the user it was started as.
cat >"$T/mosquitto.conf" <<EOF
user $(id -un)
allow_anonymous false
password_file $T/passwd
acl_file $T/acl
persistence false
log_dest stderr
log_type all
connection_messages true

listener $MQTT_PORT 127.0.0.1
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
require_certificate true
use_identity_as_username false

# Same CA, but a server certificate for another host name.
listener $PORT2 127.0.0.1
cafile $PKI/ca.crt
certfile $PKI/othername.crt
keyfile $PKI/othername.key
require_certificate true
use_identity_as_username false
EOF
start_bg broker mosquitto -c "$T/mosquitto.conf"
BROKER_PID=$LAST_PID
wait_until 10 log_has "$T/broker.log" "running" || die "mosquitto did not start"
# Every socket mosquitto listens on is one of the two TLS ports on 127.0.0.1.
only_loopback_tls() {
    local n
    n=$(loopback_listeners "$BROKER_PID" "$MQTT_PORT" "$PORT2") && [ "$n" -eq 2 ]
}
check "broker listens only on its two TLS ports on 127.0.0.1" only_loopback_tls

# mosquitto_pub/sub options for a TLS client with noc's / intruder's certificate.
NOC_TLS=(--cafile "$PKI/ca.crt" --cert "$PKI/noc.crt" --key "$PKI/noc.key")
INTR_TLS=(--cafile "$PKI/ca.crt" --cert "$PKI/intruder.crt" --key "$PKI/intruder.key")
NOC=(-h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 "${NOC_TLS[@]}" -u noc -P "$PW_NOC")

# A paho (independent of libmosquitto) TLS recorder, writing the same
# "<ms> <retained> <topic> <payload>" lines as mqtt_rec.py; "# subscribed
# granted=..." once the broker has answered every subscription.
cat >"$T/tls_rec.py" <<'EOF'
import argparse, signal, ssl, sys, time
import paho.mqtt.client as mqtt
import mqttcompat
ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--ca", required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--user", required=True)
ap.add_argument("--password-file", required=True)
ap.add_argument("topics", nargs="+")
a = ap.parse_args()
out = open(a.out, "a", buffering=1)
pending, granted, stop = set(), [], [False]
signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
def on_connect(c, session_present, rc):
    out.write("# connack %d\n" % rc)
    for t in a.topics:
        pending.add(c.subscribe(t, qos=1)[1])
def on_subscribe(c, mid, g):
    pending.discard(mid)
    granted.extend(g)
    if not pending:
        out.write("# subscribed granted=%s\n" % ",".join(str(x) for x in granted))
def on_message(c, u, m):
    out.write("%.1f %d %s %s\n" % (time.monotonic() * 1000.0, 1 if m.retain else 0, m.topic,
                                   m.payload.decode("utf-8", "replace")))
c = mqttcompat.client(client_id="rec-%s" % a.user, protocol=mqtt.MQTTv311)
c.tls_set(ca_certs=a.ca, certfile=a.cert, keyfile=a.key, cert_reqs=ssl.CERT_REQUIRED)
with open(a.password_file) as f:
    c.username_pw_set(a.user, f.readline().rstrip("\n"))
mqttcompat.on_connect(c, on_connect)
mqttcompat.on_subscribe(c, on_subscribe)
c.on_message = on_message
c.connect("127.0.0.1", a.port, keepalive=30)
deadline = time.monotonic() + 170
while not stop[0] and time.monotonic() < deadline:
    c.loop(timeout=0.05)
c.disconnect()
EOF
printf '%s\n' "$PW_NOC" >"$T/noc.pw"
printf '%s\n' "$PW_INTRUDER" >"$T/intruder.pw"
tls_rec_start() { # tls_rec_start NAME USER TOPIC...
    local name=$1 user=$2
    shift 2
    start_bg "$name" $PY "$T/tls_rec.py" --port "$MQTT_PORT" --out "$T/$name.rec" \
        --ca "$PKI/ca.crt" --cert "$PKI/$user.crt" --key "$PKI/$user.key" \
        --user "$user" --password-file "$T/$user.pw" "$@"
    wait_until 10 log_has "$T/$name.rec" "# subscribed" || die "recorder $name did not subscribe"
}

# ---------------------------------------------------------------- emberd over TLS
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
printf '%s\n' "$PW_EMBERD" >"$T/emberd.pw"
SEC=("cafile = $PKI/ca.crt" "certfile = $PKI/emberd.crt" "keyfile = $PKI/emberd.key"
    "username = emberd" "password_file = $T/emberd.pw" "reconnect_min = 100ms" "reconnect_max = 1s")
write_zone_conf "$T/emberd.conf" "$SIM_PORT" 500ms "${SEC[@]}"
"$EMBER_BIN/emberd" -n -c "$T/emberd.conf" >"$T/n-good.out" 2>&1
check "emberd -n accepts the TLS + password configuration" test $? -eq 0

tls_rec_start noc noc "emberwatch/#"
tls_rec_start intr intruder "emberwatch/#"
start_emberd emberd "$T/emberd.conf"
MAIN_PID=$EMBERD_PID
check "emberd is online (seen by noc over TLS)" rec_wait 10 noc " $P/status online$"
check "broker saw emberd log in as user emberd" \
    wait_until 5 log_has "$T/broker.log" "as emberd-lab-a1 (.*u'emberd')"
check "telemetry reaches noc" rec_wait 10 noc " $P/sensor/room-temp .*\"value\":24,.*\"quality\":\"good\""
check "initial alarm state reaches noc" rec_wait 10 noc " $P/alarm/room-hot .*\"state\":\"cleared\""
timeout 10 mosquitto_sub "${NOC[@]}" -C 1 -v -t "$P/status" >"$T/late.out" 2>"$T/late.err"
check "late noc subscriber gets the retained status online" grep -qx "$P/status online" "$T/late.out"

# ---------------------------------------------------------------- refused clients
# sub_refused NAME ARGS...: a mosquitto_sub for $P/alarm/# that must fail
# without printing any message.
sub_refused() {
    local name=$1
    shift
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 -C 1 -W 5 -v \
        -t "$P/alarm/#" "$@" >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    log "$name: mosquitto_sub exit $rc: $(head -c 200 "$T/$name.err" | tr '\n' ' ')"
    [ "$rc" -ne 0 ] && [ ! -s "$T/$name.out" ]
}
check "client with a certificate but no password is refused, reads nothing" \
    sub_refused nopw "${NOC_TLS[@]}"
check "... and the broker said not authorised" grep -qi "not authori[sz]ed" "$T/nopw.err"
check "client with a wrong password is refused, reads nothing" \
    sub_refused badpw "${NOC_TLS[@]}" -u noc -P "wrong-$PW_NOC"
check "... and the broker said not authorised" grep -qi "not authori[sz]ed" "$T/badpw.err"
m=$(wc -l <"$T/broker.log")
check "client with a certificate from another CA is refused" \
    sub_refused rogue --cafile "$PKI/ca.crt" --cert "$PKI/rogue.crt" --key "$PKI/rogue.key" \
    -u noc -P "$PW_NOC"
check "... at the TLS handshake (broker: certificate verify failed)" \
    wait_until 5 bash -c "tail -n +$((m + 1)) '$T/broker.log' | grep -q 'certificate verify failed'"
check "... and it never got as far as logging in" \
    bash -c "! tail -n +$((m + 1)) '$T/broker.log' | grep -q 'New client connected'"
m=$(wc -l <"$T/broker.log")
check "client without a certificate (right password) is refused at the handshake" \
    sub_refused nocert --cafile "$PKI/ca.crt" -u noc -P "$PW_NOC"
check "... (broker: peer did not return a certificate)" \
    wait_until 5 bash -c "tail -n +$((m + 1)) '$T/broker.log' | grep -q 'peer did not return a certificate'"
timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C 1 -W 3 -t "$P/alarm/#" \
    >"$T/plain.out" 2>"$T/plain.err"
check "a plain (non-TLS) client gets nothing" test ! -s "$T/plain.out"

# ---------------------------------------------------------------- intruder vs noc
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "alarm activated (noc sees the event)" \
    rec_wait 10 noc " $P/event .*\"alarm\":\"room-hot\".*\"state\":\"active\",\"acked\":false.*\"transition\":\"activated\""
check "noc sees the retained alarm state active" \
    rec_wait 5 noc " $P/alarm/room-hot .*\"state\":\"active\",\"acked\":false"
INTR=(-h 127.0.0.1 -p "$MQTT_PORT" -V mqttv311 "${INTR_TLS[@]}" -u intruder -P "$PW_INTRUDER")
m=$(wc -l <"$T/broker.log")
timeout 10 mosquitto_pub "${INTR[@]}" -q 1 -t "$P/cmd/ack" -m '{"alarm":"room-hot","by":"intruder"}' \
    2>"$T/intr-pub.err"
check "intruder's publish completes at the MQTT level (QoS 1 acknowledged)" test $? -eq 0
timeout 10 mosquitto_pub "${INTR[@]}" -q 1 -r -t "$P/status" -m offline 2>>"$T/intr-pub.err"
timeout 10 mosquitto_pub "${INTR[@]}" -q 1 -t "$P/event" -m '{"alarm":"room-hot","transition":"cleared"}' \
    2>>"$T/intr-pub.err"
check "broker denied the intruder's cmd/ack" \
    wait_until 5 bash -c "tail -n +$((m + 1)) '$T/broker.log' | grep -q \"Denied PUBLISH from .*'$P/cmd/ack'\""
check "broker denied the intruder's spoofed status and event" \
    bash -c "tail -n +$((m + 1)) '$T/broker.log' | grep -q \"Denied PUBLISH from .*'$P/status'\" &&
             tail -n +$((m + 1)) '$T/broker.log' | grep -q \"Denied PUBLISH from .*'$P/event'\""
"$EMBER_BIN/emberctl" -s "$T/ctl.sock" alarms >"$T/alarms1.out"
check "the alarm stays unacknowledged" grep -qE "^room-hot +active +no " "$T/alarms1.out"
check "emberd logged no MQTT command" bash -c "! grep -q 'mqtt command' '$T/emberd.log'"
check "noc never saw the spoofed status" bash -c "! grep -q ' $P/status offline' '$T/noc.rec'"
timeout 10 mosquitto_sub "${NOC[@]}" -C 1 -t "$P/status" >"$T/late2.out" 2>&1
check "the retained status is still online" grep -qx online "$T/late2.out"

timeout 10 mosquitto_pub "${NOC[@]}" -q 1 -t "$P/cmd/ack" -m '{"alarm":"room-hot","by":"noc"}'
check "noc's ack over cmd/ack is applied" \
    rec_wait 5 noc " $P/event .*\"alarm\":\"room-hot\".*\"acked\":true.*\"transition\":\"acked\""
check "emberd logged the command by noc" wait_until 10 log_has "$T/emberd.log" "mqtt command ack room-hot by noc done"
check "exactly one ack event" test "$(grep -c "\"transition\":\"acked\"" "$T/noc.rec")" -eq 1
check "the retained alarm state says acked" rec_wait 5 noc " $P/alarm/room-hot .*\"state\":\"active\",\"acked\":true"
check "intruder's subscription to emberwatch/# received nothing" \
    bash -c "grep -q '# subscribed' '$T/intr.rec' && [ \$(grep -vc '^#' '$T/intr.rec') -eq 0 ]"
log "intruder: $(grep '^#' "$T/intr.rec" | tr '\n' ' ')"

# ---------------------------------------------------------------- misconfigurations
# conf_variant NAME SED-EXPR...: a copy of emberd.conf for another agent id
# (its own client id, control socket, journal/state and GPIO FIFO), with edits.
conf_variant() {
    local name=$1
    shift
    local args=(-e "s/^id = a1$/id = $name/" -e "s#^control = .*#control = $T/$name.sock#"
        -e "s#^journal = .*#journal = $T/$name.journal.db#" -e "s#^state = .*#state = $T/$name.db#"
        -e "s#^gpio_sim = .*#gpio_sim = $T/$name.gpio#")
    for e in "$@"; do args+=(-e "$e"); done
    sed "${args[@]}" "$T/emberd.conf" >"$T/$name.conf"
    grep -q "^id = $name$" "$T/$name.conf" &&
        ! grep -qE "= $T/(ctl\.sock|journal\.db|state\.db|gpio-sim)$" "$T/$name.conf" ||
        die "conf_variant $name: the copy still shares files with the main emberd"
}
printf '%s\n' "$PW_EMBERD" >"$T/open.pw"
chmod 0644 "$T/open.pw"
conf_variant openpw "s#^password_file = .*#password_file = $T/open.pw#"
"$EMBER_BIN/emberd" -n -c "$T/openpw.conf" >"$T/n-openpw.out" 2>&1
check "emberd -n rejects a password file of mode 0644 (exit 1)" test $? -eq 1
check "... naming file:line and the password file" \
    grep -qE "openpw\.conf:[0-9]+: .*password_file: $T/open\.pw is open to group or others" "$T/n-openpw.out"
log "emberd -n: $(head -1 "$T/n-openpw.out")"
timeout 10 "$EMBER_BIN/emberd" -c "$T/openpw.conf" >"$T/openpw.log" 2>&1
rc=$?
check "emberd refuses to start with it (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "... with a message naming the file" grep -q "$T/open.pw is open to group or others" "$T/openpw.log"
check "... and never connected" bash -c "! grep -q 'as emberd-lab-openpw' '$T/broker.log'"

conf_variant badca "s#^cafile = .*#cafile = $PKI/rogue-ca.crt#"
m=$(wc -l <"$T/broker.log")
start_emberd badca "$T/badca.conf"
BADCA_PID=$EMBERD_PID
check "wrong CA: emberd logs the TLS failure" wait_until 10 grep -qiE "tls|ssl|certificate" "$T/badca.log"
log "wrong CA: $(grep -iE "tls|ssl|certificate" "$T/badca.log" | head -1)"
check "wrong CA: it keeps retrying (3 refused handshakes at the broker)" \
    wait_until 15 bash -c "[ \$(tail -n +$((m + 1)) '$T/broker.log' | grep -c 'New connection from') -ge 3 ]"
check "wrong CA: it never logged in" bash -c "! grep -q 'as emberd-lab-badca' '$T/broker.log'"
check "wrong CA: emberd is still running" kill -0 "$BADCA_PID"
"$EMBER_BIN/emberctl" -s "$T/badca.sock" status >"$T/badca-status.out" 2>&1
check "wrong CA: emberctl status answers and shows the MQTT link down" \
    grep -qE "mqtt disconnected" "$T/badca-status.out"
stop_pid "$BADCA_PID"
check "wrong CA: clean exit on SIGTERM (no crash, no sanitizer report)" \
    bash -c "! grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' '$T/badca.log'"

conf_variant badname "s#^port = .*#port = $PORT2#"
start_emberd badname "$T/badname.conf"
BADNAME_PID=$EMBERD_PID
check "wrong broker name: emberd logs the TLS failure" wait_until 10 grep -qiE "tls|ssl|certificate" "$T/badname.log"
check "wrong broker name: it keeps retrying (3 attempts on that listener)" \
    wait_until 15 bash -c "[ \$(grep -c 'New connection from .* on port $PORT2' '$T/broker.log') -ge 3 ]"
check "wrong broker name: it never logged in" bash -c "! grep -q 'as emberd-lab-badname' '$T/broker.log'"
check "wrong broker name: emberd is still running" kill -0 "$BADNAME_PID"
stop_pid "$BADNAME_PID"

# ---------------------------------------------------------------- control socket
check "control socket mode is control_mode's default 0660" test "$(stat -c %a "$T/ctl.sock")" = 660
if [ "$(id -u)" -ne 0 ]; then
    log "NOTE: not root: skipping the other-Unix-user control socket checks"
else
    # A throwaway user, and a directory it may traverse (the test dir is 0700,
    # which alone would keep it out): only the socket's own mode decides.
    OTHER=embt$$
    CDIR=$(mktemp -d /tmp/ember-ctl.XXXXXX)
    chmod 0755 "$CDIR"
    cp "$EMBER_BIN/emberctl" "$CDIR/emberctl"
    chmod 0755 "$CDIR/emberctl"
    useradd -M -d /nonexistent -s /usr/sbin/nologin "$OTHER" >"$T/useradd.log" 2>&1 ||
        die "useradd $OTHER failed"
    # Remove the user and the directory however the test ends.
    # shellcheck disable=SC2154 # rc is set inside the trap
    trap 'rc=$?; userdel "$OTHER" >/dev/null 2>&1; rm -rf "$CDIR"; (exit $rc); cleanup' EXIT
    conf_variant ctl "s#^control = .*#control = $CDIR/ctl.sock#"
    start_emberd ctlagent "$T/ctl.conf"
    CTL_PID=$EMBERD_PID
    check "socket in a traversable directory still has mode 0660" \
        test "$(stat -c %a "$CDIR/ctl.sock")" = 660
    as_other() { setpriv --reuid="$OTHER" --regid="$OTHER" --init-groups "$@"; }
    as_other "$CDIR/emberctl" -s "$CDIR/ctl.sock" status >"$T/other.out" 2>"$T/other.err"
    rc=$?
    log "other user: emberctl exit $rc: $(cat "$T/other.err")"
    check "another Unix user cannot connect to the control socket (exit 3)" test "$rc" -eq 3
    check "... permission denied" grep -q "Permission denied" "$T/other.err"
    as_other "$CDIR/emberctl" -s "$CDIR/ctl.sock" ack room-hot >/dev/null 2>&1
    check "... nor ack through it" test $? -eq 3
    # Positive control: the same user, once in the socket's group, gets in.
    chgrp "$OTHER" "$CDIR/ctl.sock"
    as_other "$CDIR/emberctl" -s "$CDIR/ctl.sock" status >"$T/other2.out" 2>&1
    check "a member of the socket's group can connect (mode 0660 is what decides)" test $? -eq 0
    stop_pid "$CTL_PID"
fi

check "emberd survived it all" kill -0 "$MAIN_PID"
stop_pid "$MAIN_PID"
check "clean stop publishes offline over TLS" rec_wait 5 noc " $P/status offline$"
check "no sanitizer report from any emberd" \
    bash -c "! cat '$T'/*.log | grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:'"
finish
