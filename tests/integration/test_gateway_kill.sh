#!/usr/bin/env bash
# kill -9 the gateway during a rate-limited 100 MiB download: curl must fail
# (non-zero) within 15 s instead of hanging.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl
# shellcheck disable=SC2119
lab_up

dir=$LAB_DIR/t-gateway-kill
rm -rf "$dir"
mkdir -p "$dir"
cleanup() {
    if [[ -n ${curl_pid:-} ]]; then kill "$curl_pid" 2>/dev/null || true; fi
    rm -rf "$dir" "$LAB_DIR/www/big.bin"
}
on_cleanup cleanup
random_file "$LAB_DIR/www/big.bin" $((100 * 1024))

pcurl -m 120 --limit-rate 2M -o "$dir/down.bin" "http://$PRIV_IP:8000/big.bin" 2>"$dir/curl.err" &
curl_pid=$!
got_some() { [[ -f $dir/down.bin ]] && (($(file_size "$dir/down.bin") >= 3 * 1024 * 1024)); }
wait_for 30 "3 MiB of the download" got_some
log "$(file_size "$dir/down.bin") bytes arrived; killing the gateway"
bash "$LAB" kill-gateway

rc=""
for ((i = 0; i < 150; i++)); do
    if ! kill -0 "$curl_pid" 2>/dev/null; then
        rc=0
        wait "$curl_pid" || rc=$?
        break
    fi
    sleep 0.1
done
[[ -n $rc ]] || fail "curl still running 15 s after the gateway died (hang)"
curl_pid=""
log "curl: $(cat "$dir/curl.err")"
assert_ne 0 "$rc" "curl exit status after the gateway died"
