/* gw_quota: live flows per address with a cap, through growth and deletions. */
#include "gw_quota.h"

#include "st_check.h"
#include <errno.h>
#include <sys/socket.h>

static void v4(uint8_t a[4], uint32_t n)
{
    a[0] = 198;
    a[1] = 18;
    a[2] = (uint8_t)(n >> 8);
    a[3] = (uint8_t)n;
}

START_TEST(caps_per_address)
{
    struct gw_quota q;
    gw_quota_init(&q);
    uint8_t a[4] = {198, 51, 100, 10}, b[4] = {198, 51, 100, 11};
    uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 10};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(gw_quota_take(&q, AF_INET, a, 3), 0);
    ck_assert_int_eq(gw_quota_take(&q, AF_INET, a, 3), -EDQUOT);
    ck_assert_int_eq(gw_quota_take(&q, AF_INET, b, 3), 0); /* others are not affected */
    ck_assert_int_eq(gw_quota_take(&q, AF_INET6, a6, 3), 0);
    ck_assert_uint_eq(gw_quota_count(&q, AF_INET, a), 3);
    ck_assert_uint_eq(gw_quota_count(&q, AF_INET, b), 1);
    ck_assert_uint_eq(gw_quota_count(&q, AF_INET6, a6), 1);
    gw_quota_give(&q, AF_INET, a);
    ck_assert_int_eq(gw_quota_take(&q, AF_INET, a, 3), 0); /* room again */
    ck_assert_int_eq(gw_quota_take(&q, AF_INET, b, 0), -EDQUOT);
    gw_quota_give(&q, AF_INET, b);
    ck_assert_uint_eq(gw_quota_count(&q, AF_INET, b), 0);
    ck_assert_uint_eq(q.tab.used, 2);
    gw_quota_fini(&q);
}
END_TEST

/* Many addresses in, every other one out, the rest still found with their counts. */
START_TEST(growth_and_deletion_keep_counts)
{
    struct gw_quota q;
    gw_quota_init(&q);
    uint8_t a[4];
    for (uint32_t n = 0; n < 5000; n++) {
        v4(a, n);
        for (uint32_t k = 0; k <= n % 3; k++)
            ck_assert_int_eq(gw_quota_take(&q, AF_INET, a, 10), 0);
    }
    ck_assert_uint_eq(q.tab.used, 5000);
    for (uint32_t n = 0; n < 5000; n += 2) {
        v4(a, n);
        for (uint32_t k = 0; k <= n % 3; k++)
            gw_quota_give(&q, AF_INET, a);
    }
    ck_assert_uint_eq(q.tab.used, 2500);
    for (uint32_t n = 0; n < 5000; n++) {
        v4(a, n);
        ck_assert_uint_eq(gw_quota_count(&q, AF_INET, a), n % 2 ? n % 3 + 1 : 0);
    }
    gw_quota_fini(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gw_quota");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, caps_per_address);
    tcase_add_test(tc, growth_and_deletion_keep_counts);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
