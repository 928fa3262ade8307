#!/usr/bin/env bash
# The fleet lab (issue 22's lab contract): lab.sh up --edges 3 --sites 2.
#   a. st-registry's redis-server wants the password; every edge publishes st:edge:<id>
#      (relay 192.0.2.N:7845, under a lease) and st:tunnels:<id>: site1 at edges 1 and 2,
#      site2 at edge 3 (site 1's gateway dials edges 1 and 2, site 2's edge 3)
#   b. every edge's metrics: registry up, its cache holds the other edges' 2 entries;
#      visitor listeners run on every edge
#   c. registry killed: each edge logs the loss once (while its reconnections keep failing),
#      reports it in its metrics, and a CONNECT through edge 1 to site 1 still works (and
#      through edge 3 to site 2)
#   d. registry started again (empty): every edge says so once and publishes its state
#      again; the caches are full again
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl redis-cli redis-server
lab_up --edges 3 --sites 2

[[ $REGISTRY_URL =~ ^redis://default:([0-9a-f]+)@192\.0\.2\.50:6379$ ]] ||
    fail "REGISTRY_URL has an unexpected form: ${REGISTRY_URL//:*@/:***@}"
REGISTRY_PW=${BASH_REMATCH[1]}
for f in "$EDGE_CONFIG" "$EDGE_CONFIG_2" "$EDGE_CONFIG_3"; do
    ! grep -qF "$REGISTRY_PW" "$f" || fail "$f holds the registry password"
    grep -q "password-file: $LAB_DIR/registry.secret" "$f" || fail "$f: no registry.password-file"
done
assert_eq http://198.18.0.2:8080 "$EDGE_PROXY_2" "EDGE_PROXY_2"
assert_eq http://198.18.0.3:8080 "$EDGE_PROXY_3" "EDGE_PROXY_3"
assert_eq https://198.18.0.3:443 "$VISITOR_HTTPS_3" "VISITOR_HTTPS_3"

rcli() { registry_cli "$@"; }
metric() { edge_metric "$@"; }
metric_is() { [[ $(metric "$1" "$2") == "$3" ]]; }
all_metric_is() {
    local n
    for n in 1 2 3; do metric_is "$n" "$1" "$2" || return 1; done
}
published() {
    local n
    for n in 1 2 3; do
        [[ $(rcli exists "st:edge:lab-edge-$n" 2>/dev/null) == 1 ]] || return 1
    done
    [[ $(registry_tunnels_of lab-edge-1) == site1 && $(registry_tunnels_of lab-edge-2) == site1 &&
        $(registry_tunnels_of lab-edge-3) == site2 ]]
}
check_published() {
    local n v what=$1
    for n in 1 2 3; do
        assert_eq "192.0.2.$n:7845" "$(rcli hget "st:edge:lab-edge-$n" relay)" \
            "$what: st:edge:lab-edge-$n relay address"
        v=$(rcli pttl "st:edge:lab-edge-$n")
        ((v > 0 && v <= 25000)) || fail "$what: st:edge:lab-edge-$n lease: pttl $v (want 1..25000)"
    done
    # site 1's 4 connections are spread over edges 1 and 2, site 2's are all on edge 3
    local site1='{"routes":["198.51.100.0/24","2001:db8:51::/64"],"hostnames":["app.lab.test","private.lab.test","ws.lab.test"],"conns":2}'
    for n in 1 2; do
        assert_eq "$site1" "$(rcli hget "st:tunnels:lab-edge-$n" site1)" "$what: site1 at edge $n"
    done
    assert_eq '{"routes":["203.0.113.0/24","2001:db8:113::/64"],"hostnames":[],"conns":4}' \
        "$(rcli hget st:tunnels:lab-edge-3 site2)" "$what: site2 at edge 3"
    assert_eq "" "$(rcli hget st:tunnels:lab-edge-3 site1)" "$what: site1 is not at edge 3"
}
connect_ok() {
    local body
    body=$(ecurl "$1" -m 10 "http://$2:8000/file" 2>&1) || fail "CONNECT via edge $1 to $2: $body"
    assert_eq "hello from st-priv (198.51.100.10)" "$body" "$3"
}

# ---- a. the registry and what the edges published
noauth=$(in_ns st-registry redis-cli -h 192.0.2.50 -p 6379 ping 2>&1 || true)
assert_match NOAUTH "$noauth" "redis-server refuses a client without the password"
wait_for 20 "all three edges' records and tunnels in the registry" published
check_published "registry"
for n in 1 2 3; do
    ! grep -qF "$REGISTRY_PW" "$(edge_log "$n")" "$REGISTRY_LOG" ||
        fail "the registry password appears in a log (edge $n or redis)"
done
pass "the registry password is in no log"

# ---- b. metrics, listeners
wait_for 20 "registry up on every edge" all_metric_is subtunnel_registry_up 1
wait_for 20 "every edge caching the other edges' 2 entries" \
    all_metric_is subtunnel_registry_cache_entries 2
pass "every edge: registry up, 2 cache entries (the other edges' tunnels)"
for n in 1 2 3; do
    ns=st-edge$n
    if ((n == 1)); then ns=st-edge; fi
    for port in 80 443 8080 8443 7844; do
        listening "$ns" "198.18.0.$n:$port" || listening "$ns" "192.0.2.$n:$port" ||
            fail "edge $n does not listen on :$port"
    done
done
pass "every edge listens for visitors (:80, :443), users (:8080, :8443) and tunnels (:7844)"
connect_ok 1 "$PRIV_IP" "CONNECT through edge 1 to site 1"
connect_ok 3 203.0.113.10 "CONNECT through edge 3 to site 2"

# ---- c. registry killed
declare -A err0
for n in 1 2 3; do err0[$n]=$(metric "$n" subtunnel_registry_errors_total); done
bash "$LAB" kill-registry
wait_for 10 "every edge to see the registry down" all_metric_is subtunnel_registry_up 0
# reconnections (backoff 100 ms doubling) fail and are counted: the loss is still logged once
retried() {
    local n
    for n in 1 2 3; do
        (($(metric "$n" subtunnel_registry_errors_total) >= ${err0[$n]} + 4)) || return 1
    done
}
wait_for 20 "failed reconnections on every edge" retried
for n in 1 2 3; do
    assert_eq 1 "$(log_count 'registry: Redis at 192.0.2.50 unreachable' "$(edge_log "$n")")" \
        "edge $n logs the loss of the registry once"
    assert_eq 2 "$(metric "$n" subtunnel_registry_cache_entries)" \
        "edge $n keeps its cache while the registry is away"
done
connect_ok 1 "$PRIV_IP" "CONNECT through edge 1 to site 1 without the registry"
connect_ok 3 203.0.113.10 "CONNECT through edge 3 to site 2 without the registry"

# ---- d. registry back (empty: no persistence): the edges publish their state again
bash "$LAB" restart-registry
wait_for 20 "all three edges' state re-published" published
check_published "after the registry restart"
wait_for 20 "registry up again on every edge" all_metric_is subtunnel_registry_up 1
wait_for 20 "every edge's cache reloaded" all_metric_is subtunnel_registry_cache_entries 2
for n in 1 2 3; do
    assert_eq 1 "$(log_count 'registry: Redis at 192.0.2.50 reachable again' "$(edge_log "$n")")" \
        "edge $n logs the registry's return once"
done
connect_ok 1 "$PRIV_IP" "CONNECT through edge 1 to site 1 after the registry restart"
