#!/usr/bin/env bash
# The access proxy over TLS (access-tls-listen, :8443) with Debian's curl as an HTTPS proxy
# client (HTTP/1.1 CONNECT over TLS): an 8 MiB download and upload (sha256) with the access
# token, 407 without it, the edge's HTTP/1.1 answers (405, 400) and a connect-udp upgrade
# on the TLS port; client certificates (client-ca: the lab CA): the lab's "ops" certificate
# is accepted and its names logged, one from another CA fails the handshake; a reload that
# changes client-ca applies to new connections; HTTP/2 CONNECT on the same port still works.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_root
require_cmd curl sha256sum python3 openssl
# shellcheck disable=SC2119
lab_up

dir=$LAB_DIR/t-access-tls
rm -rf "$dir"
mkdir -p "$dir"
file=tls-8m.bin # served by the lab's web server (198.51.100.10:8000, $LAB_DIR/www)
cleanup_files() { rm -rf "$dir" "$LAB_DIR/www/$file"; }
on_cleanup cleanup_files
random_file "$LAB_DIR/www/$file" $((8 * 1024))
want=$(sha256_file "$LAB_DIR/www/$file")
url=http://$PRIV_IP:8000/$file
proxy=https://198.18.0.1:8443
assert_eq "$proxy" "$EDGE_TLS_PROXY" "lab's TLS proxy address"
[[ -s $CLIENT_CERT && -s $CLIENT_KEY ]] || fail "lab env: CLIENT_CERT/CLIENT_KEY missing"
assert_eq 600 "$(stat -c %a "$CLIENT_KEY")" "client key mode"

# tcurl ARGS...: curl in st-client with the edge's TLS listener as an HTTPS proxy, tunnel mode
tcurl() { in_ns st-client curl -sS -p --proxy "$proxy" --proxy-cacert "$CA_FILE" "$@"; }
# connect_code ARGS...: the CONNECT's status ("000": none, e.g. a failed handshake)
connect_code() { tcurl -s -m 20 -o /dev/null -w '%{http_connect}' "$@" "$url" 2>/dev/null || true; }
refusals() { grep -c 'client certificate refused' "$EDGE_LOG" || true; }

log "HTTP/1.1 CONNECT over TLS with the access token: download and upload 8 MiB"
tcurl -m 120 --proxy-user "x:$ACCESS_TOKEN" -o "$dir/down.bin" "$url" ||
    fail "download through $proxy failed (curl $?)"
assert_eq "$want" "$(sha256_file "$dir/down.bin")" "download sha256"
answer=$(tcurl -m 120 --proxy-user "x:$ACCESS_TOKEN" -T "$LAB_DIR/www/$file" \
    "http://$PRIV_IP:8000/upload") || fail "upload through $proxy failed"
assert_eq "$want $((8 * 1024 * 1024))" "$answer" "upload sha256 and size seen by the origin"

# Whatever ALPN curl offers, both http/1.1 and none must give HTTP/1.1 CONNECT.
alpn_connect() {
    in_ns st-client python3 - "$CA_FILE" "$ACCESS_TOKEN" "$1" <<'PY'
import socket, ssl, sys
ca, token, alpn = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
if alpn != "none":
    ctx.set_alpn_protocols([alpn])
with socket.create_connection(("198.18.0.1", 8443), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="edge.lab.test") as s:
        s.sendall(b"CONNECT 198.51.100.10:8000 HTTP/1.1\r\nHost: 198.51.100.10:8000\r\n"
                  b"Proxy-Authorization: Bearer " + token.encode() + b"\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        s.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        body = b""
        while len(body) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        print(s.selected_alpn_protocol(), head.split(b"\r\n")[0].decode(),
              b"hello from st-priv" in body)
PY
}
assert_eq "http/1.1 HTTP/1.1 200 Connection established True" "$(alpn_connect http/1.1)" \
    "CONNECT over TLS with ALPN http/1.1"
assert_eq "None HTTP/1.1 200 Connection established True" "$(alpn_connect none)" \
    "CONNECT over TLS without ALPN"
offered=$(tcurl -v -m 20 --proxy-user "x:$ACCESS_TOKEN" -o /dev/null "$url" 2>&1 |
    grep -i 'ALPN' | head -n 3 | tr '\n' ' ' || true)
log "curl's ALPN towards the proxy: ${offered:-none offered}"

# A MASQUE HTTP/1.1 upgrade (connect-udp, RFC 9298 3.3) over TLS: DNS to the lab's resolver.
r=$(in_ns st-client python3 "$ST_SOURCE_DIR/tests/integration/masque.py" \
    --proxy 198.18.0.1:8443 --ca "$CA_FILE" --servername edge.lab.test --h1 \
    --token "$ACCESS_TOKEN" --target 198.51.100.53:53 --dns host.corp.test --count 20) ||
    fail "connect-udp over HTTP/1.1 and TLS: $r"
assert_match "answered 20/20" "$r" "connect-udp over HTTP/1.1 and TLS (101 upgrade)"

# The same answers as on the cleartext listener.
assert_eq 407 "$(connect_code)" "CONNECT without a token"
assert_eq 407 "$(connect_code --proxy-user "x:wrong-token")" "CONNECT with a wrong token"
code=$(in_ns st-client curl -s -m 20 --proxy "$proxy" --proxy-cacert "$CA_FILE" \
    --proxy-user "x:$ACCESS_TOKEN" -o /dev/null -w '%{http_code}' "$url" || true)
assert_eq 405 "$code" "GET (not CONNECT) to the proxy"
code=$(tcurl -s -m 20 --proxy-user "x:$ACCESS_TOKEN" -o /dev/null -w '%{http_connect}' \
    "http://no-such-host.lab.test:8000/" 2>/dev/null || true)
assert_eq 400 "$code" "CONNECT to a host name (not ip:port)"

log "client certificate of the lab user ops (lab CA), names logged at debug level"
sed -i 's/^log-level: info$/log-level: debug/' "$EDGE_CONFIG"
reload_edge() { hup_reload "$(cat "$LAB_DIR/run/edge.pid")" "$EDGE_LOG"; }
reload_edge
rm -f "$dir/down.bin"
tcurl -m 120 --proxy-cert "$CLIENT_CERT" --proxy-key "$CLIENT_KEY" \
    --proxy-user "x:$ACCESS_TOKEN" -o "$dir/down.bin" "$url" ||
    fail "download with the client certificate failed (curl $?)"
assert_eq "$want" "$(sha256_file "$dir/down.bin")" "download sha256 with the client certificate"
assert_match 'client certificate: CN=ops email=ops@lab\.test' "$(cat "$EDGE_LOG")" \
    "the certificate's names in the edge log"
# The certificate alone authenticates user ops (client-cert: ops@lab.test, group admins)
rm -f "$dir/down.bin"
tcurl -m 120 --proxy-cert "$CLIENT_CERT" --proxy-key "$CLIENT_KEY" -o "$dir/down.bin" "$url" ||
    fail "download with the client certificate and no token failed (curl $?)"
assert_eq "$want" "$(sha256_file "$dir/down.bin")" "mTLS without a token: user ops, download intact"
ops_end() { grep -q '"event":"end","location":"lab-edge-1","user":"ops".*"auth":"cert"' "$AUDIT_LOG"; }
wait_for 10 "the audit record of ops's flow (auth cert)" ops_end
# a wrong token beside the certificate is still refused: an explicit credential decides
assert_eq 407 "$(connect_code --proxy-cert "$CLIENT_CERT" --proxy-key "$CLIENT_KEY" \
    --proxy-user "x:wrong-token")" "client certificate with a wrong token"

log "a client certificate from another CA fails the handshake"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=other test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" -keyout "$dir/other-ca.key" \
    -out "$dir/other-ca.crt" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=mallory" \
    -keyout "$dir/other.key" -out "$dir/other.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\nsubjectAltName=email:mallory@lab.test\n' >"$dir/ext.cnf"
openssl x509 -req -in "$dir/other.csr" -CA "$dir/other-ca.crt" -CAkey "$dir/other-ca.key" \
    -CAcreateserial -days 2 -sha256 -extfile "$dir/ext.cnf" -out "$dir/other.crt" 2>/dev/null
before=$(refusals)
rc=0
tcurl -m 20 --proxy-cert "$dir/other.crt" --proxy-key "$dir/other.key" \
    --proxy-user "x:$ACCESS_TOKEN" -o /dev/null "$url" 2>"$dir/err" || rc=$?
((rc != 0)) || fail "a certificate of another CA was accepted"
pass "curl failed with a certificate of another CA (exit $rc: $(head -c 200 "$dir/err"))"
wait_for 5 "refusal line in the edge log" test "$(refusals)" -gt "$before"
assert_match 'access 198\.18\.0\.10:[0-9]+: TLS handshake: client certificate refused: ' \
    "$(cat "$EDGE_LOG")" "refusal logged with the reason"
# Visitor HTTPS asks for a certificate too.
code=$(in_ns st-client curl -s -m 20 --cacert "$CA_FILE" --resolve app.lab.test:443:198.18.0.1 \
    --cert "$dir/other.crt" --key "$dir/other.key" -o /dev/null -w '%{http_code}' \
    "https://app.lab.test/file" 2>/dev/null || true)
assert_eq 000 "$code" "visitor HTTPS with a certificate of another CA"
code=$(in_ns st-client curl -s -m 20 --cacert "$CA_FILE" --resolve app.lab.test:443:198.18.0.1 \
    --cert "$CLIENT_CERT" --key "$CLIENT_KEY" -o /dev/null -w '%{http_code}' \
    "https://app.lab.test/file" 2>/dev/null || true)
assert_eq 200 "$code" "visitor HTTPS with the ops certificate"
assert_match 'visitor 198\.18\.0\.10: client certificate: CN=ops' "$(cat "$EDGE_LOG")" \
    "visitor certificate names logged (HTTP/2)"
code=$(in_ns st-client curl -s -m 20 --http1.1 --cacert "$CA_FILE" \
    --resolve app.lab.test:443:198.18.0.1 --cert "$CLIENT_CERT" --key "$CLIENT_KEY" \
    -o /dev/null -w '%{http_code}' "https://app.lab.test/file" 2>/dev/null || true)
assert_eq 200 "$code" "visitor HTTPS (HTTP/1.1) with the ops certificate"
assert_match 'visitor 198\.18\.0\.10:[0-9]+: client certificate: CN=ops' "$(cat "$EDGE_LOG")" \
    "visitor certificate names logged (HTTP/1.1)"

log "reload: client-ca now names the other CA only"
cp "$dir/other-ca.crt" "$dir/client-ca.pem"
chmod 644 "$dir/client-ca.pem"
chmod 755 "$dir"
sed -i "s|^client-ca: .*|client-ca: $dir/client-ca.pem|" "$EDGE_CONFIG"
reload_edge
assert_eq 200 "$(connect_code --proxy-user "x:$ACCESS_TOKEN" --proxy-cert "$dir/other.crt" \
    --proxy-key "$dir/other.key")" "the other CA's certificate after the reload"
assert_eq 000 "$(connect_code --proxy-user "x:$ACCESS_TOKEN" --proxy-cert "$CLIENT_CERT" \
    --proxy-key "$CLIENT_KEY")" "the ops certificate after the reload"
assert_eq 200 "$(connect_code --proxy-user "x:$ACCESS_TOKEN")" "no certificate after the reload"

log "HTTP/2 CONNECT over TLS on the same port"
h2=$ST_SOURCE_DIR/tests/integration/h2connect.py
in_ns st-client timeout 120 python3 "$h2" --proxy "${proxy#https://}" --ca "$CA_FILE" \
    --servername edge.lab.test --token "$ACCESS_TOKEN" --target "$PRIV_IP:8000" \
    --get "/$file" --out "$dir/h2.bin" || fail "HTTP/2 CONNECT download failed"
assert_eq "$want" "$(sha256_file "$dir/h2.bin")" "HTTP/2 download sha256"
