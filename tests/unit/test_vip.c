#include "gw_vip.h"

#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static struct gw_vip_pool *pool(const char *cidr, unsigned reserved)
{
    struct st_cidr c;

    ck_assert_int_eq(st_cidr_parse(cidr, &c), 0);
    return gw_vip_pool_new(&c, reserved);
}

static void client(uint32_t n, uint8_t out[16])
{
    memset(out, 0, 16);
    out[0] = 198;
    out[1] = (uint8_t)(18 + (n >> 16));
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
}

static int acquire(struct gw_vip_pool *p, uint32_t n, char *text)
{
    uint8_t a[16];
    struct in_addr vip;
    int rc;

    client(n, a);
    rc = gw_vip_acquire(p, AF_INET, a, &vip);
    if (rc == 0)
        inet_ntop(AF_INET, &vip, text, INET_ADDRSTRLEN);
    return rc;
}

static void release(struct gw_vip_pool *p, const char *text)
{
    struct in_addr vip;

    ck_assert_int_eq(inet_pton(AF_INET, text, &vip), 1);
    gw_vip_release(p, vip);
}

START_TEST(test_same_client_same_vip)
{
    struct gw_vip_pool *p = pool("100.64.0.0/24", 2);
    char a[16], b[16], c[16];
    uint8_t v6[16];
    struct in_addr vip6;

    ck_assert_int_eq(acquire(p, 1, a), 0);
    ck_assert_str_eq(a, "100.64.0.3"); /* .1 and .2 reserved */
    ck_assert_int_eq(acquire(p, 1, b), 0);
    ck_assert_str_eq(b, a);
    ck_assert_int_eq(acquire(p, 2, c), 0);
    ck_assert_str_eq(c, "100.64.0.4");
    ck_assert_uint_eq(gw_vip_in_use(p), 2);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::c6:12:0:1", v6), 1);
    ck_assert_int_eq(gw_vip_acquire(p, AF_INET6, v6, &vip6), 0);
    ck_assert_str_eq(inet_ntoa(vip6), "100.64.0.5");
    ck_assert_uint_eq(gw_vip_in_use(p), 3);
    /* two references: the first release keeps the mapping */
    release(p, a);
    ck_assert_int_eq(acquire(p, 1, b), 0);
    ck_assert_str_eq(b, a);
    release(p, a);
    release(p, a);
    ck_assert_uint_eq(gw_vip_in_use(p), 2);
    release(p, "100.64.0.200"); /* unknown: ignored */
    ck_assert_uint_eq(gw_vip_in_use(p), 2);
    gw_vip_pool_free(p);
}
END_TEST

START_TEST(test_exhaustion_and_reuse)
{
    /* /29: .0 network, .1 reserved, .2-.6 usable, .7 broadcast */
    struct gw_vip_pool *p = pool("100.64.0.8/29", 1);
    char v[8][16], x[16];

    for (uint32_t i = 0; i < 5; i++)
        ck_assert_int_eq(acquire(p, i, v[i]), 0);
    ck_assert_str_eq(v[0], "100.64.0.10");
    ck_assert_str_eq(v[4], "100.64.0.14");
    ck_assert_int_eq(acquire(p, 100, x), -ENOSPC);
    ck_assert_int_eq(acquire(p, 3, x), 0); /* an existing client still gets its address */
    ck_assert_str_eq(x, v[3]);
    ck_assert_uint_eq(gw_vip_in_use(p), 5);

    release(p, v[2]);
    release(p, v[0]);
    ck_assert_uint_eq(gw_vip_in_use(p), 3);
    /* least recently released first */
    ck_assert_int_eq(acquire(p, 101, x), 0);
    ck_assert_str_eq(x, v[2]);
    ck_assert_int_eq(acquire(p, 102, x), 0);
    ck_assert_str_eq(x, v[0]);
    ck_assert_int_eq(acquire(p, 103, x), -ENOSPC);
    /* client 0 lost its address and gets none now */
    ck_assert_int_eq(acquire(p, 0, x), -ENOSPC);
    gw_vip_pool_free(p);
}
END_TEST

START_TEST(test_bad_input)
{
    struct st_cidr c;

    ck_assert_int_eq(st_cidr_parse("2001:db8::/64", &c), 0);
    ck_assert_ptr_null(gw_vip_pool_new(&c, 0));
    ck_assert_int_eq(st_cidr_parse("100.64.0.0/31", &c), 0);
    ck_assert_ptr_null(gw_vip_pool_new(&c, 0));
    ck_assert_int_eq(st_cidr_parse("100.64.0.0/30", &c), 0);
    ck_assert_ptr_null(gw_vip_pool_new(&c, 2));
    struct gw_vip_pool *p = gw_vip_pool_new(&c, 1);
    ck_assert_ptr_nonnull(p);
    gw_vip_pool_free(p);
    gw_vip_pool_free(NULL);
}
END_TEST

/* virtual-pool6: the /96's host part counts up like an IPv4 pool; clients of both families */
START_TEST(test_pool6)
{
    struct gw_vip_pool *p = pool("2001:db8:64::/96", 2);
    uint8_t c4[16] = {192, 0, 2, 7}, c6[16];
    struct in6_addr v, w;
    struct in_addr v4;
    char t[INET6_ADDRSTRLEN];

    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:18::10", c6), 1);
    ck_assert_int_eq(gw_vip_acquire6(p, AF_INET, c4, &v), 0);
    ck_assert_str_eq(inet_ntop(AF_INET6, &v, t, sizeof(t)), "2001:db8:64::3");
    ck_assert_int_eq(gw_vip_acquire6(p, AF_INET6, c6, &w), 0);
    ck_assert_str_eq(inet_ntop(AF_INET6, &w, t, sizeof(t)), "2001:db8:64::4");
    ck_assert_int_eq(gw_vip_acquire6(p, AF_INET, c4, &w), 0);
    ck_assert_mem_eq(&w, &v, 16);
    ck_assert_int_eq(gw_vip_acquire(p, AF_INET, c4, &v4), -EINVAL); /* wrong family */
    ck_assert_uint_eq(gw_vip_in_use(p), 2);
    gw_vip_release6(p, &v);
    ck_assert_uint_eq(gw_vip_in_use(p), 2);
    gw_vip_release6(p, &v);
    ck_assert_uint_eq(gw_vip_in_use(p), 1);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:65::4", &w), 1);
    gw_vip_release6(p, &w); /* outside the pool: ignored */
    ck_assert_uint_eq(gw_vip_in_use(p), 1);
    gw_vip_pool_free(p);

    p = pool("2001:db8:64::100/126", 1); /* 4 addresses: ::101 reserved, ::102 given, ::103 last */
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(gw_vip_acquire6(p, AF_INET6, c6, &v), 0);
    ck_assert_str_eq(inet_ntop(AF_INET6, &v, t, sizeof(t)), "2001:db8:64::102");
    ck_assert_int_eq(gw_vip_acquire6(p, AF_INET, c4, &v), -ENOSPC);
    gw_vip_pool_free(p);
    ck_assert_ptr_null(pool("2001:db8:64::/95", 2)); /* more than 2^32 addresses */
    ck_assert_ptr_null(pool("2001:db8:64::/127", 0));
}
END_TEST

START_TEST(test_slash10_lazy)
{
    struct mallinfo2 before = mallinfo2(), after;
    struct gw_vip_pool *p = pool("100.64.0.0/10", 2);
    char x[16];

    after = mallinfo2();
    /* 4M addresses but only a small fixed table up front (0 delta under ASan's allocator) */
    ck_assert_uint_lt(after.uordblks - before.uordblks, 64 * 1024);
    ck_assert_int_eq(acquire(p, 7, x), 0);
    ck_assert_str_eq(x, "100.64.0.3");
    for (uint32_t i = 0; i < 20000; i++)
        ck_assert_int_eq(acquire(p, 100000 + i, x), 0);
    ck_assert_str_eq(x, "100.64.78.35"); /* 3 + 20000 = 78 * 256 + 35 */
    ck_assert_uint_eq(gw_vip_in_use(p), 20001);
    gw_vip_pool_free(p);
}
END_TEST

static Suite *vip_suite(void)
{
    Suite *s = suite_create("vip");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_same_client_same_vip);
    tcase_add_test(tc, test_exhaustion_and_reuse);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_slash10_lazy);
    tcase_add_test(tc, test_pool6);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(vip_suite());
}
