#include "edge_jwt.h"

#include "st_b64url.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The largest RSA signature (EDGE_JWKS_RSA_MAX_BITS) and decoded header or payload. */
#define SIG_MAX (EDGE_JWKS_RSA_MAX_BITS / 8)
#define PART_MAX ST_B64URL_DEC_MAX(EDGE_JWT_MAX_LEN)

struct parts {
    const char *p[3];
    size_t len[3];
};

static const char *const reasons[EDGE_JWT_NCODES] = {
    [0] = "ok",
    [-EDGE_JWT_ETOOLONG] = "too long",
    [-EDGE_JWT_EMALFORMED] = "malformed",
    [-EDGE_JWT_EALG] = "alg not allowed",
    [-EDGE_JWT_EKID] = "unknown kid",
    [-EDGE_JWT_ESIG] = "bad signature",
    [-EDGE_JWT_ENOEXP] = "no exp",
    [-EDGE_JWT_EEXPIRED] = "expired",
    [-EDGE_JWT_ENOTYET] = "not yet valid",
    [-EDGE_JWT_EISSUER] = "wrong issuer",
    [-EDGE_JWT_EAUDIENCE] = "wrong audience",
    [-EDGE_JWT_EUSER] = "bad user claim",
    [-EDGE_JWT_EGROUPS] = "bad groups claim",
    [-EDGE_JWT_ENOMEM] = "out of memory",
};

const char *edge_jwt_reason(int rv)
{
    return rv <= 0 && rv > -EDGE_JWT_NCODES ? reasons[-rv] : "unknown";
}

static int fail(int rv, const char *msg, char *why, size_t whylen)
{
    snprintf(why, whylen, "%s", msg);
    return rv;
}

static int split(const char *t, size_t len, struct parts *pt)
{
    size_t k = 0, start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && t[i] != '.')
            continue;
        if (k == 3)
            return -1;
        pt->p[k] = t + start;
        pt->len[k++] = i - start;
        start = i + 1;
    }
    return k == 3 ? 0 : -1;
}

/* The JSON object encoded in a base64url part, or NULL. */
static json_t *part_object(const char *b64, size_t len)
{
    uint8_t buf[PART_MAX];
    int n = st_b64url_decode(b64, len, buf, sizeof(buf));
    json_t *o;

    if (n < 0)
        return NULL;
    o = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static bool str_is(json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* The header's alg and kid (NULL when absent; kid copied into out->kid). */
static int check_header(json_t *h, const char **alg, const char **kid, struct edge_jwt_claims *out,
                        char *why, size_t whylen)
{
    json_t *a = json_object_get(h, "alg"), *k = json_object_get(h, "kid");

    if (json_object_get(h, "crit"))
        return fail(EDGE_JWT_EMALFORMED, "\"crit\" header not supported", why, whylen);
    if (!str_is(a, "RS256") && !str_is(a, "ES256") && !str_is(a, "EdDSA"))
        return fail(EDGE_JWT_EALG, "alg missing or not allowed (RS256, ES256, EdDSA are)", why,
                    whylen);
    *alg = json_string_value(a);
    *kid = NULL;
    if (!k)
        return 0;
    if (!json_is_string(k))
        return fail(EDGE_JWT_EMALFORMED, "kid is not a string", why, whylen);
    if (json_string_length(k) >= sizeof(out->kid))
        return fail(EDGE_JWT_EKID, "kid not in the key set", why, whylen);
    *kid = json_string_value(k);
    memcpy(out->kid, *kid, json_string_length(k) + 1);
    return 0;
}

static int check_sig(const struct edge_jwks *keys, const struct parts *pt, const char *alg,
                     const char *kid, char *why, size_t whylen)
{
    uint8_t sig[SIG_MAX];
    int n = st_b64url_decode(pt->p[2], pt->len[2], sig, sizeof(sig));

    if (n == -EINVAL)
        return fail(EDGE_JWT_EMALFORMED, "signature is not base64url", why, whylen);
    if (n < 0)
        return fail(EDGE_JWT_ESIG, "bad signature", why, whylen);
    n = edge_jwks_verify(keys, kid, alg, (const uint8_t *)pt->p[0], pt->len[0] + 1 + pt->len[1],
                         sig, (size_t)n);
    if (n == -ENOENT)
        return fail(EDGE_JWT_EKID, "kid not in the key set", why, whylen);
    if (n == -EPERM)
        return fail(EDGE_JWT_EALG, "alg does not match the key", why, whylen);
    if (n == -ENOMEM)
        return fail(EDGE_JWT_ENOMEM, "out of memory", why, whylen);
    if (n < 0)
        return fail(EDGE_JWT_ESIG, "bad signature", why, whylen);
    return 0;
}

/* A NumericDate (RFC 7519 2: integer or not) as whole seconds; -1 when not a number. */
static int numeric_date(json_t *v, int64_t *out)
{
    double d;

    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    d = json_real_value(v);
    if (!(d > -4.0e18 && d < 4.0e18))
        return -1;
    *out = (int64_t)d;
    if ((double)*out > d) /* round down, also below zero */
        (*out)--;
    return 0;
}

static int check_time(json_t *p, int64_t now, int skew, int64_t *exp, char *why, size_t whylen)
{
    json_t *nbfv = json_object_get(p, "nbf");
    int64_t nbf = 0, lo, hi;

    if (skew < 0)
        skew = 0;
    if (numeric_date(json_object_get(p, "exp"), exp) < 0)
        return fail(EDGE_JWT_ENOEXP, "no numeric exp (tokens must expire)", why, whylen);
    if (nbfv && numeric_date(nbfv, &nbf) < 0)
        return fail(EDGE_JWT_ENOEXP, "nbf is not a number", why, whylen);
    if (__builtin_sub_overflow(now, (int64_t)skew, &lo))
        lo = INT64_MIN;
    if (__builtin_add_overflow(now, (int64_t)skew, &hi))
        hi = INT64_MAX;
    if (*exp <= lo)
        return fail(EDGE_JWT_EEXPIRED, "expired", why, whylen);
    if (nbfv && nbf > hi)
        return fail(EDGE_JWT_ENOTYET, "not yet valid (nbf)", why, whylen);
    return 0;
}

static bool aud_has(json_t *aud, const char *want)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud))
        return str_is(aud, want);
    json_array_foreach(aud, i, v)
    {
        if (str_is(v, want))
            return true;
    }
    return false;
}

/* Copies a claim string of 1..cap-1 bytes without control characters; -1 otherwise. */
static int text_claim(json_t *v, char *dst, size_t cap)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    if (!s || n == 0 || n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

static int check_groups(json_t *g, struct edge_jwt_claims *out)
{
    size_t i;
    json_t *v;

    if (!g)
        return 0;
    if (!json_is_array(g) || json_array_size(g) > EDGE_JWT_GROUPS_MAX)
        return -1;
    json_array_foreach(g, i, v)
    {
        if (text_claim(v, out->groups[i], sizeof(out->groups[i])) < 0)
            return -1;
        out->n_groups = i + 1;
    }
    return 0;
}

static int check_claims(json_t *p, const struct edge_jwt_conf *conf, int64_t now,
                        struct edge_jwt_claims *out, char *why, size_t whylen)
{
    const char *uc = conf->user_claim ? conf->user_claim : "sub";
    const char *gc = conf->groups_claim ? conf->groups_claim : "groups";
    int rv = check_time(p, now, conf->skew_s, &out->exp, why, whylen);

    if (rv < 0)
        return rv;
    if (conf->issuer && !str_is(json_object_get(p, "iss"), conf->issuer))
        return fail(EDGE_JWT_EISSUER, "wrong issuer", why, whylen);
    if (conf->audience && !aud_has(json_object_get(p, "aud"), conf->audience))
        return fail(EDGE_JWT_EAUDIENCE, "wrong audience", why, whylen);
    if (text_claim(json_object_get(p, uc), out->user, sizeof(out->user)) < 0)
        return fail(EDGE_JWT_EUSER, "user claim missing or not a string of 1..127 bytes", why,
                    whylen);
    if (check_groups(json_object_get(p, gc), out) < 0)
        return fail(EDGE_JWT_EGROUPS, "groups claim not an array of at most 32 strings", why,
                    whylen);
    return 0;
}

static int verify(const struct edge_jwks *keys, const struct edge_jwt_conf *conf,
                  const struct parts *pt, int64_t now, struct edge_jwt_claims *out, char *why,
                  size_t whylen)
{
    json_t *h = part_object(pt->p[0], pt->len[0]), *p = NULL;
    const char *alg, *kid;
    int rv;

    if (!h)
        return fail(EDGE_JWT_EMALFORMED, "header is not a base64url JSON object", why, whylen);
    rv = check_header(h, &alg, &kid, out, why, whylen);
    if (rv == 0)
        rv = check_sig(keys, pt, alg, kid, why, whylen);
    if (rv < 0)
        goto out_header;
    p = part_object(pt->p[1], pt->len[1]);
    if (!p) {
        rv = fail(EDGE_JWT_EMALFORMED, "payload is not a base64url JSON object", why, whylen);
        goto out_header;
    }
    rv = check_claims(p, conf, now, out, why, whylen);
    json_decref(p);
out_header:
    json_decref(h);
    return rv;
}

int edge_jwt_verify(const struct edge_jwks *keys, const struct edge_jwt_conf *conf,
                    const char *token, size_t len, int64_t now, struct edge_jwt_claims *out,
                    char *why, size_t whylen)
{
    struct parts pt;
    int rv;

    memset(out, 0, sizeof(*out));
    why[0] = '\0';
    if (len > EDGE_JWT_MAX_LEN)
        return fail(EDGE_JWT_ETOOLONG, "token too long", why, whylen);
    if (split(token, len, &pt) < 0)
        return fail(EDGE_JWT_EMALFORMED, "not three base64url parts", why, whylen);
    rv = verify(keys, conf, &pt, now, out, why, whylen);
    if (rv < 0)
        memset(out, 0, sizeof(*out));
    return rv;
}
