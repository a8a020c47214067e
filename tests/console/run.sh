#!/bin/bash
# tests/console/run.sh: the NOC console (agent/console/dist) in a real
# browser, Debian's chromium headless driven by Playwright's library
# (playwright-core, agent/console's devDependency), against real programs:
#
#   on_mosquitto.sh  mosquitto serving the page from its websockets listener
#                    (http_dir), ember-sim, two emberd agents, ember-drain and
#                    HAProxy: agents online, an alarm raised, silenced, acked,
#                    a refused command, a drain and an undrain through the
#                    page, an agent's Last Will; each checked at the broker
#                    and at HAProxy by independent readers too
#   on_rabbitmq.sh   RabbitMQ with its Web MQTT plugin (the page from python3
#                    -m http.server): a page that connects after the alarm
#                    gets the whole state through the state request
#   on_tls.sh        mosquitto with the README's Security section: a test CA,
#                    a password file and the README's ACL; the page over
#                    https, MQTT over wss, chromium trusting the broker's
#                    certificate by its public key alone: a wrong password
#                    refused and said so, noc acking an alarm, the read-only
#                    noc-view with every command button disabled and a
#                    command forced out of its page refused by the broker
#
# All source stack.sh (lib.sh, drain_lib.sh, the drained site, the story's
# launch); console.test.mjs is the browser's side of each story.
#
# CONSOLE_PHASES="mosquitto rabbitmq tls" (the default) picks phases.
# EMBER_BIN names the programs (default build/, from make all).  Screenshots:
# build/console-shots/NN-name.png.  Prints "console: N passed, N failed".
#
# Everything runs in a network namespace of its own with only loopback (made
# here with unshare --net; a user namespace too when not root): mosquitto
# 2.0.11 (Debian 12) binds a websockets listener to every interface whatever
# address it is given, and there it has no other interface to listen on.
# npm ci runs first, outside, when agent/console/node_modules lacks
# playwright-core.  Each phase is bounded in time; every process is started
# and stopped by PID (tests/integration/lib.sh).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CONSOLE=$TOP/agent/console
export EMBER_BIN=${EMBER_BIN:-$TOP/build}
export CONSOLE_DIST=${CONSOLE_DIST:-$CONSOLE/dist}
export CONSOLE_SHOTS=${CONSOLE_SHOTS:-$TOP/build/console-shots}
PHASES=${CONSOLE_PHASES:-mosquitto rabbitmq tls}

say() { echo "[console] $*" >&2; }

if [ -z "${EMBER_CONSOLE_NS:-}" ]; then
    # ---- outside the namespace: what needs the network or the host ----------
    for c in node npm unshare ip mosquitto mosquitto_sub mosquitto_passwd openssl haproxy socat curl; do
        command -v "$c" >/dev/null || { say "$c missing (tests/install-deps.sh check)"; exit 2; }
    done
    [ -x /usr/bin/chromium ] || { say "/usr/bin/chromium missing (tests/install-deps.sh check)"; exit 2; }
    for p in emberd ember-sim ember-drain; do
        [ -x "$EMBER_BIN/$p" ] || { say "$EMBER_BIN/$p missing: make all (or set EMBER_BIN)"; exit 2; }
    done
    [ -f "$CONSOLE_DIST/index.html" ] || { say "$CONSOLE_DIST/index.html missing"; exit 2; }
    if [ ! -f "$CONSOLE/node_modules/playwright-core/package.json" ]; then
        say "npm ci in $CONSOLE (no node_modules/playwright-core)"
        (cd "$CONSOLE" && timeout 600 npm ci --no-audit --no-fund) >&2 || { say "npm ci failed"; exit 2; }
    fi
    rm -rf "$CONSOLE_SHOTS"
    mkdir -p "$CONSOLE_SHOTS"
    ns=(unshare --net)
    [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --net)
    export EMBER_CONSOLE_NS=1
    exec "${ns[@]}" -- bash "$0" "$@"
fi

# ---- inside the namespace -------------------------------------------------
ip link set lo up || { say "cannot bring lo up in the namespace"; exit 2; }
if [ "$(ip -o link show | wc -l)" -ne 1 ]; then
    say "the namespace has more than loopback:"
    ip -o link show >&2
    exit 2
fi
pass=0
failn=0
failed=()
t0=$(date +%s)
for ph in $PHASES; do
    [ -f "$HERE/on_$ph.sh" ] || { say "no phase $ph"; exit 2; }
    say "== $ph"
    t=$(date +%s)
    if timeout -k 10 300 bash "$HERE/on_$ph.sh"; then
        pass=$((pass + 1))
    else
        failn=$((failn + 1))
        failed+=("$ph")
    fi
    say "$ph: $(($(date +%s) - t)) s"
done
[ ${#failed[@]} -gt 0 ] && say "failed: ${failed[*]}"
say "screenshots in $CONSOLE_SHOTS; $(($(date +%s) - t0)) s in all"
echo "console: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
