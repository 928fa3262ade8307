#!/usr/bin/env bash
# Who may reach what (issue 20): the lab's users and access-policy with real clients.
# lab (admins) reaches everything; dev (developers) only TCP 198.51.100.10:8000 and UDP
# 198.51.100.53:53; refusals are 403 with a proxy-status that reveals no rule; the edge log
# names user, destination and rule; the audit log holds a decision and an end record per
# flow with the bytes that crossed; no token appears in any log; a reload that removes dev
# closes its running flow; an expired user is refused.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl python3
# shellcheck disable=SC2119
lab_up
HERE=$ST_SOURCE_DIR/tests/integration
dir=$LAB_DIR/t-access-policy
rm -rf "$dir"
mkdir -p "$dir"
cleanup_dir() { rm -rf "$dir" "$AUDIT_LOG.1" "$LAB_DIR/www/policy.bin"; }
on_cleanup cleanup_dir
[[ -n ${DEV_TOKEN:-} && -n ${AUDIT_LOG:-} ]] || fail "lab.sh env has no DEV_TOKEN / AUDIT_LOG"
edge_pid=$(cat "$LAB_DIR/run/edge.pid")

as_dev=(-U "dev:$DEV_TOKEN")
as_lab=(-U "lab:$ACCESS_TOKEN")

# ---- TCP: what dev may and may not reach
size=$((3 << 20))
random_file "$LAB_DIR/www/policy.bin" $((size / 1024))
want=$(sha256_file "$LAB_DIR/www/policy.bin")
in_ns st-client curl -sS -p -x "$EDGE_PROXY" "${as_dev[@]}" -m 60 -o "$dir/dev.bin" \
    "http://$PRIV_IP:8000/policy.bin"
assert_eq "$want" "$(sha256_file "$dir/dev.bin")" "dev: 3 MiB from 198.51.100.10:8000 intact"

r=$(proxy_probe 198.51.100.11:8001 "${as_dev[@]}")
assert_eq 403 "${r%% *}" "dev: another host refused"
assert_eq "403 subtunnel; error=destination_ip_prohibited" "$r" \
    "dev: the proxy-status reveals no rule"
r=$(proxy_probe "$PRIV_IP:8001" "${as_dev[@]}")
assert_eq 403 "${r%% *}" "dev: another port of the allowed host refused"
r=$(proxy_probe 203.0.113.99:80 "${as_dev[@]}")
assert_eq "403 subtunnel; error=destination_ip_prohibited" "$r" \
    "dev: an unrouted destination gets the same answer as a refused one"
r=$(proxy_probe 198.51.100.11:8001 "${as_lab[@]}")
assert_eq 200 "${r%% *}" "lab (admins): the host dev may not reach"

# The same verdicts over HTTP/2 (TLS :8443)
in_ns st-client python3 "$HERE/h2connect.py" --proxy 198.18.0.1:8443 --ca "$CA_FILE" \
    --servername edge.lab.test --token "$DEV_TOKEN" --target "$PRIV_IP:8000" \
    --get /policy.bin --out "$dir/dev-h2.bin" || fail "dev over HTTP/2 to the allowed target"
assert_eq "$want" "$(sha256_file "$dir/dev-h2.bin")" "dev over HTTP/2: intact"
set +e
r=$(in_ns st-client python3 "$HERE/h2connect.py" --proxy 198.18.0.1:8443 --ca "$CA_FILE" \
    --servername edge.lab.test --token "$DEV_TOKEN" --target 198.51.100.11:8001 \
    --get / --out "$dir/x" 2>&1)
rc=$?
set -e
assert_ne 0 "$rc" "dev over HTTP/2 to another host"
assert_match "403" "$r" "dev over HTTP/2: 403"

# ---- UDP (connect-udp): the resolver's port 53 only
DNS=198.51.100.53
r=$(in_ns st-client python3 "$HERE/masque.py" --proxy 198.18.0.1:8080 --h2c \
    --token "$DEV_TOKEN" --target "$DNS:53" --dns host.corp.test --count 5) ||
    fail "dev: DNS over connect-udp to $DNS:53: $r"
assert_match "answered 5/5" "$r" "dev: UDP $DNS:53 allowed"
set +e
r=$(in_ns st-client python3 "$HERE/masque.py" --proxy 198.18.0.1:8080 --h2c \
    --token "$DEV_TOKEN" --target "$PRIV_IP:53" --dns host.corp.test 2>&1)
rc=$?
set -e
assert_eq 2 "$rc" "dev: UDP to another host refused"
assert_match "403" "$r" "dev: UDP refusal is 403"

# ---- the edge log names user, destination and the deciding rule; the audit log has it all
assert_match "user dev refused by no rule matched \(default deny\)" \
    "$(grep '198.51.100.11:8001' "$EDGE_LOG")" "edge log: user, destination, rule"

# audit FIELD=VALUE...: the records of the edge's audit log matching every FIELD=VALUE
audit() { audit_records "$AUDIT_LOG" "$@"; }
wait_audit() { [[ -n $(audit "$@") ]]; }
wait_for 10 "the audit record of dev's download" wait_audit event=end user=dev \
    dest="$PRIV_IP:8000"
rec=$(audit event=end user=dev dest="$PRIV_IP:8000" kind=tcp | head -n 1)
down=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes_down"])' "$rec")
((down >= size && down < size + 4096)) ||
    fail "audit bytes_down $down for a $size-byte body (plus HTTP headers)"
pass "audit: dev's flow ended with bytes_down $down for $size bytes of body"
assert_match '"auth": "token"' "$rec" "audit: auth method"
assert_match '"groups": \["developers"\]' "$rec" "audit: groups"
assert_match '"tunnel": "site1"' "$rec" "audit: tunnel"
r=$(audit event=decision user=dev dest=198.51.100.11:8001 verdict=deny | head -n 1)
assert_match '"rule": "default"' "$r" "audit: the refusal's decision record"
r=$(audit event=decision user=dev dest="$DNS:53" verdict=allow kind=udp | head -n 1)
assert_match '"rule": 3' "$r" "audit: the UDP allow names rule 3"

# ---- a signed token (JWT) from the lab's identity provider: carol, group developers
[[ -n ${JWT_TOKEN:-} && -n ${JWT_EXPIRED:-} ]] || fail "lab.sh env has no JWT_TOKEN / JWT_EXPIRED"
r=$(in_ns st-client curl -sS -p -x "$EDGE_PROXY" --proxy-header "Proxy-Authorization: Bearer $JWT_TOKEN" \
    -m 20 "http://$PRIV_IP:8000/file") || fail "carol's JWT to 198.51.100.10:8000"
assert_match "hello from st-priv" "$r" "carol (JWT, developers): the host and port developers may reach"
r=$(proxy_probe "$PRIV_IP:8000" -U "carol:$JWT_TOKEN")
assert_eq 200 "${r%% *}" "the JWT as a Basic password"
r=$(proxy_probe 198.51.100.11:8001 --proxy-header "Proxy-Authorization: Bearer $JWT_TOKEN")
assert_eq 403 "${r%% *}" "carol (JWT): another host refused"
r=$(proxy_probe "$PRIV_IP:8000" --proxy-header "Proxy-Authorization: Bearer $JWT_EXPIRED")
assert_eq 407 "${r%% *}" "an expired JWT"
assert_match "proxy authentication signed token: expired" "$(cat "$EDGE_LOG")" \
    "edge log: why the JWT was refused"
wait_for 10 "the audit record of carol's flow" wait_audit event=end user=carol auth=jwt

# ---- private.lab.test: the same origin as app.lab.test, for group admins only
vis=(--resolve private.lab.test:80:198.18.0.1 --resolve private.lab.test:443:198.18.0.1
    --cacert "$CA_FILE")
vcode() { in_ns st-client curl -s -m 20 -o /dev/null -w '%{http_code}' "${vis[@]}" "$@" || true; }
P=https://private.lab.test
hdrs=$(in_ns st-client curl -s -m 20 -D - -o /dev/null "${vis[@]}" "http://private.lab.test/file?a=1") || true
assert_match '^HTTP/1.1 308' "$hdrs" "private.lab.test over cleartext HTTP: 308 to HTTPS"
assert_match '^Location: https://private.lab.test/file\?a=1' "$(tr -d '\r' <<<"$hdrs")" \
    "the redirect keeps the path (no credential is asked for in the clear)"
hdrs=$(in_ns st-client curl -s -m 20 -D - -o /dev/null --http1.1 "${vis[@]}" "$P/file") || true
assert_match '^HTTP/1.1 401' "$hdrs" "private.lab.test without credentials: 401"
assert_match '^WWW-Authenticate: Basic realm="subtunnel"' "$(tr -d '\r' <<<"$hdrs")" \
    "the 401 asks a browser for a user and password"
assert_eq 401 "$(vcode "$P/file")" "the same over HTTP/2"
assert_eq 200 "$(vcode -u "lab:$ACCESS_TOKEN" "$P/file")" \
    "private.lab.test as lab (admins), token as the Basic password"
assert_eq 200 "$(vcode --http1.1 -u "lab:$ACCESS_TOKEN" "$P/file")" "the same over HTTP/1.1"
assert_eq 403 "$(vcode -u "dev:$DEV_TOKEN" "$P/file")" "private.lab.test as dev (developers): 403"
assert_eq 403 "$(vcode -H "Authorization: Bearer $JWT_TOKEN" "$P/file")" \
    "private.lab.test with carol's JWT (developers): 403"
assert_eq 401 "$(vcode -u "lab:wrong" "$P/file")" "a wrong token: 401"
assert_eq 200 "$(vcode http://app.lab.test/file --resolve app.lab.test:80:198.18.0.1)" \
    "app.lab.test stays public"
for v in --http1.1 --http2; do
    seen=$(in_ns st-client curl -s -m 20 "$v" "${vis[@]}" -u "lab:$ACCESS_TOKEN" "$P/headers") ||
        fail "private.lab.test/headers ($v)"
    assert_match '^GET /headers' "$seen" "the origin answered ($v)"
    if grep -qi '^authorization:' <<<"$seen"; then fail "the origin saw the visitor's Authorization ($v)"; fi
done
pass "the origin never sees the credential"
assert_eq 200 "$(vcode --cert "$CLIENT_CERT" --key "$CLIENT_KEY" "$P/file")" \
    "private.lab.test over HTTPS with ops's client certificate"
assert_eq 200 "$(vcode --http1.1 --cert "$CLIENT_CERT" --key "$CLIENT_KEY" "$P/file")" \
    "the same over HTTP/1.1"
wait_for 10 "the audit record of a visitor request" wait_audit event=end kind=http \
    host=private.lab.test user=lab status=200
r=$(audit event=end kind=http host=private.lab.test user=lab path=/file status=200 | head -n 1)
assert_match '"method": "GET"' "$r" "audit: the visitor's method"
want_len=$(stat -c %s "$LAB_DIR/www/file")
assert_match "\"bytes_down\": $want_len," "$r" "audit: the visitor's body bytes"
if grep -q 'a=1' "$AUDIT_LOG"; then fail "a request's query reached the audit log"; fi
pass "audit: paths without their query"

# ---- logrotate: rename the audit log, SIGUSR1, the edge writes a new file
mv "$AUDIT_LOG" "$AUDIT_LOG.1"
kill -USR1 "$edge_pid"
wait_for 10 "the edge to reopen its audit log" grep -q "SIGUSR1: audit-log $AUDIT_LOG reopened" \
    "$EDGE_LOG"
r=$(proxy_probe "$PRIV_IP:8000" "${as_lab[@]}")
assert_eq 200 "${r%% *}" "a flow after the rotation"
wait_for 10 "a record in the new audit log" wait_audit event=decision user=lab verdict=allow
[[ -s $AUDIT_LOG.1 ]] || fail "the rotated audit log is empty"
pass "SIGUSR1 reopens the audit log (records before in $AUDIT_LOG.1, after in a new file)"

# ---- bad credentials: 407, and no token in any log
r=$(proxy_probe "$PRIV_IP:8000" -U "dev:not-$DEV_TOKEN")
assert_eq 407 "${r%% *}" "a wrong token"
wait_for 10 "the audit record of the wrong token" wait_audit event=decision auth=none \
    reason="unknown or expired access token"
pass "audit: the wrong token's decision record"
for t in "$ACCESS_TOKEN" "$DEV_TOKEN" "$JWT_TOKEN" "$JWT_EXPIRED" "${JWT_TOKEN##*.}"; do
    if grep -rqF -- "$t" "$LAB_DIR/logs"; then fail "a token appears in $(grep -rlF -- "$t" "$LAB_DIR/logs")"; fi
done
pass "no token in any log"

count() { grep -c -- "$1" "$EDGE_LOG" || true; }

# ---- a reload that removes dev closes its running flow
cp "$EDGE_CONFIG" "$dir/edge.yaml.good"
restore() {
    if cp "$dir/edge.yaml.good" "$EDGE_CONFIG"; then kill -HUP "$edge_pid" 2>/dev/null || true; fi
}
on_cleanup restore
rm -f "$dir/slow.bin"
in_ns st-client curl -sS -p -x "$EDGE_PROXY" "${as_dev[@]}" -m 60 --limit-rate 512K \
    -o "$dir/slow.bin" "http://$PRIV_IP:8000/fixed?bytes=$((64 << 20))" 2>/dev/null &
dl=$!
got_some() { [[ -f $dir/slow.bin ]] && (($(file_size "$dir/slow.bin") >= 256 * 1024)); }
wait_for 20 "dev's slow download under way" got_some
dev_hash=$(printf %s "$DEV_TOKEN" | sha256sum | cut -d' ' -f1)
grep -q "$dev_hash" "$EDGE_CONFIG" || fail "dev's token hash not in the edge config"
python3 - "$EDGE_CONFIG" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
out, skip = [], False
for l in lines:
    if l == "  - name: dev":
        skip = True
        continue
    if skip and l.startswith("    "):
        continue
    skip = False
    out.append(l)
open(p, "w").write("\n".join(out))
PY
hup_reload "$edge_pid" "$EDGE_LOG"
rc=0
wait "$dl" || rc=$?
assert_ne 0 "$rc" "curl exit code of dev's download after dev was removed"
(($(file_size "$dir/slow.bin") < 64 << 20)) || fail "dev's download completed after removal"
assert_match "\(user dev\): credential removed: closed" "$(cat "$EDGE_LOG")" "edge log: revoked"
wait_for 10 "the audit record of the revoked flow" wait_audit event=end user=dev \
    reason="credential removed"
r=$(proxy_probe "$PRIV_IP:8000" "${as_dev[@]}")
assert_eq 407 "${r%% *}" "dev after removal"

# ---- an expired user is refused; a user without a policy rule reaches nothing
exp_token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
exp_hash=$(printf %s "$exp_token" | sha256sum | cut -d' ' -f1)
new_token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
new_hash=$(printf %s "$new_token" | sha256sum | cut -d' ' -f1)
awk -v e="$exp_hash" -v n="$new_hash" '{print} /^users:/{
    print "  - {name: gone, groups: [admins], token-sha256: " e ", expires: 2020-01-01T00:00:00Z}"
    print "  - {name: nobody-special, token-sha256: " n "}"}' "$dir/edge.yaml.good" >"$EDGE_CONFIG"
hup_reload "$edge_pid" "$EDGE_LOG"
r=$(proxy_probe "$PRIV_IP:8000" -U "x:$exp_token")
assert_eq 407 "${r%% *}" "an expired user"
r=$(proxy_probe "$PRIV_IP:8000" -U "x:$new_token")
assert_eq 403 "${r%% *}" "a user no rule names (default deny)"
r=$(proxy_probe "$PRIV_IP:8000" "${as_dev[@]}")
assert_eq 200 "${r%% *}" "dev is back with the restored file"
