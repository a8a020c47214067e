#!/bin/bash
# The console logging in over TLS (run by tests/console/run.sh inside its
# network namespace): a CA and a broker certificate for 127.0.0.1/localhost (emberd names 127.0.0.1: where localhost is ::1 first, as in /etc/hosts on Debian, the IPv4-only listener would not answer it)
# made here with openssl; a private mosquitto with the README's Security
# section as it is written -- per_listener_settings false, allow_anonymous
# false, a password file (mosquitto_passwd -b) and the README's ACL, taken
# from the README itself with its site and agent renamed to this test's
# (pangyo-a -> lab, b3-agent1 -> a1) -- and three listeners on 127.0.0.1:
# plain MQTT for the independent readers (who log in as the read-only user
# noc-view), MQTT over TLS for emberd (logging in as a1, its own ACL user,
# with a password file), and websockets over TLS (wss) for the browser.
# The page comes over https from a few lines of Python's http.server with
# the broker's certificate: mosquitto 2.0.11 (Debian 12) offers HTTP/2 on a
# TLS websockets listener and then serves no file over it, so a browser
# cannot load the page from its http_dir there (ERR_HTTP2_PROTOCOL_ERROR).
# ember-sim feeds emberd a1 (room-temp in zone b3).
#
# chromium trusts the broker's certificate by its public key only
# (--ignore-certificate-errors-spki-list), and a chromium without that is
# shown to refuse the page.  console.test.mjs's tls story: a wrong password
# refused with the reason on the page; noc over wss acking an alarm; the
# read-only noc-view on the same page with every command button disabled,
# and a command forced out of it refused by the broker.  Then the broker's
# and emberd's logs are read for what the broker refused and what emberd did.
. "$(dirname "$0")/stack.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd is not installed"

# ---- the PKI: a test CA and the broker's certificate ---------------------------
PKI=$T/pki
mkdir -p "$PKI"
umask 077 # keys, passwords and the password file are private
mkca ca "emberwatch console test CA"
mkcert broker ca broker "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
check "the broker's certificate verifies against the test CA" \
    bash -c "openssl verify -CAfile '$PKI/ca.crt' '$PKI/broker.crt' >/dev/null 2>&1"
# What chromium is told to trust: the SHA-256 of the broker certificate's
# SubjectPublicKeyInfo, base64.
SPKI=$(openssl x509 -in "$PKI/broker.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
check "the broker's SPKI hash ($SPKI)" test "${#SPKI}" -eq 44

# ---- the README's ACL ---------------------------------------------------------
# The Security section's ACL is the README's code block holding "user noc".
awk '/^```/ { if (inb) { if (has) { printf "%s", buf; exit } inb = 0 } else { inb = 1; buf = ""; has = 0 } next }
     inb { buf = buf $0 "\n"; if ($0 == "user noc") has = 1 }' "$TOP/README.md" |
    sed -e 's/pangyo-a/lab/g' -e 's/b3-agent1/a1/g' >"$T/acl"
acl_ok() {
    grep -qx "user a1" "$T/acl" && grep -qx "user noc" "$T/acl" && grep -qx "user noc-view" "$T/acl" &&
        grep -qx "topic readwrite emberwatch/lab/a1/status" "$T/acl" && ! grep -q "pangyo-a\|b3-agent1" "$T/acl"
}
check "the README's ACL, renamed for site lab, agent a1 ($(grep -c '^user ' "$T/acl") users)" acl_ok
log "ACL: $(grep '^user ' "$T/acl" | tr '\n' ' ')"

PW_A1=a1-$RANDOM-$RANDOM
PW_NOC=noc-$RANDOM-$RANDOM
PW_VIEW=view-$RANDOM-$RANDOM
mosquitto_passwd -b -c "$T/passwd" a1 "$PW_A1" >>"$T/openssl.log" 2>&1 &&
    mosquitto_passwd -b "$T/passwd" noc "$PW_NOC" >>"$T/openssl.log" 2>&1 &&
    mosquitto_passwd -b "$T/passwd" noc-view "$PW_VIEW" >>"$T/openssl.log" 2>&1 ||
    die "mosquitto_passwd failed"
printf '%s\n' "$PW_A1" >"$T/a1.pw"
printf '%s\n' "$PW_VIEW" >"$T/noc-view.pw"

# ---- mosquitto ------------------------------------------------------------------
MQTT_PORT=$(free_port)
MQTTS_PORT=$(free_port)
WSS_PORT=$(free_port)
HTTPS_PORT=$(free_port)
[ "$(printf '%s\n' "$MQTT_PORT" "$MQTTS_PORT" "$WSS_PORT" "$HTTPS_PORT" | sort -u | wc -l)" -eq 4 ] ||
    die "free_port gave the same port twice; run again"
# As root mosquitto would switch to user mosquitto, who may not read the
# test's 0700 directory.  log_type all: refused publishes are logged at debug.
cat >"$T/mosquitto.conf" <<EOF
user $(id -un)
persistence false
per_listener_settings false
allow_anonymous false
password_file $T/passwd
acl_file $T/acl
log_dest stderr
log_type all
connection_messages true

# the independent readers: plain MQTT
listener $MQTT_PORT 127.0.0.1

# emberd: MQTT over TLS
listener $MQTTS_PORT 127.0.0.1
cafile $PKI/ca.crt
certfile $PKI/broker.crt
keyfile $PKI/broker.key

# the browser: MQTT over wss
listener $WSS_PORT 127.0.0.1
protocol websockets
certfile $PKI/broker.crt
keyfile $PKI/broker.key
EOF
start_bg broker mosquitto -c "$T/mosquitto.conf"
BROKER_PID=$LAST_PID
wait_until 10 log_has "$T/broker.log" "running" || die "mosquitto did not start"
wss_listens() { ss -ltnH "sport = :$WSS_PORT" | grep -q LISTEN; }
check "websockets listener on port $WSS_PORT" wait_until 5 wss_listens
# What the listener offers a browser (h2 is why it does not serve the page).
log "wss listener: $(echo | timeout 5 openssl s_client -connect "127.0.0.1:$WSS_PORT" -alpn h2,http/1.1 \
    -CAfile "$PKI/ca.crt" 2>/dev/null | grep -E '^(ALPN|Verify return code)' | tr '\n' ' ')"
# ws_upgrade plain|CAFILE|system: the status of an HTTP/1.1 WebSocket upgrade
# for mqtt on the wss listener, over plain TCP or over TLS verified against
# CAFILE or the system's CAs ("error: ..." when there is none).
cat >"$T/ws_upgrade.py" <<'EOF'
import socket, ssl, sys
port, trust = int(sys.argv[1]), sys.argv[2]
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if trust != "plain":
        ctx = ssl.create_default_context(cafile=None if trust == "system" else trust)
        ctx.set_alpn_protocols(["http/1.1"])
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ZW1iZXJ3YXRjaCB0ZXN0IQ==\r\n"
              b"Sec-WebSocket-Protocol: mqtt\r\n\r\n")
    line = s.makefile("rb").readline().decode("latin-1").split()
    print(line[1] if len(line) > 1 else "error: no status line")
except Exception as e:
    print("error: %s" % e)
EOF
ws_upgrade() { timeout 15 $PY "$T/ws_upgrade.py" "$WSS_PORT" "$1"; }
check "the wss listener upgrades a WebSocket for mqtt, its certificate verified against the test CA" \
    test "$(ws_upgrade "$PKI/ca.crt")" = 101
r=$(ws_upgrade plain)
check "... speaks no plain ws ($r)" test "$r" != 101
r=$(ws_upgrade system)
check "... and a client that does not know the test CA refuses it ($r)" test "$r" != 101

# The page over https, with the broker's certificate.
cat >"$T/https.py" <<'EOF'
import functools, http.server, ssl, sys
port, directory, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
EOF
start_bg https $PY "$T/https.py" "$HTTPS_PORT" "$DIST" "$PKI/broker.crt" "$PKI/broker.key"
page_https() {
    [ "$(curl -s -m 5 --cacert "$PKI/ca.crt" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$HTTPS_PORT/")" = 200 ]
}
check "the page is served over https, its certificate verified against the test CA" wait_until 10 page_https
anon_refused() {
    local out
    out=$(timeout 10 mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -C 1 -W 3 -t 'emberwatch/#' 2>&1)
    [ $? -ne 0 ] && grep -qi "not authori" <<<"$out"
}
check "an anonymous client is refused" anon_refused

# ---- the room: ember-sim, emberd a1 over TLS as user a1 ------------------------------
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
write_room_conf "$T/a1.conf" "$SIM_PORT" "host = 127.0.0.1" "cafile = $PKI/ca.crt" "username = a1" \
    "password_file = $T/a1.pw" "keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s"
sed -i "s/^port = $MQTT_PORT\$/port = $MQTTS_PORT/" "$T/a1.conf"
grep -qx "port = $MQTTS_PORT" "$T/a1.conf" || die "a1.conf does not name the TLS port"
"$EMBER_BIN/emberd" -n -c "$T/a1.conf" >"$T/a1-check.log" 2>&1 || die "emberd -n rejects a1.conf"

rec_start rec --username noc-view --password-file "$T/noc-view.pw" "emberwatch/#"
start_emberd a1 "$T/a1.conf"
A1_PID=$EMBERD_PID
check "emberd logs in on the TLS listener as user a1" \
    wait_until 10 log_has "$T/broker.log" "as emberd-lab-a1 (.*u'a1')"
check "... (the broker's only connection on port $MQTTS_PORT)" \
    test "$(grep -c "New connection from .* on port $MQTTS_PORT" "$T/broker.log")" -eq 1
check "a1 online at the broker (the read-only reader sees it)" rec_wait 10 rec " emberwatch/lab/a1/status online"
check "room-temp published" rec_wait 10 rec " emberwatch/lab/a1/sensor/room-temp .*\"quality\":\"good\""

# ---- the browser ------------------------------------------------------------------
export CONSOLE_SHOT_FIRST=41 CHROMIUM_SPKI=$SPKI NOC_PASSWORD=$PW_NOC VIEW_PASSWORD=$PW_VIEW
export MQTT_USER=noc-view MQTT_PASSWORD=$PW_VIEW WSS_PORT
run_story tls "https://127.0.0.1:$HTTPS_PORT/?broker=wss://127.0.0.1:$WSS_PORT/&operator=noc-kim&prefix=emberwatch"

# ---- what the broker and emberd say ---------------------------------------------------
# The page's logins over the websockets listener, by user name.  The wrong
# password: one MQTT 5 CONNACK "not authorized" (135), and no second try.
# mosquitto 2.0.11 names that CONNACK's websockets client by its address
# (::ffff:127.0.0.1), 2.0.21 by the page's client id.
n=$(grep -cE "Sending CONNACK to (::ffff:127\.0\.0\.1|ember-console-[0-9a-f]+) \(0, 135\)" "$T/broker.log")
check "the broker refused the page's login with the wrong password once ($n)" test "$n" -eq 1
check "the page logged in as noc, MQTT 5" grep -qE "as ember-console-[0-9a-f]+ \(p5, .*u'noc'\)" "$T/broker.log"
check "the page logged in as noc-view, MQTT 5" \
    grep -qE "as ember-console-[0-9a-f]+ \(p5, .*u'noc-view'\)" "$T/broker.log"
check "the broker let noc's probe through" \
    grep -qE "Received PUBLISH from ember-console-[0-9a-f]+ .*'emberwatch/_console/noc/cmd/probe'" "$T/broker.log"
check "the broker refused noc-view's probe" \
    grep -qE "Denied PUBLISH from ember-console-[0-9a-f]+ .*'emberwatch/_console/noc-view/cmd/probe'" "$T/broker.log"
check "the broker refused the ack forced out of noc-view's page" \
    grep -qE "Denied PUBLISH from ember-console-[0-9a-f]+ .*'emberwatch/lab/a1/cmd/ack'" "$T/broker.log"
check "the broker refused none of emberd's own publishes (the README's agent block)" \
    bash -c "! grep -q 'Denied PUBLISH from emberd-lab-a1' '$T/broker.log'"
check "emberd ran noc-kim's ack" log_has "$T/a1.log" "mqtt command ack room-hot by noc-kim done"
check "... and no other command" test "$(grep -c 'mqtt command' "$T/a1.log")" -eq 1
stop_pid "$A1_PID"
check "emberd's clean stop publishes offline (the ACL lets a1 write its status)" \
    rec_wait 5 rec " emberwatch/lab/a1/status offline$"
check "no sanitizer report from emberd or ember-sim" \
    bash -c "! cat '$T/a1.log' '$T/sim.log' | grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:'"
finish
