#include "st_addr.h"

#include "st_check.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void v4(const char *s, uint8_t out[4])
{
    ck_assert_int_eq(inet_pton(AF_INET, s, out), 1);
}

static void v6(const char *s, uint8_t out[16])
{
    ck_assert_int_eq(inet_pton(AF_INET6, s, out), 1);
}

START_TEST(test_cidr_parse_format)
{
    struct st_cidr c;
    char buf[64];

    ck_assert_int_eq(st_cidr_parse("198.51.100.0/24", &c), 0);
    ck_assert_int_eq(c.family, AF_INET);
    ck_assert_uint_eq(c.prefix, 24);
    ck_assert_uint_eq(c.addr[0], 198);
    ck_assert_uint_eq(c.addr[2], 100);
    ck_assert_int_eq(st_cidr_format(&c, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "198.51.100.0/24");

    ck_assert_int_eq(st_cidr_parse("2001:db8::/32", &c), 0);
    ck_assert_int_eq(c.family, AF_INET6);
    ck_assert_uint_eq(c.prefix, 32);
    ck_assert_int_eq(st_cidr_format(&c, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "2001:db8::/32");
    ck_assert_int_eq(st_cidr_format(&c, buf, 13), -ENOSPC);
    ck_assert_int_eq(st_cidr_format(&c, buf, 14), 0);

    ck_assert_int_eq(st_cidr_parse("192.0.2.7", &c), 0);
    ck_assert_uint_eq(c.prefix, 32);
    ck_assert_int_eq(st_cidr_parse("2001:db8::1", &c), 0);
    ck_assert_uint_eq(c.prefix, 128);
    ck_assert_int_eq(st_cidr_parse("0.0.0.0/0", &c), 0);
    ck_assert_uint_eq(c.prefix, 0);
}
END_TEST

START_TEST(test_cidr_parse_errors)
{
    static const char *const bad[] = {
        "198.51.100.1/24",
        "2001:db8::1/32",
        "198.51.100.0/33",
        "2001:db8::/129",
        "198.51.100.0/",
        "198.51.100.0/-1",
        "198.51.100.0/2a",
        "example.com/24",
        "",
        "/24",
        "198.51.100/24",
        "198.51.100.0/24 ",
        "1.2.3.4.5/32",
        "198.51.100.0/024x",
    };
    struct st_cidr c;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(st_cidr_parse(bad[i], &c) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_cidr_contains_covers)
{
    struct st_cidr net, sub, host6, net6;
    uint8_t a[16];

    ck_assert_int_eq(st_cidr_parse("198.51.100.0/22", &net), 0);
    v4("198.51.103.255", a);
    ck_assert(st_cidr_contains(&net, AF_INET, a));
    v4("198.51.104.0", a);
    ck_assert(!st_cidr_contains(&net, AF_INET, a));
    ck_assert(!st_cidr_contains(&net, AF_INET6, a));

    ck_assert_int_eq(st_cidr_parse("198.51.101.0/24", &sub), 0);
    ck_assert(st_cidr_covers(&net, &sub));
    ck_assert(!st_cidr_covers(&sub, &net));
    ck_assert(st_cidr_covers(&net, &net));

    ck_assert_int_eq(st_cidr_parse("2001:db8::/33", &net6), 0);
    v6("2001:db8:7fff::1", a);
    ck_assert(st_cidr_contains(&net6, AF_INET6, a));
    v6("2001:db8:8000::1", a);
    ck_assert(!st_cidr_contains(&net6, AF_INET6, a));
    ck_assert_int_eq(st_cidr_parse("2001:db8:1::5", &host6), 0);
    ck_assert(st_cidr_covers(&net6, &host6));
    ck_assert(!st_cidr_covers(&net6, &sub));

    ck_assert(st_cidr_overlaps(&net, &sub) && st_cidr_overlaps(&sub, &net));
    ck_assert(st_cidr_overlaps(&net6, &host6) && st_cidr_overlaps(&host6, &net6));
    ck_assert(!st_cidr_overlaps(&net6, &sub)); /* families differ */
    ck_assert_int_eq(st_cidr_parse("198.51.104.0/24", &sub), 0);
    ck_assert(!st_cidr_overlaps(&net, &sub) && !st_cidr_overlaps(&sub, &net));
}
END_TEST

START_TEST(test_sockaddr)
{
    struct st_sockaddr a;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
    char buf[64];

    ck_assert_int_eq(st_sockaddr_parse("192.0.2.1:7844", &a), 0);
    ck_assert_int_eq(sin->sin_family, AF_INET);
    ck_assert_uint_eq(ntohs(sin->sin_port), 7844);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in));
    ck_assert_int_eq(st_sockaddr_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "192.0.2.1:7844");

    ck_assert_int_eq(st_sockaddr_parse("[2001:db8::1]:443", &a), 0);
    ck_assert_int_eq(sin6->sin6_family, AF_INET6);
    ck_assert_uint_eq(ntohs(sin6->sin6_port), 443);
    ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in6));
    ck_assert_int_eq(st_sockaddr_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "[2001:db8::1]:443");
    ck_assert_int_eq(st_sockaddr_format(&a, buf, 17), -ENOSPC);

    ck_assert_int_eq(st_sockaddr_parse("*:8080", &a), 0);
    ck_assert_int_eq(st_sockaddr_format(&a, buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "0.0.0.0:8080");
    ck_assert_int_eq(st_sockaddr_parse(":7844", &a), 0);
    ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(INADDR_ANY));
    ck_assert_uint_eq(ntohs(sin->sin_port), 7844);
}
END_TEST

START_TEST(test_sockaddr_errors)
{
    static const char *const bad[] = {
        "192.0.2.1",       "192.0.2.1:",
        "192.0.2.1:65536", "192.0.2.1:x",
        "host:80",         "2001:db8::1:80",
        "[2001:db8::1]",   "[192.0.2.1]:80",
        "[]:80",           "*",
        "192.0.2.1:80 ",   "[2001:db8::1]80",
        "192.0.2.1:-1",    "",
    };
    struct st_sockaddr a;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(st_sockaddr_parse(bad[i], &a) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_authority)
{
    uint8_t addr[16], want[16] = {0};
    uint16_t port;
    int family;
    const char *s = "198.51.100.10:22xyz";

    ck_assert_int_eq(st_authority_parse(s, 16, &family, addr, &port), 0);
    ck_assert_int_eq(family, AF_INET);
    ck_assert_uint_eq(port, 22);
    v4("198.51.100.10", want);
    ck_assert_mem_eq(addr, want, 16);

    ck_assert_int_eq(st_authority_parse("[2001:db8::a]:8443", 18, &family, addr, &port), 0);
    ck_assert_int_eq(family, AF_INET6);
    ck_assert_uint_eq(port, 8443);
    v6("2001:db8::a", want);
    ck_assert_mem_eq(addr, want, 16);

    ck_assert_int_eq(st_authority_parse(s, strlen(s), &family, addr, &port), -EINVAL);
    ck_assert_int_eq(st_authority_parse("198.51.100.10:0", 15, &family, addr, &port), -EINVAL);
    ck_assert_int_eq(st_authority_parse("example.com:80", 14, &family, addr, &port), -EINVAL);
    ck_assert_int_eq(st_authority_parse("198.51.100.10", 13, &family, addr, &port), -EINVAL);
    ck_assert_int_eq(st_authority_parse("2001:db8::a:80", 14, &family, addr, &port), -EINVAL);
    ck_assert_int_eq(st_authority_parse("", 0, &family, addr, &port), -EINVAL);

    /* subtunnel-client values: port 0 allowed (ICMP flows have no port) */
    ck_assert_int_eq(st_client_parse("203.0.113.10:0", 14, &family, addr, &port), 0);
    ck_assert_int_eq(family, AF_INET);
    ck_assert_uint_eq(port, 0);
    memset(want, 0, sizeof(want));
    v4("203.0.113.10", want);
    ck_assert_mem_eq(addr, want, 16);
    ck_assert_int_eq(st_client_parse("203.0.113.10:53", 15, &family, addr, &port), 0);
    ck_assert_uint_eq(port, 53);
    ck_assert_int_eq(st_client_parse("203.0.113.10:65536", 18, &family, addr, &port), -EINVAL);
    ck_assert_int_eq(st_client_parse("203.0.113.10", 12, &family, addr, &port), -EINVAL);
    ck_assert_int_eq(st_client_parse("host:0", 6, &family, addr, &port), -EINVAL);
}
END_TEST

static struct st_sockaddr sa(const char *s)
{
    struct st_sockaddr a;
    ck_assert_int_eq(st_sockaddr_parse(s, &a), 0);
    return a;
}

START_TEST(test_sockaddr_loopback_and_clash)
{
    struct st_sockaddr lo = sa("127.0.0.1:8080"), lo6 = sa("[::1]:8080"), any = sa("0.0.0.0:8080"),
                       any6 = sa("[::]:8080"), pub = sa("198.18.0.1:8080"),
                       pub2 = sa("198.18.0.2:8080"), other = sa("198.18.0.1:8443"),
                       mapped = sa("[::ffff:127.0.0.2]:1"), v6 = sa("[2001:db8::1]:8080");
    ck_assert(st_sockaddr_is_loopback(&lo) && st_sockaddr_is_loopback(&lo6));
    ck_assert(st_sockaddr_is_loopback(&mapped));
    ck_assert(!st_sockaddr_is_loopback(&any) && !st_sockaddr_is_loopback(&any6));
    ck_assert(!st_sockaddr_is_loopback(&pub) && !st_sockaddr_is_loopback(&v6));

    ck_assert(st_sockaddr_clash(&pub, &pub));
    ck_assert(st_sockaddr_clash(&any, &pub) && st_sockaddr_clash(&pub, &any));
    ck_assert(!st_sockaddr_clash(&pub, &pub2));  /* two addresses, one port */
    ck_assert(!st_sockaddr_clash(&pub, &other)); /* one address, two ports */
    ck_assert(st_sockaddr_clash(&any6, &pub));   /* dual-stack [::] takes IPv4 too */
    ck_assert(st_sockaddr_clash(&any6, &v6));
    ck_assert(!st_sockaddr_clash(&v6, &pub));
    ck_assert(!st_sockaddr_clash(&lo6, &lo));
}
END_TEST

static Suite *addr_suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_cidr_parse_format);
    tcase_add_test(tc, test_cidr_parse_errors);
    tcase_add_test(tc, test_cidr_contains_covers);
    tcase_add_test(tc, test_sockaddr);
    tcase_add_test(tc, test_sockaddr_errors);
    tcase_add_test(tc, test_authority);
    tcase_add_test(tc, test_sockaddr_loopback_and_clash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(addr_suite());
}
