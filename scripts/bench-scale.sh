#!/usr/bin/env bash
# bench-scale.sh (bench.sh scale): one edge holding BENCH_TUNNELS (default 10000) tunnels
# simulated by st-tunload (tools/tunload.c: one process in st-bastion, each tunnel its own id,
# secret, /32 route in 198.19.0.0/16 and TLS 1.3 + HTTP/2 connection), in the lab's network
# (LAB_NO_DAEMONS=1; this script starts its own edge in st-edge, config from
# scripts/tunload-edge.sh). Prints:
#   - registrations per second (the first dials paced at BENCH_SCALE_RATE, default 2000/s)
#   - the edge's RSS per idle registered tunnel connection (RSS growth / N, /proc status)
#   - the edge's CPU while the idle tunnels heartbeat (heartbeat-interval 5 s on both sides),
#     over BENCH_SCALE_CPU_SECS (default 30) from /proc/PID/stat
#   - 20 flows through the tunnels with 1 MiB echoed each (checked byte for byte)
#   - a reconnect storm: the edge is killed and started again; the time until every tunnel is
#     registered again, and meanwhile a CONNECT to tunnel 0 every 100 ms from st-client (its
#     answer times once tunnel 0 is back; the target is 100 ms), refusals with retry-after
#     seen by the gateways, the new edge's peak RSS
# Tunnel 0 is simulated by a second st-tunload process, as a gateway of its own would be: the
# probes then wait on the edge, not on the other 9,999 gateways' handshakes in one loop.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$REPO/build}
export LAB_DIR=${LAB_DIR:-$REPO/lab}
LAB=$REPO/scripts/lab.sh
N=${BENCH_TUNNELS:-10000}
RATE=${BENCH_SCALE_RATE:-2000}
CPU_SECS=${BENCH_SCALE_CPU_SECS:-30}
STORM_PROBES=${BENCH_SCALE_STORM_PROBES:-600}
TUNLOAD=$BUILD_DIR/st-tunload
EDGE_BIN=$BUILD_DIR/subtunnel-edge
D=$LAB_DIR/scale
[[ $(id -u) -eq 0 ]] || { echo "bench-scale.sh needs root" >&2; exit 1; }
[[ -x $TUNLOAD && -x $EDGE_BIN ]] || { echo "bench: build st-tunload and subtunnel-edge first" >&2; exit 1; }

cleanup() {
    bash "$LAB" down >/dev/null 2>&1 || true # stops the edge and st-tunload (run/*.pid)
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# start NAME NS CMD...: detached in NS, pid in $LAB_DIR/run (lab.sh down stops it), output
# in $D/NAME.log
start() {
    local name=$1 ns=$2
    shift 2
    setsid ip netns exec "$ns" "$@" </dev/null >>"$D/$name.log" 2>&1 &
    echo $! >"$LAB_DIR/run/$name.pid"
}
# wait_line SECS FILE REGEX: until a line of FILE matches
wait_line() {
    local i
    for ((i = 0; i < $1 * 5; i++)); do
        grep -Eq "$3" "$2" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "bench: timed out after $1 s waiting for /$3/ in $2" >&2
    return 1
}
start_edge() {
    start edge st-edge "$EDGE_BIN" --config "$D/edge.yaml"
    local i
    for ((i = 0; i < 100; i++)); do
        ip netns exec st-edge ss -Hltn src 192.0.2.1:7844 | grep -q . && return 0
        sleep 0.1
    done
    echo "bench: the edge did not start ($D/edge.log)" >&2
    exit 1
}
probe() { ip netns exec st-client "$TUNLOAD" probe --proxy 198.18.0.1:8080 --auth "load:$TOKEN" "$@"; }

bash "$LAB" down >/dev/null 2>&1 || true
LAB_NO_DAEMONS=1 bash "$LAB" up >/dev/null
rm -rf "$D"
mkdir -p "$D" "$LAB_DIR/run"
bash "$REPO/scripts/gen-certs.sh" "$D/certs" >/dev/null
TOKEN=$(openssl rand -hex 24)
bash "$REPO/scripts/tunload-edge.sh" "$D/edge.yaml" "$N" scale "$TOKEN" "$D/certs"

echo "bench: scale: one edge, $N tunnels (st-tunload in st-bastion, first dials at $RATE/s)"
start_edge
sleep 1
EDGE=$(cat "$LAB_DIR/run/edge.pid")
rss0=$(rss_kib "$EDGE")
TL_ARGS=(--edge 192.0.2.1:7844 --ca "$D/certs/ca.crt" --name edge.lab.test --seed scale)
start tunload0 st-bastion "$TUNLOAD" run "${TL_ARGS[@]}" --first 0 --count 1
start tunload st-bastion "$TUNLOAD" run "${TL_ARGS[@]}" --first 1 --count $((N - 1)) --rate "$RATE"
TL=$(cat "$LAB_DIR/run/tunload.pid") TL0=$(cat "$LAB_DIR/run/tunload0.pid")
wait_line 600 "$D/tunload.log" '^all-registered '
wait_line 60 "$D/tunload0.log" '^all-registered '
REG=$(sed -n 's/^all-registered \([0-9]*\) in \([0-9]*\) ms (\([0-9]*\)\/s)$/\3\/s (\1 in \2 ms)/p' "$D/tunload.log")
echo "bench:   registered: $REG"
sleep 5
rss1=$(rss_kib "$EDGE")
PER_CONN=$(((rss1 - rss0) * 1024 / N))
echo "bench:   edge RSS $rss0 -> $rss1 KiB: $PER_CONN bytes per idle registered tunnel connection"
t0=$(ticks "$EDGE") l0=$(ticks "$TL")
sleep "$CPU_SECS"
t1=$(ticks "$EDGE") l1=$(ticks "$TL")
HZ=$(getconf CLK_TCK)
CPU=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v s="$CPU_SECS" 'BEGIN { printf "%.2f", t * 100 / hz / s }')
CPU_TL=$(awk -v t=$((l1 - l0)) -v hz="$HZ" -v s="$CPU_SECS" 'BEGIN { printf "%.2f", t * 100 / hz / s }')
echo "bench:   edge CPU while $N idle tunnels heartbeat: $CPU % of a core (st-tunload: $CPU_TL %)"
FLOWS=$(probe --tunnels "$N" --count 20 --interval 0 --bytes 1048576 || true)
echo "bench:   20 flows, 1 MiB echoed each: $FLOWS"

echo "bench: storm: kill -9 the edge, start it again after 1 s"
kill -KILL "$EDGE"
k0=$(now_ms)
sleep 1
start_edge
r0=$(now_ms)
EDGE=$(cat "$LAB_DIR/run/edge.pid")
probe --count "$STORM_PROBES" --interval 100 --bytes 1000 --timeout 2000 --slow 100 \
    >"$D/storm-probe.out" 2>&1 &
PROBE=$!
wait_line 300 "$D/tunload.log" '^storm-end ' || true
wait_line 60 "$D/tunload0.log" '^storm-end ' || true
r1=$(now_ms)
STORM=$(grep '^storm-end ' "$D/tunload.log" | tail -n 1 || true)
STORM0=$(grep '^storm-end ' "$D/tunload0.log" | tail -n 1 || true)
echo "bench:   $STORM; tunnel 0: $STORM0"
echo "bench:   all registered again $((r1 - r0)) ms after the restart (polled every 0.2 s; kill at -$((r0 - k0)) ms)"
HWM=$(hwm_kib "$EDGE")
wait "$PROBE" || true
STORM_PROBE=$(cat "$D/storm-probe.out")
echo "bench:   CONNECTs to tunnel 0 every 100 ms from the restart on: $STORM_PROBE"
kill -TERM "$TL" "$TL0"
wait_line 20 "$D/tunload.log" '^summary ' || true
SUMMARY=$(sed -n 's/^summary //p' "$D/tunload.log")
kill -TERM "$EDGE"
wait_line 20 "$D/edge.log" ' stopped \(' || true
STOPPED=$(grep ' stopped (' "$D/edge.log" | tail -n 1 | sed 's/.* stopped (//; s/)$//')

printf '\n%-52s %s\n' "One edge, $N tunnels (st-tunload)" "figure"
printf '%-52s %s\n' "registrations per second (first $N)" "$REG"
printf '%-52s %s\n' "edge RSS per idle registered tunnel connection" "$PER_CONN bytes ($rss0 -> $rss1 KiB)"
printf '%-52s %s\n' "edge CPU, $N idle tunnels heartbeating (5 s)" "$CPU % of a core over $CPU_SECS s"
printf '%-52s %s\n' "20 flows through the tunnels, 1 MiB echo each" "$FLOWS"
printf '%-52s %s\n' "storm: all registered again after the restart" "$((r1 - r0)) ms; ${STORM#storm-end }"
printf '%-52s %s\n' "storm: tunnel 0 (its own st-tunload)" "${STORM0#storm-end }"
printf '%-52s %s\n' "storm: CONNECT to tunnel 0 every 100 ms" "$STORM_PROBE"
printf '%-52s %s\n' "storm: the restarted edge's peak RSS" "$HWM KiB"
printf '%-52s %s\n' "edge at exit" "$STOPPED"
printf '%-52s %s\n' "st-tunload summary" "$SUMMARY"
