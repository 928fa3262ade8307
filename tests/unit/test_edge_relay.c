#include "st_check.h"
#include <errno.h>
#include <nghttp2/nghttp2.h>
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

/* Pooled connections first, then holders to dial, each in turns from start; skipped ones never. */
START_TEST(test_next_order)
{
    const uint8_t cand[] = {EDGE_RELAY_DIAL, EDGE_RELAY_SKIP, EDGE_RELAY_POOLED, EDGE_RELAY_DIAL,
                            EDGE_RELAY_POOLED};
    size_t order[5];
    ck_assert_int_eq(edge_relay_next_order(cand, 5, 0, order), 4);
    ck_assert(order[0] == 2 && order[1] == 4 && order[2] == 0 && order[3] == 3);
    ck_assert_int_eq(edge_relay_next_order(cand, 5, 3, order), 4); /* turns go on from 3 */
    ck_assert(order[0] == 4 && order[1] == 2 && order[2] == 3 && order[3] == 0);
    ck_assert_int_eq(edge_relay_next_order(cand, 5, 17, order), 4); /* start wraps */
    ck_assert(order[0] == 2 && order[1] == 4 && order[2] == 3 && order[3] == 0);
    const uint8_t none[] = {EDGE_RELAY_SKIP, EDGE_RELAY_SKIP};
    ck_assert_int_eq(edge_relay_next_order(none, 2, 1, order), 0);
    ck_assert_int_eq(edge_relay_next_order(none, 0, 1, order), 0);
}
END_TEST

/* When a relayed flow whose stream closed unanswered goes to the next holder. */
START_TEST(test_next_holder_rules)
{
    /* the connection failed before its handshake: whatever the code */
    ck_assert(edge_relay_next_holder(false, NGHTTP2_CONNECT_ERROR, false, 1));
    /* up, but the holder refused the stream unprocessed (draining) */
    ck_assert(edge_relay_next_holder(true, NGHTTP2_REFUSED_STREAM, false, 1));
    /* up and reset otherwise: the holder may have acted on it */
    ck_assert(!edge_relay_next_holder(true, NGHTTP2_CONNECT_ERROR, false, 1));
    ck_assert(!edge_relay_next_holder(true, NGHTTP2_NO_ERROR, false, 1));
    /* bytes of the flow went out: they would be lost */
    ck_assert(!edge_relay_next_holder(true, NGHTTP2_REFUSED_STREAM, true, 1));
    ck_assert(!edge_relay_next_holder(false, NGHTTP2_CONNECT_ERROR, true, 1));
    /* at most EDGE_RELAY_PEERS_MAX holders per flow */
    ck_assert(edge_relay_next_holder(false, 0, false, EDGE_RELAY_PEERS_MAX - 1));
    ck_assert(!edge_relay_next_holder(false, 0, false, EDGE_RELAY_PEERS_MAX));
}
END_TEST

/* One flow and n holders whose relay connections all fail before their handshake, as
 * edge_relay_pick and edge_flow_on_tunnel_close play it: each failure passes its holder over
 * (EDGE_RELAY_SKIP) and the flow goes to the next one. Returns the holders tried, in order. */
static size_t play_failures(uint8_t *cand, size_t n, size_t start, size_t *tried)
{
    size_t m = 0, order[EDGE_RELAY_PEERS_MAX];
    unsigned tries = 0;
    for (;;) {
        if (edge_relay_next_order(cand, n, start++, order) == 0)
            return m; /* no usable holder left: the flow is answered 502 */
        tried[m++] = order[0];
        cand[order[0]] = EDGE_RELAY_SKIP; /* failed before it was up: passed over */
        if (!edge_relay_next_holder(false, NGHTTP2_CONNECT_ERROR, false, ++tries))
            return m;
    }
}

START_TEST(test_next_holder_walk)
{
    size_t tried[EDGE_RELAY_PEERS_MAX + 4];
    /* three holders, all failing: each tried once, then none is left */
    uint8_t three[] = {EDGE_RELAY_DIAL, EDGE_RELAY_DIAL, EDGE_RELAY_DIAL};
    ck_assert_int_eq(play_failures(three, 3, 1, tried), 3);
    ck_assert(tried[0] == 1 && tried[1] == 2 && tried[2] == 0);
    /* a pooled connection is tried first; a holder passed over lately never */
    uint8_t mixed[] = {EDGE_RELAY_SKIP, EDGE_RELAY_DIAL, EDGE_RELAY_POOLED};
    ck_assert_int_eq(play_failures(mixed, 3, 0, tried), 2);
    ck_assert(tried[0] == 2 && tried[1] == 1);
    /* EDGE_RELAY_PEERS_MAX holders (the most edge_relay_pick looks at): each is tried once */
    uint8_t many[EDGE_RELAY_PEERS_MAX];
    memset(many, EDGE_RELAY_DIAL, sizeof(many));
    ck_assert_int_eq(play_failures(many, EDGE_RELAY_PEERS_MAX, 5, tried), EDGE_RELAY_PEERS_MAX);
    for (size_t i = 0; i < EDGE_RELAY_PEERS_MAX; i++)
        ck_assert(many[i] == EDGE_RELAY_SKIP);
}
END_TEST

/* A relay stream carries a visitor request unless it is a CONNECT flow (plain or MASQUE); a
 * WebSocket comes as extended CONNECT and is a visitor's. */
START_TEST(test_is_visit)
{
    ck_assert(edge_relay_is_visit("GET", NULL));
    ck_assert(edge_relay_is_visit("POST", NULL));
    ck_assert(edge_relay_is_visit("CONNECT", "websocket"));
    ck_assert(!edge_relay_is_visit("CONNECT", NULL));
    ck_assert(!edge_relay_is_visit("CONNECT", "connect-udp"));
    ck_assert(!edge_relay_is_visit("CONNECT", "connect-ip"));
    ck_assert(!edge_relay_is_visit(NULL, NULL)); /* no :method: the flow code answers 501 */
    ck_assert(!edge_relay_is_visit("", "websocket"));
}
END_TEST

static Suite *edge_relay_suite(void)
{
    Suite *s = suite_create("edge_relay");
    TCase *tc = tcase_create("ident");
    tcase_add_test(tc, test_ident_round_trip);
    tcase_add_test(tc, test_ident_bad);
    tcase_add_test(tc, test_is_visit);
    tcase_add_test(tc, test_tunnel_decode);
    suite_add_tcase(s, tc);
    tc = tcase_create("next_holder");
    tcase_add_test(tc, test_next_order);
    tcase_add_test(tc, test_next_holder_rules);
    tcase_add_test(tc, test_next_holder_walk);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(edge_relay_suite());
}
