#!/bin/bash
# ember-drain's command line: -n passes the shipped example and names
# file:line, section and key for every mistake in a broken file; --help;
# exit statuses of the client (2 usage, 3 unreachable); the systemd unit
# template verifies.
. "$(dirname "$0")/lib.sh"
D=$EMBER_BIN/ember-drain

out=$("$D" -n -c "$TOP/agent/examples/ember-drain.conf" 2>&1)
check "example config OK ($out)" test $? -eq 0
check "... says configuration OK" grep -q "configuration OK (1 site, 2 haproxy instances with 6 servers, 1 hook)" <<<"$out"

cat >"$T/bad.conf" <<'EOC'
[drain]
control_mode = 0999
dry_run = maybe
settle = forever

[mqtt]
port = 70000
password_file = /nonexistent/pass

[site lab]
vote = 3
zones = b3, b4
offline = panic
targets = lb1, nope
hooks = ghost

[site _drain]
zones = x

[haproxy lb1]
socket = /run/haproxy.sock
tcp = 127.0.0.1:9999
servers = web/s1, nobackend, web/s1
weight = 300

[haproxy lb2]
tcp = localhost
servers = web/s2

[hook h1]
args = x

[bogus]
key = 1
this line is wrong
EOC
"$D" -n -c "$T/bad.conf" >"$T/bad.out" 2>&1
check "-n exits 1 on a broken file" test $? -eq 1
expect() { grep -qF -- "$1" "$T/bad.out" || { cat "$T/bad.out" >&2; return 1; }; }
check "octal control_mode" expect "bad.conf:2: [drain] control_mode: '0999' is not an octal mode 0..0777"
check "bool" expect "bad.conf:3: [drain] dry_run: 'maybe' is not yes/no"
check "duration" expect "bad.conf:4: [drain] settle: 'forever' is not a duration"
check "port range" expect "bad.conf:7: [mqtt] port: 70000 is out of range (1..65535)"
check "password_file needs username" expect "[mqtt] password_file: needs a username"
check "enum" expect "bad.conf:13: [site lab] offline: 'panic' is not one of: hold, ignore, vote"
check "unknown target" expect "bad.conf:10: [site lab] targets: no [haproxy nope], [bgp nope] or [dns nope] in this file"
check "unknown hook" expect "bad.conf:10: [site lab] hooks: no [hook ghost] in this file"
check "vote above zones" expect "bad.conf:10: [site lab] vote: 3 zones must agree but only 2 are listed in 'zones'"
check "reserved site name" expect "[site _drain]: the name _drain is reserved"
check "socket xor tcp" expect "bad.conf:20: [haproxy lb1]: needs exactly one of 'socket'"
check "server syntax" expect "[haproxy lb1] servers: 'nobackend' is not BACKEND/SERVER"
check "duplicate server" expect "[haproxy lb1] servers: 'web/s1' is listed twice"
check "weight range" expect "[haproxy lb1] weight: '300' is not 0..256 or 0%..100%"
check "tcp syntax" expect "[haproxy lb2] tcp: 'localhost' is not HOST:PORT"
check "untargeted haproxy" expect "[haproxy lb2]: not a target of any [site]"
check "hook without exec" expect "[hook h1]: missing key 'exec'"
check "unknown section" expect "bad.conf:34: [bogus]: unknown section"
check "syntax error" expect "bad.conf:35: syntax error"
check "error count" expect "bad.conf: 20 errors"

cat >"$T/empty.conf" <<'EOC'
[drain]
id = x
EOC
"$D" -n -c "$T/empty.conf" >"$T/empty.out" 2>&1
check "a file without sites is refused" grep -q "no \[site NAME\] section: nothing to do" "$T/empty.out"
"$D" -n -c "$T/missing.conf" >"$T/missing.out" 2>&1
check "missing file: exit 1" test $? -eq 1
check "missing file: says so" grep -q "missing.conf: cannot open: No such file or directory" "$T/missing.out"

"$D" --help >"$T/help.out"
check "--help exits 0" test $? -eq 0
for w in "hold SITE" "release SITE" "undrain SITE" "status" "--check" "Exit status"; do
    check "--help mentions $w" grep -qF -- "$w" "$T/help.out"
done
"$D" frobnicate >/dev/null 2>&1
check "unknown command: exit 2" test $? -eq 2
"$D" hold >/dev/null 2>&1
check "hold without a site: exit 2" test $? -eq 2
"$D" --socket "$T/nobody.sock" status >/dev/null 2>&1
check "no daemon: exit 3" test $? -eq 3

sed -e "s|@SBINDIR@|$EMBER_BIN|g" -e "s|@SYSCONFDIR@|/etc|g" "$TOP/agent/systemd/ember-drain.service.in" >"$T/ember-drain.service"
if systemd-analyze --help 2>/dev/null | grep -q -- "--man"; then
    systemd-analyze verify --man=no "$T/ember-drain.service" >"$T/verify.log" 2>&1
    check "unit file verifies" test $? -eq 0
fi
U=$T/ember-drain.service
check "unit is Type=notify" grep -qx "Type=notify" "$U"
check "unit checks the config first" grep -qx "ExecStartPre=$EMBER_BIN/ember-drain -n -c /etc/emberwatch/ember-drain.conf" "$U"
check "unit has the watchdog on" grep -qE "^WatchdogSec=[0-9]+s$" "$U"
check "unit creates its runtime, state and logs directories" \
    eval "grep -qx RuntimeDirectory=ember-drain '$U' && grep -qx StateDirectory=ember-drain '$U' && grep -qx LogsDirectory=ember-drain '$U'"
check "unit is hardened" eval "grep -qx ProtectSystem=strict '$U' && grep -qx NoNewPrivileges=yes '$U'"
finish
