/* gw_oqueue: per-origin admission (connections being opened capped, FIFO of waiters with a
 * bound), wake-ups when a slot or an idle connection frees, and group lifetimes. */
#include "gw_oqueue.h"

#include "st_check.h"
#include <errno.h>
#include <netinet/in.h>

static const uint8_t A[16] = {198, 51, 100, 10};
static const uint8_t A1[16] = {198, 51, 100, 11};
/* 2001:db8:51::10 */
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};

static struct gw_ogroup *grp(struct gw_oqueue *q, const char *key)
{
    struct gw_ogroup *g = gw_oqueue_group(q, AF_INET, A, 8000, key, true);
    ck_assert_ptr_nonnull(g);
    return g;
}

START_TEST(groups_by_origin_and_tls_identity)
{
    struct gw_oqueue q;
    gw_oqueue_init(&q);
    struct gw_ogroup *plain = grp(&q, ""), *tls = grp(&q, "tls|1|app.lab.test|");
    ck_assert_ptr_ne(plain, tls);
    ck_assert_ptr_eq(grp(&q, ""), plain);
    ck_assert_ptr_ne(gw_oqueue_group(&q, AF_INET, A, 8001, "", true), plain);
    ck_assert_ptr_ne(gw_oqueue_group(&q, AF_INET, A1, 8000, "", true), plain);
    ck_assert_ptr_null(gw_oqueue_group(&q, AF_INET, A, 9, "", false));
    /* an IPv6 origin is its own group, found again by family and address */
    struct gw_ogroup *v6 = gw_oqueue_group(&q, AF_INET6, A6, 8000, "", true);
    ck_assert_ptr_ne(v6, plain);
    ck_assert_ptr_eq(gw_oqueue_group(&q, AF_INET6, A6, 8000, "", false), v6);
    ck_assert_ptr_null(gw_oqueue_group(&q, AF_INET6, A, 8000, "", false));
    ck_assert_uint_eq(q.n_groups, 5);
    /* unused groups go as soon as they are handed back */
    gw_oqueue_release(&q, tls);
    gw_oqueue_release(&q, v6);
    ck_assert_uint_eq(q.n_groups, 3);
    ck_assert_ptr_null(gw_oqueue_group(&q, AF_INET, A, 8000, "tls|1|app.lab.test|", false));
    gw_oqueue_fini(&q);
    ck_assert_uint_eq(q.n_groups, 0);
}
END_TEST

START_TEST(admit_caps_connecting_and_prefers_idle)
{
    struct gw_oqueue q;
    gw_oqueue_init(&q);
    struct gw_ogroup *g = grp(&q, "");
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 2), GW_OQUEUE_CONNECT);
    gw_oqueue_opening(g);
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 2), GW_OQUEUE_CONNECT);
    gw_oqueue_opening(g);
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 2), GW_OQUEUE_WAIT); /* cap reached */
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 3), GW_OQUEUE_CONNECT);
    gw_oqueue_opened(&q, g); /* one of them opened: a slot frees */
    ck_assert_uint_eq(g->connecting, 1);
    ck_assert_uint_eq(g->open, 1);
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 2), GW_OQUEUE_CONNECT);
    gw_oqueue_parked(&q, g); /* back in the pool after its request */
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 1), GW_OQUEUE_IDLE);
    /* a retry after a stale pooled connection may not reuse one */
    ck_assert_int_eq(gw_oqueue_admit(g, false, false, 1), GW_OQUEUE_WAIT);
    ck_assert_int_eq(gw_oqueue_admit(g, false, false, 2), GW_OQUEUE_CONNECT);
    gw_oqueue_unparked(g);
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 1), GW_OQUEUE_WAIT);
    gw_oqueue_closed(&q, g, true);
    gw_oqueue_closed(&q, g, false);
    ck_assert_uint_eq(q.n_groups, 0); /* the last connection took the group with it */
    gw_oqueue_fini(&q);
}
END_TEST

/* Requests already waiting go first: a new one waits behind them even when a slot or an
 * idle connection is free right now; the head of the queue is not held back by itself. */
START_TEST(admit_first_come_first_served)
{
    struct gw_oqueue q;
    struct gw_owaiter w = {0};
    gw_oqueue_init(&q);
    struct gw_ogroup *g = grp(&q, "");
    ck_assert_int_eq(gw_oqueue_push(&q, g, &w, 10, false), 0);
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 4), GW_OQUEUE_WAIT);
    ck_assert_int_eq(gw_oqueue_admit(g, true, true, 4), GW_OQUEUE_CONNECT);
    gw_oqueue_opening(g);
    gw_oqueue_opened(&q, g);
    gw_oqueue_parked(&q, g);
    ck_assert_int_eq(gw_oqueue_admit(g, false, true, 4), GW_OQUEUE_WAIT);
    ck_assert_int_eq(gw_oqueue_admit(g, true, true, 4), GW_OQUEUE_IDLE);
    gw_oqueue_fini(&q);
}
END_TEST

START_TEST(fifo_with_bound_and_front)
{
    struct gw_oqueue q;
    struct gw_owaiter w[6] = {{0}};
    gw_oqueue_init(&q);
    struct gw_ogroup *g = grp(&q, "");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(gw_oqueue_push(&q, g, &w[i], 3, false), 0);
    ck_assert_int_eq(gw_oqueue_push(&q, g, &w[3], 3, false), -ENOSPC);
    ck_assert(!gw_oqueue_queued(&w[3]));
    ck_assert(gw_oqueue_queued(&w[0]));
    /* a retry goes first, past the bound */
    ck_assert_int_eq(gw_oqueue_push(&q, g, &w[4], 3, true), 0);
    ck_assert_uint_eq(g->waiting, 4);
    ck_assert_uint_eq(q.waiting, 4);
    ck_assert_ptr_eq(gw_oqueue_pop(&q, g), &w[4]);
    ck_assert_ptr_eq(gw_oqueue_pop(&q, g), &w[0]);
    ck_assert(!gw_oqueue_queued(&w[0]));
    ck_assert_int_eq(gw_oqueue_push(&q, g, &w[5], 3, false), 0); /* room again */
    ck_assert_ptr_eq(gw_oqueue_pop(&q, g), &w[1]);
    ck_assert_ptr_eq(gw_oqueue_pop(&q, g), &w[2]);
    ck_assert_ptr_eq(gw_oqueue_pop(&q, g), &w[5]);
    ck_assert_ptr_null(gw_oqueue_pop(&q, g));
    ck_assert_uint_eq(q.waiting, 0);
    /* max 0: nobody waits */
    ck_assert_int_eq(gw_oqueue_push(&q, g, &w[0], 0, false), -ENOSPC);
    gw_oqueue_release(&q, g);
    ck_assert_uint_eq(q.n_groups, 0);
    gw_oqueue_fini(&q);
}
END_TEST

/* A visitor that goes away leaves the queue at once, wherever it is; removing an unqueued
 * waiter is harmless; the last waiter out takes the unused group with it. */
START_TEST(remove_anywhere)
{
    struct gw_oqueue q;
    struct gw_owaiter w[4] = {{0}};
    gw_oqueue_init(&q);
    struct gw_ogroup *g = grp(&q, "");
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(gw_oqueue_push(&q, g, &w[i], 10, false), 0);
    gw_oqueue_remove(&q, &w[1]); /* middle */
    gw_oqueue_remove(&q, &w[1]); /* again: nothing */
    gw_oqueue_remove(&q, &w[3]); /* tail */
    ck_assert_ptr_eq(g->tail, &w[2]);
    ck_assert_int_eq(gw_oqueue_push(&q, g, &w[3], 10, false), 0);
    gw_oqueue_remove(&q, &w[0]); /* head */
    ck_assert_ptr_eq(g->head, &w[2]);
    ck_assert_ptr_null(w[2].prev);
    ck_assert_uint_eq(g->waiting, 2);
    ck_assert_ptr_eq(gw_oqueue_pop(&q, g), &w[2]);
    ck_assert_uint_eq(q.n_groups, 1);
    gw_oqueue_remove(&q, &w[3]);
    ck_assert_uint_eq(q.n_groups, 0);
    ck_assert_uint_eq(q.waiting, 0);
    gw_oqueue_fini(&q);
}
END_TEST

/* Slots freeing and connections parked wake a group with waiters, once; a group without
 * waiters is not woken; a woken group outlives its last waiter until it is served. */
START_TEST(wake_ups)
{
    struct gw_oqueue q;
    struct gw_owaiter w = {0};
    gw_oqueue_init(&q);
    struct gw_ogroup *g = grp(&q, ""), *h = grp(&q, "tls|0||");
    gw_oqueue_opening(g);
    gw_oqueue_opening(g);
    gw_oqueue_opening(h);
    gw_oqueue_opened(&q, g);
    ck_assert_uint_eq(gw_oqueue_woken(&q), 0); /* nobody waits */
    ck_assert_int_eq(gw_oqueue_push(&q, g, &w, 10, false), 0);
    gw_oqueue_closed(&q, g, false); /* a connect failed: a slot frees */
    gw_oqueue_parked(&q, g);
    ck_assert_uint_eq(gw_oqueue_woken(&q), 1);
    gw_oqueue_wake(&q, h);
    ck_assert_uint_eq(gw_oqueue_woken(&q), 2);
    gw_oqueue_remove(&q, &w); /* the visitor left: g stays (woken, and one open) */
    gw_oqueue_unparked(g);
    gw_oqueue_closed(&q, g, true);
    ck_assert_uint_eq(q.n_groups, 2);
    struct gw_ogroup *first = gw_oqueue_next_woken(&q);
    ck_assert_ptr_eq(first, g);
    ck_assert(!g->woken);
    ck_assert_uint_eq(g->pins, 1);
    gw_oqueue_wake(&q, g); /* woken again while served: next round */
    gw_oqueue_unpin(&q, g);
    ck_assert_uint_eq(q.n_groups, 2);
    ck_assert_ptr_eq(gw_oqueue_next_woken(&q), h);
    ck_assert_ptr_eq(gw_oqueue_next_woken(&q), g);
    ck_assert_ptr_null(gw_oqueue_next_woken(&q));
    gw_oqueue_unpin(&q, g);
    ck_assert_uint_eq(q.n_groups, 1); /* g held nothing any more */
    gw_oqueue_unpin(&q, h);
    ck_assert_uint_eq(q.n_groups, 1); /* h: one connection being opened */
    gw_oqueue_closed(&q, h, false);
    ck_assert_uint_eq(q.n_groups, 0);
    gw_oqueue_fini(&q);
}
END_TEST

/* A stalled connection makes the group strict until the given time, once (extensions do
 * not count as new); a strict group outlives its connections until its next use after the
 * period, which forgets it. */
START_TEST(strict_after_a_stall)
{
    struct gw_oqueue q;
    gw_oqueue_init(&q);
    struct gw_ogroup *g = grp(&q, "");
    ck_assert(!gw_oqueue_strict(g, 1000));
    gw_oqueue_opening(g);
    ck_assert(gw_oqueue_stalled(g, 1000, 61000));
    ck_assert(!gw_oqueue_stalled(g, 2000, 62000)); /* already strict: extended */
    ck_assert(!gw_oqueue_stalled(g, 3000, 5000));  /* never shortened */
    ck_assert_uint_eq(g->strict_until, 62000);
    ck_assert(gw_oqueue_strict(g, 61999));
    gw_oqueue_closed(&q, g, false);
    ck_assert_uint_eq(q.n_groups, 1); /* kept: it is strict */
    ck_assert_ptr_eq(gw_oqueue_group(&q, AF_INET, A, 8000, "", false), g);
    ck_assert(!gw_oqueue_strict(g, 62000)); /* over: forgotten */
    ck_assert_uint_eq(g->strict_until, 0);
    gw_oqueue_release(&q, g);
    ck_assert_uint_eq(q.n_groups, 0);
    /* a stall after the period ended starts a new one */
    g = grp(&q, "");
    ck_assert(gw_oqueue_stalled(g, 100, 200));
    ck_assert(gw_oqueue_stalled(g, 300, 400));
    gw_oqueue_fini(&q);
}
END_TEST

/* A burst through a driver that does what gw_origin does: 50 requests at once, at most 3
 * connections being opened, 20 may wait: 3 connect, 20 wait, 27 are refused. Connections
 * open (or fail, and their request goes back to the head) in turns; every admitted
 * request gets a connection, in arrival order, and nothing is left behind. */
struct sim {
    struct gw_oqueue q;
    struct gw_ogroup *g;
    struct gw_owaiter w[50];
    int order[50], n_served, connecting[50], n_connecting;
    bool retried[50];
};

static int idx(const struct sim *s, const struct gw_owaiter *w)
{
    return (int)(w - s->w);
}

static void serve(struct sim *s)
{
    for (size_t n = gw_oqueue_woken(&s->q); n; n--) {
        struct gw_ogroup *g = gw_oqueue_next_woken(&s->q);
        while (g->head && gw_oqueue_admit(g, true, true, 3) == GW_OQUEUE_CONNECT) {
            int i = idx(s, gw_oqueue_pop(&s->q, g));
            gw_oqueue_opening(g);
            s->connecting[s->n_connecting++] = i;
        }
        gw_oqueue_unpin(&s->q, g);
    }
}

START_TEST(burst)
{
    static struct sim s;
    int refused = 0, failures = 0;
    gw_oqueue_init(&s.q);
    s.g = grp(&s.q, "");
    for (int i = 0; i < 50; i++) {
        enum gw_oqueue_act a = gw_oqueue_admit(s.g, false, true, 3);
        if (a == GW_OQUEUE_CONNECT) {
            gw_oqueue_opening(s.g);
            s.connecting[s.n_connecting++] = i;
        } else if (gw_oqueue_push(&s.q, s.g, &s.w[i], 20, false) < 0) {
            refused++;
        }
    }
    ck_assert_int_eq(s.n_connecting, 3);
    ck_assert_int_eq(refused, 27);
    ck_assert_uint_eq(s.g->waiting, 20);
    for (int round = 0; round < 100 && s.n_connecting; round++) {
        int i = s.connecting[0];
        s.n_connecting--;
        for (int k = 0; k < s.n_connecting; k++)
            s.connecting[k] = s.connecting[k + 1];
        if (round % 4 == 1) { /* refused before it opened: tried again, first in line */
            gw_oqueue_closed(&s.q, s.g, false);
            ck_assert_int_eq(gw_oqueue_push(&s.q, s.g, &s.w[i], 20, true), 0);
            gw_oqueue_wake(&s.q, s.g);
            s.retried[i] = true;
            failures++;
        } else {
            gw_oqueue_opened(&s.q, s.g);
            s.order[s.n_served++] = i;
        }
        serve(&s);
        ck_assert_int_le(s.n_connecting, 3);
    }
    ck_assert_int_eq(s.n_served, 23);
    ck_assert_int_gt(failures, 0);
    /* every admitted request (0..22) once; those never retried in arrival order */
    bool seen[23] = {false};
    for (int k = 0, last = -1; k < s.n_served; k++) {
        int i = s.order[k];
        ck_assert_int_lt(i, 23);
        ck_assert(!seen[i]);
        seen[i] = true;
        if (!s.retried[i]) {
            ck_assert_int_gt(i, last);
            last = i;
        }
    }
    ck_assert_uint_eq(s.g->waiting, 0);
    ck_assert_uint_eq(s.g->open, 23);
    for (int k = 0; k < 23; k++)
        gw_oqueue_closed(&s.q, s.g, true);
    ck_assert_uint_eq(s.q.n_groups, 0);
    gw_oqueue_fini(&s.q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gw_oqueue");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, groups_by_origin_and_tls_identity);
    tcase_add_test(tc, admit_caps_connecting_and_prefers_idle);
    tcase_add_test(tc, admit_first_come_first_served);
    tcase_add_test(tc, fifo_with_bound_and_front);
    tcase_add_test(tc, remove_anywhere);
    tcase_add_test(tc, wake_ups);
    tcase_add_test(tc, strict_after_a_stall);
    tcase_add_test(tc, burst);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
