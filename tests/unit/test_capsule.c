#include "st_capsule.h"
#include "st_varint.h"

#include "st_check.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_parse_simple)
{
    static const uint8_t in[] = {0x00, 0x03, 'a', 'b', 'c', 0xff};
    struct st_capsule cap;

    ck_assert_int_eq(st_capsule_parse(in, sizeof(in), 100, &cap), 5);
    ck_assert_uint_eq(cap.type, ST_CAP_DATAGRAM);
    ck_assert_uint_eq(cap.len, 3);
    ck_assert_ptr_eq(cap.value, in + 2);
}
END_TEST

START_TEST(test_parse_needs_more)
{
    uint8_t in[32];
    struct st_capsule cap;
    int n = st_capsule_encode_header(in, sizeof(in), ST_CAP_REGISTER, 4);

    ck_assert_int_eq(n, 9); /* 8-byte type (> 2^30), 1-byte length */
    memcpy(in + n, "wxyz", 4);
    for (int i = 0; i < n + 4; i++)
        ck_assert_int_eq(st_capsule_parse(in, (size_t)i, 100, &cap), 0);
    ck_assert_int_eq(st_capsule_parse(in, (size_t)n + 4, 100, &cap), n + 4);
    ck_assert_uint_eq(cap.type, ST_CAP_REGISTER);
    ck_assert_mem_eq(cap.value, "wxyz", 4);
}
END_TEST

START_TEST(test_parse_too_long)
{
    uint8_t in[16];
    struct st_capsule cap;
    int n = st_capsule_encode_header(in, sizeof(in), ST_CAP_ROUTES, 1000);

    /* The length alone decides: no need to wait for the value. */
    ck_assert_int_eq(st_capsule_parse(in, (size_t)n, 999, &cap), -EMSGSIZE);
    ck_assert_int_eq(st_capsule_parse(in, (size_t)n, 1000, &cap), 0);
    n = st_capsule_encode_header(in, sizeof(in), 1, ST_VARINT_MAX);
    ck_assert_int_eq(st_capsule_parse(in, (size_t)n, SIZE_MAX, &cap), -EMSGSIZE);
}
END_TEST

START_TEST(test_unknown_type_parsed)
{
    uint8_t in[16];
    struct st_capsule cap;
    int n = st_capsule_encode_header(in, sizeof(in), 0x1234567, 0);

    ck_assert_int_eq(st_capsule_parse(in, (size_t)n, 10, &cap), n);
    ck_assert_uint_eq(cap.type, 0x1234567);
    ck_assert_uint_eq(cap.len, 0);
}
END_TEST

START_TEST(test_encode_header_errors)
{
    uint8_t out[16];

    ck_assert_int_eq(st_capsule_encode_header(out, 8, ST_CAP_REGISTER, 1), -ENOSPC);
    ck_assert_int_eq(st_capsule_encode_header(out, 9, ST_CAP_REGISTER, 64), -ENOSPC);
    ck_assert_int_eq(st_capsule_encode_header(out, 10, ST_CAP_REGISTER, 64), 10);
    ck_assert_int_eq(st_capsule_encode_header(out, 2, 0, 63), 2);
    ck_assert_int_eq(st_capsule_encode_header(out, 16, ST_VARINT_MAX + 1, 0), -ERANGE);
    ck_assert_int_eq(st_capsule_encode_header(out, 16, 0, ST_VARINT_MAX + 1), -ERANGE);
}
END_TEST

START_TEST(test_tlv_round_trip)
{
    uint8_t buf[64];
    size_t off = 0;
    struct st_tlv_iter it;
    uint64_t type, v;
    const uint8_t *val;
    size_t vlen;

    ck_assert_int_eq(st_tlv_put(buf, sizeof(buf), &off, 1, "hello", 5), 0);
    ck_assert_int_eq(st_tlv_put_varint(buf, sizeof(buf), &off, 300, 70000), 0);
    ck_assert_int_eq(st_tlv_put(buf, sizeof(buf), &off, 7, NULL, 0), 0);
    ck_assert_uint_eq(off, 2 + 5 + 2 + 1 + 4 + 2);

    st_tlv_iter_init(&it, buf, off);
    ck_assert_int_eq(st_tlv_next(&it, &type, &val, &vlen), 1);
    ck_assert_uint_eq(type, 1);
    ck_assert_uint_eq(vlen, 5);
    ck_assert_mem_eq(val, "hello", 5);
    ck_assert_int_eq(st_tlv_next(&it, &type, &val, &vlen), 1);
    ck_assert_uint_eq(type, 300);
    ck_assert_int_eq(st_varint_decode(val, vlen, &v), (int)vlen);
    ck_assert_uint_eq(v, 70000);
    ck_assert_int_eq(st_tlv_next(&it, &type, &val, &vlen), 1);
    ck_assert_uint_eq(type, 7);
    ck_assert_uint_eq(vlen, 0);
    ck_assert_int_eq(st_tlv_next(&it, &type, &val, &vlen), 0);
}
END_TEST

START_TEST(test_tlv_truncated)
{
    uint8_t buf[32];
    size_t off = 0;
    struct st_tlv_iter it;
    uint64_t type;
    const uint8_t *val;
    size_t vlen;

    ck_assert_int_eq(st_tlv_put(buf, sizeof(buf), &off, 1, "abcdef", 6), 0);
    for (size_t cut = 1; cut < off; cut++) {
        st_tlv_iter_init(&it, buf, cut);
        ck_assert_int_eq(st_tlv_next(&it, &type, &val, &vlen), -EBADMSG);
    }
    buf[0] = 0x40; /* two-byte type varint cut after one byte */
    st_tlv_iter_init(&it, buf, 1);
    ck_assert_int_eq(st_tlv_next(&it, &type, &val, &vlen), -EBADMSG);
}
END_TEST

START_TEST(test_tlv_put_nospace)
{
    uint8_t buf[8];
    size_t off = 0;

    ck_assert_int_eq(st_tlv_put(buf, sizeof(buf), &off, 1, "abcdef", 6), 0);
    ck_assert_uint_eq(off, 8);
    ck_assert_int_eq(st_tlv_put(buf, sizeof(buf), &off, 1, "", 0), -ENOSPC);
    off = 0;
    ck_assert_int_eq(st_tlv_put(buf, sizeof(buf), &off, 1, "abcdefg", 7), -ENOSPC);
    ck_assert_uint_eq(off, 0);
    ck_assert_int_eq(st_tlv_put_varint(buf, 3, &off, 1, 64), -ENOSPC);
    ck_assert_int_eq(st_tlv_put_varint(buf, 4, &off, 1, 64), 0);
    ck_assert_uint_eq(off, 4); /* type, length, 2-byte varint */
}
END_TEST

static Suite *capsule_suite(void)
{
    Suite *s = suite_create("capsule");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_parse_simple);
    tcase_add_test(tc, test_parse_needs_more);
    tcase_add_test(tc, test_parse_too_long);
    tcase_add_test(tc, test_unknown_type_parsed);
    tcase_add_test(tc, test_encode_header_errors);
    tcase_add_test(tc, test_tlv_round_trip);
    tcase_add_test(tc, test_tlv_truncated);
    tcase_add_test(tc, test_tlv_put_nospace);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(capsule_suite());
}
