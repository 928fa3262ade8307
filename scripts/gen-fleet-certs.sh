#!/usr/bin/env bash
# gen-fleet-certs.sh OUTDIR N: the lab fleet's own CA (fleet-ca.crt, apart from the users'
# CA: a user's certificate must never pass for an edge) and one certificate per edge
# lab-edge-1..N (CN and DNS SAN lab-edge-K, IP 192.0.2.K; server and client use), for the
# relay between edges (relay-ca, relay-cert, relay-key), ECDSA P-256, valid 30 days.
# Idempotent: an existing, still valid set signed by the CA in OUTDIR is kept.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR N" >&2; exit 2; }
[[ $# -eq 2 && $2 =~ ^[1-9]$ ]] || usage
out=$1 n=$2
mkdir -p "$out"
umask 077

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DAYS=30

valid() {
    # $1 cert: exists, not expiring within a day
    [[ -s $1 ]] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1
}

if ! valid "$out/fleet-ca.crt" || [[ ! -s $out/fleet-ca.key ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
    openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days "$DAYS" \
        -subj "/CN=subtunnel lab fleet CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$tmp/ca.crt"
    mv "$tmp/ca.key" "$out/fleet-ca.key"
    mv "$tmp/ca.crt" "$out/fleet-ca.crt"
    rm -f "$out"/lab-edge-*.crt "$out"/lab-edge-*.key
fi

for ((k = 1; k <= n; k++)); do
    name=lab-edge-$k
    if valid "$out/$name.crt" && [[ -s $out/$name.key ]] &&
        openssl verify -CAfile "$out/fleet-ca.crt" "$out/$name.crt" >/dev/null 2>&1; then
        continue
    fi
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/$name.key"
    openssl req -new -key "$tmp/$name.key" -subj "/CN=$name" -out "$tmp/$name.csr"
    cat >"$tmp/$name.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:$name,IP:192.0.2.$k
EXT
    openssl x509 -req -in "$tmp/$name.csr" -CA "$out/fleet-ca.crt" -CAkey "$out/fleet-ca.key" \
        -CAcreateserial -CAserial "$tmp/ca.srl" -days "$DAYS" -sha256 \
        -extfile "$tmp/$name.cnf" -out "$tmp/$name.crt" 2>/dev/null
    mv "$tmp/$name.key" "$out/$name.key"
    mv "$tmp/$name.crt" "$out/$name.crt"
done
chmod 644 "$out/fleet-ca.crt" "$out"/lab-edge-*.crt
echo "fleet certificates in $out: fleet-ca.crt lab-edge-1..$n.crt/.key"
