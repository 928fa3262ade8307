#!/usr/bin/env bash
# Readers that stop reading hold only their own stream (issue 25, item 2): 200 visitors
# take the start of a 16 MiB response each and then read nothing. A 64 MiB download through
# the same tunnel still arrives intact, and after send-timeout the edge closes the stalled
# visitors (the tunnel streams with them), counted in its log.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl python3
export LAB_EDGE_EXTRA_YAML=$'send-timeout: 4\nlog-refusals: 1000'  # every closure logged
# shellcheck disable=SC2119
lab_up

dir=$(mktemp -d)
rm_dir() { rm -rf "$dir"; }
on_cleanup rm_dir
n=200
start_bg stallers st-client python3 "$ST_SOURCE_DIR/tests/integration/stallers.py" \
    198.18.0.1 80 app.lab.test "/fixed?bytes=$((16 << 20))" "$n" \
    "$dir/ready" "$dir/done" "$dir/result"
wait_for 120 "$n visitors with their responses under way" test -s "$dir/ready"
pass "$n visitors stopped reading"

big=$((64 << 20))
want=$(python3 "$HTTPD_PY" --gen "$big")
got=$(in_ns st-client curl -sS -m 120 -p -x "$EDGE_PROXY" -U "lab:$ACCESS_TOKEN" \
    "http://$PRIV_IP:8000/fixed?bytes=$big" | sha256sum | cut -c1-64)
assert_eq "$want" "$got" "64 MiB through the tunnel beside $n stalled visitors"
got=$(in_ns st-client curl -sS -m 120 --resolve "app.lab.test:80:198.18.0.1" \
    "http://app.lab.test/fixed?bytes=$((8 << 20))" | sha256sum | cut -c1-64)
assert_eq "$(python3 "$HTTPD_PY" --gen $((8 << 20)))" "$got" "8 MiB to a new visitor"

stalled() { (($(grep -c 'read nothing of the response for 4 s' "$EDGE_LOG") >= n)); }
wait_for 60 "the edge closing the $n stalled visitors" stalled
touch "$dir/done"
wait_for 150 "the visitors' verdict" test -s "$dir/result"
read -r cut complete <"$dir/result"
assert_eq "$n 0" "$cut $complete" "stalled visitors cut off (cut, complete)"
