#!/bin/bash
# ember-drain's audit log under logrotate: the file is renamed while
# commands keep being audited, SIGHUP makes ember-drain reopen it at its path,
# and no line is lost or split: every command's line is in exactly one of the
# files, every file is whole JSON lines, the new file starts with "reopen",
# and ember-drain is still running (SIGHUP no longer ends it).
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

start_broker
write_drain_conf "$T/drain.conf" <<EOC
[site lab]
agents = a1
zones = b3
vote = 1
hooks = noop

[hook noop]
exec = /bin/true
EOC
check "ember-drain -n accepts the test config" "$EMBER_BIN/ember-drain" -n -c "$T/drain.conf"
start_drain drain "$T/drain.conf"
A=$T/drain-audit.log

# 200 commands, each audited with its own reason, while the log is rotated 3 times.
N=200
(for ((i = 1; i <= N; i++)); do
    if ((i % 2)); then drain_cli hold lab --by rot --reason "n=$i" >/dev/null
    else drain_cli release lab --by rot --reason "n=$i" >/dev/null; fi || echo "command $i failed"
done >"$T/cmds.out" 2>&1) &
CMDS=$!
PIDS+=("$CMDS")
cmd_lines_over() { [ "$(grep -c '"reason":"n=' "$A" 2>/dev/null)" -gt "$1" ]; }
for r in 1 2 3; do
    wait_until 10 cmd_lines_over 10 || die "no command lines in $A"
    mv "$A" "$A.$r"
    kill -HUP "$DRAIN_PID"
    check "rotation $r: ember-drain reopened the log" wait_until 5 test -s "$A"
done
wait "$CMDS"
check "every command was answered" test ! -s "$T/cmds.out"
check "ember-drain survived three SIGHUPs" kill -0 "$DRAIN_PID"
check "each reopened file starts with a reopen event" \
    bash -c "for f in '$A.2' '$A.3' '$A'; do head -n1 \"\$f\" | grep -q '\"event\":\"reopen\"' || exit 1; done"
check "every line of every file is whole JSON" \
    $PY -c "import json,sys; [json.loads(l) for f in sys.argv[1:] for l in open(f)]" "$A.1" "$A.2" "$A.3" "$A"
cat "$A.1" "$A.2" "$A.3" "$A" | grep -o '"reason":"n=[0-9]*"' | sort | uniq -c >"$T/counts"
check "all $N commands audited exactly once across the 4 files" \
    test "$(awk '$1 == 1' "$T/counts" | wc -l)" -eq "$N" -a "$(wc -l <"$T/counts")" -eq "$N"
check "the rotated files each got some" bash -c "grep -q 'n=' '$A.2' && grep -q 'n=' '$A.3'"
stop_pid "$DRAIN_PID"
check "the stop is in the current file" grep -q '"event":"stop"' "$A"
finish
