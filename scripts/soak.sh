#!/usr/bin/env bash
# soak.sh [MINUTES]: mixed traffic through the lab (--sites 2) for MINUTES (default 30),
# one round a minute, sampling the daemons after each round:
#   bulk     a 64 MiB download site 2 -> site 1 and one through the CONNECT proxy (sha256)
#   short    2000 short TCP flows site 2 -> site 1 (tools/flowgen.c, 64 at a time)
#   udp      200 DNS queries site 2 -> site 1's resolver
#   visitors 2000 requests over 10 HTTP/2 connections to app.lab.test (h2load)
#   stalled  20 visitors that stop reading (closed by the edge after send-timeout 5 s)
#   churn    site 2's gateway restarted every third round; both daemons reloaded (SIGHUP)
#            every round
# Samples: RSS (KiB) and open fds of the edge and both gateways, the gateways' live TCP and
# UDP flows, and the lwIP objects both gateways hold (every pool: pcbs, segments, pbufs;
# from /metrics). Prints a table, then the growth from the end of round 2 (warm) to the
# last round; exits 1 when any daemon died or a check failed, 2 when RSS grew by more than
# SOAK_MAX_GROWTH_KB (default 16384), fds by more than 16, or lwIP objects by more than
# SOAK_MAX_LWIP_GROWTH (default 512). Not part of CI: the figures of a 30-minute run are
# in docs/operations.md.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$REPO/build}
export LAB_DIR=${LAB_DIR:-$REPO/lab}
LAB=$REPO/scripts/lab.sh
HTTPD=$REPO/tests/integration/httpd.py
MINUTES=${1:-30}
MAX_GROWTH=${SOAK_MAX_GROWTH_KB:-16384}
MAX_LWIP_GROWTH=${SOAK_MAX_LWIP_GROWTH:-512}
if ! [[ $MINUTES =~ ^[0-9]+$ ]] || ((MINUTES < 3 || MINUTES > 1440)); then
    echo "usage: $0 [MINUTES 3..1440]" >&2
    exit 2
fi
[[ $(id -u) -eq 0 ]] || { echo "soak.sh needs root (network namespaces)" >&2; exit 1; }
for c in curl h2load dig python3; do
    command -v "$c" >/dev/null || { echo "soak.sh: $c missing (scripts/bootstrap-deps.sh)" >&2; exit 1; }
done
FLOWGEN=$BUILD_DIR/st-flowgen
[[ -x $FLOWGEN ]] || { echo "soak.sh: $FLOWGEN not built" >&2; exit 1; }

say() { printf '[soak %s] %s\n' "$(date +%T)" "$*"; }
bad=0
check() { # check DESC CMD...: runs CMD, counts a failure
    local desc=$1
    shift
    if ! "$@" >/dev/null 2>&1; then
        say "FAIL: $desc"
        bad=$((bad + 1))
    fi
}
cleanup() {
    [[ -n ${serve_pid:-} ]] && kill "$serve_pid" 2>/dev/null
    bash "$LAB" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

export LAB_EDGE_EXTRA_YAML="send-timeout: 5"
bash "$LAB" down >/dev/null 2>&1 || true
bash "$LAB" up --sites 2
eval "$(bash "$LAB" env)"
ip netns exec st-priv "$FLOWGEN" serve 198.51.100.10 9100 >/dev/null &
serve_pid=$!
big=$((64 << 20))
want=$(python3 "$HTTPD" --gen "$big")

pid_of() { cat "$LAB_DIR/run/$1.pid"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$(pid_of "$1")/status" 2>/dev/null || echo 0; }
fds() { find "/proc/$(pid_of "$1")/fd" -mindepth 1 2>/dev/null | wc -l; }
stat_of() { # stat_of LOGNAME KEY: from a fresh SIGUSR1 stats line
    local log=$LAB_DIR/logs/$1.log n
    n=$(grep -c 'stats:' "$log" || true)
    kill -USR1 "$(pid_of "$1")"
    for _ in $(seq 50); do
        (($(grep -c 'stats:' "$log" || true) > n)) && break
        sleep 0.1
    done
    local v
    v=$(grep 'stats:' "$log" | tail -n 1 | grep -o "$2=[0-9]*" | cut -d= -f2) || true
    echo "${v:--1}" # a missing value keeps its column
}
sha_of() { sha256sum | cut -c1-64; }
# lwip_of URL: the lwIP objects in use in every pool of the gateway whose metrics are at URL
lwip_of() {
    ip netns exec st-edge curl -sS -m 5 "$1/metrics" 2>/dev/null |
        awk '/^subtunnel_lwip_pool_objects\{/ {n += $NF; seen = 1} END {print seen ? n : -1}'
}

visitors() {
    ip netns exec st-client timeout 120 h2load -n 2000 -c 10 -m 4 \
        -H ':authority: app.lab.test' https://198.18.0.1/whoami |
        grep -q 'status codes: 2000 2xx'
}

round() {
    local r=$1
    rm -f "$LAB_DIR"/stall.*
    ip netns exec st-client timeout 150 python3 "$REPO/tests/integration/stallers.py" \
        198.18.0.1 80 app.lab.test "/fixed?bytes=$((4 << 20))" 20 \
        "$LAB_DIR/stall.ready" "$LAB_DIR/stall.done" "$LAB_DIR/stall.result" >/dev/null 2>&1 &
    stall_pid=$!
    check "bulk site 2 -> site 1" test "$(ip netns exec st-priv2 curl -sS -m 120 \
        "http://198.51.100.10:8000/fixed?bytes=$big" | sha_of)" = "$want"
    check "bulk through CONNECT" test "$(ip netns exec st-client curl -sS -m 120 -p \
        -x "$EDGE_PROXY" -U "lab:$ACCESS_TOKEN" "http://198.51.100.10:8000/fixed?bytes=$big" |
        sha_of)" = "$want"
    check "2000 short flows" ip netns exec st-priv2 "$FLOWGEN" churn 198.51.100.10 9100 \
        --count 2000 --parallel 64
    # shellcheck disable=SC2016  # expanded by the inner shell
    check "200 DNS queries" ip netns exec st-priv2 bash -c \
        'for i in $(seq 200); do dig +time=2 +tries=2 +short @198.51.100.53 host.corp.test >/dev/null || exit 1; done'
    check "2000 visitor requests" visitors
    touch "$LAB_DIR/stall.done" # the stalled visitors were cut after send-timeout by now
    wait "$stall_pid" || true
    check "20 stalled visitors cut by the edge" grep -qx '20 0' "$LAB_DIR/stall.result"
    kill -HUP "$(pid_of edge)" "$(pid_of gateway)" "$(pid_of gateway2)"
    if ((r % 3 == 0)); then
        check "site 2 gateway restart" bash "$LAB" restart-gateway 2
    fi
}

declare -a rows
printf -v hdr '%-5s %9s %9s %9s %6s %6s %6s %7s %7s %7s %7s' round edge_kb gw_kb gw2_kb e_fds \
    g_fds g2_fds tcp udp g_lwip g2_lwip
say "$MINUTES rounds, one a minute"
for ((r = 1; r <= MINUTES; r++)); do
    t0=$SECONDS
    round "$r"
    for d in edge gateway gateway2; do
        kill -0 "$(pid_of "$d")" 2>/dev/null || { say "FAIL: $d died"; exit 1; }
    done
    printf -v row '%-5s %9s %9s %9s %6s %6s %6s %7s %7s %7s %7s' "$r" "$(rss edge)" \
        "$(rss gateway)" "$(rss gateway2)" "$(fds edge)" "$(fds gateway)" "$(fds gateway2)" \
        "$(stat_of gateway tcp_live)" "$(stat_of gateway udp_live)" \
        "$(lwip_of "$GATEWAY_METRICS")" "$(lwip_of "$GATEWAY2_METRICS")"
    rows+=("$row")
    say "$row"
    left=$((60 - (SECONDS - t0)))
    ((left > 0 && r < MINUTES)) && sleep "$left"
done

echo "$hdr"
printf '%s\n' "${rows[@]}"
read -r _ e2 g2 gg2 fe2 fg2 fgg2 _ _ l2 ll2 <<<"${rows[1]}"
read -r _ eN gN ggN feN fgN fggN _ _ lN llN <<<"${rows[-1]}"
echo "growth from round 2 to round $MINUTES: edge $((eN - e2)) KiB, gateway $((gN - g2)) KiB," \
    "gateway2 $((ggN - gg2)) KiB; fds edge $((feN - fe2)), gateway $((fgN - fg2))," \
    "gateway2 $((fggN - fgg2)); lwIP objects gateway $((lN - l2)), gateway2 $((llN - ll2))"
((bad == 0)) || { say "$bad checks failed"; exit 1; }
for g in $((eN - e2)) $((gN - g2)) $((ggN - gg2)); do
    ((g <= MAX_GROWTH)) || { say "RSS grew by more than $MAX_GROWTH KiB"; exit 2; }
done
for g in $((feN - fe2)) $((fgN - fg2)) $((fggN - fgg2)); do
    ((g <= 16)) || { say "open fds grew by more than 16"; exit 2; }
done
for l in "$l2" "$ll2" "$lN" "$llN"; do
    ((l >= 0)) || { say "no lwIP pool figures in a gateway's /metrics"; exit 2; }
done
for g in $((lN - l2)) $((llN - ll2)); do
    ((g <= MAX_LWIP_GROWTH)) || { say "lwIP objects grew by more than $MAX_LWIP_GROWTH"; exit 2; }
done
say "OK"
