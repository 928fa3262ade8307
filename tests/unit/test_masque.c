/* MASQUE UDP (RFC 9298): connect-udp paths and UDP payloads in DATAGRAM capsules. */
#include "st_masque.h"

#include "st_capsule.h"
#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static int parse(const char *path, int *family, uint8_t addr[16], uint16_t *port)
{
    return st_masque_udp_path_parse(path, strlen(path), family, addr, port);
}

START_TEST(test_path_parse)
{
    int fam;
    uint8_t a[16], want[16];
    uint16_t port;

    ck_assert_int_eq(parse("/.well-known/masque/udp/198.51.100.53/53/", &fam, a, &port), 0);
    ck_assert_int_eq(fam, AF_INET);
    inet_pton(AF_INET, "198.51.100.53", want);
    ck_assert_mem_eq(a, want, 4);
    ck_assert_uint_eq(port, 53);

    ck_assert_int_eq(parse("/.well-known/masque/udp/2001%3adb8%3A%3A1/65535/", &fam, a, &port), 0);
    ck_assert_int_eq(fam, AF_INET6);
    inet_pton(AF_INET6, "2001:db8::1", want);
    ck_assert_mem_eq(a, want, 16);
    ck_assert_uint_eq(port, 65535);

    /* percent-encoded IPv4 digits decode too */
    ck_assert_int_eq(parse("/.well-known/masque/udp/198%2E51.100.1/1/", &fam, a, &port), 0);
    ck_assert_uint_eq(port, 1);
}
END_TEST

START_TEST(test_path_errors)
{
    int fam;
    uint8_t a[16];
    uint16_t port;
    static const char *const bad[] = {
        "",
        "/",
        "/.well-known/masque/udp/",
        "/.well-known/masque/udp/198.51.100.53/53",     /* no trailing '/' */
        "/.well-known/masque/udp/198.51.100.53//",      /* no port */
        "/.well-known/masque/udp//53/",                 /* no host */
        "/.well-known/masque/udp/198.51.100.53/0/",     /* port 0 */
        "/.well-known/masque/udp/198.51.100.53/65536/", /* port too big */
        "/.well-known/masque/udp/198.51.100.53/+53/",
        "/.well-known/masque/udp/198.51.100.53/053053/",
        "/.well-known/masque/udp/198.51.100.53/53/x/", /* extra segment */
        "/.well-known/masque/udp/198.51.100.53/53/?a=b",
        "/.well-known/masque/udp/2001%3Gdb8%3A%3A1/53/", /* bad escape */
        "/.well-known/masque/udp/2001%3/53/",            /* truncated escape */
        "/.well-known/masque/udp/a%2Fb/53/",             /* encoded '/' */
        "/.well-known/masque/udp/a%00b/53/",             /* encoded NUL */
        "/.well-known/masque/udp/a b/53/",
        "/.well-known/masque/tcp/198.51.100.53/53/",
        "/.well-known/masque/udp/2001:db8::1/53/x", /* ends without '/' */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(parse(bad[i], &fam, a, &port) == -EINVAL, "accepted '%s'", bad[i]);
    /* a DNS name: well-formed, but nothing resolves it here */
    ck_assert_int_eq(parse("/.well-known/masque/udp/dns.corp.test/53/", &fam, a, &port),
                     -EAFNOSUPPORT);
    /* an over-long host */
    char longp[400];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp, ST_MASQUE_UDP_PREFIX, strlen(ST_MASQUE_UDP_PREFIX));
    memcpy(longp + sizeof(longp) - 5, "/53/", 5);
    ck_assert_int_eq(parse(longp, &fam, a, &port), -EINVAL);
}
END_TEST

START_TEST(test_path_round_trip)
{
    char out[128];
    uint8_t a[16], b[16];
    int fam;
    uint16_t port;

    inet_pton(AF_INET6, "2001:db8:1::53", a);
    int n = st_masque_udp_path(out, sizeof(out), AF_INET6, a, 5353);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(out, "/.well-known/masque/udp/2001%3Adb8%3A1%3A%3A53/5353/");
    ck_assert_int_eq(parse(out, &fam, b, &port), 0);
    ck_assert_mem_eq(a, b, 16);
    ck_assert_uint_eq(port, 5353);

    inet_pton(AF_INET, "203.0.113.10", a);
    ck_assert_int_eq(st_masque_udp_path(out, sizeof(out), AF_INET, a, 53),
                     (int)strlen("/.well-known/masque/udp/203.0.113.10/53/"));
    ck_assert_int_eq(st_masque_udp_path(out, 20, AF_INET, a, 53), -ENOSPC);
    ck_assert_int_eq(st_masque_udp_path(out, sizeof(out), AF_INET, a, 0), -EINVAL);
    ck_assert_int_eq(st_masque_udp_path(out, sizeof(out), 12345, a, 53), -EINVAL);
}
END_TEST

START_TEST(test_datagram_capsules)
{
    static uint8_t payload[ST_MASQUE_UDP_MAX + 1], buf[ST_MASQUE_UDP_MAX + 16];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    const size_t sizes[] = {0, 1, 62, 63, 1400, 16383, 16384, ST_MASQUE_UDP_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int n = st_masque_udp_capsule(buf, sizeof(buf), payload, sizes[i]);
        ck_assert_int_gt(n, 0);
        struct st_capsule cap;
        ck_assert_int_eq(st_capsule_parse(buf, (size_t)n, 70000, &cap), n);
        ck_assert_uint_eq(cap.type, ST_CAP_DATAGRAM);
        const uint8_t *p;
        size_t plen;
        ck_assert_int_eq(st_masque_udp_payload(cap.value, cap.len, &p, &plen), 1);
        ck_assert_uint_eq(plen, sizes[i]);
        ck_assert(plen == 0 || memcmp(p, payload, plen) == 0);
        /* every truncation of the capsule is "need more", never a wrong capsule */
        ck_assert_int_eq(st_capsule_parse(buf, (size_t)n - 1, 70000, &cap), 0);
    }
    ck_assert_int_eq(st_masque_udp_capsule(buf, sizeof(buf), payload, ST_MASQUE_UDP_MAX + 1),
                     -EMSGSIZE);
    ck_assert_int_eq(st_masque_udp_capsule(buf, 10, payload, 100), -ENOSPC);
    ck_assert_int_eq(st_masque_udp_capsule(buf, 1, payload, 0), -ENOSPC);

    /* a capsule over the receiver's limit is refused before its value arrives */
    int n = st_masque_udp_capsule(buf, sizeof(buf), payload, 2000);
    struct st_capsule cap;
    ck_assert_int_eq(st_capsule_parse(buf, 4, 1500, &cap), -EMSGSIZE);
    ck_assert_int_gt(n, 0);
}
END_TEST

START_TEST(test_payload_errors)
{
    const uint8_t *p;
    size_t plen;
    static const uint8_t ctx2[] = {0x02, 'x'};             /* another context id: drop */
    static const uint8_t ctx_big[] = {0x7f, 0xff, 'x'};    /* context 16383 */
    static const uint8_t trunc[] = {0x40};                 /* 2-byte varint cut short */
    static const uint8_t trunc8[] = {0xc0, 0, 0, 0, 0, 0}; /* 8-byte varint cut short */
    static const uint8_t long0[] = {0x40, 0x00, 'y'};      /* context 0, non-shortest form */
    ck_assert_int_eq(st_masque_udp_payload(ctx2, sizeof(ctx2), &p, &plen), 0);
    ck_assert_int_eq(st_masque_udp_payload(ctx_big, sizeof(ctx_big), &p, &plen), 0);
    ck_assert_int_eq(st_masque_udp_payload(trunc, sizeof(trunc), &p, &plen), -EBADMSG);
    ck_assert_int_eq(st_masque_udp_payload(trunc8, sizeof(trunc8), &p, &plen), -EBADMSG);
    ck_assert_int_eq(st_masque_udp_payload(trunc, 0, &p, &plen), -EBADMSG);
    ck_assert_int_eq(st_masque_udp_payload(long0, sizeof(long0), &p, &plen), 1);
    ck_assert_uint_eq(plen, 1);
    ck_assert_int_eq(p[0], 'y');
    static uint8_t huge[ST_MASQUE_UDP_MAX + 2];
    ck_assert_int_eq(st_masque_udp_payload(huge, sizeof(huge), &p, &plen), -EMSGSIZE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("masque");
    TCase *tc = tcase_create("udp");
    tcase_add_test(tc, test_path_parse);
    tcase_add_test(tc, test_path_errors);
    tcase_add_test(tc, test_path_round_trip);
    tcase_add_test(tc, test_datagram_capsules);
    tcase_add_test(tc, test_payload_errors);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
