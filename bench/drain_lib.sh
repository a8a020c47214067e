# drain_lib.sh - helpers for ember-drain's integration tests and benchmark
# (sourced, bash, after tests/integration/lib.sh): real HAProxy 2.6 on
# loopback in front of small python http.server backends, and ember-drain.
#
# Every process goes through lib.sh's start_bg (stopped by PID at exit).

# start_backends NAME...: one http.server per NAME on a free 127.0.0.1 port,
# answering "NAME" on /; sets BE_PORT[NAME].  Waits until each answers.
declare -A BE_PORT
start_backends() {
    local n
    for n in "$@"; do
        mkdir -p "$T/www-$n"
        echo "$n" >"$T/www-$n/index.html"
        BE_PORT[$n]=$(free_port)
        start_bg "www-$n" $PY -m http.server "${BE_PORT[$n]}" --bind 127.0.0.1 --directory "$T/www-$n"
    done
    for n in "$@"; do
        wait_until 10 curl -sf -o /dev/null "http://127.0.0.1:${BE_PORT[$n]}/" ||
            die "backend $n did not start"
    done
}

# start_haproxy BACKEND:SERVER,SERVER... ...: HAProxy with one frontend per
# backend on a free port (FE_PORT[BACKEND]); server NAME is the backend
# started by start_backends NAME.  Stats socket $T/haproxy.sock, level admin.
declare -A FE_PORT
HX_SOCK=
start_haproxy() {
    local spec be servers s
    HX_SOCK=$T/haproxy.sock
    {
        printf 'global\n    stats socket %s mode 600 level admin\n    maxconn 2000\n\n' "$HX_SOCK"
        printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n'
        printf '    timeout server 10s\n    balance roundrobin\n\n'
        for spec in "$@"; do
            be=${spec%%:*}
            servers=${spec#*:}
            FE_PORT[$be]=$(free_port)
            printf 'frontend fe_%s\n    bind 127.0.0.1:%s\n    default_backend %s\n\n' "$be" "${FE_PORT[$be]}" "$be"
            printf 'backend %s\n' "$be"
            for s in ${servers//,/ }; do
                printf '    server %s 127.0.0.1:%s\n' "$s" "${BE_PORT[$s]}"
            done
            echo
        done
    } >"$T/haproxy.cfg"
    haproxy -c -q -f "$T/haproxy.cfg" || die "haproxy.cfg does not check"
    rm -f "$HX_SOCK"
    start_bg haproxy haproxy -db -f "$T/haproxy.cfg"
    HX_PID=$LAST_PID
    wait_until 10 hx_cmd "show info" >/dev/null || die "haproxy did not open its stats socket"
}

# stop_haproxy: stops it by PID and removes the socket file.
stop_haproxy() {
    stop_pid "$HX_PID"
    rm -f "$HX_SOCK"
}

# hx_cmd CMD: one runtime API command; prints the answer, fails when the
# socket does not answer.
hx_cmd() {
    local out
    out=$(echo "$1" | socat -t 2 stdio "UNIX-CONNECT:$HX_SOCK" 2>/dev/null) || return 1
    [ -n "$out" ] || [ "${1%% *}" = set ] || return 1
    printf '%s\n' "$out"
}

# hx_state BACKEND/SERVER: ready, drain, maint or down, from show servers
# state (srv_admin_state: 0x08 drain, 0x01/0x02/0x04/0x20/0x40 maint).
hx_state() {
    local be=${1%%/*} sv=${1#*/} l f
    while read -r l; do
        read -r -a f <<<"$l"
        [[ ${#f[@]} -gt 8 && ${f[0]} =~ ^[0-9]+$ && ${f[3]} == "$sv" ]] || continue
        if ((f[6] & 0x67)); then echo maint
        elif ((f[6] & 0x18)); then echo drain
        elif ((f[5] == 0)); then echo down
        else echo ready
        fi
        return 0
    done < <(hx_cmd "show servers state $be")
    echo missing
}

# hx_is BACKEND/SERVER STATE: succeeds when the server is in STATE.
hx_is() { [ "$(hx_state "$1")" = "$2" ]; }

# traffic BACKEND N: N fresh HTTP requests through HAProxy's frontend for
# BACKEND; prints "NAME COUNT" per answering server, sorted.
traffic() {
    local be=$1 n=$2 i
    for ((i = 0; i < n; i++)); do
        curl -s --max-time 3 "http://127.0.0.1:${FE_PORT[$be]}/" || echo "ERROR"
    done | sort | uniq -c | awk '{print $2, $1}'
}

# start_drain NAME CONF [ARGS...]: runs ember-drain (EMBER_WRAP as for
# emberd) and waits until it has settled on the broker's retained messages.
start_drain() {
    local name=$1 conf=$2
    shift 2
    start_bg "$name" ${EMBER_WRAP:-} "$EMBER_BIN/ember-drain" -c "$conf" "$@"
    DRAIN_PID=$LAST_PID
    wait_until 30 log_has "$T/$name.log" "settled:" || die "ember-drain did not settle"
}

# drain_cli ARGS...: the ember-drain client against $T/drain.sock.
drain_cli() { "$EMBER_BIN/ember-drain" --socket "$T/drain.sock" "$@"; }

# site_state SITE: the state ember-drain reports for SITE.
site_state() {
    drain_cli status --json "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["sites"][0]["state"])'
}
site_is() { [ "$(site_state "$1")" = "$2" ]; }

# write_drain_conf FILE < BODY: [drain] with state/audit/control under $T,
# [mqtt] on the test broker, then BODY (sites, haproxy, hooks).
write_drain_conf() {
    {
        printf '[drain]\nid = test\nstate = %s\naudit = %s\ncontrol = %s\nsettle = 300ms\n' \
            "$T/drain-state.json" "$T/drain-audit.log" "$T/drain.sock"
        printf '%s\n' "${DRAIN_EXTRA[@]}"
        printf '\n[mqtt]\nport = %s\nreconnect_min = 100ms\nreconnect_max = 1s\n\n' "$MQTT_PORT"
        cat
    } >"$1"
}

# write_peer_conf ID PEER < BODY: $T/ID.conf, a controller ID whose
# [drain] peers is PEER, its state, audit log and socket at $T/ID-state.json,
# $T/ID-audit.log, $T/ID.sock, on the test broker; then BODY.
# write_b3_conf FILE AGENTS ZONES [SITE-LINE...]: write_drain_conf with
# site "lab" (AGENTS, ZONES, vote 1, hold_down 0, SITE-LINEs) draining
# web/b3-web1 and web/b3-web2 through HAProxy's $HX_SOCK; stdin goes first,
# under [mqtt] (more keys, or sections of their own).
write_b3_conf() {
    local file=$1 agents=$2 zones=$3
    shift 3
    {
        cat
        printf '\n[site lab]\nagents = %s\nzones = %s\nvote = 1\nhold_down = 0\ntargets = hx\n' "$agents" "$zones"
        printf '%s\n' "$@"
        printf '\n[haproxy hx]\nsocket = %s\nservers = web/b3-web1, web/b3-web2\nrefresh = 500ms\n' "$HX_SOCK"
    } | write_drain_conf "$file"
}

write_peer_conf() {
    local DRAIN_EXTRA=("peers = $2")
    write_drain_conf "$T/$1.conf"
    sed -i -e "s|^id = test\$|id = $1|" -e "s|$T/drain-state.json|$T/$1-state.json|" \
        -e "s|$T/drain-audit.log|$T/$1-audit.log|" -e "s|$T/drain.sock|$T/$1.sock|" "$T/$1.conf"
}
DRAIN_EXTRA=()

# write_lab_conf HOLD_DOWN < SITE-KEYS: $T/drain.conf with [site lab]
# (SITE-KEYS, hold_down HOLD_DOWN, draining HAProxy hx) and [haproxy hx]
# (web/dc1-web on $HX_SOCK).
write_lab_conf() {
    write_drain_conf "$T/drain.conf" <<EOC
[site lab]
$(cat)
hold_down = $1
targets = hx

[haproxy hx]
socket = $HX_SOCK
servers = web/dc1-web
refresh = 500ms
EOC
}

# pub_req AGENT ZONE REQUEST SEQ [TEST] [ALARMS-JSON]: a retained drain
# request as emberd publishes it, on site "lab".
pub_req() {
    local agent=$1 zone=$2 req=$3 seq=$4 test=${5:-false} alarms=${6:-[]}
    local ts
    ts=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -t "emberwatch/lab/$agent/drain/$zone" \
        -m "{\"ts\":\"$ts\",\"zone\":\"$zone\",\"request\":\"$req\",\"reason\":\"test\",\"alarms\":$alarms,\"votes\":1,\"vote\":1,\"seq\":$seq,\"test\":$test}"
}

# stop_drain: stops the last ember-drain (SIGTERM) and fails when it did not
# exit 0 or its log has a sanitizer or valgrind report.
stop_drain() {
    local pid=$DRAIN_PID rc i
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    wait "$pid"
    rc=$?
    [ "$rc" -eq 0 ] || die "ember-drain (pid $pid) exited with status $rc"
    if grep -lE "Sanitizer|runtime error|Invalid (read|write)|definitely lost" "$T"/drain*.log "$T"/dry.log 2>/dev/null; then
        die "sanitizer/valgrind report in ember-drain's log"
    fi
}

# dns_target NAME ZONE NAMES ADDRESSES [LINE...]: a [dns NAME] section for
# lib.sh's start_named server and its key "ember-drain", with extra LINEs.
dns_target() {
    printf '\n[dns %s]\nserver = 127.0.0.1:%s\nzone = %s\nnames = %s\naddresses = %s\n' "$1" "$DNS_PORT" "$2" "$3" "$4"
    printf 'tsig_key = ember-drain\ntsig_algorithm = hmac-sha256\ntsig_secret_file = %s\n' "$T/tsig.secret"
    printf '%s\n' "${@:5}"
}

# bgp_target NAME PREFIXES [LINE...]: a [bgp NAME] section withdrawing
# PREFIXES (protocol anycast) at lib.sh's start_bird_pair edge router.
bgp_target() {
    printf '\n[bgp %s]\nsocket = %s\nprotocol = anycast\nprefixes = %s\n' "$1" "$T/edge.ctl" "$2"
    printf '%s\n' "${@:3}"
}
