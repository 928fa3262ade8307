#!/usr/bin/env bash
# st-jwtmint (the lab's signed bearer tokens): keygen writes a 0600 private key and a JWK Set
# for each of ES256, RS256 and EdDSA; sign's tokens verify with edge_jwt (st-jwtmint verify)
# and with an independent implementation (python3-cryptography); expired,
# not-yet-valid, wrong-audience and other-key tokens are refused; bad flags exit 2.
# No root, no lab.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MINT=$BUILD_DIR/st-jwtmint
[[ -x $MINT ]] || fail "st-jwtmint not built in $BUILD_DIR"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
NOW=1800000000
ISS=https://idp.example
AUD=subtunnel

# expect_exit CODE PATTERN WHAT CMD...: runs CMD, checks its exit code and output
expect_exit() {
    local want=$1 pattern=$2 what=$3 out rc=0
    shift 3
    out=$("$@" 2>&1) || rc=$?
    assert_eq "$want" "$rc" "$what: exit code"
    assert_match "$pattern" "$out" "$what: output"
}

# pyverify JWKS TOKEN: the signature checked with python3-cryptography (raw r||s for ES256)
pyverify() {
    python3 - "$1" "$2" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
def b64(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def num(s): return int.from_bytes(b64(s), "big")
key = json.load(open(sys.argv[1]))["keys"][0]
h, p, s = sys.argv[2].split(".")
msg, sig, alg = f"{h}.{p}".encode(), b64(s), json.loads(b64(h))["alg"]
if alg == "RS256":
    rsa.RSAPublicNumbers(num(key["e"]), num(key["n"])).public_key().verify(
        sig, msg, padding.PKCS1v15(), hashes.SHA256())
elif alg == "ES256":
    pub = ec.EllipticCurvePublicNumbers(num(key["x"]), num(key["y"]), ec.SECP256R1()).public_key()
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    pub.verify(encode_dss_signature(r, s), msg, ec.ECDSA(hashes.SHA256()))
else:
    ed25519.Ed25519PublicKey.from_public_bytes(b64(key["x"])).verify(sig, msg)
print(json.dumps(json.loads(b64(p)), sort_keys=True))
PY
}
# an independent implementation (python3-cryptography, installed by bootstrap-deps.sh)
python3 -c 'import cryptography' 2>/dev/null ||
    fail "python3-cryptography missing (scripts/bootstrap-deps.sh installs it)"
have_py=1

for alg in ES256 RS256 EdDSA; do
    "$MINT" keygen --alg "$alg" --kid "k-$alg" --key "$dir/$alg.pem" --jwks "$dir/$alg.json"
    assert_eq 600 "$(stat -c %a "$dir/$alg.pem")" "$alg private key mode"
    assert_match "\"alg\": \"$alg\"" "$(cat "$dir/$alg.json")" "$alg JWK Set"
    tok=$("$MINT" sign --key "$dir/$alg.pem" --kid "k-$alg" --sub carol --groups developers,ops \
        --aud $AUD --iss $ISS --exp-in 300 --now $NOW)
    out=$("$MINT" verify --jwks "$dir/$alg.json" --token "$tok" --iss $ISS --aud $AUD --now $NOW)
    assert_eq "ok user=carol groups=developers,ops kid=k-$alg exp=$((NOW + 300))" "$out" \
        "$alg token verified by edge_jwt"
    if ((have_py)); then
        out=$(pyverify "$dir/$alg.json" "$tok") || fail "$alg: python3-cryptography refused it"
        want='{"aud": "subtunnel", "exp": 1800000300, "groups": ["developers", "ops"], '
        want+='"iat": 1800000000, "iss": "https://idp.example", "sub": "carol"}'
        assert_eq "$want" "$out" "$alg token verified by python3-cryptography"
    fi
done
((have_py)) || log "python3-cryptography not installed: independent signature check skipped"

v() { "$MINT" verify --jwks "$dir/ES256.json" --iss $ISS --aud $AUD --now $NOW --token "$1"; }
s() { "$MINT" sign --key "$dir/ES256.pem" --kid k-ES256 --sub carol --now $NOW "$@"; }
other=$("$MINT" sign --key "$dir/EdDSA.pem" --sub carol --exp-in 300 --aud $AUD --iss $ISS \
    --now $NOW)
es_header=eyJhbGciOiJFUzI1NiIsImtpZCI6ImstRVMyNTYifQ # {"alg":"ES256","kid":"k-ES256"}
expect_exit 1 "refused: expired" "exp 61 s ago" v "$(s --aud $AUD --iss $ISS --exp-in -61)"
expect_exit 1 "refused: not yet valid" "nbf in 61 s" \
    v "$(s --aud $AUD --iss $ISS --exp-in 300 --nbf-in 61)"
expect_exit 1 "refused: wrong audience" "aud other" v "$(s --aud other --iss $ISS --exp-in 300)"
expect_exit 1 "refused: wrong issuer" "no iss" v "$(s --aud $AUD --exp-in 300)"
expect_exit 1 "refused: bad signature" "signed by another key" v "$es_header.${other#*.}"
unknown=$("$MINT" sign --key "$dir/ES256.pem" --kid other --sub carol --exp-in 300 --aud $AUD \
    --iss $ISS --now $NOW)
expect_exit 1 "refused: unknown kid" "kid other" v "$unknown"

key=$dir/ES256.pem
expect_exit 2 "unknown command 'frob'" "unknown command" "$MINT" frob
expect_exit 2 "unknown flag '--bogus'" "unknown flag" "$MINT" sign --key "$key" --bogus 1
expect_exit 2 "--alg 'HS256': ES256, RS256 or EdDSA" "keygen HS256" \
    "$MINT" keygen --alg HS256 --key "$dir/x" --jwks "$dir/y"
expect_exit 2 "--alg does not fit the key" "ES256 with an Ed25519 key" \
    "$MINT" sign --key "$dir/EdDSA.pem" --alg ES256 --sub x --exp-in 1
expect_exit 2 "--exp-in: 'soon' is not a number" "--exp-in soon" \
    "$MINT" sign --key "$key" --sub x --exp-in soon
expect_exit 2 "sign needs --key, --sub and --exp-in" "sign without --sub" "$MINT" sign --key "$key"
expect_exit 2 "an empty group" "--groups a,,b" \
    "$MINT" sign --key "$key" --sub x --exp-in 1 --groups a,,b
expect_exit 1 "not a readable PEM private key" "--key not PEM" \
    "$MINT" sign --key "$dir/ES256.json" --sub x --exp-in 1
log OK
