#!/usr/bin/env bash
# The Prometheus alerting rules shipped in packaging/prometheus (docs/operations.md, Alerts):
# valid (promtool check rules) and firing as meant on synthetic series (promtool test rules:
# a tunnel without a registered connection on any edge, heartbeat misses, refused
# registrations). No root, no lab.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! command -v promtool >/dev/null; then
    echo "SKIP: promtool not installed (package prometheus)"
    exit 77
fi
cd "$ST_SOURCE_DIR/packaging/prometheus"
out=$(promtool check rules subtunnel-alerts.yml 2>&1) || fail "promtool check rules: $out"
assert_match 'SUCCESS: 4 rules found' "$out" "promtool check rules"
out=$(promtool test rules subtunnel-alerts.test.yml 2>&1) || fail "promtool test rules: $out"
pass "promtool test rules: every alert fires (and stays quiet) as the tests expect"
log OK
