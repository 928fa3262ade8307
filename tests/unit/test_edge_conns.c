/* edge_conns: connection caps in all, per listener and per client address, and the
 * unauthenticated connections closed oldest first. */
#include "edge_conns.h"

#include "st_check.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct st_sockaddr addr(const char *s)
{
    struct st_sockaddr a;
    ck_assert_int_eq(st_sockaddr_parse(s, &a), 0);
    return a;
}

static const struct edge_conn_caps wide = {.total = 1000, .listener = 1000, .per_client = 1000};

START_TEST(total_and_listener_caps)
{
    struct edge_conns c;
    edge_conns_init(&c, 1);
    struct edge_conn_caps caps = {.total = 5, .listener = 3, .per_client = 100};
    struct st_sockaddr a = addr("198.18.0.10:40000");
    for (int fd = 10; fd < 13; fd++)
        ck_assert_int_eq(edge_conns_admit(&c, fd, EDGE_LIS_HTTP, &a, &caps, 0), 0);
    ck_assert_int_eq(edge_conns_admit(&c, 13, EDGE_LIS_HTTP, &a, &caps, 0),
                     EDGE_CONN_OVER_LISTENER);
    /* another listener still has room, up to the total */
    ck_assert_int_eq(edge_conns_admit(&c, 13, EDGE_LIS_TUNNEL, &a, &caps, 0), 0);
    ck_assert_int_eq(edge_conns_admit(&c, 14, EDGE_LIS_ACCESS, &a, &caps, 0), 0);
    ck_assert_int_eq(edge_conns_admit(&c, 15, EDGE_LIS_ACCESS, &a, &caps, 0), EDGE_CONN_OVER_TOTAL);
    ck_assert_uint_eq(c.total, 5);
    ck_assert_uint_eq(c.per_lis[EDGE_LIS_HTTP], 3);
    ck_assert(!edge_conns_counted(&c, 15)); /* a refusal counts nothing */
    edge_conns_release(&c, 11);
    ck_assert_int_eq(edge_conns_admit(&c, 15, EDGE_LIS_HTTP, &a, &caps, 0), 0);
    ck_assert_uint_eq(c.per_lis[EDGE_LIS_HTTP], 3);
    /* an fd counted already is a bug of the caller, not a second connection */
    ck_assert_int_eq(edge_conns_admit(&c, 15, EDGE_LIS_HTTP, &a, &caps, 0), -EINVAL);
    ck_assert_int_eq(edge_conns_admit(&c, -1, EDGE_LIS_HTTP, &a, &caps, 0), -EINVAL);
    edge_conns_release(&c, 99); /* never counted: no-op */
    ck_assert_uint_eq(c.total, 5);
    edge_conns_fini(&c);
}
END_TEST

START_TEST(per_client_cap)
{
    struct edge_conns c;
    edge_conns_init(&c, 2);
    struct edge_conn_caps caps = {.total = 100, .listener = 100, .per_client = 2};
    struct st_sockaddr a1 = addr("198.18.0.10:1"), a2 = addr("198.18.0.10:2"),
                       b = addr("198.18.0.11:1"), lo = addr("127.0.0.1:5");
    ck_assert_int_eq(edge_conns_admit(&c, 3, EDGE_LIS_HTTP, &a1, &caps, 0), 0);
    ck_assert_int_eq(edge_conns_admit(&c, 4, EDGE_LIS_TUNNEL, &a2, &caps, 0), 0);
    /* the port does not matter, the listener neither */
    ck_assert_int_eq(edge_conns_admit(&c, 5, EDGE_LIS_ACCESS, &a1, &caps, 0),
                     EDGE_CONN_OVER_CLIENT);
    ck_assert_int_eq(edge_conns_admit(&c, 5, EDGE_LIS_ACCESS, &b, &caps, 0), 0);
    ck_assert_uint_eq(edge_conns_from(&c, &a2), 2);
    ck_assert_uint_eq(edge_conns_from(&c, &b), 1);
    /* loopback is an address like any other */
    ck_assert_int_eq(edge_conns_admit(&c, 6, EDGE_LIS_ACCESS, &lo, &caps, 0), 0);
    ck_assert_int_eq(edge_conns_admit(&c, 7, EDGE_LIS_ACCESS, &lo, &caps, 0), 0);
    ck_assert_int_eq(edge_conns_admit(&c, 8, EDGE_LIS_ACCESS, &lo, &caps, 0),
                     EDGE_CONN_OVER_CLIENT);
    edge_conns_release(&c, 3);
    ck_assert_uint_eq(edge_conns_from(&c, &a1), 1);
    ck_assert_int_eq(edge_conns_admit(&c, 3, EDGE_LIS_HTTP, &a1, &caps, 0), 0);
    edge_conns_fini(&c);
}
END_TEST

/* IPv6 peers count per /64; an IPv4-mapped peer counts as its IPv4 address. */
START_TEST(client_keys)
{
    uint8_t k1[ST_QUOTA_KEY], k2[ST_QUOTA_KEY], k3[ST_QUOTA_KEY];
    struct st_sockaddr a = addr("[2001:db8:18::1]:1"), b = addr("[2001:db8:18::ffff:2]:2"),
                       other = addr("[2001:db8:19::1]:1");
    edge_conns_client_key(k1, &a);
    edge_conns_client_key(k2, &b);
    edge_conns_client_key(k3, &other);
    ck_assert_mem_eq(k1, k2, ST_QUOTA_KEY);
    ck_assert(memcmp(k1, k3, ST_QUOTA_KEY) != 0);
    struct st_sockaddr m = addr("[::ffff:198.18.0.10]:1"), v4 = addr("198.18.0.10:2");
    edge_conns_client_key(k1, &m);
    edge_conns_client_key(k2, &v4);
    ck_assert_mem_eq(k1, k2, ST_QUOTA_KEY);
    ck_assert_int_eq(k1[0], 4);

    struct edge_conns c;
    edge_conns_init(&c, 3);
    struct edge_conn_caps caps = {.total = 100, .listener = 100, .per_client = 1};
    ck_assert_int_eq(edge_conns_admit(&c, 3, EDGE_LIS_HTTPS, &a, &caps, 0), 0);
    ck_assert_int_eq(edge_conns_admit(&c, 4, EDGE_LIS_HTTPS, &b, &caps, 0), EDGE_CONN_OVER_CLIENT);
    ck_assert_int_eq(edge_conns_admit(&c, 4, EDGE_LIS_HTTPS, &other, &caps, 0), 0);
    edge_conns_fini(&c);
}
END_TEST

START_TEST(unauth_oldest_first)
{
    struct edge_conns c;
    edge_conns_init(&c, 4);
    struct st_sockaddr a = addr("198.18.0.10:1");
    for (int fd = 3; fd < 9; fd++) /* fds 3..8 admitted at times 100..600 */
        ck_assert_int_eq(
            edge_conns_admit(&c, fd, EDGE_LIS_HTTP, &a, &wide, (uint64_t)(fd - 2) * 100), 0);
    ck_assert_uint_eq(c.unauth, 6);
    edge_conns_authed(&c, 3); /* the oldest authenticated: no longer a candidate */
    edge_conns_authed(&c, 3); /* idempotent */
    edge_conns_authed(&c, 6);
    edge_conns_authed(&c, 42); /* not counted: no-op */
    ck_assert(!edge_conns_is_unauth(&c, 3));
    ck_assert(edge_conns_is_unauth(&c, 4));
    ck_assert_uint_eq(c.unauth, 4);
    ck_assert_int_eq(edge_conns_evict(&c, 4, NULL, NULL), -1); /* within the cap */
    uint64_t since = 0;
    enum edge_lis lis = EDGE_LIS_KINDS;
    ck_assert_int_eq(edge_conns_evict(&c, 2, &since, &lis), 4);
    ck_assert_uint_eq(since, 200);
    ck_assert_int_eq(lis, EDGE_LIS_HTTP);
    ck_assert_int_eq(edge_conns_evict(&c, 2, NULL, NULL), 5);
    ck_assert_int_eq(edge_conns_evict(&c, 2, NULL, NULL), -1);
    /* evicted connections stay counted until their owner closes them */
    ck_assert_uint_eq(c.total, 6);
    ck_assert(edge_conns_counted(&c, 4) && !edge_conns_is_unauth(&c, 4));
    edge_conns_release(&c, 4);
    edge_conns_release(&c, 5);
    /* releasing an unauthenticated one takes it out of the list: 8 is next, then 7 */
    edge_conns_release(&c, 7);
    ck_assert_uint_eq(c.unauth, 1);
    ck_assert_int_eq(edge_conns_evict(&c, 0, NULL, NULL), 8);
    ck_assert_int_eq(edge_conns_evict(&c, 0, NULL, NULL), -1);
    ck_assert_uint_eq(c.total, 3);
    edge_conns_release(&c, 3);
    edge_conns_release(&c, 6);
    edge_conns_release(&c, 8);
    ck_assert_uint_eq(c.total, 0);
    ck_assert_uint_eq(c.clients.used, 0);
    ck_assert_int_eq(c.head, -1);
    ck_assert_int_eq(c.tail, -1);
    edge_conns_fini(&c);
}
END_TEST

/* Many fds, far apart: the table grows and every count comes back to zero. */
START_TEST(growth_and_release)
{
    struct edge_conns c;
    edge_conns_init(&c, 5);
    char s[32];
    for (int fd = 0; fd < 5000; fd++) {
        snprintf(s, sizeof(s), "198.18.%d.%d:1", fd / 250, fd % 250);
        struct st_sockaddr a = addr(s);
        ck_assert_int_eq(edge_conns_admit(&c, fd * 3, (enum edge_lis)(fd % EDGE_LIS_KINDS), &a,
                                          &(struct edge_conn_caps){10000, 10000, 1}, (uint64_t)fd),
                         0);
    }
    ck_assert_uint_eq(c.total, 5000);
    for (int fd = 0; fd < 5000; fd += 2)
        edge_conns_authed(&c, fd * 3);
    ck_assert_uint_eq(c.unauth, 2500);
    ck_assert_int_eq(edge_conns_evict(&c, 2499, NULL, NULL), 3); /* fd 1 * 3 */
    for (int fd = 0; fd < 5000; fd++)
        edge_conns_release(&c, fd * 3);
    ck_assert_uint_eq(c.total, 0);
    ck_assert_uint_eq(c.unauth, 0);
    for (int k = 0; k < EDGE_LIS_KINDS; k++)
        ck_assert_uint_eq(c.per_lis[k], 0);
    ck_assert_uint_eq(c.clients.used, 0);
    edge_conns_fini(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("edge_conns");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, total_and_listener_caps);
    tcase_add_test(tc, per_client_cap);
    tcase_add_test(tc, client_keys);
    tcase_add_test(tc, unauth_oldest_first);
    tcase_add_test(tc, growth_and_release);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
