#!/usr/bin/env bash
# Caps on connections and flows at the edge, and running out of descriptors (issue 19):
#  1. max-connections-per-client: connections past it are reset at once (every listener),
#     another address is not affected, the address has room again once its own close;
#  2. listener-max-connections and max-connections likewise, per listener and in all;
#  3. max-unauthenticated: past it the oldest connection still in its startup phase is
#     closed, so a normal request gets through while the slots are full;
#  4. 2000 slow peers (silent, or one byte a second) on each of the five listeners: a
#     request through the access proxy and a visitor request still succeed, and the
#     timeouts close every slow peer (the edge's descriptor count comes back);
#  5. out of descriptors (RLIMIT_NOFILE lowered under the running edge): the listener
#     pauses, logged once, the edge does not spin, a flow already open still works, and
#     the listener resumes once connections close;
#  6. tunnel-max-flows (connect-udp counts too) and user-max-flows answer 503 with a
#     proxy-status, and flows work again once the held ones end.
# Every phase sets its caps by a reload (SIGHUP), which applies them to new connections.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl python3 prlimit ss setpriv
# shellcheck disable=SC2119
lab_up

PEER=$ST_SOURCE_DIR/tests/integration/capspeer.py
MASQUE=$ST_SOURCE_DIR/tests/integration/masque.py
EDGE_PID=$(cat "$LAB_DIR/run/edge.pid")
BASE_YAML=$(cat "$EDGE_CONFIG")
CONTENT="hello from st-priv (198.51.100.10)"
WORK=$(mktemp -d)
BG=()
declare -A HOLDER
cleanup_work() {
    local p
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
on_cleanup cleanup_work

# a second client address, for requests from elsewhere while 198.18.0.10 is at a cap
in_ns st-client ip addr add 198.18.0.11/24 dev eth0

# reload_edge YAML: the lab's configuration plus YAML, applied by SIGHUP
reload_edge() {
    printf '%s\n%s\n' "$BASE_YAML" "$1" >"$EDGE_CONFIG"
    hup_reload "$EDGE_PID" "$EDGE_LOG"
}
edge_fds() { find "/proc/$EDGE_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
fds_at_most() { (($(edge_fds) <= $1)); }
log_count() { grep -cE -- "$1" "$EDGE_LOG" || true; }
vcurl() { in_ns st-client curl -sS -m 20 --resolve app.lab.test:80:198.18.0.1 \
    --resolve app.lab.test:443:198.18.0.1 --cacert "$CA_FILE" "$@"; }
# hold NAME TARGET COUNT EXPECT_CLOSED [ARGS]: idle connections in the background
hold() {
    local name=$1 target=$2 count=$3 closed=$4
    shift 4
    in_ns st-client python3 "$PEER" hold "$target" --count "$count" --expect-closed "$closed" \
        --ready "$WORK/$name.ready" --release "$WORK/$name.release" --timeout 120 "$@" &
    BG+=($!)
    HOLDER[$name]=$!
    wait_for 60 "$name: $count connections to $target held" test -s "$WORK/$name.ready"
}
# release NAME: the holder closes its connections and exits (it waits 120 s at most)
release() {
    touch "$WORK/$1.release"
    wait "${HOLDER[$1]}" || fail "$1: the holder failed"
}
# refused CMD...: CMD fails (the edge reset the connection)
refused() { ! "$@" >/dev/null 2>&1; }
BASE_FDS=$(edge_fds) # listeners, loop, the gateway's tunnel connections

# ---- 1. max-connections-per-client
reload_edge "request-timeout: 60
max-connections-per-client: 8"
hold h1 198.18.0.1:80 13 5
assert_eq "open=8 closed=5 closed-at=8,9,10,11,12" "$(cat "$WORK/h1.ready")" \
    "13 connections from one address with max-connections-per-client 8"
refused pcurl -m 10 -o /dev/null "http://$PRIV_IP:8000/file" ||
    fail "a CONNECT from the address at its cap was served"
pass "the same address is refused on the access listener too"
assert_eq "$CONTENT" "$(vcurl --interface 198.18.0.11 http://app.lab.test/file)" \
    "a visitor request from another address"
release h1
wait_for 10 "the held connections to close at the edge" fds_at_most "$BASE_FDS"
assert_eq "$CONTENT" "$(pcurl -m 10 "http://$PRIV_IP:8000/file")" \
    "the address has room again once its connections closed"
assert_eq 6 "$(log_count 'connection from 198\.18\.0\.10:[0-9]+ refused: 8 connections open from this address \(max-connections-per-client 8\)')" \
    "per-client refusals logged (5 held + 1 CONNECT)"

# ---- 2. listener-max-connections and max-connections
tunnels=$(in_ns st-edge ss -Htn state established '( sport = :7844 )' | wc -l)
((tunnels >= 1)) || fail "no tunnel connection at the edge"
reload_edge "request-timeout: 60
max-connections: $((tunnels + 11))
listener-max-connections: 10"
hold h2 198.18.0.1:80 12 2
assert_eq "open=10 closed=2 closed-at=10,11" "$(cat "$WORK/h2.ready")" \
    "12 connections to one listener with listener-max-connections 10"
hold h3 198.18.0.1:8080 3 2
assert_eq "open=1 closed=2 closed-at=1,2" "$(cat "$WORK/h3.ready")" \
    "3 more on another listener with max-connections $((tunnels + 11)) ($tunnels tunnel connections)"
refused pcurl -m 10 -o /dev/null "http://$PRIV_IP:8000/file" ||
    fail "a CONNECT past max-connections was served"
pass "a CONNECT past max-connections is refused"
release h2
release h3
wait_for 10 "the held connections to close at the edge" fds_at_most "$BASE_FDS"
assert_eq "$CONTENT" "$(pcurl -m 10 "http://$PRIV_IP:8000/file")" "room again after they closed"
assert_eq 2 "$(log_count 'visitor \(HTTP/1\.1\) 198\.18\.0\.1:80: connection from .* refused: 10 connections open on this listener \(listener-max-connections\)')" \
    "listener-max-connections refusals logged"
assert_eq 3 "$(log_count 'refused: [0-9]+ connections open \(max-connections\)')" \
    "max-connections refusals logged (2 held + 1 CONNECT)"

# ---- 3. max-unauthenticated: the oldest connection in its startup phase goes
reload_edge "request-timeout: 60
max-unauthenticated: 5"
hold h4 198.18.0.1:80 8 3
assert_eq "open=5 closed=3 closed-at=0,1,2" "$(cat "$WORK/h4.ready")" \
    "8 idle connections with max-unauthenticated 5: the 3 oldest closed"
assert_eq "$CONTENT" "$(vcurl http://app.lab.test/file)" \
    "a visitor request while the unauthenticated slots are full"
release h4
wait_for 10 "the held connections to close at the edge" fds_at_most "$BASE_FDS"
assert_eq 4 "$(log_count 'over 5 connections not authenticated yet \(max-unauthenticated\): closing the oldest')" \
    "oldest unauthenticated connections closed (3 + 1 for the request)"

# ---- 4. 2000 slow peers on each listener
reload_edge "request-timeout: 5
max-connections: 12000
listener-max-connections: 12000
max-connections-per-client: 12000
max-unauthenticated: 12000"
in_ns st-client python3 "$PEER" slow 198.18.0.1:8080:connect 198.18.0.1:8443:tls \
    198.18.0.1:80:http 198.18.0.1:443:tls 192.0.2.1:7844:tls --count 2000 \
    --ready "$WORK/slow.ready" --result "$WORK/slow.result" --timeout 150 &
BG+=($!)
wait_for 90 "10000 slow connections up" test -s "$WORK/slow.ready"
assert_eq "connected=10000" "$(cat "$WORK/slow.ready")" "slow peers connected"
assert_eq "$CONTENT" "$(pcurl -m 20 "http://$PRIV_IP:8000/file")" \
    "a request through the access proxy among 10000 slow peers"
assert_eq "$CONTENT" "$(vcurl https://app.lab.test/file)" "a visitor request among them"
wait_for 120 "the timeouts to close every slow peer" test -s "$WORK/slow.result"
assert_eq "closed=10000 of 10000
198.18.0.1:8080 closed=2000 of 2000
198.18.0.1:8443 closed=2000 of 2000
198.18.0.1:80 closed=2000 of 2000
198.18.0.1:443 closed=2000 of 2000
192.0.2.1:7844 closed=2000 of 2000" "$(cat "$WORK/slow.result")" "every slow peer closed by the edge"
wait_for 30 "the edge's descriptors to come back to $BASE_FDS" fds_at_most "$BASE_FDS"
pass "the edge's descriptor count is back to $(edge_fds)"

# ---- 5. out of descriptors
reload_edge "request-timeout: 60"
in_ns st-client python3 "$PEER" tunnel 198.18.0.1:8080 --target "$PRIV_IP:8000" \
    --token "$ACCESS_TOKEN" --ready "$WORK/t.ready" --go "$WORK/t.go" \
    --result "$WORK/t.result" --timeout 120 &
BG+=($!)
wait_for 20 "a CONNECT tunnel before the shortage" test -s "$WORK/t.ready"
orig_soft=$(plimit "$EDGE_PID" --nofile --noheadings --raw -o SOFT | tr -d ' ')
maxfd=$(find "/proc/$EDGE_PID/fd" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n 1)
limit=$((maxfd + 11))
free=$((limit - $(edge_fds)))
log "edge descriptors: $(edge_fds) open, the highest $maxfd ($(readlink "/proc/$EDGE_PID/fd/$maxfd"));" \
    "a soft limit of $limit leaves $free"
plimit "$EDGE_PID" --nofile="$limit:" # the soft limit only: it can be raised again
hold h5 198.18.0.1:80 $((free + 5)) 0
pausing='accept: Too many open files: pausing listener visitor \(HTTP/1\.1\) 198\.18\.0\.1:80'
wait_for 10 "the listener to pause" grep -qE "$pausing" "$EDGE_LOG"
assert_no_spin "$EDGE_PID" "the edge while its listener is paused"
touch "$WORK/t.go"
wait_for 20 "the GET inside the tunnel" test -s "$WORK/t.result"
assert_match "^HTTP/1\.[01] 200 OK bytes=$((${#CONTENT} + 1))\$" "$(cat "$WORK/t.result")" \
    "a flow opened before the shortage still works"
release h5
resumed='listener visitor \(HTTP/1\.1\) 198\.18\.0\.1:80: resumed accepting after'
vcurl_ok() { [[ $(vcurl http://app.lab.test/file 2>/dev/null) == "$CONTENT" ]]; }
wait_for 20 "a visitor request once descriptors are free" vcurl_ok
pass "a visitor request once the idle connections closed"
wait_for 10 "the listener to log its resumption" grep -qE "$resumed" "$EDGE_LOG"
assert_eq 1 "$(log_count "$pausing")" "the pause logged once"
assert_eq 1 "$(log_count "$resumed")" "the resumption logged once"
plimit "$EDGE_PID" --nofile="$orig_soft:"

# ---- 6. tunnel-max-flows and user-max-flows
reload_edge "tunnel-max-flows: 3"
in_ns st-client python3 "$PEER" connects 198.18.0.1:8080 --target "$PRIV_IP:8000" \
    --token "$ACCESS_TOKEN" --count 4 --ready "$WORK/c.ready" --release "$WORK/c.release" \
    --timeout 120 &
BG+=($!)
wait_for 30 "4 CONNECTs" test -s "$WORK/c.ready"
assert_eq '200
200
200
503 subtunnel; error=connection_limit_reached; details="too many flows open on this tunnel"' \
    "$(cat "$WORK/c.ready")" "4 CONNECTs with tunnel-max-flows 3"
set +e
r=$(in_ns st-client python3 "$MASQUE" --proxy 198.18.0.1:8080 --h2c --token "$ACCESS_TOKEN" \
    --target "$PRIV_IP:7" --echo 100 --count 1 2>&1)
rc=$?
set -e
assert_eq 2 "$rc" "a connect-udp flow past tunnel-max-flows refused"
assert_match 'answered 503' "$r" "connect-udp past tunnel-max-flows: 503"
assert_match 'proxy-status: subtunnel; error=connection_limit_reached; details="too many flows open on this tunnel"' \
    "$r" "connect-udp counts against tunnel-max-flows"
reload_edge "tunnel-max-flows: 100
user-max-flows: 2"
assert_eq '503 subtunnel; error=connection_limit_reached; details="too many flows open for this user"' \
    "$(proxy_probe "$PRIV_IP:8000" -U "lab:$ACCESS_TOKEN")" "a CONNECT past user-max-flows"
touch "$WORK/c.release"
connect_ok() { [[ $(pcurl -m 10 "http://$PRIV_IP:8000/file" 2>/dev/null) == "$CONTENT" ]]; }
wait_for 20 "a CONNECT once the held flows ended" connect_ok
pass "flows work again once the held ones ended"
assert_match "tunnel site1 has 3 flows open \(tunnel-max-flows\)" "$(cat "$EDGE_LOG")" \
    "tunnel-max-flows refusal logged"
assert_match "user lab has 3 flows open \(user-max-flows\)" "$(cat "$EDGE_LOG")" \
    "user-max-flows refusal logged"

assert_eq 0 "$(log_count 'was still counted as a connection')" "every close released its count"
