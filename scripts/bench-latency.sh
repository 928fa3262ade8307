# bench-latency.sh: `bench.sh latency`, sourced by bench.sh once the lab (--sites 2) is up;
# uses its helpers (iperf_server, gbps, ratio, kernel_routes, openvpn_up/down, wait_listen)
# and its pids/routed state. Not for running on its own.
# shellcheck shell=bash disable=SC2154,SC2034 # REPO, BUILD_DIR, LAB_DIR, pids, routed: bench.sh's
# Latency under load: ping and st-rrping (tools/rrping.c: 1 byte each way on one TCP
# connection) st-priv -> st-priv2, idle and while one iperf3 TCP flow runs the same way,
# through subtunnel (reach -> edge -> expose), OpenVPN and kernel routing.
RRPING=$BUILD_DIR/st-rrping
LAT_COUNT=${BENCH_LAT_COUNT:-1000}
LAT_BULK_SECS=${BENCH_LAT_BULK_SECS:-15}
LAT_RATE=${BENCH_LAT_RATE:+-b $BENCH_LAT_RATE} # the bulk flow's rate (iperf3 -b), default: as fast as it goes
# lat_ping OUT: "p50 p99 max lost" in ms of LAT_COUNT pings 10 ms apart, into OUT
lat_ping() {
    ip netns exec st-priv ping -n -i 0.01 -W 2 -c "$LAT_COUNT" 203.0.113.10 2>/dev/null |
        sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' | sort -g |
        awk -v n="$LAT_COUNT" '{ v[NR] = $1 } END { if (!NR) { print "- - - " n; exit }
            printf "%.2f %.2f %.2f %d\n", v[int(0.5 * (NR - 1) + 1.5)], v[int(0.99 * (NR - 1) + 1.5)],
                v[NR], n - NR }' >"$1"
}
# lat_rr OUT: "p50 p99 max done" of LAT_COUNT/2 TCP round trips 10 ms apart, into OUT
lat_rr() {
    ip netns exec st-priv timeout 120 "$RRPING" ping 203.0.113.10 7100 \
        --count $((LAT_COUNT / 2)) --interval-ms 10 2>/dev/null |
        awk '$1 == "rr" { printf "%.2f %.2f %.2f %s\n", $4, $7, $10, $2 }' >"$1"
}
# lat_probe TAG: ping and TCP round trips at once; sets LPING_TAG and LRR_TAG
lat_probe() {
    local tmp
    tmp=$(mktemp -d)
    lat_ping "$tmp/ping" &
    local p1=$!
    lat_rr "$tmp/rr" &
    wait "$p1" $!
    printf -v "LPING_$1" '%s' "$(cat "$tmp/ping")"
    printf -v "LRR_$1" '%s' "$(cat "$tmp/rr")"
    rm -rf "$tmp"
    local a="LPING_$1" b="LRR_$1"
    echo "bench:   $1: ping p50 p99 max lost: ${!a}; tcp rr p50 p99 max done: ${!b}"
}
# lat_sched: "now_ns cpu_ns wait_ns slices" of each daemon (/proc/PID/schedstat: time on
# the CPU, time runnable but waiting for a CPU, timeslices run), one line each
lat_sched() {
    local d
    for d in edge gateway gateway2; do
        printf '%s %s %s\n' "$d" "$(date +%s%N)" "$(cat "/proc/$(cat "$LAB_DIR/run/$d.pid")/schedstat")"
    done
}
# lat_sched_report BEFORE AFTER: each daemon's CPU share and its mean wait for a CPU per
# timeslice over the loaded probes (how long a packet for it may wait while it is not
# running, beside the time its own loop takes)
lat_sched_report() {
    join <(echo "$1") <(echo "$2") | awk '{ dt = $6 - $2; n = $9 - $5
        printf "bench:   %s: cpu %.0f %%, runnable but waiting %.0f %% of the time, %.3f ms per wait (%d slices)\n",
            $1, 100 * ($7 - $3) / dt, 100 * ($8 - $4) / dt, n ? ($8 - $4) / n / 1e6 : 0, n }'
}
# lat_path TAG: idle probes, one bulk flow alone, then the probes during a bulk flow;
# sets LPING/LRR_<TAG>_idle and _load, LBULK_<TAG> "alone loaded" in Gbit/s
lat_path() {
    local tag=$1 alone loaded out
    echo "bench: $tag: idle latency st-priv -> 203.0.113.10"
    lat_probe "${tag}_idle"
    iperf_server st-priv2 203.0.113.10
    alone=$(ip netns exec st-priv timeout $((LAT_BULK_SECS + 30)) iperf3 -c 203.0.113.10 \
        -t "$LAT_BULK_SECS" -J | gbps)
    out=$(mktemp)
    iperf_server st-priv2 203.0.113.10
    # shellcheck disable=SC2086 # LAT_RATE: no argument or -b RATE
    ip netns exec st-priv timeout $((LAT_BULK_SECS + 30)) iperf3 -c 203.0.113.10 \
        -t "$LAT_BULK_SECS" $LAT_RATE -J >"$out" &
    local bulk=$!
    sleep 1
    echo "bench: $tag: latency under one bulk flow (alone: $alone Gbit/s)"
    local s0 s1
    s0=$(lat_sched)
    lat_probe "${tag}_load"
    s1=$(lat_sched)
    [[ $tag != tun ]] || lat_sched_report "$s0" "$s1"
    wait "$bulk" || true
    loaded=$(gbps <"$out" || echo 0)
    rm -f "$out"
    echo "bench:   $tag: bulk flow $loaded Gbit/s with the probes, $alone alone"
    printf -v "LBULK_$tag" '%s' "$alone $loaded"
}
if [[ $MODE == latency ]]; then
    [[ -x $RRPING ]] || { echo "bench: $RRPING missing (build first)" >&2; exit 1; }
    ip netns exec st-priv2 "$RRPING" serve 203.0.113.10 7100 >/dev/null 2>&1 &
    pids+=($!)
    wait_listen st-priv2 203.0.113.10:7100
    lat_path tun
    LAT_PATHS="tun kern"
    if [[ ${BENCH_LAT_OVPN:-1} == 1 ]]; then
        openvpn_up
        lat_path ovpn
        openvpn_down
        LAT_PATHS="tun ovpn kern"
    fi
    kernel_routes add
    routed=1
    lat_path kern
    kernel_routes del
    routed=0
    printf '\n%-34s %-6s %22s %22s %8s %13s\n' "latency site 1 -> site 2 (ms)" load \
        "ping p50/p99/max" "tcp rr p50/p99/max" "lost" "bulk Gbit/s"
    for t in kern ovpn tun; do
        [[ " $LAT_PATHS " == *" $t "* ]] || continue
        name="kernel routing"
        if [[ $t == ovpn ]]; then name="OpenVPN 2.6 UDP AES-128-GCM"; fi
        if [[ $t == tun ]]; then name="subtunnel (reach -> edge -> expose)"; fi
        v="LBULK_$t"
        read -r alone loaded <<<"${!v}"
        for l in idle load; do
            v="LPING_${t}_$l"
            read -r p50 p99 pmax plost <<<"${!v:-- - - -}"
            v="LRR_${t}_$l"
            read -r r50 r99 rmax rdone <<<"${!v:-- - - -}"
            bulk="$alone alone"
            if [[ $l == load ]]; then bulk="$loaded ($(ratio "$loaded" "$alone"))"; fi
            printf '%-34s %-6s %22s %22s %8s %13s\n' "$name" "$l" "$p50/$p99/$pmax" \
                "$r50/$r99/$rmax" "$plost/$rdone" "$bulk"
        done
    done
    echo "(ping: $LAT_COUNT echo requests 10 ms apart; tcp rr: $((LAT_COUNT / 2)) round trips of" \
        "1 byte each way on one connection, 10 ms apart, at the same time; lost: pings lost /" \
        "round trips done; load: one iperf3 TCP flow st-priv -> st-priv2 of ${LAT_BULK_SECS}s," \
        "probes from its 2nd second; (x): bulk Gbit/s loaded / alone)"
    exit 0
fi
