#!/usr/bin/env bash
# Relay between the edges of a fleet (issue 22): lab.sh up --edges 3 --sites 2, where
# site 1's gateway dials edges 1 and 2 only.
#   a. 100 MiB through edge 3's CONNECT proxy to site 1 (relayed to edge 1 or 2): sha256
#      equal both ways; edge 3 logs the relay connection, the holder the relayed edge
#      (and 4 MiB from the IPv6 host [2001:db8:51::10]:8000)
#   b. a client without the fleet certificate is refused on the relay port; one with a user
#      certificate of the lab CA too (another CA)
#   c. the holder checks the policy again: a token edge 3 accepts but the holder does not
#      know (edge 3's file only) is refused there
#   d. the holder edge 3 relays to is killed (-9): downloads through edge 3 keep working
#      (sha256), relayed to the other holder
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl sha256sum openssl redis-server
lab_up --edges 3 --sites 2

dir=$LAB_DIR/t-relay
rm -rf "$dir"
mkdir -p "$dir/srv"
cleanup_dir() { rm -rf "$dir" "$LAB_DIR/www/t-relay6.bin"; }
on_cleanup cleanup_dir
random_file "$dir/srv/big.bin" $((100 * 1024))
want=$(sha256_file "$dir/srv/big.bin")
start_httpd relay-httpd "$PRIV_IP:8082" "$dir/srv"
# rcurl ARGS...: curl through edge 3's CONNECT proxy as the lab user
rcurl() { in_ns st-client curl -sS -p -x "$EDGE_PROXY_3" -U "lab:$ACCESS_TOKEN" "$@"; }

# ---- a. relayed transfers
log "download 100 MiB through edge 3 ($EDGE_PROXY_3), which holds no connection of site1"
rcurl -m 300 -o "$dir/down.bin" "http://$PRIV_IP:8082/big.bin" || fail "download failed (curl $?)"
assert_eq "$want" "$(sha256_file "$dir/down.bin")" "relayed download sha256"
rm -f "$dir/down.bin"
answer=$(rcurl -m 300 -T "$dir/srv/big.bin" "http://$PRIV_IP:8082/upload") ||
    fail "relayed upload failed"
assert_eq "$want $((100 * 1024 * 1024))" "$answer" "relayed upload sha256 and size at the server"
assert_match 'relay.*lab-edge-[12]' "$(cat "$EDGE_LOG_3")" "edge 3 logs its relay connection"
held=$(cat "$EDGE_LOG" "$EDGE_LOG_2")
assert_match 'relay 192\.0\.2\.3:[0-9]+: edge lab-edge-3 connected' "$held" \
    "the holding edge logs edge 3's relay connection"

# an IPv6 target (issue 23), relayed the same way: st-priv's web server on 2001:db8:51::10
random_file "$LAB_DIR/www/t-relay6.bin" $((4 * 1024))
rcurl -g -m 60 -o "$dir/down6.bin" "http://[2001:db8:51::10]:8000/t-relay6.bin" ||
    fail "relayed download from [2001:db8:51::10]:8000 failed"
assert_eq "$(sha256_file "$LAB_DIR/www/t-relay6.bin")" "$(sha256_file "$dir/down6.bin")" \
    "relayed download from an IPv6 target sha256"

# ---- b. the relay port wants the fleet's certificates
for n in 1 2; do
    # -ign_eof: read until the server closes, so its alert (after our Finished) is seen
    out=$(in_ns st-edge3 timeout 10 openssl s_client -connect "192.0.2.$n:7845" -alpn h2 \
        -CAfile "$FLEET_CA" -ign_eof </dev/null 2>&1 || true)
    assert_match 'alert certificate required' "$out" \
        "edge $n's relay port refuses a client without a certificate"
    out=$(in_ns st-edge3 timeout 10 openssl s_client -connect "192.0.2.$n:7845" -alpn h2 \
        -CAfile "$FLEET_CA" -cert "$CLIENT_CERT" -key "$CLIENT_KEY" -ign_eof </dev/null 2>&1 ||
        true)
    assert_match 'alert (unknown ca|bad certificate|certificate unknown|decrypt error)' "$out" \
        "edge $n's relay port refuses a user certificate of the lab CA"
done
refused=$(grep -c 'relay port .*TLS handshake' "$EDGE_LOG" "$EDGE_LOG_2" |
    awk -F: '{ n += $2 } END { print n + 0 }')
((refused >= 4)) || fail "expected >= 4 refused relay handshakes logged at edges 1 and 2, got $refused"
pass "relay ports refuse clients without the fleet certificate"

# ---- c. the holder checks the policy again: a user only edge 3 knows
tok=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
hash=$(printf %s "$tok" | sha256sum | cut -d' ' -f1)
cp "$EDGE_CONFIG_3" "$dir/edge3.yaml.good"
restore3() { cp "$dir/edge3.yaml.good" "$EDGE_CONFIG_3" && kill -HUP "$(cat "$LAB_DIR/run/edge3.pid")"; }
on_cleanup restore3
awk -v h="$hash" '{print} /^users:/{print "  - {name: only3, groups: [admins], token-sha256: " h "}"}' \
    "$dir/edge3.yaml.good" >"$EDGE_CONFIG_3"
grep -q "name: only3" "$EDGE_CONFIG_3" || fail "token not added to edge 3's config"
hup_reload "$(cat "$LAB_DIR/run/edge3.pid")" "$EDGE_LOG_3"
code=$(in_ns st-client curl -s -p -x "$EDGE_PROXY_3" -U "only3:$tok" -m 20 -o /dev/null \
    -w '%{http_connect}' "http://$PRIV_IP:8082/big.bin" 2>/dev/null || true)
assert_eq 407 "$code" "a user the holding edge does not know: its answer through the relay"
# edge 3 let the flow through (its own policy allows admins): the 407 came from the holder
assert_match '"event":"decision","location":"lab-edge-3","user":"only3".*"verdict":"allow"' \
    "$(cat "$LAB_DIR/logs/audit3.log")" "edge 3 allowed only3's flow and relayed it"
pass "relayed flows are checked again at the holding edge"

# ---- d. the holder edge 3 relays to is killed: new flows through edge 3 go to the other
# holder at once (its cache still lists the dead one until the lease lapses; a relay
# connection that fails before it is up hands its flows to the next holder)
cp "$dir/edge3.yaml.good" "$EDGE_CONFIG_3"
hup_reload "$(cat "$LAB_DIR/run/edge3.pid")" "$EDGE_LOG_3"
kill_relay_holder
dead=$RELAY_DEAD
for i in 1 2 3 4; do
    rcurl -m 20 -o "$dir/after.bin" "http://$PRIV_IP:8082/big.bin" ||
        fail "download $i through edge 3 after edge $dead was killed failed (curl $?)"
    assert_eq "$want" "$(sha256_file "$dir/after.bin")" \
        "download $i through edge 3 with holder edge $dead dead"
done
