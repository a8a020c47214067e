#!/bin/bash
# Fail-safe status: "online" retained on connect; when emberd dies without a
# clean disconnect the broker publishes the "offline" Last Will within 1.5
# keepalives -- both when the process is killed (socket closed by the kernel)
# and when it hangs (SIGSTOP: nothing closes the socket, only the keepalive
# notices; mosquitto adds up to 5 s of its own sweep period).  Also: a broker outage is survived and emberd reconnects.
. "$(dirname "$0")/lib.sh"

start_broker
SIM_PORT=$(free_port)
start_sim sim -p xy-md02 --tcp "127.0.0.1:$SIM_PORT"
KEEPALIVE=5

write_single_conf "$T/emberd.conf" "$SIM_PORT" "keepalive = $KEEPALIVE" "reconnect_max = 1s"
S=emberwatch/lab/a1/status
rec_start rec "$S"
start_emberd emberd "$T/emberd.conf"
check "online on connect" rec_wait 10 rec " $S online$"

# 1. kill -9
K=$(mono_ms)
kill -KILL "$EMBERD_PID"
check "offline after kill -9" rec_wait 10 rec " $S offline$"
t=$(grep " $S offline$" "$T/rec.rec" | head -1 | cut -d' ' -f1)
d=$($PY -c "print(int($t - $K))")
log "Last Will after kill -9: ${d} ms (limit $((KEEPALIVE * 1500)) ms)"
check "kill -9: offline within 1.5 keepalives" test "$d" -le $((KEEPALIVE * 1500))

# 2. a hung agent: SIGSTOP keeps the socket open, so only the keepalive acts.
n=$(wc -l <"$T/rec.rec")
start_emberd emberd2 "$T/emberd.conf"
wait_until 10 bash -c "tail -n +$((n + 1)) '$T/rec.rec' | grep -q ' $S online$'"
check "online again after restart" test $? -eq 0
n=$(wc -l <"$T/rec.rec")
K=$(mono_ms)
kill -STOP "$EMBERD_PID"
wait_until 15 bash -c "tail -n +$((n + 1)) '$T/rec.rec' | grep -q ' $S offline$'"
check "offline while hung" test $? -eq 0
t=$(tail -n +$((n + 1)) "$T/rec.rec" | grep " $S offline$" | head -1 | cut -d' ' -f1)
d=$($PY -c "print(int($t - $K))")
# mosquitto 2.0 sweeps keepalives only every 5-6 s with 1 s clock steps, so the bound for a
# hung client is 1.5 keepalives plus that sweep, its rounding and 1 s of slack.
limit=$((KEEPALIVE * 1500 + 8000))
log "Last Will for a hung agent: ${d} ms (limit ${limit} ms: 1.5 keepalives + broker sweep)"
check "hung: offline within 1.5 keepalives + the broker's sweep" test "$d" -le "$limit"
kill -CONT "$EMBERD_PID"
# Resumed, it finds its session gone, reconnects and says online again.
n=$(wc -l <"$T/rec.rec")
wait_until 15 bash -c "tail -n +$((n + 1)) '$T/rec.rec' | grep -q ' $S online$'"
check "resumed agent reconnects and is online again" test $? -eq 0

# 3. broker outage: emberd stays up and reconnects to a new broker on the port.
stop_pid "$BROKER_PID"
stop_pid "$REC_PID"
wait_until 10 log_has "$T/emberd2.log" "lost" || die "emberd did not notice the broker going away"
check "emberd survives the broker outage" kill -0 "$EMBERD_PID"
mv "$T/broker.log" "$T/broker1.log"
start_bg broker mosquitto -c "$T/mosquitto.conf"
BROKER_PID=$LAST_PID
wait_until 10 log_has "$T/broker.log" "running" || die "mosquitto did not restart"
rec_start rec2 "$S" 'emberwatch/lab/a1/sensor/#'
check "online after the broker returns" rec_wait 10 rec2 " $S online$"
check "telemetry after the broker returns" rec_wait 10 rec2 "/sensor/t .*\"good\""
finish
