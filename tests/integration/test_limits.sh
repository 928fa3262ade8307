#!/usr/bin/env bash
# Limits for anonymous peers at the edge: a bare HTTP/2 preface is closed after
# request-timeout (access h2c :8080, visitor h2 :443), a visitor connection left without
# streams is closed after idle-timeout, visitor-max-streams refuses the streams past the
# cap while a new connection still works, tunnel-max-requests answers 503 past its cap,
# a flood of refusals logs at most log-refusals lines per second plus a "suppressed"
# summary that accounts for the rest, reach connections get small SETTINGS until a valid
# token, and each HTTP/2 listener announces its streams per connection.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl python3

REQUEST_TIMEOUT=2
IDLE_TIMEOUT=3
MAX_STREAMS=4
MAX_REQUESTS=2
LOG_RATE=3
LAB_EDGE_EXTRA_YAML="request-timeout: $REQUEST_TIMEOUT
idle-timeout: $IDLE_TIMEOUT
visitor-max-streams: $MAX_STREAMS
tunnel-max-requests: $MAX_REQUESTS
log-refusals: $LOG_RATE"
export LAB_EDGE_EXTRA_YAML
# shellcheck disable=SC2119
lab_up

PEER=$ST_SOURCE_DIR/tests/integration/limitpeer.py
TLS=(--tls --ca "$CA_FILE" --sni app.lab.test)
peer() { in_ns st-client python3 "$PEER" "$@"; }
vcurl() {
    in_ns st-client curl -sS --cacert "$CA_FILE" --resolve app.lab.test:443:198.18.0.1 \
        --resolve app.lab.test:80:198.18.0.1 "$@"
}
log_from() { tail -c +$(($1 + 1)) "$EDGE_LOG"; }

# 1. a flood of refusals: bounded log lines, the rest counted in a summary
N=300
off=$(stat -c %s "$EDGE_LOG")
start=$(now_ms)
r=$(peer flood 198.18.0.1:80 --host flood.lab.test --count $N)
elapsed_s=$((($(now_ms) - start) / 1000 + 1))
assert_eq "404 x$N" "$r" "$N requests for an unknown host answered 404"
# the summary of a window comes once it is over (with the next line or the edge's 1 s timer)
count_refusals() {
    lines=$(log_from "$off" | grep -c "no tunnel serves host 'flood.lab.test'" || true)
    suppressed=$(log_from "$off" | grep -o 'request refusals: suppressed [0-9]*' |
        awk '{s += $4} END {print s + 0}')
    ((lines + suppressed == N))
}
count_refusals || true
wait_for 10 "logged ($lines) + suppressed ($suppressed) refusals to reach $N" count_refusals
((lines >= 1 && lines <= LOG_RATE * (elapsed_s + 1))) ||
    fail "$lines refusal lines logged for $N refusals in ${elapsed_s}s (log-refusals $LOG_RATE)"
pass "$lines of $N refusal lines logged in ${elapsed_s}s"
assert_eq $N $((lines + suppressed)) "logged + 'suppressed N similar lines' refusals"

# 2. a bare preface, then silence: closed after request-timeout (not the idle 60 s)
r=$(peer preface 198.18.0.1:8080 --timeout 15)
assert_match "^closed after [0-9.]+ s goaway=0$" "$r" "bare PRI on the access listener (h2c)"
r=$(peer preface 198.18.0.1:443 "${TLS[@]}" --timeout 15)
assert_match "^closed after [0-9.]+ s goaway=0$" "$r" "bare preface on the visitor listener (h2)"
assert_match "visitor .*: no HTTP/2 request within $REQUEST_TIMEOUT s: closing" \
    "$(cat "$EDGE_LOG")" "request-timeout logged"
# HTTP/1.1 visitor listener: PRI is no HTTP/1.1 method (sed, not head, takes the first
# line: it reads to the end, so cat never dies of SIGPIPE when the answer comes in two
# segments, which pipefail would turn into a silent exit)
r=$(in_ns st-client timeout 10 bash -c \
    'exec 3<>/dev/tcp/198.18.0.1/80; printf "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" >&3; cat <&3' |
    sed -n 1p | tr -d '\r')
assert_match "^HTTP/1.1 400 " "$r" "bare PRI on the HTTP/1.1 visitor listener"
# and a request head that never ends gets 408 after request-timeout
r=$(in_ns st-client timeout 15 bash -c \
    'exec 3<>/dev/tcp/198.18.0.1/80; printf "GET / HTTP/1.1\r\nHost: app.lab.test\r\n" >&3; cat <&3' |
    sed -n 1p | tr -d '\r')
assert_match "^HTTP/1.1 408 " "$r" "unfinished head on the HTTP/1.1 visitor listener"

# 3. a visitor connection without open streams is closed after idle-timeout
r=$(peer idle 198.18.0.1:443 "${TLS[@]}" --host nohost.lab.test --timeout 15)
assert_eq "status=404 closed goaway=0" "$r" "idle visitor connection closed with GOAWAY"

# 4. visitor-max-streams: streams past the cap are refused, a new connection still works
r=$(peer streams 198.18.0.1:443 "${TLS[@]}" --host nohost.lab.test --count 10)
assert_eq "responses=$MAX_STREAMS refused=$((10 - MAX_STREAMS)) other=0" "$r" \
    "10 streams on one visitor connection (visitor-max-streams $MAX_STREAMS)"
assert_eq 200 "$(vcurl -m 10 -o /dev/null -w '%{http_code}' https://app.lab.test/file)" \
    "a normal request on a new connection"

# 5. tunnel-max-requests: requests past the tunnel's cap get 503 at once
r=$(peer posts 198.18.0.1:443 "${TLS[@]}" --host app.lab.test --count 3 --answers 1)
assert_match '^5:503:subtunnel; error=connection_limit_reached; details="too many requests open on this tunnel"$' \
    "$r" "third request with $MAX_REQUESTS open on the tunnel"
assert_match "tunnel site1 has $MAX_REQUESTS requests open \(tunnel-max-requests\)" \
    "$(cat "$EDGE_LOG")" "tunnel-max-requests refusal logged"
# the connection is gone: its requests no longer count
ok_after_release() { [[ $(vcurl -m 10 -o /dev/null -w '%{http_code}' https://app.lab.test/file) == 200 ]]; }
wait_for 10 "a request once the held ones are gone" ok_after_release
pass "requests flow again once the held ones ended"

# 6. reach connections: small SETTINGS until a valid tunnel token, nghttp2's default
#    rapid-reset allowance before it (1000 resets, then 33/s)
token=$(sed -n 's/^token: *//p' "$GATEWAY_CONFIG")
[[ -n $token ]] || fail "no token in $GATEWAY_CONFIG"
REACH=(--ca "$CA_FILE" --sni edge.lab.test)
r=$(in_ns st-bastion python3 "$PEER" reach 192.0.2.1:7844 "${REACH[@]}" --count 1 --token "$token")
assert_eq "anon streams=100 window=65535 frame=16384
authed streams=65536 window=2097152 frame=65536" "$r" "reach SETTINGS before and after a valid token"
r=$(in_ns st-bastion python3 "$PEER" reach 192.0.2.1:7844 "${REACH[@]}" --count 1200 --token "site1:wrong-secret-0123456789")
assert_match "^anon streams=100 .*
goaway=11$" "$r" "up to 1200 resets without a valid token end in GOAWAY(ENHANCE_YOUR_CALM)"
assert_match "reach .*: too many stream resets before authentication: closing" \
    "$(cat "$EDGE_LOG")" "pre-authentication reset limit logged"

# 7. the streams each HTTP/2 listener allows per connection (past it nghttp2 answers
#    REFUSED_STREAM, as section 4 shows for visitors): users 1000, visitors visitor-max-streams
assert_eq "streams=1000 window=2097152 frame=65536" \
    "$(in_ns st-client python3 "$PEER" settings 198.18.0.1:8080)" "SETTINGS of the access listener (h2c)"
assert_eq "streams=1000 window=2097152 frame=65536" \
    "$(in_ns st-client python3 "$PEER" settings 198.18.0.1:8443 --tls --ca "$CA_FILE" --sni edge.lab.test)" \
    "SETTINGS of the access TLS listener"
assert_match "^streams=4 " "$(in_ns st-client python3 "$PEER" settings 198.18.0.1:443 "${TLS[@]}")" \
    "SETTINGS of the visitor listener (visitor-max-streams: 4)"
