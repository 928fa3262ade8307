/* ns_tun: the rtnetlink address dump (no privilege needed) and the route messages (pure);
 * installing routes needs CAP_NET_ADMIN and is covered by tests/integration/test_reach_routes.sh
 * and test_ipv6_reach.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "ns_tun.h"
#include "st_check.h"

START_TEST(test_list_addr)
{
    struct ns_tun_addr a[256];
    int n = ns_tun_list_addr(a, 256);
    ck_assert_msg(n >= 0, "ns_tun_list_addr: %s", strerror(-n));
    for (int i = 0; i < n; i++) {
        ck_assert(a[i].family == AF_INET || a[i].family == AF_INET6);
        ck_assert_int_ge(a[i].prefix, 0);
        ck_assert_int_le(a[i].prefix, a[i].family == AF_INET ? 32 : 128);
        ck_assert(a[i].ifname[0] != '\0');
        /* loopback carries 127.0.0.1/8 when it is up (a fresh namespace's lo has none) */
        if (strcmp(a[i].ifname, "lo") == 0 && a[i].family == AF_INET &&
            memcmp(a[i].addr, "\x7f\0\0\x01", 4) == 0)
            ck_assert_int_eq(a[i].prefix, 8);
        if (strcmp(a[i].ifname, "lo") == 0 && a[i].family == AF_INET6 &&
            memcmp(a[i].addr, &in6addr_loopback, 16) == 0)
            ck_assert_int_eq(a[i].prefix, 128);
    }
    if (n > 0) /* one slot short: refused as a whole rather than cut */
        ck_assert_int_eq(ns_tun_list_addr(a, (size_t)n - 1), -ENOBUFS);
}
END_TEST

START_TEST(test_route_bad_args)
{
    uint8_t net[16] = {0};
    ck_assert_int_eq(ns_tun_add_route("lo", AF_INET, net, 33, 200), -EINVAL);
    ck_assert_int_eq(ns_tun_del_route("lo", AF_INET, net, -1, 200), -EINVAL);
    ck_assert_int_eq(ns_tun_add_route("lo", AF_INET6, net, 129, 200), -EINVAL);
    ck_assert_int_eq(ns_tun_add_route("lo", AF_UNIX, net, 8, 200), -EINVAL);
    ck_assert_int_eq(ns_tun_add_route("st-no-such-if", AF_INET, net, 24, 200), -ENODEV);
    ck_assert_int_eq(ns_tun_del_route("st-no-such-if", AF_INET6, net, 64, 200), -ENODEV);
    ck_assert_int_eq(ns_tun_no_autoconf6("st-no-such-if"), -ENODEV);
}
END_TEST

struct route_attrs {
    const struct nlattr *tb[RTA_MAX + 1];
};

static int route_attr(const struct nlattr *a, void *data)
{
    struct route_attrs *r = data;
    if (mnl_attr_type_valid(a, RTA_MAX) >= 0)
        r->tb[mnl_attr_get_type(a)] = a;
    return MNL_CB_OK;
}

/* The message for 2001:db8:113::10/64 (host bits set on purpose) via ifindex 7, metric 200. */
START_TEST(test_route_msg6)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct in6_addr net, want;
    struct route_attrs r = {0};
    struct nlmsghdr *nlh;
    const struct rtmsg *rtm;

    inet_pton(AF_INET6, "2001:db8:113::10", &net);
    inet_pton(AF_INET6, "2001:db8:113::", &want);
    nlh = ns_tun_route_msg(buf, true, AF_INET6, &net, 64, 7, 200);
    ck_assert_ptr_nonnull(nlh);
    ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWROUTE);
    ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_CREATE | NLM_F_EXCL);
    rtm = mnl_nlmsg_get_payload(nlh);
    ck_assert_uint_eq(rtm->rtm_family, AF_INET6);
    ck_assert_uint_eq(rtm->rtm_dst_len, 64);
    ck_assert_uint_eq(rtm->rtm_table, RT_TABLE_MAIN);
    ck_assert_uint_eq(rtm->rtm_protocol, NS_TUN_RTPROT);
    ck_assert_uint_eq(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
    ck_assert_uint_eq(rtm->rtm_type, RTN_UNICAST);
    ck_assert_int_ge(mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &r), 0);
    ck_assert_ptr_nonnull(r.tb[RTA_DST]);
    ck_assert_uint_eq(mnl_attr_get_payload_len(r.tb[RTA_DST]), 16);
    ck_assert_mem_eq(mnl_attr_get_payload(r.tb[RTA_DST]), &want, 16);
    ck_assert_uint_eq(mnl_attr_get_u32(r.tb[RTA_OIF]), 7);
    ck_assert_uint_eq(mnl_attr_get_u32(r.tb[RTA_PRIORITY]), 200);

    inet_pton(AF_INET6, "2001:db8:113:1f::10", &net);
    nlh = ns_tun_route_msg(buf, false, AF_INET6, &net, 61, 7, 200);
    ck_assert_uint_eq(nlh->nlmsg_type, RTM_DELROUTE);
    ck_assert_uint_eq(nlh->nlmsg_flags, 0);
    memset(&r, 0, sizeof(r));
    ck_assert_int_ge(mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr, &r), 0);
    ck_assert_uint_eq(((const uint8_t *)mnl_attr_get_payload(r.tb[RTA_DST]))[7], 0x18); /* /61 */
    ck_assert_ptr_null(ns_tun_route_msg(buf, true, AF_INET6, &net, 129, 7, 200));
    ck_assert_ptr_null(ns_tun_route_msg(buf, true, AF_UNIX, &net, 8, 7, 200));
}
END_TEST

START_TEST(test_route_msg4)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct in_addr net = {htonl(0xcb00710a)}; /* 203.0.113.10 */
    struct route_attrs r = {0};
    struct nlmsghdr *nlh = ns_tun_route_msg(buf, true, AF_INET, &net, 24, 3, 0);
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

    ck_assert_uint_eq(rtm->rtm_family, AF_INET);
    ck_assert_uint_eq(rtm->rtm_scope, RT_SCOPE_LINK);
    ck_assert_int_ge(mnl_attr_parse(nlh, sizeof(*rtm), route_attr, &r), 0);
    ck_assert_uint_eq(mnl_attr_get_payload_len(r.tb[RTA_DST]), 4);
    ck_assert_mem_eq(mnl_attr_get_payload(r.tb[RTA_DST]), "\xcb\x00\x71\x00", 4);
    ck_assert_ptr_null(ns_tun_route_msg(buf, true, AF_INET, &net, 33, 3, 0));
}
END_TEST

static Suite *ns_tun_suite(void)
{
    Suite *s = suite_create("ns_tun");
    TCase *tc = tcase_create("netlink");
    tcase_add_test(tc, test_list_addr);
    tcase_add_test(tc, test_route_bad_args);
    tcase_add_test(tc, test_route_msg6);
    tcase_add_test(tc, test_route_msg4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ns_tun_suite());
}
