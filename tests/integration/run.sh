#!/bin/bash
# Runs every tests/integration/test_*.sh (or those named on the command line)
# and prints "N passed, N failed".  Each test is bounded by a timeout:
# 180 s, or 600 s when the programs run under a wrapper (EMBER_WRAP, e.g.
# valgrind, which slows the 70,000-event replay tests several times over).
cd "$(dirname "$0")" || exit 1
pass=0
failn=0
failed=()
limit=180
[ -n "${EMBER_WRAP:-}" ] && limit=600
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(test_*.sh)
for t in "${tests[@]}"; do
    echo "== integration: $t"
    if timeout -k 5 "$limit" bash "$t"; then
        pass=$((pass + 1))
    else
        failn=$((failn + 1))
        failed+=("$t")
    fi
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "integration: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
