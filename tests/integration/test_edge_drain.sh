#!/usr/bin/env bash
# SIGTERM on the edge drains: its listeners close at once (new users are refused), a
# download in progress completes intact, then the edge exits by itself.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl
# shellcheck disable=SC2119
lab_up

dir=$LAB_DIR/t-edge-drain
rm -rf "$dir"
mkdir -p "$dir"
cleanup() { rm -rf "$dir" "$LAB_DIR/www/edge-drain.bin"; }
on_cleanup cleanup
random_file "$LAB_DIR/www/edge-drain.bin" $((6 * 1024))

pcurl -m 60 --limit-rate 2M -o "$dir/down.bin" "http://$PRIV_IP:8000/edge-drain.bin" &
curl_pid=$!
got_some() { [[ -f $dir/down.bin ]] && (($(file_size "$dir/down.bin") >= 1024 * 1024)); }
wait_for 30 "1 MiB of the download" got_some

edge_pid=$(cat "$LAB_DIR/run/edge.pid")
log "SIGTERM to the edge (pid $edge_pid) with the download under way"
kill -TERM "$edge_pid"
draining() { grep -q 'draining: no new connections' "$EDGE_LOG"; }
wait_for 10 "edge log: draining" draining
rc=0
pcurl -m 5 -o /dev/null "http://$PRIV_IP:8000/file" 2>/dev/null || rc=$?
assert_eq 7 "$rc" "a new user connection while the edge drains is refused (curl exit 7)"

wait "$curl_pid" || fail "the download in progress did not complete during the drain"
assert_eq "$(sha256_file "$LAB_DIR/www/edge-drain.bin")" "$(sha256_file "$dir/down.bin")" \
    "download completed intact during the edge drain"
gone() { [[ ! -d /proc/$edge_pid ]] || grep -q '^State:.*Z' "/proc/$edge_pid/status"; }
wait_for 10 "edge exit after the drain" gone
assert_match "drained: no flow left" "$(cat "$EDGE_LOG")" "edge drain log"
