#!/usr/bin/env bash
# HTTP/2 attacks on the edge's user listener (h2c :8080, CONNECT with a token) and visitor
# listener (h2 :443): rapid reset (CVE-2023-44487), CONTINUATION flood (CVE-2024-28182),
# SETTINGS and PING floods from a peer that reads nothing, a zero-window stall, and stream
# ids that go backwards. Each attack must end with the offender closed (GOAWAY or a reset
# stream), while a normal download through the same listener, started once the attack is
# under way, arrives intact; afterwards the edge still serves.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl python3

SEND_TIMEOUT=3
LAB_EDGE_EXTRA_YAML="send-timeout: $SEND_TIMEOUT
idle-timeout: 5
request-timeout: 5"
export LAB_EDGE_EXTRA_YAML
# shellcheck disable=SC2119
lab_up

FLOOD=$ST_SOURCE_DIR/tests/integration/h2flood.py
dir=$(mktemp -d)
cleanup_dir() { rm -rf "$dir"; }
on_cleanup cleanup_dir
BIG=$((8 << 20))
want=$(python3 "$HTTPD_PY" --gen "$BIG")
VISIT=(198.18.0.1:443 --tls --ca "$CA_FILE" --sni app.lab.test --host app.lab.test)
ACCESS=(198.18.0.1:8080 --connect 198.51.100.10:8000 --token "$ACCESS_TOKEN")
edge_pid=$(cat "$LAB_DIR/run/edge.pid")

vdownload() {
    in_ns st-client curl -sS -m 60 --cacert "$CA_FILE" --resolve app.lab.test:443:198.18.0.1 \
        "https://app.lab.test/fixed?bytes=$BIG" | sha256sum | cut -c1-64
}
pdownload() {
    in_ns st-client curl -sS -m 60 -p -x "$EDGE_PROXY" -U "lab:$ACCESS_TOKEN" \
        "http://198.51.100.10:8000/fixed?bytes=$BIG" | sha256sum | cut -c1-64
}

# flood NAME EXPECT_REGEX MODE ARGS...: runs the attack; once it is under way a normal
# download through the same kind of listener must arrive intact; then its result line
# must match
flood() {
    local name=$1 expect=$2 ready=$dir/ready.$1 out=$dir/out.$1 got
    shift 2
    rm -f "$ready"
    in_ns st-client timeout 90 python3 "$FLOOD" "$@" --ready "$ready" >"$out" 2>&1 &
    local pid=$!
    wait_for 30 "$name under way" test -s "$ready"
    case $name in
    access-*) got=$(pdownload) ;;
    *) got=$(vdownload) ;;
    esac
    assert_eq "$want" "$got" "$name: an 8 MiB download meanwhile"
    wait "$pid" || fail "$name: $(cat "$out")"
    assert_match "$expect" "$(cat "$out")" "$name: the edge ended the attack ($(cat "$out"))"
    kill -0 "$edge_pid" || fail "the edge died during $name"
}

# nghttp2 ends a rapid-reset peer with GOAWAY(INTERNAL_ERROR) once its allowance (1000
# resets, then 33 a second) is spent
GOAWAY_CALM='^goaway=2 streams=([0-9]{4})$'
flood visitor-reset "$GOAWAY_CALM" reset "${VISIT[@]}" --path /whoami --count 20000
flood access-reset "$GOAWAY_CALM" reset "${ACCESS[@]}" --count 20000
flood visitor-continuation '^(goaway=[0-9]+|closed) continuations=' continuation "${VISIT[@]}" \
    --count 100000
flood access-continuation '^(goaway=[0-9]+|closed) continuations=' continuation "${ACCESS[@]}" \
    --count 100000
flood visitor-settings '^(goaway=[0-9]+|closed) frames=' settings "${VISIT[@]}" --count 2000000
flood access-ping '^(goaway=[0-9]+|closed) frames=' ping "${ACCESS[@]}" --count 2000000
flood visitor-window "^status=200 (rst|goaway)=" window "${VISIT[@]}" \
    --path "/fixed?bytes=$((4 << 20))"
# a lower stream id after the last one is ignored (nghttp2 keeps no closed streams to tell
# it from a stale frame); the connection, left without streams, ends after idle-timeout
flood visitor-ids '^first=200 second=none goaway=0$' ids "${VISIT[@]}" --path /whoami
flood access-ids '^first=200 second=none goaway=0$' ids "${ACCESS[@]}"

# each ended attack is logged (refusal lines, rate-limited per kind)
log=$(cat "$EDGE_LOG")
assert_match "visitor 198.18.0.10: HTTP/2 GOAWAY INTERNAL_ERROR sent: closing" "$log" \
    "a visitor's rapid reset logged"
assert_match "access 198.18.0.10:[0-9]+: HTTP/2 GOAWAY INTERNAL_ERROR sent: closing" "$log" \
    "a user's rapid reset logged"
assert_match "visitor 198.18.0.10: HTTP/2 protocol error: Too many CONTINUATION frames" "$log" \
    "a CONTINUATION flood logged"
assert_match "access 198.18.0.10:[0-9]+: HTTP/2 protocol error: Flooding was detected" "$log" \
    "a PING flood logged"

# all attackers are gone: the edge holds no connection from st-client any more
no_clients() { [[ -z $(in_ns st-edge ss -Htn state established 'src 198.18.0.1') ]]; }
wait_for 20 "the attackers' connections to close" no_clients
assert_eq "$want" "$(vdownload)" "a visitor download after the attacks"
assert_eq "$want" "$(pdownload)" "a CONNECT download after the attacks"
