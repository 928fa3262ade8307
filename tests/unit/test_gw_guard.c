#include "st_check.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <string.h>

#include "gw_guard.h"
#include "gw_server.h"
#include "st_log.h"

static uint8_t ip[4];

static const uint8_t *a4(const char *s)
{
    ck_assert_int_eq(inet_pton(AF_INET, s, ip), 1);
    return ip;
}

static uint32_t u4(const char *s)
{
    uint32_t v;
    ck_assert_int_eq(inet_pton(AF_INET, s, &v), 1);
    return v;
}

static struct st_cidr cidr(const char *s)
{
    struct st_cidr c;
    ck_assert_int_eq(st_cidr_parse(s, &c), 0);
    return c;
}

/* NULL-safe comparison of the reason with the expected one (NULL: served). */
static void expect(const struct gw_guard *g, const char *addr, const char *why)
{
    const char *got = gw_guard_check(g, AF_INET, a4(addr));
    if (!why) {
        ck_assert_msg(!got, "%s: refused as '%s', want served", addr, got);
        ck_assert(!gw_guard_blocked(g, AF_INET, a4(addr)));
        return;
    }
    ck_assert_msg(got && strcmp(got, why) == 0, "%s: got '%s', want '%s'", addr,
                  got ? got : "(served)", why);
    ck_assert(gw_guard_blocked(g, AF_INET, a4(addr)));
}

START_TEST(test_defaults)
{
    struct gw_guard g = {0}; /* empty: the fixed ranges only */

    expect(&g, "0.0.0.0", "\"this network\" (0.0.0.0/8)");
    expect(&g, "0.255.255.255", "\"this network\" (0.0.0.0/8)");
    expect(&g, "127.0.0.1", "loopback");
    expect(&g, "127.255.255.254", "loopback");
    expect(&g, "169.254.169.254", "link-local/metadata");
    expect(&g, "169.254.0.0", "link-local/metadata");
    expect(&g, "224.0.0.1", "multicast");
    expect(&g, "239.255.255.250", "multicast");
    expect(&g, "240.0.0.1", "reserved (240.0.0.0/4)");
    expect(&g, "255.255.255.254", "reserved (240.0.0.0/4)");
    expect(&g, "255.255.255.255", "broadcast");
    /* the neighbours of each range are served */
    expect(&g, "1.0.0.0", NULL);
    expect(&g, "126.255.255.255", NULL);
    expect(&g, "128.0.0.0", NULL);
    expect(&g, "169.253.255.255", NULL);
    expect(&g, "169.255.0.0", NULL);
    expect(&g, "223.255.255.255", NULL);
    expect(&g, "198.51.100.10", NULL);
    expect(&g, "100.64.0.1", NULL); /* the virtual pool is refused by gw_flow, not the guard */
    /* another family is refused */
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    ck_assert_str_eq(gw_guard_check(&g, AF_UNSPEC, v6), "neither IPv4 nor IPv6");
    gw_guard_fini(&g);
    gw_guard_fini(&g); /* zeroed: again is fine */
}
END_TEST

static void expect6(const struct gw_guard *g, const char *addr, const char *why)
{
    uint8_t a[16];
    const char *got;

    ck_assert_int_eq(inet_pton(AF_INET6, addr, a), 1);
    got = gw_guard_check(g, AF_INET6, a);
    if (!why)
        ck_assert_msg(!got, "%s: refused (%s)", addr, got);
    else
        ck_assert_msg(got && strcmp(got, why) == 0, "%s: %s, want %s", addr, got ? got : "-", why);
}

START_TEST(test_ipv6)
{
    struct gw_guard g = {0};
    uint8_t host[2][16];

    expect6(&g, "::", "unspecified (::)");
    expect6(&g, "::1", "loopback");
    expect6(&g, "::2", NULL);
    expect6(&g, "::ffff:127.0.0.1", "IPv4-mapped (::ffff:0:0/96)");
    expect6(&g, "fe80::1", "link-local");
    expect6(&g, "febf:ffff::1", "link-local");
    expect6(&g, "fec0::1", NULL);
    expect6(&g, "ff02::1", "multicast");
    expect6(&g, "2001:db8:51::10", NULL);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:51::1", host[0]), 1);
    ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:2::10", host[1]), 1);
    ck_assert_int_eq(gw_guard_set_host6(&g, (const uint8_t(*)[16])host, 2), 0);
    expect6(&g, "2001:db8:51::1", "an address of this host");
    expect6(&g, "2001:db8:2::10", "an address of this host");
    expect6(&g, "2001:db8:51::10", NULL);
    ck_assert_int_eq(gw_guard_set_host6(&g, NULL, 0), 0);
    expect6(&g, "2001:db8:51::1", NULL);
    gw_guard_fini(&g);
}
END_TEST

START_TEST(test_host_addresses)
{
    struct gw_guard g = {0};
    uint32_t host[] = {u4("198.51.100.1"), u4("192.0.2.10"), u4("127.0.0.1")};

    ck_assert_int_eq(gw_guard_set_host(&g, host, 3), 0);
    ck_assert_uint_eq(g.n_host, 3);
    expect(&g, "198.51.100.1", "an address of this host");
    expect(&g, "192.0.2.10", "an address of this host");
    expect(&g, "127.0.0.1", "loopback"); /* the fixed range names it first */
    expect(&g, "198.51.100.2", NULL);
    expect(&g, "192.0.2.1", NULL);
    /* DHCP moved the address: the new set replaces the old one */
    host[0] = u4("198.51.100.2");
    ck_assert_int_eq(gw_guard_set_host(&g, host, 1), 0);
    expect(&g, "198.51.100.1", NULL);
    expect(&g, "198.51.100.2", "an address of this host");
    expect(&g, "192.0.2.10", NULL);
    ck_assert_int_eq(gw_guard_set_host(&g, NULL, 0), 0);
    ck_assert_ptr_null(g.host);
    expect(&g, "198.51.100.2", NULL);
    gw_guard_fini(&g);
}
END_TEST

START_TEST(test_allow_local)
{
    struct gw_guard g = {0};
    uint32_t host[] = {u4("198.51.100.1"), u4("192.0.2.10")};
    struct st_cidr allow[] = {cidr("169.254.169.254/32"), cidr("198.51.100.1"), cidr("127.0.0.0/8"),
                              cidr("::1/128")};

    ck_assert_int_eq(gw_guard_set_host(&g, host, 2), 0);
    ck_assert_int_eq(gw_guard_set_allow(&g, allow, 4, false), 0);
    ck_assert_uint_eq(g.n_allow, 4);
    expect(&g, "169.254.169.254", NULL);
    expect(&g, "169.254.169.253", "link-local/metadata");
    expect(&g, "198.51.100.1", NULL);
    expect(&g, "192.0.2.10", "an address of this host");
    expect(&g, "127.0.0.53", NULL);
    expect(&g, "224.0.0.1", "multicast");
    /* IPv6 entries: ::1/128 lets ::1 through, nothing else of IPv6's fixed ranges */
    uint8_t v6[16] = {[15] = 1};
    ck_assert(!gw_guard_blocked(&g, AF_INET6, v6));
    uint8_t ll[16] = {0xfe, 0x80, [15] = 1}, mc[16] = {0xff, 0x02, [15] = 1};
    ck_assert(gw_guard_blocked(&g, AF_INET6, ll));
    ck_assert(gw_guard_blocked(&g, AF_INET6, mc));
    /* a reload without the list: guarded again */
    ck_assert_int_eq(gw_guard_set_allow(&g, NULL, 0, false), 0);
    ck_assert_ptr_null(g.allow);
    expect(&g, "169.254.169.254", "link-local/metadata");
    expect(&g, "198.51.100.1", "an address of this host");
    expect(&g, "127.0.0.53", "loopback");
    v6[15] = 1;
    ck_assert(gw_guard_blocked(&g, AF_INET6, v6));
    gw_guard_fini(&g);
}
END_TEST

/* expose.allow-link-local: true (a released key) means 169.254.0.0/16 is allowed. */
START_TEST(test_allow_link_local)
{
    struct gw_guard g = {0};
    struct st_cidr allow[] = {cidr("198.51.100.1/32")};
    uint32_t host[] = {u4("169.254.7.7")};

    ck_assert_int_eq(gw_guard_set_allow(&g, NULL, 0, true), 0);
    ck_assert_uint_eq(g.n_allow, 1);
    expect(&g, "169.254.169.254", NULL);
    expect(&g, "169.254.0.1", NULL);
    expect(&g, "127.0.0.1", "loopback");
    /* even a link-local address of the host itself: the operator allowed the whole range */
    ck_assert_int_eq(gw_guard_set_host(&g, host, 1), 0);
    expect(&g, "169.254.7.7", NULL);
    /* with a list too: both apply */
    ck_assert_int_eq(gw_guard_set_allow(&g, allow, 1, true), 0);
    ck_assert_uint_eq(g.n_allow, 2);
    expect(&g, "198.51.100.1", NULL);
    expect(&g, "169.254.169.254", NULL);
    ck_assert_int_eq(gw_guard_set_allow(&g, allow, 1, false), 0);
    expect(&g, "169.254.169.254", "link-local/metadata");
    expect(&g, "169.254.7.7", "link-local/metadata");
    gw_guard_fini(&g);
}
END_TEST

static struct gw_server gw;

/* The kernel side: start reads this process's addresses; each one is refused; a reload
 * applies a changed allow-local; refusals are counted by kind. */
START_TEST(test_start_reload_refuse)
{
    struct st_cidr allow[1];
    struct ifaddrs *ifs;

    st_log_set_level(ST_LOG_ERROR);
    memset(&gw, 0, sizeof(gw));
    ck_assert_int_eq(st_loop_init(&gw.loop), 0);
    gw.cfg.expose = true;
    ck_assert_int_eq(gw_guard_start(&gw), 0);
    ck_assert(gw.guard_on);
    ck_assert_int_eq(getifaddrs(&ifs), 0);
    size_t n = 0;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        n++;
        const uint8_t *a = (const uint8_t *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        ck_assert(gw_guard_blocked(&gw.guard, AF_INET, a));
    }
    freeifaddrs(ifs);
    ck_assert_uint_eq(gw.guard.n_host, n);

    ck_assert_ptr_null(gw_guard_refuse(&gw, ST_KIND_TCP, AF_INET, a4("198.51.100.10"), "c", "t"));
    ck_assert_str_eq(gw_guard_refuse(&gw, ST_KIND_UDP, AF_INET, a4("169.254.169.254"), "c", "t"),
                     "link-local/metadata");
    ck_assert_str_eq(gw_guard_refuse(&gw, ST_KIND_ICMP, AF_INET, a4("255.255.255.255"), "c", "t"),
                     "broadcast");
    ck_assert_uint_eq(gw.guard_refused[ST_KIND_TCP], 0);
    ck_assert_uint_eq(gw.guard_refused[ST_KIND_UDP], 1);
    ck_assert_uint_eq(gw.guard_refused[ST_KIND_ICMP], 1);
    for (int i = 0; i < 3 * GW_GUARD_LOG_PER_SEC; i++) /* past the log limit: still refused */
        ck_assert_ptr_nonnull(
            gw_guard_refuse(&gw, ST_KIND_TCP, AF_INET, a4("127.0.0.1"), "c", "t"));
    ck_assert_uint_eq(gw.guard_refused[ST_KIND_TCP], 3 * GW_GUARD_LOG_PER_SEC);
    gw_guard_flush_log(&gw);

    /* SIGHUP with allow-local: [169.254.169.254/32] */
    allow[0] = cidr("169.254.169.254/32");
    gw.cfg.allow_local = allow;
    gw.cfg.n_allow_local = 1;
    gw_guard_reload(&gw);
    ck_assert_ptr_null(gw_guard_refuse(&gw, ST_KIND_UDP, AF_INET, a4("169.254.169.254"), "c", "t"));
    ck_assert_ptr_nonnull(
        gw_guard_refuse(&gw, ST_KIND_UDP, AF_INET, a4("169.254.169.1"), "c", "t"));
    ck_assert_uint_eq(gw.guard.n_host, n);
    /* and back without it */
    gw.cfg.n_allow_local = 0;
    gw.cfg.allow_link_local = true;
    gw_guard_reload(&gw);
    ck_assert_ptr_null(gw_guard_refuse(&gw, ST_KIND_UDP, AF_INET, a4("169.254.169.1"), "c", "t"));
    gw.cfg.allow_link_local = false;
    gw_guard_reload(&gw);
    ck_assert_ptr_nonnull(
        gw_guard_refuse(&gw, ST_KIND_UDP, AF_INET, a4("169.254.169.254"), "c", "t"));

    gw_guard_stop(&gw);
    ck_assert(!gw.guard_on);
    ck_assert_ptr_null(gw.guard.host);
    ck_assert_ptr_null(gw.guard.allow);
    gw_guard_stop(&gw);   /* twice: nothing left to do */
    gw_guard_reload(&gw); /* stopped: a no-op */
    ck_assert_ptr_null(gw.guard.allow);
    st_loop_fini(&gw.loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gw_guard");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_host_addresses);
    tcase_add_test(tc, test_ipv6);
    tcase_add_test(tc, test_allow_local);
    tcase_add_test(tc, test_allow_link_local);
    tcase_add_test(tc, test_start_reload_refuse);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
