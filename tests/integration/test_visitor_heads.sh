#!/usr/bin/env bash
# A visitor's request head split across reads gives the same request as the whole head
# (issue 19, item 1): cut inside the Host field's name, inside its value, inside another
# field's name, and byte by byte through the first line.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd python3
# shellcheck disable=SC2119
lab_up

split() { in_ns st-client python3 "$ST_SOURCE_DIR/tests/integration/splithead.py" \
    198.18.0.1 80 app.lab.test "$@"; }
# "GET /headers HTTP/1.1\r\n" is 23 bytes; "Host: " starts there.
# What the origin receives of the whole head (httpd.py /headers echoes it); every split
# must give the same.
whole="200 host: app.lab.test x-long-header-name: value"
assert_eq "$whole" "$(split)" "whole head"
assert_eq "$whole" "$(split 25)" "head cut inside the Host name ('Ho' | 'st:')"
assert_eq "$whole" "$(split 31)" "head cut inside the Host value"
assert_eq "$whole" "$(split 25 27 45 51)" "head cut in four places, two inside X-Long-Header-Name"
assert_eq "$whole" "$(split 1 2 3 4 5 6 7 8 9 10 11 12)" "first line sent a byte at a time"
