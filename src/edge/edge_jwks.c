#include "edge_jwks.h"

#include "st_b64url.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kty { KTY_RSA, KTY_EC, KTY_OKP };

struct jwk {
    char kid[EDGE_JWKS_KID_MAX + 1];
    bool has_kid;
    enum kty kty;
    EVP_PKEY *pkey;
};

struct edge_jwks {
    size_t n;
    struct jwk keys[EDGE_JWKS_MAX_KEYS];
};

/* The one JOSE alg each supported key type signs with. */
static const char *const kty_alg[] = {[KTY_RSA] = "RS256", [KTY_EC] = "ES256", [KTY_OKP] = "EdDSA"};

static void say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* Decodes the base64url string member name of o into buf; its length, or -EINVAL. */
static int b64_member(json_t *o, const char *name, uint8_t *buf, size_t cap, char *err,
                      size_t errlen)
{
    json_t *v = json_object_get(o, name);
    int n;

    if (!json_is_string(v)) {
        say(err, errlen, "\"%s\" missing or not a string", name);
        return -EINVAL;
    }
    n = st_b64url_decode(json_string_value(v), json_string_length(v), buf, cap);
    if (n == -ENOSPC)
        say(err, errlen, "\"%s\" too long", name);
    else if (n <= 0)
        say(err, errlen, "\"%s\" is not base64url", name);
    return n > 0 ? n : -EINVAL;
}

/* EVP_PKEY_fromdata of a public key of type name (params built by the caller). */
static EVP_PKEY *from_params(const char *name, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, name, NULL) : NULL;
    EVP_PKEY *pkey = NULL;

    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static int rsa_key(json_t *o, EVP_PKEY **pkey, char *err, size_t errlen)
{
    uint8_t nb[EDGE_JWKS_RSA_MAX_BITS / 8], eb[8];
    int nlen = b64_member(o, "n", nb, sizeof(nb), err, errlen);
    int elen = nlen > 0 ? b64_member(o, "e", eb, sizeof(eb), err, errlen) : -EINVAL;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    int rv = -EINVAL;

    if (nlen < 0 || elen < 0)
        return -EINVAL;
    n = BN_bin2bn(nb, nlen, NULL);
    e = BN_bin2bn(eb, elen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!n || !e || !bld) {
        rv = -ENOMEM;
        goto out_free;
    }
    if (BN_num_bits(n) < EDGE_JWKS_RSA_MIN_BITS) {
        say(err, errlen, "RSA key of %d bits, at least %d required", BN_num_bits(n),
            EDGE_JWKS_RSA_MIN_BITS);
        goto out_free;
    }
    /* e = 1 would make every message its own signature */
    if (!BN_is_odd(e) || BN_num_bits(e) < 2) {
        say(err, errlen, "RSA exponent \"e\" must be odd and at least 3");
        goto out_free;
    }
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        !(*pkey = from_params("RSA", bld))) {
        say(err, errlen, "RSA key refused by OpenSSL");
        goto out_free;
    }
    rv = 0;
out_free:
    OSSL_PARAM_BLD_free(bld);
    BN_free(e);
    BN_free(n);
    return rv;
}

/* The point must be on the curve: EVP_PKEY_public_check after the import. */
static int ec_key(json_t *o, EVP_PKEY **pkey, char *err, size_t errlen)
{
    uint8_t pt[65] = {4};
    int xlen = b64_member(o, "x", pt + 1, 32, err, errlen), ylen;
    OSSL_PARAM_BLD *bld;
    EVP_PKEY_CTX *chk;
    bool ok;

    if (xlen < 0 || (ylen = b64_member(o, "y", pt + 33, 32, err, errlen)) < 0)
        return -EINVAL;
    if (xlen != 32 || ylen != 32) {
        say(err, errlen, "P-256 \"x\" and \"y\" must be 32 bytes each");
        return -EINVAL;
    }
    bld = OSSL_PARAM_BLD_new();
    if (!bld)
        return -ENOMEM;
    ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) &&
         (*pkey = from_params("EC", bld)) != NULL;
    OSSL_PARAM_BLD_free(bld);
    chk = ok ? EVP_PKEY_CTX_new_from_pkey(NULL, *pkey, NULL) : NULL;
    if (ok && (!chk || EVP_PKEY_public_check(chk) != 1)) {
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        ok = false;
    }
    EVP_PKEY_CTX_free(chk);
    if (!ok)
        say(err, errlen, "P-256 point not on the curve");
    return ok ? 0 : -EINVAL;
}

static int okp_key(json_t *o, EVP_PKEY **pkey, char *err, size_t errlen)
{
    uint8_t x[32];
    int xlen = b64_member(o, "x", x, sizeof(x), err, errlen);

    if (xlen < 0)
        return -EINVAL;
    if (xlen != 32) {
        say(err, errlen, "Ed25519 \"x\" must be 32 bytes");
        return -EINVAL;
    }
    *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, sizeof(x));
    if (!*pkey) {
        say(err, errlen, "Ed25519 key refused by OpenSSL");
        return -EINVAL;
    }
    return 0;
}

static bool str_is(json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

static bool ops_verify(json_t *ops)
{
    size_t i;
    json_t *v;

    json_array_foreach(ops, i, v)
    {
        if (str_is(v, "verify"))
            return true;
    }
    return false;
}

/* A member's value for a message: the string (cut by the caller's %.16s), or what it is. */
static const char *shown(json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : v ? "(not a string)" : "(missing)";
}

/* The key type of o, or -1 with why it is skipped in skip. */
static int key_type(json_t *o, char *skip, size_t skiplen)
{
    json_t *kty = json_object_get(o, "kty"), *crv = json_object_get(o, "crv");
    json_t *use = json_object_get(o, "use"), *ops = json_object_get(o, "key_ops");
    json_t *alg = json_object_get(o, "alg");
    int t = -1;

    if (use && !str_is(use, "sig"))
        say(skip, skiplen, "\"use\" is not \"sig\"");
    else if (ops && !ops_verify(ops))
        say(skip, skiplen, "\"key_ops\" lacks \"verify\"");
    else if (str_is(kty, "RSA"))
        t = KTY_RSA;
    else if (str_is(kty, "EC") || str_is(kty, "OKP")) {
        t = str_is(crv, "P-256") && str_is(kty, "EC")      ? KTY_EC
            : str_is(crv, "Ed25519") && str_is(kty, "OKP") ? KTY_OKP
                                                           : -1;
        if (t < 0)
            say(skip, skiplen, "crv %.16s not supported (P-256 and Ed25519 are)", shown(crv));
    } else
        say(skip, skiplen, "kty %.16s not supported (RSA, EC and OKP are)", shown(kty));
    if (t >= 0 && alg && !str_is(alg, kty_alg[t])) {
        say(skip, skiplen, "alg %.16s not supported for this key (%s is)", shown(alg), kty_alg[t]);
        t = -1;
    }
    return t;
}

static int key_kid(json_t *o, struct jwk *k, char *err, size_t errlen)
{
    json_t *kid = json_object_get(o, "kid");
    size_t n;

    if (!kid)
        return 0;
    n = json_string_length(kid);
    if (!json_is_string(kid) || n == 0 || n > EDGE_JWKS_KID_MAX ||
        strlen(json_string_value(kid)) != n) {
        say(err, errlen, "\"kid\" must be a string of 1..%d bytes", EDGE_JWKS_KID_MAX);
        return -EINVAL;
    }
    memcpy(k->kid, json_string_value(kid), n + 1);
    k->has_kid = true;
    return 0;
}

/* 1 when o was added as k, 0 when skipped (reason in skip), <0 on error (in err). */
static int parse_key(json_t *o, struct jwk *k, char *skip, size_t skiplen, char *err, size_t errlen)
{
    int t, rv;

    if (!json_is_object(o)) {
        say(err, errlen, "not an object");
        return -EINVAL;
    }
    memset(k, 0, sizeof(*k));
    t = key_type(o, skip, skiplen);
    if (t < 0)
        return 0;
    rv = key_kid(o, k, err, errlen);
    if (rv < 0)
        return rv;
    k->kty = (enum kty)t;
    rv = t == KTY_RSA  ? rsa_key(o, &k->pkey, err, errlen)
         : t == KTY_EC ? ec_key(o, &k->pkey, err, errlen)
                       : okp_key(o, &k->pkey, err, errlen);
    return rv < 0 ? rv : 1;
}

static const struct jwk *find(const struct edge_jwks *ks, const char *kid)
{
    for (size_t i = 0; i < ks->n; i++) {
        const struct jwk *k = &ks->keys[i];

        if (kid ? k->has_kid && strcmp(k->kid, kid) == 0 : !k->has_kid)
            return k;
    }
    return NULL;
}

/* Errors across the whole set: duplicate kid, a key without kid among others. */
static int check_set(const struct edge_jwks *ks, char *err, size_t errlen)
{
    for (size_t i = 0; i < ks->n; i++) {
        const struct jwk *k = &ks->keys[i];

        if (!k->has_kid && ks->n > 1) {
            say(err, errlen, "a key without \"kid\" must be the only key");
            return -EINVAL;
        }
        for (size_t j = 0; k->has_kid && j < i; j++)
            if (ks->keys[j].has_kid && strcmp(ks->keys[j].kid, k->kid) == 0) {
                say(err, errlen, "duplicate kid \"%s\"", k->kid);
                return -EINVAL;
            }
    }
    return 0;
}

static int parse_keys(json_t *arr, struct edge_jwks *ks, char *err, size_t errlen)
{
    char skip[160] = "", why[160] = "";
    size_t i;
    json_t *o;
    int rv;

    if (json_array_size(arr) == 0) {
        say(err, errlen, "the key set is empty");
        return -EINVAL;
    }
    if (json_array_size(arr) > EDGE_JWKS_MAX_KEYS) {
        say(err, errlen, "more than %d keys", EDGE_JWKS_MAX_KEYS);
        return -EINVAL;
    }
    json_array_foreach(arr, i, o)
    {
        rv = parse_key(o, &ks->keys[ks->n], skip, sizeof(skip), why, sizeof(why));
        if (rv < 0) {
            EVP_PKEY_free(ks->keys[ks->n].pkey);
            say(err, errlen, "keys[%zu]: %s", i, rv == -ENOMEM ? "out of memory" : why);
            return rv;
        }
        ks->n += (size_t)rv;
    }
    if (ks->n == 0) {
        say(err, errlen, "no usable key (keys[%zu]: %s)", json_array_size(arr) - 1, skip);
        return -EINVAL;
    }
    return check_set(ks, err, errlen);
}

int edge_jwks_parse(const char *text, size_t len, struct edge_jwks **out, char *err, size_t errlen)
{
    struct edge_jwks *ks = NULL;
    json_error_t jerr;
    json_t *root = NULL;
    int rv = -EINVAL;

    *out = NULL;
    err[0] = '\0';
    if (len > EDGE_JWKS_MAX_BYTES) {
        say(err, errlen, "larger than %d bytes", EDGE_JWKS_MAX_BYTES);
        goto out;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        say(err, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
        goto out;
    }
    if (!json_is_array(json_object_get(root, "keys"))) {
        say(err, errlen, "no \"keys\" array");
        goto out_decref;
    }
    ks = calloc(1, sizeof(*ks));
    if (!ks) {
        rv = -ENOMEM;
        say(err, errlen, "out of memory");
        goto out_decref;
    }
    rv = parse_keys(json_object_get(root, "keys"), ks, err, errlen);
    if (rv < 0)
        goto out_decref;
    *out = ks;
    ks = NULL;
out_decref:
    json_decref(root);
    edge_jwks_free(ks);
out:
    ERR_clear_error();
    return rv;
}

static int read_file(int fd, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + *len, cap - *len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        *len += (size_t)n;
        if (*len == cap)
            return -EFBIG;
    }
}

int edge_jwks_load(const char *path, struct edge_jwks **out, char *err, size_t errlen)
{
    size_t len;
    char *buf;
    int fd, rv;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rv = -errno;
        say(err, errlen, "%s: %s", path, strerror(-rv));
        return rv;
    }
    buf = malloc(EDGE_JWKS_MAX_BYTES + 1);
    rv = buf ? read_file(fd, buf, EDGE_JWKS_MAX_BYTES + 1, &len) : -ENOMEM;
    close(fd);
    if (rv == -EFBIG)
        say(err, errlen, "%s: larger than %d bytes", path, EDGE_JWKS_MAX_BYTES);
    else if (rv < 0)
        say(err, errlen, "%s: %s", path, strerror(-rv));
    else
        rv = edge_jwks_parse(buf, len, out, err, errlen);
    free(buf);
    return rv;
}

void edge_jwks_free(struct edge_jwks *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++)
        EVP_PKEY_free(k->keys[i].pkey);
    free(k);
}

size_t edge_jwks_count(const struct edge_jwks *k)
{
    return k ? k->n : 0;
}

/* A JWS ES256 signature is r||s (RFC 7518 3.4); OpenSSL verifies DER. */
static int es256_der(const uint8_t *sig, uint8_t *der, size_t cap)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *p = der;
    int n = -ENOMEM;

    if (!s || !r || !ss || !ECDSA_SIG_set0(s, r, ss)) {
        BN_free(r);
        BN_free(ss);
        goto out_free;
    }
    n = i2d_ECDSA_SIG(s, NULL);
    n = n > 0 && (size_t)n <= cap ? i2d_ECDSA_SIG(s, &p) : -ENOMEM;
out_free:
    ECDSA_SIG_free(s);
    return n;
}

static int verify_with(const struct jwk *k, const uint8_t *msg, size_t mlen, const uint8_t *sig,
                       size_t slen)
{
    const EVP_MD *md = k->kty == KTY_OKP ? NULL : EVP_sha256();
    EVP_MD_CTX *ctx;
    uint8_t der[80];
    int rv = -EBADMSG, n;

    if (k->kty == KTY_EC) {
        if (slen != 64)
            return -EBADMSG;
        n = es256_der(sig, der, sizeof(der));
        if (n < 0)
            return n;
        sig = der;
        slen = (size_t)n;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -ENOMEM;
    if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, k->pkey) == 1 &&
        EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1)
        rv = 0;
    EVP_MD_CTX_free(ctx);
    return rv;
}

int edge_jwks_verify(const struct edge_jwks *k, const char *kid, const char *alg,
                     const uint8_t *msg, size_t mlen, const uint8_t *sig, size_t slen)
{
    const struct jwk *key = k ? find(k, kid) : NULL;
    int rv;

    if (!key)
        return -ENOENT;
    if (strcmp(alg, kty_alg[key->kty]) != 0)
        return -EPERM;
    rv = verify_with(key, msg, mlen, sig, slen);
    ERR_clear_error();
    return rv;
}
