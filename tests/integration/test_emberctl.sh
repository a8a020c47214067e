#!/bin/bash
# emberctl on its own: it links only libember (none of libmodbus, SQLite,
# libgpiod); -c reads only [agent] control (not the MQTT password file, not
# the rest of emberd's configuration); and every exit code of emberctl(1):
# 0 done, 1 rejected, 2 bad usage, 3 unreachable or unreadable answer.
# The server is a small stand-in that answers one fixed line per connection.
. "$(dirname "$0")/lib.sh"

CTL="$EMBER_BIN/emberctl"

# ---- what it links ----------------------------------------------------------
ldd "$CTL" >"$T/ldd.out" 2>&1
check "ldd reads emberctl" test -s "$T/ldd.out"
check "emberctl links no libmodbus, libsqlite3 or libgpiod" \
    bash -c "! grep -E 'libmodbus|libsqlite3|libgpiod' '$T/ldd.out'"
# The same for what it would pull in without --as-needed.
check "emberctl needs no libmodbus, libsqlite3 or libgpiod (DT_NEEDED)" \
    bash -c "! objdump -p '$CTL' | grep NEEDED | grep -E 'libmodbus|libsqlite3|libgpiod'"

# ---- a stand-in server ------------------------------------------------------
cat >"$T/srv.py" <<'EOF'
import os, socket, sys
path, answer = sys.argv[1], sys.argv[2].encode()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    req = b""
    while not req.endswith(b"\n"):
        b = c.recv(4096)
        if not b:
            break
        req += b
    sys.stdout.write("request " + req.decode(errors="replace"))
    sys.stdout.flush()
    if answer != b"-":
        c.sendall(answer + b"\n")
    c.close()
EOF
serve() { # serve NAME ANSWER: a server on $T/NAME.sock answering ANSWER
    start_bg "$1" $PY "$T/srv.py" "$T/$1.sock" "$2"
    wait_until 10 log_has "$T/$1.log" listening || die "stand-in server $1 did not start"
}

serve ok '{"ok":true}'
serve no '{"ok":false,"error":"unknown alarm"}'
serve odd '[1,2,3]'
serve junk 'not json'
serve mute '-'

"$CTL" -s "$T/ok.sock" ack batt-hot --by kim >"$T/out" 2>&1
check "done exits 0" test $? -eq 0
check "done prints 'ack: done'" grep -qx "ack: done" "$T/out"
check "the request is one JSON line" \
    log_has "$T/ok.log" 'request {"cmd":"ack","by":"kim","alarm":"batt-hot"}'
"$CTL" -s "$T/ok.sock" -j status >"$T/out"
check "-j prints the answer as it came" grep -qx '{"ok":true}' "$T/out"

"$CTL" -s "$T/no.sock" ack nope 2>"$T/err"
check "rejected exits 1" test $? -eq 1
check "rejected prints the reason" grep -qx "emberctl: ack: unknown alarm" "$T/err"
"$CTL" -s "$T/no.sock" -j ack nope >/dev/null
check "rejected with -j exits 1" test $? -eq 1

"$CTL" -s "$T/odd.sock" status 2>"$T/err"
check "an answer that is not an object exits 3" test $? -eq 3
check "... called unreadable" grep -q "unreadable answer from emberd" "$T/err"
"$CTL" -s "$T/junk.sock" status 2>/dev/null
check "an answer that is not JSON exits 3" test $? -eq 3
"$CTL" -s "$T/mute.sock" status 2>"$T/err"
check "no answer (closed) exits 3" test $? -eq 3
check "... says the answer was empty" grep -qx "emberctl: empty answer from emberd" "$T/err"

"$CTL" -s "$T/nobody.sock" status 2>"$T/err"
check "unreachable exits 3" test $? -eq 3
check "unreachable names the socket" \
    grep -qF "emberctl: cannot reach emberd at $T/nobody.sock: No such file or directory" "$T/err"

# A server that accepts and never answers: the timeout, then exit 3.
$PY - "$T/slow.sock" >"$T/slow.log" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
print("listening", flush=True)
time.sleep(60)
EOF
PIDS+=("$!")
wait_until 10 log_has "$T/slow.log" listening || die "slow server did not start"
"$CTL" -s "$T/slow.sock" -t 0.3 status 2>"$T/err"
check "no answer in time exits 3" test $? -eq 3
check "... saying how long it waited" grep -qx "emberctl: no answer from emberd within 300 ms" "$T/err"

# ---- usage: exit 2 ----------------------------------------------------------
"$CTL" >/dev/null 2>&1
check "no command exits 2" test $? -eq 2
"$CTL" -s "$T/ok.sock" frobnicate >/dev/null 2>&1
check "unknown command exits 2" test $? -eq 2
"$CTL" -s "$T/ok.sock" ack >/dev/null 2>&1
check "missing argument exits 2" test $? -eq 2
"$CTL" -s "$T/ok.sock" status extra >/dev/null 2>&1
check "extra argument exits 2" test $? -eq 2
"$CTL" -t 0 -s "$T/ok.sock" status >/dev/null 2>&1
check "bad timeout exits 2" test $? -eq 2
"$CTL" --bogus >/dev/null 2>&1
check "bad option exits 2" test $? -eq 2
"$CTL" --help >"$T/out"
check "--help exits 0" test $? -eq 0
check "--help lists the exit status" grep -q "3 emberd could not be reached" "$T/out"
"$CTL" --version >"$T/out"
check "--version exits 0" test $? -eq 0
check "... printing 'emberctl VERSION'" grep -qxE "emberctl [0-9]+\.[0-9]+\.[0-9]+" "$T/out"
# Every program answers -V/--version the same way: "NAME VERSION", exit 0.
for p in emberd ember-drain ember-sim emberctl; do
    "$EMBER_BIN/$p" -V >"$T/v-$p" 2>&1
    check "$p -V exits 0" test $? -eq 0
    check "... printing '$p VERSION'" grep -qxE "$p [0-9]+\.[0-9]+\.[0-9]+" "$T/v-$p"
done
check "... the same version everywhere" \
    test "$(cut -d' ' -f2 "$T"/v-* | sort -u | wc -l)" -eq 1

# ---- -c: only [agent] control -----------------------------------------------
# The rest of this file would not pass emberd -n (a missing password file,
# a bad enum, a reference to nothing): emberctl must not care.
mkdir -p "$T/etc"
cat >"$T/etc/emberd.conf" <<EOF
[agent]
site = lab
control = ../ok.sock

[mqtt]
host = 127.0.0.1
username = agent
password_file = $T/etc/no-such-password-file

[bus line1]
type = rtu
device = /dev/ttyUSB0
parity = maybe
EOF
"$CTL" -c "$T/etc/emberd.conf" status >"$T/out" 2>"$T/err"
check "-c finds [agent] control (relative to the file) and exits 0" test $? -eq 0
check "-c: nothing about the rest of the file" test ! -s "$T/err"

printf '[agent]\nsite = lab\n' >"$T/etc/default.conf"
"$CTL" -c "$T/etc/default.conf" -t 1 status 2>"$T/err"
check "-c without control uses the default socket" \
    grep -qF "cannot reach emberd at /run/emberwatch/emberd.sock" "$T/err"

printf '[mqtt]\ncontrol = %s\n[agent]\nsite = lab\n' "$T/ok.sock" >"$T/etc/other.conf"
"$CTL" -c "$T/etc/other.conf" -t 1 status 2>"$T/err"
check "-c reads control only from [agent]" \
    grep -qF "cannot reach emberd at /run/emberwatch/emberd.sock" "$T/err"

printf '[agent]\nsite = lab\ncontrol =\n' >"$T/etc/empty.conf"
"$CTL" -c "$T/etc/empty.conf" status 2>"$T/err"
check "-c with an empty control exits 2" test $? -eq 2
check "... naming file:line and the key" \
    grep -qxF "$T/etc/empty.conf:3: [agent] control: empty value" "$T/err"

printf '[agent\ncontrol = %s\n' "$T/ok.sock" >"$T/etc/syntax.conf"
"$CTL" -c "$T/etc/syntax.conf" status 2>"$T/err"
check "-c with a syntax error exits 2" test $? -eq 2
check "... naming file:line" grep -qF "$T/etc/syntax.conf:1: syntax error" "$T/err"
# reload on a file with errors: refused (1), not bad usage.  Here the
# socket cannot be read from the file, so emberctl gives the first error.
"$CTL" -c "$T/etc/syntax.conf" reload 2>"$T/err"
check "reload -c with a syntax error exits 1" test $? -eq 1
check "... printing the first error" grep -qxF \
    "emberctl: reload: configuration has 1 error; first: $T/etc/syntax.conf:1: syntax error (expected [section] or key = value)" \
    "$T/err"
# Errors elsewhere, control readable: emberd is asked (and answers).
printf '[agent]\ncontrol = %s\n[alarm broken\n' "$T/no.sock" >"$T/etc/broken.conf"
"$CTL" -c "$T/etc/broken.conf" reload 2>"$T/err"
check "reload -c with errors elsewhere asks emberd (exit 1 is its answer)" test $? -eq 1
check "... the request reached emberd" log_has "$T/no.log" 'request {"cmd":"reload"}'

"$CTL" -c "$T/etc/missing.conf" status 2>"$T/err"
check "-c with a missing file exits 2" test $? -eq 2
check "... naming the file" grep -qF "$T/etc/missing.conf: cannot open: No such file" "$T/err"

"$CTL" -s "$T/ok.sock" -c "$T/etc/missing.conf" status >/dev/null 2>&1
check "-s wins over -c" test $? -eq 0

finish
