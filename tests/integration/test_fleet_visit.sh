#!/usr/bin/env bash
# Visitors' host-name requests relayed between the edges of a fleet (issue 22): lab.sh up
# --edges 3 --sites 2, where site 1's gateway dials edges 1 and 2 only, so edge 3 relays.
#   a. a visitor at edge 3 gets https://app.lab.test (HTTP/2 and HTTP/1.1): 200 and the
#      origin's file (sha256); an upload arrives intact; a WebSocket echoes; edge 3's audit
#      record names the edge it relayed to, the holder's the edge it came from and the
#      visitor's address (so do a CONNECT flow's)
#   b. private.lab.test (group admins) through edge 3: 401 without credentials, 403 for dev,
#      200 with the lab admin token as the Basic password; the origin never sees it
#   c. the holder checks again: a relayed request with a forged or no identity, sent with a
#      fleet certificate straight to the holder's relay port, gets 401; edge 3, which holds
#      no connection of site 1, does not relay a relayed request further (502)
#   d. the holder edge 3 relays to is killed (-9): requests through edge 3 go on (sha256),
#      to the other holder
#   e. the other holder is killed too: the request goes from holder to holder (each relay
#      connection fails before it is up) and ends in a clean 502
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl sha256sum python3 redis-server
lab_up --edges 3 --sites 2

dir=$LAB_DIR/www/t-visit
rm -rf "$dir"
mkdir -p "$dir"
cleanup_dir() { rm -rf "$dir"; }
on_cleanup cleanup_dir
random_file "$dir/big.bin" $((4 * 1024))
want=$(sha256_file "$dir/big.bin")
size=$(file_size "$dir/big.bin")
[[ $VISITOR_HTTPS_3 =~ ^https://([0-9.]+):443$ ]] || fail "VISITOR_HTTPS_3: $VISITOR_HTTPS_3"
edge3=${BASH_REMATCH[1]}
# vcurl ARGS...: curl as a web visitor in st-client, the lab's host names at edge 3
vcurl() {
    in_ns st-client curl -sS --cacert "$CA_FILE" --resolve "app.lab.test:443:$edge3" \
        --resolve "private.lab.test:443:$edge3" "$@"
}
vcode() { vcurl -s -m 20 -o /dev/null -w '%{http_code}' "$@" 2>/dev/null || true; }
audit3=$LAB_DIR/logs/audit3.log
# holder_audit FIELD=VALUE...: the matching records of edges 1 and 2 (the holders)
holder_audit() {
    audit_records "$AUDIT_LOG" "$@"
    audit_records "$LAB_DIR/logs/audit2.log" "$@"
}
has_records() { [[ -n $("$@") ]]; }

# edge 3 learns from the registry which edges hold site 1 (and its host names)
cache_ready() {
    in_ns st-edge curl -sS -m 5 -f "$EDGE3_METRICS/metrics" 2>/dev/null |
        grep -qx 'subtunnel_registry_cache_entries 2'
}
wait_for 20 "edge 3's fleet cache to list site 1 at edges 1 and 2" cache_ready

# ---- a. public host name through edge 3
for v in --http2 --http1.1; do
    code=$(vcurl -m 120 "$v" -o "$dir/got.bin" -w '%{http_code}' \
        https://app.lab.test/t-visit/big.bin) || fail "GET through edge 3 ($v): curl $?"
    assert_eq 200 "$code" "app.lab.test at edge 3 ($v): status"
    assert_eq "$want" "$(sha256_file "$dir/got.bin")" "app.lab.test at edge 3 ($v): sha256"
    rm -f "$dir/got.bin"
done
answer=$(vcurl -m 120 --http1.1 -T "$dir/big.bin" https://app.lab.test/upload) ||
    fail "upload through edge 3"
assert_eq "$want $size" "$answer" "upload through edge 3: sha256 and size at the origin"
# the relay's own fields come from edges only: a visitor's are dropped at edge 3
seen=$(vcurl -m 20 -H 'Subtunnel-Client: 192.0.2.66' \
    -H "subtunnel-identity: lab token $(printf '%064d' 0) 0 1 0 admins" \
    https://app.lab.test/headers) || fail "app.lab.test/headers through edge 3"
assert_match '^x-forwarded-for: 198\.18\.0\.10$' "$seen" "the origin sees the visitor's address"
if grep -qi '^subtunnel-' <<<"$seen"; then fail "the origin saw subtunnel-* fields: $seen"; fi
ws=$ST_SOURCE_DIR/tests/integration/wsclient.py
assert_match '^ok 40 messages' "$(in_ns st-client timeout 60 python3 "$ws" "$edge3" 443 --tls \
    --ca "$CA_FILE" --host ws.lab.test --count 40 --max-size 300000)" \
    "a WebSocket through edge 3 (an extended CONNECT on the relay)"
assert_match 'relay: connected to edge lab-edge-[12]' "$(cat "$EDGE_LOG_3")" \
    "edge 3 logs its relay connection"
wait_for 10 "edge 3's audit record of the relayed download" has_records audit_records \
    "$audit3" event=end kind=http host=app.lab.test path=/t-visit/big.bin status=200
rec=$(audit_records "$audit3" event=end host=app.lab.test path=/t-visit/big.bin | head -n 1)
assert_match '"relay_to": "lab-edge-[12]"' "$rec" "edge 3's audit record names the holder"
assert_match "\"bytes_down\": $size," "$rec" "edge 3's audit record: the body's bytes"
wait_for 10 "the holder's audit record of the relayed download" has_records holder_audit \
    event=end host=app.lab.test path=/t-visit/big.bin status=200 relay_from=lab-edge-3
rec=$(holder_audit event=end host=app.lab.test path=/t-visit/big.bin relay_from=lab-edge-3 |
    head -n 1)
assert_match '"client": "198\.18\.0\.10"' "$rec" "the holder's audit record: the visitor"

# a CONNECT flow through edge 3 is relayed as well: both edges' audit records name the other
ecurl 3 -m 60 -o "$dir/got.bin" "http://$PRIV_IP:8000/t-visit/big.bin" ||
    fail "CONNECT through edge 3: curl $?"
assert_eq "$want" "$(sha256_file "$dir/got.bin")" "CONNECT flow through edge 3: sha256"
wait_for 10 "edge 3's audit record of the relayed flow" has_records audit_records "$audit3" \
    event=end kind=tcp user=lab dest="$PRIV_IP:8000"
assert_match '"relay_to": "lab-edge-[12]"' \
    "$(audit_records "$audit3" event=end kind=tcp dest="$PRIV_IP:8000")" \
    "edge 3's flow record names the holder"
wait_for 10 "the holder's audit record of the relayed flow" has_records holder_audit \
    event=end kind=tcp user=lab dest="$PRIV_IP:8000" relay_from=lab-edge-3

# ---- b. a host that requires users, through edge 3
P=https://private.lab.test
assert_eq 401 "$(vcode "$P/file")" "private.lab.test at edge 3 without credentials"
assert_eq 403 "$(vcode -u "dev:$DEV_TOKEN" "$P/file")" "private.lab.test at edge 3 as dev"
body=$(vcurl -m 20 -u "lab:$ACCESS_TOKEN" "$P/file") || fail "private.lab.test as lab"
assert_eq "$(cat "$LAB_DIR/www/file")" "$body" "private.lab.test at edge 3 as lab (admins)"
assert_eq 200 "$(vcode --http1.1 -u "lab:$ACCESS_TOKEN" "$P/file")" "the same over HTTP/1.1"
seen=$(vcurl -m 20 -u "lab:$ACCESS_TOKEN" "$P/headers") || fail "private.lab.test/headers"
assert_match '^GET /headers' "$seen" "the origin answered through the relay"
if grep -qiE '^(authorization|subtunnel-)' <<<"$seen"; then
    fail "the origin saw the credential or the relay's fields: $seen"
fi
wait_for 10 "the holder's audit record of lab's request" has_records holder_audit \
    event=end host=private.lab.test user=lab status=200 relay_from=lab-edge-3

# ---- c. the holder checks again; nothing is relayed twice
FLEET=$LAB_DIR/certs/fleet
# relay N FROM ARGS...: a request straight to edge N's relay port with edge FROM's certificate
relay() {
    local n=$1 from=$2
    shift 2
    in_ns "st-edge$([[ $from == 1 ]] || echo "$from")" curl -s -m 20 --http2 -o /dev/null \
        -w '%{http_code}' --cacert "$FLEET/fleet-ca.crt" --cert "$FLEET/lab-edge-$from.crt" \
        --key "$FLEET/lab-edge-$from.key" --resolve "lab-edge-$n:7845:192.0.2.$n" "$@" \
        "https://lab-edge-$n:7845/file" 2>/dev/null || true
}
H64=$(printf '%064d' 0)
assert_eq 401 "$(relay 1 3 -H 'Host: private.lab.test')" "a relayed request without identity"
assert_eq 401 "$(relay 1 3 -H 'Host: private.lab.test' \
    -H "subtunnel-identity: lab token $H64 0 1 0 admins")" \
    "a relayed request with a forged identity (a credential the holder does not know)"
# the lab user's identity as edge 3 would relay it; a forged one beside it, before or after,
# refuses the request (as for relayed flows: one failing identity field decides)
LAB_ID="lab token $(printf %s "$ACCESS_TOKEN" | sha256sum | cut -d' ' -f1) 0 1 0 admins"
assert_eq 200 "$(relay 1 3 -H 'Host: private.lab.test' -H "subtunnel-identity: $LAB_ID")" \
    "a relayed request with the lab user's identity"
assert_eq 401 "$(relay 1 3 -H 'Host: private.lab.test' \
    -H "subtunnel-identity: lab token $H64 0 1 0 admins" -H "subtunnel-identity: $LAB_ID")" \
    "a forged identity before a good one"
assert_eq 401 "$(relay 1 3 -H 'Host: private.lab.test' -H "subtunnel-identity: $LAB_ID" \
    -H "subtunnel-identity: lab token $H64 0 1 0 admins")" "a forged identity after a good one"
assert_match "relayed by edge lab-edge-3: host 'private.lab.test' requires a user" \
    "$(cat "$EDGE_LOG")" "the holder logs why"
assert_eq 200 "$(relay 1 3 -H 'Host: app.lab.test')" "a relayed request to a public host"
assert_eq 502 "$(relay 3 1 -H 'Host: app.lab.test')" \
    "edge 3 (no connection of site 1) relays no relayed request further"

# ---- d. the holder edge 3 relays to is killed: the other one serves
kill_relay_holder
dead=$RELAY_DEAD
for i in 1 2 3 4; do
    code=$(vcurl -m 20 -o "$dir/got.bin" -w '%{http_code}' https://app.lab.test/t-visit/big.bin) ||
        fail "GET $i through edge 3 after edge $dead was killed: curl $?"
    assert_eq 200 "$code" "GET $i through edge 3 with holder edge $dead dead"
    assert_eq "$want" "$(sha256_file "$dir/got.bin")" "GET $i: sha256"
done

# ---- e. the other holder is killed too: edge 3 tries the holders its cache still lists (a
# relay connection that fails before it is up passes the request on) and answers a clean 502
other=$((3 - dead))
bash "$LAB" kill-edge "$other"
wait_for 10 "edge 3 to see its relay connection to edge $other close" relay_closed "$other"
hdr=$(vcurl -s -m 20 -o /dev/null -D - https://app.lab.test/t-visit/big.bin | tr -d '\r') || true
assert_match '^HTTP/2 502' "$hdr" "no holder left: 502"
assert_match '^proxy-status: subtunnel; error=destination_unavailable' "$hdr" \
    "no holder left: proxy-status"
assert_match "relay: edge lab-edge-$other at [0-9.:]+: .*passed over" "$(cat "$EDGE_LOG_3")" \
    "edge 3 logs the holder it could not reach"
assert_match "visitor 198\.18\.0\.10: host 'app\.lab\.test': relay connection to edge lab-edge-[12] failed before it was up: next holder" \
    "$(cat "$EDGE_LOG_3")" "a relay connection that failed before it was up passed the request on"
