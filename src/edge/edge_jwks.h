#ifndef SUBTUNNEL_EDGE_JWKS_H
#define SUBTUNNEL_EDGE_JWKS_H

/* The public keys signed bearer tokens (edge_jwt) are checked against: an RFC 7517 JWK Set
 * read from a local file (an OIDC provider's jwks_uri document, fetched by the operator;
 * the edge makes no network calls). Pure: no globals, no sockets. */

#include <stddef.h>
#include <stdint.h>

#define EDGE_JWKS_MAX_KEYS 64
#define EDGE_JWKS_MAX_BYTES (1024 * 1024)
#define EDGE_JWKS_KID_MAX 63
#define EDGE_JWKS_RSA_MIN_BITS 2048
#define EDGE_JWKS_RSA_MAX_BITS 8192

/* Opaque: the loaded keys (kid, kty, crv, optional alg, OpenSSL public key). */
struct edge_jwks;

/* Parses a JWK Set (UTF-8 JSON, at most EDGE_JWKS_MAX_BYTES) into *out (caller frees with
 * edge_jwks_free). Supported: kty RSA (n, e; 2048..8192 bits, smaller is an error), EC
 * crv P-256 (x, y; the point must be on the curve), OKP crv Ed25519 (x). Keys whose "use"
 * is not "sig", whose "key_ops" lacks "verify", or whose kty, crv or alg is not supported
 * are skipped; when no key remains it is an error naming the reason of the last one. Also
 * errors: not JSON (duplicate members included), no "keys" array, an empty set, more than
 * EDGE_JWKS_MAX_KEYS keys, bad base64url or sizes in a key, a kid that is not a string of
 * 1..63 bytes, two usable keys with the same kid, a key without kid next to another usable
 * key. 0, or -EINVAL (or -ENOMEM) with a reason in err (NUL-terminated, errlen > 0). */
int edge_jwks_parse(const char *text, size_t len, struct edge_jwks **out, char *err, size_t errlen);
/* edge_jwks_parse of a file's contents; -errno of open/read, or -EFBIG past
 * EDGE_JWKS_MAX_BYTES, with the reason in err. */
int edge_jwks_load(const char *path, struct edge_jwks **out, char *err, size_t errlen);
void edge_jwks_free(struct edge_jwks *k); /* NULL ok */
/* Number of usable keys (0 for NULL). */
size_t edge_jwks_count(const struct edge_jwks *k);

/* Verifies a JWS signature: sig over msg[0..mlen) with the key named kid (NULL: the only
 * key, when it has no kid) for the JOSE alg ("RS256", "ES256" with sig the raw 64-byte
 * r||s, "EdDSA"). 0 when valid; -ENOENT no such key, -EPERM alg not supported or not
 * matching the key's kty/crv or its "alg", -EBADMSG bad signature, -ENOMEM. */
int edge_jwks_verify(const struct edge_jwks *k, const char *kid, const char *alg,
                     const uint8_t *msg, size_t mlen, const uint8_t *sig, size_t slen);

#endif
