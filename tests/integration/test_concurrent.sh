#!/usr/bin/env bash
# 200 concurrent downloads (distinct 256 KiB random files) through the edge's
# CONNECT proxy; every sha256 must match, all within a bounded time.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl sha256sum python3
# shellcheck disable=SC2119
lab_up

N=${ST_CONCURRENT_FLOWS:-200}
dir=$LAB_DIR/t-concurrent
rm -rf "$dir"
mkdir -p "$dir/srv" "$dir/out"
cleanup_dir() { rm -rf "$dir"; }
on_cleanup cleanup_dir
for ((i = 0; i < N; i++)); do
    random_file "$dir/srv/f$i" 256
done
(cd "$dir/srv" && sha256sum f*) | sort >"$dir/want.sha"
start_httpd concurrent-httpd "$PRIV_IP:8082" "$dir/srv"

log "starting $N concurrent flows"
SECONDS=0
pids=()
for ((i = 0; i < N; i++)); do
    pcurl -m 120 --retry 0 -o "$dir/out/f$i" "http://$PRIV_IP:8082/f$i" 2>"$dir/out/err$i" &
    pids+=($!)
done
wait_flows concurrent "$dir/out" "${pids[@]}"
log "$N flows finished in ${SECONDS}s, $FLOWS_FAILED failed"
assert_eq 0 "$FLOWS_FAILED" "failed flows"
((SECONDS <= 150)) || fail "flows took ${SECONDS}s (bound 150s)"
assert_sums "$dir/want.sha" "$dir/out" "all $N files intact"
