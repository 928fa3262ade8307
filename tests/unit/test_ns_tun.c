/* ns_tun: the rtnetlink address dump (no privilege needed; routes need CAP_NET_ADMIN and
 * are covered by tests/integration/test_reach_routes.sh). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ns_tun.h"
#include "st_check.h"

START_TEST(test_list_addr4)
{
    struct ns_tun_addr4 a[256];
    int n = ns_tun_list_addr4(a, 256);
    ck_assert_msg(n >= 0, "ns_tun_list_addr4: %s", strerror(-n));
    for (int i = 0; i < n; i++) {
        ck_assert_int_ge(a[i].prefix, 0);
        ck_assert_int_le(a[i].prefix, 32);
        ck_assert(a[i].ifname[0] != '\0');
        /* loopback carries 127.0.0.1/8 when it is up (a fresh namespace's lo has none) */
        if (strcmp(a[i].ifname, "lo") == 0 && a[i].addr.s_addr == htonl(INADDR_LOOPBACK))
            ck_assert_int_eq(a[i].prefix, 8);
    }
    if (n > 0) /* one slot short: refused as a whole rather than cut */
        ck_assert_int_eq(ns_tun_list_addr4(a, (size_t)n - 1), -ENOBUFS);
}
END_TEST

START_TEST(test_route_bad_args)
{
    struct in_addr net = {0};
    ck_assert_int_eq(ns_tun_add_route4("lo", net, 33, 200), -EINVAL);
    ck_assert_int_eq(ns_tun_del_route4("lo", net, -1, 200), -EINVAL);
    ck_assert_int_eq(ns_tun_add_route4("st-no-such-if", net, 24, 200), -ENODEV);
    ck_assert_int_eq(ns_tun_del_route4("st-no-such-if", net, 24, 200), -ENODEV);
}
END_TEST

static Suite *ns_tun_suite(void)
{
    Suite *s = suite_create("ns_tun");
    TCase *tc = tcase_create("netlink");
    tcase_add_test(tc, test_list_addr4);
    tcase_add_test(tc, test_route_bad_args);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ns_tun_suite());
}
