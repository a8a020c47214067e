#!/bin/sh
# private-named.sh DIR PORT ZONE SECRET-FILE [EXTRA-CONF]: runs a private
# BIND 9 named in the foreground (the demo's, the tests' and the bench's):
# its config, pid and session key in DIR, listening on 127.0.0.1:PORT only,
# no recursion, one primary zone ZONE from DIR/ZONE.zone that the TSIG key
# "ember-drain" (hmac-sha256, the base64 secret in SECRET-FILE) may update
# (A and AAAA, update-policy).  EXTRA-CONF is appended to named.conf.
#
# Debian's bind9 confines /usr/sbin/named with an AppArmor profile that
# reads only /etc/bind and writes only /var/lib/bind and /var/cache/bind, so
# on a machine where AppArmor is on, named could not read DIR.  The profile
# attaches by path: a copy of the same binary in DIR runs unconfined.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 DIR PORT ZONE SECRET-FILE [EXTRA-CONF]" >&2; exit 2; }
dir=$1 port=$2 zone=$3 secret=$4 extra=${5:-}
named=$(command -v named || echo /usr/sbin/named)
[ -x "$named" ] || { echo "$0: named not installed (Debian package bind9)" >&2; exit 1; }
mkdir -p "$dir"
cat >"$dir/named.conf" <<EOC
options {
    directory "$dir";
    pid-file "$dir/named.pid";
    session-keyfile "$dir/session.key";
    listen-on port $port { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    allow-query { 127.0.0.1; };
    dnssec-validation no;
    notify no;
};
controls { };
key "ember-drain" { algorithm hmac-sha256; secret "$(cat "$secret")"; };
zone "$zone" {
    type primary;
    file "$dir/$zone.zone";
    update-policy { grant ember-drain zonesub A AAAA; };
};
$extra
EOC
cp "$named" "$dir/named"
exec "$dir/named" -g -n 1 -c "$dir/named.conf"
