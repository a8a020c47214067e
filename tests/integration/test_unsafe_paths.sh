#!/bin/bash
# Files in world-writable places, with emberd and ember-drain running as
# root and a second user (nobody) who can write a 1777 directory:
# - a symlinked journal.db, or a symlinked journal.db-wal, is refused and the
#   file it points at is left untouched (it was overwritten by SQLite);
# - a journal owned by another user, or one writable by others, is refused
#   and none of its outbox rows is published (they went out as forged drain
#   requests under the agent's identity);
# - a control socket path squatted by another user is refused with a message
#   naming its owner, and the squatter's file stays where it is;
# - a directory writable by others without the sticky bit is refused;
# - ember-drain's audit log and state file follow the same rules;
# - the daemons' own files in a 1777 directory (as under /tmp) still work,
#   across a restart.
# Not as root, the checks that need a file of another user are skipped.
. "$(dirname "$0")/lib.sh"
. "$TOP/bench/drain_lib.sh"

ROOT=
if [ "$(id -u)" -eq 0 ]; then
    ROOT=1
    id nobody >/dev/null 2>&1 || die "needs the user nobody"
else
    log "NOTE: not root: skipping the checks on files of another user"
fi
# plant PATH...: hands what the test planted to nobody (when root).
plant() { [ -z "$ROOT" ] || chown -h nobody "$@"; }

quiet() { "$@" >/dev/null; }

start_broker
rec_start rec 'emberwatch/#'

S=$T/shared
mkdir "$S"
chmod 1777 "$S"
chmod 0755 "$T" # others must reach $S, as they would reach /tmp

cat >"$T/board.conf" <<EOF
[board]
name = unsafe
[input c1]
line = 1
EOF
# conf NAME [AGENT-LINE...]: an emberd config with one GPIO contact.
conf() {
    local name=$1
    shift
    CONF_AGENT_EXTRA=("board = $T/board.conf" "$@")
    write_conf "$T/$name.conf" <<EOF
[sensor c1]
gpio = c1

[alarm c1]
sensor = c1
kind = contact
severity = critical
zone = b3

[zone b3]
vote = 1
EOF
}

# refused NAME CONF PATTERN: emberd exits 1 at start, without ever running,
# and its log has PATTERN (fixed string).
refused() {
    local name=$1 cfg=$2 pat=$3 rc
    start_bg "$name" "$EMBER_BIN/emberd" -c "$cfg"
    wait_until 15 bash -c "! kill -0 $LAST_PID 2>/dev/null || grep -q 'running:' '$T/$name.log'"
    if kill -0 "$LAST_PID" 2>/dev/null; then
        stop_pid "$LAST_PID"
        log "$name: emberd started: $(grep -m1 'running:' "$T/$name.log")"
        return 1
    fi
    wait "$LAST_PID"
    rc=$?
    [ "$rc" -eq 1 ] || { log "$name: exit status $rc"; return 1; }
    grep -qF -- "$pat" "$T/$name.log" || { log "$name: no '$pat' in its log"; return 1; }
}

# 1. journal.db is a symlink to a file the attacker wants overwritten.
: >"$T/victim"
ln -s "$T/victim" "$S/journal.db"
plant "$S/journal.db"
conf link "journal = $S/journal.db"
check "a symlinked journal is refused, naming the path" \
    refused link "$T/link.conf" "$S/journal.db: is a symbolic link"
check "... the file it points at is untouched" test ! -s "$T/victim"
rm -f "$S/journal.db" "$S"/journal.db-*

# 2. the journal's WAL is a symlink (the main file does not exist yet).
: >"$T/victim-wal"
ln -s "$T/victim-wal" "$S/j2.db-wal"
plant "$S/j2.db-wal"
conf wal "journal = $S/j2.db"
check "a symlinked journal-wal is refused, naming it" \
    refused wal "$T/wal.conf" "$S/j2.db-wal: is a symbolic link"
check "... the file it points at is untouched" test ! -s "$T/victim-wal"
rm -f "$S"/j2.db*

# 3. a journal planted by another user: an outbox row forging a drain
#    request, and a shelve until 2100.
forge() { # forge PATH: a journal with emberd's schema, one forged row, one shelve
    $PY - "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER);
CREATE TABLE alarm (name TEXT PRIMARY KEY, active INTEGER, acked INTEGER,
  shelved_until INTEGER, since_ms INTEGER, seq INTEGER);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL,
  retain INTEGER NOT NULL, critical INTEGER NOT NULL);
INSERT INTO meta VALUES ('seq_reserved', 5000);
INSERT INTO alarm VALUES ('c1', 0, 0, 4102444800000, 0, 1);
INSERT INTO outbox VALUES (4000, 'emberwatch/lab/a1/drain/b3',
  '{"ts":"2026-01-01T00:00:00.000Z","zone":"b3","request":"drain","reason":"FORGED","alarms":[],"votes":1,"vote":1,"seq":4000,"test":false}', 1, 1);
""")
db.commit()
EOF
}
if [ -n "$ROOT" ]; then
    forge "$S/forged.db"
    chown nobody "$S/forged.db"
    chmod 0600 "$S/forged.db"
    conf owner "journal = $S/forged.db"
    check "a journal owned by another user is refused, naming its owner" \
        refused owner "$T/owner.conf" "$S/forged.db: is owned by uid $(id -u nobody)"
fi

forge "$T/open.db"
chmod 0666 "$T/open.db"
conf mode "journal = $T/open.db"
check "a journal writable by others is refused, with the fix" \
    refused mode "$T/mode.conf" "chmod go-w $T/open.db"
check "no forged row was published" bash -c "! grep -q FORGED '$T/rec.rec'"

# 4. the control socket path is squatted by another user (a dead socket:
#    before, root removed it and started; a live one stopped the start).
if [ -n "$ROOT" ]; then
    $PY -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$S/ctl.sock"
    chown -h nobody "$S/ctl.sock"
    conf squat "control = $S/ctl.sock"
    check "a squatted control socket is refused, naming its owner" \
        refused squat "$T/squat.conf" "$S/ctl.sock: is owned by uid $(id -u nobody)"
    check "... and the other user's file is left alone" test -S "$S/ctl.sock"
fi

# 5. a directory writable by others without the sticky bit.
mkdir "$T/open"
chmod 0777 "$T/open"
conf opendir "journal = $T/open/journal.db"
check "a journal in a directory writable by others is refused" \
    refused opendir "$T/opendir.conf" "directory $T/open is writable by others without the sticky bit"
check "... and nothing was created there" test ! -e "$T/open/journal.db"

# 6. emberd's own files in the 1777 directory work, also on a restart.
conf own "journal = $S/own.db" "control = $S/own.sock"
start_emberd own1 "$T/own.conf"
check "its own journal and socket in a sticky 1777 directory work" \
    quiet "$EMBER_BIN/emberctl" -s "$S/own.sock" status
stop_pid "$EMBERD_PID"
start_emberd own2 "$T/own.conf"
check "... and again after a restart" quiet "$EMBER_BIN/emberctl" -s "$S/own.sock" status
stop_pid "$EMBERD_PID"

# 7. ember-drain: its audit log and state file follow the same rules.
dconf() { # dconf NAME STATE AUDIT
    {
        printf '[drain]\nid = test\nstate = %s\naudit = %s\ncontrol = %s\nsettle = 300ms\n' \
            "$2" "$3" "$T/$1.sock"
        printf '\n[mqtt]\nport = %s\n\n' "$MQTT_PORT"
        printf '[site lab]\nagents = a1\nzones = b3\nvote = 1\nhooks = h\n\n'
        printf '[hook h]\nexec = /bin/true\n'
    } >"$T/$1.conf"
}
# drefused NAME PATTERN: ember-drain exits non-zero at start, with PATTERN.
drefused() {
    local name=$1 pat=$2
    start_bg "$name" "$EMBER_BIN/ember-drain" -c "$T/$name.conf"
    wait_until 15 bash -c "! kill -0 $LAST_PID 2>/dev/null || grep -q 'settled:' '$T/$name.log'"
    if kill -0 "$LAST_PID" 2>/dev/null; then
        stop_pid "$LAST_PID"
        log "$name: ember-drain started"
        return 1
    fi
    wait "$LAST_PID" && { log "$name: exit status 0"; return 1; }
    grep -qF -- "$pat" "$T/$name.log" || { log "$name: no '$pat' in its log"; return 1; }
}
: >"$T/victim-audit"
ln -s "$T/victim-audit" "$S/audit.log"
plant "$S/audit.log"
dconf daudit "$S/dstate.json" "$S/audit.log"
check "ember-drain refuses a symlinked audit log" drefused daudit "$S/audit.log: is a symbolic link"
check "... the file it points at is untouched" test ! -s "$T/victim-audit"

if [ -n "$ROOT" ]; then
    echo '{"version":1,"sites":[{"site":"lab","state":"drained","held":true,"cause":"FORGED","by":"x"}]}' \
        >"$S/forged.json"
    chown nobody "$S/forged.json"
    dconf dstate "$S/forged.json" "$S/daudit2.log"
    check "ember-drain refuses a state file owned by another user" \
        drefused dstate "$S/forged.json: is owned by uid $(id -u nobody)"
fi

dconf downs "$S/downs.json" "$S/downs.log"
start_drain downs1 "$T/downs.conf"
stop_pid "$DRAIN_PID"
start_drain downs2 "$T/downs.conf"
check "ember-drain's own state and audit files in the 1777 directory work across a restart" \
    quiet "$EMBER_BIN/ember-drain" --socket "$T/downs.sock" status
stop_pid "$DRAIN_PID"
finish
