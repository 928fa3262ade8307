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

START_TEST(test_parse_truncated_length)
{
    /* length varints of 2, 4 and 8 bytes (the last two non-shortest), cut at every byte */
    static const uint8_t in2[] = {0x00, 0x40, 0x03, 'a', 'b', 'c'};
    static const uint8_t in4[] = {0x21, 0x80, 0x00, 0x00, 0x03, 'a', 'b', 'c'};
    static const uint8_t in8[] = {0x7f, 0xff, 0xc0, 0, 0, 0, 0, 0, 0, 0x03, 'a', 'b', 'c'};
    static const struct {
        const uint8_t *in;
        size_t len;
        uint64_t type;
    } cases[] = {{in2, sizeof(in2), 0}, {in4, sizeof(in4), 0x21}, {in8, sizeof(in8), 0x3fff}};
    struct st_capsule cap;

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (size_t cut = 0; cut < cases[c].len; cut++)
            ck_assert_int_eq(st_capsule_parse(cases[c].in, cut, 100, &cap), 0);
        ck_assert_int_eq(st_capsule_parse(cases[c].in, cases[c].len, 100, &cap), (int)cases[c].len);
        ck_assert_uint_eq(cap.type, cases[c].type);
        ck_assert_uint_eq(cap.len, 3);
        ck_assert_mem_eq(cap.value, "abc", 3);
    }
    /* a 2-byte type cut after its first byte */
    ck_assert_int_eq(st_capsule_parse(in8, 1, 100, &cap), 0);
    /* the length is judged as soon as it is whole, before the value */
    ck_assert_int_eq(st_capsule_parse(in8, 10, 2, &cap), -EMSGSIZE);
    ck_assert_int_eq(st_capsule_parse(in8, 9, 2, &cap), 0);
}
END_TEST

START_TEST(test_unknown_types_as_is)
{
    static const uint64_t types[] = {0x01,       0x3f,       0x40,         0x2a00,
                                     0x3fffffff, 0x40000000, ST_VARINT_MAX};
    uint8_t in[32];
    struct st_capsule cap;

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int n = st_capsule_encode_header(in, sizeof(in), types[i], 3);
        ck_assert_int_gt(n, 0);
        memcpy(in + n, "xyz", 3);
        ck_assert_int_eq(st_capsule_parse(in, (size_t)n + 3, 3, &cap), n + 3);
        ck_assert_uint_eq(cap.type, types[i]);
        ck_assert_uint_eq(cap.len, 3);
        ck_assert_ptr_eq(cap.value, in + n);
    }
}
END_TEST

/* A reader's buffer: appends bytes, then takes out every whole capsule (values copied into
 * vals, types into types), keeping the rest for the next append. */
struct reader {
    uint8_t buf[1024];
    size_t len;
    int got;
    uint64_t types[4];
    uint8_t vals[4][400];
    size_t vlens[4];
};

static void reader_feed(struct reader *r, const uint8_t *in, size_t len)
{
    struct st_capsule cap;
    int n;

    memcpy(r->buf + r->len, in, len);
    r->len += len;
    while ((n = st_capsule_parse(r->buf, r->len, 400, &cap)) > 0) {
        ck_assert_int_lt(r->got, 4);
        r->types[r->got] = cap.type;
        memcpy(r->vals[r->got], cap.value, cap.len);
        r->vlens[r->got++] = cap.len;
        memmove(r->buf, r->buf + n, r->len - (size_t)n);
        r->len -= (size_t)n;
    }
    ck_assert_int_eq(n, 0);
}

START_TEST(test_split_across_buffers)
{
    uint8_t stream[512], a[300];
    size_t off = 0;
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)i;

    /* a DATAGRAM (1-byte type, 2-byte length), then a REGISTER (8-byte type, 1-byte length) */
    off += (size_t)st_capsule_encode_header(stream, sizeof(stream), ST_CAP_DATAGRAM, sizeof(a));
    memcpy(stream + off, a, sizeof(a));
    off += sizeof(a);
    off += (size_t)st_capsule_encode_header(stream + off, sizeof(stream) - off, ST_CAP_REGISTER, 5);
    memcpy(stream + off, "hello", 5);
    off += 5;
    ck_assert_uint_eq(off, 3 + 300 + 9 + 5);

    for (size_t split = 0; split <= off; split++) {
        static struct reader r;
        memset(&r, 0, sizeof(r));
        reader_feed(&r, stream, split);
        ck_assert_int_eq(r.got, split == off ? 2 : split >= 303 ? 1 : 0);
        reader_feed(&r, stream + split, off - split);
        ck_assert_int_eq(r.got, 2);
        ck_assert_uint_eq(r.len, 0);
        ck_assert_uint_eq(r.types[0], ST_CAP_DATAGRAM);
        ck_assert_uint_eq(r.vlens[0], sizeof(a));
        ck_assert_mem_eq(r.vals[0], a, sizeof(a));
        ck_assert_uint_eq(r.types[1], ST_CAP_REGISTER);
        ck_assert_uint_eq(r.vlens[1], 5);
        ck_assert_mem_eq(r.vals[1], "hello", 5);
    }
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
    tcase_add_test(tc, test_parse_truncated_length);
    tcase_add_test(tc, test_unknown_types_as_is);
    tcase_add_test(tc, test_split_across_buffers);
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
