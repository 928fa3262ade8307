/* IPv4/ICMP/UDP packet helpers: checksums, parsing, ICMP errors, UDP packets. */
#include "st_ipv4.h"

#include "st_check.h"
#include <errno.h>
#include <string.h>

static const uint8_t CLIENT[4] = {192, 0, 2, 10};
static const uint8_t SERVER[4] = {198, 51, 100, 7};
static const uint8_t GW[4] = {203, 0, 113, 1};

/* A second checksum, written differently: native 16-bit loads (the sum is byte-order
 * independent, RFC 1071 2(B)), an odd byte padded with a zero byte after it in memory. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
    uint32_t acc = 0;
    uint16_t w;
    for (; len >= 2; p += 2, len -= 2) {
        memcpy(&w, p, 2);
        acc += w;
        acc = (acc & 0xffff) + (acc >> 16);
    }
    if (len) {
        uint8_t last[2] = {p[0], 0};
        memcpy(&w, last, 2);
        acc += w;
        acc = (acc & 0xffff) + (acc >> 16);
    }
    return (uint16_t)~acc;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)(p[0] << 8 | p[1]);
}

/* An IPv4 packet (IHL 5, DF set) around l4, built without the module. */
static size_t build_ip(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
                       const uint8_t *l4, size_t l4len, uint8_t ttl)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (unsigned)(20 + l4len));
    put16(p + 4, 0x1234);
    p[6] = 0x40;
    p[8] = ttl;
    p[9] = proto;
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    uint16_t c = ref_csum(p, 20);
    memcpy(p + 10, &c, 2);
    if (l4len)
        memmove(p + 20, l4, l4len);
    return 20 + l4len;
}

/* An ICMP message (type, code, id, seq, data), checksummed. */
static size_t build_icmp(uint8_t *m, uint8_t type, uint8_t code, unsigned id, unsigned seq,
                         const uint8_t *data, size_t dlen)
{
    m[0] = type;
    m[1] = code;
    m[2] = m[3] = 0;
    put16(m + 4, id);
    put16(m + 6, seq);
    if (dlen)
        memmove(m + 8, data, dlen);
    uint16_t c = ref_csum(m, 8 + dlen);
    memcpy(m + 2, &c, 2);
    return 8 + dlen;
}

static size_t build_echo(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint8_t type,
                         unsigned id, unsigned seq, size_t dlen)
{
    uint8_t m[2048], data[2048];
    for (size_t i = 0; i < dlen; i++)
        data[i] = (uint8_t)(i + 1);
    size_t n = build_icmp(m, type, 0, id, seq, data, dlen);
    return build_ip(p, src, dst, 1, m, n, 64);
}

static size_t build_udp(uint8_t *p, size_t dlen)
{
    uint8_t u[2048];
    put16(u, 40000);
    put16(u + 2, 53);
    put16(u + 4, (unsigned)(8 + dlen));
    put16(u + 6, 0); /* no UDP checksum: the helpers under test never look at it */
    for (size_t i = 0; i < dlen; i++)
        u[8 + i] = (uint8_t)(0xa0 + i);
    return build_ip(p, CLIENT, SERVER, 17, u, 8 + dlen, 64);
}

static void refix_ip(uint8_t *p)
{
    p[10] = p[11] = 0;
    uint16_t c = ref_csum(p, (size_t)(p[0] & 15) * 4);
    memcpy(p + 10, &c, 2);
}

START_TEST(test_csum_known_answers)
{
    /* RFC 1071 3: the one's complement sum of these bytes is ddf2, the checksum 220d */
    static const uint8_t rfc1071[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    uint16_t c = st_ipv4_csum(rfc1071, sizeof(rfc1071));
    uint8_t b[2];
    memcpy(b, &c, 2);
    ck_assert_uint_eq(b[0], 0x22);
    ck_assert_uint_eq(b[1], 0x0d);

    /* The classic header 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7, with the
     * addresses moved to 192.0.2.1 -> 192.0.2.199: by hand, the words sum to 0x24a4c, folded
     * 0x4a4e, complemented 0xb5b1. */
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 192,  0,    2,    1,    192,  0,    2,    199};
    c = st_ipv4_csum(h, sizeof(h));
    memcpy(h + 10, &c, 2);
    ck_assert_uint_eq(h[10], 0xb5);
    ck_assert_uint_eq(h[11], 0xb1);
    ck_assert_uint_eq(st_ipv4_csum(h, sizeof(h)), 0); /* a correct header sums to 0 */
    ck_assert(st_ipv4_csum_ok(h));
    h[15] ^= 1;
    ck_assert(!st_ipv4_csum_ok(h));
    h[15] ^= 1;
    h[10] = h[11] = 0;
    st_ipv4_fix_csum(h);
    ck_assert_uint_eq(get16(h + 10), 0xb5b1);

    /* odd lengths pad with a zero byte; nothing at all sums to 0 */
    static const uint8_t one[] = {0x01};
    c = st_ipv4_csum(one, 1);
    memcpy(b, &c, 2);
    ck_assert_uint_eq(get16(b), 0xfeff);
    c = st_ipv4_csum(one, 0);
    ck_assert_uint_eq(c, 0xffff);
}
END_TEST

START_TEST(test_csum_matches_reference)
{
    static uint8_t buf[ST_IPV4_MAX];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245 + 12345;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t len = 0; len < 300; len++)
        ck_assert_uint_eq(st_ipv4_csum(buf, len), ref_csum(buf, len));
    for (size_t off = 0; off < 4; off++) /* unaligned starts */
        ck_assert_uint_eq(st_ipv4_csum(buf + off, 1001), ref_csum(buf + off, 1001));
    ck_assert_uint_eq(st_ipv4_csum(buf, sizeof(buf)), ref_csum(buf, sizeof(buf)));
    memset(buf, 0xff, sizeof(buf)); /* the largest sums: carries must fold */
    ck_assert_uint_eq(st_ipv4_csum(buf, sizeof(buf)), ref_csum(buf, sizeof(buf)));
    ck_assert_uint_eq(st_ipv4_csum(buf, sizeof(buf) - 1), ref_csum(buf, sizeof(buf) - 1));
}
END_TEST

START_TEST(test_parse_ok)
{
    uint8_t p[256];
    struct st_ipv4_info ip;
    size_t n = build_echo(p, CLIENT, SERVER, 8, 0x4242, 7, 32);

    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_mem_eq(ip.src, CLIENT, 4);
    ck_assert_mem_eq(ip.dst, SERVER, 4);
    ck_assert_uint_eq(ip.proto, 1);
    ck_assert_uint_eq(ip.ttl, 64);
    ck_assert_uint_eq(ip.hlen, 20);
    ck_assert_uint_eq(ip.total, n);
    ck_assert_ptr_eq(ip.l4, p + 20);
    ck_assert_uint_eq(ip.l4_len, 40);

    /* trailing bytes past the total length (e.g. link padding) are ignored */
    ck_assert_int_eq(st_ipv4_parse(p, n + 10, &ip), 0);
    ck_assert_uint_eq(ip.total, n);
    ck_assert_uint_eq(ip.l4_len, 40);

    /* options: IHL 6 */
    memmove(p + 24, p + 20, n - 20);
    memset(p + 20, 1, 4); /* four NOPs */
    p[0] = 0x46;
    put16(p + 2, (unsigned)(n + 4));
    refix_ip(p);
    ck_assert_int_eq(st_ipv4_parse(p, n + 4, &ip), 0);
    ck_assert_uint_eq(ip.hlen, 24);
    ck_assert_ptr_eq(ip.l4, p + 24);
    ck_assert_uint_eq(ip.l4_len, 40);
    ck_assert(st_ipv4_csum_ok(p));

    /* a header alone (total == IHL*4) is a valid, empty packet */
    n = build_ip(p, CLIENT, SERVER, 253, NULL, 0, 1);
    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_uint_eq(ip.l4_len, 0);
}
END_TEST

START_TEST(test_parse_errors)
{
    uint8_t p[256], q[256];
    struct st_ipv4_info ip;
    size_t n = build_echo(p, CLIENT, SERVER, 8, 1, 1, 16);

    for (size_t cut = 0; cut < n; cut++) /* total > len, or not even a header */
        ck_assert_int_eq(st_ipv4_parse(p, cut, &ip), -EBADMSG);

    memcpy(q, p, n);
    q[0] = 0x65; /* version 6 */
    ck_assert_int_eq(st_ipv4_parse(q, n, &ip), -EBADMSG);
    q[0] = 0x44; /* IHL 4 */
    ck_assert_int_eq(st_ipv4_parse(q, n, &ip), -EBADMSG);
    q[0] = 0x40; /* IHL 0 */
    ck_assert_int_eq(st_ipv4_parse(q, n, &ip), -EBADMSG);
    q[0] = 0x4f; /* IHL 15: 60 bytes of header, more than the total of 44 */
    ck_assert_int_eq(st_ipv4_parse(q, n, &ip), -EBADMSG);
    ck_assert_int_eq(st_ipv4_parse(q, sizeof(q), &ip), -EBADMSG);

    memcpy(q, p, n);
    put16(q + 2, 19); /* total shorter than the header */
    ck_assert_int_eq(st_ipv4_parse(q, n, &ip), -EBADMSG);
    put16(q + 2, (unsigned)n + 1); /* total one past the buffer */
    ck_assert_int_eq(st_ipv4_parse(q, n, &ip), -EBADMSG);

    /* fragments: MF, an offset, both; DF alone is fine */
    static const unsigned frag[] = {0x2000, 0x0001, 0x2001, 0x1fff, 0x6000};
    for (size_t i = 0; i < sizeof(frag) / sizeof(frag[0]); i++) {
        memcpy(q, p, n);
        put16(q + 6, frag[i]);
        ip.proto = 0;
        ck_assert_int_eq(st_ipv4_parse(q, n, &ip), -EPROTO);
        ck_assert_uint_eq(ip.proto, 1); /* filled all the same */
    }
    put16(q + 6, 0x4000);
    ck_assert_int_eq(st_ipv4_parse(q, n, &ip), 0);
    put16(q + 6, 0x0000);
    ck_assert_int_eq(st_ipv4_parse(q, n, &ip), 0);
}
END_TEST

START_TEST(test_echo_parse)
{
    uint8_t p[256];
    struct st_ipv4_info ip;
    struct st_icmp_echo e;

    size_t n = build_echo(p, CLIENT, SERVER, 8, 0xbeef, 0x0102, 0);
    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_int_eq(st_icmp_echo_parse(&ip, &e), 0);
    ck_assert_uint_eq(e.type, ST_ICMP_ECHO);
    ck_assert_uint_eq(e.id, 0xbeef);
    ck_assert_uint_eq(e.seq, 0x0102);
    ck_assert(st_icmp_csum_ok(p));

    n = build_echo(p, SERVER, CLIENT, 0, 1, 65535, 56);
    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_int_eq(st_icmp_echo_parse(&ip, &e), 0);
    ck_assert_uint_eq(e.type, ST_ICMP_ECHO_REPLY);
    ck_assert_uint_eq(e.id, 1);
    ck_assert_uint_eq(e.seq, 65535);

    p[21] = 1; /* code 1 */
    ck_assert_int_eq(st_icmp_echo_parse(&ip, &e), -EBADMSG);
    p[21] = 0;
    p[20] = 13; /* timestamp, not echo */
    ck_assert_int_eq(st_icmp_echo_parse(&ip, &e), -EBADMSG);
    p[20] = 3;
    ck_assert_int_eq(st_icmp_echo_parse(&ip, &e), -EBADMSG);
    p[20] = 0;
    ip.proto = 17;
    ck_assert_int_eq(st_icmp_echo_parse(&ip, &e), -EBADMSG);

    /* an ICMP message shorter than its 8-byte header */
    for (size_t l4 = 0; l4 < 8; l4++) {
        n = build_ip(p, CLIENT, SERVER, 1, (const uint8_t *)"\x08\0\0\0\0\0\0", l4, 64);
        ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
        ck_assert_int_eq(st_icmp_echo_parse(&ip, &e), -EBADMSG);
    }
}
END_TEST

/* An ICMP error from GW to CLIENT quoting orig[0..qlen) as is. */
static size_t build_error(uint8_t *p, uint8_t type, uint8_t code, const uint8_t *orig, size_t qlen)
{
    uint8_t m[2048];
    size_t n = build_icmp(m, type, code, 0, 0, orig, qlen);
    return build_ip(p, GW, CLIENT, 1, m, n, 255);
}

START_TEST(test_error_parse)
{
    uint8_t orig[256], p[512];
    struct st_ipv4_info ip, in;
    uint8_t type, code;
    size_t on = build_udp(orig, 100); /* total 128 */

    /* the whole original quoted */
    size_t n = build_error(p, 3, 3, orig, on);
    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), 0);
    ck_assert_uint_eq(type, 3);
    ck_assert_uint_eq(code, 3);
    ck_assert_mem_eq(in.src, CLIENT, 4);
    ck_assert_mem_eq(in.dst, SERVER, 4);
    ck_assert_uint_eq(in.proto, 17);
    ck_assert_uint_eq(in.hlen, 20);
    ck_assert_uint_eq(in.total, on);
    ck_assert_ptr_eq(in.l4, p + 48);
    ck_assert_uint_eq(in.l4_len, 108);
    ck_assert_uint_eq(get16(in.l4), 40000);

    /* RFC 792: header + 8 bytes; the quoted total still says 128 */
    n = build_error(p, 11, 0, orig, 28);
    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), 0);
    ck_assert_uint_eq(type, 11);
    ck_assert_uint_eq(in.total, on);
    ck_assert_uint_eq(in.l4_len, 8);
    ck_assert_uint_eq(get16(in.l4 + 2), 53);

    /* only the header, then less than a header */
    for (size_t q = 20; q > 0; q--) {
        n = build_error(p, 12, 0, orig, q);
        ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
        ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), q == 20 ? 0 : -EBADMSG);
        if (q == 20)
            ck_assert_uint_eq(in.l4_len, 0);
    }
    n = build_error(p, 3, 1, orig, 0);
    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -EBADMSG);

    /* a quoted header that is not IPv4, has IHL < 5, claims options not present, or a total
     * below its own header */
    uint8_t bad[64];
    memcpy(bad, orig, 28);
    bad[0] = 0x65;
    n = build_error(p, 3, 1, bad, 28);
    st_ipv4_parse(p, n, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -EBADMSG);
    bad[0] = 0x44;
    n = build_error(p, 3, 1, bad, 28);
    st_ipv4_parse(p, n, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -EBADMSG);
    bad[0] = 0x48; /* 32-byte header, 28 bytes quoted */
    n = build_error(p, 3, 1, bad, 28);
    st_ipv4_parse(p, n, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -EBADMSG);
    bad[0] = 0x45;
    put16(bad + 2, 12);
    n = build_error(p, 3, 1, bad, 28);
    st_ipv4_parse(p, n, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -EBADMSG);

    /* a quoted first fragment is fine */
    memcpy(bad, orig, 28);
    put16(bad + 6, 0x2000);
    n = build_error(p, 3, 4, bad, 28);
    st_ipv4_parse(p, n, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), 0);
    ck_assert_uint_eq(code, 4);

    /* an error type whose ICMP header is cut short */
    for (size_t l4 = 1; l4 < 8; l4++) {
        n = build_ip(p, GW, CLIENT, 1, (const uint8_t *)"\x03\x01\0\0\0\0\0", l4, 64);
        ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
        ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -EBADMSG);
    }
    n = build_ip(p, GW, CLIENT, 1, NULL, 0, 64);
    st_ipv4_parse(p, n, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -EBADMSG);

    /* not errors: echo, redirect, UDP */
    n = build_echo(p, SERVER, CLIENT, 0, 1, 1, 28);
    st_ipv4_parse(p, n, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -ENOENT);
    n = build_error(p, 5, 1, orig, 28);
    st_ipv4_parse(p, n, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -ENOENT);
    st_ipv4_parse(orig, on, &ip);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), -ENOENT);
}
END_TEST

START_TEST(test_set_addr_and_ttl)
{
    uint8_t p[256];
    struct st_ipv4_info ip;
    size_t n = build_echo(p, CLIENT, SERVER, 8, 9, 9, 10);
    static const uint8_t vip[4] = {100, 64, 0, 5}, inside[4] = {198, 18, 0, 9};

    st_ipv4_set_src(p, vip);
    ck_assert(st_ipv4_csum_ok(p));
    st_ipv4_set_dst(p, inside);
    ck_assert(st_ipv4_csum_ok(p));
    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_mem_eq(ip.src, vip, 4);
    ck_assert_mem_eq(ip.dst, inside, 4);
    ck_assert(st_icmp_csum_ok(p)); /* ICMP has no pseudo-header */
    uint8_t want[20];
    memcpy(want, p, 20);
    refix_ip(want);
    ck_assert_mem_eq(p, want, 20);

    ck_assert_int_eq(st_ipv4_dec_ttl(p), 63);
    ck_assert_uint_eq(p[8], 63);
    ck_assert(st_ipv4_csum_ok(p));
    p[8] = 2;
    st_ipv4_fix_csum(p);
    ck_assert_int_eq(st_ipv4_dec_ttl(p), 1);
    ck_assert(st_ipv4_csum_ok(p));
    memcpy(want, p, 20);
    ck_assert_int_eq(st_ipv4_dec_ttl(p), -ETIMEDOUT);
    ck_assert_mem_eq(p, want, 20); /* untouched */
    p[8] = 0;
    st_ipv4_fix_csum(p);
    ck_assert_int_eq(st_ipv4_dec_ttl(p), -ETIMEDOUT);
    ck_assert_uint_eq(p[8], 0);
    p[8] = 255;
    st_ipv4_fix_csum(p);
    ck_assert_int_eq(st_ipv4_dec_ttl(p), 254);
    ck_assert(st_ipv4_csum_ok(p));
}
END_TEST

START_TEST(test_icmp_fix_csum)
{
    uint8_t orig[256], p[512];
    struct st_ipv4_info ip, in;
    uint8_t type, code;
    size_t on = build_echo(orig, CLIENT, SERVER, 8, 5, 6, 3); /* odd ICMP length: 11 */

    ck_assert(st_icmp_csum_ok(orig));
    orig[20 + 8] ^= 0x55;
    ck_assert(!st_icmp_csum_ok(orig));
    st_icmp_fix_csum(orig);
    ck_assert(st_icmp_csum_ok(orig));
    ck_assert_uint_eq(ref_csum(orig + 20, on - 20), 0);

    /* rewrite the header quoted in an error (as a NAT does), then fix both checksums */
    size_t n = build_error(p, 3, 1, orig, on);
    ck_assert_int_eq(st_ipv4_parse(p, n, &ip), 0);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), 0);
    static const uint8_t vip[4] = {100, 64, 0, 77};
    st_ipv4_set_src(p + 28, vip); /* fixes the quoted header's own checksum... */
    ck_assert(st_ipv4_csum_ok(p + 28));
    ck_assert(st_icmp_csum_ok(p));  /* ...which keeps the quoted header's sum, so the ICMP one */
    put16(p + 28 + 20 + 4, 0x7777); /* the quoted echo id is not covered that way */
    ck_assert(!st_icmp_csum_ok(p));
    st_icmp_fix_csum(p);
    ck_assert(st_icmp_csum_ok(p));
    ck_assert(st_ipv4_csum_ok(p));
    ck_assert_uint_eq(ref_csum(p + 20, n - 20), 0);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &type, &code), 0);
    ck_assert_mem_eq(in.src, vip, 4);
    ck_assert_uint_eq(get16(in.l4 + 4), 0x7777);

    /* fewer than 4 bytes of ICMP: nothing to fill, nothing written past the packet */
    memset(p, 0xee, sizeof(p));
    n = build_ip(p, CLIENT, SERVER, 1, (const uint8_t *)"\x08\x00", 2, 64);
    st_icmp_fix_csum(p);
    ck_assert_uint_eq(p[20], 8);
    ck_assert_uint_eq(p[21], 0);
    ck_assert_uint_eq(p[22], 0xee);
    ck_assert_uint_eq(p[23], 0xee);
}
END_TEST

/* Checks a built ICMP error against orig: headers, checksums, quote of qlen bytes. */
static void check_error(const uint8_t *p, int n, const uint8_t *orig, size_t qlen, uint8_t type,
                        uint8_t code, uint8_t ttl)
{
    struct st_ipv4_info ip, in;
    uint8_t t, c;
    ck_assert_int_eq(n, (int)(28 + qlen));
    ck_assert_int_eq(st_ipv4_parse(p, (size_t)n, &ip), 0);
    ck_assert_uint_eq(p[0], 0x45);
    ck_assert_uint_eq(p[1], 0xc0);
    ck_assert_uint_eq(get16(p + 2), (unsigned)n);
    ck_assert_uint_eq(get16(p + 4), 0);
    ck_assert_uint_eq(get16(p + 6), 0); /* DF clear, not a fragment */
    ck_assert_uint_eq(ip.ttl, ttl);
    ck_assert_uint_eq(ip.proto, 1);
    ck_assert_mem_eq(ip.src, GW, 4);
    ck_assert_mem_eq(ip.dst, orig + 12, 4);
    ck_assert_uint_eq(ref_csum(p, 20), 0);
    ck_assert_uint_eq(ref_csum(p + 20, (size_t)n - 20), 0);
    ck_assert_uint_eq(p[20], type);
    ck_assert_uint_eq(p[21], code);
    ck_assert_uint_eq(get16(p + 24), 0);
    ck_assert_uint_eq(get16(p + 26), 0);
    ck_assert_mem_eq(p + 28, orig, qlen);
    ck_assert_int_eq(st_icmp_error_parse(&ip, &in, &t, &c), 0);
    ck_assert_uint_eq(t, type);
    ck_assert_uint_eq(c, code);
    ck_assert_uint_eq(in.total, get16(orig + 2));
}

START_TEST(test_unreach)
{
    static uint8_t orig[2048], p[2048];
    size_t on = build_udp(orig, 100);

    int n = st_icmp_unreach(p, sizeof(p), orig, on, GW, 3, 3, 64);
    check_error(p, n, orig, on, 3, 3, 64);
    n = st_icmp_unreach(p, sizeof(p), orig, on, GW, 3, 13, 1);
    check_error(p, n, orig, on, 3, 13, 1);
    n = st_icmp_unreach(p, sizeof(p), orig, on + 7, GW, 11, 0, 255); /* trailing junk */
    check_error(p, n, orig, on, 11, 0, 255);

    /* big originals: the error stops at 576 bytes (548 quoted, RFC 1812 4.3.2.3) */
    on = build_udp(orig, 1372);
    n = st_icmp_unreach(p, sizeof(p), orig, on, GW, 3, 1, 64);
    check_error(p, n, orig, ST_ICMP_ERROR_MAX - 28, 3, 1, 64);
    ck_assert_int_eq(n, ST_ICMP_ERROR_MAX);

    /* cap: header + 8 bytes is the least, anything more is used */
    n = st_icmp_unreach(p, 28 + 28, orig, on, GW, 3, 1, 64);
    check_error(p, n, orig, 28, 3, 1, 64);
    n = st_icmp_unreach(p, 100, orig, on, GW, 3, 1, 64);
    check_error(p, n, orig, 72, 3, 1, 64);
    ck_assert_int_eq(st_icmp_unreach(p, 28 + 27, orig, on, GW, 3, 1, 64), -ENOSPC);
    ck_assert_int_eq(st_icmp_unreach(p, 0, orig, on, GW, 3, 1, 64), -ENOSPC);

    /* an original with options and under 8 bytes of payload is quoted whole */
    uint8_t small[64];
    memset(small, 0, sizeof(small));
    size_t sn = build_ip(small, CLIENT, SERVER, 6, (const uint8_t *)"abcdefg", 7, 9);
    memmove(small + 24, small + 20, 7);
    memset(small + 20, 1, 4);
    small[0] = 0x46;
    put16(small + 2, (unsigned)(sn + 4));
    refix_ip(small);
    sn += 4;
    ck_assert_int_eq(st_icmp_unreach(p, 28 + sn - 1, small, sn, GW, 3, 2, 64), -ENOSPC);
    n = st_icmp_unreach(p, 28 + sn, small, sn, GW, 3, 2, 64);
    check_error(p, n, small, sn, 3, 2, 64);

    /* ICMP queries and replies are answered; a first fragment too */
    static const uint8_t ok_types[] = {0, 8, 13, 14, 15, 16, 17, 18};
    for (size_t i = 0; i < sizeof(ok_types); i++) {
        on = build_echo(orig, CLIENT, SERVER, ok_types[i], 1, 2, 20);
        n = st_icmp_unreach(p, sizeof(p), orig, on, GW, 3, 1, 64);
        check_error(p, n, orig, on, 3, 1, 64);
    }
    on = build_udp(orig, 40);
    put16(orig + 6, 0x2000);
    refix_ip(orig);
    n = st_icmp_unreach(p, sizeof(p), orig, on, GW, 11, 1, 64);
    check_error(p, n, orig, on, 11, 1, 64);
}
END_TEST

START_TEST(test_unreach_refuses)
{
    uint8_t orig[512], err[512], p[1024];
    size_t on = build_udp(orig, 20);

    /* never an ICMP error about an ICMP error, or about unknown ICMP types */
    int en = st_icmp_unreach(err, sizeof(err), orig, on, GW, 3, 1, 64);
    ck_assert_int_gt(en, 0);
    ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), err, (size_t)en, SERVER, 3, 1, 64), -EINVAL);
    static const uint8_t no_types[] = {3, 4, 5, 9, 10, 11, 12, 19, 42, 255};
    for (size_t i = 0; i < sizeof(no_types); i++) {
        size_t n = build_echo(err, CLIENT, SERVER, no_types[i], 1, 2, 28);
        ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), err, n, GW, 3, 1, 64), -EINVAL);
    }
    size_t n = build_ip(err, CLIENT, SERVER, 1, NULL, 0, 64); /* ICMP without a type */
    ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), err, n, GW, 3, 1, 64), -EINVAL);

    /* only error types are built */
    ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), orig, on, GW, 8, 0, 64), -EINVAL);
    ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), orig, on, GW, 5, 0, 64), -EINVAL);

    /* not about a non-first fragment */
    memcpy(err, orig, on);
    put16(err + 6, 0x0010);
    refix_ip(err);
    ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), err, on, GW, 3, 1, 64), -EINVAL);

    /* not to a source that is no single host, nor about a multicast or broadcast destination,
     * nor from such an address */
    static const uint8_t not_host[][4] = {
        {0, 0, 0, 0}, {127, 0, 0, 1}, {233, 252, 0, 1}, {240, 0, 0, 1}, {255, 255, 255, 255}};
    for (size_t i = 0; i < sizeof(not_host) / 4; i++) {
        memcpy(err, orig, on);
        memcpy(err + 12, not_host[i], 4);
        refix_ip(err);
        ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), err, on, GW, 3, 1, 64), -EINVAL);
        ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), orig, on, not_host[i], 3, 1, 64), -EINVAL);
    }
    static const uint8_t mcast[][4] = {{233, 252, 0, 1}, {255, 255, 255, 255}};
    for (size_t i = 0; i < sizeof(mcast) / 4; i++) {
        memcpy(err, orig, on);
        memcpy(err + 16, mcast[i], 4);
        refix_ip(err);
        ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), err, on, GW, 3, 1, 64), -EINVAL);
    }

    /* not IPv4 at all */
    memcpy(err, orig, on);
    err[0] = 0x60;
    ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), err, on, GW, 3, 1, 64), -EBADMSG);
    ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), orig, on - 1, GW, 3, 1, 64), -EBADMSG);
    ck_assert_int_eq(st_icmp_unreach(p, sizeof(p), orig, 0, GW, 3, 1, 64), -EBADMSG);
}
END_TEST

/* The UDP checksum recomputed over pseudo-header + segment: 0 when correct. */
static uint16_t udp_verify(const uint8_t *p, size_t n)
{
    static uint8_t buf[12 + ST_IPV4_MAX];
    memcpy(buf, p + 12, 8);
    buf[8] = 0;
    buf[9] = 17;
    put16(buf + 10, (unsigned)(n - 20));
    memcpy(buf + 12, p + 20, n - 20);
    return ref_csum(buf, 12 + n - 20);
}

START_TEST(test_udp_build)
{
    static uint8_t p[ST_IPV4_MAX + 16], payload[ST_IPV4_MAX];
    struct st_ipv4_info ip;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 13 + 1);

    const size_t sizes[] = {0, 1, 2, 3, 511, 1472, ST_IPV4_MAX - 28};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int n = st_udp4_build(p, sizeof(p), SERVER, 53, CLIENT, 40000, payload, sizes[i], 63);
        ck_assert_int_eq(n, (int)(28 + sizes[i]));
        ck_assert_int_eq(st_ipv4_parse(p, (size_t)n, &ip), 0);
        ck_assert_mem_eq(ip.src, SERVER, 4);
        ck_assert_mem_eq(ip.dst, CLIENT, 4);
        ck_assert_uint_eq(ip.proto, 17);
        ck_assert_uint_eq(ip.ttl, 63);
        ck_assert_uint_eq(p[1], 0);
        ck_assert_uint_eq(get16(p + 6), 0);
        ck_assert_uint_eq(ref_csum(p, 20), 0);
        ck_assert_uint_eq(get16(p + 20), 53);
        ck_assert_uint_eq(get16(p + 22), 40000);
        ck_assert_uint_eq(get16(p + 24), 8 + sizes[i]);
        ck_assert_uint_ne(get16(p + 26), 0);
        ck_assert_uint_eq(udp_verify(p, (size_t)n), 0);
        ck_assert(sizes[i] == 0 || memcmp(p + 28, payload, sizes[i]) == 0);
    }

    /* a checksum that computes to 0 is sent as ffff: a payload word equal to the checksum of
     * the same packet with a zero word there makes the sum come out as 0 */
    uint8_t w[2] = {0, 0};
    int n = st_udp4_build(p, sizeof(p), SERVER, 53, CLIENT, 40000, w, 2, 64);
    memcpy(w, p + 26, 2);
    n = st_udp4_build(p, sizeof(p), SERVER, 53, CLIENT, 40000, w, 2, 64);
    ck_assert_int_eq(n, 30);
    ck_assert_uint_eq(get16(p + 26), 0xffff);
    ck_assert_uint_eq(udp_verify(p, (size_t)n), 0);

    /* the payload may already sit in place */
    memcpy(p + 28, "in place", 8);
    n = st_udp4_build(p, sizeof(p), CLIENT, 1, SERVER, 2, p + 28, 8, 64);
    ck_assert_int_eq(n, 36);
    ck_assert_mem_eq(p + 28, "in place", 8);
    ck_assert_uint_eq(udp_verify(p, (size_t)n), 0);

    ck_assert_int_eq(
        st_udp4_build(p, sizeof(p), CLIENT, 1, SERVER, 2, payload, ST_IPV4_MAX - 27, 64),
        -EMSGSIZE);
    ck_assert_int_eq(st_udp4_build(p, sizeof(p), CLIENT, 1, SERVER, 2, payload, SIZE_MAX - 10, 64),
                     -EMSGSIZE);
    ck_assert_int_eq(st_udp4_build(p, 28 + 9, CLIENT, 1, SERVER, 2, payload, 10, 64), -ENOSPC);
    ck_assert_int_eq(st_udp4_build(p, 27, CLIENT, 1, SERVER, 2, NULL, 0, 64), -ENOSPC);
    ck_assert_int_eq(st_udp4_build(p, 28, CLIENT, 1, SERVER, 2, NULL, 0, 64), 28);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ipv4");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_csum_known_answers);
    tcase_add_test(tc, test_csum_matches_reference);
    tcase_add_test(tc, test_parse_ok);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_echo_parse);
    tcase_add_test(tc, test_error_parse);
    tcase_add_test(tc, test_set_addr_and_ttl);
    tcase_add_test(tc, test_icmp_fix_csum);
    tcase_add_test(tc, test_unreach);
    tcase_add_test(tc, test_unreach_refuses);
    tcase_add_test(tc, test_udp_build);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
