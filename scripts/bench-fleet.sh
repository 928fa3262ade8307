# shellcheck shell=bash disable=SC2154,SC2034 # LAB, FLOWGEN, SECS, pids, routed: bench.sh's
# bench-fleet.sh (bench.sh fleet; sourced by bench.sh once the lab is up with --edges 3
# --sites 2 and its helpers are defined): the edge fleet's relay (docs/fleet.md) in one lab,
# where site 1's gateway dials edges 1 and 2 only, so a CONNECT through edge 3 is relayed to
# edge 1 or 2. In the same run, st-client -> st-priv (198.51.100.10):
#   - iperf3, 1 flow and BENCH_FLEET_PARALLEL (16) flows, through a socat CONNECT forwarder
#     (as bench.sh tunnel) to edge 1 (direct) and to edge 3 (relayed), and over kernel
#     routing; ratios relayed/direct and direct/kernel
#   - flow setup: BENCH_FLEET_FLOWS (2000) short CONNECTs (status 200, then closed), from
#     BENCH_FLEET_PROCS (8) st-tunload probe processes at once, through edge 1 and edge 3:
#     flows/s and the slowest process's p50/p99 time to the 200
#   - the registry's commands (redis INFO commandstats) during the relayed flows: a warm
#     cache asks Redis nothing per flow; what remains are the edges' heartbeats (PEXPIRE of
#     their two keys and PUBLISH "alive", per edge and heartbeat-interval)
# Run it under the lab lock: flock /tmp/subtunnel-lab.lock bash scripts/bench.sh fleet
FLEET_PAR=${BENCH_FLEET_PARALLEL:-16}
FLEET_FLOWS=${BENCH_FLEET_FLOWS:-2000}
FLEET_PROCS=${BENCH_FLEET_PROCS:-8}
FLEET_PORT=7300 # st-flowgen serve in st-priv: the short flows' target
TUNLOAD=$BUILD_DIR/st-tunload
[[ -x $TUNLOAD && -x $FLOWGEN ]] || { echo "bench: build st-tunload and st-flowgen first" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "bench: redis-cli missing" >&2; exit 1; }

# fleet_forwarder PORT EDGE_IP: socat in st-client, 127.0.0.1:PORT -> CONNECT through
# EDGE_IP:8080 to 198.51.100.10:5201 (the lab user's token)
fleet_forwarder() {
    ip netns exec st-client socat -b 262144 "TCP-LISTEN:$1,bind=127.0.0.1,fork,reuseaddr" \
        "PROXY:$2:198.51.100.10:5201,proxyport=8080,proxyauth=lab:$ACCESS_TOKEN" &
    pids+=($!)
    wait_listen st-client "127.0.0.1:$1"
}
# fleet_rcli ARGS...: redis-cli against the lab's registry
fleet_rcli() {
    REDISCLI_AUTH=$(cat "$LAB_DIR/registry.secret") ip netns exec st-registry redis-cli \
        --no-auth-warning -h 192.0.2.50 -p 6379 "$@"
}
# fleet_cmdstats: "cmd=calls" per line, from INFO commandstats
fleet_cmdstats() {
    fleet_rcli info commandstats | sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\),.*/\1=\2/p' |
        sort
}
# fleet_setup EDGE_IP: FLEET_FLOWS short CONNECTs through EDGE_IP, FLEET_PROCS processes at
# once; prints "flows/s ok/asked p50-ms p99-ms" (p50, p99: the slowest process's)
fleet_setup() {
    local per=$((FLEET_FLOWS / FLEET_PROCS)) k tmp t0 t1 fpids=()
    tmp=$(mktemp -d)
    t0=$(date +%s%N)
    for ((k = 0; k < FLEET_PROCS; k++)); do
        ip netns exec st-client timeout 120 "$TUNLOAD" probe --proxy "$1:8080" \
            --auth "lab:$ACCESS_TOKEN" --route-base 198.51.100.10 --port "$FLEET_PORT" \
            --count "$per" --interval 0 >"$tmp/$k" 2>&1 &
        fpids+=($!)
    done
    wait "${fpids[@]}" || true
    t1=$(date +%s%N)
    cat "$tmp"/* | awk -v n=$((per * FLEET_PROCS)) -v ns=$((t1 - t0)) '
        $1 == "probes" { ok += $6; if ($10 > p50) p50 = $10; if ($13 > p99) p99 = $13 }
        END { printf "%d %d/%d %.2f %.2f\n", ok / (ns / 1e9), ok, n, p50, p99 }'
    rm -rf "$tmp"
}

eval "$(bash "$LAB" env)"
ip netns exec st-priv "$FLOWGEN" serve 198.51.100.10 "$FLEET_PORT" 1 >/dev/null 2>&1 &
pids+=($!)
wait_listen st-priv "198.51.100.10:$FLEET_PORT"
fleet_forwarder 15211 198.18.0.1
fleet_forwarder 15213 198.18.0.3
# warm up: edge 3's relay connection and cache, one flow each way
for e in 198.18.0.1 198.18.0.3; do
    ip netns exec st-client timeout 30 "$TUNLOAD" probe --proxy "$e:8080" \
        --auth "lab:$ACCESS_TOKEN" --route-base 198.51.100.10 --port "$FLEET_PORT" \
        --count 3 --interval 0 >/dev/null ||
        { echo "bench: CONNECT through $e failed" >&2; exit 1; }
done
grep -Eq 'relay.*lab-edge-[12]' "$EDGE_LOG_3" || { echo "bench: edge 3 did not relay" >&2; exit 1; }
holder=$(grep -Eo 'lab-edge-[12]' "$EDGE_LOG_3" | tail -n 1)
echo "bench: edge 3 relays to $holder"

declare -A FG
for p in 1 "$FLEET_PAR"; do
    echo "bench: ${SECS}s iperf3 -P $p through edge 1's CONNECT proxy (direct)"
    FG[direct_$p]=$(median_of iperf_to st-priv 198.51.100.10 st-client 127.0.0.1 "$p" 15211)
    echo "bench: ${SECS}s iperf3 -P $p through edge 3's CONNECT proxy (relayed to $holder)"
    FG[relay_$p]=$(median_of iperf_to st-priv 198.51.100.10 st-client 127.0.0.1 "$p" 15213)
done
echo "bench: $FLEET_FLOWS short CONNECTs through edge 1 ($FLEET_PROCS processes)"
FG[setup_direct]=$(fleet_setup 198.18.0.1)
stats0=$(fleet_cmdstats)
t0=$(date +%s)
echo "bench: $FLEET_FLOWS short CONNECTs through edge 3 (relayed, $FLEET_PROCS processes)"
FG[setup_relay]=$(fleet_setup 198.18.0.3)
t1=$(date +%s)
stats1=$(fleet_cmdstats)
if [[ ${BENCH_FLEET_PERF:-0} == 1 ]] && command -v perf >/dev/null; then
    # where the relayed flow's time goes: edge 3 and the holder, sampled during one more run
    hpid=$(cat "$LAB_DIR/run/edge${holder#lab-edge-}.pid" 2>/dev/null || true)
    [[ $holder == lab-edge-1 ]] && hpid=$(cat "$LAB_DIR/run/edge.pid")
    echo "bench: perf record (edge 3 and $holder) during one more relayed iperf3 -P 1, ${SECS}s"
    perf record -q -F 499 -g -o "$LAB_DIR/fleet-edge3.perf" -p "$(cat "$LAB_DIR/run/edge3.pid")" \
        -- sleep $((SECS - 2)) >/dev/null 2>&1 &
    perf1=$!
    perf record -q -F 499 -g -o "$LAB_DIR/fleet-holder.perf" -p "$hpid" \
        -- sleep $((SECS - 2)) >/dev/null 2>&1 &
    perf2=$!
    iperf_to st-priv 198.51.100.10 st-client 127.0.0.1 1 15213 >/dev/null
    wait "$perf1" "$perf2" || true
    echo "bench: perf data in $LAB_DIR/fleet-edge3.perf and fleet-holder.perf (perf report -i)"
fi
kernel_routes add
routed=1
for p in 1 "$FLEET_PAR"; do
    echo "bench: ${SECS}s iperf3 -P $p over kernel routing"
    FG[kernel_$p]=$(median_of iperf_to st-priv 198.51.100.10 st-client 198.51.100.10 "$p")
done
kernel_routes del
routed=0

printf '\n%-46s %10s %10s\n' "Edge fleet, st-client -> st-priv (Gbit/s)" "1 flow" "$FLEET_PAR flows"
printf '%-46s %10s %10s\n' "kernel routing" "${FG[kernel_1]}" "${FG[kernel_$FLEET_PAR]}"
printf '%-46s %10s %10s\n' "CONNECT via edge 1 (direct)" "${FG[direct_1]}" "${FG[direct_$FLEET_PAR]}"
printf '%-46s %10s %10s\n' "CONNECT via edge 3 (relayed to $holder)" "${FG[relay_1]}" \
    "${FG[relay_$FLEET_PAR]}"
printf '%-46s %10s %10s\n' "relayed / direct (target >= 0.70)" \
    "$(ratio "${FG[relay_1]}" "${FG[direct_1]}")" \
    "$(ratio "${FG[relay_$FLEET_PAR]}" "${FG[direct_$FLEET_PAR]}")"
printf '%-46s %10s %10s\n' "direct / kernel" "$(ratio "${FG[direct_1]}" "${FG[kernel_1]}")" \
    "$(ratio "${FG[direct_$FLEET_PAR]}" "${FG[kernel_$FLEET_PAR]}")"
printf '\n%-46s %s\n' "Short CONNECT flows ($FLEET_PROCS at once)" "flows/s, ok/asked, p50 ms, p99 ms"
printf '%-46s %s\n' "via edge 1 (direct)" "${FG[setup_direct]}"
printf '%-46s %s\n' "via edge 3 (relayed)" "${FG[setup_relay]}"
read -r r_direct _ <<<"${FG[setup_direct]}"
read -r r_relay _ <<<"${FG[setup_relay]}"
printf '%-46s %s\n' "relayed / direct" "$(ratio "$r_relay" "$r_direct")"
# per command: calls after minus before (the AUTH and INFO of redis-cli left out)
fleet_delta=$(join -t= -a2 -e0 -o 0,1.2,2.2 <(echo "$stats0") <(echo "$stats1") |
    awk -F= '$1 != "info" && $1 != "auth" && $3 - $2 > 0 { printf "  %-12s %d\n", $1, $3 - $2 }')
printf '\nRegistry (redis-server) commands during the %s relayed flows (%s s): %s in all\n' \
    "$FLEET_FLOWS" "$((t1 - t0))" "$(awk '{ n += $2 } END { print n + 0 }' <<<"$fleet_delta")"
echo "$fleet_delta"
echo "(expected: only the edges' heartbeats, pexpire and publish, none per flow)"
