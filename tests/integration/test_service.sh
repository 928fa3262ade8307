#!/usr/bin/env bash
# The daemons as system services (issue 21, items 3 and 4), in the lab, which runs them with
# `user: nobody`, `group: nogroup`, started with NOTIFY_SOCKET (a socket notify.py binds, as
# systemd's) and WATCHDOG_USEC=1 s:
#  a. /proc/PID/status: both run as nobody:nogroup; the edge keeps no capability, and nor
#     does the lab's site-1 gateway here (expose only: CAP_NET_ADMIN is kept with reach,
#     test_reach_routes checks that); nothing inheritable or ambient; no_new_privs; flows work
#  b. READY=1 from each (the gateway's once a tunnel connection registered: its STATUS= says
#     so), STATUS= lines with the counts, WATCHDOG=1 about every 0.5 s from each, sent by
#     uid nobody
#  c. SIGHUP: RELOADING=1 then READY=1, from the edge and from the gateway; a reload that
#     changes `user` keeps the running one (warning), still as nobody
#  d. SIGTERM to the edge: STOPPING=1 with a draining STATUS=
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl python3

dir=$(mktemp -d /tmp/st-service.XXXXXX) # short: a unix socket path has at most 107 bytes
notes=$dir/notes
notify_pid=""
cleanup() {
    if [[ -n $notify_pid ]]; then kill "$notify_pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
on_cleanup cleanup
python3 "$ST_SOURCE_DIR/tests/integration/notify.py" "$dir/notify.sock" "$notes" >"$dir/py.out" &
notify_pid=$!
bound() { grep -q ready "$dir/py.out"; }
for ((i = 0; i < 50; i++)); do bound && break; sleep 0.1; done
bound || fail "notify.py did not bind $dir/notify.sock"

# shellcheck disable=SC2119
NOTIFY_SOCKET=$dir/notify.sock WATCHDOG_USEC=1000000 lab_up
[[ $LAB_USER != none ]] || fail "the lab runs its daemons as root (LAB_USER=none; lab.sh up" \
    "says why, e.g. a LAB_DIR that nobody cannot enter)"
edge_pid=$(cat "$LAB_DIR/run/edge.pid")
gw_pid=$(cat "$LAB_DIR/run/gateway.pid")
nobody_uid=$(id -u nobody)
nogroup_gid=$(getent group nogroup | cut -d: -f3)

# ---- a. identities and capabilities
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '\t ' ' ' | sed 's/ $//'; }
for who in edge:$edge_pid gateway:$gw_pid; do
    name=${who%%:*} pid=${who##*:}
    assert_eq "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" "$(field "$pid" Uid)" "$name uid"
    assert_eq "$nogroup_gid $nogroup_gid $nogroup_gid $nogroup_gid" "$(field "$pid" Gid)" \
        "$name gid"
    assert_eq 0000000000000000 "$(field "$pid" CapInh)" "$name inheritable capabilities"
    assert_eq 0000000000000000 "$(field "$pid" CapAmb)" "$name ambient capabilities"
    assert_eq 1 "$(field "$pid" NoNewPrivs)" "$name no_new_privs"
done
for set in CapEff CapPrm CapBnd; do
    assert_eq 0000000000000000 "$(field "$edge_pid" $set)" "edge $set: no capability"
    assert_eq 0000000000000000 "$(field "$gw_pid" $set)" "gateway (expose only) $set: none"
done
assert_match "running as user nobody, group nogroup \(uid $nobody_uid gid $nogroup_gid, capabilities: none\)" \
    "$(cat "$EDGE_LOG")" "edge logs its switch"
assert_match "running as user nobody, group nogroup \(uid $nobody_uid gid $nogroup_gid, capabilities: none\)" \
    "$(cat "$GATEWAY_LOG")" "gateway logs its switch"
pcurl -m 10 -o /dev/null "http://$PRIV_IP:8000/file" || fail "a flow through the lab as nobody"
pass "a flow through the edge and the gateway running as nobody"

# ---- b. READY, STATUS, WATCHDOG
# from PID PATTERN: the notes of PID whose message matches PATTERN (grep -E)
from() { awk -v p="$1" '$2 == p' "$notes" | cut -d' ' -f3- | grep -E -- "$2" || true; }
has() { [[ -n $(from "$1" "$2") ]]; }
wait_for 10 "READY=1 from the edge" has "$edge_pid" '^[0-9]+ READY=1'
wait_for 10 "READY=1 from the gateway" has "$gw_pid" '^[0-9]+ READY=1'
assert_match "^$nobody_uid READY=1\|STATUS=[0-9]+ tunnel connections registered, [0-9]+ flows open$" \
    "$(from "$edge_pid" READY=1)" "edge: READY=1 with its STATUS, sent as nobody"
assert_match "^$nobody_uid READY=1\|STATUS=[1-4] of 4 tunnel connections registered, on 1 edges; [0-9]+ flows open$" \
    "$(from "$gw_pid" READY=1)" "gateway: READY=1 once registered"
assert_eq 1 "$(from "$gw_pid" READY=1 | wc -l)" "one READY=1 from the gateway"
wd() { from "$1" '^[0-9]+ WATCHDOG=1$' | wc -l; }
w_edge=$(wd "$edge_pid") w_gw=$(wd "$gw_pid")
sleep 3
w_edge=$(($(wd "$edge_pid") - w_edge)) w_gw=$(($(wd "$gw_pid") - w_gw))
((w_edge >= 4 && w_edge <= 8)) || fail "edge: $w_edge WATCHDOG=1 in 3 s (WATCHDOG_USEC 1 s)"
((w_gw >= 4 && w_gw <= 8)) || fail "gateway: $w_gw WATCHDOG=1 in 3 s (WATCHDOG_USEC 1 s)"
pass "WATCHDOG=1 every ~0.5 s: edge $w_edge, gateway $w_gw in 3 s"
status_4() { has "$edge_pid" '^[0-9]+ STATUS=4 tunnel connections registered'; }
wait_for 5 "the edge's STATUS= to count the 4 registered connections" status_4
pass "edge STATUS= follows its connections"

# ---- c. reloads
# after_mark N PID: PID's messages after the first N lines of the notes, RELOADING/READY only
after_mark() { tail -n +"$(($1 + 1))" "$notes" | awk -v p="$2" '$2 == p' | cut -d' ' -f4 |
    grep -oE '^(RELOADING|READY)=1' | tr '\n' ' ' || true; }
# reloaded MARK PID: exactly RELOADING=1 then READY=1 from PID since MARK
reloaded() { [[ $(after_mark "$1" "$2") == "RELOADING=1 READY=1 " ]]; }
for who in edge:$edge_pid gateway:$gw_pid; do
    name=${who%%:*} pid=${who##*:}
    mark=$(wc -l <"$notes")
    kill -HUP "$pid"
    wait_for 10 "$name: RELOADING=1 then READY=1" reloaded "$mark" "$pid"
    pass "$name: SIGHUP gives RELOADING=1 then READY=1"
done
sed -i 's/^user: nobody$/user: daemon/' "$EDGE_CONFIG"
mark=$(wc -l <"$notes")
kill -HUP "$edge_pid"
wait_for 10 "edge: warning for the user change" \
    grep -q 'SIGHUP: user and group need a restart; keeping the running ones' "$EDGE_LOG"
wait_for 10 "edge: RELOADING=1 then READY=1 after that reload" reloaded "$mark" "$edge_pid"
assert_eq "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" "$(field "$edge_pid" Uid)" \
    "edge still nobody after a reload that names another user"
sed -i 's/^user: daemon$/user: nobody/' "$EDGE_CONFIG"

# ---- d. drain
kill -TERM "$edge_pid"
stopping() { has "$edge_pid" '^[0-9]+ STOPPING=1\|STATUS=draining: '; }
wait_for 10 "STOPPING=1 from the edge" stopping
pass "edge: SIGTERM gives STOPPING=1 with a draining STATUS"
