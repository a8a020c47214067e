#!/bin/bash
# Wall-clock steps do not change how long a shelve or ember-drain's
# maint_after lasts (a Pi without an RTC has its clock stepped by NTP).
# emberd and ember-drain run under libfaketime with FAKETIME_NO_CACHE and a
# FAKETIME_TIMESTAMP_FILE the test rewrites, which steps their wall clock
# only (FAKETIME_DONT_FAKE_MONOTONIC=1: the monotonic clock keeps running):
#   * a 10-minute shelve is still in force after the clock steps forward a
#     day;
#   * a 5-second shelve ends about 5 s later after the clock steps back an
#     hour, and its zone requests a drain again;
#   * a persisted shelve that ended while emberd was down ends at once on
#     restart; one dated more than the 7-day cap ahead is clamped (logged);
#   * maint_after follows a drain by its own length when the clock steps
#     back an hour, and after a restart whose state file dates the drain a
#     day in the future.
# The real processes: mosquitto, ember-sim (Modbus TCP), emberd, HAProxy and
# ember-drain.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

FT_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$FT_LIB" ] || FT_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -1)
if [ -z "$FT_LIB" ] || [ ! -e "$FT_LIB" ]; then
    die "libfaketime not found (tests/install-deps.sh installs faketime)"
fi
FT_FILE=$T/faketime.rc
echo "+0" >"$FT_FILE"
# step OFFSET: the wall clock of every faked process is real time + OFFSET
# ("+1d", "-1h", "+0") from its next clock read on.
step() {
    echo "$1" >"$FT_FILE.new" && mv "$FT_FILE.new" "$FT_FILE"
    log "wall clock stepped to real $1"
}
# "${FAKED[@]}" CMD...: CMD with its wall clock read through $FT_FILE (env
# execs CMD, so its PID is CMD's).  An ASan build's link-order check does
# not allow a preloaded library first.
FAKED=(env LD_PRELOAD="$FT_LIB" FAKETIME_TIMESTAMP_FILE="$FT_FILE" FAKETIME_NO_CACHE=1
    FAKETIME_DONT_FAKE_MONOTONIC=1
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
# none_for SECONDS CMD...: CMD does not succeed within SECONDS.
none_for() { ! wait_until "$@"; }
after() { # after MARK NAME PATTERN: a recorder line after MARK matches
    tail -n +$(($1 + 1)) "$T/$2.rec" | grep -qE -- "$3"
}

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT" -c "$T/sim.ctl"
write_single_conf "$T/emberd.conf" "$SIM_PORT"
cat >>"$T/emberd.conf" <<EOF

[alarm room-hot]
sensor = t
zone = b3
kind = high
setpoint = 45
severity = critical

[zone b3]
vote = 1
EOF
P=emberwatch/lab/a1
CTL=("$EMBER_BIN/emberctl" -s "$T/ctl.sock")
start_emberd_faked() { # like lib.sh's start_emberd, under faketime
    start_bg "$1" "${FAKED[@]}" "$EMBER_BIN/emberd" -c "$T/emberd.conf"
    EMBERD_PID=$LAST_PID
    wait_until 30 log_has "$T/$1.log" "running:" || die "emberd did not start"
}
rec_start rec "$P/#"
start_emberd_faked emberd
echo "set xy-md02.temperature 50" >"$T/sim.ctl"
check "room-hot active" rec_wait 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"activated\""
check "zone b3 requests a drain" rec_wait 5 rec " $P/drain/b3 .*\"request\":\"drain\""

# 1. A 10-minute shelve, then the clock steps forward a day.
"${CTL[@]}" shelve room-hot 10m >/dev/null || die "shelve failed"
check "shelved" rec_wait 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"shelved\""
check "zone b3 none while shelved" rec_wait 5 rec " $P/drain/b3 .*\"request\":\"none\""
m=$(rec_mark rec)
step "+1d"
check "the day's step shows in emberd's timestamps" \
    rec_wait_after "$m" 5 rec " $P/sensor/t .*\"ts\":\"$(date -u -d '+1 day' +%Y-%m-%d)T"
check "a 10-minute shelve is still in force 3 s after a +1 day step" \
    none_for 3 after "$m" rec '"transition":"unshelved"'
check "emberctl still shows it shelved" bash -c "'${CTL[0]}' -s '$T/ctl.sock' --json alarms | grep -q '\"shelved\":true'"
"${CTL[@]}" unshelve room-hot >/dev/null || die "unshelve failed"
check "unshelved by hand" rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"unshelved\""
check "zone b3 drains again" rec_wait_after "$m" 5 rec " $P/drain/b3 .*\"request\":\"drain\""
step "+0"

# 2. A 5-second shelve, then the clock steps back an hour.
m=$(rec_mark rec)
"${CTL[@]}" shelve room-hot 5s >/dev/null || die "shelve failed"
check "shelved for 5 s" rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"shelved\""
t0=$(date +%s%N)
step "-1h"
check "a 5-second shelve ends by itself after a -1 hour step" \
    rec_wait_after "$m" 10 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"unshelved\""
took=$((($(date +%s%N) - t0) / 1000000))
log "the shelve ended ${took} ms after the step"
check "... not before its 5 s (${took} ms after the step)" test "$took" -ge 4000
check "zone b3 requests a drain again while room-hot is active" \
    rec_wait_after "$m" 5 rec " $P/drain/b3 .*\"request\":\"drain\""
step "+0"

# 3. Restart bounds on what was persisted (wall time).
"${CTL[@]}" shelve room-hot 10m >/dev/null || die "shelve failed"
check "shelved before the stop" wait_until 5 bash -c "'${CTL[0]}' -s '$T/ctl.sock' --json alarms | grep -q '\"shelved\":true'"
stop_pid "$EMBERD_PID"
# It ended while emberd was down.
$PY - "$T/journal.db" <<'EOP' || die "cannot edit the journal"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE alarm SET shelved_until = ? WHERE name = 'room-hot'", (int(time.time() * 1000) - 1000,))
db.commit()
EOP
m=$(rec_mark rec)
start_emberd_faked emberd2
check "a shelve that ended while emberd was down ends at once" \
    rec_wait_after "$m" 5 rec " $P/event .*\"alarm\":\"room-hot\".*\"transition\":\"unshelved\""
check "zone b3 requests a drain after that restart" \
    rec_wait_after "$m" 10 rec " $P/drain/b3 .*\"request\":\"drain\""
"${CTL[@]}" shelve room-hot 10m >/dev/null || die "shelve failed"
check "shelved again" wait_until 5 bash -c "'${CTL[0]}' -s '$T/ctl.sock' --json alarms | grep -q '\"shelved\":true'"
stop_pid "$EMBERD_PID"
# A year ahead (a journal written under a wrong clock, or tampered with).
$PY - "$T/journal.db" <<'EOP' || die "cannot edit the journal"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE alarm SET shelved_until = ? WHERE name = 'room-hot'", (int(time.time() * 1000) + 365 * 86400000,))
db.commit()
EOP
start_emberd_faked emberd3
check "a persisted shelve beyond the 7-day cap is clamped, and said" \
    log_has "$T/emberd3.log" "room-hot: the journal's shelve ends .* ahead; clamped to 7 days"
check "it is still shelved (clamped, not dropped)" \
    bash -c "'${CTL[0]}' -s '$T/ctl.sock' --json alarms | grep -q '\"shelved\":true'"
check "the journal now holds at most 7 days ahead" "$PY" - "$T/journal.db" <<'EOP'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
(u,) = db.execute("SELECT shelved_until FROM alarm WHERE name = 'room-hot'").fetchone()
left = u - time.time() * 1000
sys.exit(0 if 0 < left <= 7 * 86400000 + 60000 else 1)
EOP
stop_pid "$EMBERD_PID"

# 4. ember-drain: maint_after on the monotonic clock.
start_backends dc1-web dc2-web
start_haproxy web:dc1-web,dc2-web
write_drain_conf "$T/drain.conf" <<EOC
[site lab]
zones = b3
vote = 1
targets = hx

[haproxy hx]
socket = $HX_SOCK
servers = web/dc1-web
maint_after = 3s
refresh = 500ms
EOC
start_drain_faked() { # like drain_lib.sh's start_drain, under faketime
    start_bg "$1" "${FAKED[@]}" "$EMBER_BIN/ember-drain" -c "$T/drain.conf"
    DRAIN_PID=$LAST_PID
    wait_until 30 log_has "$T/$1.log" "settled:" || die "ember-drain did not settle"
}
pub_req a9 b3 none 1
start_drain_faked drain1
pub_req a9 b3 drain 2
check "drained" wait_until 5 hx_is web/dc1-web drain
t0=$(date +%s%N)
step "-1h"
check "maint_after (3 s) still comes after a -1 hour step" wait_until 8 hx_is web/dc1-web maint
took=$((($(date +%s%N) - t0) / 1000000))
check "... and not before its time (${took} ms after the step)" test "$took" -ge 2000
step "+0"
stop_drain
# Restart with a drain dated a day ahead in the state file (the clock was
# a day fast when it started): maint_after counts from the restart, bounded.
check "the state file holds the drain" test -s "$T/drain-state.json"
$PY - "$T/drain-state.json" <<'EOP' || die "cannot edit the state file"
import json, sys, time
p = sys.argv[1]
d = json.load(open(p))
s = d["sites"][0]
s["drain_start_ms"] = int(time.time() * 1000) + 86400000
s["maint"] = False
json.dump(d, open(p, "w"))
EOP
hx_cmd "set server web/dc1-web state drain" >/dev/null
check "HAProxy back to drain (out of maint)" wait_until 5 hx_is web/dc1-web drain
start_drain_faked drain2
check "maint within maint_after of a restart with a drain dated a day ahead" \
    wait_until 8 hx_is web/dc1-web maint
stop_drain
stop_haproxy
check "no sanitizer report in emberd's logs" \
    bash -c "! grep -qE 'Sanitizer|runtime error' '$T'/emberd*.log"
finish
