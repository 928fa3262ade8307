/* gw_tuples: the expose side's table of live 4-tuples (unique local ports without lwIP's
 * walk over every pcb). */
#include <stdlib.h>

#include "gw_tuples.h"
#include "st_check.h"

static struct gw_tuple tup(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
    return (struct gw_tuple){.lip = lip, .lport = lport, .rip = rip, .rport = rport};
}

START_TEST(test_add_has_del)
{
    struct gw_tuples t;
    gw_tuples_init(&t);
    ck_assert(!gw_tuples_has(&t, 1, 2, 3, 4)); /* empty, no slots yet */
    struct gw_tuple a = tup(1, 2, 3, 4), b = tup(1, 2, 3, 5), c = tup(1, 2, 9, 4);
    ck_assert_int_eq(gw_tuples_add(&t, &a), 0);
    ck_assert(gw_tuples_has(&t, 1, 2, 3, 4));
    /* a clash needs all four fields: another remote port or address is another tuple */
    ck_assert(!gw_tuples_has(&t, 1, 2, 3, 5));
    ck_assert(!gw_tuples_has(&t, 1, 2, 9, 4));
    ck_assert(!gw_tuples_has(&t, 7, 2, 3, 4));
    ck_assert(!gw_tuples_has(&t, 1, 8, 3, 4));
    ck_assert_int_eq(gw_tuples_add(&t, &b), 0);
    ck_assert_int_eq(gw_tuples_add(&t, &c), 0);
    ck_assert_uint_eq(t.n, 3);
    gw_tuples_del(&t, &b);
    ck_assert_uint_eq(t.n, 2);
    ck_assert(!gw_tuples_has(&t, 1, 2, 3, 5));
    ck_assert(gw_tuples_has(&t, 1, 2, 3, 4));
    ck_assert(gw_tuples_has(&t, 1, 2, 9, 4));
    gw_tuples_del(&t, &a);
    gw_tuples_del(&t, &c);
    ck_assert_uint_eq(t.n, 0);
    ck_assert(!gw_tuples_has(&t, 1, 2, 3, 4));
    gw_tuples_fini(&t);
}
END_TEST

/* 200000 entries: the table grows, every one stays findable, deletes leave the others. */
START_TEST(test_grow_many)
{
    enum { N = 200000 };
    struct gw_tuples t;
    struct gw_tuple *e = calloc(N, sizeof(*e));
    ck_assert_ptr_nonnull(e);
    gw_tuples_init(&t);
    for (uint32_t i = 0; i < N; i++) {
        e[i] = tup(0x0a000001 + (i >> 16), (uint16_t)i, 0xc0000201, 80);
        ck_assert_int_eq(gw_tuples_add(&t, &e[i]), 0);
    }
    ck_assert_uint_eq(t.n, N);
    ck_assert_uint_ge(t.mask + 1, N); /* grown to a load of at most one entry per slot */
    for (uint32_t i = 0; i < N; i += 2)
        gw_tuples_del(&t, &e[i]);
    for (uint32_t i = 0; i < N; i++)
        ck_assert(gw_tuples_has(&t, e[i].lip, e[i].lport, e[i].rip, e[i].rport) == (i % 2 == 1));
    ck_assert_uint_eq(t.n, N / 2);
    gw_tuples_fini(&t);
    free(e);
}
END_TEST

START_TEST(test_pick_port)
{
    struct gw_tuples t;
    gw_tuples_init(&t);
    struct gw_tuple e[3];
    /* ports 100..102 toward 3:4: two taken, the free one is found */
    e[0] = tup(1, 100, 3, 4);
    e[1] = tup(1, 102, 3, 4);
    ck_assert_int_eq(gw_tuples_add(&t, &e[0]), 0);
    ck_assert_int_eq(gw_tuples_add(&t, &e[1]), 0);
    for (int i = 0; i < 50; i++)
        ck_assert_uint_eq(gw_tuples_pick_port(&t, 1, 3, 4, 100, 102, 200), 101);
    /* toward another destination every port is free */
    uint16_t p = gw_tuples_pick_port(&t, 1, 3, 5, 100, 102, 1);
    ck_assert(p >= 100 && p <= 102);
    /* all taken: 0 after the bounded tries; bad ranges: 0 */
    e[2] = tup(1, 101, 3, 4);
    ck_assert_int_eq(gw_tuples_add(&t, &e[2]), 0);
    ck_assert_uint_eq(gw_tuples_pick_port(&t, 1, 3, 4, 100, 102, 64), 0);
    ck_assert_uint_eq(gw_tuples_pick_port(&t, 1, 3, 4, 0, 102, 64), 0);
    ck_assert_uint_eq(gw_tuples_pick_port(&t, 1, 3, 4, 200, 100, 64), 0);
    gw_tuples_fini(&t);
}
END_TEST

static Suite *gw_tuples_suite(void)
{
    Suite *s = suite_create("gw_tuples");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_add_has_del);
    tcase_add_test(tc, test_grow_many);
    tcase_add_test(tc, test_pick_port);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return st_check_run(gw_tuples_suite());
}
