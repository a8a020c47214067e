#!/bin/bash
# make bench: emberd measured side by side with the peers people use today
# (NUT 2.8 generic_modbus + upsd, collectd 5.12 modbus + threshold + mqtt,
# all from Debian), in one run, on loopback, with real processes.  Prints a
# table, writes build/bench/results.json and plots build/bench/latency.png.
#
#   1 ramp      10 C/s ramp through a 45 C high alarm -> "activated" event,
#               emberd adaptive (default) and fixed 1 s polling at once, on
#               two devices of one ember-sim (bench/ramp.py)
#   2 detect    step of an XY-MD02 register through 45 C -> alarm at the
#               consumer: emberd (default 1 s), NUT (pollinterval 2 s default
#               and 1 s), collectd (Interval 10 s default and 1 s), against
#               ember-sim and, independently, a pymodbus server (bench/detect.py)
#   3 gpio      simulated GPIO edge -> contact alarm event (bench/gpio_lat.py)
#   4 scale     100 Modbus TCP devices x 20 registers at 1 Hz (2,000 points):
#               one emberd process beside collectd (modbus + mqtt, Interval
#               1), SCALE_RUNS windows, each with freshly started processes of
#               both; CPU (and its emberd/collectd ratio in the same window),
#               peak RSS (VmHWM), RssAnon, late polls: median, min, max
#   5 scale10k  500 devices x 20 registers at 1 Hz (10,000 points) over 10
#               Modbus TCP endpoints of one ember-sim, one emberd process
#               alone: the same figures, SCALE10K_RUNS windows
#   6 drain     bench/drain_latency.sh, when present (build/bench/drain.json)
#     drain_dnsbgp  bench/drain_latency.sh dnsbgp: crossing -> the answer at
#               a DNS reader changed and the route gone from the observer
#               BIRD (build/bench/drain_dnsbgp.json)
#     drain_takeover  bench/drain_latency.sh takeover: two controllers, the
#               first killed -9 at each crossing -> HAProxy DRAIN by the
#               second, and the Last Will's delay (build/bench/drain_takeover.json)
#   7 replay    10,000 alarm events journaled during a broker outage, then
#               delivered to a QoS 1 subscriber: events/s
#   8 footprint binary sizes and RSS
#  10 failover  emberd with [mqtt] host listing 3 mosquitto brokers: the one
#               it is on killed -9 FAILOVER_N times (restarted after): the
#               kill -> its "online" at a subscriber of the next broker
#  10b failover_rmq  the same on a 3-node RabbitMQ cluster (its MQTT plugin):
#               the node emberd is on killed -9 FAILOVER_RMQ_N times, restarted
#               (it rejoins) after each: the kill -> "online" on another node
#   9 console   the NOC console in Debian's chromium under 100 agents x 20
#               sensors at 1 Hz plus alarm churn (bench/console_scale.sh):
#               main-thread busy time, frames/s, input delay, JS heap from
#               minute 5 to CONSOLE_MINUTES, broker -> page delay
#
# Knobs (environment):
#   RAMPS           ramps in the ramp phase (50)
#   DETECT_N        changes per system and server in the detect phase (50;
#                   emberd: 50 activations)
#   GPIO_N          edges per GPIO run (200)
#   SCALE_SECONDS   measurement window of each scale and scale10k run (15)
#   SCALE_RUNS      scale windows, their median is reported (3)
#   SCALE10K_RUNS   scale10k windows (3)
#   SCALE_PROCS     emberd processes sharing a scale load (1; 2 or more only
#                   for a build that caps sensors per process below the load)
#   REPLAY_N        events in the replay phase (10000)
#   RUNS_DRAIN      runs in each drain phase (100)
#   CONSOLE_MINUTES minutes the console phase runs (10)
#   FAILOVER_N      kills in the failover phase (20)
#   FAILOVER_RMQ_N  kills in the failover_rmq phase (20)
#   PHASES          all: ramp detect gpio scale scale10k drain drain_dnsbgp
#                   drain_takeover replay failover failover_rmq footprint console; a subset (spaces or commas) runs only those,
#                   the table says "not measured" for the rest
# Takes about 25 minutes on a 2-core VM (10 of them the console's).
set -u
export TMPDIR=${TMPDIR:-/tmp}
BENCH_START=$(date +%s)
# The peers, gnuplot and the test tools; quiet when all are installed.
"$(dirname "$0")/install-deps.sh" || exit 1
. "$(dirname "$0")/../tests/integration/lib.sh"
TEST_NAME=bench
RAMPS=${RAMPS:-50}
DETECT_N=${DETECT_N:-50}
GPIO_N=${GPIO_N:-200}
SCALE_SECONDS=${SCALE_SECONDS:-15}
SCALE_RUNS=${SCALE_RUNS:-3}
SCALE10K_RUNS=${SCALE10K_RUNS:-3}
SCALE_PROCS=${SCALE_PROCS:-1}
REPLAY_N=${REPLAY_N:-10000}
RUNS_DRAIN=${RUNS_DRAIN:-100}
FAILOVER_N=${FAILOVER_N:-20}
FAILOVER_RMQ_N=${FAILOVER_RMQ_N:-20}
OUT=$TOP/build/bench
R=$T/results # per-phase JSON, merged by report.py
mkdir -p "$OUT" "$R"
# collectd's NotificationExec runs its hook as nobody, and NUT drops to the
# nut user: both need to reach files under $T.
chmod 755 "$T"
cp "$TOP/bench/cd-notify.sh" "$T/cd-notify.sh"
chmod 755 "$T/cd-notify.sh"
GEN="$PY $TOP/bench/gen.py"

for b in emberd ember-sim emberctl; do
    [ -x "$EMBER_BIN/$b" ] || die "$EMBER_BIN/$b missing: run make first"
done

phase() { log "== $* ($(($(date +%s) - BENCH_START)) s)"; }

# proc_cpu PID: utime+stime in clock ticks; proc_kb PID FIELD: VmRSS/VmHWM in kB
proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
proc_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# proc_mem PID: "VmRSS VmHWM RssAnon" in kB
proc_mem() { echo "$(proc_kb "$1" VmRSS) $(proc_kb "$1" VmHWM) $(proc_kb "$1" RssAnon)"; }
CLK_TCK=$(getconf CLK_TCK)
json_field() { $PY -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]])' "$1"; }
ctl_status() { "$EMBER_BIN/emberctl" -s "$T/$1.sock" -j status; }
# start_emberd_named NAME: emberd on the config gen.py wrote ($T/NAME.conf)
start_emberd_named() { start_emberd "emberd-$1" "$T/$1.conf"; }

start_broker

# ---- 1. ramp: adaptive and fixed side by side ------------------------------
bench_ramp() {
    phase "ramp: $RAMPS ramps at 10 C/s through 45 C, adaptive and fixed 1 s polling at once"
    RAMP_PORT=$(free_port)
    $GEN ramp --dir "$T" --top "$TOP" --mqtt "$MQTT_PORT" --sim-port "$RAMP_PORT" || die "gen ramp"
    start_sim ramp-sim -s "$T/ramp.scn" -c "$T/ramp-sim.ctl"
    RAMP_SIM=$SIM_PID
    start_emberd_named ramp-adaptive
    RA_PID=$EMBERD_PID
    start_emberd_named ramp-fixed
    RF_PID=$EMBERD_PID
    # collectd (Interval 1) reads the adaptive run's device too: the same ramps.
    start_bg cdramp collectd -f -C "$T/cdramp.conf"
    CDR_PID=$LAST_PID
    wait_until 20 log_has "$T/cdramp.log" "entering read-loop" || die "collectd (ramp) did not start"
    ramp_py() { # ramp_py NAME DEVICE SEED [ARGS...]
        local name=$1 dev=$2 seed=$3
        shift 3
        $PY "$TOP/bench/ramp.py" --port "$MQTT_PORT" --fifo "$T/ramp-sim.ctl" --point "$dev.temperature" \
            --topic "emberwatch/lab/ramp-$name/event" --alarm room-hot --ramps "$RAMPS" \
            --seed "$seed" --out "$R/ramp-$name.json" "$@" >/dev/null 2>"$T/ramp-$name.err"
    }
    ramp_py adaptive ra 1 --cd-topic cdramp/ramp/modbus-ra/temperature-t \
        --cd-notify-topic cdnotify/cdramp/ramp/ra &
    RP1=$!
    ramp_py fixed rf 2 &
    RP2=$!
    PIDS+=("$RP1" "$RP2")
    wait "$RP1" || die "ramp (adaptive) failed: $(cat "$T/ramp-adaptive.err")"
    wait "$RP2" || die "ramp (fixed) failed: $(cat "$T/ramp-fixed.err")"
    # Idle footprint: an emberd with one XY-MD02 at 1 s (fixed polling).
    read -r IDLE_RSS IDLE_HWM IDLE_ANON <<<"$(proc_mem "$RF_PID")"
    stop_pid "$CDR_PID"
    stop_pid "$RA_PID"
    stop_pid "$RF_PID"
    stop_pid "$RAMP_SIM"
}

# ---- 2. detection latency: emberd, NUT, collectd ----------------------------
bench_detect() {
    phase "detect: register steps through 45 C in ember-sim and pymodbus, emberd vs NUT vs collectd"
    SIM_PORT=$(free_port)
    PYM_PORT=$(free_port)
    UPSD_PORT=$(free_port)
    $GEN detect --dir "$T" --top "$TOP" --mqtt "$MQTT_PORT" --sim-port "$SIM_PORT" \
        --pym-port "$PYM_PORT" --upsd-port "$UPSD_PORT" || die "gen detect"
    start_sim det-sim -s "$T/detect.scn" -c "$T/det-sim.ctl"
    DET_SIM=$SIM_PID
    start_bg mbserver "$PY" "$TOP/bench/mbserver.py" --port "$PYM_PORT" --slaves 40 --fifo "$T/pym.ctl"
    PYM_PID=$LAST_PID
    wait_until 20 log_has "$T/mbserver.log" "ready" || die "pymodbus server did not start"

    # NUT: drivers first (each makes its socket in the state path), then upsd.
    mkdir -p "$T/nut/state"
    chown -R nut:nut "$T/nut" 2>/dev/null
    chmod 750 "$T/nut" && chmod 640 "$T"/nut/*.conf "$T/nut/upsd.users"
    chmod 700 "$T/nut/state"
    NUTENV=(env NUT_CONFPATH="$T/nut" NUT_STATEPATH="$T/nut/state")
    NUT_DRIVERS=()
    for u in $(sed -n 's/^\[\(.*\)\]$/\1/p' "$T/nut/ups.conf"); do
        start_bg "nut-$u" "${NUTENV[@]}" /lib/nut/generic_modbus -a "$u" -F
        NUT_DRIVERS+=("$LAST_PID")
    done
    for u in $(sed -n 's/^\[\(.*\)\]$/\1/p' "$T/nut/ups.conf"); do
        wait_until 20 test -S "$T/nut/state/generic_modbus-$u" || die "NUT driver $u did not start"
    done
    start_bg upsd "${NUTENV[@]}" /lib/nut/upsd -F
    UPSD_PID=$LAST_PID
    wait_until 20 log_has "$T/upsd.log" "listening on" || die "upsd did not start"

    start_bg cd1 collectd -f -C "$T/cd1.conf"
    CD1_PID=$LAST_PID
    start_bg cd10 collectd -f -C "$T/cd10.conf"
    CD10_PID=$LAST_PID
    wait_until 20 log_has "$T/cd1.log" "entering read-loop" || die "collectd (Interval 1) did not start"
    wait_until 20 log_has "$T/cd10.log" "entering read-loop" || die "collectd (Interval 10) did not start"
    start_emberd_named det
    DET_PID=$EMBERD_PID

    $PY "$TOP/bench/detect.py" --mqtt "$MQTT_PORT" --sim-fifo "$T/det-sim.ctl" --pym-fifo "$T/pym.ctl" \
        --upsd-port "$UPSD_PORT" --n "$DETECT_N" --out "$R/detect.json" 2>"$T/detect.err" ||
        die "detection benchmark failed: $(tail -5 "$T/detect.err")"
    grep -v '^detect: [0-9]* s,' "$T/detect.err" | head -5 >&2
    ctl_status det >"$R/detect-emberd-status.json"
    # RSS side by side, same phase: NUT = one driver + upsd, collectd Interval 1,
    # emberd with its 10 devices.
    {
        echo "nut_driver $(proc_mem "${NUT_DRIVERS[0]}")"
        echo "upsd $(proc_mem "$UPSD_PID")"
        echo "collectd $(proc_mem "$CD1_PID")"
        echo "emberd $(proc_mem "$DET_PID")"
    } >"$T/detect-rss"
    $PY - "$T/detect-rss" "${#NUT_DRIVERS[@]}" "$R/detect-rss.json" <<'EOF'
import json, sys
d = {"nut_drivers": int(sys.argv[2])}
for line in open(sys.argv[1]):
    f = line.split()
    d[f[0]] = {"rss_kb": int(f[1]), "hwm_kb": int(f[2]), "anon_kb": int(f[3])}
json.dump(d, open(sys.argv[3], "w"))
EOF
    stop_pid "$DET_PID"
    stop_pid "$CD1_PID"
    stop_pid "$CD10_PID"
    stop_pid "$UPSD_PID"
    for p in "${NUT_DRIVERS[@]}"; do stop_pid "$p"; done
    stop_pid "$PYM_PID"
    stop_pid "$DET_SIM"
}

# ---- 3. GPIO edge -> MQTT alarm --------------------------------------------
# emberd commits each event to its SQLite journal (synchronous=FULL: an
# fsync) before publishing it, so the edge latency includes the disk's fsync;
# a second run puts the journal on tmpfs to show what the disk costs.
bench_gpio() {
    phase "gpio: $GPIO_N contact edges on the simulated GPIO backend"
    SHM=""
    [ -d /dev/shm ] && [ -w /dev/shm ] && SHM=$(mktemp -d /dev/shm/ember-bench.XXXXXX)
    $GEN gpio --dir "$T" --top "$TOP" --mqtt "$MQTT_PORT" ${SHM:+--journal-dir "$SHM"} || die "gen gpio"
    JFS=$(df -T "$T" 2>/dev/null | awk 'NR==2 {print $2}')
    echo "{\"journal_fs\": \"${JFS:-?}\"}" >"$R/gpio-fs.json"
    runs="gp ${SHM:+gp-tmpfs}"
    for gp in $runs; do
        start_emberd_named "$gp"
        GP_PID=$EMBERD_PID
        wait_until 10 test -p "$T/$gp.gpio" || die "no GPIO FIFO"
        $PY "$TOP/bench/gpio_lat.py" --port "$MQTT_PORT" --fifo "$T/$gp.gpio" --input smoke1 \
            --topic "emberwatch/lab/$gp/event" --alarm smoke --n "$GPIO_N" --out "$R/$gp.json" \
            2>"$T/$gp.err" || die "GPIO benchmark failed: $(tail -5 "$T/$gp.err")"
        stop_pid "$GP_PID"
    done
    [ -n "$SHM" ] && rm -rf "$SHM"
}

# ---- 4. scale: 100 devices x 20 registers at 1 Hz --------------------------
# scale_round TAG RUN DEVICES [cd]: one measurement window with freshly
# started emberd processes (agents TAG0..) and, with "cd", a fresh collectd
# (cdTAG) beside them, on the simulators the phase started.  A warm-up, then
# CPU ticks at both ends of SCALE_SECONDS, memory at its end, then emberd's
# bus counters; bench/scale_stats.py writes $R/TAG-RUN.json.
scale_round() {
    local tag=$1 run=$2 ndev=$3 cd=${4:-} k cds="" sub snapf
    snapf="$T/$tag-$run.snap" # after the local above: its words expand before it assigns
    local epids=() topics=()
    for ((k = 0; k < SCALE_PROCS; k++)); do
        rm -f "$T/$tag$k.journal.db"*
        topics+=(-t "emberwatch/lab/$tag$k/sensor/#")
    done
    [ -n "$cd" ] && topics+=(-t "cd$tag/#")
    # Counters: every value message with its arrival time (C client, cheap).
    start_bg "$tag-sub-$run" mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -F '%U %t' "${topics[@]}"
    sub=$LAST_PID
    for ((k = 0; k < SCALE_PROCS; k++)); do
        start_emberd "emberd-$tag$k-$run" "$T/$tag$k.conf"
        epids+=("$EMBERD_PID")
    done
    if [ -n "$cd" ]; then
        start_bg "cd$tag-$run" collectd -f -C "$T/cd$tag.conf"
        cds=$LAST_PID
        wait_until 20 log_has "$T/cd$tag-$run.log" "entering read-loop" || die "collectd ($tag) did not start"
    fi
    # Warm-up: every system publishes, then 5 s more so connections and caches settle.
    wait_until 30 bash -c "grep -q ' emberwatch/' '$T/$tag-sub-$run.log' ${cd:+&& grep -q ' cd$tag/' '$T/$tag-sub-$run.log'}" ||
        die "no values from the $tag load"
    sleep 5 # warm-up period of the measurement, not a readiness wait
    snap() { # snap start|end: wall clock and CPU ticks at this instant
        echo "wall $1 $(date +%s.%N)"
        for k in "${!epids[@]}"; do echo "cpu $1 emberd $(proc_cpu "${epids[$k]}")"; done
        [ -n "$cds" ] && echo "cpu $1 collectd $(proc_cpu "$cds")"
    }
    threads() { awk '$1 == "Threads:" {print $2}' "/proc/$1/status"; }
    snap start >"$snapf"
    sleep "$SCALE_SECONDS" # the measurement window itself
    snap end >>"$snapf"
    for k in "${!epids[@]}"; do
        echo "mem emberd $(proc_mem "${epids[$k]}") $(threads "${epids[$k]}")"
    done >>"$snapf"
    [ -n "$cds" ] && echo "mem collectd $(proc_mem "$cds") $(threads "$cds")" >>"$snapf"
    # emberd's bus counters (polls and late polls since it started), read
    # only now: a status answer lists every sensor, and building it for
    # 10,000 of them would count in the peak RSS and CPU just measured.
    for k in "${!epids[@]}"; do ctl_status "$tag$k" >"$T/$tag-$run-end-$k.json"; done
    sleep 1.5 # let the last values of the window reach the counter
    for k in "${!epids[@]}"; do stop_pid "${epids[$k]}"; done
    [ -n "$cds" ] && stop_pid "$cds"
    stop_pid "$sub"
    $PY "$TOP/bench/scale_stats.py" round --snap "$snapf" --sub "$T/$tag-sub-$run.log" --status-dir "$T" \
        --tag "$tag" --run "$run" --tck "$CLK_TCK" --devices "$ndev" --out "$R/$tag-$run.json" ||
        die "$tag analysis (run $run)"
    rm -f "$T/$tag-sub-$run.log" # up to 10,000 lines a second: do not keep it
}

# scale_phase TAG LISTENERS PER RUNS [cd]: LISTENERS Modbus TCP endpoints of
# PER devices x 20 registers at 1 Hz, RUNS windows, then their median.
scale_phase() {
    local tag=$1 nl=$2 per=$3 runs=$4 cd=${5:-} i run ep=() cp=() rounds=()
    for ((i = 0; i < nl; i++)); do
        ep+=("$(free_port)")
        [ -n "$cd" ] && cp+=("$(free_port)")
    done
    $GEN scale --tag "$tag" --dir "$T" --top "$TOP" --mqtt "$MQTT_PORT" --ports "$(IFS=,; echo "${ep[*]}")" \
        ${cd:+--cd-ports "$(IFS=,; echo "${cp[*]}")"} --per "$per" --emberd-procs "$SCALE_PROCS" ||
        die "gen $tag"
    if ! "$EMBER_BIN/emberd" -n -c "$T/${tag}0.conf" >"$T/$tag-check.log" 2>&1; then
        # A build with a sensor cap below the load: say so, run the rest.
        local why
        why="emberd does not take $((nl * per * 20 / SCALE_PROCS)) sensors in one process (SCALE_PROCS=$SCALE_PROCS): $(head -1 "$T/$tag-check.log")"
        log "$tag: not measured: $why"
        $PY -c 'import json, sys; json.dump({"not_measured": sys.argv[1]}, open(sys.argv[2], "w"))' \
            "$why" "$R/$tag.json"
        return 0
    fi
    start_sim "$tag-sim-ember" -s "$T/$tag-ember.scn"
    local sims=("$SIM_PID")
    if [ -n "$cd" ]; then
        start_sim "$tag-sim-cd" -s "$T/$tag-cd.scn"
        sims+=("$SIM_PID")
    fi
    for ((run = 1; run <= runs; run++)); do
        log "$tag: run $run of $runs"
        scale_round "$tag" "$run" $((nl * per)) $cd
        rounds+=("$R/$tag-$run.json")
    done
    for i in "${sims[@]}"; do stop_pid "$i"; done
    $PY "$TOP/bench/scale_stats.py" summary --out "$R/$tag.json" "${rounds[@]}" || die "$tag summary"
}

bench_scale() {
    phase "scale: 100 Modbus TCP devices x 20 registers at 1 Hz, emberd vs collectd, $SCALE_RUNS x ${SCALE_SECONDS} s"
    scale_phase scale 4 25 "$SCALE_RUNS" cd
}

bench_scale10k() {
    phase "scale10k: 500 Modbus TCP devices x 20 registers at 1 Hz over 10 endpoints, $SCALE10K_RUNS x ${SCALE_SECONDS} s"
    scale_phase scale10k 10 50 "$SCALE10K_RUNS"
}

# ---- 6. drain latency (ember-drain; its own script) ------------------------
# drain_script MODE JSON: runs bench/drain_latency.sh MODE, which writes
# build/bench/JSON; copies it to the results, with its status and
# ember-drain's memory in JSON's -status file.
drain_script() {
    local mode=$1 json=$2 status before dpid watch rss="" hwm=""
    status="not measured (ember-drain missing)"
    if [ -f "$TOP/bench/drain_latency.sh" ]; then
        before=$(date +%s)
        rm -f "$T/drain-rss"
        # Its own session, so its ember-drain is told apart from any other
        # ember-drain on this machine; its memory is sampled while it runs.
        EMBER_BIN=$EMBER_BIN setsid bash "$TOP/bench/drain_latency.sh" "$mode" >"$T/drain-$mode.log" 2>&1 &
        dpid=$!
        PIDS+=("$dpid")
        (
            hwm=0 first=0
            while sleep 0.1; do
                for p in $(ps -o pid= -o comm= -s "$dpid" 2>/dev/null | awk '$2 == "ember-drain" {print $1}'); do
                    k=$(proc_kb "$p" VmHWM)
                    r=$(proc_kb "$p" VmRSS)
                    [ "${first:-0}" -eq 0 ] && first=$r
                    [ "${k:-0}" -gt "$hwm" ] && hwm=$k
                    echo "$first $hwm" >"$T/drain-rss"
                done
            done
        ) &
        watch=$!
        PIDS+=("$watch")
        if wait "$dpid"; then
            if [ -f "$OUT/$json" ] && [ "$(stat -c %Y "$OUT/$json")" -ge "$before" ]; then
                cp "$OUT/$json" "$R/$json"
                status=ok
            else
                status="not measured (drain_latency.sh $mode wrote no new build/bench/$json)"
            fi
        else
            status="not measured (drain_latency.sh $mode failed: $(tail -1 "$T/drain-$mode.log"))"
        fi
        kill "$watch" 2>/dev/null
        wait "$watch" 2>/dev/null
        [ -s "$T/drain-rss" ] && read -r rss hwm <"$T/drain-rss"
    fi
    $PY -c 'import json,sys; json.dump({"status": sys.argv[1], "rss_kb": int(sys.argv[2] or 0), "hwm_kb": int(sys.argv[3] or 0)}, open(sys.argv[4], "w"))' \
        "$status" "${rss:-0}" "${hwm:-0}" "$R/${json%.json}-status.json"
}
bench_drain() {
    phase "drain: $RUNS_DRAIN runs, crossing -> HAProxy DRAIN"
    RUNS=$RUNS_DRAIN drain_script haproxy drain.json
}
# ---- 6b. drain latency to DNS and BGP (named + two BIRDs) -------------------
bench_drain_dnsbgp() {
    phase "drain_dnsbgp: $RUNS_DRAIN runs, crossing -> dig answer changed and route gone at the observer BIRD"
    RUNS=$RUNS_DRAIN drain_script dnsbgp drain_dnsbgp.json
}

# ---- 6c. take-over by a peer controller (c1 killed -9 at the crossing) -------
bench_drain_takeover() {
    phase "drain_takeover: $RUNS_DRAIN runs, c1 killed -9 at the crossing -> HAProxy DRAIN by c2"
    RUNS=$RUNS_DRAIN drain_script takeover drain_takeover.json
}

# ---- 7. journal replay after a broker outage -------------------------------
bench_replay() {
    phase "replay: $REPLAY_N alarm events journaled during a broker outage"
    RP_PORT=$(free_port)
    cat >"$T/rp-mosquitto.conf" <<EOC
listener $RP_PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
EOC
    start_bg rp-broker1 mosquitto -c "$T/rp-mosquitto.conf"
    RPB=$LAST_PID
    wait_until 10 log_has "$T/rp-broker1.log" "running" || die "mosquitto (replay) did not start"
    $GEN replay --dir "$T" --top "$TOP" --mqtt "$RP_PORT" || die "gen replay"
    start_emberd_named rp
    RPE=$EMBERD_PID
    wait_until 10 log_has "$T/emberd-rp.log" "mqtt: connected" || die "emberd (replay) did not connect"
    stop_pid "$RPB"
    wait_until 10 log_has "$T/emberd-rp.log" "lost" || die "emberd did not notice the outage"
    # REPLAY_N contact changes: debounce 0 and off_delay 0 make each an event.
    $PY - "$T/rp.gpio" "$REPLAY_N" <<'EOF'
import sys
f = open(sys.argv[1], "w")
for i in range(int(sys.argv[2])):
    f.write("c1 %d\n" % ((i + 1) % 2))
f.close()
EOF
    pending() { ctl_status rp | json_field journal_pending; }
    wait_until 60 bash -c "[ \$('$EMBER_BIN/emberctl' -s '$T/rp.sock' -j status | $PY -c 'import json,sys; print(json.load(sys.stdin)[\"journal_pending\"])') -ge $REPLAY_N ]" ||
        die "emberd did not journal $REPLAY_N events ($(pending) pending)"
    JOURNALED=$(pending)
    # Hold emberd while the broker comes back and the subscriber is in place,
    # so the clock starts at emberd's own reconnect.
    kill -STOP "$RPE"
    start_bg rp-broker2 mosquitto -c "$T/rp-mosquitto.conf"
    RPB=$LAST_PID
    wait_until 10 log_has "$T/rp-broker2.log" "running" || die "mosquitto (replay) did not restart"
    start_bg rp-sub mosquitto_sub -h 127.0.0.1 -p "$RP_PORT" -q 1 -F '%U %t %p' \
        -t emberwatch/lab/rp/event -t emberwatch/lab/rp/status -t bench/probe
    RPS=$LAST_PID
    wait_until 10 bash -c "mosquitto_pub -h 127.0.0.1 -p $RP_PORT -t bench/probe -m probe; grep -q ' bench/probe ' '$T/rp-sub.log'" ||
        die "replay subscriber not ready"
    kill -CONT "$RPE"
    count_distinct() { grep -o '"seq":[0-9]*' "$T/rp-sub.log" | sort -u | wc -l; }
    wait_until 60 bash -c "[ \$(grep -o '\"seq\":[0-9]*' '$T/rp-sub.log' | sort -u | wc -l) -ge $REPLAY_N ]" ||
        log "replay: only $(count_distinct) of $REPLAY_N events arrived"
    sleep 0.5 # let mosquitto_sub flush its last lines
    stop_pid "$RPS"
    stop_pid "$RPE"
    stop_pid "$RPB"
    $PY - "$T/rp-sub.log" "$REPLAY_N" "$JOURNALED" "$R/replay.json" <<'EOF' || die "replay analysis"
import json, sys
path, n, journaled, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t_online = None
seen = set()
t_last = None
dups = 0
for l in open(path):
    f = l.rstrip("\n").split(" ", 2)
    if len(f) < 3:
        continue
    t = float(f[0])
    if f[1].endswith("/status") and f[2] == "online" and t_online is None:
        t_online = t
    elif f[1].endswith("/event"):
        try:
            seq = json.loads(f[2])["seq"]
        except (ValueError, KeyError):
            continue
        if seq in seen:
            dups += 1
            continue
        seen.add(seq)
        if len(seen) == n:
            t_last = t
res = {"events": n, "journaled": journaled, "received_distinct": len(seen), "duplicates": dups}
if t_online is not None and t_last is not None:
    res["seconds"] = round(t_last - t_online, 3)
    res["events_per_s"] = round(n / max(t_last - t_online, 1e-6), 1)
json.dump(res, open(out, "w"), indent=1)
EOF
}

# ---- 8. footprint: binary sizes ---------------------------------------------
bench_footprint() {
    phase "footprint"
    sizes() { # sizes NAME PATH: unstripped and stripped sizes in bytes
        [ -f "$2" ] || return 0
        strip -o "$T/$1.stripped" "$2" 2>/dev/null || cp "$2" "$T/$1.stripped"
        echo "\"$1\": [$(stat -c %s "$2"), $(stat -c %s "$T/$1.stripped")],"
    }
    {
        echo "{"
        sizes emberd "$EMBER_BIN/emberd"
        sizes ember-drain "$EMBER_BIN/ember-drain"
        sizes generic_modbus /lib/nut/generic_modbus
        sizes upsd /lib/nut/upsd
        sizes collectd /usr/sbin/collectd
        echo "\"collectd_plugins\": [$(($(stat -c %s /usr/lib/collectd/modbus.so) + $(stat -c %s /usr/lib/collectd/mqtt.so) + $(stat -c %s /usr/lib/collectd/threshold.so))), 0],"
        echo "\"idle_rss_kb\": [${IDLE_RSS:-0}, ${IDLE_HWM:-0}, ${IDLE_ANON:-0}]"
        echo "}"
    } >"$R/footprint.json"
}

# ---- 10. broker failover: the current broker killed -9, FAILOVER_N times --------
# failover_kills KIND N LOG SUBS SAMPLES TIMEOUT KILL RESTART ID=PORT...: N times,
# finds the broker of ID=PORT... that emberd (its log LOG) is connected to,
# runs KILL ID, and appends to SAMPLES the ms from the kill to the first
# "online" that a subscriber of another broker printed after it (SUBS: the
# subscriber logs are SUBS?.log, lines "%U ID %p"); then RESTART ID brings it back.
failover_kills() {
    local kind=$1 n=$2 log=$3 subs=$4 samples=$5 timeout=$6 kill=$7 restart=$8 i kv port cur t0
    shift 8
    : >"$samples"
    for ((i = 0; i < n; i++)); do
        port=$(grep -o 'mqtt: connected to 127.0.0.1:[0-9]*' "$log" | tail -1 | cut -d: -f3)
        cur=""
        for kv in "$@"; do [ "${kv#*=}" = "$port" ] && cur=${kv%%=*}; done
        [ -n "$cur" ] || die "failover ($kind): cannot tell which broker emberd is on"
        t0=$(date +%s.%N)
        "$kill" "$cur"
        online_after() { cat "$subs"?.log | awk -v t="$t0" -v c="$cur" '$1 > t && $2 != c && $3 == "online"' | sort -n | head -1; }
        wait_until "$timeout" eval '[ -n "$(online_after)" ]' ||
            die "failover ($kind): emberd did not come back on another broker"
        online_after | awk -v t="$t0" '{ printf "%.1f\n", ($1 - t) * 1000 }' >>"$samples"
        "$restart" "$cur"
    done
}
# failover_json SAMPLES OUT KILLS [KEY VALUE]: the samples as the phase's JSON
failover_json() {
    $PY - "$@" <<'EOF2' || die "failover analysis ($2)"
import json, sys
res = {"kills": int(sys.argv[3]), "switch_ms": [float(l) for l in open(sys.argv[1]) if l.strip()]}
if len(sys.argv) > 5:
    res[sys.argv[4]] = sys.argv[5]
json.dump(res, open(sys.argv[2], "w"))
EOF2
}

bench_failover() {
    phase "failover: emberd on a list of 3 mosquitto brokers, the one it is on killed -9 $FAILOVER_N times"
    local n
    declare -A FP FPID
    for n in 1 2 3; do
        FP[$n]=$(free_port)
        printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "${FP[$n]}" >"$T/fo-$n.conf"
        start_bg "fo-broker-$n" mosquitto -c "$T/fo-$n.conf"
        FPID[$n]=$LAST_PID
        wait_until 10 log_has "$T/fo-broker-$n.log" "running" || die "mosquitto (failover $n) did not start"
        # Each broker's own view: when the agent's "online" reaches a subscriber there.
        start_bg "fo-sub-$n" mosquitto_sub -h 127.0.0.1 -p "${FP[$n]}" -F "%U $n %p" -t emberwatch/lab/a1/status
    done
    MQTT_PORT=${FP[1]}
    write_contact_conf "$T/fo.conf" "host = 127.0.0.1:${FP[1]}, 127.0.0.1:${FP[2]}, 127.0.0.1:${FP[3]}" \
        "keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s"
    start_emberd fo "$T/fo.conf"
    local FOE=$EMBERD_PID
    wait_until 10 log_has "$T/fo.log" "mqtt: connected" || die "emberd (failover) did not connect"
    fo_kill() { kill -KILL "${FPID[$1]}"; wait "${FPID[$1]}" 2>/dev/null; }
    fo_restart() { # the killed broker back (its mosquitto_sub reconnects by itself)
        start_bg "fo-broker-$1" mosquitto -c "$T/fo-$1.conf"
        FPID[$1]=$LAST_PID
        wait_until 10 eval "(exec 3<>/dev/tcp/127.0.0.1/${FP[$1]}) 2>/dev/null" || die "mosquitto $1 did not restart"
    }
    failover_kills mosquitto "$FAILOVER_N" "$T/fo.log" "$T/fo-sub-" "$T/fo-samples" 30 fo_kill fo_restart \
        1="${FP[1]}" 2="${FP[2]}" 3="${FP[3]}"
    stop_pid "$FOE"
    for n in 1 2 3; do stop_pid "${FPID[$n]}"; done
    failover_json "$T/fo-samples" "$R/failover.json" "$FAILOVER_N"
}

# ---- 10b. the same on a 3-node RabbitMQ cluster ---------------------------------
bench_failover_rmq() {
    phase "failover_rmq: emberd on a 3-node RabbitMQ cluster, the node it is on killed -9 $FAILOVER_RMQ_N times"
    local x
    start_rabbitmq_cluster
    for x in a b c; do
        start_bg "rq-sub-$x" mosquitto_sub -h 127.0.0.1 -p "${RMQC_MQTT[$x]}" -V mqttv311 -F "%U $x %p" \
            -t emberwatch/lab/a1/status
    done
    MQTT_PORT=${RMQC_MQTT[a]}
    write_contact_conf "$T/rq.conf" \
        "host = 127.0.0.1:${RMQC_MQTT[a]}, 127.0.0.1:${RMQC_MQTT[b]}, 127.0.0.1:${RMQC_MQTT[c]}" \
        "keepalive = 5" "reconnect_min = 100ms" "reconnect_max = 1s"
    sed -i -e "s|$T/journal.db|$T/rq-journal.db|" -e "s|$T/ctl.sock|$T/rq.sock|" -e "s|$T/gpio-sim|$T/rq-gpio|" "$T/rq.conf"
    start_emberd rq "$T/rq.conf"
    local RQE=$EMBERD_PID
    wait_until 20 log_has "$T/rq.log" "mqtt: connected" || die "emberd (failover_rmq) did not connect"
    failover_kills RabbitMQ "$FAILOVER_RMQ_N" "$T/rq.log" "$T/rq-sub-" "$T/rq-samples" 60 \
        kill_rabbitmq_node restart_rabbitmq_node a="${RMQC_MQTT[a]}" b="${RMQC_MQTT[b]}" c="${RMQC_MQTT[c]}"
    stop_pid "$RQE"
    stop_rabbitmq_cluster
    failover_json "$T/rq-samples" "$R/failover_rmq.json" "$FAILOVER_RMQ_N" rabbitmq "$RMQ_VERSION"
}

# ---- 9. the NOC console under a fleet's load ---------------------------------
bench_console() {
    phase "console: 100 agents x 20 sensors at 1 Hz + alarm churn, the page in chromium, ${CONSOLE_MINUTES:-10} min"
    "$TOP/bench/console_scale.sh" "$R/console.json" 2>"$T/console_scale.log" ||
        log "console phase failed: $(tail -n 5 "$T/console_scale.log")"
    grep -F '"minute"' "$T/console_scale.log" >&2
}

PHASES=${PHASES:-ramp detect gpio scale scale10k drain drain_dnsbgp drain_takeover replay failover failover_rmq footprint console}
for ph in ${PHASES//,/ }; do
    declare -F "bench_$ph" >/dev/null ||
        die "unknown phase $ph (PHASES: ramp detect gpio scale scale10k drain drain_dnsbgp drain_takeover replay failover failover_rmq footprint console)"
    "bench_$ph"
done

phase "report"
EMBER_BIN=$EMBER_BIN $PY "$TOP/bench/report.py" --dir "$R" --out "$OUT" --seconds "$(($(date +%s) - BENCH_START))" ||
    die "report failed"
finish
