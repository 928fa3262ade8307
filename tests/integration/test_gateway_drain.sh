#!/usr/bin/env bash
# SIGTERM on the gateway drains: it unregisters (the edge stops routing new flows to it
# at once), a download in progress completes intact, then the gateway exits by itself.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl
# shellcheck disable=SC2119
lab_up

dir=$LAB_DIR/t-gateway-drain
rm -rf "$dir"
mkdir -p "$dir"
cleanup() { rm -rf "$dir" "$LAB_DIR/www/drain.bin"; }
on_cleanup cleanup
random_file "$LAB_DIR/www/drain.bin" $((6 * 1024))

pcurl -m 60 --limit-rate 2M -o "$dir/down.bin" "http://$PRIV_IP:8000/drain.bin" &
curl_pid=$!
got_some() { [[ -f $dir/down.bin ]] && (($(file_size "$dir/down.bin") >= 1024 * 1024)); }
wait_for 30 "1 MiB of the download" got_some

gw_pid=$(cat "$LAB_DIR/run/gateway.pid")
log "SIGTERM to the gateway (pid $gw_pid) with the download under way"
kill -TERM "$gw_pid"
unregistered() { grep -q 'unregistered (draining)' "$EDGE_LOG"; }
wait_for 10 "edge log: unregistered (draining)" unregistered
r=$(proxy_probe "$PRIV_IP:8000" -U "lab:$ACCESS_TOKEN")
assert_eq 502 "${r%% *}" "new CONNECT while the only gateway drains"
assert_match "destination_unavailable" "$r" "proxy-status while draining"

wait "$curl_pid" || fail "the download in progress did not complete during the drain"
assert_eq "$(sha256_file "$LAB_DIR/www/drain.bin")" "$(sha256_file "$dir/down.bin")" \
    "download completed intact during the drain"
gone() { [[ ! -d /proc/$gw_pid ]] || grep -q '^State:.*Z' "/proc/$gw_pid/status"; }
wait_for 10 "gateway exit after the drain" gone
assert_match "drained: every edge connection is idle" "$(cat "$GATEWAY_LOG")" "gateway drain log"
