#!/bin/bash
# make install is consistent with itself: a tree built with the default
# PREFIX, then installed with another PREFIX into a DESTDIR, recompiles just
# the objects that embed the paths, and the installed programs - moved from
# the DESTDIR to their PREFIX, as a package manager would - find their
# configuration (SYSCONFDIR/emberwatch/emberd.conf, installed from the
# example) and, through the compiled-in DATADIR, its profiles and board.
# Builds its own tree in $T (the programs under test are not involved).
. "$(dirname "$0")/lib.sh"

PFX=$T/prefix
ETC=$T/prefix-etc
STAGE=$T/stage
MK=(make -C "$TOP" --no-print-directory -j2 B="$T/build")

check "a build with the default PREFIX" "${MK[@]}" all
check "... embeds /usr/local/share/emberwatch" grep -q /usr/local/share/emberwatch/profiles "$T/build/emberd"
"${MK[@]}" install PREFIX="$PFX" SYSCONFDIR="$ETC" DESTDIR="$STAGE" SYSTEMDUNITDIR=/lib/systemd/system \
    >"$T/install.log" 2>&1
check "make install PREFIX=... DESTDIR=... succeeds" test $? -eq 0
check "only the objects embedding the paths were recompiled" \
    test "$(grep -c '^  CC ' "$T/install.log")" -eq "$(grep -l -e EMBER_DATADIR -e EMBER_SYSCONFDIR "$TOP"/agent/*/*.c | wc -l)"
check "a second install recompiles nothing" \
    bash -c "! ${MK[*]} install PREFIX='$PFX' SYSCONFDIR='$ETC' DESTDIR='$STAGE' | grep -q '^  CC '"

# The package manager's step: DESTDIR's tree goes to /.
mv "$STAGE$PFX" "$PFX"
mv "$STAGE$ETC" "$ETC"
for f in sbin/emberd sbin/ember-drain bin/emberctl bin/ember-sim share/emberwatch/profiles/xy-md02.ini \
    share/emberwatch/boards/cm4-rs485.conf share/man/man8/emberd.8; do
    check "installed $f" test -e "$PFX/$f"
done
for f in lib/emberwatch/notify/ember-mail lib/emberwatch/notify/ember-webhook; do
    check "installed $f, executable" test -x "$PFX/$f"
done
check "emberd.service runs $PFX/sbin/emberd with $ETC/emberwatch/emberd.conf" \
    grep -q "^ExecStart=$PFX/sbin/emberd -c $ETC/emberwatch/emberd.conf" "$STAGE/lib/systemd/system/emberd.service"
check "the example config is installed without profile_dir/board_dir" \
    bash -c "! grep -qE '^(profile|board)_dir' '$ETC/emberwatch/emberd.conf'"

out=$("$PFX/sbin/emberd" -n 2>&1)
check "installed emberd -n with its default config ($out)" test $? -eq 0
check "... loads the profiles and board from $PFX/share/emberwatch" \
    grep -q "$ETC/emberwatch/emberd.conf: configuration OK (3 buses, 4 devices" <<<"$out"
check "installed ember-drain -n with its default config" "$PFX/sbin/ember-drain" -n
check "installed ember-sim finds its profiles" \
    bash -c "'$PFX/bin/ember-sim' --help 2>&1 | grep -q '$PFX/share/emberwatch/profiles'"

# The installed tree alone: with the profiles gone, emberd says so.
mv "$PFX/share/emberwatch" "$T/moved"
"$PFX/sbin/emberd" -n >"$T/noprof.out" 2>&1
check "without the installed profiles emberd -n fails" test $? -ne 0
check "... naming the installed path" grep -q "$PFX/share/emberwatch" "$T/noprof.out"

echo "# a user's edit" >>"$ETC/emberwatch/emberd.conf"
"${MK[@]}" install PREFIX="$PFX" SYSCONFDIR="$ETC" DESTDIR="" >/dev/null 2>&1
check "a re-install keeps an existing config" grep -q "a user's edit" "$ETC/emberwatch/emberd.conf"
finish
