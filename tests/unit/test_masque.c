/* MASQUE UDP (RFC 9298) and IP (RFC 9484): connect-udp and connect-ip paths, UDP payloads and
 * IP packets in DATAGRAM capsules. */
#include "st_masque.h"

#include "st_capsule.h"
#include "st_check.h"
#include "st_ipv4.h"
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

static int ip_parse(const char *path, int *family, uint8_t addr[16], int *prefix, int *proto)
{
    return st_masque_ip_path_parse(path, strlen(path), family, addr, prefix, proto);
}

START_TEST(test_ip_path_parse)
{
    int fam, prefix, proto;
    uint8_t a[16], want[16];

    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/198.51.100.7/1/", &fam, a, &prefix, &proto),
                     0);
    ck_assert_int_eq(fam, AF_INET);
    inet_pton(AF_INET, "198.51.100.7", want);
    ck_assert_mem_eq(a, want, 4);
    ck_assert_int_eq(prefix, 32);
    ck_assert_int_eq(proto, 1);

    ck_assert_int_eq(
        ip_parse("/.well-known/masque/ip/2001%3Adb8%3a%3A7/58/", &fam, a, &prefix, &proto), 0);
    ck_assert_int_eq(fam, AF_INET6);
    inet_pton(AF_INET6, "2001:db8::7", want);
    ck_assert_mem_eq(a, want, 16);
    ck_assert_int_eq(prefix, 128);
    ck_assert_int_eq(proto, 58);

    /* prefixes: a percent-encoded '/' (either case) and a length */
    ck_assert_int_eq(
        ip_parse("/.well-known/masque/ip/198.51.100.0%2F24/17/", &fam, a, &prefix, &proto), 0);
    ck_assert_int_eq(fam, AF_INET);
    inet_pton(AF_INET, "198.51.100.0", want);
    ck_assert_mem_eq(a, want, 4);
    ck_assert_int_eq(prefix, 24);
    ck_assert_int_eq(proto, 17);
    ck_assert_int_eq(
        ip_parse("/.well-known/masque/ip/198.18.0.0%2f15/0/", &fam, a, &prefix, &proto), 0);
    ck_assert_int_eq(prefix, 15);
    ck_assert_int_eq(proto, 0);
    ck_assert_int_eq(
        ip_parse("/.well-known/masque/ip/100.64.0.0%2F10/255/", &fam, a, &prefix, &proto), 0);
    ck_assert_int_eq(prefix, 10);
    ck_assert_int_eq(proto, 255);
    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/192.0.2.1%2F32/1/", &fam, a, &prefix, &proto),
                     0);
    ck_assert_int_eq(prefix, 32);
    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/0.0.0.0%2F0/1/", &fam, a, &prefix, &proto),
                     0);
    ck_assert_int_eq(fam, AF_INET);
    ck_assert_int_eq(prefix, 0);
    ck_assert_int_eq(
        ip_parse("/.well-known/masque/ip/2001%3Adb8%3A%3A%2F32/*/", &fam, a, &prefix, &proto), 0);
    ck_assert_int_eq(fam, AF_INET6);
    inet_pton(AF_INET6, "2001:db8::", want);
    ck_assert_mem_eq(a, want, 16);
    ck_assert_int_eq(prefix, 32);
    ck_assert_int_eq(proto, -1);

    /* "*" for any host and/or any protocol, raw or percent-encoded */
    memset(a, 0xaa, sizeof(a));
    memset(want, 0, sizeof(want));
    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/*/*/", &fam, a, &prefix, &proto), 0);
    ck_assert_int_eq(fam, 0);
    ck_assert_mem_eq(a, want, 16);
    ck_assert_int_eq(prefix, 0);
    ck_assert_int_eq(proto, -1);
    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/*/1/", &fam, a, &prefix, &proto), 0);
    ck_assert_int_eq(fam, 0);
    ck_assert_int_eq(proto, 1);
    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/%2A/%2a/", &fam, a, &prefix, &proto), 0);
    ck_assert_int_eq(fam, 0);
    ck_assert_int_eq(proto, -1);
    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/203.0.113.9/*/", &fam, a, &prefix, &proto),
                     0);
    ck_assert_int_eq(fam, AF_INET);
    ck_assert_int_eq(prefix, 32);
    ck_assert_int_eq(proto, -1);
}
END_TEST

START_TEST(test_ip_path_errors)
{
    int fam, prefix, proto;
    uint8_t a[16];
    static const char *const bad[] = {
        "",
        "/",
        "/.well-known/masque/ip/",
        "/.well-known/masque/ip/198.51.100.7/1",     /* no trailing '/' */
        "/.well-known/masque/ip/198.51.100.7/",      /* no ipproto segment */
        "/.well-known/masque/ip/198.51.100.7//",     /* empty ipproto */
        "/.well-known/masque/ip//1/",                /* empty target */
        "/.well-known/masque/ip///",                 /* both empty */
        "/.well-known/masque/ip/198.51.100.7/256/",  /* proto too big */
        "/.well-known/masque/ip/198.51.100.7/1000/", /* too many digits */
        "/.well-known/masque/ip/198.51.100.7/0001/",
        "/.well-known/masque/ip/198.51.100.7/-1/",
        "/.well-known/masque/ip/198.51.100.7/+1/",
        "/.well-known/masque/ip/198.51.100.7/0x1/",
        "/.well-known/masque/ip/198.51.100.7/**/",
        "/.well-known/masque/ip/198.51.100.7/1%2F/", /* encoded '/' outside the target */
        "/.well-known/masque/ip/198.51.100.7/1/x/",  /* extra segment */
        "/.well-known/masque/ip/198.51.100.0/24/1/", /* a raw '/' is a segment break */
        "/.well-known/masque/ip/198.51.100.7/1/?a=b",
        "/.well-known/masque/ip/198.51.100.7/1?/",
        "/.well-known/masque/ip/198.51.100.0%2F/1/",   /* empty prefix length */
        "/.well-known/masque/ip/198.51.100.0%2F33/1/", /* over 32 */
        "/.well-known/masque/ip/198.51.100.0%2F-1/1/", /* not a number */
        "/.well-known/masque/ip/198.51.100.0%2F1000/1/",
        "/.well-known/masque/ip/198.51.100.0%2F%2F24/1/",
        "/.well-known/masque/ip/198.51.100.1%2F24/1/", /* host bits set */
        "/.well-known/masque/ip/198.18.1.0%2F15/1/",   /* host bits set in a middle byte */
        "/.well-known/masque/ip/%2F24/1/",             /* no address */
        "/.well-known/masque/ip/*%2F0/1/",             /* "*" takes no prefix */
        "/.well-known/masque/ip/2001%3Adb8%3A%3A%2F129/1/",
        "/.well-known/masque/ip/2001%3Adb8%3A%3A1%2F64/1/",
        "/.well-known/masque/ip/2001%3Adb8%3A%3A1%25eth0/1/", /* zone ids are not supported */
        "/.well-known/masque/ip/2001%3Gdb8%3A%3A1/1/",        /* bad escape */
        "/.well-known/masque/ip/2001%3/1/",                   /* truncated escape */
        "/.well-known/masque/ip/a%00b/1/",                    /* encoded NUL */
        "/.well-known/masque/ip/a b/1/",
        "/.well-known/masque/ip/**/1/",
        "/.well-known/masque/ip/host.test%2F24/1/", /* a DNS name takes no prefix */
        "/.well-known/masque/udp/198.51.100.7/1/",
        "/.well-known/masque/ip/2001:db8::1/1/x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(ip_parse(bad[i], &fam, a, &prefix, &proto) == -EINVAL, "accepted '%s'",
                      bad[i]);
    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/dns.corp.test/1/", &fam, a, &prefix, &proto),
                     -EAFNOSUPPORT);
    ck_assert_int_eq(ip_parse("/.well-known/masque/ip/dns.corp.test/*/", &fam, a, &prefix, &proto),
                     -EAFNOSUPPORT);
    char longp[400];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp, ST_MASQUE_IP_PREFIX, strlen(ST_MASQUE_IP_PREFIX));
    memcpy(longp + sizeof(longp) - 4, "/1/", 4);
    ck_assert_int_eq(ip_parse(longp, &fam, a, &prefix, &proto), -EINVAL);
}
END_TEST

START_TEST(test_ip_path_round_trip)
{
    char out[128];
    uint8_t a[16], b[16];
    int fam, prefix, proto;

    inet_pton(AF_INET6, "2001:db8:1::7", a);
    int n = st_masque_ip_path(out, sizeof(out), AF_INET6, a, 1);
    ck_assert_str_eq(out, "/.well-known/masque/ip/2001%3Adb8%3A1%3A%3A7/1/");
    ck_assert_int_eq(n, (int)strlen(out));
    ck_assert_int_eq(ip_parse(out, &fam, b, &prefix, &proto), 0);
    ck_assert_int_eq(fam, AF_INET6);
    ck_assert_mem_eq(a, b, 16);
    ck_assert_int_eq(prefix, 128);
    ck_assert_int_eq(proto, 1);

    inet_pton(AF_INET, "203.0.113.10", a);
    n = st_masque_ip_path(out, sizeof(out), AF_INET, a, -1);
    ck_assert_str_eq(out, "/.well-known/masque/ip/203.0.113.10/*/");
    ck_assert_int_eq(n, (int)strlen(out));
    ck_assert_int_eq(ip_parse(out, &fam, b, &prefix, &proto), 0);
    ck_assert_mem_eq(a, b, 4);
    ck_assert_int_eq(proto, -1);

    n = st_masque_ip_path(out, sizeof(out), 0, NULL, 255);
    ck_assert_str_eq(out, "/.well-known/masque/ip/*/255/");
    ck_assert_int_eq(ip_parse(out, &fam, b, &prefix, &proto), 0);
    ck_assert_int_eq(fam, 0);
    ck_assert_int_eq(proto, 255);

    ck_assert_int_eq(st_masque_ip_path(out, strlen("/.well-known/masque/ip/*/0/"), 0, NULL, 0),
                     -ENOSPC);
    ck_assert_int_eq(st_masque_ip_path(out, strlen("/.well-known/masque/ip/*/0/") + 1, 0, NULL, 0),
                     (int)strlen("/.well-known/masque/ip/*/0/"));
    ck_assert_int_eq(st_masque_ip_path(out, sizeof(out), AF_INET, a, 256), -EINVAL);
    ck_assert_int_eq(st_masque_ip_path(out, sizeof(out), AF_INET, a, -2), -EINVAL);
    ck_assert_int_eq(st_masque_ip_path(out, sizeof(out), 12345, a, 1), -EINVAL);
}
END_TEST

START_TEST(test_ip_capsules)
{
    static uint8_t pkt[ST_MASQUE_IP_MAX + 1], buf[ST_MASQUE_IP_MAX + 16];
    static const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {198, 51, 100, 1};
    struct st_capsule cap;
    const uint8_t *p;
    size_t plen;

    /* a whole IPv4 packet in, the same packet out */
    int n = st_udp4_build(pkt, sizeof(pkt), src, 1000, dst, 53, (const uint8_t *)"q", 1, 64);
    ck_assert_int_eq(n, 29);
    int c = st_masque_ip_capsule(buf, sizeof(buf), pkt, (size_t)n);
    ck_assert_int_eq(c, 2 + 1 + n);
    ck_assert_int_eq(st_capsule_parse(buf, (size_t)c, 70000, &cap), c);
    ck_assert_uint_eq(cap.type, ST_CAP_DATAGRAM);
    ck_assert_int_eq(st_masque_ip_packet(cap.value, cap.len, &p, &plen), 1);
    ck_assert_uint_eq(plen, (size_t)n);
    ck_assert_mem_eq(p, pkt, (size_t)n);
    struct st_ipv4_info ip;
    ck_assert_int_eq(st_ipv4_parse(p, plen, &ip), 0);

    /* the largest IP packet fits where a UDP payload would not */
    c = st_masque_ip_capsule(buf, sizeof(buf), pkt, ST_MASQUE_IP_MAX);
    ck_assert_int_gt(c, 0);
    ck_assert_int_eq(st_capsule_parse(buf, (size_t)c, 70000, &cap), c);
    ck_assert_int_eq(st_masque_ip_packet(cap.value, cap.len, &p, &plen), 1);
    ck_assert_uint_eq(plen, ST_MASQUE_IP_MAX);
    ck_assert_int_eq(st_masque_udp_payload(cap.value, cap.len, &p, &plen), -EMSGSIZE);
    ck_assert_int_eq(st_masque_udp_capsule(buf, sizeof(buf), pkt, ST_MASQUE_IP_MAX), -EMSGSIZE);

    ck_assert_int_eq(st_masque_ip_capsule(buf, sizeof(buf), pkt, ST_MASQUE_IP_MAX + 1), -EMSGSIZE);
    ck_assert_int_eq(st_masque_ip_capsule(buf, 10, pkt, 29), -ENOSPC);
    static uint8_t huge[ST_MASQUE_IP_MAX + 2];
    ck_assert_int_eq(st_masque_ip_packet(huge, sizeof(huge), &p, &plen), -EMSGSIZE);
    static const uint8_t ctx2[] = {0x02, 0x45}, trunc[] = {0x40};
    ck_assert_int_eq(st_masque_ip_packet(ctx2, sizeof(ctx2), &p, &plen), 0);
    ck_assert_int_eq(st_masque_ip_packet(trunc, sizeof(trunc), &p, &plen), -EBADMSG);
}
END_TEST

START_TEST(test_target)
{
    int fam;
    uint8_t a[16];
    uint16_t port = 7;
    const char *udp = "/.well-known/masque/udp/198.51.100.53/53/";
    const char *ip = "/.well-known/masque/ip/198.51.100.10/1/";

    ck_assert_int_eq(st_masque_target("connect-udp", udp, strlen(udp), &fam, a, &port), 0);
    ck_assert_int_eq(fam, AF_INET);
    ck_assert_uint_eq(port, 53);
    ck_assert_int_eq(st_masque_target("connect-ip", ip, strlen(ip), &fam, a, &port), 0);
    ck_assert_uint_eq(port, 0);
    ck_assert_uint_eq(a[3], 10);
    /* path of the other protocol, scope, unknown protocol */
    ck_assert_int_eq(st_masque_target("connect-ip", udp, strlen(udp), &fam, a, &port), -EINVAL);
    static const char *const scoped_out[] = {
        "/.well-known/masque/ip/198.51.100.10/17/",
        "/.well-known/masque/ip/198.51.100.0%2F24/1/",
        "/.well-known/masque/ip/*/1/",
        "/.well-known/masque/ip/198.51.100.10/*/",
    };
    for (size_t i = 0; i < sizeof(scoped_out) / sizeof(scoped_out[0]); i++)
        ck_assert_int_eq(
            st_masque_target("connect-ip", scoped_out[i], strlen(scoped_out[i]), &fam, a, &port),
            -EPROTONOSUPPORT);
    ck_assert_int_eq(st_masque_target("websocket", udp, strlen(udp), &fam, a, &port),
                     -EPROTONOSUPPORT);
    const char *name = "/.well-known/masque/udp/db.test/53/";
    ck_assert_int_eq(st_masque_target("connect-udp", name, strlen(name), &fam, a, &port),
                     -EAFNOSUPPORT);
}
END_TEST

/* IPv6 targets as clients write them: colons percent-encoded (RFC 9298 2, either case), raw,
 * in brackets (raw or %5B/%5D); connect-ip scoped to one IPv6 address and ICMPv6 (58). */
START_TEST(test_target_ipv6)
{
    static const char *const udp_forms[] = {
        "/.well-known/masque/udp/2001%3Adb8%3A51%3A%3A10/53/",
        "/.well-known/masque/udp/2001%3adb8%3a51%3a%3a10/53/",
        "/.well-known/masque/udp/2001:db8:51::10/53/",
        "/.well-known/masque/udp/[2001:db8:51::10]/53/",
        "/.well-known/masque/udp/%5B2001%3Adb8%3A51%3A%3A10%5D/53/",
    };
    uint8_t want[16], a[16];
    int fam;
    uint16_t port;
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:51::10", want), 1);
    for (size_t i = 0; i < sizeof(udp_forms) / sizeof(udp_forms[0]); i++) {
        const char *p = udp_forms[i];
        memset(a, 0, sizeof(a));
        ck_assert_msg(st_masque_target("connect-udp", p, strlen(p), &fam, a, &port) == 0, "%s", p);
        ck_assert_int_eq(fam, AF_INET6);
        ck_assert_uint_eq(port, 53);
        ck_assert(memcmp(a, want, 16) == 0);
    }
    static const char *const udp_bad[] = {
        "/.well-known/masque/udp/[2001:db8:51::10/53/",         /* unbalanced bracket */
        "/.well-known/masque/udp/[198.51.100.10]/53/",          /* brackets hold IPv6 only */
        "/.well-known/masque/udp/[2001:db8:51::10%25eth0]/53/", /* zone id */
        "/.well-known/masque/udp/[]/53/",
        "/.well-known/masque/udp/2001:db8:51::10/0/",
    };
    for (size_t i = 0; i < sizeof(udp_bad) / sizeof(udp_bad[0]); i++)
        ck_assert_msg(st_masque_target("connect-udp", udp_bad[i], strlen(udp_bad[i]), &fam, a,
                                       &port) == -EINVAL,
                      "%s", udp_bad[i]);
    /* connect-ip: ICMPv6 for an IPv6 address, ICMP for IPv4, nothing else */
    const char *ip6 = "/.well-known/masque/ip/2001%3Adb8%3A51%3A%3A10/58/";
    ck_assert_int_eq(st_masque_target("connect-ip", ip6, strlen(ip6), &fam, a, &port), 0);
    ck_assert_int_eq(fam, AF_INET6);
    ck_assert_uint_eq(port, 0);
    ck_assert(memcmp(a, want, 16) == 0);
    static const char *const scoped_out[] = {
        "/.well-known/masque/ip/2001%3Adb8%3A51%3A%3A10/1/",
        "/.well-known/masque/ip/2001%3Adb8%3A51%3A%3A10/17/",
        "/.well-known/masque/ip/2001%3Adb8%3A51%3A%3A%2F64/58/",
        "/.well-known/masque/ip/198.51.100.10/58/",
    };
    for (size_t i = 0; i < sizeof(scoped_out) / sizeof(scoped_out[0]); i++)
        ck_assert_int_eq(
            st_masque_target("connect-ip", scoped_out[i], strlen(scoped_out[i]), &fam, a, &port),
            -EPROTONOSUPPORT);
    /* what the reach gateway asks for parses back to the same target */
    char path[160];
    ck_assert_int_gt(st_masque_ip_path(path, sizeof(path), AF_INET6, want, 58), 0);
    ck_assert_str_eq(path, ip6);
    ck_assert_int_eq(st_masque_target("connect-ip", path, strlen(path), &fam, a, &port), 0);
    ck_assert_int_gt(st_masque_udp_path(path, sizeof(path), AF_INET6, want, 53), 0);
    ck_assert_str_eq(path, udp_forms[0]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("masque");
    TCase *tc = tcase_create("udp");
    tcase_add_test(tc, test_path_parse);
    tcase_add_test(tc, test_target_ipv6);
    tcase_add_test(tc, test_path_errors);
    tcase_add_test(tc, test_path_round_trip);
    tcase_add_test(tc, test_datagram_capsules);
    tcase_add_test(tc, test_payload_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("ip");
    tcase_add_test(tc, test_ip_path_parse);
    tcase_add_test(tc, test_ip_path_errors);
    tcase_add_test(tc, test_ip_path_round_trip);
    tcase_add_test(tc, test_ip_capsules);
    tcase_add_test(tc, test_target);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
