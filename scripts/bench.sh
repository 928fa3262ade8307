#!/usr/bin/env bash
# bench.sh [tunnel|all]: iperf3 through subtunnel (CONNECT via socat) vs plain
# kernel routing across the same namespaces; prints Gbit/s and peak RSS.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$REPO/build}
export LAB_DIR=${LAB_DIR:-$REPO/lab}
LAB=$REPO/scripts/lab.sh
MODE=${1:-all}
SECS=${BENCH_SECS:-10}
[[ $MODE == tunnel || $MODE == all ]] || { echo "usage: $0 [tunnel|all]" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench.sh needs root" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 missing" >&2; exit 1; }

pids=()
routed=0
started_lab=0
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if ((routed)); then
        ip -n st-edge route del 198.51.100.0/24 via 192.0.2.10 2>/dev/null || true
        ip netns exec st-edge sysctl -qw net.ipv4.ip_forward=0 || true
    fi
    if ((started_lab)) && [[ ${BENCH_KEEP_LAB:-0} != 1 ]]; then
        bash "$LAB" down >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

listening() { ip netns exec "$1" ss -Hltn "src $2" 2>/dev/null | grep -q .; }
wait_listen() {
    local i
    for ((i = 0; i < 50; i++)); do
        listening "$1" "$2" && return 0
        sleep 0.2
    done
    echo "bench: nothing listening on $2 in $1" >&2
    return 1
}
# iperf_server: one-shot iperf3 server in st-priv
iperf_server() {
    ip netns exec st-priv iperf3 -s -1 -B 198.51.100.10 -p 5201 >/dev/null 2>&1 &
    pids+=($!)
    wait_listen st-priv 198.51.100.10:5201
}
gbps() {
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

if [[ ! -f $LAB_DIR/state ]] || ! bash "$LAB" status | grep -q '^gateway: running'; then
    bash "$LAB" up
    started_lab=1
fi
eval "$(bash "$LAB" env)"

iperf_server
ip netns exec st-client socat TCP-LISTEN:15201,bind=127.0.0.1,fork,reuseaddr \
    "PROXY:198.18.0.1:198.51.100.10:5201,proxyport=8080,proxyauth=lab:$ACCESS_TOKEN" &
pids+=($!)
wait_listen st-client 127.0.0.1:15201
echo "bench: ${SECS}s iperf3 through subtunnel (client -> edge proxy -> tunnel -> gateway -> st-priv)"
tunnel=$(ip netns exec st-client timeout $((SECS + 30)) iperf3 -c 127.0.0.1 -p 15201 -t "$SECS" -J | gbps)

kernel=""
if [[ $MODE == all ]]; then
    # st-client's default already points at st-edge; st-priv's default points at
    # st-bastion (forwarding on), whose default points back at st-edge.
    ip netns exec st-edge sysctl -qw net.ipv4.ip_forward=1
    ip -n st-edge route add 198.51.100.0/24 via 192.0.2.10
    routed=1
    iperf_server
    echo "bench: ${SECS}s iperf3 over kernel routing (client -> edge -> bastion -> st-priv)"
    kernel=$(ip netns exec st-client timeout $((SECS + 30)) iperf3 -c 198.51.100.10 -t "$SECS" -J | gbps)
    ip -n st-edge route del 198.51.100.0/24 via 192.0.2.10
    ip netns exec st-edge sysctl -qw net.ipv4.ip_forward=0
    routed=0
fi

printf '\n%-34s %10s %10s\n' path Gbit/s ratio
if [[ -n $kernel ]]; then
    printf '%-34s %10s %10s\n' "kernel routing (baseline)" "$kernel" 1.00
    printf '%-34s %10s %10s\n' "subtunnel (CONNECT, 1 flow)" "$tunnel" \
        "$(python3 -c "print('%.2f' % ($tunnel / $kernel if $kernel else 0))")"
else
    printf '%-34s %10s %10s\n' "subtunnel (CONNECT, 1 flow)" "$tunnel" -
fi
echo
for name in edge gateway; do
    pid=$(cat "$LAB_DIR/run/$name.pid" 2>/dev/null || true)
    hwm=$(sed -n 's/^VmHWM: *//p' "/proc/${pid:-0}/status" 2>/dev/null || true)
    printf 'peak RSS %-8s %s\n' "$name" "${hwm:-n/a}"
done
