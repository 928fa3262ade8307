/* Signed bearer tokens: the input is parsed as a JWK Set, and verified as a token (with two
 * configurations) against a fixed set of a P-256, an Ed25519 and an RSA-2048 key made with
 * st-jwtmint; corpus/jwt/ holds that set and tokens its keys signed (for time NOW). */
#include "edge_jwt.h"
#include "fuzz.h"

#include <errno.h>

#define NOW 1800000000

static const char fixed_jwks[] =
    "{\"keys\":[{\"use\":\"sig\",\"alg\":\"ES256\",\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"K"
    "sGhjqDgROXNteEeMmhjdIfQ-9C52nynyqkGBYmt6LI\",\"y\":\"iQwRCsP77Eo2s50_LPE0VAt35tvGe7jPSDu"
    "rawXSJZ0\",\"kid\":\"fz-ec\"},{\"use\":\"sig\",\"alg\":\"EdDSA\",\"kty\":\"OKP\",\"crv\""
    ":\"Ed25519\",\"x\":\"US33X2IQeTS2Bfo-7-h1wYq5YrngHPfViP8D5RgoPu4\",\"kid\":\"fz-ed\"},{"
    "\"use\":\"sig\",\"alg\":\"RS256\",\"kty\":\"RSA\",\"n\":\"iDwYcYYOc3JiWxnB9AeEyr3DQE3gP8"
    "Vhu2o5_Ol_c4DNMCwb0OgA0asvSQUKW-QzwNERp7iOQeU-xasS3cOyctk1UsaMdtJFebNv1TbW9ja0QKHb9WW3lb"
    "TI7VW1kkJts-gyV7ofz6_Tly54js_lhkPXJxO2qj7Htj_QT-zOeeDvz0kukPjUMRG4njLyYtDWGgkU2GV7JXXZcK"
    "W7QQgQOYeBmjtKe6hQCJSb5fbBBKBSYqheAZ7nbIkMOi3oTno8Ll9VO4WF2tfFxEzBSIVBitS-rGU7h5LhyO6pEX"
    "zD5-4wsFxSFx97t5S8LJ0YeAhfkHdDGOSq0FVvxQ6Awk_Cfw\",\"e\":\"AQAB\",\"kid\":\"fz-rsa\"}]}";

static const struct edge_jwt_conf confs[2] = {
    {.issuer = "https://idp.example", .audience = "subtunnel", .skew_s = 60},
    {.user_claim = "email", .groups_claim = "roles", .skew_s = 0},
};

static void check_jwks(const uint8_t *data, size_t size)
{
    struct edge_jwks *k = NULL;
    char err[200];
    int rv = edge_jwks_parse((const char *)data, size, &k, err, sizeof(err));

    FUZZ_ASSERT(strlen(err) < sizeof(err));
    if (rv == 0)
        FUZZ_ASSERT(k && edge_jwks_count(k) >= 1 && edge_jwks_count(k) <= EDGE_JWKS_MAX_KEYS);
    else
        FUZZ_ASSERT(!k && (rv == -EINVAL || rv == -ENOMEM) && err[0]);
    edge_jwks_free(k);
}

static void check_token(const struct edge_jwks *keys, const struct edge_jwt_conf *conf,
                        const uint8_t *data, size_t size)
{
    struct edge_jwt_claims c;
    char why[96];
    int rv = edge_jwt_verify(keys, conf, (const char *)data, size, NOW, &c, why, sizeof(why));

    FUZZ_ASSERT(rv <= 0 && rv > -EDGE_JWT_NCODES && strlen(why) < sizeof(why));
    FUZZ_ASSERT(strcmp(edge_jwt_reason(rv), "unknown") != 0);
    if (rv < 0) {
        FUZZ_ASSERT(why[0] && c.user[0] == '\0' && c.n_groups == 0);
        return;
    }
    FUZZ_ASSERT(why[0] == '\0' && c.user[0] && strlen(c.user) < sizeof(c.user));
    FUZZ_ASSERT(c.exp > NOW - conf->skew_s && c.n_groups <= EDGE_JWT_GROUPS_MAX);
    for (size_t i = 0; i < c.n_groups; i++)
        FUZZ_ASSERT(c.groups[i][0] && strlen(c.groups[i]) < sizeof(c.groups[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct edge_jwks *keys;
    char err[200];

    if (!keys)
        FUZZ_ASSERT(edge_jwks_parse(fixed_jwks, sizeof(fixed_jwks) - 1, &keys, err, sizeof(err)) ==
                    0);
    check_jwks(data, size);
    for (size_t i = 0; i < 2; i++)
        check_token(keys, &confs[i], data, size);
    return 0;
}
