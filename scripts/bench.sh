#!/usr/bin/env bash
# bench.sh [tunnel|ingress|udp|flows|latency|scale|fleet|slowpeers|all]: subtunnel beside plain kernel routing across the same
# namespaces, in the same run; prints Gbit/s or requests/s, ratios and peak RSS.
#   tunnel   single-flow iperf3, the CONNECT path: st-client -> edge proxy -> tunnel ->
#            gateway -> st-priv, twice: iperf3 as a proxy-aware client (proxychains4 does
#            the CONNECT; installed if missing), and through a socat CONNECT forwarder, to
#            198.51.100.10 and to [2001:db8:51::10] (IPv6 target; printed as a ratio to IPv4)
#   ingress  h2load against bench.lab.test (an nginx origin on 198.51.100.10:8080 added
#            to the lab's ingress rules) through the edge's visitor listeners (HTTP/1.1
#            on :80, HTTP/2 on :443) vs straight to the origin over kernel routing:
#            requests/s, p99 latency, daemons' RSS (installs nginx-light if missing)
#   udp      site 2 -> site 1 through the reach and expose gateways (connect-udp streams):
#            iperf3 -u at fixed rates, both ways on the same flow (-R: site 1 sends;
#            received Mbit/s, loss, reordering) and DNS queries/s
#            with dnsperf (1 and 20 client sockets) against the private resolver
#            198.51.100.53, vs kernel routing (installs dnsperf if missing); the
#            gateways' capsules per DATA frame over the iperf3 runs (their stats lines)
#   flows    TCP flows site 1 -> site 2 through reach + edge + expose with st-flowgen
#            (tools/flowgen.c; a flow counts once the server's first byte arrived):
#            BENCH_CHURN (default 50000) short flows, 256 setting up at once (setups/s, p99
#            latency), then BENCH_IDLE_FLOWS (default 10000) idle flows held open (RSS per
#            idle flow of each daemon, the gateways' fd counts), beside kernel routing
#   latency  ping (BENCH_LAT_COUNT, default 1000, 10 ms apart) and TCP request/response
#            round trips (st-rrping, tools/rrping.c: 1 byte each way, one connection) at the
#            same time, st-priv -> st-priv2, idle and while one iperf3 TCP flow of
#            BENCH_LAT_BULK_SECS (default 15) runs the same way; through subtunnel (reach ->
#            edge -> expose), OpenVPN (BENCH_LAT_OVPN=0 skips it) and kernel routing:
#            p50/p99/max ms and the bulk flow's Gbit/s alone and under the probes;
#            BENCH_LAT_RATE (e.g. 1G) caps the loaded bulk flow (iperf3 -b); each subtunnel
#            daemon's CPU share and wait for a CPU under load (/proc/PID/schedstat)
#   scale    one edge holding BENCH_TUNNELS (10000) tunnels simulated by st-tunload: registrations/s,
#            RSS per idle tunnel connection, CPU of their heartbeats, a reconnect storm with
#            CONNECTs meanwhile (scripts/bench-scale.sh; not part of all)
#   fleet    the edge fleet's relay (lab --edges 3 --sites 2): iperf3 1 and 16 flows through
#            edge 3 (relayed) beside edge 1 (direct) and kernel routing, short CONNECT flows/s
#            relayed vs direct, the registry's commands per relayed flow
#            (scripts/bench-fleet.sh; not part of all)
#   slowpeers  requests through the access proxy and visitor requests, idle and while 2000
#            slow peers hold connections on each edge listener: the delay they add
#            (scripts/bench-slowpeers.sh; not part of all)
#   all      (default) tunnel + ingress + udp + flows + the transparent site-to-site path (lab
#            --sites 2): st-priv -> reach gateway -> edge -> expose gateway -> st-priv2,
#            beside OpenVPN 2.6 between the same bastions (UDP, AES-128-GCM, userspace
#            TUN, installed if missing) and kernel routing; ends with one table: path,
#            Gbit/s, ratios to kernel and OpenVPN, flows/s, bytes per idle flow, peak RSS,
#            and the daemons' RSS growth over the bulk site-to-site run
# tunnel and all also measure a relay floor on the same hops: socat relays in st-edge and
# the bastion(s), plain TCP and TLS between them (what relaying through user space costs
# on this machine, with no HTTP/2, no userspace TCP/IP and no TUN)
# Every throughput figure is the median of BENCH_REPS (default 3) iperf3 runs of
# BENCH_SECS (default 10) seconds; the log lists the single runs.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$REPO/build}
export LAB_DIR=${LAB_DIR:-$REPO/lab}
LAB=$REPO/scripts/lab.sh
MODE=${1:-all}
SECS=${BENCH_SECS:-10}
REPS=${BENCH_REPS:-3} # iperf3 runs per throughput figure (the median is printed)
[[ $MODE =~ ^(tunnel|ingress|udp|flows|latency|scale|fleet|slowpeers|all)$ ]] ||
    { echo "usage: $0 [tunnel|ingress|udp|flows|latency|scale|fleet|slowpeers|all]" >&2; exit 2; }
if [[ $MODE == scale ]]; then exec bash "$REPO/scripts/bench-scale.sh"; fi
if [[ $MODE == slowpeers ]]; then exec bash "$REPO/scripts/bench-slowpeers.sh"; fi
[[ $(id -u) -eq 0 ]] || { echo "bench.sh needs root" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 missing" >&2; exit 1; }
command -v h2load >/dev/null || { echo "h2load missing (nghttp2-client)" >&2; exit 1; }
REQS=${BENCH_REQUESTS:-50000}

pids=()
routed=0
started_lab=0
# kernel_routes add|del: plain kernel forwarding through st-edge between all sites, with
# the gateways' reach routes (into their TUNs) out of the way while it is on.
kernel_routes() {
    local op=$1
    if [[ $op == add ]]; then
        ip netns exec st-edge sysctl -qw net.ipv4.ip_forward=1
        ip -n st-edge route replace 198.51.100.0/24 via 192.0.2.10
        if ((sites >= 2)); then
            ip -n st-edge route replace 203.0.113.0/24 via 192.0.2.20
            ip -n st-bastion route del 203.0.113.0/24 dev st0 2>/dev/null || true
            ip -n st-bastion2 route del 198.51.100.10/32 dev st0 2>/dev/null || true
            ip -n st-bastion2 route del 198.51.100.53/32 dev st0 2>/dev/null || true
        fi
    else
        ip -n st-edge route del 198.51.100.0/24 via 192.0.2.10 2>/dev/null || true
        ip netns exec st-edge sysctl -qw net.ipv4.ip_forward=0 || true
        if ((sites >= 2)); then
            ip -n st-edge route del 203.0.113.0/24 via 192.0.2.20 2>/dev/null || true
            ip -n st-bastion route replace 203.0.113.0/24 dev st0 || true
            ip -n st-bastion2 route replace 198.51.100.10/32 dev st0 || true
            ip -n st-bastion2 route replace 198.51.100.53/32 dev st0 || true
        fi
    fi
}
cleanup() {
    local p
    if [[ -n ${RMEM0:-} ]]; then
        sysctl -qw "net.core.rmem_max=$RMEM0" "net.core.wmem_max=$WMEM0" || true
    fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if ((routed)); then kernel_routes del; fi
    if ((OVPN_UP)); then openvpn_down; fi
    rm -f "$LAB_DIR/bench-proxychains.conf" # holds the lab's access token
    if [[ -n $RELAY_DIR ]]; then rm -rf "$RELAY_DIR"; fi
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
gbps() {
    python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

sites=1 edges=1
if [[ $MODE =~ ^(all|udp|flows|latency|fleet)$ ]]; then sites=2; fi
if [[ $MODE == fleet ]]; then edges=3; fi
if [[ $MODE == all || $MODE == udp ]]; then
    command -v dnsperf >/dev/null || apt-get install -y -q dnsperf >/dev/null ||
        { echo "bench: dnsperf missing and not installable" >&2; exit 1; }
fi
if [[ $MODE == all || $MODE == tunnel ]]; then
    command -v proxychains4 >/dev/null || apt-get install -y -q proxychains4 >/dev/null ||
        { echo "bench: proxychains4 missing and not installable" >&2; exit 1; }
fi
if [[ $MODE == all || $MODE == ingress ]]; then
    command -v nginx >/dev/null || apt-get install -y -q nginx-light >/dev/null ||
        { echo "bench: nginx missing and not installable" >&2; exit 1; }
    # the lab's ingress rules plus the benchmark origin
    LAB_INGRESS_EXTRA_RULES=$'  - hostname: bench.lab.test\n    service: http://198.51.100.10:8080'
    LAB_EDGE_HOSTNAMES="app.lab.test, ws.lab.test, bench.lab.test"
    export LAB_INGRESS_EXTRA_RULES LAB_EDGE_HOSTNAMES
fi
if [[ ! -f $LAB_DIR/state ]] || ! bash "$LAB" status | grep -q '^gateway: running' ||
    ! grep -q "^sites=$sites$" "$LAB_DIR/state" || ! grep -q "^edges=$edges$" "$LAB_DIR/state" ||
    { [[ $MODE == all || $MODE == ingress ]] &&
        ! grep -q bench.lab.test "$LAB_DIR/gateway.yaml"; }; then
    bash "$LAB" down >/dev/null 2>&1 || true
    bash "$LAB" up --sites "$sites" --edges "$edges"
    started_lab=1
fi
eval "$(bash "$LAB" env)"

# openvpn_up: the OpenVPN baseline between the two bastions (OpenVPN 2.6, userspace TUN
# stv0 over UDP 192.0.2.20:1194, TLS with a throwaway PKI, AES-128-GCM data channel, no
# DCO), and site 1 <-> site 2 routed through it instead of the gateways' TUNs.
openvpn_up() {
    local d=$LAB_DIR/bench-ovpn who eku i
    command -v openvpn >/dev/null || apt-get install -y -q openvpn >/dev/null ||
        { echo "bench: openvpn missing and not installable" >&2; exit 1; }
    mkdir -p "$d"
    if [[ ! -s $d/client.crt ]]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca.key"
        openssl req -x509 -new -key "$d/ca.key" -sha256 -days 3650 -subj /CN=bench-ovpn-ca \
            -out "$d/ca.crt" 2>/dev/null
        for who in server client; do
            eku=serverAuth
            if [[ $who == client ]]; then eku=clientAuth; fi
            openssl ecparam -name prime256v1 -genkey -noout -out "$d/$who.key"
            openssl req -new -key "$d/$who.key" -subj "/CN=bench-ovpn-$who" -out "$d/$who.csr" \
                2>/dev/null
            printf 'extendedKeyUsage=%s\nkeyUsage=digitalSignature\n' "$eku" >"$d/$who.ext"
            openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
                -CAcreateserial -days 3650 -sha256 -extfile "$d/$who.ext" -out "$d/$who.crt" \
                2>/dev/null
        done
    fi
    local common=(--dev stv0 --dev-type tun --proto udp --data-ciphers AES-128-GCM
        --disable-dco --ca "$d/ca.crt" --verb 3)
    rm -f "$d/server.log" "$d/client.log"
    ip netns exec st-bastion2 openvpn "${common[@]}" --local 192.0.2.20 --lport 1194 \
        --ifconfig 198.18.250.2 198.18.250.1 --tls-server --dh none --cert "$d/server.crt" \
        --key "$d/server.key" --log "$d/server.log" &
    pids+=($!)
    ip netns exec st-bastion openvpn "${common[@]}" --nobind --remote 192.0.2.20 1194 \
        --ifconfig 198.18.250.1 198.18.250.2 --tls-client --cert "$d/client.crt" \
        --key "$d/client.key" --log "$d/client.log" &
    pids+=($!)
    for ((i = 0; i < 100; i++)); do
        grep -q "Initialization Sequence Completed" "$d/client.log" 2>/dev/null && break
        sleep 0.2
    done
    grep -q "Initialization Sequence Completed" "$d/client.log" ||
        { echo "bench: OpenVPN did not come up ($d/client.log)" >&2; exit 1; }
    ip -n st-bastion route replace 203.0.113.0/24 dev stv0
    ip -n st-bastion2 route replace 198.51.100.10/32 dev stv0
    OVPN_UP=1
}
openvpn_down() {
    pkill -f "openvpn --dev stv0" 2>/dev/null || true
    ip -n st-bastion route replace 203.0.113.0/24 dev st0 2>/dev/null || true
    ip -n st-bastion2 route replace 198.51.100.10/32 dev st0 2>/dev/null || true
    OVPN_UP=0
}
OVPN_UP=0

# Relay floor: the same namespaces bridged by plain user-space relays (socat, one read and
# one write per buffer, kernel TCP on every leg), with and without TLS (1.3, AES-128-GCM as
# subtunnel's tunnels) between the relays: what any design that relays bytes through a
# process at the edge and at the gateway(s) gets from this machine's kernel and CPUs.
RELAY_DIR="" RELAY_PIDS=()
relay_setup() {
    RELAY_DIR=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bench-relay \
        -keyout "$RELAY_DIR/relay.pem" -out "$RELAY_DIR/relay.crt" 2>/dev/null
    cat "$RELAY_DIR/relay.crt" >>"$RELAY_DIR/relay.pem"
    printf '%s\n' 'openssl_conf = conf' '[conf]' 'ssl_conf = ssl' '[ssl]' 'system_default = tls' \
        '[tls]' 'MinProtocol = TLSv1.3' 'Ciphersuites = TLS_AES_128_GCM_SHA256' >"$RELAY_DIR/openssl.cnf"
}
# relay_hop NS ADDR:PORT IN TARGET:PORT OUT: a relay in NS from ADDR:PORT to TARGET:PORT,
# IN / OUT plain or tls (throwaway certificate, not verified: namespaces of this run only)
relay_hop() {
    local ns=$1 la=${2%:*} lp=${2##*:} ta=${4%:*} tp=${4##*:} l c
    l="TCP-LISTEN:$lp,bind=$la,reuseaddr,fork"
    c="TCP:$ta:$tp"
    if [[ $3 == tls ]]; then l="OPENSSL-LISTEN:$lp,bind=$la,reuseaddr,fork,cert=$RELAY_DIR/relay.pem,verify=0"; fi
    if [[ $5 == tls ]]; then c="OPENSSL:$ta:$tp,verify=0"; fi
    ip netns exec "$ns" env OPENSSL_CONF="$RELAY_DIR/openssl.cnf" socat -b 262144 "$l" "$c" \
        >/dev/null 2>&1 &
    pids+=($!)
    RELAY_PIDS+=($!)
    wait_listen "$ns" "$la:$lp"
}
relay_down() {
    local p
    for p in "${RELAY_PIDS[@]}"; do
        pkill -P "$p" 2>/dev/null || true
        kill "$p" 2>/dev/null || true
    done
    wait "${RELAY_PIDS[@]}" 2>/dev/null || true
    RELAY_PIDS=()
}
# relay_connect KIND: client -> relay in st-edge -> relay in st-bastion -> st-priv (the
# CONNECT path's hops), KIND plain or tls between the relays; the median Gbit/s in RELAY_GBPS
relay_connect() {
    echo "bench: ${SECS}s iperf3 through two socat relays, $1 between them (st-client -> st-edge -> st-bastion -> st-priv)"
    relay_hop st-bastion 192.0.2.10:15301 "$1" 198.51.100.10:5201 plain
    relay_hop st-edge 198.18.0.1:15300 plain 192.0.2.10:15301 "$1"
    RELAY_GBPS=$(median_of iperf_to st-priv 198.51.100.10 st-client 198.18.0.1 1 15300)
    relay_down
}
# relay_s2s KIND: st-priv -> relay in st-bastion -> st-edge -> st-bastion2 -> st-priv2 (the
# site-to-site path's hops), KIND plain or tls on both legs through the edge
relay_s2s() {
    echo "bench: ${SECS}s iperf3 through three socat relays, $1 between them (st-priv -> st-bastion -> st-edge -> st-bastion2 -> st-priv2)"
    relay_hop st-bastion2 192.0.2.20:15312 "$1" 203.0.113.10:5201 plain
    relay_hop st-edge 192.0.2.1:15311 "$1" 192.0.2.20:15312 "$1"
    relay_hop st-bastion 198.51.100.1:15310 plain 192.0.2.1:15311 "$1"
    RELAY_GBPS=$(median_of iperf_to st-priv2 203.0.113.10 st-priv 198.51.100.1 1 15310)
    relay_down
}

# iperf_server NS ADDR: one-shot iperf3 server on ADDR:5201
iperf_server() { # iperf_server NS ADDR (IPv4 or IPv6)
    local hp=$2
    if [[ $2 == *:* ]]; then hp="[$2]"; fi
    ip netns exec "$1" iperf3 -s -1 -B "$2" -p 5201 >/dev/null 2>&1 &
    pids+=($!)
    wait_listen "$1" "$hp:5201"
}
# run_iperf NS TARGET [PARALLEL [PORT]]: Gbit/s of one SECS-long run (1 flow, or PARALLEL
# flows) to TARGET:PORT (5201)
run_iperf() {
    ip netns exec "$1" timeout $((SECS + 30)) iperf3 -c "$2" -p "${4:-5201}" -t "$SECS" \
        -P "${3:-1}" -J | gbps
}
ratio() { python3 -c "print('%.2f' % ($1 / $2 if $2 else 0))"; }
# median_of CMD...: runs CMD (which prints Gbit/s) REPS times and prints the median; the
# single runs go to stderr, so the log shows the spread behind every figure. Runs of one
# SECS-long iperf3 vary by 20 % on the VMs we use, OpenVPN's as much as ours.
median_of() {
    local i v all=()
    for ((i = 0; i < REPS; i++)); do
        v=$("$@")
        all+=("${v:-0}")
    done
    echo "bench:   runs: ${all[*]}" >&2
    printf '%s\n' "${all[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
# iperf_to SRV_NS SRV_ADDR CLIENT_NS TARGET [PARALLEL [PORT]]: one run against a fresh
# server (the client connects to TARGET:PORT, 5201 by default: a relay may stand in between)
iperf_to() {
    iperf_server "$1" "$2"
    run_iperf "$3" "$4" "${5:-1}" "${6:-5201}"
}
# connect_run [SERVER_ADDR LOCAL_PORT]: iperf3 through the socat CONNECT forwarder listening
# on 127.0.0.1:LOCAL_PORT in st-client (15201: to 198.51.100.10; 15206: to [2001:db8:51::10])
connect_run() {
    iperf_server st-priv "${1:-198.51.100.10}"
    ip netns exec st-client timeout $((SECS + 30)) iperf3 -c 127.0.0.1 -p "${2:-15201}" \
        -t "$SECS" -J | gbps
}
# connect_pc_run: iperf3 as a proxy-aware client, proxychains4 doing the CONNECT in its
# connect(); no relay process between it and the edge (socat's row has one)
connect_pc_run() {
    iperf_server st-priv 198.51.100.10
    ip netns exec st-client timeout $((SECS + 30)) proxychains4 -q -f "$LAB_DIR/bench-proxychains.conf" \
        iperf3 -c 198.51.100.10 -t "$SECS" -J | gbps
}

# h2load_run NS ARGS...: "<req/s> <p99 ms> <2xx count>" of one h2load run
h2load_run() {
    local ns=$1 log out rps p99 ok
    shift
    log=$(mktemp)
    out=$(ip netns exec "$ns" timeout 300 h2load --log-file="$log" "$@" 2>&1) || true
    rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
    ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
    p99=$(python3 -c 'import sys
v = sorted(int(l.split()[2]) for l in open(sys.argv[1]) if len(l.split()) == 3)
print("%.1f" % (v[max(0, int(len(v) * 0.99) - 1)] / 1000.0) if v else "n/a")' "$log")
    rm -f "$log"
    echo "${rps:-0} $p99 ${ok:-0}"
}
# rss_kib NAME: current RSS of a lab daemon
rss_kib() {
    local pid
    pid=$(cat "$LAB_DIR/run/$1.pid" 2>/dev/null) || return 0
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true
}

# nginx_origin: the benchmark origin in st-priv, 198.51.100.10:8080, "ok" for every path
nginx_origin() {
    local d=$LAB_DIR/bench-nginx
    mkdir -p "$d"
    cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 198.51.100.10:8080 backlog=4096;
        location / { return 200 "ok\n"; }
    }
}
EOF
    ip netns exec st-priv nginx -c "$d/nginx.conf" -p "$d" >/dev/null 2>&1 &
    pids+=($!)
    wait_listen st-priv 198.51.100.10:8080
}

# ingress_bench: sets ING_* results (through the tunnel), then direct ones (kernel routes)
ingress_bench() {
    local auth=(-H ':authority: bench.lab.test')
    echo "bench: h2load $REQS requests, HTTP/1.1, 50 connections, via the edge (:80) to app.lab.test"
    read -r ING_H1_RPS ING_H1_P99 ING_H1_OK < <(h2load_run st-client --h1 -n "$REQS" -c 50 \
        "${auth[@]}" http://198.18.0.1/)
    echo "bench: h2load $REQS requests, HTTP/2, 50 connections x 10 streams, via the edge (:443)"
    local peaks
    peaks=$(mktemp)
    rss_sampler "$peaks" &
    local sampler=$!
    read -r ING_H2_RPS ING_H2_P99 ING_H2_OK < <(h2load_run st-client -n "$REQS" -c 50 -m 10 \
        "${auth[@]}" https://198.18.0.1/)
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    read -r ING_RSS_EDGE ING_RSS_GW <"$peaks" || true
    rm -f "$peaks"
}
# rss_sampler FILE [NAME...]: every 0.1 s, the peak RSS (KiB) of each named lab daemon
# (default: edge gateway) so far, space-separated, into FILE
rss_sampler() {
    local out=$1 i k r
    shift
    local names=(edge gateway)
    if (($# > 0)); then names=("$@"); fi
    local peak=()
    for ((i = 0; i < 6000; i++)); do
        for k in "${!names[@]}"; do
            r=$(rss_kib "${names[$k]}")
            if ((${r:-0} > ${peak[$k]:-0})); then peak[k]=$r; fi
        done
        echo "${peak[*]}" >"$out"
        sleep 0.1
    done
}
ingress_direct() {
    echo "bench: h2load $REQS requests, HTTP/1.1, 50 connections, straight to the origin"
    read -r DIR_H1_RPS DIR_H1_P99 DIR_H1_OK < <(h2load_run st-client --h1 -n "$REQS" -c 50 \
        http://198.51.100.10:8080/)
    echo "bench: h2load $REQS requests, HTTP/1.1, 500 connections, straight to the origin"
    read -r DIR_H500_RPS DIR_H500_P99 DIR_H500_OK < <(h2load_run st-client --h1 -n "$REQS" \
        -c 500 http://198.51.100.10:8080/)
}

# gw_stats NAME KEY...: the KEYs' values (0 when absent) from a fresh SIGUSR1 stats line of
# gateway NAME (gateway, gateway2), on one line
gw_stats() {
    local log=$LAB_DIR/logs/$1.log n i
    n=$(grep -c ' stats: ' "$log" || true)
    kill -USR1 "$(cat "$LAB_DIR/run/$1.pid")"
    for ((i = 0; i < 50; i++)); do
        (($(grep -c ' stats: ' "$log" || true) > n)) && break
        sleep 0.1
    done
    shift
    grep ' stats: ' "$log" | tail -n 1 |
        awk -v keys="$*" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            n = split(keys, k, " "); for (i = 1; i <= n; i++) printf "%d%s", v[k[i]], i < n ? " " : "\n" }'
}
# gw_capsules NAME: "capsules frames" (dgram_in, dgram_frames) of gateway NAME
gw_capsules() { gw_stats "$1" dgram_in dgram_frames; }
# udp_drops TAG: "tun gateways receiver": UDP datagrams dropped so far at the TUN devices'
# own queues (st0's tx drops in both bastions: the gateway did not read in time), in the
# gateways' datagram queues toward the tunnel (dgram_dropped; TAG tun only) and at the
# receiving sockets (UdpRcvbufErrors in st-priv and st-priv2)
udp_drops() {
    local t=0 g=0 r=0 ns v
    for ns in st-bastion st-bastion2; do
        v=$(ip -n "$ns" -s link show st0 2>/dev/null | awk '/TX:/ { getline; print $4; exit }')
        t=$((t + ${v:-0}))
    done
    if [[ $1 == tun ]]; then
        read -r v < <(gw_stats gateway dgram_dropped)
        g=$((g + v))
        read -r v < <(gw_stats gateway2 dgram_dropped)
        g=$((g + v))
    fi
    for ns in st-priv st-priv2; do
        v=$(ip netns exec "$ns" nstat -asz UdpRcvbufErrors 2>/dev/null |
            awk '$1 == "UdpRcvbufErrors" { print $2 }')
        r=$((r + ${v:-0}))
    done
    echo "$t $g $r"
}
# udp_frames BEFORE_GW BEFORE_GW2: capsules per DATA frame of both gateways since the snapshots
udp_frames() {
    local name a b c0 f0 c1 f1
    for name in gateway gateway2; do
        if [[ $name == gateway ]]; then read -r c0 f0 <<<"$1"; else read -r c0 f0 <<<"$2"; fi
        read -r c1 f1 < <(gw_capsules "$name")
        a=$((c1 - c0)) b=$((f1 - f0))
        echo "bench:   $name: $a capsules toward the tunnel in $b DATA frames" \
            "($(awk -v a="$a" -v b="$b" 'BEGIN { print b ? sprintf("%.1f", a / b) : "n/a" }') per frame)"
    done
}

# udp_bench TAG: iperf3 -u at each rate, both ways (the flow is opened by site 2; with -R
# site 1 sends), and dnsperf, site 2 -> site 1; sets UDP_<TAG>_<RATE>, UDP_<TAG>_R_<RATE>
# and DNS_<TAG>_*
udp_bench() {
    local tag=$1 rate out r c rev w v snap1 snap2 d0t d0g d0r d1 d2 d3
    iperf_server_keep st-priv 198.51.100.10
    if [[ $tag == tun ]]; then snap1=$(gw_capsules gateway) snap2=$(gw_capsules gateway2); fi
    for rate in $UDP_RATES; do
        for v in "" R W WR; do # R: -R (site 1 sends); W: both ends with UDP_WBUF socket buffers
            rev="" w=""
            if [[ $v == *R ]]; then rev=-R; fi
            if [[ $v == W* ]]; then
                [[ $rate == "$UDP_WRATE" ]] || continue
                w="-w $UDP_WBUF"
            fi
            read -r d0t d0g d0r < <(udp_drops "$tag")
            echo "bench: $tag: iperf3 -u -b $rate -l 1400 $rev $w, ${SECS}s (st-priv2 ->" \
                "st-priv${rev:+, st-priv sends})"
            # shellcheck disable=SC2086  # $rev: no argument or -R; $w: none or -w SIZE
            out=$(ip netns exec st-priv2 timeout $((SECS + 30)) iperf3 -c 198.51.100.10 -u \
                -b "$rate" -l 1400 -t "$SECS" -J $rev $w | python3 -c 'import json, sys
s = json.load(sys.stdin)["end"]["sum"]
rx = s["bits_per_second"] * (1 - s["lost_percent"] / 100)  # what arrived
print("%.0f %.2f %d" % (rx / 1e6, s["lost_percent"], s.get("out_of_order", 0)))')
            printf -v "UDP_${tag}${rev:+_R}${w:+_W}_${rate}" '%s' "$out"
            read -r d1 d2 d3 < <(udp_drops "$tag")
            echo "bench:   $tag: datagrams dropped: $((d1 - d0t)) at the TUN queues (not read in" \
                "time), $((d2 - d0g)) in the gateways' queues toward the tunnel, $((d3 - d0r)) at" \
                "the receiver's socket buffer"
        done
    done
    if [[ $tag == tun ]]; then udp_frames "$snap1" "$snap2"; fi
    for c in 1 20; do
        echo "bench: $tag: dnsperf -c $c, ${SECS}s against 198.51.100.53 (st-priv2 -> resolver)"
        r=$(ip netns exec st-priv2 timeout $((SECS + 30)) dnsperf -s 198.51.100.53 -d "$DNS_QUERIES" \
            -l "$SECS" -c "$c" -q 500 -t 2 2>&1 | python3 -c 'import re, sys
t = sys.stdin.read()
q = re.search(r"Queries per second:\s+([0-9.]+)", t)
l = re.search(r"Queries lost:\s+\d+ \(([0-9.]+)%\)", t)
a = re.search(r"Average Latency \(s\):\s+([0-9.]+)", t)
print("%.0f %s %s" % (float(q.group(1)) if q else 0, l.group(1) if l else "n/a",
                    "%.2f" % (float(a.group(1)) * 1000) if a else "n/a"))')
        printf -v "DNS_${tag}_${c}" '%s' "$r"
    done
    kill_iperf_keep
}
iperf_server_keep() {
    ip netns exec "$1" iperf3 -s -B "$2" -p 5201 >/dev/null 2>&1 &
    IPERF_KEEP=$!
    pids+=("$IPERF_KEEP")
    wait_listen "$1" "$2:5201"
}
kill_iperf_keep() { kill "$IPERF_KEEP" 2>/dev/null || true; wait "$IPERF_KEEP" 2>/dev/null || true; }
UDP_RATES=${BENCH_UDP_RATES:-200M 1G}
# The receiving iperf3 (default 208 KiB socket buffer, about 90 datagrams) loses what arrives
# while it waits for a CPU that five busy processes share: the rate is measured again at
# UDP_WRATE with UDP_WBUF socket buffers on both ends (net.core.rmem_max/wmem_max raised for
# the run and restored), what the path carries when the application's buffer is not the limit
UDP_WRATE=${BENCH_UDP_WRATE:-1G}
UDP_WBUF=${BENCH_UDP_WBUF:-4M}
DNS_QUERIES=$LAB_DIR/bench-dns.txt
for ((i = 0; i < 100; i++)); do echo "host.corp.test A"; done >"$DNS_QUERIES"
if [[ $MODE == all || $MODE == udp ]]; then
    RMEM0=$(sysctl -n net.core.rmem_max) WMEM0=$(sysctl -n net.core.wmem_max)
    sysctl -qw net.core.rmem_max=$((8 << 20)) net.core.wmem_max=$((8 << 20))
    udp_bench tun
    kernel_routes add
    routed=1
    udp_bench kern
    kernel_routes del
    routed=0
    sysctl -qw "net.core.rmem_max=$RMEM0" "net.core.wmem_max=$WMEM0"
    RMEM0=""
    printf '\n%-44s %10s %8s %10s %9s\n' "UDP site 2 -> site 1 (iperf3 -u, 1400 B)" "rx Mbit/s" "loss %" \
        "reordered" "vs kernel"
    for rate in $UDP_RATES; do
        for rev in "" _R _W _R_W; do
            v="UDP_kern${rev}_${rate}"
            [[ -n ${!v:-} ]] || continue
            read -r km kl ko <<<"${!v}"
            v="UDP_tun${rev}_${rate}"
            read -r tm tl to <<<"${!v}"
            how="$rate${rev/_R/ (-R)}"
            how=${how/_W/ -w $UDP_WBUF}
            printf '%-44s %10s %8s %10s %9s\n' "kernel routing, offered $how" \
                "$km" "$kl" "$ko" 1.00
            printf '%-44s %10s %8s %10s %9s\n' \
                "subtunnel (connect-udp), offered $how" "$tm" "$tl" "$to" \
                "$(ratio "$tm" "$km")"
        done
    done
    printf '\n%-44s %10s %8s %10s %9s\n' "DNS (dnsperf, A queries, resolver .53)" "q/s" "lost %" \
        "avg ms" "vs kernel"
    for c in 1 20; do
        v="DNS_kern_$c"
        read -r kq kl ka <<<"${!v}"
        v="DNS_tun_$c"
        read -r tq tl ta <<<"${!v}"
        printf '%-44s %10s %8s %10s %9s\n' "kernel routing, $c client sockets" "$kq" "$kl" "$ka" 1.00
        printf '%-44s %10s %8s %10s %9s\n' "subtunnel, $c client sockets" "$tq" "$tl" "$ta" \
            "$(ratio "$tq" "$kq")"
    done
fi
# Flows: st-flowgen (tools/flowgen.c) between st-priv and a server on 8 ports of
# 203.0.113.10 in st-priv2; a flow is set up when the server's first byte arrived.
FLOWGEN=$BUILD_DIR/st-flowgen
FLOW_PORTS=8
fd_count() { find "/proc/$(cat "$LAB_DIR/run/$1.pid")/fd" -mindepth 1 2>/dev/null | wc -l; }
# flowgen_ports MODE PER PARALLEL TIMEOUT IN OUT: one `st-flowgen MODE` per server port in
# FLOWGEN_NS (st-priv), each with PER flows and PARALLEL in flight, stdin from IN, output
# in OUT<k>; FLOWGEN_PIDS gets their pids.
FLOWGEN_NS=st-priv
flowgen_ports() {
    local k
    FLOWGEN_PIDS=()
    for ((k = 0; k < FLOW_PORTS; k++)); do
        ip netns exec "$FLOWGEN_NS" timeout "$4" "$FLOWGEN" "$1" 203.0.113.10 $((7002 + k)) 1 \
            --count "$2" --parallel "$3" <"$5" >"$6$k" 2>&1 &
        FLOWGEN_PIDS+=($!)
    done
}
# flowgen_sum WORD ASKED FILE...: adds up the "WORD K/N rate R/s p50 A ms p99 B ms" lines
# of several st-flowgen processes: K summed, setups/s over the slowest one's time, the
# worst p50 and p99.
flowgen_sum() {
    local word=$1 n=$2
    shift 2
    cat "$@" | awk -v n="$n" -v w="$word" '
        $1 == w { split($2, h, "/"); held += h[1]; r = $4 + 0
                  if (r > 0 && h[1] / r > t) t = h[1] / r
                  if ($6 > p50) p50 = $6
                  if ($9 > p99) p99 = $9 }
        END { rate = 0; if (t > 0) rate = held / t
              printf "%s %d/%d rate %d/s p50 %s ms p99 %s ms\n", w, held, n, rate, p50 + 0, p99 + 0 }'
}
# cpu_ticks [NAME...]: busy clock ticks of the whole machine (all CPUs, /proc/stat), or
# the user+system ticks of the named lab daemons, one number per name
cpu_ticks() {
    local n pid
    if (($# == 0)); then
        awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
        return
    fi
    for n in "$@"; do
        pid=$(cat "$LAB_DIR/run/$n.pid" 2>/dev/null) || { echo 0; continue; }
        sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ t = $12 + $13 } END { print t + 0 }'
    done
}
# flows_churn TAG: CHURN short flows (connect, first byte, reset), one st-flowgen per
# server port so that the generator (one core per process at most) is not the limit;
# sets CHURN_<TAG> to "setups/s p99-ms done" and prints the CPU time each flow cost
# the whole machine (endpoints and routing included) and each daemon.
flows_churn() {
    local tag=$1 out per tmp m0 m1 d0 d1 hz
    per=$(((CHURN + FLOW_PORTS - 1) / FLOW_PORTS))
    tmp=$(mktemp -d)
    echo "bench: $tag: $CHURN short TCP flows $FLOWGEN_NS -> 203.0.113.10 (256 in flight, $FLOW_PORTS processes)"
    m0=$(cpu_ticks) d0=$(cpu_ticks gateway edge gateway2)
    flowgen_ports churn "$per" $((256 / FLOW_PORTS)) 300 /dev/null "$tmp/out"
    wait "${FLOWGEN_PIDS[@]}" 2>/dev/null || true
    m1=$(cpu_ticks) d1=$(cpu_ticks gateway edge gateway2)
    out=$(flowgen_sum flows $((per * FLOW_PORTS)) "$tmp"/out*)
    rm -rf "$tmp"
    echo "bench:   $out"
    hz=$(getconf CLK_TCK)
    # shellcheck disable=SC2086 # d0 and d1 are lists of numbers
    echo "bench:   CPU us per flow: $(echo $m0 $m1 $d0 $d1 | awk -v n=$((per * FLOW_PORTS)) \
        -v hz="$hz" '{ u = 1e6 / hz / n
            printf "machine %.0f, reach gateway %.0f, edge %.0f, expose gateway %.0f",
                ($2 - $1) * u, ($6 - $3) * u, ($7 - $4) * u, ($8 - $5) * u }')"
    printf -v "CHURN_$tag" '%s' "$(sed -n 's/^flows \([0-9]*\)\/[0-9]* rate \([0-9]*\)\/s .* p99 \([0-9.]*\) ms$/\2 \3 \1/p' <<<"$out")"
}
# flows_hold TAG: IDLE_FLOWS idle flows held open; sets FLOWS_<TAG> to the summary and, for
# the tunnel, the daemons' RSS per flow and the gateways' fd counts before and during. One
# st-flowgen per server port holds its share, so no process needs more than ~13k fds at
# 100000 flows (a container without CAP_SYS_RESOURCE may not raise RLIMIT_NOFILE past its
# hard limit). The summary adds up the processes: held/asked, setups/s over the slowest
# one's time, and the slowest port's p50 and p99.
flows_hold() {
    local tag=$1 n=$IDLE_FLOWS per out fifo i e0 g0 h0 f0 f1
    per=$(((n + FLOW_PORTS - 1) / FLOW_PORTS))
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    e0=$(rss_kib edge) g0=$(rss_kib gateway) h0=$(rss_kib gateway2)
    f0="$(fd_count gateway)/$(fd_count gateway2)"
    echo "bench: $tag: $n idle TCP flows st-priv -> 203.0.113.10 ($FLOW_PORTS processes)"
    flowgen_ports hold "$per" $((512 / FLOW_PORTS)) 900 "$fifo" "$fifo.out"
    exec {keep}>"$fifo"
    for ((i = 0; i < 1200; i++)); do
        (($(cat "$fifo".out* 2>/dev/null | grep -c '^held') == FLOW_PORTS)) && break
        sleep 0.5
    done
    out=$(flowgen_sum held "$n" "$fifo".out*)
    echo "bench:   $out"
    printf -v "FLOWS_$tag" '%s' "$out"
    if [[ $tag == tun ]]; then
        sleep 2
        FLOWS_EDGE=$((($(rss_kib edge) - e0) * 1024 / n))
        FLOWS_GW=$((($(rss_kib gateway) - g0) * 1024 / n))
        FLOWS_GW2=$((($(rss_kib gateway2) - h0) * 1024 / n))
        f1="$(fd_count gateway)/$(fd_count gateway2)"
        FLOWS_FD="$f0 -> $f1"
    fi
    exec {keep}>&-
    wait "${FLOWGEN_PIDS[@]}" 2>/dev/null || true
    rm -f "$fifo" "$fifo".out*
}
IDLE_FLOWS=${BENCH_IDLE_FLOWS:-10000}
CHURN=${BENCH_CHURN:-50000}
FLOWS_tun="" FLOWS_kern="" CHURN_tun="" CHURN_kern="" CHURN_local=""
if [[ $MODE == all || $MODE == flows ]]; then
    [[ -x $FLOWGEN ]] || { echo "bench: $FLOWGEN missing (build first)" >&2; exit 1; }
    for ((k = 0; k < FLOW_PORTS; k++)); do # one server per port: fds per process (above)
        ip netns exec st-priv2 "$FLOWGEN" serve 203.0.113.10 $((7002 + k)) 1 >/dev/null 2>&1 &
        pids+=($!)
        wait_listen st-priv2 "203.0.113.10:$((7002 + k))"
    done
    # the machine's ceiling: the same generators and servers with nothing between them
    FLOWGEN_NS=st-priv2 flows_churn local
    flows_churn tun
    flows_hold tun
    kernel_routes add
    routed=1
    flows_churn kern
    flows_hold kern
    kernel_routes del
    routed=0
    printf '\n%-44s %s\n' "TCP flows, site 1 -> site 2" "set up / asked, setups/s, first-byte latency"
    printf '%-44s %s\n' "no routing (both ends in st-priv2), short" "$CHURN_local (rate p99-ms done)"
    printf '%-44s %s\n' "kernel routing, short flows" "$CHURN_kern (rate p99-ms done)"
    printf '%-44s %s\n' "subtunnel, short flows" "$CHURN_tun (rate p99-ms done)"
    printf '%-44s %s\n' "kernel routing, idle flows" "$FLOWS_kern"
    printf '%-44s %s\n' "subtunnel (reach -> edge -> expose), idle" "$FLOWS_tun"
    printf 'bytes per idle flow: edge %s, reach gateway %s, expose gateway %s; gateway fds (reach/expose) %s\n' \
        "$FLOWS_EDGE" "$FLOWS_GW" "$FLOWS_GW2" "$FLOWS_FD"
fi
if [[ $MODE == latency ]]; then
    # shellcheck source=scripts/bench-latency.sh
    source "$REPO/scripts/bench-latency.sh"
fi
if [[ $MODE == fleet ]]; then
    # shellcheck source=scripts/bench-fleet.sh
    source "$REPO/scripts/bench-fleet.sh"
fi
if [[ $MODE =~ ^(udp|flows|fleet)$ ]]; then exit 0; fi

if [[ $MODE != tunnel ]]; then nginx_origin; fi
if [[ $MODE == ingress ]]; then
    ingress_bench
    kernel_routes add
    routed=1
    ingress_direct
    kernel_routes del
    routed=0
fi
if [[ $MODE == all ]]; then ingress_bench; fi
if [[ $MODE != ingress ]]; then
ip netns exec st-client socat -b 262144 TCP-LISTEN:15201,bind=127.0.0.1,fork,reuseaddr \
    "PROXY:198.18.0.1:198.51.100.10:5201,proxyport=8080,proxyauth=lab:$ACCESS_TOKEN" &
pids+=($!)
wait_listen st-client 127.0.0.1:15201
echo "bench: ${SECS}s iperf3 through the CONNECT proxy, socat forwarder (st-client -> socat -> edge -> gateway -> st-priv)"
connect=$(median_of connect_run)
# the same path to the private host's IPv6 address (issue 23): CONNECT [2001:db8:51::10]:5201
ip netns exec st-client socat -b 262144 TCP-LISTEN:15206,bind=127.0.0.1,fork,reuseaddr \
    "PROXY:198.18.0.1:[2001:db8:51::10]:5201,proxyport=8080,proxyauth=lab:$ACCESS_TOKEN" &
pids+=($!)
wait_listen st-client 127.0.0.1:15206
echo "bench: ${SECS}s iperf3 through the CONNECT proxy to [2001:db8:51::10], socat forwarder"
connect6=$(median_of connect_run 2001:db8:51::10 15206)
(umask 077 # the lab's access token
    printf 'strict_chain\nquiet_mode\ntcp_read_time_out 15000\ntcp_connect_time_out 8000\n[ProxyList]\nhttp 198.18.0.1 8080 lab %s\n' \
        "$ACCESS_TOKEN" >"$LAB_DIR/bench-proxychains.conf")
echo "bench: ${SECS}s iperf3 through the CONNECT proxy, proxy-aware client (proxychains4; st-client -> edge -> gateway -> st-priv)"
connect_pc=$(median_of connect_pc_run)
relay_setup
relay_connect plain
rconnect=$RELAY_GBPS
relay_connect tls
rconnect_tls=$RELAY_GBPS
transparent="" transparent16="" ktransparent16="" ovpn16=""
if ((sites >= 2)); then
    echo "bench: ${SECS}s iperf3 site to site (st-priv -> reach gw -> edge -> expose gw -> st-priv2)"
    BULK_RSS0="$(rss_kib edge) $(rss_kib gateway) $(rss_kib gateway2)"
    bulk_peaks=$(mktemp)
    rss_sampler "$bulk_peaks" edge gateway gateway2 &
    bulk_sampler=$!
    transparent=$(median_of iperf_to st-priv2 203.0.113.10 st-priv 203.0.113.10)
    kill "$bulk_sampler" 2>/dev/null || true
    wait "$bulk_sampler" 2>/dev/null || true
    BULK_RSS1=$(cat "$bulk_peaks")
    rm -f "$bulk_peaks"
    echo "bench: ${SECS}s iperf3 -P 16 site to site"
    transparent16=$(median_of iperf_to st-priv2 203.0.113.10 st-priv 203.0.113.10 16)
    relay_s2s plain
    rs2s=$RELAY_GBPS
    relay_s2s tls
    rs2s_tls=$RELAY_GBPS
fi

ovpn=""
if ((sites >= 2)); then
    openvpn_up
    echo "bench: ${SECS}s iperf3 over OpenVPN (st-priv -> bastion -> OpenVPN UDP -> bastion2 -> st-priv2)"
    ovpn=$(median_of iperf_to st-priv2 203.0.113.10 st-priv 203.0.113.10)
    echo "bench: ${SECS}s iperf3 -P 16 over OpenVPN"
    ovpn16=$(median_of iperf_to st-priv2 203.0.113.10 st-priv 203.0.113.10 16)
    openvpn_down
fi

kernel_routes add
routed=1
if [[ $MODE == all ]]; then ingress_direct; fi
echo "bench: ${SECS}s iperf3 over kernel routing (st-client -> edge -> bastion -> st-priv)"
kconnect=$(median_of iperf_to st-priv 198.51.100.10 st-client 198.51.100.10)
ktransparent=""
if ((sites >= 2)); then
    echo "bench: ${SECS}s iperf3 over kernel routing (st-priv -> bastion -> edge -> bastion2 -> st-priv2)"
    ktransparent=$(median_of iperf_to st-priv2 203.0.113.10 st-priv 203.0.113.10)
    echo "bench: ${SECS}s iperf3 -P 16 over kernel routing, site 1 -> site 2"
    ktransparent16=$(median_of iperf_to st-priv2 203.0.113.10 st-priv 203.0.113.10 16)
fi
kernel_routes del
routed=0

fi

if [[ $MODE != ingress ]]; then
vs_ovpn() { if [[ -n $ovpn ]]; then ratio "$1" "$ovpn"; else echo -; fi; }
mib() { python3 -c "print('%.0f' % ($1 / 1024))"; }
# row PATH GBPS VS_KERNEL VS_OVPN [FLOWS/S] [B/IDLE FLOW] [PEAK RSS]
row() {
    printf '%-48s %7s %9s %10s %16s %15s %16s\n' "$1" "$2" "$3" "$4" "${5:--}" "${6:--}" "${7:--}"
}
churn_col() { if [[ -n $1 ]]; then read -r r p _ <<<"$1"; echo "$r (p99 $p ms)"; fi; }
printf '\n%-48s %7s %9s %10s %16s %15s %16s\n' "path (iperf3, TCP)" Gbit/s "vs kernel" \
    "vs OpenVPN" "flows/s" "B/idle flow" "peak RSS MiB"
if [[ -n $transparent ]]; then
    row "kernel routing, site 1 -> site 2" "$ktransparent" 1.00 "$(vs_ovpn "$ktransparent")" \
        "$(churn_col "$CHURN_kern")"
    row "OpenVPN 2.6 UDP AES-128-GCM, site 1 -> site 2" "$ovpn" "$(ratio "$ovpn" "$ktransparent")" 1.00
    rss_col=-
    if [[ -n ${BULK_RSS1:-} ]]; then
        read -r pe pg ph <<<"$BULK_RSS1"
        rss_col="$(mib "$pe")/$(mib "$pg")/$(mib "$ph")"
    fi
    idle_col=-
    if [[ -n ${FLOWS_EDGE:-} ]]; then idle_col="$FLOWS_EDGE/$FLOWS_GW/$FLOWS_GW2"; fi
    row "subtunnel site to site (reach -> edge -> expose)" "$transparent" \
        "$(ratio "$transparent" "$ktransparent")" "$(vs_ovpn "$transparent")" \
        "$(churn_col "$CHURN_tun")" "$idle_col" "$rss_col"
    row "kernel routing, site 1 -> site 2, 16 flows" "$ktransparent16" 1.00 \
        "$(ratio "$ktransparent16" "$ovpn16")"
    row "OpenVPN, site 1 -> site 2, 16 flows" "$ovpn16" "$(ratio "$ovpn16" "$ktransparent16")" 1.00
    row "subtunnel site to site, 16 flows" "$transparent16" \
        "$(ratio "$transparent16" "$ktransparent16")" "$(ratio "$transparent16" "$ovpn16")"
    row "relay floor: 3 socat relays, plain TCP, 1 -> 2" "$rs2s" \
        "$(ratio "$rs2s" "$ktransparent")" "$(vs_ovpn "$rs2s")"
    row "relay floor: 3 socat relays, TLS between them" "$rs2s_tls" \
        "$(ratio "$rs2s_tls" "$ktransparent")" "$(vs_ovpn "$rs2s_tls")"
fi
row "kernel routing, client -> private host" "$kconnect" 1.00 "$(vs_ovpn "$kconnect")"
row "subtunnel CONNECT, proxy-aware client" "$connect_pc" "$(ratio "$connect_pc" "$kconnect")" \
    "$(vs_ovpn "$connect_pc")"
row "subtunnel CONNECT, via a socat forwarder" "$connect" "$(ratio "$connect" "$kconnect")" \
    "$(vs_ovpn "$connect")"
row "subtunnel CONNECT, socat forwarder, IPv6 target" "$connect6" \
    "$(ratio "$connect6" "$kconnect")" "$(vs_ovpn "$connect6")"
row "relay floor: 2 socat relays, plain TCP" "$rconnect" "$(ratio "$rconnect" "$kconnect")" \
    "$(vs_ovpn "$rconnect")"
row "relay floor: 2 socat relays, TLS between them" "$rconnect_tls" \
    "$(ratio "$rconnect_tls" "$kconnect")" "$(vs_ovpn "$rconnect_tls")"
echo "IPv6 target / IPv4 target, one CONNECT flow through the socat forwarder: $(ratio "$connect6" "$connect")"
echo "(B/idle flow and peak RSS: edge/reach gateway/expose gateway; flows/s: short flows," \
    "first-byte latency; relay floor: socat -b 262144 in st-bastion(s) and st-edge, kernel TCP" \
    "on every leg, TLS 1.3 AES-128-GCM)"
if [[ -n ${BULK_RSS1:-} ]]; then
    read -r b0e b0g b0h <<<"$BULK_RSS0"
    read -r pe pg ph <<<"$BULK_RSS1"
    printf 'RSS growth while the site-to-site run moved %s GiB: edge +%s MiB, reach gateway +%s MiB, expose gateway +%s MiB\n' \
        "$(python3 -c "print('%.1f' % ($transparent * $SECS * $REPS / 8 / 1.073741824))")" \
        "$(mib $((pe - b0e)))" "$(mib $((pg - b0g)))" "$(mib $((ph - b0h)))"
fi
fi
if [[ $MODE != tunnel ]]; then
    printf '\n%-52s %9s %9s %9s %7s\n' "HTTP (h2load, $REQS requests, nginx origin)" req/s "p99 ms" "vs direct" 2xx
    printf '%-52s %9s %9s %9s %7s\n' "direct to origin, HTTP/1.1, 50 conns" "$DIR_H1_RPS" \
        "$DIR_H1_P99" 1.00 "$DIR_H1_OK"
    printf '%-52s %9s %9s %9s %7s\n' "ingress :80, HTTP/1.1, 50 conns" "$ING_H1_RPS" "$ING_H1_P99" \
        "$(ratio "$ING_H1_RPS" "$DIR_H1_RPS")" "$ING_H1_OK"
    printf '%-52s %9s %9s %9s %7s\n' "direct to origin, HTTP/1.1, 500 conns" "$DIR_H500_RPS" \
        "$DIR_H500_P99" 1.00 "$DIR_H500_OK"
    printf '%-52s %9s %9s %9s %7s\n' "ingress :443, HTTP/2, 50 conns x 10 streams" "$ING_H2_RPS" \
        "$ING_H2_P99" "$(ratio "$ING_H2_RPS" "$DIR_H500_RPS")" "$ING_H2_OK"
    printf 'RSS during the HTTP/2 run: edge %s KiB, gateway %s KiB\n' "$ING_RSS_EDGE" "$ING_RSS_GW"
fi
echo
for name in edge gateway gateway2; do
    pid=$(cat "$LAB_DIR/run/$name.pid" 2>/dev/null || true)
    [[ -n $pid ]] || continue
    hwm=$(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null || true)
    printf 'peak RSS %-9s %s\n' "$name" "${hwm:-n/a}"
done
