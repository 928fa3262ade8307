#!/usr/bin/env bash
# IPv6 end to end, first slice (issue 23): TCP CONNECT to an IPv6 host behind site 1's
# expose gateway. curl through the edge's proxy on IPv4 (EDGE_PROXY) and on IPv6
# (EDGE_PROXY6, access-listen6) to http://[2001:db8:51::10]:8000/: an 8 MiB download and
# upload with sha256 compared, the source the private host sees (virtual-pool6), HTTP/2
# CONNECT with an IPv6 authority, and refusals (the guard, outside the routes).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl sha256sum python3
# shellcheck disable=SC2119
lab_up

PRIV6=2001:db8:51::10
url="http://[$PRIV6]:8000"
file=$LAB_DIR/www/t-ipv6.bin
dir=$LAB_DIR/t-ipv6
rm -rf "$dir"
mkdir -p "$dir"
cleanup_files() { rm -rf "$dir" "$file"; }
on_cleanup cleanup_files
random_file "$file" $((8 * 1024))
want=$(sha256_file "$file")

# curl6 PROXY ARGS...: curl in st-client through PROXY (CONNECT), the lab user's token
curl6() {
    local proxy=$1
    shift
    in_ns st-client curl -sS -g -p -x "$proxy" -U "lab:$ACCESS_TOKEN" -m 120 "$@"
}

[[ -n ${EDGE_PROXY6:-} ]] || fail "lab.sh env prints no EDGE_PROXY6"
assert_eq "http://[2001:db8:18::1]:8080" "$EDGE_PROXY6" "EDGE_PROXY6"
for proxy in "$EDGE_PROXY" "$EDGE_PROXY6"; do
    log "download 8 MiB from $url through $proxy"
    rm -f "$dir/down.bin"
    curl6 "$proxy" -o "$dir/down.bin" "$url/t-ipv6.bin" || fail "download through $proxy failed"
    assert_eq "$want" "$(sha256_file "$dir/down.bin")" "download sha256 through $proxy"
    log "upload 8 MiB to $url through $proxy"
    answer=$(curl6 "$proxy" -T "$file" "$url/upload") || fail "upload through $proxy failed"
    assert_eq "$want $((8 * 1024 * 1024))" "$answer" "upload sha256 and size through $proxy"
    who=$(curl6 "$proxy" "$url/whoami") || fail "whoami through $proxy failed"
    assert_match '^2001:db8:64::[0-9a-f:]+ [0-9]+$' "$who" "source seen by st-priv (virtual-pool6)"
done

# The gateway's TUN holds virtual-pool6's first address; st-priv routes the pool back.
grep -q 'inet6 2001:db8:64::1/96' <<<"$(in_ns st-bastion ip -6 addr show dev st0)" ||
    fail "st0 in st-bastion has no 2001:db8:64::1/96"

h2=$ST_SOURCE_DIR/tests/integration/h2connect.py
log "HTTP/2 CONNECT over TLS to $EDGE_TLS_PROXY with authority [$PRIV6]:8000"
in_ns st-client timeout 120 python3 "$h2" --proxy "${EDGE_TLS_PROXY#https://}" --ca "$CA_FILE" \
    --servername edge.lab.test --token "$ACCESS_TOKEN" --target "[$PRIV6]:8000" \
    --get /t-ipv6.bin --out "$dir/h2.bin" || fail "HTTP/2 CONNECT download failed"
assert_eq "$want" "$(sha256_file "$dir/h2.bin")" "HTTP/2 download sha256"
answer=$(in_ns st-client timeout 120 python3 "$h2" --proxy "${EDGE_PROXY#http://}" --h2c \
    --token "$ACCESS_TOKEN" --target "[$PRIV6]:8000" --put "$file") ||
    fail "h2c CONNECT upload failed"
assert_eq "$want $((8 * 1024 * 1024))" "$answer" "h2c upload sha256 and size"

# The bastion's own address inside the route: refused by the gateway's guard.
got=$(proxy_probe "[2001:db8:51::1]:8000" -g -U "lab:$ACCESS_TOKEN")
assert_match '^403 .*local address' "$got" "CONNECT to the bastion's own IPv6 address"
# The gateway's pool and addresses outside every route: never relayed.
got=$(proxy_probe "[2001:db8:64::5]:8000" -g -U "lab:$ACCESS_TOKEN")
assert_match '^(403|502) ' "$got" "CONNECT into virtual-pool6"
got=$(proxy_probe "[2001:db8:99::10]:8000" -g -U "lab:$ACCESS_TOKEN")
assert_match '^(403|502) ' "$got" "CONNECT outside the announced routes"
pass "IPv6 CONNECT: downloads and uploads through both proxies, h2 and h2c, refusals"
