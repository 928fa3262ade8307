#!/usr/bin/env bash
# lab.sh: network-namespace lab for subtunnel (see docs/operations.md and the
# "lab" section of the design; addresses and names are a fixed contract).
#
#   lab.sh up [--edges N] [--sites N]   build namespaces, start edge(s), gateway(s), httpd
#   lab.sh down                         stop everything, remove namespaces (idempotent)
#   lab.sh env                          print KEY=value lines (source them)
#   lab.sh status                       what runs, what is registered
#   lab.sh kill-gateway [N]             SIGKILL site N's gateway (default 1)
#   lab.sh restart-gateway [N]          stop and start site N's gateway, wait for registration
#   lab.sh kill-edge [N]                SIGKILL edge N (default 1)
#   lab.sh restart-edge [N]             start edge N again (stopping it first if it runs)
#   lab.sh kill-registry                (--edges 3) SIGKILL the fleet registry (redis-server)
#   lab.sh restart-registry             (--edges 3) start it again, empty; wait for PING
#   lab.sh set-srv "N..."               (LAB_EDGE_SRV=1) SRV now lists these edges; restarts dnsmasq
#                                       ("6:N": edge N by its IPv6-only name edgeN-v6.lab.test)
#
# Environment: BUILD_DIR (default <repo>/build), LAB_DIR (default <repo>/lab),
#   LAB_NO_DAEMONS=1  build only the network (no binaries needed)
#   LAB_BAD_TOKEN=1   give site 1's gateway a wrong secret (do not wait for registration)
#   LAB_TUN_MTU=N     the gateways' TUN MTU (default 1500)
#   LAB_TUN_BATCH=false  the gateways read their TUN one packet per system call (tun.batch-reads)
#   LAB_WAIT_SECS     bound for readiness waits (default 30)
#   LAB_EDGE_EXTRA_YAML / LAB_GATEWAY_EXTRA_YAML  text appended to the generated configs
#   LAB_GATEWAY_INGRESS_YAML  replaces site 1's `ingress:` block (default: the lab contract)
#   LAB_INGRESS_EXTRA_RULES   rules (YAML list items) added before the lab's catch-all
#   LAB_EDGE_HOSTNAMES        site 1's hostnames at the edge (default "app.lab.test, ws.lab.test")
#   LAB_EDGE_SRV=1    gateways find the edges by DNS SRV (_subtunnel._tcp.lab.test) from a
#                     dnsmasq in st-edge (192.0.2.1:53) instead of a static list
#   LAB_USER, LAB_GROUP  the unprivileged user and group the daemons switch to once started
#                     (`user:`/`group:`; default nobody/nogroup); LAB_USER=none keeps them root
#
# --edges 3 (issue 22): st-edge3 and st-registry (redis-server on 192.0.2.50:6379, password
# in LAB_DIR/registry.secret); all three edges use the registry (edge-id lab-edge-N,
# relay-listen 192.0.2.N:7845). Site 1's gateway dials edges 1 and 2, site 2's edge 3.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build}
LAB_DIR=${LAB_DIR:-$REPO/lab}
LAB_WAIT_SECS=${LAB_WAIT_SECS:-30}
LAB_USER=${LAB_USER:-nobody}
LAB_GROUP=${LAB_GROUP:-nogroup}
EDGE_BIN=$BUILD_DIR/subtunnel-edge
GW_BIN=$BUILD_DIR/subtunnel-gateway
HTTPD=$REPO/tests/integration/httpd.py
RUN=$LAB_DIR/run
LOGS=$LAB_DIR/logs
ALL_NS=(st-client st-edge st-edge2 st-edge3 st-registry st-bastion st-priv st-bastion2 st-priv2)
REGISTRY_ADDR=192.0.2.50
REGISTRY_PORT=6379
RELAY_PORT=7845 # relay-listen of edge N: 192.0.2.N:7845 (fleet CA in LAB_DIR/certs/fleet)

say() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_exists() { [[ -e /var/run/netns/$1 ]]; }

usage() {
    sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------- network

mkns() {
    ip netns add "$1"
    nsx "$1" ip link set lo up
}

# veth NS_A IF_A NS_B IF_B: a veth pair created directly inside the namespaces
veth() {
    ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
    ip -n "$1" link set "$2" up
    ip -n "$3" link set "$4" up
}

forwarding() {
    nsx "$1" sysctl -qw net.ipv4.ip_forward="$2"
    nsx "$1" sysctl -qw net.ipv6.conf.all.forwarding="$2"
}

# addr6 NS DEV ADDR/PREFIX: an IPv6 address usable at once (no duplicate address detection)
addr6() { ip -n "$1" -6 addr add "$3" dev "$2" nodad; }

build_network() {
    local edges=$1 sites=$2
    mkns st-client
    mkns st-edge
    mkns st-bastion
    mkns st-priv

    # st-edge holds two bridges: br-acc (198.18.0.0/24, users) and br-tun
    # (192.0.2.0/24, tunnels); second edge and bastions plug into them.
    # Bridging is layer 2 only: the edge's ip_forward stays off.
    ip -n st-edge link add br-acc type bridge forward_delay 0
    ip -n st-edge link add br-tun type bridge forward_delay 0
    ip -n st-edge link set br-acc up
    ip -n st-edge link set br-tun up
    ip -n st-edge addr add 198.18.0.1/24 dev br-acc
    ip -n st-edge addr add 192.0.2.1/24 dev br-tun
    addr6 st-edge br-acc 2001:db8:18::1/64
    addr6 st-edge br-tun 2001:db8:2::1/64
    forwarding st-edge 0

    veth st-client eth0 st-edge p-client
    ip -n st-edge link set p-client master br-acc
    ip -n st-client addr add 198.18.0.10/24 dev eth0
    ip -n st-client route add default via 198.18.0.1
    addr6 st-client eth0 2001:db8:18::10/64
    ip -n st-client -6 route add default via 2001:db8:18::1
    forwarding st-client 0

    site_network st-bastion st-priv p-bastion 192.0.2.10 198.51.100 "10 11 53" 2001:db8:2::10 \
        2001:db8:51 "10 11"
    local n
    for ((n = 2; n <= edges; n++)); do
        edge_network "$n"
    done
    if ((edges >= 3)); then
        # the fleet registry: redis-server on the tunnel network only
        mkns st-registry
        veth st-registry eth0 st-edge p-registry
        ip -n st-edge link set p-registry master br-tun
        ip -n st-registry addr add "$REGISTRY_ADDR/24" dev eth0
        forwarding st-registry 0
    fi
    if ((sites >= 2)); then
        mkns st-bastion2
        mkns st-priv2
        site_network st-bastion2 st-priv2 p-bastion2 192.0.2.20 203.0.113 "10" 2001:db8:2::20 \
            2001:db8:113 "10"
    fi
}

# edge_network N: st-edgeN (N >= 2) with 198.18.0.N on br-acc and 192.0.2.N on br-tun
edge_network() {
    local n=$1 ns=st-edge$1
    mkns "$ns"
    veth "$ns" acc0 st-edge "p-edge${n}acc"
    veth "$ns" tun0 st-edge "p-edge${n}tun"
    ip -n st-edge link set "p-edge${n}acc" master br-acc
    ip -n st-edge link set "p-edge${n}tun" master br-tun
    ip -n "$ns" addr add "198.18.0.$n/24" dev acc0
    ip -n "$ns" addr add "192.0.2.$n/24" dev tun0
    addr6 "$ns" acc0 "2001:db8:18::$n/64"
    addr6 "$ns" tun0 "2001:db8:2::$n/64"
    forwarding "$ns" 0
}

# site_network BASTION PRIV BRIDGE_PORT TUN_ADDR LAN_PREFIX "HOSTS" TUN_ADDR6 LAN6_PREFIX "HOSTS6"
# (the private hosts route the gateway's virtual-pool6 back through the bastion by default)
site_network() {
    local b=$1 p=$2 port=$3 tunaddr=$4 lan=$5 hosts=$6 tunaddr6=$7 lan6=$8 hosts6=$9 h
    veth "$b" eth0 st-edge "$port"
    ip -n st-edge link set "$port" master br-tun
    ip -n "$b" addr add "$tunaddr/24" dev eth0
    ip -n "$b" route add default via 192.0.2.1
    veth "$b" lan0 "$p" eth0
    ip -n "$b" addr add "$lan.1/24" dev lan0
    forwarding "$b" 1
    for h in $hosts; do
        ip -n "$p" addr add "$lan.$h/24" dev eth0
    done
    ip -n "$p" route add default via "$lan.1"
    addr6 "$b" eth0 "$tunaddr6/64"
    ip -n "$b" -6 route add default via 2001:db8:2::1
    addr6 "$b" lan0 "$lan6::1/64"
    for h in $hosts6; do
        addr6 "$p" eth0 "$lan6::$h/64"
    done
    ip -n "$p" -6 route add default via "$lan6::1"
    forwarding "$p" 0
}

# ---------------------------------------------------------------- state and configs
# shellcheck source=scripts/lab-config.sh
source "$REPO/scripts/lab-config.sh"

# ---------------------------------------------------------------- processes

# start NAME NS LOG CMD...: run CMD in NS detached, pid in $RUN/NAME.pid.
# `ip netns exec` and `setsid` exec the command, so $! is the daemon's pid.
start() {
    local name=$1 ns=$2 log=$3
    shift 3
    setsid ip netns exec "$ns" "$@" </dev/null >>"$log" 2>&1 &
    echo $! >"$RUN/$name.pid"
}

# alive PID: running and not a zombie (some containers' init never reaps)
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

pid_of() {
    local f=$RUN/$1.pid pid
    [[ -s $f ]] || return 1
    pid=$(cat "$f")
    alive "$pid" || return 1
    echo "$pid"
}

# stop_pid PID: TERM, bounded wait, then KILL
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_name() {
    local pid
    if pid=$(pid_of "$1"); then
        stop_pid "$pid"
    fi
    rm -f "$RUN/$1.pid"
}

# listening NS ADDR:PORT
listening() {
    nsx "$1" ss -Hltn "src $2" 2>/dev/null | grep -q .
}

# wait_until SECS DESC CMD...: poll CMD every 0.2 s, at most SECS seconds
wait_until() {
    local secs=$1 desc=$2 i n
    shift 2
    n=$((secs * 5))
    for ((i = 0; i < n; i++)); do
        if "$@"; then return 0; fi
        sleep 0.2
    done
    say "timed out after ${secs}s waiting for $desc"
    return 1
}

alive_or_die() {
    local name=$1 log=$2
    if ! pid_of "$name" >/dev/null; then
        say "$name exited early; last lines of $log:"
        tail -n 20 "$log" >&2 || true
        return 1
    fi
}

# registered_since LOG OFFSET: a "registered" line appeared after byte OFFSET
registered_since() {
    tail -c +"$(($2 + 1))" "$1" 2>/dev/null | grep -vi 'not registered' |
        grep -Eq '(^|[^[:alpha:]])registered'
}

# edge_ns N / edge_name N: st-edge, st-edge2, st-edge3 / edge, edge2, edge3
edge_ns() { if (($1 == 1)); then echo st-edge; else echo "st-edge$1"; fi; }
edge_name() { if (($1 == 1)); then echo edge; else echo "edge$1"; fi; }

start_edge() {
    local n=$1 ns name off
    ns=$(edge_ns "$n") name=$(edge_name "$n")
    touch "$LOGS/$name.log"
    off=$(stat -c %s "$LOGS/$name.log")
    start "$name" "$ns" "$LOGS/$name.log" "$EDGE_BIN" --config "$LAB_DIR/$name.yaml"
    wait_until "$LAB_WAIT_SECS" "$name listening" edge_ready "$n" ||
        { alive_or_die "$name" "$LOGS/$name.log"; return 1; }
    # with the fleet registry running: wait until the edge is connected to it
    if grep -q '^registry:' "$LAB_DIR/$name.yaml" && pid_of registry >/dev/null; then
        wait_until "$LAB_WAIT_SECS" "$name connected to the registry" \
            since_has "$LOGS/$name.log" "$off" 'registry: (connected to|Redis at .* reachable again)' ||
            { tail -n 20 "$LOGS/$name.log" >&2; return 1; }
    fi
    say "$name running in $ns (pid $(cat "$RUN/$name.pid")), log $LOGS/$name.log"
}

edge_ready() {
    local ns name
    ns=$(edge_ns "$1") name=$(edge_name "$1")
    alive_or_die "$name" "$LOGS/$name.log" || exit 1
    listening "$ns" "192.0.2.$1:7844" && listening "$ns" "198.18.0.$1:8080" &&
        listening "$ns" "[2001:db8:18::$1]:8080"
}

# since_has LOG OFFSET REGEX: a line matching REGEX appeared after byte OFFSET
since_has() { tail -c +"$(($2 + 1))" "$1" 2>/dev/null | grep -Eq "$3"; }

# ---------------------------------------------------------------- fleet registry (--edges 3)

registry_url() { echo "redis://default:$1@$REGISTRY_ADDR:$REGISTRY_PORT"; }

# registry_cli ARGS...: redis-cli in st-registry, authenticated (the password goes through
# the environment, never on a command line or into a log)
registry_cli() {
    REDISCLI_AUTH=$(cat "$LAB_DIR/registry.secret") \
        nsx st-registry redis-cli --no-auth-warning -h "$REGISTRY_ADDR" -p "$REGISTRY_PORT" "$@"
}

registry_ready() {
    alive_or_die registry "$LOGS/registry.log" || exit 1
    [[ $(registry_cli ping 2>/dev/null) == PONG ]]
}

# start_registry: redis-server in st-registry, password required, nothing kept on disk
start_registry() {
    local pw
    pw=$(keep_secret "$LAB_DIR/registry.secret")
    mkdir -p "$LAB_DIR/redis"
    (
        umask 077
        printf '# generated by scripts/lab.sh\nrequirepass %s\n' "$pw" >"$LAB_DIR/redis/redis.conf"
    )
    start registry st-registry "$LOGS/registry.log" redis-server "$LAB_DIR/redis/redis.conf" \
        --bind "$REGISTRY_ADDR" --port "$REGISTRY_PORT" --save '' --appendonly no \
        --dir "$LAB_DIR/redis" --daemonize no --logfile '' --protected-mode yes
    wait_until "$LAB_WAIT_SECS" "redis-server answering PING on $REGISTRY_ADDR:$REGISTRY_PORT" \
        registry_ready || { tail -n 20 "$LOGS/registry.log" >&2; return 1; }
    say "registry (redis-server) running in st-registry on $REGISTRY_ADDR:$REGISTRY_PORT" \
        "(pid $(cat "$RUN/registry.pid")), log $LOGS/registry.log"
}

# start_gateway N [nowait]
start_gateway() {
    local n=$1 ns=st-bastion name=gateway off
    if ((n == 2)); then ns=st-bastion2 name=gateway2; fi
    touch "$LOGS/$name.log"
    off=$(stat -c %s "$LOGS/$name.log")
    start "$name" "$ns" "$LOGS/$name.log" "$GW_BIN" --config "$LAB_DIR/$name.yaml"
    if [[ ${2:-} == nowait ]]; then
        sleep 0.5
        alive_or_die "$name" "$LOGS/$name.log" || return 1
        say "$name started in $ns (not waiting for registration), log $LOGS/$name.log"
        return 0
    fi
    wait_until "$LAB_WAIT_SECS" "$name to log 'registered'" gateway_ready "$name" "$off" ||
        { alive_or_die "$name" "$LOGS/$name.log" || true; tail -n 20 "$LOGS/$name.log" >&2; return 1; }
    say "$name registered from $ns (pid $(cat "$RUN/$name.pid")), log $LOGS/$name.log"
}

gateway_ready() {
    alive_or_die "$1" "$LOGS/$1.log" || exit 1
    registered_since "$LOGS/$1.log" "$2"
}

# write_dnsmasq_conf "N...": SRV _subtunnel._tcp.lab.test -> edgeN.lab.test:7844 (TTL 2 s);
# "6:N" -> edgeN-v6.lab.test (AAAA 2001:db8:2::N only)
write_dnsmasq_conf() {
    local n
    {
        echo "# generated by scripts/lab.sh"
        echo "port=53"
        echo "listen-address=192.0.2.1"
        echo "bind-interfaces"
        echo "no-resolv"
        echo "no-hosts"
        echo "local-ttl=2"
        echo "auth-ttl=2"
        echo "host-record=edge1.lab.test,192.0.2.1,2"
        echo "host-record=edge2.lab.test,192.0.2.2,2"
        # IPv6 only (AAAA) names of the edges' tunnel listeners: set-srv "6:N"
        echo "host-record=edge1-v6.lab.test,2001:db8:2::1,2"
        echo "host-record=edge2-v6.lab.test,2001:db8:2::2,2"
        for n in $1; do
            if [[ $n == 6:* ]]; then
                echo "srv-host=_subtunnel._tcp.lab.test,edge${n#6:}-v6.lab.test,7844,10,10"
            else
                echo "srv-host=_subtunnel._tcp.lab.test,edge$n.lab.test,7844,10,10"
            fi
        done
    } >"$LAB_DIR/dnsmasq.conf"
}

dns_answers() {
    nsx st-edge dig +short +time=1 +tries=1 @192.0.2.1 SRV _subtunnel._tcp.lab.test 2>/dev/null |
        grep -q 7844
}

start_dns() {
    write_dnsmasq_conf "$1"
    local user=()
    if [[ $(id -u) -eq 0 ]]; then user=(--user=root); fi
    start dnsmasq st-edge "$LOGS/dnsmasq.log" /usr/sbin/dnsmasq --keep-in-foreground \
        --log-facility=- --conf-file="$LAB_DIR/dnsmasq.conf" "${user[@]}"
    wait_until 10 "dnsmasq answering on 192.0.2.1:53" dns_answers ||
        { tail -n 20 "$LOGS/dnsmasq.log" >&2; return 1; }
    say "dnsmasq in st-edge serves SRV _subtunnel._tcp.lab.test -> edges $1"
}

# The private resolver of site 1 (198.51.100.53:53, UDP and TCP): zone corp.test with
# host.corp.test, a few more names and big.corp.test, whose TXT answer (~3 KB) does not fit
# a UDP reply (truncated: dig retries over TCP).
write_priv_dns_conf() {
    local i
    {
        echo "# generated by scripts/lab.sh"
        echo "port=53"
        echo "listen-address=198.51.100.53"
        echo "bind-interfaces"
        echo "no-resolv"
        echo "no-hosts"
        echo "local=/corp.test/"
        echo "host-record=host.corp.test,198.51.100.10"
        echo "host-record=web.corp.test,198.51.100.10"
        echo "host-record=ws.corp.test,198.51.100.11"
        echo "host-record=dns.corp.test,198.51.100.53"
        for i in $(seq 1 24); do
            echo "txt-record=big.corp.test,\"record $i $(printf 'x%.0s' $(seq 1 110))\""
        done
    } >"$LAB_DIR/dns-priv.conf"
}

priv_dns_answers() {
    nsx st-priv dig +short +time=1 +tries=1 @198.51.100.53 host.corp.test 2>/dev/null |
        grep -q 198.51.100.10
}

start_priv_dns() {
    write_priv_dns_conf
    local user=()
    if [[ $(id -u) -eq 0 ]]; then user=(--user=root); fi
    start dns-priv st-priv "$LOGS/dns-priv.log" /usr/sbin/dnsmasq --keep-in-foreground \
        --log-facility=- --conf-file="$LAB_DIR/dns-priv.conf" "${user[@]}"
    wait_until 10 "dnsmasq answering on 198.51.100.53:53" priv_dns_answers ||
        { tail -n 20 "$LOGS/dns-priv.log" >&2; return 1; }
}

# hostport ADDR PORT: "ADDR:PORT", "[ADDR]:PORT" for IPv6
hostport() { if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }

start_httpd() {
    local name=$1 ns=$2 addr=$3 port=$4 dir=$5
    start "$name" "$ns" "$LOGS/$name.log" python3 "$HTTPD" "$addr" "$port" "$dir"
    wait_until "$LAB_WAIT_SECS" "$name on $(hostport "$addr" "$port")" httpd_ready "$@" ||
        { tail -n 20 "$LOGS/$name.log" >&2; return 1; }
}

# httpd_ready NAME NS ADDR PORT DIR: listening; a server that exited (bind failure while
# the namespace settles) is started again, its log kept
httpd_ready() {
    listening "$2" "$(hostport "$3" "$4")" && return 0
    if ! pid_of "$1" >/dev/null; then
        say "$1 exited: $(tail -n 1 "$LOGS/$1.log" 2>/dev/null); starting it again"
        start "$1" "$2" "$LOGS/$1.log" python3 "$HTTPD" "$3" "$4" "$5"
    fi
    return 1
}

# ---------------------------------------------------------------- commands

cmd_up() {
    local edges=1 sites=1
    while (($#)); do
        case $1 in
        --edges) edges=${2:?}; shift 2 ;;
        --sites) sites=${2:?}; shift 2 ;;
        *) usage ;;
        esac
    done
    [[ $edges =~ ^[123]$ && $sites =~ ^[12]$ ]] || die "--edges takes 1, 2 or 3; --sites 1 or 2"
    if ((edges == 3)) && [[ ${LAB_EDGE_SRV:-0} == 1 ]]; then
        die "LAB_EDGE_SRV=1 works with --edges 1 or 2 (with 3, each site dials its own edges)"
    fi
    if ((edges == 3)) && ! command -v redis-server >/dev/null; then
        die "--edges 3 needs redis-server (run, as root: bash scripts/bootstrap-deps.sh)"
    fi
    [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces)"
    local daemons=1
    if [[ ${LAB_NO_DAEMONS:-0} == 1 ]]; then daemons=0; fi
    if ((daemons)) && [[ ! -x $EDGE_BIN || ! -x $GW_BIN ]]; then
        die "subtunnel binaries not built in $BUILD_DIR (expected subtunnel-edge and subtunnel-gateway).
  Build them: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2
  (or run, as root: bash scripts/test.sh). LAB_NO_DAEMONS=1 builds only the network."
    fi
    cmd_down >/dev/null 2>&1 || true
    mkdir -p "$RUN" "$LOGS" "$LAB_DIR/www" "$LAB_DIR/certs"
    rm -f "$LOGS"/*.log # each lab run starts with fresh logs
    check_lab_user
    # the edge reopens its audit log here as LAB_USER after a rotation (SIGUSR1)
    if [[ $LAB_USER != none ]]; then
        chgrp "$LAB_GROUP" "$LOGS"
        chmod g+w "$LOGS"
    fi
    printf 'edges=%s\nsites=%s\ndaemons=%s\nuser=%s\n' "$edges" "$sites" "$daemons" "$LAB_USER" \
        >"$LAB_DIR/state"

    build_network "$edges" "$sites"
    local names="st-client st-edge st-bastion st-priv"
    if ((edges >= 2)); then names+=" st-edge2"; fi
    if ((edges >= 3)); then names+=" st-edge3 st-registry"; fi
    if ((sites >= 2)); then names+=" st-bastion2 st-priv2"; fi
    say "network up: $names"

    printf 'hello from st-priv (198.51.100.10)\n' >"$LAB_DIR/www/file"
    start_httpd httpd st-priv 198.51.100.10 8000 "$LAB_DIR/www"
    start_httpd httpd6 st-priv 2001:db8:51::10 8000 "$LAB_DIR/www"
    start_httpd httpd-ws st-priv 198.51.100.11 8001 "$LAB_DIR/www"
    if ((sites >= 2)); then
        start_httpd httpd2 st-priv2 203.0.113.10 8000 "$LAB_DIR/www"
        start_httpd httpd2-6 st-priv2 2001:db8:113::10 8000 "$LAB_DIR/www"
    fi
    start_priv_dns
    if ((!daemons)); then
        say "LAB_NO_DAEMONS=1: network and test http servers only"
        return 0
    fi

    bash "$REPO/scripts/gen-certs.sh" "$LAB_DIR/certs" >/dev/null
    if ((edges >= 3)); then bash "$REPO/scripts/gen-fleet-certs.sh" "$LAB_DIR/certs/fleet" 3 >/dev/null; fi
    # The lab's identity provider: an ES256 key whose public half the edges trust (jwt:);
    # lab.sh env signs JWT_TOKEN (carol, developers) and JWT_EXPIRED with it.
    if [[ ! -s $LAB_DIR/certs/jwt.key ]]; then
        "$BUILD_DIR/st-jwtmint" keygen --alg ES256 --kid lab-idp-1 --key "$LAB_DIR/certs/jwt.key" \
            --jwks "$LAB_DIR/certs/jwks.json" >/dev/null || die "st-jwtmint keygen failed"
    fi
    local access dev s1 s2 tok1 registry="" n gw1_edges gw2_edges
    access=$(keep_secret "$LAB_DIR/access.token")
    dev=$(keep_secret "$LAB_DIR/dev.token")
    s1=$(keep_secret "$LAB_DIR/site1.secret")
    s2=$(keep_secret "$LAB_DIR/site2.secret")
    if ((edges >= 3)); then
        # the edges read the password from registry.secret (registry.password-file)
        keep_secret "$LAB_DIR/registry.secret" >/dev/null
        registry="redis://$REGISTRY_ADDR:$REGISTRY_PORT"
    fi
    write_edge_config "$LAB_DIR/edge.yaml" 1 "$sites" "$s1" "$s2" "$access" "$dev" "$registry"
    for ((n = 2; n <= edges; n++)); do
        write_edge_config "$LAB_DIR/edge$n.yaml" "$n" "$sites" "$s1" "$s2" "$access" "$dev" \
            "$registry"
    done
    # site 1 dials edges 1 and 2 (1 alone with --edges 1); with --edges 3 site 2 dials edge 3
    # only, so site-to-site traffic crosses edges
    gw1_edges="1" gw2_edges="1"
    if ((edges >= 2)); then gw1_edges="1 2" gw2_edges="1 2"; fi
    if ((edges >= 3)); then gw2_edges="3"; fi
    tok1="site1:$s1"
    if [[ ${LAB_BAD_TOKEN:-0} == 1 ]]; then tok1="site1:$(gen_secret)"; fi
    write_gateway_config "$LAB_DIR/gateway.yaml" "$gw1_edges" "$tok1" "198.51.100.0/24, '2001:db8:51::/64'" \
        $((sites >= 2)) 1 192.0.2.10:9100
    if ((sites >= 2)); then
        write_gateway_config "$LAB_DIR/gateway2.yaml" "$gw2_edges" "site2:$s2" \
            "203.0.113.0/24, '2001:db8:113::/64'" 1 0 \
            192.0.2.20:9100
    fi
    local f shared=("$LAB_DIR/certs/edge.key" "$LAB_DIR/certs/edge.crt" "$LAB_DIR/certs/ca.crt"
        "$LAB_DIR/certs/jwks.json")
    for f in edge edge2 edge3 gateway gateway2; do
        if [[ -f $LAB_DIR/$f.yaml ]]; then shared+=("$LAB_DIR/$f.yaml"); fi
    done
    if ((edges >= 3)); then
        shared+=("$LAB_DIR"/certs/fleet/{fleet-ca.crt,lab-edge-?.crt,lab-edge-?.key}
            "$LAB_DIR/registry.secret")
    fi
    share_with_daemons "${shared[@]}"

    if ((edges >= 3)); then start_registry; fi
    for ((n = 1; n <= edges; n++)); do
        start_edge "$n"
    done
    if [[ ${LAB_EDGE_SRV:-0} == 1 ]]; then start_dns "$(seq -s ' ' 1 "$edges")"; fi
    if [[ ${LAB_BAD_TOKEN:-0} == 1 ]]; then
        start_gateway 1 nowait
    else
        start_gateway 1
    fi
    if ((sites >= 2)); then start_gateway 2; fi
    say "lab is up; source the environment with: eval \"\$(bash scripts/lab.sh env)\""
}

cmd_down() {
    local f pid ns
    if [[ -d $RUN ]]; then
        for f in "$RUN"/*.pid; do
            [[ -e $f ]] || continue
            pid=$(cat "$f" 2>/dev/null || true)
            if [[ $pid =~ ^[0-9]+$ ]]; then stop_pid "$pid"; fi
            rm -f "$f"
        done
    fi
    for ns in "${ALL_NS[@]}"; do
        ns_exists "$ns" || continue
        # anything still running inside our namespaces was started by the lab or its users
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            stop_pid "$pid"
        done
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -f "$LAB_DIR/state"
    say "lab is down"
}

cmd_env() {
    local edges sites
    edges=$(state_get edges) || die "lab is not up (run, as root: bash scripts/lab.sh up)"
    sites=$(state_get sites)
    q() { printf '%s=%q\n' "$1" "$2"; }
    q EDGE_PROXY http://198.18.0.1:8080
    q EDGE_PROXY6 'http://[2001:db8:18::1]:8080'
    q EDGE_TLS_PROXY https://198.18.0.1:8443
    q VISITOR_HTTP http://198.18.0.1:80
    q VISITOR_HTTPS https://198.18.0.1:443
    q VISITOR_HTTP6 'http://[2001:db8:18::1]:80'
    q VISITOR_HTTPS6 'https://[2001:db8:18::1]:443'
    [[ ! -s $LAB_DIR/access.token ]] || q ACCESS_TOKEN "$(cat "$LAB_DIR/access.token")"
    [[ ! -s $LAB_DIR/dev.token ]] || q DEV_TOKEN "$(cat "$LAB_DIR/dev.token")"
    if [[ -s $LAB_DIR/certs/jwt.key && -x $BUILD_DIR/st-jwtmint ]]; then
        q JWT_TOKEN "$(lab_jwt 3600)"
        q JWT_EXPIRED "$(lab_jwt -3600)"
    fi
    q CA_FILE "$LAB_DIR/certs/ca.crt"
    if [[ -s $LAB_DIR/certs/fleet/fleet-ca.crt ]]; then q FLEET_CA "$LAB_DIR/certs/fleet/fleet-ca.crt"; fi
    # the lab user "ops"'s client certificate and key (curl --proxy-cert/--proxy-key, --cert)
    q CLIENT_CERT "$(realpath -m "$LAB_DIR/certs/ops.crt")"
    q CLIENT_KEY "$(realpath -m "$LAB_DIR/certs/ops.key")"
    q EDGE_CONFIG "$LAB_DIR/edge.yaml"
    q GATEWAY_CONFIG "$LAB_DIR/gateway.yaml"
    q LAB_DIR "$LAB_DIR"
    q BUILD_DIR "$BUILD_DIR"
    q EDGE_LOG "$LOGS/edge.log"
    q AUDIT_LOG "$LOGS/audit.log"
    q GATEWAY_LOG "$LOGS/gateway.log"
    q LAB_EDGES "$edges"
    q LAB_SITES "$sites"
    q LAB_USER "$(state_get user)" # the daemons' user after start-up ("none": they stay root)
    # metrics-listen (Prometheus text, /healthz, /ready): the edge's from st-edge, the
    # gateways' from their bastions (all on the tunnel network 192.0.2.0/24)
    q EDGE_METRICS http://192.0.2.1:9100
    q GATEWAY_METRICS http://192.0.2.10:9100
    if ((edges >= 2)); then q EDGE2_METRICS http://192.0.2.2:9100; fi
    if ((edges >= 3)); then q EDGE3_METRICS http://192.0.2.3:9100; fi
    if ((sites >= 2)); then q GATEWAY2_METRICS http://192.0.2.20:9100; fi
    if ((edges >= 2)); then
        q EDGE_PROXY_2 http://198.18.0.2:8080
        q EDGE_TLS_PROXY_2 https://198.18.0.2:8443
        q EDGE_CONFIG_2 "$LAB_DIR/edge2.yaml"
        q EDGE_LOG_2 "$LOGS/edge2.log"
        q VISITOR_HTTP_2 http://198.18.0.2:80
        q VISITOR_HTTPS_2 https://198.18.0.2:443
    fi
    if ((edges >= 3)); then
        q EDGE_PROXY_3 http://198.18.0.3:8080
        q EDGE_TLS_PROXY_3 https://198.18.0.3:8443
        q VISITOR_HTTP_3 http://198.18.0.3:80
        q VISITOR_HTTPS_3 https://198.18.0.3:443
        q EDGE_CONFIG_3 "$LAB_DIR/edge3.yaml"
        q EDGE_LOG_3 "$LOGS/edge3.log"
        # the fleet registry (redis-server in st-registry); the URL holds its password
        [[ ! -s $LAB_DIR/registry.secret ]] ||
            q REGISTRY_URL "$(registry_url "$(cat "$LAB_DIR/registry.secret")")"
        q REGISTRY_LOG "$LOGS/registry.log"
    fi
    if ((sites >= 2)); then
        q GATEWAY_CONFIG_2 "$LAB_DIR/gateway2.yaml"
        q GATEWAY_LOG_2 "$LOGS/gateway2.log"
    fi
}

cmd_status() {
    local ns name pid log
    for ns in "${ALL_NS[@]}"; do
        if ns_exists "$ns"; then echo "namespace $ns: present"; fi
    done
    if [[ ! -f $LAB_DIR/state ]]; then
        echo "lab is down"
        return 0
    fi
    for name in registry edge edge2 edge3 dnsmasq dns-priv gateway gateway2 httpd httpd6 httpd-ws \
        httpd2 httpd2-6; do
        [[ -e $RUN/$name.pid ]] || continue
        if pid=$(pid_of "$name"); then
            echo "$name: running (pid $pid)"
        else
            echo "$name: NOT running"
        fi
    done
    if pid_of registry >/dev/null; then
        echo "registry: $(registry_cli --scan --pattern 'st:edge:*' 2>/dev/null | sort | tr '\n' ' ')"
    fi
    for name in gateway gateway2; do
        log=$LOGS/$name.log
        [[ -s $log ]] || continue
        echo "$name: $(grep -vi 'not registered' "$log" | grep -Ec '(^|[^[:alpha:]])registered' || true) 'registered' lines in $log"
    done
}

# proc_name ROLE N: the lab's process name of gateway/edge N (sites 1 or 2, edges 1 to 3)
proc_name() {
    case $1:${2:-1} in
    *:1) echo "$1" ;;
    *:2 | edge:3) echo "$1$2" ;;
    *) if [[ $1 == gateway ]]; then die "site must be 1 or 2"; else die "edge must be 1, 2 or 3"; fi ;;
    esac
}

# cmd_kill ROLE [N]: SIGKILL gateway/edge N
cmd_kill() {
    local name pid
    name=$(proc_name "$1" "${2:-1}")
    pid=$(pid_of "$name") || die "$name is not running"
    kill -KILL "$pid"
    say "sent SIGKILL to $name (pid $pid)"
}

# cmd_restart ROLE [N]: stop (if running) and start gateway/edge N, wait until ready
cmd_restart() {
    local name n=${2:-1}
    name=$(proc_name "$1" "$n")
    [[ -f $LAB_DIR/state ]] || die "lab is not up"
    stop_name "$name"
    "start_$1" "$n"
}

cmd_kill_registry() {
    local pid
    pid=$(pid_of registry) || die "registry is not running"
    kill -KILL "$pid"
    say "sent SIGKILL to registry (pid $pid)"
}

cmd_restart_registry() {
    [[ $(state_get edges) == 3 ]] || die "the registry runs only with --edges 3"
    stop_name registry
    start_registry
}

cmd_set_srv() {
    [[ -f $LAB_DIR/state ]] || die "lab is not up"
    [[ ${1:-} =~ ^(6:)?[12]( (6:)?[12])*$ ]] ||
        die "set-srv takes edge numbers, e.g. \"1 2\" (\"6:1\": edge 1 by its IPv6 name)"
    stop_name dnsmasq
    start_dns "$1"
}

main() {
    local cmd=${1:-}
    [[ -n $cmd ]] || usage
    shift
    case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    env) cmd_env ;;
    status) cmd_status ;;
    kill-gateway) cmd_kill gateway "$@" ;;
    restart-gateway) cmd_restart gateway "$@" ;;
    kill-edge) cmd_kill edge "$@" ;;
    restart-edge) cmd_restart edge "$@" ;;
    kill-registry) cmd_kill_registry ;;
    restart-registry) cmd_restart_registry ;;
    set-srv) cmd_set_srv "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
    esac
}

main "$@"
