/* IPv6/ICMPv6 packet helpers: parsing with extension headers, checksums, ICMPv6 errors. */
#include "st_ipv6.h"

#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* An ICMPv6 echo request 2001:db8:113::10 -> 2001:db8:51::10, id 0x1234 seq 1, "abcdefgh",
 * built and checksummed by another implementation (tests/integration/masque.py). */
static const uint8_t ECHO[56] = {
    0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x3a, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x13,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8,
    0x00, 0x51, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x80, 0x00,
    0x7e, 0xf4, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68};

static void a6(uint8_t out[16], const char *s)
{
    ck_assert_int_eq(inet_pton(AF_INET6, s, out), 1);
}

START_TEST(test_parse_echo)
{
    struct st_ipv6_info ip;
    struct st_icmp6_echo e;
    uint8_t a[16];
    ck_assert_int_eq(st_ipv6_parse(ECHO, sizeof(ECHO), &ip), 0);
    ck_assert_uint_eq(ip.proto, ST_IPPROTO_ICMPV6);
    ck_assert_uint_eq(ip.hlim, 64);
    ck_assert_uint_eq(ip.hlen, 40);
    ck_assert_uint_eq(ip.total, 56);
    ck_assert_uint_eq(ip.l4_len, 16);
    ck_assert(!ip.frag && ip.first);
    a6(a, "2001:db8:113::10");
    ck_assert(memcmp(ip.src, a, 16) == 0);
    ck_assert(st_icmp6_csum_ok(ECHO, &ip));
    ck_assert_int_eq(st_icmp6_echo_parse(&ip, &e), 0);
    ck_assert_uint_eq(e.type, ST_ICMP6_ECHO);
    ck_assert_uint_eq(e.id, 0x1234);
    ck_assert_uint_eq(e.seq, 1);
    /* trailing bytes past the payload length are ignored */
    uint8_t big[64] = {0};
    memcpy(big, ECHO, sizeof(ECHO));
    ck_assert_int_eq(st_ipv6_parse(big, sizeof(big), &ip), 0);
    ck_assert_uint_eq(ip.total, 56);
}
END_TEST

START_TEST(test_csum_rewrite)
{
    uint8_t p[56], a[16];
    struct st_ipv6_info ip;
    memcpy(p, ECHO, sizeof(p));
    ck_assert_int_eq(st_ipv6_parse(p, sizeof(p), &ip), 0);
    p[42] = p[43] = 0;
    st_icmp6_fix_csum(p, &ip);
    ck_assert(memcmp(p, ECHO, sizeof(p)) == 0); /* the known-good checksum 0x7ef4 */
    a6(a, "2001:db8:64::7");
    st_ipv6_set_src(p, a);
    ck_assert(!st_icmp6_csum_ok(p, &ip));
    st_icmp6_fix_csum(p, &ip);
    ck_assert(st_icmp6_csum_ok(p, &ip));
    ck_assert_int_eq(st_ipv6_dec_hlim(p), 63);
    ck_assert(st_icmp6_csum_ok(p, &ip)); /* the hop limit is not in the checksum */
    p[7] = 1;
    ck_assert_int_eq(st_ipv6_dec_hlim(p), -ETIMEDOUT);
    ck_assert_uint_eq(p[7], 1);
}
END_TEST

/* ECHO with a hop-by-hop header (8 bytes) and a fragment header in front of the ICMPv6. */
static size_t with_ext(uint8_t *p, uint16_t frag)
{
    memcpy(p, ECHO, 40);
    p[5] = 16 + 16;
    p[6] = 0; /* hop-by-hop */
    memset(p + 40, 0, 16);
    p[40] = 44; /* next: fragment */
    p[41] = 0;  /* 8 bytes */
    p[42] = 1;  /* PadN */
    p[43] = 4;
    p[48] = ST_IPPROTO_ICMPV6;
    p[50] = (uint8_t)(frag >> 8);
    p[51] = (uint8_t)frag;
    memcpy(p + 56, ECHO + 40, 16);
    return 72;
}

START_TEST(test_ext_headers)
{
    uint8_t p[80];
    struct st_ipv6_info ip;
    size_t n = with_ext(p, 0); /* an atomic fragment: whole */
    ck_assert_int_eq(st_ipv6_parse(p, n, &ip), 0);
    ck_assert_uint_eq(ip.proto, ST_IPPROTO_ICMPV6);
    ck_assert_uint_eq(ip.hlen, 56);
    ck_assert_uint_eq(ip.l4_len, 16);
    ck_assert(st_icmp6_csum_ok(p, &ip));
    n = with_ext(p, 1); /* M set */
    ck_assert_int_eq(st_ipv6_parse(p, n, &ip), -EPROTO);
    ck_assert(ip.frag && ip.first);
    n = with_ext(p, 0x10); /* offset 16 */
    ck_assert_int_eq(st_ipv6_parse(p, n, &ip), -EPROTO);
    ck_assert(ip.frag && !ip.first);
    /* an extension header running past the payload */
    n = with_ext(p, 0);
    p[41] = 3; /* hop-by-hop of 32 bytes */
    ck_assert_int_eq(st_ipv6_parse(p, n, &ip), -EBADMSG);
    /* a chain of ST_IPV6_MAX_EXT + 1 destination options headers */
    uint8_t c[40 + 8 * 10] = {0};
    memcpy(c, ECHO, 40);
    c[5] = 8 * 10;
    c[6] = 60;
    for (int i = 0; i < 10; i++)
        c[40 + 8 * i] = i < 9 ? 60 : ST_IPPROTO_NONE;
    ck_assert_int_eq(st_ipv6_parse(c, sizeof(c), &ip), -EBADMSG);
}
END_TEST

START_TEST(test_bad_packets)
{
    uint8_t p[56];
    struct st_ipv6_info ip;
    for (size_t n = 0; n < 40; n++)
        ck_assert_int_eq(st_ipv6_parse(ECHO, n, &ip), -EBADMSG);
    ck_assert_int_eq(st_ipv6_parse(ECHO, 55, &ip), -EBADMSG); /* truncated payload */
    memcpy(p, ECHO, sizeof(p));
    p[0] = 0x45;
    ck_assert_int_eq(st_ipv6_parse(p, sizeof(p), &ip), -EBADMSG);
    memcpy(p, ECHO, sizeof(p));
    p[4] = p[5] = 0; /* jumbogram */
    ck_assert_int_eq(st_ipv6_parse(p, sizeof(p), &ip), -EBADMSG);
    /* an echo shorter than 8 bytes, or with a code */
    struct st_icmp6_echo e;
    memcpy(p, ECHO, sizeof(p));
    p[5] = 6;
    ck_assert_int_eq(st_ipv6_parse(p, 46, &ip), 0);
    ck_assert_int_eq(st_icmp6_echo_parse(&ip, &e), -EBADMSG);
    memcpy(p, ECHO, sizeof(p));
    p[41] = 1;
    ck_assert_int_eq(st_ipv6_parse(p, sizeof(p), &ip), 0);
    ck_assert_int_eq(st_icmp6_echo_parse(&ip, &e), -EBADMSG);
    /* not an error */
    struct st_ipv6_info in;
    uint8_t type, code;
    uint32_t param;
    ck_assert_int_eq(st_ipv6_parse(ECHO, sizeof(ECHO), &ip), 0);
    ck_assert_int_eq(st_icmp6_error_parse(&ip, &in, &type, &code, &param), -ENOENT);
}
END_TEST

START_TEST(test_error_build)
{
    uint8_t out[ST_ICMP6_ERROR_MAX], from[16];
    struct st_ipv6_info e, in;
    uint8_t type, code;
    uint32_t param;
    a6(from, "2001:db8:51::1");
    int n =
        st_icmp6_error(out, sizeof(out), ECHO, sizeof(ECHO), from, ST_ICMP6_TOO_BIG, 0, 1280, 64);
    ck_assert_int_eq(n, 48 + 56);
    ck_assert_int_eq(st_ipv6_parse(out, (size_t)n, &e), 0);
    ck_assert(st_icmp6_csum_ok(out, &e));
    ck_assert_uint_eq(out[42] << 8 | out[43], 0x0198); /* checksum from masque.py's icmp6_csum */
    ck_assert(memcmp(e.src, from, 16) == 0);
    ck_assert(memcmp(e.dst, ECHO + 8, 16) == 0);
    ck_assert_int_eq(st_icmp6_error_parse(&e, &in, &type, &code, &param), 0);
    ck_assert_uint_eq(type, ST_ICMP6_TOO_BIG);
    ck_assert_uint_eq(param, 1280);
    ck_assert(memcmp(out + 48, ECHO, sizeof(ECHO)) == 0);
    ck_assert_uint_eq(in.proto, ST_IPPROTO_ICMPV6);

    /* a big original is quoted up to 1280 bytes in all; the quote's length field stays */
    static uint8_t big[40 + 3000];
    memcpy(big, ECHO, 40);
    big[4] = 3000 >> 8;
    big[5] = 3000 & 0xff;
    big[6] = 17;
    n = st_icmp6_error(out, sizeof(out), big, sizeof(big), from, ST_ICMP6_UNREACH,
                       ST_ICMP6_PORT_UNREACH, 0, 64);
    ck_assert_int_eq(n, ST_ICMP6_ERROR_MAX);
    ck_assert_int_eq(st_ipv6_parse(out, (size_t)n, &e), 0);
    ck_assert(st_icmp6_csum_ok(out, &e));
    ck_assert_int_eq(st_icmp6_error_parse(&e, &in, &type, &code, &param), 0);
    ck_assert_uint_eq(code, ST_ICMP6_PORT_UNREACH);
    ck_assert_uint_eq(in.total, 3040);
    ck_assert_uint_eq(in.l4_len, ST_ICMP6_ERROR_MAX - 48 - 40);
    /* a small cap */
    ck_assert_int_eq(st_icmp6_error(out, 95, ECHO, sizeof(ECHO), from, 1, 0, 0, 64), -ENOSPC);
    ck_assert_int_eq(st_icmp6_error(out, 100, ECHO, sizeof(ECHO), from, 1, 0, 0, 64), 100);
}
END_TEST

START_TEST(test_error_refused)
{
    uint8_t out[ST_ICMP6_ERROR_MAX], from[16], p[104], err[104];
    a6(from, "2001:db8:51::1");
    ck_assert_int_eq(st_icmp6_error(out, sizeof(out), ECHO, sizeof(ECHO), from, 5, 0, 0, 64),
                     -EINVAL);
    ck_assert_int_eq(st_icmp6_error(out, sizeof(out), ECHO, 30, from, 1, 0, 0, 64), -EBADMSG);
    /* no error about an error */
    int n = st_icmp6_error(err, sizeof(err), ECHO, sizeof(ECHO), from, 1, 4, 0, 64);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(st_icmp6_error(out, sizeof(out), err, (size_t)n, from, 1, 0, 0, 64), -EINVAL);
    /* to a multicast destination: only packet too big */
    memcpy(p, ECHO, sizeof(ECHO));
    p[24] = 0xff;
    ck_assert_int_eq(st_icmp6_error(out, sizeof(out), p, sizeof(ECHO), from, 1, 0, 0, 64), -EINVAL);
    ck_assert_int_gt(st_icmp6_error(out, sizeof(out), p, sizeof(ECHO), from, 2, 0, 1280, 64), 0);
    /* from ::, ::1 or multicast, or to such a source */
    static const uint8_t any[16], one[16] = {[15] = 1};
    ck_assert_int_eq(st_icmp6_error(out, sizeof(out), ECHO, sizeof(ECHO), any, 1, 0, 0, 64),
                     -EINVAL);
    ck_assert_int_eq(st_icmp6_error(out, sizeof(out), ECHO, sizeof(ECHO), one, 1, 0, 0, 64),
                     -EINVAL);
    memcpy(p, ECHO, sizeof(ECHO));
    memset(p + 8, 0, 16);
    ck_assert_int_eq(st_icmp6_error(out, sizeof(out), p, sizeof(ECHO), from, 1, 0, 0, 64), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ipv6");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_echo);
    tcase_add_test(tc, test_csum_rewrite);
    tcase_add_test(tc, test_ext_headers);
    tcase_add_test(tc, test_bad_packets);
    tcase_add_test(tc, test_error_build);
    tcase_add_test(tc, test_error_refused);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
