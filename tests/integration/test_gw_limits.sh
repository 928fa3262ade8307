#!/usr/bin/env bash
# The gateway's limits against what users and the host do to it (issue 19), with real clients:
# 1. datagram-flows-per-client 2 and datagram-flows-per-host 3 (set at start): MASQUE
#    connect-udp flows held open from two client addresses; the client's third and the
#    host's fourth get 503 with the reason, the log says it, and once the held flows end
#    new ones work;
# 2. out of descriptors: the soft RLIMIT_NOFILE is lowered under the running gateway so
#    that no new descriptor fits, and one of its four tunnel connections is reset at the
#    edge (ss -K).
#  - the reconnect's socket() fails: logged once however often it is retried, with the
#    normal backoff (no busy loop), and the three other connections go on;
#  - a flow opened during the shortage works, and a new CONNECT works too (the gateway
#    reaches private hosts through lwIP, which needs no descriptor);
#  - a metrics scrape waits (the listener pauses instead of spinning) and is answered once
#    descriptors are free;
#  - with the limit raised again the connection comes back ("sockets can be opened again")
#    and the flow opened during the shortage completes its request.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl python3 prlimit ss setpriv
export LAB_GATEWAY_EXTRA_YAML="datagram-flows-per-client: 2
datagram-flows-per-host: 3"
# shellcheck disable=SC2119
lab_up

PEER=$ST_SOURCE_DIR/tests/integration/capspeer.py
MASQUE=$ST_SOURCE_DIR/tests/integration/masque.py
GW_PID=$(cat "$LAB_DIR/run/gateway.pid")
CONTENT="hello from st-priv (198.51.100.10)"
WORK=$(mktemp -d)
BG=()
cleanup_work() {
    local p
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
on_cleanup cleanup_work

wait_for 30 "4 registered tunnel connections" gw_is "4 1"

# ---- 1. datagram flows per client and per host
start_bg gw-limits-echo st-priv python3 "$ST_SOURCE_DIR/tests/integration/udpecho.py" \
    --listen "$PRIV_IP:7"
wait_for 10 "the UDP echo server" grep -q ready "$LAB_DIR/logs/gw-limits-echo.log"
in_ns st-client ip addr add 198.18.0.11/24 dev eth0 # a second user address
# udp NAME SOURCE [masque.py args]: a connect-udp flow from SOURCE through the access proxy
# to the echo server, one datagram echoed; output and exit code in $WORK/NAME.out, .rc
udp() {
    local name=$1 src=$2 rc=0
    shift 2
    in_ns st-client python3 "$MASQUE" --proxy 198.18.0.1:8080 --h2c --token "$ACCESS_TOKEN" \
        --bind "$src" --target "$PRIV_IP:7" --echo 100 --count 1 "$@" >"$WORK/$name.out" 2>&1 ||
        rc=$?
    echo "$rc" >"$WORK/$name.rc"
}
# hold NAME SOURCE: such a flow kept open in the background until $WORK/NAME.release exists
hold() {
    udp "$1" "$2" --hold "$WORK/$1.release" &
    BG+=($!)
    wait_for 20 "flow $1 to be echoed" grep -q 'echoed 1/1' "$WORK/$1.out"
}
hold a1 198.18.0.10
hold a2 198.18.0.10
udp a3 198.18.0.10
assert_eq 2 "$(cat "$WORK/a3.rc")" "a third connect-udp flow of one client refused"
assert_match 'answered 503' "$(cat "$WORK/a3.out")" "... with 503"
assert_match 'proxy-status: .*error=connection_limit_reached.*too many datagram flows for this client' \
    "$(cat "$WORK/a3.out")" "... naming the per-client cap"
hold b1 198.18.0.11
udp b2 198.18.0.11
assert_eq 2 "$(cat "$WORK/b2.rc")" "a fourth flow to the host (another client's second) refused"
assert_match 'proxy-status: .*error=connection_limit_reached.*too many datagram flows to this host' \
    "$(cat "$WORK/b2.out")" "... naming the per-host cap"
assert_match 'too many datagram flows for this client' "$(cat "$GATEWAY_LOG")" "the per-client refusal logged"
assert_match 'too many datagram flows to this host' "$(cat "$GATEWAY_LOG")" "the per-host refusal logged"
touch "$WORK/a1.release" "$WORK/a2.release" "$WORK/b1.release"
held_done() { [[ -s $WORK/a1.rc && -s $WORK/a2.rc && -s $WORK/b1.rc ]]; }
wait_for 20 "the held flows to end" held_done
assert_eq "0 0 0" "$(cat "$WORK/a1.rc" "$WORK/a2.rc" "$WORK/b1.rc" | xargs)" "the held flows ended cleanly"
# the counts come back as the gateway sees the streams end (each end travels on its own
# tunnel connection, so retry until all three are seen)
flow_ok() { udp "$@" && [[ $(cat "$WORK/$1.rc") == 0 ]]; }
gw_udp_live() { [[ $(gw_stat "$GATEWAY_LOG" udp_live) == "$1" ]]; }
wait_for 20 "the held flows to be released at the gateway" gw_udp_live 0
flow_ok a4 198.18.0.10 || fail "a new flow once the held ones ended: $(cat "$WORK/a4.out")"
pass "a new flow once the held ones ended"
flow_ok a5 198.18.0.10 --count 20 || fail "a flow of 20 datagrams: $(cat "$WORK/a5.out")"
pass "another flow of that client, 20 datagrams echoed"

# ---- 2. out of descriptors
connect_ok() { [[ $(pcurl -m 10 "http://$PRIV_IP:8000/file" 2>/dev/null) == "$CONTENT" ]]; }
connect_ok || fail "a CONNECT before the shortage"

# The connection to reset, and the descriptor its socket has in the gateway.
line=$(in_ns st-bastion ss -Htne state established '( dst 192.0.2.1 and dport = :7844 )' |
    head -n 1)
sport=$(awk '{print $3}' <<<"$line" | sed 's/.*://')
ino=$(grep -oP '(?<=ino:)[0-9]+' <<<"$line")
[[ $sport =~ ^[0-9]+$ && $ino =~ ^[0-9]+$ ]] || fail "no tunnel connection found: '$line'"
victim_fd=
free_fd=
for ((fd = 0; fd < 4096; fd++)); do
    link=$(readlink "/proc/$GW_PID/fd/$fd" 2>/dev/null) || {
        [[ -n $free_fd ]] || free_fd=$fd
        continue
    }
    if [[ $link == "socket:[$ino]" ]]; then victim_fd=$fd; fi
    [[ -z $free_fd || -z $victim_fd ]] || break
done
[[ -n $victim_fd && -n $free_fd ]] || fail "descriptor of the connection from port $sport not found"
# Every descriptor below the limit is open, and the victim's is not below it: once it
# closes, no socket() can succeed.
limit=$((victim_fd < free_fd ? victim_fd : free_fd))
orig_soft=$(plimit "$GW_PID" --nofile --noheadings --raw -o SOFT | tr -d ' ')
log "gateway: the connection from port $sport is descriptor $victim_fd, the lowest free one" \
    "is $free_fd; soft limit $orig_soft lowered to $limit"
plimit "$GW_PID" --nofile="$limit:" # the soft limit only: it can be raised again
for ((fd = 0; fd < limit; fd++)); do # nothing closed meanwhile (this lab opens no other)
    [[ -e /proc/$GW_PID/fd/$fd ]] || fail "descriptor $fd (below the limit $limit) is free"
done

short='edge connection [0-9]+: socket: Too many open files: retrying with the reconnect backoff'
again='edge connection [0-9]+: sockets can be opened again'
reconnects() { grep -cE 'edge connection [0-9]+: reconnecting in' "$GATEWAY_LOG" || true; }
retries0=$(reconnects)
in_ns st-bastion ss -K -Htn state established "( dst 192.0.2.1 and dport = :7844 and sport = :$sport )" \
    >/dev/null
wait_for 10 "the gateway to log the shortage" grep -qE "$short" "$GATEWAY_LOG"
wait_for 10 "3 registered connections" gw_is "3 1"
# at least three failed dials: the loss's retry and two more after the shortage was logged
retried() { (($(reconnects) >= retries0 + 3)); }
wait_for 40 "two more attempts to reconnect" retried
attempts=$(($(reconnects) - retries0))
assert_eq 1 "$(grep -cE "$short" "$GATEWAY_LOG" || true)" "the shortage logged once over $attempts retries"

# flows during the shortage: one held open, and new ones
in_ns st-client python3 "$PEER" tunnel 198.18.0.1:8080 --target "$PRIV_IP:8000" \
    --token "$ACCESS_TOKEN" --ready "$WORK/t.ready" --go "$WORK/t.go" \
    --result "$WORK/t.result" --timeout 120 &
BG+=($!)
wait_for 20 "a CONNECT tunnel during the shortage" test -s "$WORK/t.ready"
ok=0
for i in $(seq 1 10); do if connect_ok; then ok=$((ok + 1)); fi; done
assert_eq 10 "$ok" "new CONNECTs during the shortage"

# a scrape waits for a descriptor; meanwhile the gateway does not spin
in_ns st-edge curl -sS -m 60 -o "$WORK/metrics.txt" "$GATEWAY_METRICS/metrics" \
    2>"$WORK/metrics.err" &
scrape=$!
BG+=("$scrape")
accepted() { in_ns st-bastion ss -Htn state established '( sport = :9100 )' | grep -q .; }
wait_for 10 "the scrape's connection to be established" accepted
assert_no_spin "$GW_PID" "the gateway while out of descriptors"
[[ ! -s $WORK/metrics.txt ]] || fail "the scrape was answered while no descriptor was free"

plimit "$GW_PID" --nofile="$orig_soft:"
scrape_done() { ! kill -0 "$scrape" 2>/dev/null; }
wait_for 30 "the scrape to be answered" scrape_done
wait "$scrape" || fail "the scrape failed: $(cat "$WORK/metrics.err")"
grep -qE '^subtunnel_tunnel_connections[{ ]' "$WORK/metrics.txt" ||
    fail "the scrape's answer has no subtunnel_tunnel_connections: $(head -c 300 "$WORK/metrics.txt")"
pass "the scrape answered once descriptors are free"
wait_for 40 "4 registered connections again" gw_is "4 1"
assert_eq 1 "$(grep -cE "$again" "$GATEWAY_LOG" || true)" "the recovery logged once"
touch "$WORK/t.go"
wait_for 20 "the GET inside the tunnel" test -s "$WORK/t.result"
assert_match "^HTTP/1\.[01] 200 OK bytes=$((${#CONTENT} + 1))\$" "$(cat "$WORK/t.result")" \
    "the flow opened during the shortage completes its request"
connect_ok || fail "a CONNECT after the recovery"
pass "a CONNECT after the recovery"
