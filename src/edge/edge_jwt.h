#ifndef SUBTUNNEL_EDGE_JWT_H
#define SUBTUNNEL_EDGE_JWT_H

/* Signed bearer tokens (JWT, RFC 7519; JWS compact form, RFC 7515) for the access proxy:
 * an OIDC identity provider issues them, the edge checks them against the provider's
 * public keys in a local JWK Set (edge_jwks) without any network call. Pure: no globals,
 * no sockets, the time is passed in.
 *
 * What a token must satisfy, in the order checked (the first failure is returned):
 *   at most EDGE_JWT_MAX_LEN bytes; three base64url parts (no '=' padding, no '+' or '/');
 *   the header a JSON object without "crit", "alg" one of RS256, ES256, EdDSA ("none" and
 *   everything else refused) matching the key's type and curve; "kid" naming a key of the
 *   set (a token without "kid" only matches a set whose single key has none; "jku", "jwk",
 *   "x5u", "x5c" are ignored: keys come from the file only); a valid signature; the payload
 *   a JSON object (duplicate members refused) with a numeric "exp": credentials must be
 *   short-lived, so a token without "exp" is refused; exp + skew > now; nbf - skew <= now
 *   when "nbf" is present; "iss" equal to conf->issuer when set; "aud" equal to, or an
 *   array holding, conf->audience when set; the user claim a string of 1..127 bytes
 *   without control characters; the groups claim, when present, an array of at most 32
 *   such strings of 1..63 bytes. */

#include "edge_jwks.h"

#include <stddef.h>
#include <stdint.h>

#define EDGE_JWT_MAX_LEN 8192
#define EDGE_JWT_USER_MAX 128
#define EDGE_JWT_GROUPS_MAX 32
#define EDGE_JWT_GROUP_MAX 64

struct edge_jwt_conf {
    char *jwks_file;
    char *issuer;       /* NULL: "iss" not checked */
    char *audience;     /* NULL: "aud" not checked */
    char *user_claim;   /* NULL: "sub" */
    char *groups_claim; /* NULL: "groups" */
    int skew_s;         /* clock skew allowed on exp and nbf; the config default is 60 */
};

/* What edge_jwt_verify returns: 0, or one of these (distinct, -1..-EDGE_JWT_NCODES + 1), so
 * a caller can count refusals per reason in an array indexed by -rv. */
enum edge_jwt_error {
    EDGE_JWT_ETOOLONG = -1,   /* over EDGE_JWT_MAX_LEN */
    EDGE_JWT_EMALFORMED = -2, /* not three base64url parts of JSON objects; "crit" */
    EDGE_JWT_EALG = -3,       /* alg none, unsupported, or not the key's */
    EDGE_JWT_EKID = -4,       /* no key with this kid (or without kid) */
    EDGE_JWT_ESIG = -5,       /* the signature does not verify */
    EDGE_JWT_ENOEXP = -6,     /* no numeric "exp" (or "nbf" not numeric) */
    EDGE_JWT_EEXPIRED = -7,   /* exp + skew <= now */
    EDGE_JWT_ENOTYET = -8,    /* nbf - skew > now */
    EDGE_JWT_EISSUER = -9,    /* iss missing or not conf->issuer */
    EDGE_JWT_EAUDIENCE = -10, /* aud missing or without conf->audience */
    EDGE_JWT_EUSER = -11,     /* user claim missing or invalid */
    EDGE_JWT_EGROUPS = -12,   /* groups claim invalid */
    EDGE_JWT_ENOMEM = -13,    /* out of memory (not the token's fault) */
};
#define EDGE_JWT_NCODES 14

struct edge_jwt_claims {
    char user[EDGE_JWT_USER_MAX];
    char groups[EDGE_JWT_GROUPS_MAX][EDGE_JWT_GROUP_MAX];
    size_t n_groups;
    int64_t exp;
    char kid[EDGE_JWKS_KID_MAX + 1]; /* "" when the token has none */
};

/* Verifies token[0..len) (the value after "Bearer ", not NUL-terminated) against keys and
 * conf at time now (Unix seconds). 0 with the claims in *out, or an edge_jwt_error with a
 * short reason in why (NUL-terminated, whylen > 0; never any part of the token) and *out
 * zeroed. */
int edge_jwt_verify(const struct edge_jwks *keys, const struct edge_jwt_conf *conf,
                    const char *token, size_t len, int64_t now, struct edge_jwt_claims *out,
                    char *why, size_t whylen);
/* A short stable text for a return value of edge_jwt_verify ("ok", "expired", "bad
 * signature", "unknown kid", ...); "unknown" for anything else. */
const char *edge_jwt_reason(int rv);

#endif
