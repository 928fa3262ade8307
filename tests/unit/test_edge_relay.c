#include "st_check.h"
#include <errno.h>
#include <string.h>

#include "edge_relay.h"
#include "edge_users.h"

static void ident(struct edge_ident *id, const char *user, int method)
{
    memset(id, 0, sizeof(*id));
    strcpy(id->user, user);
    id->method = (uint8_t)method;
    for (int i = 0; i < 32; i++)
        id->cred[i] = (uint8_t)(i * 7 + 1);
}

/* A relayed flow's identity survives the trip, credential hash and groups included. */
START_TEST(test_ident_round_trip)
{
    struct edge_ident a, b;
    char buf[EDGE_RELAY_IDENT_MAX];
    ident(&a, "carol", EDGE_AUTH_JWT);
    ck_assert_int_eq(edge_ident_add_group(&a, "developers"), 0);
    ck_assert_int_eq(edge_ident_add_group(&a, "ops"), 0);
    a.n_own_groups = 1;
    a.expires = 1700000000;
    int n = edge_relay_ident_encode(&a, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq((int)strlen(buf), n);
    ck_assert_ptr_nonnull(strstr(buf, "carol jwt 01080f"));
    ck_assert_ptr_nonnull(strstr(buf, " 1700000000 1 0 developers,ops"));
    ck_assert_int_eq(edge_relay_ident_decode(buf, (size_t)n, &b), 0);
    ck_assert_str_eq(b.user, "carol");
    ck_assert_int_eq(b.method, EDGE_AUTH_JWT);
    ck_assert_mem_eq(b.cred, a.cred, 32);
    ck_assert_int_eq(b.n_groups, 2);
    ck_assert(edge_ident_in_group(&b, "developers") && edge_ident_in_group(&b, "ops"));
    ck_assert_int_eq(b.n_own_groups, 1);
    ck_assert_int_eq(b.expires, 1700000000);

    ident(&a, "lab", EDGE_AUTH_TOKEN); /* no groups, legacy */
    a.legacy = true;
    n = edge_relay_ident_encode(&a, buf, sizeof(buf));
    ck_assert_int_eq(edge_relay_ident_decode(buf, (size_t)n, &b), 0);
    ck_assert(b.legacy && b.n_groups == 0 && b.method == EDGE_AUTH_TOKEN);
    ck_assert_int_eq(edge_relay_ident_encode(&a, buf, 20), -ENOSPC);
}
END_TEST

static void bad(const char *s)
{
    struct edge_ident id;
    ck_assert_msg(edge_relay_ident_decode(s, strlen(s), &id) == -EBADMSG, "accepted '%s'", s);
    ck_assert_str_eq(id.user, "");
}

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A relayed source tunnel id is a whole tunnel id or nothing: never cut to fit. */
START_TEST(test_tunnel_decode)
{
    char id[64];
    char long64[65];
    memset(long64, 'a', 64);
    long64[64] = '\0';
    ck_assert_int_eq(edge_relay_tunnel_decode("site2", 5, id, sizeof(id)), 0);
    ck_assert_str_eq(id, "site2");
    ck_assert_int_eq(edge_relay_tunnel_decode("site2xyz", 5, id, sizeof(id)), 0); /* len counts */
    ck_assert_str_eq(id, "site2");
    ck_assert_int_eq(edge_relay_tunnel_decode(long64, 63, id, sizeof(id)), 0);
    ck_assert_int_eq((int)strlen(id), 63);
    const char *const bad[] = {"", "site 2", "site2,x", "s/2", "\xc3\xa9t\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(edge_relay_tunnel_decode(bad[i], strlen(bad[i]), id, sizeof(id)),
                         -EBADMSG);
        ck_assert_str_eq(id, "");
    }
    ck_assert_int_eq(edge_relay_tunnel_decode(long64, 64, id, sizeof(id)), -EBADMSG);
    ck_assert_str_eq(id, "");
    ck_assert_int_eq(edge_relay_tunnel_decode("site\0"
                                              "2",
                                              6, id, sizeof(id)),
                     -EBADMSG);
    ck_assert_int_eq(edge_relay_tunnel_decode("site2", 5, id, 5), -EBADMSG); /* no room */
    ck_assert_int_eq(edge_relay_tunnel_decode("site2", 5, id, 0), -EBADMSG);
}
END_TEST

START_TEST(test_ident_bad)
{
    struct edge_ident id;
    const char *ok = "alice token " H64 " 0 0 0 -";
    ck_assert_int_eq(edge_relay_ident_decode(ok, strlen(ok), &id), 0);
    bad("");
    bad("alice token " H64 " 0 0 0");         /* a field missing */
    bad("alice token " H64 " 0 0 0 - extra"); /* one too many */
    bad("alice none " H64 " 0 0 0 -");        /* no method */
    bad("alice token " H64 "00 0 0 0 -");     /* long hash */
    bad("alice token 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef 0 0 0 -");
    bad("al ice token " H64 " 0 0 0 -");
    bad("alice token " H64 " -5 0 0 -");    /* negative expiry */
    bad("alice token " H64 " 0 3 0 a,b");   /* more own groups than groups */
    bad("alice token " H64 " 0 0 2 -");     /* legacy not 0/1 */
    bad("alice token " H64 " 0 0 0 a,b;c"); /* bad group name */
    bad("alice/x token " H64 " 0 0 0 -");   /* bad user name */
    ck_assert_int_eq(edge_relay_ident_decode("alice\0x", 7, &id), -EBADMSG);
}
END_TEST

static Suite *edge_relay_suite(void)
{
    Suite *s = suite_create("edge_relay");
    TCase *tc = tcase_create("ident");
    tcase_add_test(tc, test_ident_round_trip);
    tcase_add_test(tc, test_ident_bad);
    tcase_add_test(tc, test_tunnel_decode);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(edge_relay_suite());
}
