#!/usr/bin/env bash
# The gateway guard (defence in depth): inside its exposed routes, the gateway still refuses
# flows to its own host's addresses and to link-local (cloud metadata) addresses, with 403
# and proxy-status destination_ip_prohibited; details="local address", unless
# expose.allow-local lists them:
#   a. CONNECT to the bastion's own 198.51.100.1 (a web server listens there): 403 + the
#      guard's proxy-status, one gateway log line naming the destination and the reason;
#      the private host 198.51.100.10:8000 still answers
#   b. connect-udp (MASQUE client, HTTP/1.1 form and HTTP/2) to 198.51.100.1: 403, same proxy-status
#   c. 169.254.169.254 announced by the tunnel (edge and gateway routes reloaded): 403
#   d. the refusals are counted (subtunnel_guard_refused_total by kind)
#   e. allow-local: [198.51.100.1/32] added and the gateway reloaded (SIGHUP): the bastion's
#      own server is reached, a 2 MiB download intact; 169.254.169.254 is still refused
#   f. an address added to the bastion while the gateway runs (as DHCP or hotplug would)
#      is refused from then on, without a reload (netlink address events)
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl python3
# shellcheck disable=SC2119
lab_up

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BASTION=198.51.100.1
META=169.254.169.254
GUARD_PS='destination_ip_prohibited; details="local address"'
dir=$LAB_DIR/t-guard
rm -rf "$dir"
mkdir -p "$dir/www"
cleanup_dir() { rm -rf "$dir"; }
on_cleanup cleanup_dir
random_file "$dir/www/bastion.bin" 2048
want=$(sha256_file "$dir/www/bastion.bin")
start_httpd guard-httpd "$BASTION:8088" "$dir/www" st-bastion
gw_pid=$(cat "$LAB_DIR/run/gateway.pid")
edge_pid=$(cat "$LAB_DIR/run/edge.pid")
count() { log_count "$@"; }
# metric SERIES: its value at the gateway's /metrics (empty when absent)
metric() {
    in_ns st-bastion curl -sS -m 5 -f "$GATEWAY_METRICS/metrics" | awk -v k="$1" '$1 == k {print $2}'
}

# ---- a. the bastion's own address, inside the exposed 198.51.100.0/24
r=$(proxy_probe "$BASTION:8088" -U "lab:$ACCESS_TOKEN")
assert_eq 403 "${r%% *}" "CONNECT to the bastion's own $BASTION:8088"
assert_eq "subtunnel; error=$GUARD_PS" "${r#* }" "proxy-status of the guard's refusal"
line="refused by the guard: an address of this host"
assert_eq 1 "$(count "flow .* -> $BASTION:8088: $line" "$GATEWAY_LOG")" \
    "one gateway log line naming $BASTION:8088 and the reason"
r=$(pcurl -m 20 "http://$PRIV_IP:8000/file") || fail "private host after a refusal: $r"
assert_match "hello from st-priv" "$r" "the private host $PRIV_IP:8000 still answers"

# ---- b. connect-udp to the bastion's own address, in the HTTP/1.1 upgrade form and over
# HTTP/2 (the gateway's 403 reaches the user, not a stream reset)
for form in --h1 ""; do
    set +e
    # shellcheck disable=SC2086  # $form: one flag or none
    r=$(in_ns st-client python3 "$HERE/masque.py" --proxy 198.18.0.1:8080 --h2c $form \
        --token "$ACCESS_TOKEN" --target "$BASTION:53" --dns host.corp.test 2>&1)
    rc=$?
    set -e
    ((rc == 2)) || fail "masque ${form:-h2} connect-udp to $BASTION:53: exit $rc, want 2: $r"
    assert_match "403" "$r" "connect-udp ${form:-h2}: 403"
    assert_match "proxy-status: subtunnel; error=$GUARD_PS" "$r" \
        "connect-udp ${form:-h2}: the guard's proxy-status"
done
assert_eq 2 "$(count "udp flow .* -> $BASTION:53: $line" "$GATEWAY_LOG")" \
    "one gateway log line for each udp flow"

# ---- c. 169.254.169.254 (cloud metadata) announced by the tunnel: still refused
sed -i "s|^    routes: \[198.51.100.0/24|    routes: [198.51.100.0/24, $META/32|" "$EDGE_CONFIG"
grep -q "^    routes: \[198.51.100.0/24, $META/32" "$EDGE_CONFIG" || fail "$META/32 not added to the edge"
hup_reload "$edge_pid" "$EDGE_LOG"
sed -i "s|^  routes: \[198.51.100.0/24|  routes: [198.51.100.0/24, $META/32|" "$GATEWAY_CONFIG"
grep -q "^  routes: \[198.51.100.0/24, $META/32" "$GATEWAY_CONFIG" || fail "$META/32 not added to the gateway"
hup_reload "$gw_pid" "$GATEWAY_LOG"
wait_for 20 "4 connections registered with $META/32 announced" gw_settled "$GATEWAY_LOG"
r=$(proxy_probe "$META:80" -U "lab:$ACCESS_TOKEN")
assert_eq 403 "${r%% *}" "CONNECT to $META:80 inside the announced routes"
assert_eq "subtunnel; error=$GUARD_PS" "${r#* }" "$META: the guard's proxy-status"
assert_eq 1 "$(count "flow .* -> $META:80: refused by the guard: link-local/metadata" \
    "$GATEWAY_LOG")" "one gateway log line for $META"

# ---- d. counted by kind
assert_eq 2 "$(metric 'subtunnel_guard_refused_total{kind="tcp"}')" "guard refusals (tcp)"
assert_eq 2 "$(metric 'subtunnel_guard_refused_total{kind="udp"}')" "guard refusals (udp)"

# ---- e. allow-local lists the bastion's address: reachable after a reload
sed -i "s|^  connect-timeout: 10$|  connect-timeout: 10\n  allow-local: [$BASTION/32]|" \
    "$GATEWAY_CONFIG"
grep -q "^  allow-local: \[$BASTION/32\]$" "$GATEWAY_CONFIG" || fail "allow-local not added"
hup_reload "$gw_pid" "$GATEWAY_LOG"
assert_match 'SIGHUP: configuration reloaded \(no connection change\)' \
    "$(after_last 'SIGHUP: configuration reloaded' "$GATEWAY_LOG")" \
    "allow-local applies without replacing the edge connections"
pcurl -m 30 -o "$dir/got.bin" "http://$BASTION:8088/bastion.bin" 2>"$dir/curl.err" ||
    fail "download from the bastion after allow-local: $(cat "$dir/curl.err")"
assert_eq "$want" "$(sha256_file "$dir/got.bin")" "2 MiB from the bastion's own $BASTION:8088 intact"
r=$(proxy_probe "$META:80" -U "lab:$ACCESS_TOKEN")
assert_eq "403 subtunnel; error=$GUARD_PS" "$r" "$META still refused (not in allow-local)"
assert_eq 3 "$(metric 'subtunnel_guard_refused_total{kind="tcp"}')" "guard refusals (tcp) after"

# ---- f. a new address of the bastion is guarded at once (no reload)
NEW=198.51.100.2
lan=$(in_ns st-bastion ip -o -4 addr show | awk -v a="$BASTION/" 'index($4, a) == 1 {print $2}')
[[ -n $lan ]] || fail "no interface holds $BASTION in st-bastion"
in_ns st-bastion ip addr add "$NEW/32" dev "$lan"
guarded() { [[ $(proxy_probe "$NEW:8088" -U "lab:$ACCESS_TOKEN") == "403 subtunnel; error=$GUARD_PS" ]]; }
wait_for 10 "$NEW (just added to $lan) refused by the guard" guarded
pass "$NEW added to the bastion is refused without a reload"
assert_eq 1 "$(count "flow .* -> $NEW:8088: $line" "$GATEWAY_LOG")" "one gateway log line for $NEW"
