#!/usr/bin/env bash
# Error answers of the access proxy (status + proxy-status), and ssh through a
# socat ProxyCommand.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl socat ssh sshd ssh-keygen
# shellcheck disable=SC2119
lab_up
auth=(-U "lab:$ACCESS_TOKEN")

r=$(proxy_probe "$PRIV_IP:8000" "${auth[@]}")
assert_eq 200 "${r%% *}" "CONNECT to a listening port"

r=$(proxy_probe "$PRIV_IP:9" "${auth[@]}")
assert_eq 502 "${r%% *}" "refused port status"
assert_match "connection_refused" "$r" "refused port proxy-status"

r=$(proxy_probe 203.0.113.99:80 "${auth[@]}")
assert_eq 403 "${r%% *}" "destination nobody exposes"
assert_match "destination_ip_prohibited" "$r" "prohibited proxy-status"

r=$(proxy_probe "$PRIV_IP:8000" -U "lab:wrong-$ACCESS_TOKEN")
assert_eq 407 "${r%% *}" "wrong access token"
r=$(proxy_probe "$PRIV_IP:8000")
assert_eq 407 "${r%% *}" "no access token"
r=$(in_ns st-client curl -s -p -x "$EDGE_PROXY" --proxy-header "Proxy-Authorization: Bearer $ACCESS_TOKEN" \
    -m 20 "http://$PRIV_IP:8000/file") || true
assert_match "hello from st-priv" "$r" "Bearer proxy authorization"

connect_timeout=$(sed -n 's/^ *connect-timeout: *\([0-9]*\).*/\1/p' "$GATEWAY_CONFIG" | head -n 1)
SECONDS=0
r=$(proxy_probe 198.51.100.12:80 "${auth[@]}")
elapsed=$SECONDS
assert_eq 504 "${r%% *}" "unanswered destination"
assert_match "connection_timeout" "$r" "timeout proxy-status"
((elapsed <= ${connect_timeout:-10} + 5)) ||
    fail "timeout answer after ${elapsed}s (connect-timeout ${connect_timeout:-10}s + 5)"
pass "timeout answered after ${elapsed}s"

# Misbehaving peers on the access listener get their own answer (GOAWAY, 431)
# while a flow in progress on the same edge keeps going, intact.
bdir=$LAB_DIR/t-errors-bad
rm -rf "$bdir"
mkdir -p "$bdir/srv"
cleanup_bdir() { rm -rf "$bdir"; }
on_cleanup cleanup_bdir
random_file "$bdir/srv/slow.bin" 3072
start_httpd errors-httpd "$PRIV_IP:8083" "$bdir/srv"
pcurl -m 60 --limit-rate 1M -o "$bdir/slow.out" "http://$PRIV_IP:8083/slow.bin" &
slow=$!
growing() { [[ -s $bdir/slow.out ]]; }
wait_for 15 "slow download under way" growing
bad=$ST_SOURCE_DIR/tests/integration/badpeer.py
r=$(in_ns st-client python3 "$bad" h2-garbage "${EDGE_PROXY#http://}") || fail "no answer to malformed HTTP/2"
assert_eq "GOAWAY 1" "$r" "malformed HTTP/2 frame -> GOAWAY(PROTOCOL_ERROR)"
r=$(in_ns st-client python3 "$bad" h1-bighead "${EDGE_PROXY#http://}") || fail "no answer to oversized head"
assert_match "^HTTP/1.1 431 " "$r" "oversized request head"
wait "$slow" || fail "download in progress broke while peers misbehaved"
assert_eq "$(sha256_file "$bdir/srv/slow.bin")" "$(sha256_file "$bdir/slow.out")" \
    "download intact alongside misbehaving peers"

# ssh through the proxy: sshd in st-priv with throwaway keys
sdir=$LAB_DIR/t-errors-ssh
rm -rf "$sdir"
cleanup_dir() { rm -rf "$sdir"; }
on_cleanup cleanup_dir
start_sshd sshd st-priv "$PRIV_IP" "$sdir"
phost=${EDGE_PROXY#http://}
pport=${phost##*:}
phost=${phost%:*}
out=$(in_ns st-client timeout 60 ssh "${SSH_OPTS[@]}" -i "$sdir/user_key" \
    -o "ProxyCommand=socat - PROXY:$phost:%h:%p,proxyport=$pport,proxyauth=lab:$ACCESS_TOKEN" \
    "root@$PRIV_IP" echo ok) || fail "ssh through the proxy failed"
assert_eq ok "$out" "ssh through ProxyCommand"
