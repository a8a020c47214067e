#!/bin/bash
# ember-drain does not believe whatever the broker hands it (real mosquitto,
# mosquitto_pub as the forger, a real HAProxy 2.6):
#   1. a forged request dated in 2099 with a huge seq is refused and audited,
#      so the real agent's later requests still count and undrain works;
#   2. one agent's requests are ordered by seq, never by ts: a request dated
#      in the past (an agent without a real-time clock) counts, a journal
#      replay of an older seq with a newer ts does not; an agent that lost
#      its journal (seq from 1 again) counts once it has come online again;
#   3. with `agents = a1:b3, a2:b4`, a1's request for zone b4 is refused and
#      audited, so one agent alone cannot make up a two-zone vote;
#   4. a retained drain/state from a controller not named in the config
#      (`held` or `drained`, or one naming no controller) is logged and
#      ignored: the controller starts serving and decides from the requests;
#      one from a peer named in `[drain] peers` is adopted.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_broker
start_backends dc1-web dc2-web
start_haproxy web:dc1-web,dc2-web

P=emberwatch/lab
A=$T/drain-audit.log
forge() { # forge TOPIC PAYLOAD: a retained QoS 1 message from outside
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -t "$1" -m "$2"
}
clear_retained() { # clear_retained TOPIC...
    local t
    for t in "$@"; do mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -r -n -t "$t"; done
}
# req_at AGENT ZONE REQUEST SEQ TS: a request as emberd publishes it, with
# the given ts.
req_at() {
    forge "$P/$1/drain/$2" \
        "{\"ts\":\"$5\",\"zone\":\"$2\",\"request\":\"$3\",\"reason\":\"test\",\"alarms\":[\"room-hot\"],\"votes\":1,\"vote\":1,\"seq\":$4,\"test\":false}"
}
audit_has() { grep -q -- "$1" "$A"; }
fresh_drain() { # fresh_drain NAME: no state file, a new audit log
    rm -f "$T/drain-state.json" "$A" "$T/drain.sock"
    start_drain "$1" "$T/drain.conf"
}
past=2001-01-01T00:00:05.000Z
# lab_conf < SITE-KEYS: $T/drain.conf with [site lab] (SITE-KEYS, draining
# HAProxy hx, no hold_down) and [haproxy hx].
lab_conf() { write_lab_conf 0; }

# ---- 1 and 2: forged future request; seq, not ts, orders requests --------
lab_conf <<EOC
zones = b3, b4
vote = 1
max_skew = 5m
EOC
check "ember-drain -n accepts max_skew" "$EMBER_BIN/ember-drain" -n -c "$T/drain.conf"
pub_req a1 b3 none 5
fresh_drain drain1
check "a1's none seen" site_is lab serving

forge "$P/a1/drain/b3" \
    '{"ts":"2099-01-01T00:00:00.000Z","zone":"b3","request":"drain","reason":"forged","alarms":["room-hot"],"votes":1,"vote":1,"seq":9007199254740991,"test":false}'
check "the forged request is refused and audited" \
    wait_until 5 audit_has '"event":"request_refused".*2099'
check "... with a log line naming the skew" \
    log_has "$T/drain1.log" "dated .* in the future (max_skew"
check "site still serving after the forged request" site_is lab serving
check "HAProxy untouched" hx_is web/dc1-web ready

# An agent without an RTC, rebooted: its clock says 2001, its seq goes on.
req_at a1 b3 drain 6 "$past"
check "a request dated in the past counts: drained" wait_until 5 site_is lab drained
check "HAProxy drained" wait_until 5 hx_is web/dc1-web drain
req_at a1 b3 none 7 "$past"
check "the real agent's none is taken" \
    wait_until 5 log_has "$T/drain1.log" "request from a1 for zone b3: none (seq 7"
# A journal replay: an older seq with a fresh ts does not count.
pub_req a1 b3 drain 4
check "an older seq with a newer ts is ignored" \
    wait_until 5 log_has "$T/drain1.log" "request from a1 for zone b3 ignored: seq 4 is older than seq 7"
check "... and the condition stays clear" \
    bash -c "'$EMBER_BIN/ember-drain' --socket '$T/drain.sock' status --json lab | grep -q '\"condition\":false'"
check "undrain is accepted" drain_cli undrain lab --by tester
check "serving again" wait_until 5 site_is lab serving
check "HAProxy ready again" wait_until 5 hx_is web/dc1-web ready
# An agent that lost its journal counts from seq 1 again: a replay until its
# status says it came online again, then its next request counts.
pub_req a1 b3 drain 1
check "seq 1 after seq 7 on the same connection is ignored" \
    wait_until 5 log_has "$T/drain1.log" "request from a1 for zone b3 ignored: seq 1 is older than seq 7"
check "... still serving" site_is lab serving
forge "$P/a1/status" offline
forge "$P/a1/status" online
check "the agent's reconnection is seen" wait_until 5 log_has "$T/drain1.log" "agent a1 is online"
pub_req a1 b3 drain 2
check "after it came online again, its seq 2 counts: drained" wait_until 5 site_is lab drained
pub_req a1 b3 none 3
check "undrain" wait_until 5 drain_cli undrain lab --by tester
check "HAProxy ready" wait_until 5 hx_is web/dc1-web ready
stop_drain
clear_retained "$P/a1/drain/b3" "$P/a1/status"

# ---- 3: which agents vote for which zones --------------------------------
lab_conf <<EOC
agents = a1:b3, a2:b4
zones = b3, b4
vote = 2
vote_by = zone
EOC
check "ember-drain -n accepts agents with zones" "$EMBER_BIN/ember-drain" -n -c "$T/drain.conf"
fresh_drain drain2
pub_req a1 b3 drain 1
pub_req a1 b4 drain 2
check "a1's request for b4 is refused and audited" \
    wait_until 5 audit_has '"event":"request_refused".*a1 may not request a drain for zone b4'
check "one agent alone does not drain a two-zone site" site_is lab serving
check "HAProxy untouched" hx_is web/dc1-web ready
pub_req a2 b4 drain 1
check "a2's own zone makes the second vote: drained" wait_until 5 site_is lab drained
pub_req a1 b3 none 3
pub_req a2 b4 none 2
check "undrain" wait_until 5 drain_cli undrain lab --by tester
check "serving" wait_until 5 site_is lab serving
stop_drain
clear_retained "$P/a1/drain/b3" "$P/a1/drain/b4" "$P/a2/drain/b4"

# ---- 4: retained drain/state from controllers not named ------------------
printf 'zones = b3\nvote = 1\n' | lab_conf
forge "$P/drain/state" '{"ts":"2026-01-01T00:00:00.000Z","site":"lab","state":"held","held_state":"serving","cause":"forged","controller":"mallory"}'
fresh_drain drain3
check "a held state from an unnamed controller is logged" \
    log_has "$T/drain3.log" "ignoring the retained drain state 'held' published by 'mallory'"
check "... audited" audit_has '"event":"adopt_refused"'
check "... and not adopted: serving, not held" site_is lab serving
pub_req a1 b3 drain 1
check "the real request is acted on: drained" wait_until 5 site_is lab drained
check "HAProxy drained" wait_until 5 hx_is web/dc1-web drain
pub_req a1 b3 none 2
check "undrain" wait_until 5 drain_cli undrain lab --by tester
check "HAProxy ready" wait_until 5 hx_is web/dc1-web ready
stop_drain
clear_retained "$P/a1/drain/b3"

forge "$P/drain/state" '{"ts":"2026-01-01T00:00:00.000Z","site":"lab","state":"drained","cause":"forged","drain_id":7}'
fresh_drain drain4
check "a drained state naming no controller is logged" \
    log_has "$T/drain4.log" "ignoring the retained drain state 'drained' published by no named controller"
check "serving with no request" site_is lab serving
wait_until 1 false # a worker pass and a refresh (bounded)
check "HAProxy untouched" hx_is web/dc1-web ready
stop_drain

# A peer named in the config is trusted.
DRAIN_EXTRA=("peers = ctl-b")
printf 'zones = b3\nvote = 1\n' | lab_conf
forge "$P/drain/state" '{"ts":"2026-01-01T00:00:00.000Z","site":"lab","state":"held","held_state":"serving","cause":"maintenance","by":"ops","controller":"ctl-b","drain_id":3}'
fresh_drain drain5
check "a held state from a named peer is adopted" \
    log_has "$T/drain5.log" "adopted the retained drain state 'held/serving'"
check "held" site_is lab held
stop_drain
stop_haproxy
finish
