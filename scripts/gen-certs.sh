#!/usr/bin/env bash
# gen-certs.sh OUTDIR: a throwaway test CA, one ECDSA P-256 edge certificate
# (edge.lab.test, *.lab.test and the lab addresses) and one client certificate for the
# lab's user "ops" (CN=ops, email ops@lab.test; ops.crt, ops.key), valid 30 days.
# Idempotent: an existing, still valid set signed by the CA in OUTDIR is kept.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
out=$1
mkdir -p "$out"
umask 077

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

SANS="DNS:edge.lab.test,DNS:*.lab.test,IP:192.0.2.1,IP:192.0.2.2,IP:198.18.0.1,IP:198.18.0.2"
DAYS=30

valid() {
    # $1 cert: exists, not expiring within a day
    [[ -s $1 ]] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1
}

if ! valid "$out/ca.crt" || [[ ! -s $out/ca.key ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
    openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days "$DAYS" \
        -subj "/CN=subtunnel lab test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$tmp/ca.crt"
    mv "$tmp/ca.key" "$out/ca.key"
    mv "$tmp/ca.crt" "$out/ca.crt"
    rm -f "$out/edge.crt" "$out/edge.key" "$out/ops.crt" "$out/ops.key"
fi

if ! valid "$out/edge.crt" || [[ ! -s $out/edge.key ]] ||
    ! openssl verify -CAfile "$out/ca.crt" "$out/edge.crt" >/dev/null 2>&1; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/edge.key"
    openssl req -new -key "$tmp/edge.key" -subj "/CN=edge.lab.test" -out "$tmp/edge.csr"
    cat >"$tmp/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$SANS
EXT
    openssl x509 -req -in "$tmp/edge.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
        -CAcreateserial -CAserial "$tmp/ca.srl" -days "$DAYS" -sha256 \
        -extfile "$tmp/ext.cnf" -out "$tmp/edge.crt" 2>/dev/null
    mv "$tmp/edge.key" "$out/edge.key"
    mv "$tmp/edge.crt" "$out/edge.crt"
fi
# A user's client certificate (a credential for curl --proxy-cert; the edge needs only the CA).
if ! valid "$out/ops.crt" || [[ ! -s $out/ops.key ]] ||
    ! openssl verify -CAfile "$out/ca.crt" "$out/ops.crt" >/dev/null 2>&1; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ops.key"
    openssl req -new -key "$tmp/ops.key" -subj "/CN=ops" -out "$tmp/ops.csr"
    cat >"$tmp/ops.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=email:ops@lab.test
EXT
    openssl x509 -req -in "$tmp/ops.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
        -CAcreateserial -CAserial "$tmp/ca.srl" -days "$DAYS" -sha256 \
        -extfile "$tmp/ops.cnf" -out "$tmp/ops.crt" 2>/dev/null
    mv "$tmp/ops.key" "$out/ops.key"
    mv "$tmp/ops.crt" "$out/ops.crt"
fi
chmod 644 "$out/ca.crt" "$out/edge.crt" "$out/ops.crt"
chmod 600 "$out/ops.key"
echo "certificates in $out: ca.crt ca.key edge.crt edge.key ops.crt ops.key"
