/* st-jwtmint: signing keys and signed bearer tokens (JWT) for the lab and the tests of the
 * edge's access proxy (jwt: jwks-file, ...). Not a production token issuer.
 *
 *   st-jwtmint keygen --alg ES256|RS256|EdDSA [--kid KID] --key OUT.pem --jwks OUT.json
 *       writes a new private key (PEM, mode 0600) and a JWK Set with its public part
 *       (RS256: RSA 2048, ES256: P-256, EdDSA: Ed25519).
 *   st-jwtmint sign --key KEY.pem [--kid KID] [--alg ALG] --sub USER [--groups G1[,G2...]]
 *                   [--aud AUD] [--iss ISS] --exp-in SECONDS [--nbf-in SECONDS] [--now T]
 *       prints the compact JWT on stdout: iat = now (T, default the clock), exp = now +
 *       SECONDS (negative for an expired token), nbf = now + --nbf-in when given. --alg
 *       defaults to the key's and must fit it.
 *   st-jwtmint verify --jwks KEYS.json --token JWT [--iss ISS] [--aud AUD] [--now T]
 *       checks a token as the edge does (edge_jwt, 60 s skew) and prints "ok user=U
 *       groups=G1,G2 kid=K exp=E", or "refused: REASON (DETAIL)" with exit status 1.
 * Exit status 0 on success, 1 when a file or OpenSSL failed, 2 for bad flags.
 */
#include "edge_jwt.h"
#include "st_b64url.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECONDS (10LL * 366 * 86400)

struct opts {
    const char *alg, *kid, *key, *jwks, *sub, *groups, *aud, *iss;
    const char *exp_in, *nbf_in, *now, *token;
};

static void usage(void)
{
    fprintf(stderr,
            "usage: st-jwtmint keygen --alg ES256|RS256|EdDSA [--kid KID] --key OUT.pem "
            "--jwks OUT.json\n"
            "       st-jwtmint sign --key KEY.pem [--kid KID] [--alg ALG] --sub USER "
            "[--groups G1,G2] [--aud AUD]\n"
            "                       [--iss ISS] --exp-in SECONDS [--nbf-in SECONDS] [--now T]\n"
            "       st-jwtmint verify --jwks KEYS.json --token JWT [--iss ISS] [--aud AUD] "
            "[--now T]\n");
    exit(2);
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "st-jwtmint: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static void bad_flag(const char *fmt, const char *arg)
{
    fprintf(stderr, "st-jwtmint: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    usage();
}

static void parse_flags(int argc, char **argv, struct opts *o)
{
    static const char *const names[] = {"--alg",    "--kid",    "--key", "--jwks",
                                        "--sub",    "--groups", "--aud", "--iss",
                                        "--exp-in", "--nbf-in", "--now", "--token"};
    const char **slots[] = {&o->alg, &o->kid, &o->key,    &o->jwks,   &o->sub, &o->groups,
                            &o->aud, &o->iss, &o->exp_in, &o->nbf_in, &o->now, &o->token};
    size_t n = sizeof(names) / sizeof(names[0]), k;

    for (int i = 2; i < argc; i += 2) {
        for (k = 0; k < n && strcmp(argv[i], names[k]) != 0; k++)
            ;
        if (k == n)
            bad_flag("unknown flag '%s'", argv[i]);
        if (i + 1 >= argc)
            bad_flag("%s needs a value", argv[i]);
        if (*slots[k])
            bad_flag("%s given twice", argv[i]);
        *slots[k] = argv[i + 1];
    }
}

static long long seconds(const char *s, const char *flag, long long lo, long long hi)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "st-jwtmint: %s: '%s' is not a number in %lld..%lld\n", flag, s, lo, hi);
        usage();
    }
    return v;
}

static const char *key_alg(EVP_PKEY *k)
{
    char group[32] = "";

    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA:
        return EVP_PKEY_get_bits(k) >= 2048 ? "RS256" : NULL;
    case EVP_PKEY_EC:
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL);
        return strcmp(group, "prime256v1") == 0 ? "ES256" : NULL;
    case EVP_PKEY_ED25519:
        return "EdDSA";
    default:
        return NULL;
    }
}

static json_t *b64_string(const uint8_t *p, size_t n)
{
    char buf[ST_B64URL_ENC_LEN(1024) + 1];

    if (st_b64url_encode(p, n, buf, sizeof(buf)) < 0)
        return NULL;
    return json_string(buf);
}

static json_t *bn_string(EVP_PKEY *k, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    uint8_t buf[1024];
    int n = -1;

    if (EVP_PKEY_get_bn_param(k, param, &bn) == 1 && BN_num_bytes(bn) <= (int)sizeof(buf))
        n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    return n > 0 ? b64_string(buf, (size_t)n) : NULL;
}

/* The public JWK of k; NULL on failure. */
static json_t *public_jwk(EVP_PKEY *k, const char *alg, const char *kid)
{
    json_t *o = json_pack("{s:s, s:s}", "use", "sig", "alg", alg);
    uint8_t x[32];
    size_t xlen = sizeof(x);
    int bad = 0;

    if (strcmp(alg, "RS256") == 0) {
        bad |= json_object_set_new(o, "kty", json_string("RSA"));
        bad |= json_object_set_new(o, "n", bn_string(k, OSSL_PKEY_PARAM_RSA_N, 0));
        bad |= json_object_set_new(o, "e", bn_string(k, OSSL_PKEY_PARAM_RSA_E, 0));
    } else if (strcmp(alg, "ES256") == 0) {
        bad |= json_object_set_new(o, "kty", json_string("EC"));
        bad |= json_object_set_new(o, "crv", json_string("P-256"));
        bad |= json_object_set_new(o, "x", bn_string(k, OSSL_PKEY_PARAM_EC_PUB_X, 32));
        bad |= json_object_set_new(o, "y", bn_string(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    } else {
        bad |= EVP_PKEY_get_raw_public_key(k, x, &xlen) != 1;
        bad |= json_object_set_new(o, "kty", json_string("OKP"));
        bad |= json_object_set_new(o, "crv", json_string("Ed25519"));
        bad |= json_object_set_new(o, "x", b64_string(x, xlen));
    }
    if (kid)
        bad |= json_object_set_new(o, "kid", json_string(kid));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void write_key(EVP_PKEY *k, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;

    if (!f)
        die("%s: cannot write", path);
    if (!PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0)
        die("%s: cannot write the key", path);
}

static int keygen(const struct opts *o)
{
    EVP_PKEY *k = NULL;
    json_t *jwk, *set;

    if (!o->alg || !o->key || !o->jwks)
        bad_flag("keygen needs --alg, --key and --jwks%s", "");
    if (o->sub || o->groups || o->aud || o->iss || o->exp_in || o->nbf_in || o->now || o->token)
        bad_flag("keygen takes only --alg, --kid, --key and --jwks%s", "");
    if (strcmp(o->alg, "RS256") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else if (strcmp(o->alg, "ES256") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (strcmp(o->alg, "EdDSA") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else
        bad_flag("--alg '%s': ES256, RS256 or EdDSA", o->alg);
    if (!k)
        die("key generation failed%s", "");
    jwk = public_jwk(k, o->alg, o->kid);
    set = jwk ? json_pack("{s:[o]}", "keys", jwk) : NULL;
    if (!set)
        die("cannot build the JWK Set%s", "");
    write_key(k, o->key);
    if (json_dump_file(set, o->jwks, JSON_INDENT(2)) != 0)
        die("%s: cannot write", o->jwks);
    json_decref(set);
    EVP_PKEY_free(k);
    return 0;
}

/* A JSON string of s[0..n), or exit with an error naming flag when it is not UTF-8. */
static json_t *utf8(const char *s, size_t n, const char *flag)
{
    json_t *v = json_stringn(s, n);

    if (!v)
        bad_flag("%s: not UTF-8", flag);
    return v;
}

/* "a,b,c" as a JSON array ("" gives []); empty pieces are refused. */
static json_t *group_list(const char *s)
{
    json_t *arr = json_array();
    const char *p = s;

    while (*s) {
        size_t n = strcspn(p, ",");

        if (n == 0)
            bad_flag("--groups '%s': an empty group", s);
        json_array_append_new(arr, utf8(p, n, "--groups"));
        if (!p[n])
            break;
        p += n + 1; /* past the comma: the loop ends at the string's end */
    }
    return arr;
}

static json_t *claims(const struct opts *o)
{
    long long now = o->now ? seconds(o->now, "--now", 0, 1LL << 40) : (long long)time(NULL);
    long long exp = seconds(o->exp_in, "--exp-in", -MAX_SECONDS, MAX_SECONDS);
    json_t *c = json_pack("{s:s, s:I, s:I}", "sub", o->sub, "iat", (json_int_t)now, "exp",
                          (json_int_t)(now + exp));

    if (!c)
        bad_flag("--sub: not UTF-8%s", "");
    if (o->nbf_in)
        json_object_set_new(
            c, "nbf",
            json_integer(now + seconds(o->nbf_in, "--nbf-in", -MAX_SECONDS, MAX_SECONDS)));
    if (o->groups)
        json_object_set_new(c, "groups", group_list(o->groups));
    if (o->aud)
        json_object_set_new(c, "aud", utf8(o->aud, strlen(o->aud), "--aud"));
    if (o->iss)
        json_object_set_new(c, "iss", utf8(o->iss, strlen(o->iss), "--iss"));
    return c;
}

/* sep (may be "") and base64url(p[0..n)) appended to out. */
static void put_b64(char *out, size_t cap, const char *sep, const void *p, size_t n)
{
    size_t used = strlen(out) + strlen(sep);

    if (used >= cap || st_b64url_encode(p, n, out + used, cap - used) < 0)
        die("token too large%s", "");
    memcpy(out + used - strlen(sep), sep, strlen(sep));
}

/* sep and base64url(JSON of o) appended to out. */
static void put_part(char *out, size_t cap, const char *sep, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);

    if (!s)
        die("cannot encode the token%s", "");
    put_b64(out, cap, sep, s, strlen(s));
    free(s);
}

/* The signature over in, as JWS wants it (ES256: raw r||s). */
static int sign_input(EVP_PKEY *k, const char *alg, const char *in, uint8_t *sig, size_t *slen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = strcmp(alg, "EdDSA") == 0 ? NULL : EVP_sha256();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, md, NULL, k) == 1 &&
             EVP_DigestSign(ctx, sig, slen, (const uint8_t *)in, strlen(in)) == 1;
    const uint8_t *d = sig;
    ECDSA_SIG *es;

    EVP_MD_CTX_free(ctx);
    if (!ok || strcmp(alg, "ES256") != 0)
        return ok ? 0 : -1;
    es = d2i_ECDSA_SIG(NULL, &d, (long)*slen);
    ok = es && BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32 &&
         BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    *slen = 64;
    return ok ? 0 : -1;
}

static int sign(const struct opts *o)
{
    char tok[16384] = "";
    uint8_t sig[1024];
    size_t slen = sizeof(sig);
    const char *alg;
    json_t *h, *c;
    EVP_PKEY *k;
    FILE *f;

    if (!o->key || !o->sub || !o->exp_in)
        bad_flag("sign needs --key, --sub and --exp-in%s", "");
    if (o->jwks || o->token)
        bad_flag("sign takes no --jwks or --token%s", "");
    f = fopen(o->key, "r");
    k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (!k)
        die("%s: not a readable PEM private key", o->key);
    alg = key_alg(k);
    if (!alg)
        die("%s: not an RSA (>= 2048 bits), P-256 or Ed25519 key", o->key);
    if (o->alg && strcmp(o->alg, alg) != 0)
        bad_flag("--alg does not fit the key (it signs %s)", alg);
    h = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");
    if (o->kid)
        json_object_set_new(h, "kid", utf8(o->kid, strlen(o->kid), "--kid"));
    c = claims(o);
    put_part(tok, sizeof(tok), "", h);
    put_part(tok, sizeof(tok), ".", c);
    if (sign_input(k, alg, tok, sig, &slen) < 0)
        die("signing failed%s", "");
    put_b64(tok, sizeof(tok), ".", sig, slen);
    printf("%s\n", tok);
    json_decref(h);
    json_decref(c);
    EVP_PKEY_free(k);
    return 0;
}

static int verify(const struct opts *o)
{
    struct edge_jwt_conf conf = {
        .issuer = (char *)o->iss, .audience = (char *)o->aud, .skew_s = 60};
    long long now = o->now ? seconds(o->now, "--now", 0, 1LL << 40) : (long long)time(NULL);
    struct edge_jwt_claims c;
    struct edge_jwks *keys;
    char err[256];
    int rv;

    if (!o->jwks || !o->token)
        bad_flag("verify needs --jwks and --token%s", "");
    if (o->alg || o->kid || o->key || o->sub || o->groups || o->exp_in || o->nbf_in)
        bad_flag("verify takes only --jwks, --token, --iss, --aud and --now%s", "");
    if (edge_jwks_load(o->jwks, &keys, err, sizeof(err)) < 0)
        die("%s", err);
    rv = edge_jwt_verify(keys, &conf, o->token, strlen(o->token), now, &c, err, sizeof(err));
    edge_jwks_free(keys);
    if (rv < 0) {
        printf("refused: %s (%s)\n", edge_jwt_reason(rv), err);
        return 1;
    }
    printf("ok user=%s groups=", c.user);
    for (size_t i = 0; i < c.n_groups; i++)
        printf("%s%s", i ? "," : "", c.groups[i]);
    printf(" kid=%s exp=%lld\n", c.kid, (long long)c.exp);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {0};

    if (argc < 2)
        usage();
    if (strcmp(argv[1], "keygen") != 0 && strcmp(argv[1], "sign") != 0 &&
        strcmp(argv[1], "verify") != 0)
        bad_flag("unknown command '%s'", argv[1]);
    parse_flags(argc, argv, &o);
    if (strcmp(argv[1], "verify") == 0)
        return verify(&o);
    return strcmp(argv[1], "keygen") == 0 ? keygen(&o) : sign(&o);
}
