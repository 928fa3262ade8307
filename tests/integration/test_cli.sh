#!/usr/bin/env bash
# Command line and configuration errors of both daemons: --help/--version, unknown
# flags, malformed configs (exit 2 with FILE:LINE: reason), --check-config. No root needed.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EDGE=$BUILD_DIR/subtunnel-edge
GW=$BUILD_DIR/subtunnel-gateway
[[ -x $EDGE && -x $GW ]] || fail "binaries not built in $BUILD_DIR"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bash "$ST_SOURCE_DIR/scripts/gen-certs.sh" "$dir/certs" >/dev/null 2>&1 || fail "gen-certs.sh failed"

# expect_exit CODE PATTERN CMD...: runs CMD, checks its exit code and that its output matches
expect_exit() {
    local want=$1 pattern=$2 out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    assert_eq "$want" "$rc" "exit code of: ${*##*/}"
    assert_match "$pattern" "$out" "output of: ${*##*/}"
}

printf 'log-level: loud\n' >"$dir/bad.yaml"
for bin in "$EDGE" "$GW"; do
    name=${bin##*/}
    expect_exit 0 "^$name [0-9]+\.[0-9]+\.[0-9]+" "$bin" --version
    expect_exit 0 "usage: $name --config FILE" "$bin" --help
    expect_exit 2 "unrecognized option" "$bin" --no-such-flag
    expect_exit 2 "--config FILE is required" "$bin"
    expect_exit 2 "bad.yaml:1: .*loud" "$bin" --config "$dir/bad.yaml"
    expect_exit 2 "missing.yaml: cannot read" "$bin" --config "$dir/missing.yaml"
done

sha=$(printf %s 0123456789abcdef0123 | sha256sum | cut -d' ' -f1)
cat >"$dir/edge.yaml" <<YAML
cert: $dir/certs/edge.crt
key: $dir/certs/edge.key
tunnels:
  - id: site1
    secret-sha256: $sha
    routes: [198.51.100.0/24]
access-tokens:
  - name: u
    sha256: $sha
YAML
expect_exit 0 "configuration OK \(1 tunnels, 1 users, 0 access-policy rules\)" "$EDGE" --config "$dir/edge.yaml" --check-config

# an address belongs to one tunnel: a nested prefix of another tenant is refused
{
    sed '/^access-tokens:/,$d' "$dir/edge.yaml"
    printf '  - id: site2\n    secret-sha256: %s\n    routes: [203.0.113.0/24, 198.51.100.128/25]\n' "$sha"
    sed -n '/^access-tokens:/,$p' "$dir/edge.yaml"
} >"$dir/overlap.yaml"
expect_exit 2 "overlap.yaml:9: route '198.51.100.128/25' overlaps route '198.51.100.0/24' of tunnel 'site1'" \
    "$EDGE" --config "$dir/overlap.yaml" --check-config

printf 'cert: %s\nkey: %s\nbogus: 1\n' "$dir/certs/edge.crt" "$dir/certs/edge.key" >"$dir/bad-edge.yaml"
expect_exit 2 "bad-edge.yaml:3: unknown key 'bogus'" "$EDGE" --config "$dir/bad-edge.yaml" --check-config

cat >"$dir/gw.yaml" <<YAML
edges: [192.0.2.1:7844]
edge-name: edge.lab.test
ca-file: $dir/certs/ca.crt
token: site1:0123456789abcdef0123
expose:
  routes: [198.51.100.0/24, 198.51.100.7/24]
YAML
expect_exit 2 "gw.yaml:6:.*198.51.100.7/24" "$GW" --config "$dir/gw.yaml" --check-config
sed -i 's|198.51.100.7/24|203.0.113.0/24|' "$dir/gw.yaml"
expect_exit 0 "configuration OK \(tunnel site1, 1 edges, 2 exposed routes\)" "$GW" --config "$dir/gw.yaml" --check-config
printf 'edges: [192.0.2.1:7844\n' >"$dir/syntax.yaml"
expect_exit 2 "syntax.yaml:[0-9]+: YAML syntax error" "$GW" --config "$dir/syntax.yaml"
expect_exit 2 "bad --log-level 'loud'" "$GW" --config "$dir/gw.yaml" --log-level loud
log "OK"
