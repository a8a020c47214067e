# stack.sh - what the phases of tests/console set up alike (sourced by
# on_mosquitto.sh, on_rabbitmq.sh and on_tls.sh, bash): tests/integration/lib.sh,
# bench/drain_lib.sh, site "lab" drained by ember-drain in a real HAProxy,
# and the browser's story.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
. "$TOP/bench/drain_lib.sh"

DIST=${CONSOLE_DIST:-$TOP/agent/console/dist}
[ -f "$DIST/index.html" ] || die "$DIST/index.html missing"

# lab_site AGENTS ZONES: HTTP backends b3-web1, b3-web2 (room b3's) and
# b4-web1 behind HAProxy's backend web; ember-drain for site lab (AGENTS,
# ZONES, vote 1, hold_down 0, mqtt_commands = yes) draining web/b3-web1 and
# web/b3-web2.  Waits until the site serves.
lab_site() {
    start_backends b3-web1 b3-web2 b4-web1
    start_haproxy web:b3-web1,b3-web2,b4-web1
    write_b3_conf "$T/drain.conf" "$1" "$2" "mqtt_commands = yes" </dev/null
    "$EMBER_BIN/ember-drain" -n -c "$T/drain.conf" >"$T/drain-check.log" 2>&1 || die "ember-drain -n rejects drain.conf"
    start_drain drain "$T/drain.conf"
    check "site lab serving" site_is lab serving
}

# run_story PHASE URL: console.test.mjs's PHASE story in chromium on the page
# at URL; the ember-sim control FIFO $T/sim.ctl, the recorder $T/rec.rec,
# MQTT_PORT, HX_SOCK and A1_PID (emberd a1) are handed to it.
run_story() {
    export CONSOLE_PHASE=$1 CONSOLE_URL=$2 SIM_CTL=$T/sim.ctl REC=$T/rec.rec
    export MQTT_PORT HX_SOCK A1_PID
    node "$TOP/tests/console/console.test.mjs" &
    NODE_PID=$!
    PIDS+=("$NODE_PID")
    wait "$NODE_PID" || die "the page's story on $1 (console.test.mjs; screenshots in ${CONSOLE_SHOTS:-})"
    CHECKS=$((CHECKS + 1))
    log "ok: the page's story on $1 (console.test.mjs)"
}
