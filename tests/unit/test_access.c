#include "st_check.h"
#include <stdlib.h>
#include <string.h>

#include "edge_access.h"
#include "edge_config.h"
#include "st_token.h"

static struct edge_config cfg;
static struct edge_access_token tok;

static void setup(void)
{
    memset(&cfg, 0, sizeof(cfg));
    st_sha256("s3cret-token", strlen("s3cret-token"), tok.sha256);
    tok.name = "t";
    cfg.tokens = &tok;
    cfg.n_tokens = 1;
}

static bool auth(const char *v)
{
    return edge_access_authorized(&cfg, v, strlen(v), NULL);
}

START_TEST(basic_with_token_as_password)
{
    /* base64("lab:s3cret-token") */
    ck_assert(auth("Basic bGFiOnMzY3JldC10b2tlbg=="));
    ck_assert(auth("basic bGFiOnMzY3JldC10b2tlbg==  "));
    /* base64("anyone:s3cret-token"): the user name does not matter */
    ck_assert(auth("Basic YW55b25lOnMzY3JldC10b2tlbg=="));
    /* base64("lab:wrong") */
    ck_assert(!auth("Basic bGFiOndyb25n"));
    /* base64("s3cret-token") without a colon */
    ck_assert(!auth("Basic czNjcmV0LXRva2Vu"));
}
END_TEST

START_TEST(bearer)
{
    ck_assert(auth("Bearer s3cret-token"));
    ck_assert(!auth("Bearer s3cret-toke"));
    ck_assert(!auth("Bearer s3cret-token2"));
    ck_assert(!auth("Bearer "));
}
END_TEST

/* The credential a flow keeps is the token's hash: known while the token is configured. */
START_TEST(credential_of_a_flow)
{
    uint8_t cred[32] = {0};
    ck_assert(edge_access_authorized(&cfg, "Bearer s3cret-token", 19, cred));
    ck_assert_mem_eq(cred, tok.sha256, 32);
    ck_assert(edge_access_known(&cfg, cred));
    uint8_t none[32] = {1};
    ck_assert(!edge_access_authorized(&cfg, "Bearer other", 12, none));
    ck_assert_uint_eq(none[0], 1); /* untouched on failure */
    cfg.n_tokens = 0;              /* a reload removed the token */
    ck_assert(!edge_access_known(&cfg, cred));
}
END_TEST

START_TEST(garbage_is_refused)
{
    ck_assert(!auth(""));
    ck_assert(!auth("Basic"));
    ck_assert(!auth("Basic !!!!"));
    ck_assert(!auth("Digest s3cret-token"));
    char big[2000];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    memcpy(big, "Basic ", 6);
    ck_assert(!auth(big));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("auth");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, basic_with_token_as_password);
    tcase_add_test(tc, bearer);
    tcase_add_test(tc, credential_of_a_flow);
    tcase_add_test(tc, garbage_is_refused);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
