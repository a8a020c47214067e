# lib.sh - shared helpers for integration tests (sourced, bash).
#
# Every process a test starts goes through start_bg, which records its PID;
# the EXIT trap stops each one by PID (TERM, then KILL after a bound).
# Waits poll for readiness with a deadline; nothing sleeps a fixed time.

set -u
EMBER_BIN=${EMBER_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
# The Python peers share tests/mqttcompat.py (paho-mqtt 1.6 and 2.x).
export PYTHONPATH="$TOP/tests${PYTHONPATH:+:$PYTHONPATH}"
# ember-sim finds the source tree's profiles (installed ones may not exist).
export EMBER_PROFILE_DIR=${EMBER_PROFILE_DIR:-$TOP/agent/profiles}
T=$(mktemp -d "${TMPDIR:-/tmp}/ember-test.XXXXXX")
PIDS=()
TEST_NAME=$(basename "$0" .sh)
CHECKS=0

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }

die() {
    log "FAIL: $*"
    for f in "$T"/*.log; do
        [ -f "$f" ] || continue
        echo "---- $(basename "$f") (last 25 lines)" >&2
        tail -n 25 "$f" >&2
    done
    exit 1
}

# proc_state PID: what a process that stopped making progress is doing: its
# state, the kernel function it sleeps in, and its threads' stacks (gdb,
# when installed), for the test's log.
proc_state() {
    local pid=$1
    if ! kill -0 "$pid" 2>/dev/null; then
        log "process $pid is gone"
        return 0
    fi
    local t
    for t in /proc/"$pid"/task/*; do
        log "process $pid thread ${t##*/}: $(grep '^State' "$t/status" | tr -s '\t ' ' '), in $(cat "$t/wchan" 2>/dev/null)"
    done
    command -v gdb >/dev/null &&
        timeout 30 gdb -batch -p "$pid" -ex 'thread apply all bt 15' 2>/dev/null | grep -E '^(#|Thread)' >&2
    return 0
}

check() { # check DESCRIPTION CMD...: runs CMD, fails the test when it fails
    local what=$1
    shift
    if "$@"; then
        CHECKS=$((CHECKS + 1))
        log "ok: $what"
    else
        die "$what"
    fi
}

stop_pid() { # stop_pid PID: TERM, wait up to 5 s, then KILL
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local rc=$? i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[$i]}"
    done
    # Under EMBER_WRAP=valgrind (-q) any report in a program's log fails the
    # test, whether or not the test looked at that program's exit status.
    if [ -n "${EMBER_WRAP:-}" ]; then
        local f bad=""
        for f in "$T"/*.log; do
            # Its note about ioctls it does not model (TIOCSRS485 on a pty)
            # is not an error.
            grep -E '^==[0-9]+== ' "$f" 2>/dev/null |
                grep -vqE 'unhandled ioctl|could cause spurious|README_MISSING_SYSCALL' &&
                bad="$bad $(basename "$f")"
        done
        if [ -n "$bad" ]; then
            log "FAIL: valgrind reported errors in:$bad"
            [ "$rc" -eq 0 ] && rc=1
        fi
    fi
    if [ "$rc" -eq 0 ]; then
        rm -rf "$T"
    else
        log "logs kept in $T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bg() { # start_bg NAME CMD...: sets $LAST_PID; output in $T/NAME.log
    local name=$1
    shift
    "$@" >"$T/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

wait_until() { # wait_until SECONDS CMD...: polls CMD every 20 ms until it succeeds
    local deadline=$(($(date +%s%N) + ${1%.*} * 1000000000))
    shift
    while ! "$@" 2>/dev/null; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.02
    done
}

log_has() { grep -q -- "$2" "$1" 2>/dev/null; }
# need_fault_build PROGRAM VARIABLE: the fault switches are compiled only into
# test builds (make unit/integration/check, TEST_BUILD=1: build/test, build/asan).
need_fault_build() {
    grep -q -- "$2" "$EMBER_BIN/$1" ||
        die "$EMBER_BIN/$1 does not read $2: use a test build (make TEST_BUILD=1 all; EMBER_BIN=\$PWD/build/test)"
}
count_lines() { grep -c -- "$2" "$1" 2>/dev/null || true; }

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# loopback_listeners PID [PORT...]: prints how many TCP sockets PID listens
# on; fails when one is not on 127.0.0.1 (with PORTs: not on one of them).
loopback_listeners() {
    local pid=$1 l p n=0 ok
    shift
    while read -r l; do
        ok=0
        case "$l" in *" 127.0.0.1:"*) ok=1 ;; esac
        if [ "$ok" = 1 ] && [ $# -gt 0 ]; then
            ok=0
            for p in "$@"; do
                case "$l" in *" 127.0.0.1:$p "*) ok=1 ;; esac
            done
        fi
        [ "$ok" = 1 ] || return 1
        n=$((n + 1))
    done < <(ss -ltnpH 2>/dev/null | grep "pid=$pid,")
    echo "$n"
}

# broker_conf [LINE...]: $T/mosquitto.conf for a private mosquitto on a free
# port of 127.0.0.1 with these extra lines; sets MQTT_PORT.
broker_conf() {
    MQTT_PORT=$(free_port)
    {
        printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$MQTT_PORT"
        printf '%s\n' "$@"
        printf 'log_dest stderr\n'
        printf 'log_type %s\n' error warning notice information
    } >"$T/mosquitto.conf"
}

# start_broker: a private mosquitto on 127.0.0.1; sets MQTT_PORT and BROKER_PID.
start_broker() {
    broker_conf "persistence false"
    start_bg broker mosquitto -c "$T/mosquitto.conf"
    BROKER_PID=$LAST_PID
    wait_until 10 log_has "$T/broker.log" "running" || die "mosquitto did not start"
}

# persistent_broker_conf [MAX_QUEUED]: a mosquitto config on 127.0.0.1 that
# keeps sessions and up to MAX_QUEUED (default 100,000) queued messages per
# client across its own restarts (for at-least-once tests); sets MQTT_PORT.  start_persistent_broker N then starts instance N of it
# (log $T/brokerN.log) and sets BROKER_PID.
persistent_broker_conf() {
    mkdir -p "$T/mq"
    broker_conf "persistence true" "user $(id -un)" "persistence_location $T/mq/" \
        "autosave_interval 1" "max_queued_messages ${1:-100000}"
}
start_persistent_broker() {
    start_bg "broker$1" mosquitto -c "$T/mosquitto.conf"
    BROKER_PID=$LAST_PID
    # Loading a persistence file of 70,000 queued messages takes a while on
    # a loaded machine: a generous bound, polled.
    wait_until 60 log_has "$T/broker$1.log" "running" || die "mosquitto did not start"
}

# write_contact_conf FILE [MQTT-LINE...]: one simulated GPIO contact c1
# (debounce 0) with a critical contact alarm c1 (off_delay 0), so each line
# "c1 0|1" written to $T/gpio-sim is one alarm event.
write_contact_conf() {
    cat >"$T/board.conf" <<EOC
[board]
name = burst
[input c1]
line = 1
debounce = 0
EOC
    CONF_AGENT_EXTRA=("board = $T/board.conf")
    write_conf "$@" <<EOC
[sensor c1]
gpio = c1

[alarm c1]
sensor = c1
kind = contact
off_delay = 0
severity = critical
EOC
}

# toggles K [PAUSE]: K contact changes on write_contact_conf's c1 (each one
# an alarm event), PAUSE seconds apart (default: as fast as possible).
toggles() {
    $PY - "$T/gpio-sim" "$1" "${2:-0}" <<'EOF'
import sys, time
f = open(sys.argv[1], "w")
pause = float(sys.argv[3])
try:
    for i in range(int(sys.argv[2])):
        f.write("c1 %d\n" % ((i + 1) % 2))
        if pause > 0:
            f.flush()
            time.sleep(pause)
        elif i % 50 == 49:
            f.flush()
    f.close()
except BrokenPipeError:
    pass
EOF
}
# sub_start NAME TOPIC...: a mosquitto_sub printing "topic payload" lines to $T/NAME.out
sub_start() {
    local name=$1
    shift
    local args=()
    for t in "$@"; do args+=(-t "$t"); done
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -v "${args[@]}" >"$T/$name.out" 2>"$T/$name.log" &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# start_sim NAME ARGS...: runs ember-sim and waits for its "ready" line.
start_sim() {
    local name=$1
    shift
    start_bg "$name" "$EMBER_BIN/ember-sim" "$@"
    SIM_PID=$LAST_PID
    wait_until 10 log_has "$T/$name.log" "ready" || die "ember-sim did not become ready"
}

finish() { log "passed ($CHECKS checks)"; }

# rec_start NAME TOPIC...: the paho recorder writing "$T/NAME.rec"; waits
# until the broker has acknowledged its subscriptions.
rec_start() {
    local name=$1
    shift
    start_bg "$name" $PY "$TOP/tests/integration/mqtt_rec.py" --port "$MQTT_PORT" \
        --out "$T/$name.rec" "$@"
    REC_PID=$LAST_PID
    wait_until 10 log_has "$T/$name.rec" "# subscribed" || die "recorder $name did not subscribe"
}

mono_ms() { $PY -c 'import time; print("%.1f" % (time.monotonic() * 1000))'; }

# start_emberd NAME CONF [ARGS...]: runs emberd and waits for "running".
start_emberd() {
    local name=$1 conf=$2
    shift 2
    # EMBER_WRAP runs emberd under a tool, e.g. valgrind (make valgrind).
    start_bg "$name" ${EMBER_WRAP:-} "$EMBER_BIN/emberd" -c "$conf" "$@"
    EMBERD_PID=$LAST_PID
    wait_until 30 log_has "$T/$name.log" "running:" || die "emberd did not start"
}

# socat_pair A B: a pty pair (a real serial link with RTU framing on it).
socat_pair() {
    start_bg "socat-$(basename "$1")" socat -d -d "pty,raw,echo=0,link=$1" "pty,raw,echo=0,link=$2"
    wait_until 10 test -e "$1" -a -e "$2" || die "socat pty pair did not appear"
}

# rec_wait SECONDS NAME PATTERN: waits for a recorder line matching the
# extended regexp PATTERN.
rec_wait() {
    wait_until "$1" grep -qE -- "$3" "$T/$2.rec"
}

# json_get FILE-LINE FIELD: prints one field of a recorder line's JSON payload.
rec_field() { # rec_field LINE FIELD
    $PY -c 'import json,sys; l=sys.argv[1].split(" ",3); v=json.loads(l[3]).get(sys.argv[2]); print("null" if v is None else v)' "$1" "$2"
}

# write_conf FILE [MQTT-LINE...] < BODY: an emberd config for site "lab",
# agent "a1", the source tree's profiles and boards, state/control/gpio_sim
# under $T, the test broker, then BODY (buses, devices, sensors, alarms) from
# stdin.  CONF_AGENT_EXTRA=(...) adds lines to [agent].
CONF_AGENT_EXTRA=()
write_conf() {
    local file=$1
    shift
    {
        printf '[agent]\nsite = lab\nid = a1\nprofile_dir = %s\nboard_dir = %s\n' \
            "$TOP/agent/profiles" "$TOP/boards"
        printf 'journal = %s\ncontrol = %s\ngpio_sim = %s\n' "$T/journal.db" "$T/ctl.sock" "$T/gpio-sim"
        printf '%s\n' "${CONF_AGENT_EXTRA[@]}"
        printf '\n[mqtt]\nport = %s\n' "$MQTT_PORT"
        printf '%s\n' "$@"
        echo
        cat
    } >"$file"
}

# write_single_conf FILE SIM_PORT [MQTT-LINE...]: one XY-MD02 on Modbus TCP
# with one sensor "t".
write_single_conf() {
    local file=$1 port=$2
    shift 2
    write_conf "$file" "$@" <<EOC
[bus t]
type = tcp
host = 127.0.0.1
port = $port

[device room]
bus = t
profile = xy-md02

[sensor t]
device = room
point = temperature
EOC
}

# room_sections SIM_PORT INTERVAL [warm]: the sections of a "room" config: one
# XY-MD02 "room" on Modbus TCP at 127.0.0.1:SIM_PORT, polled every INTERVAL,
# with sensor room-temp in zone b3 and the critical alarm room-hot (high, 45,
# deadband 1); with "warm" also the warning room-warm (high, 35).
room_sections() {
    cat <<EOC
[bus t]
type = tcp
host = 127.0.0.1
port = $1

[device room]
bus = t
profile = xy-md02
interval = $2

[sensor room-temp]
device = room
point = temperature
zone = b3

[alarm room-hot]
sensor = room-temp
kind = high
setpoint = 45
deadband = 1
severity = critical
EOC
    [ "${3:-}" = warm ] || return 0
    printf '\n[alarm room-warm]\nsensor = room-temp\nkind = high\nsetpoint = 35\nseverity = warning\n'
}

# write_zone_conf FILE SIM_PORT INTERVAL [warm] [MQTT-LINE...]: write_conf
# with room_sections and [zone b3] at vote 1: one critical alarm drains the
# zone.  Append more sections to FILE as needed.
write_zone_conf() {
    local file=$1 port=$2 interval=$3 warm=
    shift 3
    if [ "${1:-}" = warm ]; then
        warm=warm
        shift
    fi
    { room_sections "$port" "$interval" $warm; printf '\n[zone b3]\nvote = 1\n'; } |
        write_conf "$file" "$@"
}

# write_room_conf FILE SIM_PORT [MQTT-LINE...]: room_sections polled every
# 500 ms with the warning room-warm, room-lost (comms_loss) and zone b3
# (vote 1) draining web/b3-1 and web/b3-2.  Append more sections to FILE as
# needed.
write_room_conf() {
    local file=$1 port=$2
    shift 2
    {
        room_sections "$port" 500ms warm
        printf '\n[alarm room-lost]\nsensor = room-temp\nkind = comms_loss\n'
        printf '\n[zone b3]\nvote = 1\ndrain = web/b3-1, web/b3-2\n'
    } | write_conf "$file" "$@"
}

# rec_mark NAME: the recorder's current line count, for rec_wait_after.
rec_mark() { wc -l <"$T/$1.rec"; }
# rec_wait_after MARK SECONDS NAME PATTERN: like rec_wait, but only lines
# recorded after MARK count.
rec_wait_after() {
    local mark=$1 secs=$2 name=$3 pat=$4
    wait_until "$secs" bash -c "tail -n +$((mark + 1)) '$T/$name.rec' | grep -qE -- '$pat'"
}

# stays SECONDS CMD...: CMD keeps succeeding for SECONDS (a bounded watch).
stays() {
    local end=$(($(date +%s%N) + ${1%.*} * 1000000000))
    shift
    while [ "$(date +%s%N)" -lt "$end" ]; do
        "$@" || return 1
        sleep 0.05
    done
}

# ---- BIND 9 named with a TSIG-signed dynamic zone (the [dns] target) ----------
# tsig_secret FILE: a fresh random HMAC-SHA256 secret (base64) in FILE, 0600.
tsig_secret() {
    head -c 32 /dev/urandom | base64 >"$1"
    chmod 600 "$1"
}

# zone_file ZONE < RECORDS: $T/named/ZONE.zone, TTL 30, SOA and NS, then RECORDS.
zone_file() {
    mkdir -p "$T/named"
    {
        printf '$TTL 30\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 30\n' "$1" "$1"
        printf '@ IN NS ns.%s.\nns IN A 127.0.0.1\n' "$1"
        cat
    } >"$T/named/$1.zone"
}

# start_named ZONE [EXTRA-CONF]: BIND 9 named on a free port of 127.0.0.1
# (DNS_PORT), directory $T/named, key "ember-drain" (hmac-sha256, the secret
# in $T/tsig.secret, made here) with an update-policy granting it A and AAAA
# in ZONE, whose file zone_file wrote first; EXTRA-CONF is appended to
# named.conf (more zones); see tools/private-named.sh.  Waits until ZONE's
# SOA answers; sets NAMED_PID.
start_named() {
    local zone=$1 named
    named=$(command -v named || echo /usr/sbin/named)
    [ -x "$named" ] || die "named not installed (Debian bind9)"
    command -v dig >/dev/null || die "dig not installed (Debian bind9-dnsutils)"
    DNS_PORT=$(free_port)
    tsig_secret "$T/tsig.secret"
    start_bg named "$TOP/tools/private-named.sh" "$T/named" "$DNS_PORT" "$zone" \
        "$T/tsig.secret" "${2:-}"
    NAMED_PID=$LAST_PID
    wait_until 20 test -n "$(dq "$zone" SOA)" || die "named did not answer on 127.0.0.1:$DNS_PORT"
}

# dq NAME TYPE: the answers dig reads from start_named's named, sorted, on one line.
dq() {
    dig @127.0.0.1 -p "$DNS_PORT" +short +norecurse +time=2 +tries=3 "$1" "$2" | sort | tr '\n' ' ' | sed 's/ $//'
}

# ---- two BIRD 2 routers peering over BGP on 127.0.0.1 (the [bgp] target) -------
# start_bird_pair "ANYCAST-PREFIX..." "OTHER-PREFIX...": "edge" announces the
# first prefixes (static protocol anycast) and the others (static protocol
# stay1) over one BGP session to "observer", an independent BIRD whose
# table birdc reads.  Control sockets $T/edge.ctl and $T/observer.ctl; sets
# BIRD_EDGE_PID and BIRD_OBSERVER_PID.  Waits until the session is
# established and the observer has learned every prefix.
start_bird_pair() {
    local edge_port obs_port r p
    command -v bird >/dev/null && command -v birdc >/dev/null ||
        die "bird2 is not installed (tests/install-deps.sh check)"
    edge_port=$(free_port)
    obs_port=$(free_port)
    {
        printf 'router id 10.255.0.1;\nlog stderr all;\nprotocol device {}\n'
        printf 'protocol static anycast {\n    ipv4;\n'
        for p in $1; do printf '    route %s unreachable;\n' "$p"; done
        printf '}\nprotocol static stay1 {\n    ipv4;\n'
        for p in $2; do printf '    route %s unreachable;\n' "$p"; done
        cat <<EOC
}
protocol bgp observer {
    local 127.0.0.1 port $edge_port as 65001;
    neighbor 127.0.0.1 port $obs_port as 65002;
    multihop;
    connect delay time 1;
    connect retry time 1;
    ipv4 { import none; export all; next hop address 10.255.0.1; };
}
EOC
    } >"$T/edge.conf"
    cat >"$T/observer.conf" <<EOC
router id 10.255.0.2;
log stderr all;
protocol device {}
protocol bgp edge {
    local 127.0.0.1 port $obs_port as 65002;
    neighbor 127.0.0.1 port $edge_port as 65001;
    multihop;
    passive on;
    ipv4 { import all; export none; igp table master4; };
}
EOC
    for r in edge observer; do
        bird -p -c "$T/$r.conf" || die "bird -p rejects $r.conf"
        start_bg "bird-$r" bird -f -c "$T/$r.conf" -s "$T/$r.ctl" -P "$T/$r.pid"
        eval "BIRD_${r^^}_PID=$LAST_PID"
    done
    wait_until 20 session_up observer edge || die "the observer's BGP session to edge did not come up"
    for p in $1 $2; do
        wait_until 10 obs_has "$p" || die "the observer did not learn $p"
    done
}

# birdc_q ROUTER CMD...: one birdc command to start_bird_pair's ROUTER.
birdc_q() { birdc -s "$T/$1.ctl" "${@:2}"; }
# obs_has PREFIX / obs_lacks PREFIX: the observer's table holds PREFIX,
# learned from edge / does not.
obs_has() { birdc_q observer show route "$1" protocol edge | grep -q "^$1 "; }
obs_lacks() { birdc_q observer show route "$1" protocol edge | grep -q "Network not found"; }
# session_up ROUTER PROTOCOL: ROUTER's BGP session PROTOCOL is established.
session_up() { birdc_q "$1" show protocols "$2" | grep -q Established; }

# ---- a private RabbitMQ node (MQTT plugins) on 127.0.0.1 ----------------------
# start_rabbitmq PLUGINS [CONF-LINE...]: a RabbitMQ node of its own (node
# name, ports, epmd, directories and cookie under $T/rabbitmq) with the
# comma-separated PLUGINS enabled (e.g. rabbitmq_mqtt,rabbitmq_web_mqtt), its
# MQTT listener on a free port of 127.0.0.1 (MQTT_PORT), anonymous MQTT
# logins allowed, and CONF-LINEs added to its rabbitmq.conf.  Waits until the
# MQTT listener accepts; sets RMQ_DIR, RMQ_BEAM (the Erlang VM's PID) and
# RMQ_VERSION.  The EXIT trap stops the node (stop_rabbitmq), then
# everything else.
stop_rabbitmq() {
    local beam="" i
    [ -n "${RMQ_WRAPPER:-}" ] || return 0
    [ -f "$RMQ_DIR/rabbit.pid" ] && beam=$(cat "$RMQ_DIR/rabbit.pid" 2>/dev/null)
    [ -n "$beam" ] || beam=$(ps -o pid= --ppid "$RMQ_WRAPPER" 2>/dev/null | head -1)
    if [ -n "$beam" ]; then
        kill -TERM "$beam" 2>/dev/null
        for ((i = 0; i < 200; i++)); do # a clean stop takes 1-3 s
            kill -0 "$beam" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$beam" 2>/dev/null
    fi
    stop_pid "$RMQ_WRAPPER"
    env "${RMQ_ENV[@]}" epmd -kill >>"$T/epmd.log" 2>&1
    RMQ_WRAPPER=""
}
start_rabbitmq() {
    local plugins=$1 bin=/usr/lib/rabbitmq/bin amqp dist epmd
    shift
    [ -x "$bin/rabbitmq-server" ] || die "rabbitmq-server is not installed (tests/install-deps.sh)"
    # Named outright: RabbitMQ 4 (Debian 13) does not find it from an empty
    # rabbitmq-env.conf.
    local pdir
    pdir=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins 2>/dev/null | head -1)
    [ -n "$pdir" ] || die "no RabbitMQ plugins directory"
    RMQ_VERSION=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-* | head -1 | sed 's/.*-//')
    RMQ_DIR=$T/rabbitmq
    mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
    MQTT_PORT=$(free_port)
    amqp=$(free_port)
    dist=$(free_port)
    epmd=$(free_port)
    [ "$(printf '%s\n' "$MQTT_PORT" "$amqp" "$dist" "$epmd" | sort -u | wc -l)" -eq 4 ] ||
        die "free_port gave the same port twice; run again"
    : >"$RMQ_DIR/rabbitmq-env.conf" # not /etc/rabbitmq/rabbitmq-env.conf
    {
        printf 'listeners.tcp.1 = 127.0.0.1:%s\nmqtt.listeners.tcp.1 = 127.0.0.1:%s\n' "$amqp" "$MQTT_PORT"
        printf 'mqtt.allow_anonymous = true\nlog.console = true\nlog.console.level = info\nlog.file = false\n'
        printf '%s\n' "$@"
    } >"$RMQ_DIR/rabbitmq.conf"
    RMQ_ENV=(
        HOME="$RMQ_DIR/home" # the Erlang cookie
        RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
        RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
        RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
        RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
        RABBITMQ_PLUGINS_DIR="$pdir"
        RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
        RABBITMQ_LOG_BASE="$RMQ_DIR/log"
        RABBITMQ_PID_FILE="$RMQ_DIR/rabbit.pid"
        RABBITMQ_NODENAME="ember-test-$$@localhost"
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
        RABBITMQ_NODE_PORT="$amqp"
        RABBITMQ_DIST_PORT="$dist"
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
        ERL_EPMD_ADDRESS=127.0.0.1
        ERL_EPMD_PORT="$epmd"
    )
    trap 'rc=$?; stop_rabbitmq; (exit $rc); cleanup' EXIT
    env "${RMQ_ENV[@]}" "$bin/rabbitmq-plugins" --offline enable ${plugins//,/ } >"$T/plugins.log" 2>&1 ||
        die "rabbitmq-plugins --offline enable $plugins failed"
    start_bg rabbitmq env "${RMQ_ENV[@]}" "$bin/rabbitmq-server"
    RMQ_WRAPPER=$LAST_PID
    wait_until 60 rabbitmq_mqtt_open
    alive "$RMQ_WRAPPER" || die "RabbitMQ stopped before its MQTT listener opened (rabbitmq.log)"
    rabbitmq_mqtt_open || die "RabbitMQ's MQTT listener did not open within 60 s"
    wait_until 5 test -s "$RMQ_DIR/rabbit.pid" || die "no pid file from the RabbitMQ node"
    RMQ_BEAM=$(cat "$RMQ_DIR/rabbit.pid")
}
# rabbitmqctl_node ARGS...: rabbitmqctl on the node start_rabbitmq started
# (its output appended to $T/ctl.log).
rabbitmqctl_node() {
    env "${RMQ_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n "ember-test-$$@localhost" -q "$@" >>"$T/ctl.log" 2>&1
}
# rabbitmq_mqtt_open: the MQTT port accepts; also true once the node is gone
# (wait_until need not wait out its bound for a node that stopped).
rabbitmq_mqtt_open() {
    alive "$RMQ_WRAPPER" || return 0
    (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null
}
# alive PID: PID runs (kill -0 is true for a child that exited and was not
# yet reaped).
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }

# ---- a private 3-node RabbitMQ cluster (MQTT plugin) on 127.0.0.1 ------------
# start_rabbitmq_cluster [CONF-LINE...]: nodes a, b and c (node names
# ember-X-PID@localhost), each with its own directories, AMQP, MQTT and
# Erlang distribution ports, one private epmd and one cookie under
# $T/rmqc, clustered at first boot by classic peer discovery.  Waits until
# every node's MQTT listener accepts and the cluster has all three running
# nodes.  Sets RMQC_MQTT[X] (MQTT ports), RMQC_BEAM[X] and RMQC_WRAPPER[X];
# the EXIT trap stops every node still running (stop_rabbitmq_node X), then
# the epmd, then everything else.  kill_rabbitmq_node X kills X's VM -9.
declare -A RMQC_MQTT RMQC_BEAM RMQC_WRAPPER RMQC_DIST RMQC_AMQP
RMQC_NODES="a b c"
rmqc_env() { # rmqc_env X: the environment of node X, one NAME=value per line
    local x=$1 d=$T/rmqc/$1
    printf '%s\n' "HOME=$T/rmqc/home" "RABBITMQ_CONF_ENV_FILE=$d/rabbitmq-env.conf" \
        "RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf" "RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config" \
        "RABBITMQ_ENABLED_PLUGINS_FILE=$T/rmqc/enabled_plugins" "RABBITMQ_PLUGINS_DIR=$RMQC_PDIR" \
        "RABBITMQ_MNESIA_BASE=$d/mnesia" "RABBITMQ_LOG_BASE=$d/log" "RABBITMQ_PID_FILE=$d/rabbit.pid" \
        "RABBITMQ_NODENAME=ember-$x-$$@localhost" "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" \
        "RABBITMQ_NODE_PORT=${RMQC_AMQP[$x]}" "RABBITMQ_DIST_PORT=${RMQC_DIST[$x]}" \
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}" \
        "ERL_EPMD_ADDRESS=127.0.0.1" "ERL_EPMD_PORT=$RMQC_EPMD"
}
rmqc() { # rmqc X CMD...: CMD in node X's environment
    local x=$1 e=()
    shift
    mapfile -t e < <(rmqc_env "$x")
    env "${e[@]}" "$@"
}
# rmqc_exec X CMD...: the same, in place of the calling (background) shell,
# so that start_bg's PID is the node's own process chain.
rmqc_exec() {
    local x=$1 e=()
    shift
    mapfile -t e < <(rmqc_env "$x")
    exec env "${e[@]}" "$@"
}
stop_rabbitmq_node() {
    local x=$1 beam="" i
    [ -n "${RMQC_WRAPPER[$x]:-}" ] || return 0
    [ -f "$T/rmqc/$x/rabbit.pid" ] && beam=$(cat "$T/rmqc/$x/rabbit.pid" 2>/dev/null)
    if [ -n "$beam" ]; then
        kill -TERM "$beam" 2>/dev/null
        for ((i = 0; i < 200; i++)); do
            kill -0 "$beam" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$beam" 2>/dev/null
    fi
    stop_pid "${RMQC_WRAPPER[$x]}"
    RMQC_WRAPPER[$x]=""
}
# restart_rabbitmq_node X: node X (stopped or killed) started again with its
# directories, so it rejoins the cluster; waits for its MQTT listener.  A
# 3.10 node restarted after kill -9 now and then hangs in its MQTT plugin's
# start (its client-id tracker waits on the cluster); such a start is
# stopped and made again, up to three times (each log kept: rabbitmq-X.log,
# rabbitmq-X-retryN.log).
restart_rabbitmq_node() {
    local x=$1 try
    for try in 1 2 3; do
        rm -f "$T/rmqc/$x/rabbit.pid" # the previous VM's
        [ "$try" -gt 1 ] && mv "$T/rabbitmq-$x.log" "$T/rabbitmq-$x-retry$((try - 1)).log"
        start_bg "rabbitmq-$x" rmqc_exec "$x" /usr/lib/rabbitmq/bin/rabbitmq-server
        RMQC_WRAPPER[$x]=$LAST_PID
        wait_until 60 eval "! alive ${RMQC_WRAPPER[$x]} || (exec 3<>/dev/tcp/127.0.0.1/${RMQC_MQTT[$x]}) 2>/dev/null"
        (exec 3<>"/dev/tcp/127.0.0.1/${RMQC_MQTT[$x]}") 2>/dev/null && break
        log "RabbitMQ node $x: no MQTT listener 60 s after start $try; starting it again"
        stop_rabbitmq_node "$x"
    done
    (exec 3<>"/dev/tcp/127.0.0.1/${RMQC_MQTT[$x]}") 2>/dev/null ||
        die "RabbitMQ node $x did not come back (rabbitmq-$x*.log)"
    wait_until 10 test -s "$T/rmqc/$x/rabbit.pid" || die "no pid file from RabbitMQ node $x"
    RMQC_BEAM[$x]=$(cat "$T/rmqc/$x/rabbit.pid")
}
kill_rabbitmq_node() {
    local x=$1
    kill -KILL "${RMQC_BEAM[$x]}" 2>/dev/null
    stop_pid "${RMQC_WRAPPER[$x]}"
    RMQC_WRAPPER[$x]=""
}
stop_rabbitmq_cluster() {
    local x
    for x in $RMQC_NODES; do stop_rabbitmq_node "$x"; done
    [ -n "${RMQC_EPMD:-}" ] && rmqc a epmd -kill >>"$T/epmd.log" 2>&1
    RMQC_EPMD=""
}
start_rabbitmq_cluster() {
    local bin=/usr/lib/rabbitmq/bin x y ports=() i
    [ -x "$bin/rabbitmq-server" ] || die "rabbitmq-server is not installed (tests/install-deps.sh)"
    RMQC_PDIR=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins 2>/dev/null | head -1)
    [ -n "$RMQC_PDIR" ] || die "no RabbitMQ plugins directory"
    RMQ_VERSION=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-* | head -1 | sed 's/.*-//')
    RMQC_EPMD=$(free_port)
    ports+=("$RMQC_EPMD")
    for x in $RMQC_NODES; do
        RMQC_MQTT[$x]=$(free_port)
        RMQC_AMQP[$x]=$(free_port)
        RMQC_DIST[$x]=$(free_port)
        ports+=("${RMQC_MQTT[$x]}" "${RMQC_AMQP[$x]}" "${RMQC_DIST[$x]}")
    done
    [ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" -eq ${#ports[@]} ] ||
        die "free_port gave the same port twice; run again"
    mkdir -p "$T/rmqc/home"
    # One cookie for the three nodes and their CLI tools.
    head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$T/rmqc/home/.erlang.cookie"
    chmod 400 "$T/rmqc/home/.erlang.cookie"
    for x in $RMQC_NODES; do
        mkdir -p "$T/rmqc/$x/mnesia" "$T/rmqc/$x/log"
        : >"$T/rmqc/$x/rabbitmq-env.conf"
        {
            printf 'listeners.tcp.1 = 127.0.0.1:%s\nmqtt.listeners.tcp.1 = 127.0.0.1:%s\n' \
                "${RMQC_AMQP[$x]}" "${RMQC_MQTT[$x]}"
            printf 'mqtt.allow_anonymous = true\nlog.console = true\nlog.console.level = info\nlog.file = false\n'
            printf 'cluster_formation.peer_discovery_backend = classic_config\n'
            i=1
            for y in $RMQC_NODES; do
                printf 'cluster_formation.classic_config.nodes.%d = ember-%s-%s@localhost\n' "$i" "$y" "$$"
                i=$((i + 1))
            done
            printf '%s\n' "$@"
        } >"$T/rmqc/$x/rabbitmq.conf"
    done
    trap 'rc=$?; stop_rabbitmq_cluster; (exit $rc); cleanup' EXIT
    rmqc a "$bin/rabbitmq-plugins" --offline enable rabbitmq_mqtt >"$T/plugins.log" 2>&1 ||
        die "rabbitmq-plugins --offline enable rabbitmq_mqtt failed"
    for x in $RMQC_NODES; do
        start_bg "rabbitmq-$x" rmqc_exec "$x" "$bin/rabbitmq-server"
        RMQC_WRAPPER[$x]=$LAST_PID
    done
    for x in $RMQC_NODES; do
        wait_until 120 eval "! alive ${RMQC_WRAPPER[$x]} || (exec 3<>/dev/tcp/127.0.0.1/${RMQC_MQTT[$x]}) 2>/dev/null"
        alive "${RMQC_WRAPPER[$x]}" || die "RabbitMQ node $x stopped before its MQTT listener opened (rabbitmq-$x.log)"
        (exec 3<>"/dev/tcp/127.0.0.1/${RMQC_MQTT[$x]}") 2>/dev/null ||
            die "RabbitMQ node $x: MQTT listener not open within 120 s"
        wait_until 5 test -s "$T/rmqc/$x/rabbit.pid" || die "no pid file from RabbitMQ node $x"
        RMQC_BEAM[$x]=$(cat "$T/rmqc/$x/rabbit.pid")
    done
    rmqc_running() {
        rmqc a "$bin/rabbitmqctl" -n "ember-a-$$@localhost" -q cluster_status --formatter json 2>/dev/null |
            $PY -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin).get("running_nodes", [])) == 3 else 1)'
    }
    wait_until 60 rmqc_running || die "the three RabbitMQ nodes did not form one cluster"
    # A listening node may still refuse every MQTT client: in 3.10 a node
    # whose client-id tracker joined the cluster's Raft group badly logs
    # "leader not known" for good.  Each node must answer a real CONNECT;
    # one that does not within 30 s is stopped and started again.
    rmqc_accepts() {
        timeout 8 mosquitto_pub -h 127.0.0.1 -p "${RMQC_MQTT[$1]}" -i "probe-$1-$$" -t probe/ready -m x -q 1 \
            >/dev/null 2>&1
    }
    for x in $RMQC_NODES; do
        wait_until 30 rmqc_accepts "$x" && continue
        log "RabbitMQ node $x accepts no MQTT client after 30 s; starting it again"
        stop_rabbitmq_node "$x"
        restart_rabbitmq_node "$x"
        wait_until 60 rmqc_accepts "$x" || die "RabbitMQ node $x accepts no MQTT client (rabbitmq-$x*.log)"
    done
}

# ---- a test PKI (openssl), in $PKI (the caller sets it and makes it) ---------
# mkca NAME CN: a CA, $PKI/NAME.key and NAME.crt (EC P-256, 2 days);
# mkcert NAME CA CN EXTENSIONS: a certificate signed by CA, EXTENSIONS one
# openssl extension per line.  A failing openssl stops the test (its output
# in $T/openssl.log).
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || die "openssl $1 failed"; }
newkey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$1.key"; }
mkca() {
    newkey "$1"
    ossl req -x509 -new -key "$PKI/$1.key" -subj "/O=emberwatch test/CN=$2" -days 2 \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$PKI/$1.crt"
}
mkcert() {
    newkey "$1"
    ossl req -new -key "$PKI/$1.key" -subj "/O=emberwatch test/CN=$3" -out "$PKI/$1.csr"
    printf '%s\n' "$4" >"$PKI/$1.ext"
    ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" -CAcreateserial \
        -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.crt"
}
