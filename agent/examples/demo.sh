#!/bin/bash
# make demo: a private mosquitto that also serves the NOC console
# (agent/console/dist) on its websockets listener, ember-sim playing a
# battery-room scenario (Modbus TCP + RTU over a socat pty pair), emberd
# polling it, and ember-drain taking the room out when the zone asks: its
# servers out of a local HAProxy, and its address out of a private BIND 9
# named's zone (an RFC 2136 update signed with TSIG; dig shows the answer
# before and after).  Prints the console's URL first, the listeners as ss
# shows them, then a short summary of what flows until Ctrl-C, then stops
# everything it started (by PID).  DEMO_SECONDS=N stops it after N seconds.
#
# mosquitto 2.0.11 (Debian 12) listens for websockets on every address
# whatever address its listener names (fixed in 2.0.12).  So the programs
# run in a network namespace of their own with only loopback (unshare --net;
# with a user namespace too when not root), and socat relays publish four of
# its ports -- the console's websockets, MQTT, HAProxy's web frontend and
# named (TCP) -- on this machine's 127.0.0.1 alone, each through a unix
# socket in the run directory:
#   host  TCP-LISTEN:PORT,bind=127.0.0.1 -> UNIX-CONNECT:RUN/relay-NAME.sock
#   ns    UNIX-LISTEN:RUN/relay-NAME.sock -> TCP:127.0.0.1:PORT
# The same port numbers are used on both sides; unix sockets (emberctl's,
# ember-drain's, HAProxy's) and the simulator's FIFO are files, reachable
# from both.  Where no namespace can be made (or DEMO_NETNS=no), the
# programs bind 127.0.0.1 directly, and the demo says so when ss shows the
# websockets listener on every address.
#
# This one file is both sides: run by make demo it is the host side (ports,
# relays, the namespace); it runs itself again inside the namespace, with
# EMBER_DEMO_RUN set, to start and show the stack.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$TOP/build}
SELF=$TOP/agent/examples/demo.sh
PY=/usr/bin/python3

wait_for() { # wait_for SECONDS CMD...: polls CMD every 20 ms, for SECONDS at most
    local end=$((SECONDS + $1))
    shift
    while ! "$@" 2>/dev/null; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.02
    done
}

free_ports() { # free_ports N: N distinct free TCP ports of 127.0.0.1, on one line
    $PY -c 'import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# stop_pid PID: TERM, up to 5 s, then KILL; reaps it.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# The ports published on this machine: "PORT RELAY-NAME what it is" lines.
published() {
    printf '%s %s %s\n' "$WS_PORT" ws "console + MQTT over websockets (mosquitto)" \
        "$MQTT_PORT" mqtt "MQTT (mosquitto)" "$WEB_PORT" web "HAProxy's web frontend" \
        "$DNS_PORT" dns "DNS over TCP (named)"
}
ss_filter() { echo "( sport = :$WS_PORT or sport = :$MQTT_PORT or sport = :$WEB_PORT or sport = :$DNS_PORT )"; }

if [ -z "${EMBER_DEMO_RUN:-}" ]; then
    # ---- the host side ------------------------------------------------------
    RUN=$(mktemp -d "${TMPDIR:-/tmp}/emberwatch-demo.XXXXXX")
    read -r MQTT_PORT WS_PORT WEB_PORT DNS_PORT SIM_PORT <<<"$(free_ports 5)"
    export MQTT_PORT WS_PORT WEB_PORT DNS_PORT SIM_PORT
    NS=()
    NS_WHY="DEMO_NETNS=no"
    if [ "${DEMO_NETNS:-yes}" != no ]; then
        NS=(unshare --net)
        [ "$(id -u)" -eq 0 ] || NS=(unshare --user --map-root-user --net)
        if ! "${NS[@]}" -- ip link set lo up >"$RUN/unshare.log" 2>&1; then
            NS_WHY="$(head -n 1 "$RUN/unshare.log")"
            NS=()
        fi
    fi
    HOST_PIDS=()
    INNER=
    REAPED=
    # shellcheck disable=SC2317 # run by the traps below
    host_cleanup() { # host_cleanup RC: the inner side first, then the relays
        trap '' INT TERM HUP PIPE
        trap - EXIT
        if [ -n "$INNER" ] && [ -z "$REAPED" ]; then
            # The inner side stops its own processes (each within 5 s).
            kill -TERM "$INNER" 2>/dev/null
            for _ in $(seq 1200); do kill -0 "$INNER" 2>/dev/null || break; sleep 0.05; done
            kill -KILL "$INNER" 2>/dev/null
            wait "$INNER" 2>/dev/null
        fi
        for pid in "${HOST_PIDS[@]}"; do stop_pid "$pid"; done
        printf '%s\n' ${INNER:+"$INNER"} "${HOST_PIDS[@]}" >>"$RUN/pids"
        exit "$1"
    }
    trap 'host_cleanup $?' EXIT
    trap 'host_cleanup 0' INT TERM HUP PIPE
    if [ ${#NS[@]} -gt 0 ]; then
        while read -r port name _; do
            socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$RUN/relay-$name.sock" \
                2>>"$RUN/relays-host.log" &
            HOST_PIDS+=($!)
        done < <(published)
        # shellcheck disable=SC2317 # run by wait_for
        relays_listen() { [ "$(ss -ltnH "$(ss_filter)" | wc -l)" -ge 4 ]; }
        wait_for 10 relays_listen || {
            echo "demo: the relays on 127.0.0.1 did not start:" >&2
            cat "$RUN/relays-host.log" >&2
            exit 1
        }
        ss -ltn "$(ss_filter)" >"$RUN/listeners"
        EMBER_DEMO_NS="${NS[*]}" EMBER_DEMO_RUN=$RUN "${NS[@]}" -- bash "$SELF" "$BIN" &
    else
        EMBER_DEMO_NS="" EMBER_DEMO_NOTE=$NS_WHY EMBER_DEMO_RUN=$RUN bash "$SELF" "$BIN" &
    fi
    INNER=$!
    wait "$INNER"
    rc=$?
    REAPED=1
    exit $rc
fi

# ---- the inner side: in the namespace (or, without one, on the host) -------
RUN=$EMBER_DEMO_RUN
PIDS=()

cleanup() { # cleanup RC
    # Nothing interrupts the stopping: not a closed terminal, nor a reader
    # of the output that has gone (Ctrl-C on "make demo | tee").
    trap '' INT TERM HUP PIPE
    trap - EXIT
    echo
    echo "demo: stopping (logs in $RUN)"
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[$i]}"
    done
    printf '%s\n' "${PIDS[@]}" >"$RUN/pids"
    exit "$1"
}
trap 'cleanup $?' EXIT
trap 'cleanup 0' INT TERM HUP PIPE

bg() { # bg NAME CMD...
    local name=$1
    shift
    "$@" >"$RUN/$name.log" 2>&1 &
    PIDS+=($!)
}

if [ -n "$EMBER_DEMO_NS" ]; then
    ip link set lo up || { echo "demo: cannot bring lo up in the namespace" >&2; exit 1; }
    while read -r port name _; do
        bg "relay-$name" socat "UNIX-LISTEN:$RUN/relay-$name.sock,fork" "TCP:127.0.0.1:$port"
    done < <(published)
fi

# mosquitto: MQTT, and websockets with the console's page (http_dir).  As
# root mosquitto would switch to user mosquitto, who may not read the tree
# (/root/...): it keeps the user it is started as.
{
    printf 'listener %s 127.0.0.1\n' "$MQTT_PORT"
    printf 'listener %s 127.0.0.1\nprotocol websockets\nhttp_dir %s\n' "$WS_PORT" "$TOP/agent/console/dist"
    printf 'allow_anonymous true\npersistence false\nuser %s\n' "$(id -un)"
} >"$RUN/mosquitto.conf"
bg broker mosquitto -c "$RUN/mosquitto.conf" -v
wait_for 10 grep -q running "$RUN/broker.log" || {
    echo "demo: mosquitto did not start:" >&2
    tail -n 5 "$RUN/broker.log" >&2
    exit 1
}
page_served() {
    $PY -c 'import sys, urllib.request
sys.exit(urllib.request.urlopen(sys.argv[1], timeout=2).status != 200)' "http://127.0.0.1:$WS_PORT/"
}
wait_for 10 page_served || { echo "demo: mosquitto does not serve the console on port $WS_PORT" >&2; exit 1; }

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
"$BIN/emberd" -n -c "$RUN/emberd.conf" >"$RUN/emberd-check.log" 2>&1 || { cat "$RUN/emberd-check.log" >&2; exit 1; }
bg emberd "$BIN/emberd" -c "$RUN/emberd.conf"

# HAProxy in front of four web servers: two in the burning room (b3), two
# elsewhere; ember-drain takes the b3 pair out when zone b3 asks.
{
    printf 'global\n    stats socket %s mode 600 level admin\n\n' "$RUN/haproxy.sock"
    printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n'
    printf '    timeout server 10s\n\nfrontend www\n    bind 127.0.0.1:%s\n' "$WEB_PORT"
    printf '    default_backend web\n\nbackend web\n    balance roundrobin\n'
    read -r -a web_ports <<<"$(free_ports 4)"
    i=0
    for n in b3-web1 b3-web2 b4-web1 b4-web2; do
        p=${web_ports[$i]}
        i=$((i + 1))
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

# ---- what it prints: the console's URL first, then the listeners -----------
echo "console: http://127.0.0.1:$WS_PORT/?operator=noc&prefix=emberwatch&autoconnect=1"
echo
if [ -n "$EMBER_DEMO_NS" ]; then
    cat <<MSG
emberwatch demo: the programs run in a network namespace of their own that
has only loopback, made by: $EMBER_DEMO_NS
socat relays publish four of its ports on this machine's 127.0.0.1 alone;
ss -ltn on this machine:
MSG
    sed 's/^/    /' "$RUN/listeners"
    ws_inside=$(ss -ltnH "sport = :$WS_PORT" | awk '{ print $4 }' | head -n 1)
    case $ws_inside in 127.0.0.1:*) ;; *)
        echo "In the namespace mosquitto listens for websockets on $ws_inside (every address):"
        echo "there, every address is loopback's."
        ;;
    esac
else
    ss -ltn "$(ss_filter)" >"$RUN/listeners"
    cat <<MSG
emberwatch demo: no network namespace ($EMBER_DEMO_NOTE): the programs listen
on this machine itself.  ss -ltn:
MSG
    sed 's/^/    /' "$RUN/listeners"
    wide=$(awk 'NR > 1 && $4 !~ /^127\.0\.0\.1:/ { print $4 }' "$RUN/listeners" | paste -sd ' ')
    if [ -n "$wide" ]; then
        echo "WARNING: $wide listens on every address, not on 127.0.0.1 alone:"
        echo "the console and its broker are reachable from the network unless a firewall"
        echo "closes the port ($(mosquitto -h 2>/dev/null | head -n 1 | sed 's/ *$//'); fixed in 2.0.12)."
    fi
fi
published | while read -r port _ what; do printf '  %-6s %s\n' "$port" "$what"; done
echo "  (again: ss -ltn '$(ss_filter)')"

cat <<MSG

a UPS battery room that goes into thermal runaway
  broker     mosquitto: MQTT on 127.0.0.1:$MQTT_PORT, the console and MQTT over
             websockets on 127.0.0.1:$WS_PORT (http_dir agent/console/dist)
  simulator  ember-sim, scenario agent/sim/scenarios/battery-room.scn
             (Modbus TCP on port $SIM_PORT$([ -n "$EMBER_DEMO_NS" ] && echo " in the namespace"), RTU on $RUN/rtu-sim)
  agent      emberd -c $RUN/emberd.conf

  timeline   0-20 s normal; ~50 s the UPS battery passes 40 C (warning);
             from 60 s the rack runs away: ~75 s its rate of rise is critical,
             ~95 s off-gas makes a second sensor critical and zone b3 asks for
             a DRAIN: ember-drain puts HAProxy's b3 servers in DRAIN and
             removes b3's address $DNS_SITE from $DNS_NAME;
             smoke at 100 s, 60 C at ~120 s; the scenario repeats every
             240 s, the drain stays until "ember-drain undrain bench"

  drain      ember-drain -c $RUN/ember-drain.conf
             -> HAProxy (web on http://127.0.0.1:$WEB_PORT/): b3-web1, b3-web2 to DRAIN
             -> DNS: named on 127.0.0.1:$DNS_PORT, zone demo.test (RFC 2136 + TSIG):
                $DNS_NAME A answers $DNS_BEFORE before the drain,
                without b3's $DNS_SITE after it (lines "dig $DNS_NAME A" below)

  raw messages:       mosquitto_sub -p $MQTT_PORT -v -t 'emberwatch/#'
  operate the agent:  $BIN/emberctl -s $RUN/emberd.sock alarms   (or status, ack ID, test b3)
  drain controller:   $BIN/ember-drain --socket $RUN/ember-drain.sock status   (undrain bench)
  HAProxy servers:    echo 'show servers state web' | socat stdio $RUN/haproxy.sock
  DNS answer:         dig +tcp @127.0.0.1 -p $DNS_PORT +short $DNS_NAME A
  change a value:     echo 'set ups.battery_temperature 60' > $RUN/sim.ctl

Below: events, drain requests and states, dig's answer when it changes, and
at most one line a second of sensors (those that changed).  Ctrl-C stops.

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
# The agent's and ember-drain's messages, summarised.
$PY "$TOP/agent/examples/demo_watch.py" "$MQTT_PORT" 'emberwatch/#' "${DEMO_SECONDS:-0}" &
SUB=$!
PIDS+=("$SUB")
wait "$SUB"
