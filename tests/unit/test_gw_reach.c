/* gw_reach: the decision over routes offered in ROUTES (gw_reach_check, gw_reach_explain)
 * and the union of the connections' offers (gw_reach_merge). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "gw_reach.h"
#include "st_check.h"

static struct st_cidr cidr(const char *s)
{
    struct st_cidr c;
    ck_assert_msg(st_cidr_parse(s, &c) == 0, "bad test CIDR %s", s);
    return c;
}

static struct in_addr ip4(const char *s)
{
    struct in_addr a;
    ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
    return a;
}

static struct in6_addr ip6(const char *s)
{
    struct in6_addr a;
    ck_assert_int_eq(inet_pton(AF_INET6, s, &a), 1);
    return a;
}

/* The site-1 bastion of the lab: eth0 192.0.2.10/24 toward the edges, lan0 198.51.100.1/24,
 * lo, the TUN st0 100.64.0.1/10; it dials the edge 192.0.2.1 and exposes 198.51.100.0/24
 * and 203.0.113.0/25 (the latter on no interface). IPv6: eth0 2001:db8:2::10/64, lan0
 * 2001:db8:51::1/64 and its link-local, st0 2001:db8:64::1/96, an edge at
 * 2001:db8:18::1, 2001:db8:51::/64 exposed. */
static struct gw_reach_local local[8];
static struct st_cidr edges[3];
static struct st_cidr own[3];
static struct gw_reach_guard guard;

static void setup(void)
{
    gw_reach_local_set(&local[0], ip4("127.0.0.1"), 8, "lo");
    gw_reach_local_set(&local[1], ip4("192.0.2.10"), 24, "eth0");
    gw_reach_local_set(&local[2], ip4("198.51.100.1"), 24, "lan0");
    gw_reach_local_set(&local[3], ip4("100.64.0.1"), 10, "st0");
    struct in6_addr a6[4] = {ip6("2001:db8:2::10"), ip6("2001:db8:51::1"), ip6("fe80::1"),
                             ip6("2001:db8:64::1")};
    gw_reach_local_set6(&local[4], &a6[0], 64, "eth0");
    gw_reach_local_set6(&local[5], &a6[1], 64, "lan0");
    gw_reach_local_set6(&local[6], &a6[2], 64, "lan0");
    gw_reach_local_set6(&local[7], &a6[3], 96, "st0");
    edges[0] = cidr("192.0.2.1/32");
    edges[1] = cidr("198.18.0.7/32"); /* an edge outside every local network */
    edges[2] = cidr("2001:db8:18::1/128");
    own[0] = cidr("198.51.100.0/24");
    own[1] = cidr("203.0.113.0/25");
    own[2] = cidr("2001:db8:51::/64");
    guard = (struct gw_reach_guard){
        .local = local, .n_local = 8, .edges = edges, .n_edges = 3, .own = own, .n_own = 3};
}

static enum gw_reach_verdict check(const char *s, size_t *which)
{
    struct st_cidr c = cidr(s);
    return gw_reach_check(&c, &guard, which);
}

/* check + explain in one: the text a refusal is logged with ("allowed" when it is not). */
static const char *why(const char *s)
{
    static char buf[160];
    size_t which = 99;
    enum gw_reach_verdict v = check(s, &which);
    ck_assert_int_eq(gw_reach_explain(v, &guard, which, buf, sizeof(buf)), 0);
    return buf;
}

START_TEST(test_allowed)
{
    size_t which = 7;
    ck_assert_int_eq(check("203.0.113.128/25", &which), GW_REACH_OK);
    ck_assert_uint_eq(which, 7); /* untouched when allowed */
    ck_assert_int_eq(check("198.18.200.0/24", NULL), GW_REACH_OK);
    ck_assert_int_eq(check("198.51.101.0/24", NULL), GW_REACH_OK); /* next to the LAN */
    ck_assert_int_eq(check("198.18.0.6/32", NULL), GW_REACH_OK);   /* next to an edge */
    ck_assert_str_eq(why("198.18.200.0/24"), "allowed");
}
END_TEST

START_TEST(test_default_and_broad)
{
    ck_assert_int_eq(check("0.0.0.0/0", NULL), GW_REACH_DEFAULT);
    ck_assert_str_eq(why("0.0.0.0/0"), "a default route would take all of this host's traffic");
    ck_assert_int_eq(check("0.0.0.0/1", NULL), GW_REACH_BROAD);
    ck_assert_int_eq(check("128.0.0.0/1", NULL), GW_REACH_BROAD);
    ck_assert_int_eq(check("198.0.0.0/7", NULL), GW_REACH_BROAD);
    ck_assert_str_eq(why("192.0.0.0/2"), "shorter than /8");
}
END_TEST

START_TEST(test_special_ranges)
{
    size_t n, which;
    const struct st_cidr *sp = gw_reach_special(&n);
    ck_assert_uint_eq(n, 8);
    char txt[32];
    st_cidr_format(&sp[2], txt, sizeof(txt));
    ck_assert_str_eq(txt, "169.254.0.0/16");

    ck_assert_int_eq(check("169.254.169.254/32", &which), GW_REACH_SPECIAL);
    ck_assert_uint_eq(which, 2);
    ck_assert_str_eq(why("169.254.0.0/16"), "overlaps 169.254.0.0/16 (link-local)");
    ck_assert_str_eq(why("169.0.0.0/8"), "overlaps 169.254.0.0/16 (link-local)"); /* contains it */
    ck_assert_str_eq(why("127.0.0.0/24"), "overlaps 127.0.0.0/8 (loopback)");
    ck_assert_str_eq(why("0.0.0.0/8"), "overlaps 0.0.0.0/8 (\"this network\")");
    ck_assert_str_eq(why("224.0.0.0/8"), "overlaps 224.0.0.0/4 (multicast)");
    ck_assert_str_eq(why("239.255.255.250/32"), "overlaps 224.0.0.0/4 (multicast)");
    ck_assert_str_eq(why("255.255.255.255/32"), "overlaps 240.0.0.0/4 (reserved and broadcast)");
    ck_assert_int_eq(check("223.255.255.0/24", NULL), GW_REACH_OK); /* just below multicast */
}
END_TEST

START_TEST(test_edge_address)
{
    size_t which;
    ck_assert_int_eq(check("192.0.2.1/32", &which), GW_REACH_EDGE);
    ck_assert_uint_eq(which, 0);
    ck_assert_str_eq(why("192.0.2.0/28"), "contains the edge address 192.0.2.1 this gateway dials");
    ck_assert_int_eq(check("198.18.0.0/24", &which), GW_REACH_EDGE);
    ck_assert_uint_eq(which, 1);
    ck_assert_str_eq(why("198.18.0.0/15"),
                     "contains the edge address 198.18.0.7 this gateway dials");
}
END_TEST

START_TEST(test_host_networks)
{
    size_t which;
    /* more specific than the LAN: it would take over part of it */
    ck_assert_int_eq(check("198.51.100.0/25", &which), GW_REACH_LOCAL);
    ck_assert_uint_eq(which, 2);
    ck_assert_str_eq(why("198.51.100.0/25"),
                     "overlaps 198.51.100.1/24 on lan0, a network of this host");
    ck_assert_str_eq(why("198.51.100.10/32"),
                     "overlaps 198.51.100.1/24 on lan0, a network of this host");
    ck_assert_str_eq(why("198.51.100.0/24"),
                     "overlaps 198.51.100.1/24 on lan0, a network of this host");
    /* less specific: contains the LAN */
    ck_assert_str_eq(why("198.48.0.0/12"),
                     "overlaps 198.51.100.1/24 on lan0, a network of this host");
    /* the other interface, without containing the edge address */
    ck_assert_str_eq(why("192.0.2.128/25"),
                     "overlaps 192.0.2.10/24 on eth0, a network of this host");
    /* the TUN's own network: the virtual pool */
    ck_assert_str_eq(why("100.100.0.0/16"),
                     "overlaps 100.64.0.1/10 on st0, a network of this host");
}
END_TEST

START_TEST(test_own_routes)
{
    size_t which;
    ck_assert_int_eq(check("203.0.113.0/26", &which), GW_REACH_OWN);
    ck_assert_uint_eq(which, 1);
    ck_assert_str_eq(why("203.0.113.0/24"),
                     "overlaps 203.0.113.0/25 of this gateway's expose.routes");
    ck_assert_int_eq(check("203.0.113.128/26", NULL), GW_REACH_OK);
}
END_TEST

START_TEST(test_family_and_empty_guard)
{
    struct gw_reach_guard none = {0};
    struct st_cidr c = cidr("2001:db8:113::/64");
    ck_assert_int_eq(gw_reach_check(&c, &guard, NULL), GW_REACH_OK);
    c.family = AF_UNIX;
    ck_assert_int_eq(gw_reach_check(&c, &guard, NULL), GW_REACH_FAMILY);
    c = cidr("198.51.100.0/25");
    ck_assert_int_eq(gw_reach_check(&c, &none, NULL), GW_REACH_OK);
    c = cidr("198.0.0.0/8"); /* the floor itself */
    ck_assert_int_eq(gw_reach_check(&c, &none, NULL), GW_REACH_OK);
    c = cidr("198.0.0.0/7");
    ck_assert_int_eq(gw_reach_check(&c, &none, NULL), GW_REACH_BROAD);
    c = cidr("0.0.0.0/0");
    ck_assert_int_eq(gw_reach_check(&c, &none, NULL), GW_REACH_DEFAULT);
}
END_TEST

START_TEST(test_host_point_to_point)
{
    /* a /32 address (a point-to-point link or an anycast address) is a network too */
    struct gw_reach_local l;
    gw_reach_local_set(&l, ip4("198.18.5.5"), 32, "ppp0");
    struct gw_reach_guard g = {.local = &l, .n_local = 1};
    struct st_cidr c = cidr("198.18.5.0/24");
    ck_assert_int_eq(gw_reach_check(&c, &g, NULL), GW_REACH_LOCAL);
    c = cidr("198.18.6.0/24");
    ck_assert_int_eq(gw_reach_check(&c, &g, NULL), GW_REACH_OK);
}
END_TEST

START_TEST(test_local_set)
{
    struct gw_reach_local l;
    char txt[32];
    gw_reach_local_set(&l, ip4("198.51.100.77"), 25, "a-very-long-interface-name");
    st_cidr_format(&l.net, txt, sizeof(txt));
    ck_assert_str_eq(txt, "198.51.100.0/25");
    ck_assert_mem_eq(l.addr, "\xc6\x33\x64\x4d", 4);
    ck_assert_str_eq(l.ifname, "a-very-long-int"); /* IFNAMSIZ - 1 */
    gw_reach_local_set(&l, ip4("198.51.100.77"), 0, "x");
    st_cidr_format(&l.net, txt, sizeof(txt));
    ck_assert_str_eq(txt, "0.0.0.0/0");
}
END_TEST

START_TEST(test_ipv6)
{
    size_t which;
    ck_assert_int_eq(check("2001:db8:113::/64", NULL), GW_REACH_OK);
    ck_assert_int_eq(check("2001:db8:113::10/128", NULL), GW_REACH_OK);
    ck_assert_int_eq(check("fd00:51::/48", NULL), GW_REACH_OK); /* ULA is a private network */
    ck_assert_int_eq(check("::/0", NULL), GW_REACH_DEFAULT);
    ck_assert_int_eq(check("2000::/3", &which), GW_REACH_BROAD);
    ck_assert_str_eq(why("2000::/3"), "shorter than /16");
    ck_assert_int_eq(check("2001::/16", NULL), GW_REACH_EDGE); /* the floor, but an edge */
    ck_assert_str_eq(why("::1/128"), "overlaps ::/8 (unspecified, loopback and IPv4-mapped)");
    ck_assert_str_eq(why("::ffff:198.51.100.0/120"),
                     "overlaps ::/8 (unspecified, loopback and IPv4-mapped)");
    ck_assert_str_eq(why("fe80::/64"), "overlaps fe80::/10 (IPv6 link-local)");
    ck_assert_str_eq(why("ff02::/16"), "overlaps ff00::/8 (IPv6 multicast)");
    ck_assert_str_eq(why("2001:db8:18::/64"),
                     "contains the edge address 2001:db8:18::1 this gateway dials");
    ck_assert_str_eq(why("2001:db8:2::/64"),
                     "overlaps 2001:db8:2::10/64 on eth0, a network of this host");
    ck_assert_str_eq(why("2001:db8:64::/96"),
                     "overlaps 2001:db8:64::1/96 on st0, a network of this host");
    ck_assert_str_eq(why("2001:db8:51::/64"),
                     "overlaps 2001:db8:51::1/64 on lan0, a network of this host");
    own[2] = cidr("2001:db8:52::/64");
    ck_assert_str_eq(why("2001:db8:52::/56"),
                     "overlaps 2001:db8:52::/64 of this gateway's expose.routes");
    /* IPv4 and IPv6 never overlap: ::/8 does not catch 0.0.0.0/8 twice */
    ck_assert_int_eq(check("198.18.200.0/24", NULL), GW_REACH_OK);
}
END_TEST

START_TEST(test_local_set6)
{
    struct gw_reach_local l;
    struct in6_addr a = ip6("2001:db8:51::77");
    char txt[64];
    gw_reach_local_set6(&l, &a, 60, "lan0");
    st_cidr_format(&l.net, txt, sizeof(txt));
    ck_assert_str_eq(txt, "2001:db8:51::/60");
    ck_assert_mem_eq(l.addr, &a, 16);
    gw_reach_local_set6(&l, &a, 200, "lan0"); /* clamped */
    st_cidr_format(&l.net, txt, sizeof(txt));
    ck_assert_str_eq(txt, "2001:db8:51::77/128");
    gw_reach_local_set6(&l, &a, 61, "lan0");
    ck_assert_uint_eq(l.net.addr[7], 0);
    a.s6_addr[7] = 0xff;
    gw_reach_local_set6(&l, &a, 61, "lan0");
    ck_assert_uint_eq(l.net.addr[7], 0xf8);
}
END_TEST

START_TEST(test_explain_short_buffer)
{
    char buf[8];
    ck_assert_int_eq(gw_reach_explain(GW_REACH_DEFAULT, &guard, 0, buf, sizeof(buf)), -ENOSPC);
    ck_assert_str_eq(buf, "a defau");
}
END_TEST

START_TEST(test_merge)
{
    struct st_cidr set[3],
        a[3] = {cidr("203.0.113.0/24"), cidr("198.18.200.0/24"), cidr("203.0.113.0/24")};
    struct st_cidr b[3] = {cidr("198.18.200.0/24"), cidr("198.18.200.0/25"),
                           cidr("198.18.201.0/24")};
    size_t dropped = 9, n;
    char txt[32];

    n = gw_reach_merge(set, 0, 3, a, 3, &dropped);
    ck_assert_uint_eq(n, 2); /* the duplicate inside one offer counts once */
    ck_assert_uint_eq(dropped, 0);
    n = gw_reach_merge(set, n, 3, b, 3, &dropped);
    ck_assert_uint_eq(n, 3); /* /25 differs from /24: both are kept */
    ck_assert_uint_eq(dropped, 1);
    st_cidr_format(&set[2], txt, sizeof(txt));
    ck_assert_str_eq(txt, "198.18.200.0/25");
    ck_assert_uint_eq(gw_reach_merge(set, 3, 3, a, 3, NULL), 3); /* all present: nothing lost */
    ck_assert_uint_eq(gw_reach_merge(set, 0, 3, a, 0, &dropped), 0);
    ck_assert_uint_eq(dropped, 0);
}
END_TEST

static Suite *gw_reach_suite(void)
{
    Suite *s = suite_create("gw_reach");
    TCase *tc = tcase_create("check");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_allowed);
    tcase_add_test(tc, test_default_and_broad);
    tcase_add_test(tc, test_special_ranges);
    tcase_add_test(tc, test_edge_address);
    tcase_add_test(tc, test_host_networks);
    tcase_add_test(tc, test_own_routes);
    tcase_add_test(tc, test_family_and_empty_guard);
    tcase_add_test(tc, test_ipv6);
    tcase_add_test(tc, test_local_set6);
    tcase_add_test(tc, test_host_point_to_point);
    tcase_add_test(tc, test_local_set);
    tcase_add_test(tc, test_explain_short_buffer);
    tcase_add_test(tc, test_merge);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(gw_reach_suite());
}
