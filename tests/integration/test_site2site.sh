#!/usr/bin/env bash
# Site to site through reach + expose gateways (lab --sites 2): plain IP, no proxy
# settings. ssh, 100 MiB both ways (sha256), 200 parallel flows each way, 4000 flows open
# at once, the real source
# address seen by the servers, RST for a CIDR nobody owns and for a destination the edge's
# policy denies. The gateways' TUN MTU is 1420 while every transfer runs with DF set
# (Linux TCP): lwIP's MSS follows the TUN MTU, so nothing needs fragmenting.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl ssh sshd ssh-keygen iperf3
export LAB_TUN_MTU=1420
lab_up --sites 2
assert_match "mtu 1420" "$(in_ns st-bastion ip link show st0)" "TUN MTU on bastion 1"

# assert_reset RC WHAT: curl saw a TCP reset. The gateway resets the captured connection as
# soon as the edge refuses it, often within 1 ms of the handshake: curl then reports the
# reset either while it still checks the connect (7, "Couldn't connect to server") or on
# its first read (56, "Connection reset by peer"). A timeout (28) or success fails.
assert_reset() {
    local rc=$1 what=$2 err
    err=$(cat "$dir/err")
    [[ $rc == 56 || ($rc == 55 && $err == *"reset by peer"*) || ($rc == 7 && $err == *"Couldn't connect"*) ]] ||
        fail "$what: curl exit $rc ($err), want a reset (56, 55 when it hits curl's send, or 7 right after the handshake)"
    pass "$what (curl $rc: $err)"
}

P1=198.51.100.10 # site 1 host
P2=203.0.113.10  # site 2 host
N=${ST_CONCURRENT_FLOWS:-200}
dir=$LAB_DIR/t-s2s
rm -rf "$dir"
mkdir -p "$dir/srv" "$dir/out1" "$dir/out2"
cleanup() { rm -rf "$dir"; }
on_cleanup cleanup
random_file "$dir/srv/big.bin" $((100 * 1024))
for ((i = 0; i < N; i++)); do random_file "$dir/srv/f$i" 256; done
(cd "$dir/srv" && sha256sum f*) | sort >"$dir/want.sha"
want=$(sha256_file "$dir/srv/big.bin")
start_httpd s2s-httpd1 "$P1:8090" "$dir/srv" st-priv
start_httpd s2s-httpd2 "$P2:8090" "$dir/srv" st-priv2

# Source preservation: each server sees the other site's host itself, not a gateway.
r=$(in_ns st-priv curl -sS -m 10 "http://$P2:8090/whoami") || fail "site 1 -> site 2 failed"
assert_match "^$P1 [0-9]+$" "$r" "site 2 server sees site 1's host address"
r=$(in_ns st-priv2 curl -sS -m 10 "http://$P1:8090/whoami") || fail "site 2 -> site 1 failed"
assert_match "^$P2 [0-9]+$" "$r" "site 1 server sees site 2's host address"

# 100 MiB each way, download and upload, with sha256
for dirn in "st-priv $P2" "st-priv2 $P1"; do
    read -r ns peer <<<"$dirn"
    SECONDS=0
    in_ns "$ns" curl -sS -m 120 -o "$dir/$ns.bin" "http://$peer:8090/big.bin" ||
        fail "$ns: 100 MiB download from $peer failed"
    assert_eq "$want" "$(sha256_file "$dir/$ns.bin")" "$ns <- $peer 100 MiB download (${SECONDS}s)"
    rm -f "$dir/$ns.bin"
    r=$(in_ns "$ns" curl -sS -m 120 -T "$dir/srv/big.bin" "http://$peer:8090/up") ||
        fail "$ns: 100 MiB upload to $peer failed"
    assert_eq "$want $((100 * 1024 * 1024))" "$r" "$ns -> $peer 100 MiB upload"
done

# N parallel flows each way
for dirn in "st-priv $P2 out1" "st-priv2 $P1 out2"; do
    read -r ns peer out <<<"$dirn"
    SECONDS=0
    pids=()
    for ((i = 0; i < N; i++)); do
        in_ns "$ns" curl -sS -m 120 -o "$dir/$out/f$i" "http://$peer:8090/f$i" \
            2>"$dir/$out/err$i" &
        pids+=($!)
    done
    wait_flows "$ns" "$dir/$out" "${pids[@]}"
    assert_eq 0 "$FLOWS_FAILED" "$ns: failed curls among $N parallel flows to $peer"
    assert_sums "$dir/want.sha" "$dir/$out" "$ns: $N parallel flows to $peer intact (${SECONDS}s)"
done

# Many flows at once: ST_HELD_FLOWS (4000) connections site 1 -> site 2 held open together
# (st-flowgen counts one once the server's first byte arrived). The gateways' lwIP finds
# each segment's pcb through a 4-tuple index (netstack patch 0004) and the expose side
# binds without walking the other flows (ns_tcp_connect_from, ns_tcp_pick_port).
H=${ST_HELD_FLOWS:-4000}
lim=$(ulimit -Hn) # st-flowgen needs one descriptor per flow (it raises its soft limit)
[[ $lim == unlimited ]] || ((lim - 256 >= H)) || H=$((lim - 256))
start_bg s2s-flowgen st-priv2 "$BUILD_DIR/st-flowgen" serve "$P2" 7102 1
wait_for 15 "st-flowgen serve on $P2:7102" listening st-priv2 "$P2:7102"
mkfifo "$dir/hold"
in_ns st-priv "$BUILD_DIR/st-flowgen" hold "$P2" 7102 1 --count "$H" --parallel 256 \
    <"$dir/hold" >"$dir/hold.out" 2>&1 &
hold_pid=$!
exec {hold_fd}>"$dir/hold"
SECONDS=0
wait_for 120 "$H flows held" grep -q '^held' "$dir/hold.out"
assert_match "^held $H/$H " "$(grep '^held' "$dir/hold.out")" "$H flows site 1 -> site 2 open at once (${SECONDS}s)"
for gw in "expose $GATEWAY_LOG_2" "reach $GATEWAY_LOG"; do
    read -r role log <<<"$gw"
    live=$(gw_stat "$log" tcp_live)
    ((live >= H)) || fail "$role gateway: tcp_live=$live while $H flows are open"
    pass "$role gateway holds them all (tcp_live=$live)"
done
exec {hold_fd}>&-
wait "$hold_pid" || true

# iperf3 both ways (2 s each): it completes and moves data
for dirn in "st-priv $P2 st-priv2" "st-priv2 $P1 st-priv"; do
    read -r ns peer sns <<<"$dirn"
    start_bg "iperf3-$sns" "$sns" iperf3 -s -1 -B "$peer" -p 5299
    wait_for 15 "iperf3 server on $peer" listening "$sns" "$peer:5299"
    rc=0
    in_ns "$ns" timeout 30 iperf3 -c "$peer" -p 5299 -t 2 -J >"$dir/iperf.json" || rc=$?
    ((rc == 0)) || fail "iperf3 $ns -> $peer failed (exit $rc): $(tail -c 400 "$dir/iperf.json")"
    bytes=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' \
        <"$dir/iperf.json")
    ((bytes > 10 * 1024 * 1024)) || fail "iperf3 $ns -> $peer moved only $bytes bytes"
    pass "iperf3 $ns -> $peer: $((bytes / 1024 / 1024)) MiB in 2 s"
done

# ssh both ways (the remote shell expands $SSH_CONNECTION)
s1=$dir/ssh1 s2=$dir/ssh2
start_sshd s2s-sshd1 st-priv "$P1" "$s1"
start_sshd s2s-sshd2 st-priv2 "$P2" "$s2"
# shellcheck disable=SC2016
r=$(in_ns st-priv timeout 60 ssh "${SSH_OPTS[@]}" -i "$s2/user_key" "root@$P2" \
    'echo $SSH_CONNECTION' 2>"$dir/ssh.err") || fail "ssh site 1 -> site 2 failed: $(cat "$dir/ssh.err")"
assert_match "^$P1 [0-9]+ $P2 22$" "$r" "ssh site 1 -> site 2 (SSH_CONNECTION)"
# shellcheck disable=SC2016
r=$(in_ns st-priv2 timeout 60 ssh "${SSH_OPTS[@]}" -i "$s1/user_key" "root@$P1" \
    'echo $SSH_CONNECTION' 2>"$dir/ssh.err") || fail "ssh site 2 -> site 1 failed: $(cat "$dir/ssh.err")"
assert_match "^$P2 [0-9]+ $P1 22$" "$r" "ssh site 2 -> site 1 (SSH_CONNECTION)"

# A CIDR routed to the edge that no tunnel owns: the client gets a reset, quickly.
SECONDS=0
rc=0
in_ns st-priv curl -sS -m 10 "http://198.18.200.1:80/" 2>"$dir/err" || rc=$?
assert_reset "$rc" "curl to an unowned CIDR ends in a reset"
((SECONDS <= 2)) || fail "reset took ${SECONDS}s"

# Site 2 may reach only 198.51.100.10 in site 1: force a route for .11 on its bastion
# (as a misconfigured gateway would) and the edge's policy still refuses it.
in_ns st-bastion2 ip route add 198.51.100.11/32 dev st0
rc=0
in_ns st-priv2 curl -sS -m 10 "http://198.51.100.11:8001/" 2>"$dir/err" || rc=$?
assert_reset "$rc" "flow the edge policy denies ends in a reset"
assert_match "flow $P2:[0-9]+ -> 198.51.100.11:8001: refused: tunnel site2 may not reach it" \
    "$(cat "$EDGE_LOG")" "edge log of the denied flow"

# --snat on bastion 2: site 2's hosts see the bastion's address instead.
dev=$(in_ns st-bastion2 ip -4 -o route get "$P2" | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')
in_ns st-bastion2 bash "$ST_SOURCE_DIR/scripts/bastion-setup.sh" --snat --dev "$dev" --tun st0 >/dev/null
r=$(in_ns st-priv curl -sS -m 10 "http://$P2:8090/whoami") || fail "site 1 -> site 2 with --snat failed"
assert_match "^203\.0\.113\.1 [0-9]+$" "$r" "--snat: site 2 server sees bastion 2's LAN address"
in_ns st-bastion2 bash "$ST_SOURCE_DIR/scripts/bastion-setup.sh" --undo --snat --dev "$dev" --tun st0 >/dev/null
r=$(in_ns st-priv curl -sS -m 10 "http://$P2:8090/whoami") || fail "site 1 -> site 2 after --undo failed"
assert_match "^$P1 [0-9]+$" "$r" "after --undo: source preserved again"
