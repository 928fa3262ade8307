#include "st_check.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "edge_auth.h"
#include "edge_config.h"
#include "st_b64url.h"
#include "st_config.h"
#include "st_tls.h"
#include "st_token.h"

static struct edge_config cfg;
static char err[256];

static void hex(const char *s, char out[65])
{
    uint8_t h[32];
    st_sha256(s, strlen(s), h);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

/* Loads users (and access-tokens) from YAML into cfg.users. */
static int load(const char *yaml)
{
    struct st_cfg c;
    edge_users_fini(&cfg.users);
    int rc = st_cfg_parse(&c, yaml, strlen(yaml), "t.yaml", err, sizeof(err));
    if (rc == 0)
        rc = edge_users_parse(&c, st_cfg_get(c.root, "users"), st_cfg_get(c.root, "access-tokens"),
                              &cfg.users);
    st_cfg_fini(&c);
    return rc;
}

static void setup(void)
{
    char a[65], d[65], text[1024];
    memset(&cfg, 0, sizeof(cfg));
    hex("s3cret-token", a);
    hex("dev-token", d);
    snprintf(text, sizeof(text),
             "access-tokens:\n"
             "  - {name: t, sha256: %s}\n"
             "users:\n"
             "  - name: dev\n"
             "    groups: [developers, staff]\n"
             "    token-sha256: %s\n"
             "  - name: ops\n"
             "    groups: admins\n"
             "    client-cert: [ops@lab.test, spiffe://lab.test/ops]\n"
             "  - name: old\n"
             "    token-sha256: [%s]\n"
             "    expires: 2020-01-01T00:00:00Z\n",
             a, d, "0000000000000000000000000000000000000000000000000000000000000001");
    ck_assert_msg(load(text) == 0, "%s", err);
}

static void teardown(void)
{
    edge_users_fini(&cfg.users);
}

static int auth(const char *v, struct edge_ident *id)
{
    const char *why = NULL;
    struct edge_ident tmp;
    return edge_auth_header(&cfg, v, strlen(v), 1800000000, id ? id : &tmp, &why);
}

START_TEST(basic_with_token_as_password)
{
    struct edge_ident id;
    /* base64("lab:s3cret-token") */
    ck_assert_int_eq(auth("Basic bGFiOnMzY3JldC10b2tlbg==", &id), 0);
    ck_assert_str_eq(id.user, "t");
    ck_assert(id.legacy);
    ck_assert_uint_eq(id.n_groups, 0);
    ck_assert_int_eq(id.method, EDGE_AUTH_TOKEN);
    ck_assert_int_eq(auth("basic bGFiOnMzY3JldC10b2tlbg==  ", NULL), 0);
    /* base64("anyone:s3cret-token"): the user name does not matter */
    ck_assert_int_eq(auth("Basic YW55b25lOnMzY3JldC10b2tlbg==", NULL), 0);
    /* base64("lab:wrong") */
    ck_assert_int_eq(auth("Basic bGFiOndyb25n", NULL), -EACCES);
    /* base64("s3cret-token") without a colon */
    ck_assert_int_eq(auth("Basic czNjcmV0LXRva2Vu", NULL), -EACCES);
}
END_TEST

START_TEST(bearer_and_groups)
{
    struct edge_ident id;
    ck_assert_int_eq(auth("Bearer s3cret-token", NULL), 0);
    ck_assert_int_eq(auth("Bearer s3cret-toke", NULL), -EACCES);
    ck_assert_int_eq(auth("Bearer s3cret-token2", NULL), -EACCES);
    ck_assert_int_eq(auth("Bearer dev-token", &id), 0);
    ck_assert_str_eq(id.user, "dev");
    ck_assert(!id.legacy);
    ck_assert(edge_ident_in_group(&id, "developers"));
    ck_assert(edge_ident_in_group(&id, "staff"));
    ck_assert(!edge_ident_in_group(&id, "admins"));
    ck_assert(!edge_ident_in_group(&id, "dev"));
}
END_TEST

START_TEST(garbage_is_refused)
{
    const char *why = NULL;
    struct edge_ident id;
    ck_assert_int_eq(auth("", NULL), -ENOENT);
    ck_assert_int_eq(auth("   ", NULL), -ENOENT);
    ck_assert_int_eq(auth("Basic", NULL), -EACCES);
    ck_assert_int_eq(auth("Bearer ", NULL), -EACCES);
    ck_assert_int_eq(auth("Basic !!!!", NULL), -EACCES);
    ck_assert_int_eq(edge_auth_header(&cfg, "Digest s3cret-token", 19, 0, &id, &why), -EACCES);
    ck_assert_msg(strstr(why, "scheme") != NULL, "%s", why);
    static char big[20000];
    memset(big, 'A', sizeof(big) - 1);
    memcpy(big, "Basic ", 6);
    ck_assert_int_eq(edge_auth_header(&cfg, big, strlen(big), 0, &id, &why), -EACCES);
    ck_assert_str_eq(why, "credential too long");
}
END_TEST

START_TEST(expired_user)
{
    /* "old" expired in 2020: its token no longer authenticates. */
    uint8_t h[32];
    memset(h, 0, sizeof(h));
    h[31] = 1;
    ck_assert_ptr_null(edge_users_by_token(&cfg.users, h, 1800000000));
    ck_assert_ptr_nonnull(edge_users_by_token(&cfg.users, h, 1500000000));
}
END_TEST

START_TEST(client_certificate)
{
    struct edge_ident id, id2;
    const char *names[] = {"ops", "ops@lab.test"};
    ck_assert_int_eq(edge_auth_cert(&cfg, names, 2, 0, &id), 0);
    ck_assert_str_eq(id.user, "ops");
    ck_assert_int_eq(id.method, EDGE_AUTH_CERT);
    ck_assert(edge_ident_in_group(&id, "admins"));
    const char *uri[] = {"spiffe://lab.test/ops"};
    ck_assert_int_eq(edge_auth_cert(&cfg, uri, 1, 0, &id2), 0);
    ck_assert_str_eq(id2.user, "ops");
    const char *other[] = {"mallory", "mallory@lab.test"};
    ck_assert_int_eq(edge_auth_cert(&cfg, other, 2, 0, &id2), -EACCES);
    ck_assert_int_eq(edge_auth_cert(&cfg, NULL, 0, 0, &id2), -EACCES);
    /* a certificate's SANs decide; its CN only when it has none */
    struct st_tls_names tn;
    memset(&tn, 0, sizeof(tn));
    strcpy(tn.cn, "ops@lab.test");
    ck_assert_int_eq(edge_auth_tls(&cfg, &tn, 0, &id2), 0);
    ck_assert_str_eq(id2.user, "ops");
    strcpy(tn.emails[0], "nobody@lab.test");
    tn.n_emails = 1;
    ck_assert_int_eq(edge_auth_tls(&cfg, &tn, 0, &id2), -EACCES);
    strcpy(tn.uris[0], "spiffe://lab.test/ops");
    tn.n_uris = 1;
    ck_assert_int_eq(edge_auth_tls(&cfg, &tn, 0, &id2), 0);
    ck_assert_int_eq(edge_auth_tls(&cfg, NULL, 0, &id2), -ENOENT);
}
END_TEST

/* Reload: a flow's identity is looked up again in the new configuration. */
START_TEST(recheck_after_reload)
{
    struct edge_ident dev, ops;
    const char *why = NULL;
    const char *names[] = {"ops@lab.test"};
    ck_assert_int_eq(auth("Bearer dev-token", &dev), 0);
    ck_assert_int_eq(edge_auth_cert(&cfg, names, 1, 0, &ops), 0);
    ck_assert_int_eq(edge_auth_recheck(&cfg, &dev, 0, &why), 0);

    char d[65], text[512];
    hex("dev-token", d);
    /* dev moves to another group; ops loses its certificate name */
    snprintf(text, sizeof(text),
             "users:\n"
             "  - {name: dev, groups: [admins], token-sha256: %s, expires: 2030-01-01T00:00:00Z}\n"
             "  - {name: ops, client-cert: other@lab.test}\n",
             d);
    ck_assert_msg(load(text) == 0, "%s", err);
    ck_assert_int_eq(edge_auth_recheck(&cfg, &dev, 1800000000, &why), 0);
    ck_assert(edge_ident_in_group(&dev, "admins"));
    ck_assert(!edge_ident_in_group(&dev, "developers"));
    ck_assert_int_eq(edge_auth_recheck(&cfg, &ops, 0, &why), -EACCES);
    ck_assert_str_eq(why, "credential removed");
    /* time passes beyond dev's expiry */
    ck_assert_int_eq(edge_auth_recheck(&cfg, &dev, 1900000000, &why), -EACCES);
    ck_assert_str_eq(why, "user expired");
    /* a reload that removes dev */
    ck_assert_msg(load("users: []\n") == 0, "%s", err);
    ck_assert_int_eq(edge_auth_recheck(&cfg, &dev, 0, &why), -EACCES);
}
END_TEST

START_TEST(user_config_errors)
{
    char a[65], text[512];
    hex("s3cret-token", a);
    ck_assert_int_eq(load("users:\n  - {name: x}\n"), -EINVAL);
    ck_assert_msg(strstr(err, "has no credential") != NULL, "%s", err);
    ck_assert_int_eq(load("users:\n  - {name: 'a b', client-cert: c}\n"), -EINVAL);
    ck_assert_msg(strstr(err, "t.yaml:2: 'users[0].name': a user name") == err, "%s", err);
    ck_assert_int_eq(load("users:\n  - {name: x, client-cert: c, colour: red}\n"), -EINVAL);
    ck_assert_msg(strstr(err, "unknown key 'colour'") != NULL, "%s", err);
    ck_assert_int_eq(load("users:\n  - {name: x, token-sha256: abc}\n"), -EINVAL);
    ck_assert_msg(strstr(err, "64 hex digits") != NULL, "%s", err);
    ck_assert_int_eq(load("users:\n  - {name: x, client-cert: c, expires: tomorrow}\n"), -EINVAL);
    ck_assert_msg(strstr(err, "RFC 3339") != NULL, "%s", err);
    ck_assert_int_eq(load("users:\n  - {name: x, client-cert: c, expires: 2027-02-30T00:00:00Z}\n"),
                     -EINVAL);
    ck_assert_int_eq(
        load("users:\n  - {name: x, client-cert: c}\n  - {name: y, client-cert: [d, c]}\n"),
        -EINVAL);
    ck_assert_msg(strstr(err, "user 'x' has client-cert 'c' already") != NULL, "%s", err);
    ck_assert_int_eq(load("users:\n  - {name: x, client-cert: c, groups: [a, a]}\n"), -EINVAL);
    ck_assert_msg(strstr(err, "listed twice") != NULL, "%s", err);
    snprintf(text, sizeof(text),
             "access-tokens:\n  - {name: x, sha256: %s}\nusers:\n  - {name: x, client-cert: c}\n",
             a);
    ck_assert_int_eq(load(text), -EINVAL);
    ck_assert_msg(strstr(err, "user 'x' is defined twice") != NULL, "%s", err);
    snprintf(text, sizeof(text),
             "access-tokens:\n  - {name: x, sha256: %s}\nusers:\n  - {name: y, token-sha256: %s}\n",
             a, a);
    ck_assert_int_eq(load(text), -EINVAL);
    ck_assert_msg(strstr(err, "user 'x' has this token already") != NULL, "%s", err);
    /* offsets: 2027-01-01T02:00:00+02:00 is midnight UTC */
    ck_assert_int_eq(load("users:\n  - {name: x, client-cert: c, "
                          "expires: '2027-01-01T02:00:00.123+02:00'}\n"),
                     0);
    ck_assert_int_eq(cfg.users.list[0].expires, 1798761600);
}
END_TEST

START_TEST(ident_groups_are_bounded)
{
    struct edge_ident id;
    memset(&id, 0, sizeof(id));
    char g[64];
    int rc = 0, added = 0;
    for (int i = 0; i < 100 && rc == 0; i++) {
        snprintf(g, sizeof(g), "group-%02d-xxxxxxxxxx", i);
        rc = edge_ident_add_group(&id, g);
        added += rc == 0;
    }
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_int_eq(id.n_groups, added);
    ck_assert(edge_ident_in_group(&id, "group-00-xxxxxxxxxx"));
    ck_assert_int_eq(edge_ident_add_group(&id, "group-00-xxxxxxxxxx"), 0); /* already there */
}
END_TEST

/* ---- signed tokens (JWT): an Ed25519 key made here, its JWK Set in cfg ---- */
static EVP_PKEY *jwt_key;

static void jwt_setup(void)
{
    jwt_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ck_assert_ptr_nonnull(jwt_key);
    uint8_t pub[32];
    size_t n = sizeof(pub);
    ck_assert_int_eq(EVP_PKEY_get_raw_public_key(jwt_key, pub, &n), 1);
    char x[64], jwks[256];
    st_b64url_encode(pub, n, x, sizeof(x));
    snprintf(jwks, sizeof(jwks),
             "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\","
             "\"kid\":\"k1\"}]}",
             x);
    ck_assert_int_eq(edge_jwks_parse(jwks, strlen(jwks), &cfg.jwks, err, sizeof(err)), 0);
    cfg.has_jwt = true;
    cfg.jwt.issuer = "https://idp.lab.test";
    cfg.jwt.audience = "subtunnel";
    cfg.jwt.skew_s = 60;
}

static void jwt_teardown(void)
{
    edge_jwks_free(cfg.jwks);
    cfg.jwks = NULL;
    EVP_PKEY_free(jwt_key);
}

/* "Bearer " + a token for sub with the payload's other members in extra. */
static void jwt_header(char *out, size_t outlen, const char *sub, const char *extra)
{
    char payload[512], h64[128], p64[700], s64[128], msg[900];
    uint8_t sig[64];
    size_t siglen = sizeof(sig);
    const char *hdr = "{\"alg\":\"EdDSA\",\"kid\":\"k1\"}";
    snprintf(payload, sizeof(payload),
             "{\"sub\":\"%s\",\"iss\":\"https://idp.lab.test\",\"aud\":\"subtunnel\",%s}", sub,
             extra);
    st_b64url_encode(hdr, strlen(hdr), h64, sizeof(h64));
    st_b64url_encode(payload, strlen(payload), p64, sizeof(p64));
    snprintf(msg, sizeof(msg), "%s.%s", h64, p64);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, NULL, NULL, jwt_key), 1);
    ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)msg, strlen(msg)), 1);
    EVP_MD_CTX_free(ctx);
    st_b64url_encode(sig, siglen, s64, sizeof(s64));
    snprintf(out, outlen, "Bearer %s.%s", msg, s64);
}

START_TEST(signed_token)
{
    char v[1200];
    struct edge_ident id;
    const char *why = NULL;
    jwt_header(v, sizeof(v), "carol", "\"exp\":1800003600,\"groups\":[\"developers\"]");
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), 0);
    ck_assert_str_eq(id.user, "carol");
    ck_assert_int_eq(id.method, EDGE_AUTH_JWT);
    ck_assert(edge_ident_in_group(&id, "developers"));
    ck_assert_int_eq(id.expires, 1800003600);
    ck_assert_int_eq(edge_auth_recheck(&cfg, &id, 1800000100, &why), 0);
    ck_assert_int_eq(edge_auth_recheck(&cfg, &id, 1800003600, &why), -EACCES);
    ck_assert_str_eq(why, "credential expired");
    /* a users entry of the same name adds its groups: dev's are developers and staff */
    jwt_header(v, sizeof(v), "dev", "\"exp\":1800003600");
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), 0);
    ck_assert(edge_ident_in_group(&id, "staff"));
    /* expired (past the 60 s skew), wrong audience, bad signature */
    jwt_header(v, sizeof(v), "carol", "\"exp\":1799999900");
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), -EACCES);
    ck_assert_str_eq(why, "signed token: expired");
    cfg.jwt.audience = "another-app";
    jwt_header(v, sizeof(v), "carol", "\"exp\":1800003600");
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), -EACCES);
    ck_assert_str_eq(why, "signed token: wrong audience");
    cfg.jwt.audience = "subtunnel";
    v[strlen(v) - 2] ^= 1;
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), -EACCES);
    ck_assert_msg(strncmp(why, "signed token: ", 14) == 0, "%s", why);
    /* a user name policy rules could not hold is refused, not cut */
    char longname[100];
    memset(longname, 'a', 80);
    longname[80] = 0;
    jwt_header(v, sizeof(v), longname, "\"exp\":1800003600");
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), -EACCES);
    ck_assert_msg(strstr(why, "the user claim is not a user name") != NULL, "%s", why);
    jwt_header(v, sizeof(v), "Mallory Smith", "\"exp\":1800003600");
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), -EACCES);
    /* a reload that takes a group from the users entry takes it from running flows too */
    jwt_header(v, sizeof(v), "dev", "\"exp\":1800003600,\"groups\":[\"oncall\"]");
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), 0);
    ck_assert(edge_ident_in_group(&id, "staff") && edge_ident_in_group(&id, "oncall"));
    char d[65], text[256];
    hex("dev-token", d);
    snprintf(text, sizeof(text), "users:\n  - {name: dev, groups: [admins], token-sha256: %s}\n",
             d);
    ck_assert_msg(load(text) == 0, "%s", err);
    ck_assert_int_eq(edge_auth_recheck(&cfg, &id, 1800000000, &why), 0);
    ck_assert(!edge_ident_in_group(&id, "staff"));
    ck_assert(edge_ident_in_group(&id, "oncall") && edge_ident_in_group(&id, "admins"));
    ck_assert_msg(load("users: []\n") == 0, "%s", err);
    ck_assert_int_eq(edge_auth_recheck(&cfg, &id, 1800000000, &why), 0);
    ck_assert(!edge_ident_in_group(&id, "admins") && edge_ident_in_group(&id, "oncall"));
    ck_assert_int_eq(id.n_groups, 1);
    /* without jwt: configured, a JWT is just an unknown token */
    cfg.has_jwt = false;
    jwt_header(v, sizeof(v), "carol", "\"exp\":1800003600");
    ck_assert_int_eq(edge_auth_header(&cfg, v, strlen(v), 1800000000, &id, &why), -EACCES);
    ck_assert_str_eq(why, "unknown or expired access token");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("edge_auth");
    TCase *tc = tcase_create("auth");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, basic_with_token_as_password);
    tcase_add_test(tc, bearer_and_groups);
    tcase_add_test(tc, garbage_is_refused);
    tcase_add_test(tc, expired_user);
    tcase_add_test(tc, client_certificate);
    tcase_add_test(tc, recheck_after_reload);
    tcase_add_test(tc, user_config_errors);
    tcase_add_test(tc, ident_groups_are_bounded);
    suite_add_tcase(s, tc);
    TCase *tj = tcase_create("jwt");
    tcase_add_checked_fixture(tj, setup, teardown);
    tcase_add_checked_fixture(tj, jwt_setup, jwt_teardown);
    tcase_add_test(tj, signed_token);
    suite_add_tcase(s, tj);
    return st_check_run(s);
}
