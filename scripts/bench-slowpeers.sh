#!/usr/bin/env bash
# bench-slowpeers.sh (bench.sh slowpeers): how much slow peers on every edge listener delay
# a normal request (issue 19 asks for at most 100 ms with 2000 on each listener). In one lab
# (one edge, one site; the edge's connection caps raised above the peers, request-timeout
# 60 s):
#   - BENCH_SLOW_REQS (default 50) requests through the access proxy (HTTP/1.1 CONNECT, then
#     a GET inside) and as many visitor requests (HTTPS to app.lab.test), one after the other,
#     each on a new connection: curl's time_total, p50 / p99 / max, with the edge idle;
#   - the same while BENCH_SLOW_PEERS (default 2000) peers on each of :8080, :8443, :80, :443
#     and :7844 hold connections that send nothing, or one byte a second of a request head or
#     TLS ClientHello that never ends (tests/integration/capspeer.py slow);
#   - the delay they add (loaded minus idle) at each percentile, and how many slow
#     connections the edge held before and after the loaded requests (TLS ones are closed
#     by the 10 s handshake timeout, HTTP ones by request-timeout).
# The loaded requests start once the edge has accepted every slow peer (its descriptor
# count), so they measure the peers' steady state, not the accept queue behind them (a
# request queued behind 2000 connections not yet accepted waits for them: BENCH_SLOW_SETTLE=0
# starts at once, to see that).
# Run it under the lab lock: flock /tmp/subtunnel-lab.lock bash scripts/bench.sh slowpeers
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$REPO/build}
export LAB_DIR=${LAB_DIR:-$REPO/lab}
LAB=$REPO/scripts/lab.sh
PEER=$REPO/tests/integration/capspeer.py
REQS=${BENCH_SLOW_REQS:-50}
PEERS=${BENCH_SLOW_PEERS:-2000}
SETTLE=${BENCH_SLOW_SETTLE:-1}
[[ $(id -u) -eq 0 ]] || { echo "bench-slowpeers.sh needs root" >&2; exit 1; }
if ! [[ $REQS =~ ^[0-9]+$ && $PEERS =~ ^[0-9]+$ ]] || ((REQS < 2 || REQS > 10000 || PEERS > 2400)); then
    echo "bench: BENCH_SLOW_REQS 2..10000, BENCH_SLOW_PEERS 0..2400" >&2
    exit 2
fi

work=$(mktemp -d)
peer_pid=
cleanup() {
    [[ -z $peer_pid ]] || kill "$peer_pid" 2>/dev/null || true
    bash "$LAB" down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '[bench %s] %s\n' "$(date +%T)" "$*"; }

caps=$((PEERS * 5 + 100)) # the slow peers, the tunnel connections and the measured requests
export LAB_EDGE_EXTRA_YAML="request-timeout: 60
max-connections: $caps
listener-max-connections: $caps
max-connections-per-client: $caps
max-unauthenticated: $caps"
bash "$LAB" down >/dev/null 2>&1 || true
bash "$LAB" up
eval "$(bash "$LAB" env)"
content="hello from st-priv (198.51.100.10)"

# timed KIND: one request, its time_total in ms (exits non-zero unless the content came)
timed() {
    local args=(-sS -m 20 -w '\n%{time_total}')
    if [[ $1 == connect ]]; then
        args+=(-p -x "$EDGE_PROXY" -U "lab:$ACCESS_TOKEN" "http://198.51.100.10:8000/file")
    else
        args+=(--resolve app.lab.test:443:198.18.0.1 --cacert "$CA_FILE" https://app.lab.test/file)
    fi
    local out
    out=$(ip netns exec st-client curl "${args[@]}") || return 1
    [[ $(head -n 1 <<<"$out") == "$content" ]] || return 1
    tail -n 1 <<<"$out" | awk '{printf "%.2f\n", $1 * 1000}'
}
# series KIND FILE: REQS requests one after the other, their times (ms) in FILE
series() {
    local i
    : >"$2"
    for ((i = 0; i < REQS; i++)); do
        timed "$1" >>"$2" || { say "a $1 request failed"; exit 1; }
    done
}
# pct FILE: "p50 p99 max" of the times in FILE
pct() {
    sort -n "$1" | awk '{v[NR] = $1} END {
        i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999)
        printf "%s %s %s\n", v[i50], v[i99], v[NR] }'
}
# slowest FILE: "MS (request K of N)" for the slowest request in FILE
slowest() { awk '$1 > m {m = $1; k = NR} END {printf "%s ms (request %d of %d)", m, k, NR}' "$1"; }
edge_fds() { find "/proc/$(cat "$LAB_DIR/run/edge.pid")/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# held: established connections the edge holds on its five listeners
held() {
    ip netns exec st-edge ss -Htn state established \
        '( sport = :8080 or sport = :8443 or sport = :80 or sport = :443 or sport = :7844 )' |
        wc -l
}

for k in connect visitor; do series "$k" "$work/warm-$k"; done
base=$(held)
fds0=$(edge_fds)
for k in connect visitor; do series "$k" "$work/idle-$k"; done
say "idle: $REQS requests of each kind; the edge holds $base connections (tunnel and lab)"

ip netns exec st-client python3 "$PEER" slow 198.18.0.1:8080:connect 198.18.0.1:8443:tls \
    198.18.0.1:80:http 198.18.0.1:443:tls 192.0.2.1:7844:tls --count "$PEERS" \
    --ready "$work/slow.ready" --result "$work/slow.result" --timeout 300 >/dev/null 2>&1 &
peer_pid=$!
for ((i = 0; i < 600; i++)); do
    [[ ! -s $work/slow.ready ]] || break
    sleep 0.2
done
[[ -s $work/slow.ready ]] || { say "the slow peers did not connect within 120 s"; exit 1; }
say "slow peers: $(cat "$work/slow.ready") of $((PEERS * 5))"
if [[ $SETTLE == 1 ]]; then
    for ((i = 0; i < 150; i++)); do
        (($(edge_fds) < fds0 + PEERS * 5)) || break
        sleep 0.2
    done
    say "the edge holds $(($(edge_fds) - fds0)) more descriptors (accepted after $((i * 200)) ms or less)"
fi
before=$(($(held) - base))
t0=$(date +%s%3N)
for k in connect visitor; do series "$k" "$work/load-$k"; done
t1=$(date +%s%3N)
after=$(($(held) - base))

echo
echo "slow peers held by the edge: $before when the loaded requests began, $after when they" \
    "ended ($((t1 - t0)) ms later)"
printf '%-28s %8s %8s %8s\n' "request (ms)" p50 p99 max
for k in connect visitor; do
    read -r i50 i99 imax <<<"$(pct "$work/idle-$k")"
    read -r l50 l99 lmax <<<"$(pct "$work/load-$k")"
    printf '%-28s %8s %8s %8s\n' "$k, idle" "$i50" "$i99" "$imax"
    printf '%-28s %8s %8s %8s\n' "$k, among slow peers" "$l50" "$l99" "$lmax"
    printf '%-28s %8s %8s %8s\n' "$k, added (target <= 100)" \
        "$(awk -v a="$l50" -v b="$i50" 'BEGIN {printf "%.2f", a - b}')" \
        "$(awk -v a="$l99" -v b="$i99" 'BEGIN {printf "%.2f", a - b}')" \
        "$(awk -v a="$lmax" -v b="$imax" 'BEGIN {printf "%.2f", a - b}')"
done
echo "slowest among slow peers: connect $(slowest "$work/load-connect"), visitor" \
    "$(slowest "$work/load-visitor")"
