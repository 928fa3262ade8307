/* ns_pmtu: path MTU learned from ICMPv6 Packet Too Big quoting lwIP's TCP segments. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ns_pmtu.h"
#include "st_check.h"

/* A PTB from the router 2001:db8:51::1 to 2001:db8:113::10 (lwIP's source) quoting a TCP
 * segment to dst, with the given MTU; the quote has `quoted` bytes past the IPv6 header. */
static size_t ptb(uint8_t *b, const char *dst, uint32_t mtu, size_t quoted)
{
    uint8_t *icmp = b + 40, *in = icmp + 8;

    memset(b, 0, 40 + 8 + 40 + quoted);
    b[0] = 0x60;
    b[6] = 58;
    b[7] = 64;
    inet_pton(AF_INET6, "2001:db8:51::1", b + 8);
    inet_pton(AF_INET6, "2001:db8:113::10", b + 24);
    icmp[0] = 2;
    icmp[4] = (uint8_t)(mtu >> 24);
    icmp[5] = (uint8_t)(mtu >> 16);
    icmp[6] = (uint8_t)(mtu >> 8);
    icmp[7] = (uint8_t)mtu;
    in[0] = 0x60;
    in[6] = 6;
    inet_pton(AF_INET6, "2001:db8:113::10", in + 8);
    inet_pton(AF_INET6, dst, in + 24);
    return 40 + 8 + 40 + quoted;
}

static const uint8_t *a6(const char *s)
{
    static uint8_t b[16];
    inet_pton(AF_INET6, s, b);
    return b;
}

START_TEST(test_learn_and_get)
{
    static struct ns_pmtu t;
    uint8_t b[256];
    size_t n = ptb(b, "2001:db8:51::10", 1400, 20);

    memset(&t, 0, sizeof(t));
    ck_assert_uint_eq(ns_pmtu_get(&t, a6("2001:db8:51::10"), 0), 0);
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 1000), 1400);
    ck_assert_uint_eq(ns_pmtu_get(&t, a6("2001:db8:51::10"), 2000), 1400);
    ck_assert_uint_eq(ns_pmtu_get(&t, a6("2001:db8:51::11"), 2000), 0);
    /* a larger MTU does not raise it; a smaller one lowers it, never under 1280 */
    n = ptb(b, "2001:db8:51::10", 1450, 20);
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 3000), 1400);
    n = ptb(b, "2001:db8:51::10", 600, 20);
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 3000), NS_PMTU_MIN6);
    ck_assert_uint_eq(ns_pmtu_get(&t, a6("2001:db8:51::10"), 3000), NS_PMTU_MIN6);
    /* after NS_PMTU_TTL_MS the entry is gone, and a new message may raise it again */
    ck_assert_uint_eq(ns_pmtu_get(&t, a6("2001:db8:51::10"), 3000 + NS_PMTU_TTL_MS), 0);
    n = ptb(b, "2001:db8:51::10", 1400, 20);
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 3000 + NS_PMTU_TTL_MS), 1400);
    ck_assert_uint_eq(t.n, 1);
}
END_TEST

START_TEST(test_not_a_tcp_ptb)
{
    static struct ns_pmtu t;
    uint8_t b[256];
    size_t n = ptb(b, "2001:db8:51::10", 1400, 20);

    memset(&t, 0, sizeof(t));
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, 40 + 8 + 40 + 3, 0), 0); /* quote cut short */
    b[40 + 8 + 6] = 17;                                             /* quotes UDP */
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 0), 0);
    n = ptb(b, "2001:db8:51::10", 1400, 20);
    b[40] = 1; /* destination unreachable */
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 0), 0);
    n = ptb(b, "2001:db8:51::10", 1400, 20);
    b[6] = 0; /* hop-by-hop header first */
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 0), 0);
    b[6] = 58;
    b[0] = 0x45; /* IPv4 */
    ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 0), 0);
    ck_assert_uint_eq(t.n, 0);
}
END_TEST

/* A full table makes room by replacing the oldest destination. */
START_TEST(test_full_table)
{
    static struct ns_pmtu t;
    uint8_t b[256];
    char dst[64];

    memset(&t, 0, sizeof(t));
    for (unsigned i = 0; i < NS_PMTU_SLOTS + 1; i++) {
        snprintf(dst, sizeof(dst), "2001:db8:51::%x", i + 1);
        size_t n = ptb(b, dst, 1300 + i, 20);
        ck_assert_uint_eq(ns_pmtu_learn(&t, b, n, 100 + i), 1300 + i);
    }
    ck_assert_uint_eq(t.n, NS_PMTU_SLOTS);
    ck_assert_uint_eq(ns_pmtu_get(&t, a6("2001:db8:51::1"), 200), 0); /* the oldest, replaced */
    ck_assert_uint_eq(ns_pmtu_get(&t, a6("2001:db8:51::2"), 200), 1301);
    snprintf(dst, sizeof(dst), "2001:db8:51::%x", NS_PMTU_SLOTS + 1);
    ck_assert_uint_eq(ns_pmtu_get(&t, a6(dst), 200), 1300 + NS_PMTU_SLOTS);
}
END_TEST

static Suite *ns_pmtu_suite(void)
{
    Suite *s = suite_create("ns_pmtu");
    TCase *tc = tcase_create("ptb");
    tcase_add_test(tc, test_learn_and_get);
    tcase_add_test(tc, test_not_a_tcp_ptb);
    tcase_add_test(tc, test_full_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(ns_pmtu_suite());
}
