#!/usr/bin/env bash
# Two edges, one gateway (4 tunnel connections, 2 per edge), heartbeat 1 s x 3.
# A: kill -9 edge 1 during downloads spread over 12 flows on both edges: the flows on
#    edge 2 finish with intact sha256, new flows through edge 2 work at once, and after
#    edge 1 restarts the gateway is back to 4 connections within its backoff.
# B: blackhole edge 2 (iptables DROP on 7844): the gateway declares its connections dead
#    within the heartbeat window, edge 2 stops routing to them (502), traffic through
#    edge 1 goes on; when the DROP is lifted the connections come back.
# C: reset one of the two tunnel connections at edge 1 (ss -K) during 8 downloads: new
#    flows go to the other connection at once, the downloads on it finish intact.
# Prints a summary of the measured recovery times.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl
require_cmd iptables
export LAB_GATEWAY_EXTRA_YAML=$'heartbeat-interval: 1\nheartbeat-count: 3'
export LAB_EDGE_EXTRA_YAML=$'heartbeat-interval: 1\nheartbeat-count: 3'
lab_up --edges 2

dir=$LAB_DIR/t-edge-failover
rm -rf "$dir"
mkdir -p "$dir"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    in_ns st-edge2 iptables -F INPUT 2>/dev/null || true
    in_ns st-edge2 iptables -F OUTPUT 2>/dev/null || true
    rm -rf "$dir" "$LAB_DIR/www/flow.bin" "$LAB_DIR/www/small.bin"
}
on_cleanup cleanup
summary=()

wait_for 20 "4 tunnel connections on 2 edges" gw_is "4 2"
pass "gateway holds 4 tunnel connections spread over 2 edges"

# ---- A: kill -9 edge 1 during transfers
random_file "$LAB_DIR/www/flow.bin" $((6 * 1024))
random_file "$LAB_DIR/www/small.bin" 64
want=$(sha256_file "$LAB_DIR/www/flow.bin")
small=$(sha256_file "$LAB_DIR/www/small.bin")
for i in $(seq 1 12); do
    edge=2
    if ((i > 8)); then edge=1; fi
    ecurl "$edge" -m 120 --limit-rate 256K -o "$dir/flow$i.bin" \
        "http://$PRIV_IP:8000/flow.bin" 2>"$dir/flow$i.err" &
    pids+=($!)
    echo "$edge $!" >>"$dir/flows"
done
started() {
    local i
    for i in $(seq 1 12); do
        [[ -f $dir/flow$i.bin ]] && (($(file_size "$dir/flow$i.bin") >= 512 * 1024)) || return 1
    done
}
wait_for 30 "every flow to be under way" started
log "12 flows under way (8 through edge 2, 4 through edge 1); killing edge 1"
t_kill=$(now_ms)
bash "$LAB" kill-edge 1
ok_new() { ecurl 2 -m 5 -o "$dir/new.bin" "http://$PRIV_IP:8000/small.bin" 2>/dev/null; }
wait_for 5 "a new flow through edge 2" ok_new
t_new=$(($(now_ms) - t_kill))
assert_eq "$small" "$(sha256_file "$dir/new.bin")" "new flow through edge 2 right after the kill"
((t_new < 1000)) || fail "first new flow through edge 2 took $t_new ms (want < 1000)"
summary+=("edge 1 killed -> first new flow through edge 2 OK after ${t_new} ms")
wait_for 10 "the gateway to notice edge 1 is gone" gw_is "2 1"
t_lost=$(($(now_ms) - t_kill))
summary+=("edge 1 killed -> gateway down to 2 connections after <= ${t_lost} ms")
okn=0
for i in $(seq 1 20); do
    if ok_new && [[ $(sha256_file "$dir/new.bin") == "$small" ]]; then okn=$((okn + 1)); fi
done
assert_eq 20 "$okn" "new flows through edge 2 while edge 1 is down"

sleep 2 # edge 1 stays down a little (its gateway connections back off meanwhile)
t_restart=$(now_ms)
bash "$LAB" restart-edge 1
wait_for 40 "4 tunnel connections again after edge 1 restarted" gw_is "4 2"
t_back=$(($(now_ms) - t_restart))
((t_back <= 34000)) || fail "back to 4 connections only after $t_back ms (backoff cap 32 s)"
summary+=("edge 1 restarted -> gateway back to 4 connections on 2 edges after ${t_back} ms")
ok_new1() { ecurl 1 -m 5 -o "$dir/new1.bin" "http://$PRIV_IP:8000/small.bin" 2>/dev/null; }
wait_for 5 "a flow through the restarted edge 1" ok_new1
assert_eq "$small" "$(sha256_file "$dir/new1.bin")" "flow through the restarted edge 1"

while read -r edge pid; do
    rc=0
    wait "$pid" || rc=$?
    i=$((i + 1))
    echo "$edge $rc" >>"$dir/results"
done <"$dir/flows"
pids=()
intact=0 failed1=0
for i in $(seq 1 12); do
    edge=$(sed -n "${i}p" "$dir/results" | cut -d' ' -f1)
    rc=$(sed -n "${i}p" "$dir/results" | cut -d' ' -f2)
    if ((edge == 2)); then
        [[ $rc == 0 ]] || fail "flow $i through edge 2 failed: $(cat "$dir/flow$i.err")"
        [[ $(sha256_file "$dir/flow$i.bin") == "$want" ]] || fail "flow $i: sha256 mismatch"
        intact=$((intact + 1))
    elif [[ $rc != 0 || $(sha256_file "$dir/flow$i.bin") == "$want" ]]; then
        failed1=$((failed1 + 1)) # cut short, or already wholly in kernel buffers: never corrupt
    fi
done
assert_eq 8 "$intact" "flows through the surviving edge complete with sha256 intact"
assert_eq 4 "$failed1" "flows through the killed edge end (error or complete), none corrupt"

# ---- B: blackhole edge 2
for i in 1 2; do
    ecurl 1 -m 60 --limit-rate 512K -o "$dir/bh$i.bin" "http://$PRIV_IP:8000/flow.bin" \
        2>"$dir/bh$i.err" &
    pids+=($!)
done
log "blackholing edge 2 (iptables DROP on tcp/7844 in st-edge2)"
t_drop=$(now_ms)
in_ns st-edge2 iptables -I INPUT -p tcp --dport 7844 -j DROP
in_ns st-edge2 iptables -I OUTPUT -p tcp --sport 7844 -j DROP
wait_for 10 "the gateway to declare edge 2 dead" gw_is "2 1"
t_dead=$(($(now_ms) - t_drop))
((t_dead <= 4500)) || fail "blackhole detected after $t_dead ms (heartbeat window 3 s)"
summary+=("edge 2 blackholed -> gateway declared its connections dead after ${t_dead} ms (window 1 s x 3)")
edge2_dropped() { (($(grep -c 'tunnel site1: connection .* closed' "$EDGE_LOG_2") >= 2)); }
wait_for 10 "edge 2 to drop the silent gateway connections" edge2_dropped
t_edge=$(($(now_ms) - t_drop))
summary+=("edge 2 blackholed -> edge 2 dropped the silent connections after <= ${t_edge} ms")
code=$(in_ns st-client curl -s -p -x "$EDGE_PROXY_2" -U "lab:$ACCESS_TOKEN" -m 10 -o /dev/null \
    -w '%{http_connect}' "http://$PRIV_IP:8000/small.bin" 2>/dev/null) || true
assert_eq 502 "$code" "edge 2 answers 502 once the tunnel has no live connection there"
ok_new1
assert_eq "$small" "$(sha256_file "$dir/new1.bin")" "new flows through edge 1 during the blackhole"
for i in 1 2; do
    wait "${pids[$i - 1]}" || fail "transfer $i through edge 1 failed: $(cat "$dir/bh$i.err")"
    assert_eq "$want" "$(sha256_file "$dir/bh$i.bin")" "transfer $i through edge 1 intact"
done
pids=()
t_lift=$(now_ms)
in_ns st-edge2 iptables -F INPUT
in_ns st-edge2 iptables -F OUTPUT
wait_for 45 "4 connections after the blackhole is lifted" gw_is "4 2"
summary+=("blackhole lifted -> back to 4 connections after $(($(now_ms) - t_lift)) ms")

# ---- C: one of edge 1's two tunnel connections reset
for i in $(seq 1 8); do
    ecurl 1 -m 60 --limit-rate 512K -o "$dir/c$i.bin" "http://$PRIV_IP:8000/flow.bin" \
        2>"$dir/c$i.err" &
    pids+=($!)
done
c_started() {
    local i
    for i in $(seq 1 8); do
        [[ -f $dir/c$i.bin ]] && (($(file_size "$dir/c$i.bin") >= 256 * 1024)) || return 1
    done
}
wait_for 30 "8 downloads through edge 1 under way" c_started
lost0=$(grep -c 'lost:' "$GATEWAY_LOG" || true)
sport=$(in_ns st-bastion ss -Htn state established '( dst 192.0.2.1 and dport = :7844 )' |
    awk '{print $3}' | head -n 1 | sed 's/.*://')
[[ $sport =~ ^[0-9]+$ ]] || fail "no tunnel connection to edge 1 found"
t_rst=$(now_ms)
in_ns st-bastion ss -K -Htn state established "( dst 192.0.2.1 and dport = :7844 and sport = :$sport )" \
    >/dev/null
one_lost() { (($(grep -c 'lost:' "$GATEWAY_LOG" || true) == lost0 + 1)); }
wait_for 5 "the gateway to lose exactly one connection" one_lost
okn=0
for i in $(seq 1 20); do
    if ok_new1 && [[ $(sha256_file "$dir/new1.bin") == "$small" ]]; then okn=$((okn + 1)); fi
done
assert_eq 20 "$okn" "new flows through edge 1 right after one of its connections was reset"
summary+=("one connection reset -> 20 of 20 new flows OK within $(($(now_ms) - t_rst)) ms")
intact=0 cut=0
for i in $(seq 1 8); do
    if wait "${pids[$i - 1]}"; then
        [[ $(sha256_file "$dir/c$i.bin") == "$want" ]] || fail "download $i: sha256 mismatch"
        intact=$((intact + 1))
    else
        cut=$((cut + 1))
    fi
done
pids=()
log "downloads: $intact intact, $cut cut with the reset connection"
((intact >= 3 && intact + cut == 8)) ||
    fail "only $intact of 8 downloads survived (those on the other connection must)"
pass "downloads on the surviving connection complete intact ($intact of 8)"
wait_for 40 "4 connections after the reset" gw_is "4 2"

log "recovery summary:"
for s in "${summary[@]}"; do log "  $s"; done
