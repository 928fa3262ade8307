#include "st_varint.h"

#include "st_check.h"
#include <errno.h>
#include <stdlib.h>

START_TEST(test_len)
{
    ck_assert_uint_eq(st_varint_len(0), 1);
    ck_assert_uint_eq(st_varint_len(63), 1);
    ck_assert_uint_eq(st_varint_len(64), 2);
    ck_assert_uint_eq(st_varint_len(16383), 2);
    ck_assert_uint_eq(st_varint_len(16384), 4);
    ck_assert_uint_eq(st_varint_len(1073741823), 4);
    ck_assert_uint_eq(st_varint_len(1073741824), 8);
    ck_assert_uint_eq(st_varint_len(ST_VARINT_MAX), 8);
    ck_assert_uint_eq(st_varint_len(ST_VARINT_MAX + 1), 0);
}
END_TEST

/* RFC 9000 appendix A.1 examples. */
START_TEST(test_rfc_examples)
{
    static const uint8_t e8[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
    static const uint8_t e4[] = {0x9d, 0x7f, 0x3e, 0x7d};
    static const uint8_t e2[] = {0x7b, 0xbd};
    static const uint8_t e1[] = {0x25};
    uint8_t buf[8];
    uint64_t v;

    ck_assert_int_eq(st_varint_decode(e8, 8, &v), 8);
    ck_assert_uint_eq(v, 151288809941952652ULL);
    ck_assert_int_eq(st_varint_decode(e4, 4, &v), 4);
    ck_assert_uint_eq(v, 494878333);
    ck_assert_int_eq(st_varint_decode(e2, 2, &v), 2);
    ck_assert_uint_eq(v, 15293);
    ck_assert_int_eq(st_varint_decode(e1, 1, &v), 1);
    ck_assert_uint_eq(v, 37);

    ck_assert_int_eq(st_varint_encode(buf, sizeof(buf), 151288809941952652ULL), 8);
    ck_assert_mem_eq(buf, e8, 8);
    ck_assert_int_eq(st_varint_encode(buf, sizeof(buf), 494878333), 4);
    ck_assert_mem_eq(buf, e4, 4);
    ck_assert_int_eq(st_varint_encode(buf, sizeof(buf), 15293), 2);
    ck_assert_mem_eq(buf, e2, 2);
    ck_assert_int_eq(st_varint_encode(buf, sizeof(buf), 37), 1);
    ck_assert_mem_eq(buf, e1, 1);
}
END_TEST

START_TEST(test_non_shortest_accepted)
{
    static const uint8_t two[] = {0x40, 0x25};
    uint64_t v = 0;

    ck_assert_int_eq(st_varint_decode(two, 2, &v), 2);
    ck_assert_uint_eq(v, 37);
}
END_TEST

START_TEST(test_errors)
{
    uint8_t buf[8];
    uint64_t v = 99;

    ck_assert_int_eq(st_varint_encode(buf, sizeof(buf), ST_VARINT_MAX + 1), -ERANGE);
    ck_assert_int_eq(st_varint_encode(buf, 1, 64), -ENOSPC);
    ck_assert_int_eq(st_varint_encode(buf, 0, 0), -ENOSPC);
    ck_assert_int_eq(st_varint_encode(buf, 7, ST_VARINT_MAX), -ENOSPC);
    ck_assert_int_eq(st_varint_decode(buf, 0, &v), 0);
    buf[0] = 0xc0;
    ck_assert_int_eq(st_varint_decode(buf, 7, &v), 0);
    buf[0] = 0x80;
    ck_assert_int_eq(st_varint_decode(buf, 3, &v), 0);
    buf[0] = 0x40;
    ck_assert_int_eq(st_varint_decode(buf, 1, &v), 0);
    ck_assert_uint_eq(v, 99); /* untouched on truncation */
}
END_TEST

START_TEST(test_round_trip)
{
    static const uint64_t vals[] = {0,     1,          63,         64,         16383,
                                    16384, 1073741823, 1073741824, 1ULL << 40, ST_VARINT_MAX};
    uint8_t buf[8];
    uint64_t v;

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        int n = st_varint_encode(buf, sizeof(buf), vals[i]);
        ck_assert_int_eq(n, (int)st_varint_len(vals[i]));
        ck_assert_int_eq(st_varint_decode(buf, (size_t)n, &v), n);
        ck_assert_uint_eq(v, vals[i]);
    }
}
END_TEST

static Suite *varint_suite(void)
{
    Suite *s = suite_create("varint");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_len);
    tcase_add_test(tc, test_rfc_examples);
    tcase_add_test(tc, test_non_shortest_accepted);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(varint_suite());
}
