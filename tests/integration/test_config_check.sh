#!/bin/bash
# emberd -n: exit 0 with "configuration OK" on the shipped example; exit 1
# with FILE:LINE: [section] key: messages on broken files; nothing started.
. "$(dirname "$0")/lib.sh"

out=$("$EMBER_BIN/emberd" -n -c "$TOP/agent/examples/emberd.conf" 2>&1)
check "example config is OK" test $? -eq 0
check "says configuration OK" grep -q "configuration OK (3 buses, 4 devices, 7 sensors, 5 alarms, 1 zone)" <<<"$out"

cat >"$T/broken.conf" <<EOF
[agent]
site = lab
profile_dir = $TOP/agent/profiles

[bus line1]
type = rtu
device = /dev/ttyUSB0
parity = maybe

[device ups]
bus = line2
profile = apc-smart-ups
interval = 0.01s

[sensor t]
device = ups
point = battery_temp
EOF
"$EMBER_BIN/emberd" -n -c "$T/broken.conf" >"$T/stdout" 2>"$T/stderr"
rc=$?
check "broken config exits 1" test $rc -eq 1
check "bad enum names file:line and key" \
    grep -qF "$T/broken.conf:8: [bus line1] parity: 'maybe' is not one of: none, even, odd" "$T/stderr"
check "bad reference names the line" \
    grep -qF "$T/broken.conf:10: [device ups] bus: no [bus line2] in this file" "$T/stderr"
check "range error names the key" \
    grep -qF "$T/broken.conf:13: [device ups] interval: 0.01s is out of range (100ms..1h)" "$T/stderr"
check "nothing on stdout for a broken config" test ! -s "$T/stdout"
# As ExecStartPre under the journal: the same lines, each at priority err.
: >"$T/stderr-j"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/stderr-j") "$EMBER_BIN/emberd" -n -c "$T/broken.conf" \
    2>>"$T/stderr-j"
check "under the journal: every error line at <3>" \
    bash -c "[ \$(grep -c '^<3>' '$T/stderr-j') -eq \$(wc -l <'$T/stderr') ] && ! grep -qv '^<3>' '$T/stderr-j'"
check "... with the same text" grep -qF "<3>$T/broken.conf:8: [bus line1] parity:" "$T/stderr-j"

printf '[agent]\nsite = lab\n[mqtt\nport = 1\n' >"$T/syntax.conf"
"$EMBER_BIN/emberd" -n -c "$T/syntax.conf" 2>"$T/stderr2"
check "syntax error exits 1" test $? -eq 1
check "syntax error names the line" grep -qF "$T/syntax.conf:3: syntax error" "$T/stderr2"

"$EMBER_BIN/emberd" -n -c "$T/does-not-exist.conf" 2>"$T/stderr3"
check "missing file exits 1" test $? -eq 1
check "missing file is named" grep -qF "$T/does-not-exist.conf: cannot open: No such file" "$T/stderr3"

"$EMBER_BIN/emberd" --bogus >/dev/null 2>&1
check "bad option exits 2" test $? -eq 2
"$EMBER_BIN/emberd" --help | grep -q -- "--check"
check "--help documents -n/--check" test $? -eq 0

# Every shipped board file works as an [agent] board.
for b in bench pi4 pi5 cm4-rs485; do
    printf '[agent]\nsite = lab\nboard = %s\nboard_dir = %s\nprofile_dir = %s\n' \
        "$b" "$TOP/boards" "$TOP/agent/profiles" >"$T/b-$b.conf"
    "$EMBER_BIN/emberd" -n -c "$T/b-$b.conf" >/dev/null
    check "board $b loads" test $? -eq 0
done
# Every [agent] key emberd accepts has its own entry in emberd.conf(5)
# (".TP" then ".B key" in the [agent] section), and the example uses
# alarm_outputs, so emberd -n above checked it against the board.
man="$TOP/agent/man/emberd.conf.5"
keys=$(sed -n '/^static const struct cfg_directive agent_keys\[\]/,/^};/p' "$TOP/agent/emberd/conf.c" |
    sed -nE 's/^ *(\{|CFG_ROW\()"([a-z_]+)", CFG_.*/\2/p')
check "(the [agent] keys were found in conf.c)" test "$(wc -w <<<"$keys")" -ge 10
agent_man=$(sed -n '/^\.SH \[agent\]/,/^\.SH /p' "$man")
has_entry() { [[ $agent_man == *$'.TP\n.B '"$1"$'\n'* ]]; }
for k in $keys; do
    check "emberd.conf(5) documents [agent] $k" has_entry "$k"
done
check "the example config sets alarm_outputs" \
    grep -qE '^alarm_outputs = buzzer' "$TOP/agent/examples/emberd.conf"

finish
