#include "edge_jwt.h"

#include "st_b64url.h"
#include "st_check.h"
#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1800000000LL

static EVP_PKEY *rsa, *ec, *ed, *ec_other;
static struct edge_jwks *keys; /* rsa1, ec1, ed1 */
static const struct edge_jwt_conf conf = {
    .issuer = "https://idp.example", .audience = "subtunnel", .skew_s = 60};

/* --- test-side signing: keys, JWKs and tokens built with OpenSSL directly --- */

static char *b64(const void *p, size_t n)
{
    char *s = malloc(ST_B64URL_ENC_LEN(n) + 1);

    ck_assert_ptr_nonnull(s);
    ck_assert_int_ge(st_b64url_encode(p, n, s, ST_B64URL_ENC_LEN(n) + 1), 0);
    return s;
}

static json_t *bn_member(EVP_PKEY *k, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    uint8_t buf[1024];
    int n;

    ck_assert(EVP_PKEY_get_bn_param(k, param, &bn) == 1);
    n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    char *s = b64(buf, (size_t)n);
    json_t *v = json_string(s);
    free(s);
    return v;
}

/* The public JWK of k (kid NULL: none). */
static json_t *jwk(EVP_PKEY *k, const char *kid)
{
    json_t *o = json_object();

    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        json_object_set_new(o, "kty", json_string("RSA"));
        json_object_set_new(o, "n", bn_member(k, OSSL_PKEY_PARAM_RSA_N, 0));
        json_object_set_new(o, "e", bn_member(k, OSSL_PKEY_PARAM_RSA_E, 0));
    } else if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
        json_object_set_new(o, "kty", json_string("EC"));
        json_object_set_new(o, "crv", json_string("P-256"));
        json_object_set_new(o, "x", bn_member(k, OSSL_PKEY_PARAM_EC_PUB_X, 32));
        json_object_set_new(o, "y", bn_member(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    } else {
        uint8_t x[32];
        size_t n = sizeof(x);
        ck_assert(EVP_PKEY_get_raw_public_key(k, x, &n) == 1);
        char *s = b64(x, n);
        json_object_set_new(o, "kty", json_string("OKP"));
        json_object_set_new(o, "crv", json_string("Ed25519"));
        json_object_set_new(o, "x", json_string(s));
        free(s);
    }
    if (kid)
        json_object_set_new(o, "kid", json_string(kid));
    return o;
}

/* {"keys": [the given JWKs]} as text (steals the references). */
static char *jwks_text(size_t n, json_t **k)
{
    json_t *arr = json_array(), *root;
    char *s;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, k[i]);
    root = json_pack("{s:o}", "keys", arr);
    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

/* Signs the compact JWS of the header and payload texts with k (ES256 as raw r||s). */
static char *sign_raw(EVP_PKEY *k, const char *hdr, const char *pay)
{
    bool ec_key = EVP_PKEY_get_base_id(k) == EVP_PKEY_EC;
    bool ed_key = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
    char *h = b64(hdr, strlen(hdr)), *p = b64(pay, strlen(pay)), *in, *s, *out;
    uint8_t sig[1024], raw[64];
    size_t slen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    ck_assert(asprintf(&in, "%s.%s", h, p) > 0);
    ck_assert(EVP_DigestSignInit(ctx, NULL, ed_key ? NULL : EVP_sha256(), NULL, k) == 1);
    ck_assert(EVP_DigestSign(ctx, sig, &slen, (uint8_t *)in, strlen(in)) == 1);
    EVP_MD_CTX_free(ctx);
    if (ec_key) {
        const uint8_t *d = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)slen);
        ck_assert_ptr_nonnull(es);
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
        ECDSA_SIG_free(es);
        memcpy(sig, raw, 64);
        slen = 64;
    }
    s = b64(sig, slen);
    ck_assert(asprintf(&out, "%s.%s", in, s) > 0);
    free(h);
    free(p);
    free(in);
    free(s);
    return out;
}

/* The claims of a good token; tests change them before signing. */
static json_t *claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:[s,s], s:I, s:I}", "iss", "https://idp.example", "aud",
                     "subtunnel", "sub", "carol", "groups", "developers", "ops", "iat",
                     (json_int_t)NOW - 10, "exp", (json_int_t)NOW + 300);
}

/* A token over c (stolen) signed by k with {"alg": alg, "kid": kid}. */
static char *token(EVP_PKEY *k, const char *alg, const char *kid, json_t *c)
{
    json_t *h = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");
    char *hs, *ps, *t;

    if (kid)
        json_object_set_new(h, "kid", json_string(kid));
    hs = json_dumps(h, JSON_COMPACT);
    ps = json_dumps(c, JSON_COMPACT);
    t = sign_raw(k, hs, ps);
    free(hs);
    free(ps);
    json_decref(h);
    json_decref(c);
    return t;
}

static int verify_c(const struct edge_jwt_conf *cf, const char *t, struct edge_jwt_claims *out)
{
    char why[128];
    int rv = edge_jwt_verify(keys, cf, t, strlen(t), NOW, out, why, sizeof(why));

    ck_assert_int_eq(rv == 0, why[0] == '\0');
    ck_assert_uint_lt(strlen(why), sizeof(why));
    return rv;
}

/* Verifies t (freed) against the default keys and conf. */
static int check(char *t)
{
    struct edge_jwt_claims out;
    int rv = verify_c(&conf, t, &out);

    free(t);
    return rv;
}

static void setup(void)
{
    json_t *k[3];
    char err[200], *txt;

    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ck_assert(rsa && ec && ec_other && ed);
    k[0] = jwk(rsa, "rsa1");
    k[1] = jwk(ec, "ec1");
    k[2] = jwk(ed, "ed1");
    json_object_set_new(k[1], "use", json_string("sig"));
    json_object_set_new(k[1], "alg", json_string("ES256"));
    txt = jwks_text(3, k);
    ck_assert_msg(edge_jwks_parse(txt, strlen(txt), &keys, err, sizeof(err)) == 0, "%s", err);
    free(txt);
}

static void teardown(void)
{
    edge_jwks_free(keys);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec_other);
    EVP_PKEY_free(ed);
}

/* --- verification --- */

START_TEST(test_good)
{
    struct edge_jwt_claims out;
    char *t;

    ck_assert_uint_eq(edge_jwks_count(keys), 3);
    t = token(ec, "ES256", "ec1", claims());
    ck_assert_int_eq(verify_c(&conf, t, &out), 0);
    free(t);
    ck_assert_str_eq(out.user, "carol");
    ck_assert_uint_eq(out.n_groups, 2);
    ck_assert_str_eq(out.groups[0], "developers");
    ck_assert_str_eq(out.groups[1], "ops");
    ck_assert_int_eq(out.exp, NOW + 300);
    ck_assert_str_eq(out.kid, "ec1");
    ck_assert_int_eq(check(token(rsa, "RS256", "rsa1", claims())), 0);
    ck_assert_int_eq(check(token(ed, "EdDSA", "ed1", claims())), 0);
    /* no issuer/audience configured: not checked; other claim names */
    struct edge_jwt_conf c2 = {.user_claim = "email", .groups_claim = "roles"};
    json_t *c = claims();
    json_object_del(c, "iss");
    json_object_del(c, "aud");
    json_object_set_new(c, "email", json_string("carol@example.com"));
    json_object_set_new(c, "roles", json_pack("[s]", "admin"));
    t = token(ed, "EdDSA", "ed1", c);
    ck_assert_int_eq(verify_c(&c2, t, &out), 0);
    free(t);
    ck_assert_str_eq(out.user, "carol@example.com");
    ck_assert_uint_eq(out.n_groups, 1);
    ck_assert_str_eq(out.groups[0], "admin");
}
END_TEST

START_TEST(test_wrong_signature)
{
    char *t = token(ec, "ES256", "ec1", claims());
    size_t n = strlen(t);

    /* one changed signature byte; signed by another key under the same kid */
    t[n - 5] = t[n - 5] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(check(t), EDGE_JWT_ESIG);
    ck_assert_int_eq(check(token(ec_other, "ES256", "ec1", claims())), EDGE_JWT_ESIG);
    /* the payload changed after signing */
    t = token(rsa, "RS256", "rsa1", claims());
    char *dot = strchr(t, '.');
    dot[1] = dot[1] == 'e' ? 'f' : 'e';
    ck_assert_int_eq(check(t), EDGE_JWT_ESIG);
    /* a truncated signature (84 of 86 characters: 63 bytes), an empty one */
    t = token(ed, "EdDSA", "ed1", claims());
    t[strlen(t) - 2] = '\0';
    ck_assert_int_eq(check(t), EDGE_JWT_ESIG);
    t = token(rsa, "RS256", "rsa1", claims());
    strrchr(t, '.')[1] = '\0';
    ck_assert_int_eq(check(t), EDGE_JWT_ESIG);
}
END_TEST

START_TEST(test_wrong_kid)
{
    struct edge_jwt_claims out;
    char why[128], *t = token(ec, "ES256", "evil-kid-xyz", claims());

    ck_assert_int_eq(edge_jwt_verify(keys, &conf, t, strlen(t), NOW, &out, why, sizeof(why)),
                     EDGE_JWT_EKID);
    ck_assert_ptr_null(strstr(why, "evil")); /* the reason never echoes the token */
    ck_assert_str_eq(out.user, "");
    free(t);
    /* no kid while the set has several keys; a kid too long for any key */
    ck_assert_int_eq(check(token(ec, "ES256", NULL, claims())), EDGE_JWT_EKID);
    ck_assert_int_eq(
        check(token(ec, "ES256",
                    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
                    claims())),
        EDGE_JWT_EKID);
    /* NULL key set */
    t = token(ec, "ES256", "ec1", claims());
    ck_assert_int_eq(edge_jwt_verify(NULL, &conf, t, strlen(t), NOW, &out, why, sizeof(why)),
                     EDGE_JWT_EKID);
    free(t);
}
END_TEST

START_TEST(test_alg)
{
    json_t *c = claims();
    char *ps = json_dumps(c, JSON_COMPACT), *p = b64(ps, strlen(ps)), *t;

    /* alg none with an empty signature, and with a real one */
    ck_assert(asprintf(&t, "eyJhbGciOiJub25lIn0.%s.", p) > 0); /* {"alg":"none"} */
    ck_assert_int_eq(check(t), EDGE_JWT_EALG);
    ck_assert_int_eq(check(token(ec, "none", "ec1", claims())), EDGE_JWT_EALG);
    ck_assert_int_eq(check(token(ec, "HS256", "ec1", claims())), EDGE_JWT_EALG);
    ck_assert_int_eq(check(token(ec, "es256", "ec1", claims())), EDGE_JWT_EALG);
    ck_assert_int_eq(check(token(rsa, "PS256", "rsa1", claims())), EDGE_JWT_EALG);
    /* an allowed alg that is not the key's */
    ck_assert_int_eq(check(token(ec, "RS256", "ec1", claims())), EDGE_JWT_EALG);
    ck_assert_int_eq(check(token(rsa, "ES256", "rsa1", claims())), EDGE_JWT_EALG);
    ck_assert_int_eq(check(token(ed, "ES256", "ed1", claims())), EDGE_JWT_EALG);
    /* no alg */
    ck_assert_int_eq(check(sign_raw(ec, "{\"kid\":\"ec1\"}", ps)), EDGE_JWT_EALG);
    free(ps);
    free(p);
    json_decref(c);
}
END_TEST

START_TEST(test_time)
{
    json_t *c;

    c = claims();
    json_object_set_new(c, "exp", json_integer(NOW - 61));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EEXPIRED);
    c = claims();
    json_object_set_new(c, "exp", json_integer(NOW - 60)); /* exp + skew == now */
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EEXPIRED);
    c = claims();
    json_object_set_new(c, "exp", json_integer(NOW - 59)); /* within the skew */
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
    c = claims();
    json_object_set_new(c, "exp", json_real((double)NOW + 10.5)); /* a non-integer date */
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
    c = claims();
    json_object_set_new(c, "nbf", json_integer(NOW + 61));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_ENOTYET);
    c = claims();
    json_object_set_new(c, "nbf", json_integer(NOW + 60));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
    c = claims();
    json_object_set_new(c, "nbf", json_string("soon"));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_ENOEXP);
    /* exp is required and must be a number */
    c = claims();
    json_object_del(c, "exp");
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_ENOEXP);
    c = claims();
    json_object_set_new(c, "exp", json_string("1900000000"));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_ENOEXP);
    c = claims();
    json_object_set_new(c, "exp", json_real(1e300));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_ENOEXP);
    /* extremes do not overflow */
    c = claims();
    json_object_set_new(c, "exp", json_integer(INT64_MAX));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
    c = claims();
    json_object_set_new(c, "exp", json_integer(INT64_MIN));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EEXPIRED);
}
END_TEST

START_TEST(test_issuer_audience)
{
    json_t *c;

    c = claims();
    json_object_set_new(c, "aud", json_string("other"));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EAUDIENCE);
    c = claims();
    json_object_set_new(c, "aud", json_pack("[s,s]", "other", "subtunnel"));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
    c = claims();
    json_object_set_new(c, "aud", json_pack("[s,i]", "other", 5));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EAUDIENCE);
    c = claims();
    json_object_set_new(c, "aud", json_string("subtunnelX"));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EAUDIENCE);
    c = claims();
    json_object_del(c, "aud");
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EAUDIENCE);
    c = claims();
    json_object_set_new(c, "iss", json_string("https://idp.example/"));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EISSUER);
    c = claims();
    json_object_del(c, "iss");
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EISSUER);
}
END_TEST

START_TEST(test_user_groups)
{
    char big[200];
    json_t *c, *g;

    memset(big, 'u', sizeof(big));
    big[127] = '\0'; /* 127 bytes: the largest user */
    c = claims();
    json_object_set_new(c, "sub", json_string(big));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
    big[127] = 'u';
    big[128] = '\0';
    c = claims();
    json_object_set_new(c, "sub", json_string(big));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EUSER);
    static const char *const bad_users[] = {"", "car\nol", "carol\x7f", "\t"};
    for (size_t i = 0; i < 4; i++) {
        c = claims();
        json_object_set_new(c, "sub", json_string(bad_users[i]));
        ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EUSER);
    }
    c = claims();
    json_object_set_new(c, "sub", json_integer(42));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EUSER);
    c = claims();
    json_object_del(c, "sub");
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EUSER);
    /* groups: optional; 32 allowed, 33 not; each 1..63 bytes; strings only */
    c = claims();
    json_object_del(c, "groups");
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
    c = claims();
    g = json_array();
    for (int i = 0; i < 32; i++)
        json_array_append_new(g, json_sprintf("g%d", i));
    json_object_set_new(c, "groups", json_copy(g));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
    json_array_append_new(g, json_string("g32"));
    c = claims();
    json_object_set_new(c, "groups", g);
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EGROUPS);
    big[64] = '\0';
    json_t *bad_groups[] = {json_string("developers"), json_pack("[s,i]", "a", 1),
                            json_pack("[s]", big), json_pack("[s]", ""), json_pack("{}")};
    for (size_t i = 0; i < 5; i++) {
        c = claims();
        json_object_set_new(c, "groups", bad_groups[i]);
        ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), EDGE_JWT_EGROUPS);
    }
    big[63] = '\0';
    c = claims();
    json_object_set_new(c, "groups", json_pack("[s]", big));
    ck_assert_int_eq(check(token(ec, "ES256", "ec1", c)), 0);
}
END_TEST

START_TEST(test_malformed)
{
    char *good = token(ec, "ES256", "ec1", claims()), *t, *dot1 = strchr(good, '.');
    char *dot2 = strrchr(good, '.'), long_tok[EDGE_JWT_MAX_LEN + 2];
    int hl = (int)(dot1 - good);

    static const char *const bad[] = {"", ".", "..", "a.b", "a.b.c.d", "...", "eyJ.e30.AA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(check(strdup(bad[i])) == EDGE_JWT_EMALFORMED, "accepted '%s'", bad[i]);
    /* padding, '+' or '/' in the header; padding on the signature; a fourth part */
    ck_assert(asprintf(&t, "%.*s=%s", hl, good, dot1) > 0);
    ck_assert_int_eq(check(t), EDGE_JWT_EMALFORMED);
    ck_assert(asprintf(&t, "%.*s+%s", hl - 1, good, dot1) > 0);
    ck_assert_int_eq(check(t), EDGE_JWT_EMALFORMED);
    ck_assert(asprintf(&t, "/%s", good + 1) > 0);
    ck_assert_int_eq(check(t), EDGE_JWT_EMALFORMED);
    ck_assert(asprintf(&t, "%s==", good) > 0);
    ck_assert_int_eq(check(t), EDGE_JWT_EMALFORMED);
    ck_assert(asprintf(&t, "%s.", good) > 0);
    ck_assert_int_eq(check(t), EDGE_JWT_EMALFORMED);
    ck_assert(asprintf(&t, "%.*s*%s", (int)(dot2 - good), good, dot2 + 1) > 0);
    ck_assert_int_eq(check(t), EDGE_JWT_EMALFORMED);
    /* a header that is not a JSON object, has duplicate members or "crit" */
    ck_assert_int_eq(check(sign_raw(ec, "[\"ES256\"]", "{}")), EDGE_JWT_EMALFORMED);
    ck_assert_int_eq(check(sign_raw(ec, "{\"alg\":\"ES256\"", "{}")), EDGE_JWT_EMALFORMED);
    ck_assert_int_eq(
        check(sign_raw(ec, "{\"alg\":\"ES256\",\"kid\":\"ec1\",\"alg\":\"none\"}", "{}")),
        EDGE_JWT_EMALFORMED);
    ck_assert_int_eq(
        check(sign_raw(ec, "{\"alg\":\"ES256\",\"kid\":\"ec1\",\"crit\":[\"exp\"]}", "{}")),
        EDGE_JWT_EMALFORMED);
    ck_assert_int_eq(check(sign_raw(ec, "{\"alg\":\"ES256\",\"kid\":7}", "{}")),
                     EDGE_JWT_EMALFORMED);
    /* a validly signed payload that is not a JSON object or repeats a member */
    ck_assert_int_eq(check(sign_raw(ec, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", "[1]")),
                     EDGE_JWT_EMALFORMED);
    ck_assert_int_eq(
        check(sign_raw(ec, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}",
                       "{\"sub\":\"a\",\"exp\":1900000000,\"sub\":\"b\",\"iss\":\"https://"
                       "idp.example\",\"aud\":\"subtunnel\"}")),
        EDGE_JWT_EMALFORMED);
    /* a NUL inside the given length */
    t = strdup(good);
    t[3] = '\0';
    struct edge_jwt_claims out;
    char why[64];
    ck_assert_int_eq(edge_jwt_verify(keys, &conf, t, strlen(good), NOW, &out, why, sizeof(why)),
                     EDGE_JWT_EMALFORMED);
    free(t);
    /* too long */
    memset(long_tok, 'A', sizeof(long_tok));
    long_tok[EDGE_JWT_MAX_LEN + 1] = '\0';
    ck_assert_int_eq(check(strdup(long_tok)), EDGE_JWT_ETOOLONG);
    /* a one-byte why still gets a NUL */
    ck_assert_int_eq(edge_jwt_verify(keys, &conf, "x", 1, NOW, &out, why, 1), EDGE_JWT_EMALFORMED);
    ck_assert_str_eq(why, "");
    free(good);
}
END_TEST

START_TEST(test_reasons)
{
    ck_assert_str_eq(edge_jwt_reason(0), "ok");
    ck_assert_str_eq(edge_jwt_reason(EDGE_JWT_EEXPIRED), "expired");
    ck_assert_str_eq(edge_jwt_reason(EDGE_JWT_ESIG), "bad signature");
    ck_assert_str_eq(edge_jwt_reason(EDGE_JWT_EKID), "unknown kid");
    ck_assert_str_eq(edge_jwt_reason(1), "unknown");
    ck_assert_str_eq(edge_jwt_reason(-EDGE_JWT_NCODES), "unknown");
    for (int i = 1; i < EDGE_JWT_NCODES; i++) {
        ck_assert_str_ne(edge_jwt_reason(-i), "unknown");
        for (int j = 1; j < i; j++)
            ck_assert_str_ne(edge_jwt_reason(-i), edge_jwt_reason(-j));
    }
}
END_TEST

/* --- key sets --- */

/* edge_jwks_parse of text; the error text must contain expect (NULL: must succeed). */
static void parse_expect(const char *text, const char *expect)
{
    struct edge_jwks *k = (struct edge_jwks *)&k;
    char err[200];
    int rv = edge_jwks_parse(text, strlen(text), &k, err, sizeof(err));

    if (!expect) {
        ck_assert_msg(rv == 0, "refused: %s", err);
        edge_jwks_free(k);
        return;
    }
    ck_assert_msg(rv == -EINVAL, "accepted %s", text);
    ck_assert_ptr_null(k);
    ck_assert_msg(strstr(err, expect), "'%s' lacks '%s'", err, expect);
}

/* parse_expect of a set holding the JWK o (stolen) */
static void parse_one(json_t *o, const char *expect)
{
    char *s = jwks_text(1, &o);

    parse_expect(s, expect);
    free(s);
}

static json_t *with(json_t *o, const char *name, json_t *v)
{
    json_object_set_new(o, name, v);
    return o;
}

START_TEST(test_jwks_errors)
{
    parse_expect("", "not JSON");
    parse_expect("{\"keys\": [", "not JSON");
    parse_expect("{\"keys\": [], \"keys\": []}", "not JSON");
    parse_expect("[]", "no \"keys\" array");
    parse_expect("{}", "no \"keys\" array");
    parse_expect("{\"keys\": {}}", "no \"keys\" array");
    parse_expect("{\"keys\": []}", "empty");
    parse_expect("{\"keys\": [1]}", "keys[0]: not an object");
    parse_expect("{\"keys\": [{\"kty\": \"oct\", \"k\": \"AAAA\"}]}", "no usable key");
    parse_expect("{\"keys\": [{\"kid\": \"a\"}]}", "kty (missing) not supported");
    /* bad base64url, sizes */
    parse_one(with(jwk(rsa, "r"), "n", json_string("ab+c")), "\"n\" is not base64url");
    parse_one(with(jwk(rsa, "r"), "e", json_string("AQAB=")), "\"e\" is not base64url");
    parse_one(with(jwk(rsa, "r"), "e", json_integer(65537)), "\"e\" missing");
    parse_one(with(jwk(ec, "e"), "x", json_string("A/")), "\"x\" is not base64url");
    parse_one(with(jwk(ec, "e"), "y", json_string("AAAA")), "32 bytes");
    parse_one(with(jwk(ed, "d"), "x", json_string("")), "\"x\" is not base64url");
    parse_one(with(jwk(ed, "d"), "x", json_string("AAAA")), "32 bytes");
    /* a point off the curve: y changed */
    json_t *o = jwk(ec, "e");
    char y[44];
    snprintf(y, sizeof(y), "%s", json_string_value(json_object_get(o, "y")));
    y[5] = y[5] == 'A' ? 'B' : 'A';
    parse_one(with(o, "y", json_string(y)), "not on the curve");
    /* weak RSA keys */
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    parse_one(jwk(small, "r"), "1024 bits");
    EVP_PKEY_free(small);
    parse_one(with(jwk(rsa, "r"), "e", json_string("AQ")), "exponent");
    parse_one(with(jwk(rsa, "r"), "e", json_string("AQAA")), "exponent");
    /* wrong curve only */
    parse_one(with(jwk(ec, "e"), "crv", json_string("P-384")), "crv P-384 not supported");
    parse_one(with(jwk(ed, "d"), "crv", json_string("X25519")), "crv X25519 not supported");
    parse_one(with(jwk(ec, "e"), "kty", json_string("OKP")), "crv P-256 not supported");
    parse_one(with(jwk(ec, "e"), "alg", json_string("ES384")), "alg ES384 not supported");
    parse_one(with(jwk(ec, "e"), "use", json_string("enc")), "\"use\" is not \"sig\"");
    parse_one(with(jwk(ec, "e"), "key_ops", json_pack("[s]", "sign")), "lacks \"verify\"");
    /* kid rules */
    parse_one(with(jwk(ec, NULL), "kid", json_integer(1)), "\"kid\" must be a string");
    parse_one(with(jwk(ec, NULL), "kid", json_string("")), "\"kid\" must be a string");
    json_t *two[2] = {jwk(ec, "same"), jwk(ed, "same")};
    char *s = jwks_text(2, two);
    parse_expect(s, "duplicate kid \"same\"");
    free(s);
    two[0] = jwk(ec, NULL);
    two[1] = jwk(ed, "d");
    s = jwks_text(2, two);
    parse_expect(s, "without \"kid\" must be the only key");
    free(s);
    /* more than 64 keys */
    json_t *many[65];
    for (int i = 0; i < 65; i++) {
        char kid[16];
        snprintf(kid, sizeof(kid), "k%d", i);
        many[i] = jwk(ed, kid);
    }
    s = jwks_text(65, many);
    parse_expect(s, "more than 64 keys");
    free(s);
}
END_TEST

START_TEST(test_jwks_skips)
{
    struct edge_jwks *k;
    char err[200], *s;
    json_t *set[4] = {with(jwk(ec, "enc"), "use", json_string("enc")),
                      json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", "hmac", "k", "AAAA"),
                      with(jwk(ec, "p384"), "crv", json_string("P-384")), jwk(ed, "ed1")};

    s = jwks_text(4, set);
    ck_assert_msg(edge_jwks_parse(s, strlen(s), &k, err, sizeof(err)) == 0, "%s", err);
    free(s);
    ck_assert_uint_eq(edge_jwks_count(k), 1);
    ck_assert_uint_eq(edge_jwks_count(NULL), 0);
    edge_jwks_free(k);
    edge_jwks_free(NULL);
    /* unknown members (x5c, private "d" of an OKP, ...) are ignored */
    parse_one(with(jwk(ed, "d"), "x5c", json_pack("[s]", "MIIB")), NULL);
    /* parse stops at len, not at a NUL */
    ck_assert_int_eq(edge_jwks_parse("{\"keys\":[]}xyz", 11, &k, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(strstr(err, "JSON"));
}
END_TEST

START_TEST(test_jwks_single_key_without_kid)
{
    struct edge_jwks *k;
    struct edge_jwt_claims out;
    char err[200], why[128], *s, *t;
    json_t *o = jwk(rsa, NULL);

    s = jwks_text(1, &o);
    ck_assert_msg(edge_jwks_parse(s, strlen(s), &k, err, sizeof(err)) == 0, "%s", err);
    free(s);
    t = token(rsa, "RS256", NULL, claims());
    ck_assert_int_eq(edge_jwt_verify(k, &conf, t, strlen(t), NOW, &out, why, sizeof(why)), 0);
    ck_assert_str_eq(out.kid, "");
    free(t);
    t = token(rsa, "RS256", "rsa1", claims());
    ck_assert_int_eq(edge_jwt_verify(k, &conf, t, strlen(t), NOW, &out, why, sizeof(why)),
                     EDGE_JWT_EKID);
    free(t);
    edge_jwks_free(k);
}
END_TEST

START_TEST(test_jwks_load)
{
    char path[] = "/tmp/test_edge_jwt.XXXXXX", err[300];
    struct edge_jwks *k = (struct edge_jwks *)&k;
    json_t *o = jwk(ed, "ed1");
    char *s = jwks_text(1, &o);
    int fd = mkstemp(path);
    FILE *f;

    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
    close(fd);
    free(s);
    ck_assert_msg(edge_jwks_load(path, &k, err, sizeof(err)) == 0, "%s", err);
    ck_assert_uint_eq(edge_jwks_count(k), 1);
    edge_jwks_free(k);
    /* larger than 1 MiB (JSON whitespace would otherwise be valid) */
    f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 1024 * 1024; i++)
        fputc(' ', f);
    fclose(f);
    ck_assert_int_eq(edge_jwks_load(path, &k, err, sizeof(err)), -EFBIG);
    ck_assert_ptr_null(k);
    ck_assert_ptr_nonnull(strstr(err, "larger than"));
    unlink(path);
    ck_assert_int_eq(edge_jwks_load(path, &k, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_int_eq(edge_jwks_load("/", &k, err, sizeof(err)), -EISDIR);
    s = malloc(EDGE_JWKS_MAX_BYTES + 1);
    memset(s, ' ', EDGE_JWKS_MAX_BYTES + 1);
    ck_assert_int_eq(edge_jwks_parse(s, EDGE_JWKS_MAX_BYTES + 1, &k, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "larger than"));
    free(s);
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("edge_jwt");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_good);
    tcase_add_test(tc, test_wrong_signature);
    tcase_add_test(tc, test_wrong_kid);
    tcase_add_test(tc, test_alg);
    tcase_add_test(tc, test_time);
    tcase_add_test(tc, test_issuer_audience);
    tcase_add_test(tc, test_user_groups);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_reasons);
    tcase_add_test(tc, test_jwks_errors);
    tcase_add_test(tc, test_jwks_skips);
    tcase_add_test(tc, test_jwks_single_key_without_kid);
    tcase_add_test(tc, test_jwks_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(jwt_suite());
}
