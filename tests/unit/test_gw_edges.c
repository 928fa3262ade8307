#include "gw_edges.h"

#include "st_check.h"
#include <stdio.h>
#include <string.h>

static struct gw_edge_target target(const char *name, const char *addr, uint16_t prio,
                                    uint16_t weight)
{
    struct gw_edge_target t;

    memset(&t, 0, sizeof(t));
    ck_assert_int_eq(st_sockaddr_parse(addr, &t.addr), 0);
    t.priority = prio;
    t.weight = weight;
    snprintf(t.name, sizeof(t.name), "%s", name);
    return t;
}

static const char *addr_of(const struct gw_edge_target *t)
{
    static char buf[64];

    ck_assert_int_eq(st_sockaddr_format(&t->addr, buf, sizeof(buf)), 0);
    return buf;
}

/* Counts the slots of each target. */
static void count_slots(const size_t *slots, size_t n_slots, size_t *count, size_t n)
{
    memset(count, 0, n * sizeof(*count));
    for (size_t i = 0; i < n_slots; i++) {
        ck_assert_uint_lt(slots[i], n);
        count[slots[i]]++;
    }
}

START_TEST(test_sort_order)
{
    struct gw_edge_target t[] = {
        target("b.lab.test", "198.18.0.2:7844", 10, 5),
        target("x.lab.test", "[2001:db8::1]:7844", 10, 1),
        target("a.lab.test", "198.18.0.1:7844", 10, 5),
        target("c.lab.test", "198.18.0.3:7844", 5, 1),
        target("x.lab.test", "198.18.0.9:7844", 10, 1),
        target("x.lab.test", "198.18.0.8:7845", 10, 1),
        target("d.lab.test", "198.18.0.4:7844", 10, 9),
    };
    struct gw_edge_target u[7];
    const char *want[] = {"198.18.0.3:7844",   "198.18.0.4:7844", "198.18.0.1:7844",
                          "198.18.0.2:7844",   "198.18.0.8:7845", "198.18.0.9:7844",
                          "[2001:db8::1]:7844"};

    /* the same set in reverse order sorts to the same array */
    for (size_t i = 0; i < 7; i++)
        u[i] = t[6 - i];
    ck_assert_uint_eq(gw_edges_sort(t, 7), 7);
    ck_assert_uint_eq(gw_edges_sort(u, 7), 7);
    for (size_t i = 0; i < 7; i++) {
        ck_assert_str_eq(addr_of(&t[i]), want[i]);
        ck_assert_str_eq(t[i].name, u[i].name);
        ck_assert_str_eq(addr_of(&u[i]), want[i]);
    }
    ck_assert_uint_eq(t[0].priority, 5);
    ck_assert_uint_eq(t[1].weight, 9);
    ck_assert_uint_eq(gw_edges_sort(t, 0), 0);
}
END_TEST

START_TEST(test_sort_duplicates)
{
    struct gw_edge_target t[] = {
        target("late.lab.test", "198.18.0.1:7844", 20, 1),
        target("edge1.lab.test", "198.18.0.1:7844", 10, 5),
        target("edge1.lab.test", "198.18.0.1:7845", 10, 5), /* other port: kept */
        target("alias.lab.test", "198.18.0.1:7844", 10, 5),
        target("edge6.lab.test", "[2001:db8::1]:7844", 10, 5),
        target("edge6.lab.test", "[2001:db8::1]:7844", 10, 5),
    };

    ck_assert_uint_eq(gw_edges_sort(t, 6), 3);
    /* the best-ranked copy stays: priority 10 and, among equals, the first name */
    ck_assert_str_eq(t[0].name, "alias.lab.test");
    ck_assert_str_eq(addr_of(&t[0]), "198.18.0.1:7844");
    ck_assert_str_eq(t[1].name, "edge1.lab.test");
    ck_assert_str_eq(addr_of(&t[1]), "198.18.0.1:7845");
    ck_assert_str_eq(addr_of(&t[2]), "[2001:db8::1]:7844");
}
END_TEST

START_TEST(test_assign_equal_weights)
{
    struct gw_edge_target t[] = {
        target("a", "198.18.0.1:7844", 0, 1),
        target("b", "198.18.0.2:7844", 0, 1),
        target("c", "198.18.0.3:7844", 0, 1),
    };
    size_t slots[7];
    const size_t want[] = {0, 1, 2, 0, 1, 2, 0};

    ck_assert_uint_eq(gw_edges_assign(t, 3, 7, slots), 7);
    for (size_t i = 0; i < 7; i++)
        ck_assert_uint_eq(slots[i], want[i]);
}
END_TEST

START_TEST(test_assign_ha_below_n)
{
    struct gw_edge_target t[] = {
        target("a", "198.18.0.1:7844", 0, 1),
        target("b", "198.18.0.2:7844", 0, 1),
        target("c", "198.18.0.3:7844", 1, 1),
        target("d", "198.18.0.4:7844", 2, 1),
    };
    size_t slots[4];

    ck_assert_uint_eq(gw_edges_assign(t, 4, 2, slots), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(slots[i], i);
    ck_assert_uint_eq(gw_edges_assign(t, 4, 0, slots), 4);
    ck_assert_uint_eq(gw_edges_assign(t, 4, 4, slots), 4);
    ck_assert_uint_eq(gw_edges_assign(t, 0, 4, slots), 0);
}
END_TEST

START_TEST(test_assign_weights)
{
    struct gw_edge_target t[] = {
        target("heavy", "198.18.0.1:7844", 0, 3),
        target("light", "198.18.0.2:7844", 0, 1),
    };
    size_t slots[402], count[2];
    const size_t want[] = {0, 1, 0, 0, 1, 0, 0, 0};

    /* base 0,1; extras by smooth WRR over 3:1: 0,0,1,0 | 0,0 */
    ck_assert_uint_eq(gw_edges_assign(t, 2, 8, slots), 8);
    for (size_t i = 0; i < 8; i++)
        ck_assert_uint_eq(slots[i], want[i]);
    count_slots(slots, 8, count, 2);
    ck_assert_uint_eq(count[0], 6);
    ck_assert_uint_eq(count[1], 2);
    /* over whole cycles the extras follow the weights exactly */
    ck_assert_uint_eq(gw_edges_assign(t, 2, 402, slots), 402);
    count_slots(slots + 2, 400, count, 2);
    ck_assert_uint_eq(count[0], 300);
    ck_assert_uint_eq(count[1], 100);
    /* and never drift more than one slot from the exact share on the way */
    for (size_t k = 1; k <= 400; k++) {
        count_slots(slots + 2, k, count, 2);
        ck_assert_uint_le(count[0] * 4, 3 * k + 4);
        ck_assert_uint_ge(count[0] * 4 + 4, 3 * k);
    }
}
END_TEST

START_TEST(test_assign_priorities)
{
    struct gw_edge_target t[] = {
        target("p10a", "198.18.0.1:7844", 10, 3),
        target("p10b", "198.18.0.2:7844", 10, 2),
        target("p20", "198.18.0.3:7844", 20, 50),
        target("p30", "198.18.0.4:7844", 30, 1),
    };
    size_t slots[14], count[4];

    ck_assert_uint_eq(gw_edges_sort(t, 4), 4);
    ck_assert_uint_eq(gw_edges_assign(t, 4, 14, slots), 14);
    count_slots(slots, 14, count, 4);
    ck_assert_uint_eq(count[0], 1 + 6);
    ck_assert_uint_eq(count[1], 1 + 4);
    ck_assert_uint_eq(count[2], 1);
    ck_assert_uint_eq(count[3], 1);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(slots[i], i);
}
END_TEST

START_TEST(test_assign_zero_weights)
{
    struct gw_edge_target zero[] = {
        target("a", "198.18.0.1:7844", 0, 0),
        target("b", "198.18.0.2:7844", 0, 0),
    };
    struct gw_edge_target mixed[] = {
        target("a", "198.18.0.1:7844", 0, 2),
        target("b", "198.18.0.2:7844", 0, 0),
    };
    size_t slots[6], count[2];

    ck_assert_uint_eq(gw_edges_assign(zero, 2, 6, slots), 6);
    count_slots(slots, 6, count, 2);
    ck_assert_uint_eq(count[0], 3);
    ck_assert_uint_eq(count[1], 3);
    ck_assert_uint_eq(gw_edges_assign(mixed, 2, 6, slots), 6);
    count_slots(slots, 6, count, 2);
    ck_assert_uint_eq(count[0], 5);
    ck_assert_uint_eq(count[1], 1);
}
END_TEST

/* select_of: the picks of gw_edges_select as a string of indices, e.g. "0,2" */
static const char *select_of(const struct gw_edge_target *t, const struct gw_edge_state *st,
                             size_t n, unsigned count, uint64_t now)
{
    static char buf[64];
    size_t chosen[8], m = gw_edges_select(t, st, n, count, now, chosen), off = 0;

    ck_assert_uint_eq(m, n < count ? n : count);
    buf[0] = 0;
    for (size_t i = 0; i < m; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%zu", i ? "," : "", chosen[i]);
    return buf;
}

START_TEST(test_select)
{
    struct gw_edge_target t[] = {
        target("a", "198.18.0.1:7844", 10, 1),
        target("b", "198.18.0.2:7844", 10, 5),
        target("c", "198.18.0.3:7844", 10, 1),
        target("d", "198.18.0.4:7844", 20, 9),
    };
    struct gw_edge_state st[4];

    memset(st, 0, sizeof(st));
    /* nothing measured: priority, then weight, then the sort order */
    ck_assert_str_eq(select_of(t, st, 4, 2, 1000), "0,1");
    ck_assert_str_eq(select_of(t, st, 4, 1, 1000), "1");
    ck_assert_str_eq(select_of(t, st, 4, 9, 1000), "0,1,2,3");
    ck_assert_str_eq(select_of(t, st, 2, 2, 1000), "0,1");
    /* measured beats unmeasured; lower whole milliseconds first, then weight */
    st[2].rtt_us = 40000;
    ck_assert_str_eq(select_of(t, st, 4, 1, 1000), "2");
    st[0].rtt_us = 12300;
    st[1].rtt_us = 12900;
    ck_assert_str_eq(select_of(t, st, 4, 2, 1000), "0,1"); /* both 12 ms: weight keeps b */
    ck_assert_str_eq(select_of(t, st, 4, 1, 1000), "1");
    st[1].rtt_us = 13100;
    ck_assert_str_eq(select_of(t, st, 4, 1, 1000), "0");
    /* a chosen edge keeps its place unless another is 25 % faster */
    st[2].chosen = true; /* 40 ms counted as 30 */
    st[0].rtt_us = 31000;
    st[1].rtt_us = 0;
    ck_assert_str_eq(select_of(t, st, 4, 1, 1000), "2");
    st[0].rtt_us = 29000;
    ck_assert_str_eq(select_of(t, st, 4, 1, 1000), "0");
    /* priority before RTT */
    st[3].rtt_us = 100;
    ck_assert_str_eq(select_of(t, st, 4, 3, 1000), "0,1,2");
    /* down edges last, in their usual order; usable again when the time has passed */
    st[0].down_until = 5000;
    st[2].down_until = 5000;
    ck_assert_str_eq(select_of(t, st, 4, 2, 1000), "1,3");
    ck_assert_str_eq(select_of(t, st, 4, 3, 1000), "0,1,3"); /* 0 is faster than 2 */
    ck_assert_str_eq(select_of(t, st, 4, 2, 5000), "0,2");
    ck_assert_uint_eq(gw_edges_select(t, st, 0, 2, 1000, NULL), 0);
}
END_TEST

/* A dual-stack SRV target (A and AAAA: one name, two addresses) is one edge: edge-count 2
 * takes a second edge before the second address of the first. */
START_TEST(test_select_dual_stack)
{
    struct gw_edge_target t[] = {
        target("e1.test", "198.18.0.1:7844", 0, 1),
        target("e1.test", "[2001:db8:2::1]:7844", 0, 1),
        target("e2.test", "198.18.0.2:7844", 0, 1),
        target("e2.test", "[2001:db8:2::2]:7844", 0, 1),
    };
    struct gw_edge_state st[4];

    memset(st, 0, sizeof(st));
    ck_assert_str_eq(select_of(t, st, 4, 2, 1000), "0,2");
    ck_assert_str_eq(select_of(t, st, 4, 3, 1000), "0,1,2");
    st[3].rtt_us = 1000; /* e2's IPv6 address is the fastest: it stands for e2 */
    ck_assert_str_eq(select_of(t, st, 4, 2, 1000), "0,3");
    /* e2 down (both addresses): e1's second address before e2 */
    st[2].down_until = st[3].down_until = 5000;
    ck_assert_str_eq(select_of(t, st, 4, 2, 1000), "0,1");
    ck_assert_str_eq(select_of(t, st, 4, 3, 1000), "0,1,3");
}
END_TEST

START_TEST(test_down_ms)
{
    ck_assert_uint_eq(gw_edges_down_ms(1), GW_EDGES_DOWN_FIRST_MS);
    ck_assert_uint_eq(gw_edges_down_ms(2), 2 * GW_EDGES_DOWN_FIRST_MS);
    ck_assert_uint_eq(gw_edges_down_ms(4), 8 * GW_EDGES_DOWN_FIRST_MS);
    ck_assert_uint_eq(gw_edges_down_ms(5), GW_EDGES_DOWN_MAX_MS);
    ck_assert_uint_eq(gw_edges_down_ms(1000), GW_EDGES_DOWN_MAX_MS);
}
END_TEST

START_TEST(test_backoff)
{
    /* attempts 0: [0, 1 s); then 2, 4, 8, 16 s; capped at 32 s */
    ck_assert_uint_eq(gw_edges_backoff_ms(0, 0, 999), 999);
    ck_assert_uint_eq(gw_edges_backoff_ms(0, 0, 1000), 0);
    ck_assert_uint_eq(gw_edges_backoff_ms(1, 0, 1999), 1999);
    ck_assert_uint_eq(gw_edges_backoff_ms(4, 0, 15999), 15999);
    ck_assert_uint_eq(gw_edges_backoff_ms(5, 0, 31999), 31999);
    ck_assert_uint_eq(gw_edges_backoff_ms(5, 0, 32000), 0);
    ck_assert_uint_eq(gw_edges_backoff_ms(40, 0, 0xffffffffu), 0xffffffffu % 32000);
    for (uint32_t r = 0; r < 100000; r += 997)
        ck_assert_uint_lt(gw_edges_backoff_ms(1000, 0, r * 65537u), 32000);
    /* retry-after from the edge replaces the backoff, plus under 1 s of jitter */
    ck_assert_uint_eq(gw_edges_backoff_ms(0, 5000, 0), 5000);
    ck_assert_uint_eq(gw_edges_backoff_ms(5, 5000, 1999), 5999);
    ck_assert_uint_eq(gw_edges_backoff_ms(2, 60000, 123456), 60456);
}
END_TEST

/* A refused registration: 5 s, 10, 20, ... capped at 300 s, with under 20 % jitter. */
START_TEST(test_refused_backoff)
{
    ck_assert_uint_eq(gw_edges_refused_backoff_ms(1, 0), 5000);
    ck_assert_uint_eq(gw_edges_refused_backoff_ms(1, 999), 5999);
    ck_assert_uint_eq(gw_edges_refused_backoff_ms(1, 1000), 5000);
    ck_assert_uint_eq(gw_edges_refused_backoff_ms(2, 0), 10000);
    ck_assert_uint_eq(gw_edges_refused_backoff_ms(6, 0), 160000);
    ck_assert_uint_eq(gw_edges_refused_backoff_ms(7, 0), 300000);
    ck_assert_uint_eq(gw_edges_refused_backoff_ms(1000000, 59999), 359999);
    for (uint32_t r = 0; r < 100000; r += 997)
        ck_assert_uint_lt(gw_edges_refused_backoff_ms(50, r * 65537u), 360000);
}
END_TEST

static Suite *edges_suite(void)
{
    Suite *s = suite_create("gw_edges");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_sort_order);
    tcase_add_test(tc, test_sort_duplicates);
    tcase_add_test(tc, test_assign_equal_weights);
    tcase_add_test(tc, test_assign_ha_below_n);
    tcase_add_test(tc, test_assign_weights);
    tcase_add_test(tc, test_assign_priorities);
    tcase_add_test(tc, test_assign_zero_weights);
    tcase_add_test(tc, test_select);
    tcase_add_test(tc, test_select_dual_stack);
    tcase_add_test(tc, test_down_ms);
    tcase_add_test(tc, test_backoff);
    tcase_add_test(tc, test_refused_backoff);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(edges_suite());
}
