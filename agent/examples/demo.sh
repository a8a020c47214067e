#!/bin/bash
# make demo: a private mosquitto on loopback, ember-sim playing a battery-room
# scenario (Modbus TCP + RTU over a socat pty pair), emberd polling it, and
# ember-drain taking the room out when the zone asks: its servers out of a
# local HAProxy, and its address out of a private BIND 9 named's zone (an
# RFC 2136 update signed with TSIG; dig shows the answer before and after).
# Prints what flows until Ctrl-C, then stops everything it started (by PID).
# DEMO_SECONDS=N stops it after N seconds.
set -u
BIN=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
RUN=$(mktemp -d "${TMPDIR:-/tmp}/emberwatch-demo.XXXXXX")
PIDS=()

cleanup() {
    trap - EXIT INT TERM
    echo
    echo "demo: stopping (logs in $RUN)"
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    printf '%s\n' "${PIDS[@]}" >"$RUN/pids"
    exit 0
}
trap cleanup EXIT INT TERM

bg() { # bg NAME CMD...
    local name=$1
    shift
    "$@" >"$RUN/$name.log" 2>&1 &
    PIDS+=($!)
}

wait_for() { # wait_for SECONDS CMD...: polls CMD every 20 ms, for SECONDS at most
    local end=$((SECONDS + $1))
    shift
    while ! "$@" 2>/dev/null; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.02
    done
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

MQTT_PORT=$(free_port)
SIM_PORT=$(free_port)

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" \
    >"$RUN/mosquitto.conf"
bg broker mosquitto -c "$RUN/mosquitto.conf" -v
wait_for 10 grep -q running "$RUN/broker.log" || { echo "demo: mosquitto did not start" >&2; exit 1; }

bg socat socat "pty,raw,echo=0,link=$RUN/rtu-sim" "pty,raw,echo=0,link=$RUN/rtu-agent"
wait_for 10 test -e "$RUN/rtu-sim" -a -e "$RUN/rtu-agent" || { echo "demo: socat failed" >&2; exit 1; }

bg ember-sim "$BIN/ember-sim" -s "$TOP/agent/sim/scenarios/battery-room.scn" \
    -l "tcp0=tcp:127.0.0.1:$SIM_PORT" -l "rtu0=rtu:$RUN/rtu-sim" -c "$RUN/sim.ctl"
wait_for 10 grep -q ready "$RUN/ember-sim.log" || {
    echo "demo: ember-sim did not start:" >&2
    cat "$RUN/ember-sim.log" >&2
    exit 1
}

sed -e "s|@TOP@|$TOP|g" -e "s|@RUN@|$RUN|g" -e "s|@MQTT_PORT@|$MQTT_PORT|g" \
    -e "s|@SIM_PORT@|$SIM_PORT|g" "$TOP/agent/examples/bench.conf.in" >"$RUN/emberd.conf"
"$BIN/emberd" -n -c "$RUN/emberd.conf" || exit 1
bg emberd "$BIN/emberd" -c "$RUN/emberd.conf"

# HAProxy in front of four web servers: two in the burning room (b3), two
# elsewhere; ember-drain takes the b3 pair out when zone b3 asks.
WEB_PORT=$(free_port)
{
    printf 'global\n    stats socket %s mode 600 level admin\n\n' "$RUN/haproxy.sock"
    printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n'
    printf '    timeout server 10s\n\nfrontend www\n    bind 127.0.0.1:%s\n' "$WEB_PORT"
    printf '    default_backend web\n\nbackend web\n    balance roundrobin\n'
    for n in b3-web1 b3-web2 b4-web1 b4-web2; do
        p=$(free_port)
        mkdir -p "$RUN/www-$n"
        echo "$n" >"$RUN/www-$n/index.html"
        bg "www-$n" $PY -m http.server "$p" --bind 127.0.0.1 --directory "$RUN/www-$n"
        printf '    server %s 127.0.0.1:%s\n' "$n" "$p"
    done
} >"$RUN/haproxy.cfg"
bg haproxy haproxy -db -f "$RUN/haproxy.cfg"
wait_for 10 test -S "$RUN/haproxy.sock" || { echo "demo: haproxy did not start" >&2; exit 1; }

# A private BIND 9 named: zone demo.test, whose www answers with the burning
# room's address (192.0.2.3) and another site's (198.51.100.4).  ember-drain
# may update it with the TSIG key "ember-drain" (update-policy); the drain
# removes 192.0.2.3.
DNS_PORT=$(free_port)
DNS_NAME=www.demo.test
DNS_SITE=192.0.2.3
mkdir -p "$RUN/named"
(umask 077 && head -c 32 /dev/urandom | base64 >"$RUN/tsig.secret")
cat >"$RUN/named/demo.test.zone" <<EOC
\$TTL 30
@   IN SOA ns.demo.test. hostmaster.demo.test. 1 3600 600 86400 30
@   IN NS  ns.demo.test.
ns  IN A   127.0.0.1
www IN A   $DNS_SITE
www IN A   198.51.100.4
EOC
bg named "$TOP/tools/private-named.sh" "$RUN/named" "$DNS_PORT" demo.test "$RUN/tsig.secret"
dns_answer() { # the addresses dig reads for www.demo.test A, sorted, on one line
    dig @127.0.0.1 -p "$DNS_PORT" +short +norecurse +time=1 +tries=2 "$DNS_NAME" A |
        grep -E '^[0-9.]+$' | sort | tr '\n' ' ' | sed 's/ $//'
}
dns_answers() { [ -n "$(dns_answer)" ]; }
wait_for 20 dns_answers || {
    echo "demo: named did not answer on 127.0.0.1:$DNS_PORT:" >&2
    tail -n 15 "$RUN/named.log" >&2
    exit 1
}
DNS_BEFORE=$(dns_answer)

sed -e "s|@RUN@|$RUN|g" -e "s|@MQTT_PORT@|$MQTT_PORT|g" -e "s|@DNS_PORT@|$DNS_PORT|g" \
    "$TOP/agent/examples/ember-drain-demo.conf.in" >"$RUN/ember-drain.conf"
"$BIN/ember-drain" -n -c "$RUN/ember-drain.conf" >/dev/null || exit 1
bg ember-drain "$BIN/ember-drain" -c "$RUN/ember-drain.conf"

cat <<MSG

emberwatch demo: a UPS battery room that goes into thermal runaway
  broker     mosquitto on 127.0.0.1:$MQTT_PORT
  simulator  ember-sim, scenario agent/sim/scenarios/battery-room.scn
             (Modbus TCP 127.0.0.1:$SIM_PORT, RTU on $RUN/rtu-sim)
  agent      emberd -c $RUN/emberd.conf

  timeline   0-20 s normal; ~50 s the UPS battery passes 40 C (warning);
             from 60 s the rack runs away: ~75 s its rate of rise is critical,
             ~95 s off-gas makes a second sensor critical and zone b3 asks for
             a DRAIN: ember-drain puts HAProxy's b3 servers in DRAIN and
             removes b3's address $DNS_SITE from $DNS_NAME;
             smoke at 100 s, 60 C at ~120 s; the scenario repeats every
             240 s, the drain stays until "ember-drain undrain bench"

  drain      ember-drain -c $RUN/ember-drain.conf
             -> HAProxy (web on 127.0.0.1:$WEB_PORT): b3-web1, b3-web2 to DRAIN
             -> DNS: named on 127.0.0.1:$DNS_PORT, zone demo.test (RFC 2136 + TSIG):
                $DNS_NAME A answers $DNS_BEFORE before the drain,
                without b3's $DNS_SITE after it (lines "dig $DNS_NAME A" below)

  raw messages:       mosquitto_sub -p $MQTT_PORT -v -t 'emberwatch/#'
  operate the agent:  $BIN/emberctl -s $RUN/emberd.sock alarms   (or status, ack ID, test b3)
  drain controller:   $BIN/ember-drain --socket $RUN/ember-drain.sock status   (undrain bench)
  HAProxy servers:    echo 'show servers state web' | socat stdio $RUN/haproxy.sock
  DNS answer:         dig @127.0.0.1 -p $DNS_PORT +short $DNS_NAME A
  change a value:     echo 'set ups.battery_temperature 60' > $RUN/sim.ctl
Press Ctrl-C to stop.

MSG
# dig's answer for www.demo.test A, read every second: a line when it
# changes (the first one is the answer before the drain).  read -t waits on
# a FIFO nobody writes, so the loop sleeps without a child to leave behind.
dns_watch() {
    local was="" now note
    mkfifo "$RUN/dns-tick" && exec 3<>"$RUN/dns-tick" || return 1
    while :; do
        now=$(dns_answer)
        if [ -n "$now" ] && [ "$now" != "$was" ]; then
            case " $now " in
            *" $DNS_SITE "*) note="with b3's $DNS_SITE" ;;
            *) note="without b3's $DNS_SITE: drained" ;;
            esac
            printf '%s  %-30s %s  (%s)\n' "$(date +%H:%M:%S)" "dig $DNS_NAME A" "$now" "$note"
            was=$now
        fi
        read -r -t 1 -u 3 _
    done
}
dns_watch &
PIDS+=($!)
# Show the agent's messages as they arrive, one line each.
$PY "$TOP/agent/examples/demo_watch.py" "$MQTT_PORT" 'emberwatch/#' "${DEMO_SECONDS:-0}" &
SUB=$!
PIDS+=($SUB)
wait "$SUB"
