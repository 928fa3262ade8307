#!/usr/bin/env bash
# Origin bursts (hostname ingress): the gateway opens at most `max-connecting` connections to
# one origin at a time and queues the other requests (at most `max-queued`) for an idle or a
# new connection.
#   1. 2000 requests, 200 at once (h2load -c 20 -m 10), to an origin like
#      `python3 -m http.server` (listen backlog 5, a new connection per request): every one
#      200, none failed.
#   2. max-connecting 1, max-queued 2, an origin that accepts one connection a second with a
#      backlog of 1: 10 requests at once; those past the queue get 503 with
#      proxy-status connection_limit_reached "origin queue full" (logged, rate-limited), the
#      others 200; normal requests work afterwards.
#   3. an origin that never answers (max-connecting 1): requests (connect-timeout 2) queued
#      behind a connect with a longer timeout (6) get 504 connection_timeout at their own
#      deadline, in the queue, not once the connect ahead of them gave up.
#   4. visitors that give up while queued (connect-timeout 30) leave the queue at once.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl h2load python3

# shellcheck disable=SC2089,SC2090  # YAML text: the quotes are meant literally
LAB_EDGE_HOSTNAMES='"*.lab.test"'
LAB_INGRESS_EXTRA_RULES='  - hostname: burst.lab.test
    service: http://198.51.100.10:8002
  - hostname: tiny.lab.test
    service: http://198.51.100.10:8003
    origin: {max-connecting: 1, max-queued: 2}
  - hostname: late.lab.test
    path: /first
    service: http://198.51.100.77:82
    origin: {max-connecting: 1, connect-timeout: 6}
  - hostname: late.lab.test
    service: http://198.51.100.77:82
    origin: {max-connecting: 1, connect-timeout: 2}
  - hostname: hang.lab.test
    service: http://198.51.100.77:83
    origin: {max-connecting: 1, connect-timeout: 30}'
# shellcheck disable=SC2090
export LAB_EDGE_HOSTNAMES LAB_INGRESS_EXTRA_RULES
# shellcheck disable=SC2119
lab_up

dir=$LAB_DIR/t-origin-burst
rm -rf "$dir"
mkdir -p "$dir/srv"
on_cleanup cleanup_dir
cleanup_dir() { rm -rf "$dir"; }
echo hello >"$dir/srv/file"

start_httpd burst-httpd "$PRIV_IP:8002" "$dir/srv" st-priv --backlog 5 --http10
start_httpd tiny-httpd "$PRIV_IP:8003" "$dir/srv" st-priv --backlog 1 --accept-delay 1

# vcurl HOST ARGS...: a visitor request (HTTP/2 over TLS) to the edge for HOST
vcurl() {
    local host=$1
    shift
    in_ns st-client curl -sS --http2 --cacert "$CA_FILE" --resolve "$host:443:198.18.0.1" "$@"
}
# parallel HOST SECS PATH...: the requests at once, in order, on one HTTP/2 connection
# (curl -m SECS); prints "<status> <proxy-status>" per request (000 when curl gave up)
parallel() {
    local host=$1 secs=$2 i=0 p args=()
    shift 2
    for p in "$@"; do args+=(-o /dev/null "https://$host$p?i=$((i++))"); done
    vcurl "$host" -Z --parallel-max $# -m "$secs" -w '%{http_code} %header{proxy-status}\n' \
        "${args[@]}" 2>/dev/null || true
}
overflows() { in_ns st-priv nstat -az TcpExtListenOverflows | awk '/ListenOverflows/ {print $2}'; }

# 1. the burst
o0=$(overflows)
log "h2load: 2000 requests, 20 connections x 10 streams, origin backlog 5, no keep-alive"
out=$(in_ns st-client timeout 240 h2load -n 2000 -c 20 -m 10 -H ':authority: burst.lab.test' \
    https://198.18.0.1/file 2>&1) || fail "h2load failed: $out"
assert_match 'status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx' "$out" "burst: all 2000 answered 2xx"
assert_match 'requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout' \
    "$out" "burst: no request failed"
log "$(grep -E '^finished|time for request' <<<"$out" | tr -s ' ')"
waited=$(gw_stat "$GATEWAY_LOG" origin_waited)
((waited > 0)) || fail "no request waited for a connection (origin_waited=$waited)"
pass "requests waited for a connection instead of all connecting at once ($waited waited)"
assert_eq 0 "$(gw_stat "$GATEWAY_LOG" origin_queue_full)" "burst: queue never full"
assert_eq 0 "$(gw_stat "$GATEWAY_LOG" origin_waiting)" "burst: nobody left waiting"
log "origin connections opened: $(gw_stat "$GATEWAY_LOG" origin_opened), retried:" \
    "$(gw_stat "$GATEWAY_LOG" origin_retries), listen queue overflows: $(($(overflows) - o0))"

# 2. a tiny queue in front of an origin that accepts slowly
r=$(parallel tiny.lab.test 30 /whoami /whoami /whoami /whoami /whoami /whoami /whoami /whoami \
    /whoami /whoami)
n200=$(grep -c '^200 $' <<<"$r" || true)
n503=$(grep -cF '503 subtunnel; error=connection_limit_reached; details="origin queue full"' \
    <<<"$r" || true)
log "10 requests at once to tiny.lab.test: $n200 x 200, $n503 x 503"
((n503 >= 1)) || fail "no 503 with a full queue: $(tr '\n' ';' <<<"$r")"
assert_eq 10 $((n200 + n503)) "tiny queue: every request 200 or 503 'origin queue full'"
assert_match 'tiny.lab.test/whoami.* -> http://198.51.100.10:8003: origin queue full \(max-queued 2\): 503' \
    "$(cat "$GATEWAY_LOG")" "queue full logged"
assert_eq 200 "$(vcurl tiny.lab.test -m 30 -o /dev/null -w '%{http_code}' https://tiny.lab.test/file)" \
    "tiny.lab.test afterwards"
assert_eq 200 "$(vcurl burst.lab.test -m 30 -o /dev/null -w '%{http_code}' https://burst.lab.test/file)" \
    "burst.lab.test afterwards"
assert_eq 0 "$(gw_stat "$GATEWAY_LOG" origin_waiting)" "tiny queue: nobody left waiting"

# 3. the connect deadline holds in the queue too: 504 connection_timeout, not a longer wait
r=$(parallel late.lab.test 20 /first / /)
n504=$(grep -c '^504 subtunnel; error=connection_timeout' <<<"$r" || true)
assert_eq 3 "$n504" "3 requests to an origin that never answers: 504 connection_timeout"
assert_match '^504 subtunnel; error=connection_timeout; details="no origin connection free in time"$' \
    "$r" "a queued request reached its own deadline in the queue"

# 4. visitors that give up leave the queue at once (the deadline is 30 s away)
parallel hang.lab.test 6 / / / / >"$dir/hang.out" &
pid=$!
waiting_is() { [[ $(gw_stat "$GATEWAY_LOG" origin_waiting) == "$1" ]]; }
wait_for 5 "3 requests queued behind the connect to hang.lab.test" waiting_is 3
wait "$pid" || true
assert_eq 4 "$(grep -c '^000 ' "$dir/hang.out" || true)" "visitors gave up (curl -m 6)"
wait_for 5 "the queue to empty once the visitors left" waiting_is 0
pass "visitors that left are out of the queue"
assert_eq 200 "$(vcurl burst.lab.test -m 30 -o /dev/null -w '%{http_code}' https://burst.lab.test/file)" \
    "gateway healthy at the end"
