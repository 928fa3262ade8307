/* st_quota: counts per key with a cap, any seed, keys of different types kept apart. */
#include "st_quota.h"

#include "st_check.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static void user(uint8_t key[ST_QUOTA_KEY], uint32_t n)
{
    memset(key, 0, ST_QUOTA_KEY);
    key[0] = 'u';
    memcpy(key + 1, &n, sizeof(n));
}

START_TEST(caps_per_key)
{
    struct st_quota q;
    st_quota_init(&q, 0x1234567890abcdefull);
    uint8_t a[ST_QUOTA_KEY], b[ST_QUOTA_KEY];
    user(a, 1);
    user(b, 2);
    ck_assert_uint_eq(st_quota_count(&q, a), 0); /* an empty table answers */
    st_quota_give(&q, a);                        /* and ignores a stray give */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(st_quota_take(&q, a, 4), 0);
    ck_assert_int_eq(st_quota_take(&q, a, 4), -EDQUOT);
    ck_assert_uint_eq(st_quota_count(&q, a), 4);
    ck_assert_int_eq(st_quota_take(&q, b, 4), 0);
    ck_assert_int_eq(st_quota_take(&q, b, 1), -EDQUOT); /* a lower limit applies at once */
    st_quota_give(&q, a);
    ck_assert_int_eq(st_quota_take(&q, a, 4), 0);
    ck_assert_uint_eq(q.used, 2);
    st_quota_fini(&q);
}
END_TEST

/* An address key and a user key with the same bytes after the type are two keys. */
START_TEST(types_apart)
{
    struct st_quota q;
    st_quota_init(&q, 7);
    uint8_t addr[ST_QUOTA_KEY], u[ST_QUOTA_KEY];
    uint8_t ip[4] = {198, 18, 0, 10};
    st_quota_addr_key(addr, AF_INET, ip);
    memcpy(u, addr, sizeof(u));
    u[0] = 'u';
    ck_assert_int_eq(addr[0], 4);
    ck_assert_int_eq(st_quota_take(&q, addr, 1), 0);
    ck_assert_int_eq(st_quota_take(&q, u, 1), 0);
    ck_assert_uint_eq(st_quota_count(&q, addr), 1);
    ck_assert_uint_eq(st_quota_count(&q, u), 1);
    uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
    st_quota_addr_key(addr, AF_INET6, ip6);
    ck_assert_int_eq(addr[0], 6);
    ck_assert_uint_eq(st_quota_count(&q, addr), 0);
    st_quota_fini(&q);
}
END_TEST

/* Growth and backward-shift deletion keep every count, whatever the seed. */
START_TEST(seeds_keep_counts)
{
    static const uint64_t seeds[] = {0, 1, 0xffffffffffffffffull, 0x9e3779b97f4a7c15ull};
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        struct st_quota q;
        st_quota_init(&q, seeds[s]);
        uint8_t k[ST_QUOTA_KEY];
        for (uint32_t n = 0; n < 3000; n++) {
            user(k, n);
            for (uint32_t i = 0; i <= n % 4; i++)
                ck_assert_int_eq(st_quota_take(&q, k, 8), 0);
        }
        for (uint32_t n = 0; n < 3000; n += 3) {
            user(k, n);
            for (uint32_t i = 0; i <= n % 4; i++)
                st_quota_give(&q, k);
        }
        ck_assert_uint_eq(q.used, 2000);
        for (uint32_t n = 0; n < 3000; n++) {
            user(k, n);
            ck_assert_uint_eq(st_quota_count(&q, k), n % 3 ? n % 4 + 1 : 0);
        }
        st_quota_fini(&q);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("st_quota");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, caps_per_key);
    tcase_add_test(tc, types_apart);
    tcase_add_test(tc, seeds_keep_counts);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
