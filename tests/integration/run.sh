#!/bin/bash
# Runs every tests/integration/test_*.sh (or those named on the command line)
# and prints "N passed, N failed".  Each test is bounded by a timeout.
cd "$(dirname "$0")" || exit 1
pass=0
failn=0
failed=()
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(test_*.sh)
for t in "${tests[@]}"; do
    echo "== integration: $t"
    if timeout -k 5 180 bash "$t"; then
        pass=$((pass + 1))
    else
        failn=$((failn + 1))
        failed+=("$t")
    fi
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "integration: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
