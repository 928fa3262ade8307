#include "st_check.h"
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "st_loop.h"

static int order[8], norder;

static void timer_cb(struct st_timer *t)
{
    order[norder++] = (int)(intptr_t)t->data;
    if (norder == 3)
        st_loop_stop(t->loop);
}

START_TEST(timers_fire_in_due_order)
{
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct st_timer a, b, c, d;
    st_timer_init(&a, &loop, timer_cb, (void *)1);
    st_timer_init(&b, &loop, timer_cb, (void *)2);
    st_timer_init(&c, &loop, timer_cb, (void *)3);
    st_timer_init(&d, &loop, timer_cb, (void *)4);
    norder = 0;
    st_timer_start(&c, 30);
    st_timer_start(&a, 1);
    st_timer_start(&d, 5);
    st_timer_start(&b, 10);
    st_timer_stop(&d);
    ck_assert(!st_timer_active(&d));
    ck_assert_int_eq(st_loop_run(&loop), 0);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(order[0], 1);
    ck_assert_int_eq(order[1], 2);
    ck_assert_int_eq(order[2], 3);
    st_loop_fini(&loop);
}
END_TEST

static int io_hits, defer_hits;

static void defer_cb(struct st_defer *d)
{
    ck_assert(!st_loop_dispatching(d->data)); /* after the batch */
    defer_hits++;
    st_loop_stop(d->data);
}

static void io_cb(struct st_io *io, uint32_t ev)
{
    char buf[8];
    ck_assert(ev & EPOLLIN);
    ck_assert_int_eq(read(io->fd, buf, sizeof(buf)), 1);
    ck_assert(st_loop_dispatching(io->loop));
    io_hits++;
}

START_TEST(io_then_deferred)
{
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    struct st_io io;
    st_io_init(&io, &loop, p[0], io_cb, NULL);
    ck_assert_int_eq(st_io_set(&io, EPOLLIN), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    struct st_defer d;
    st_defer_init(&d, defer_cb, &loop);
    st_defer_queue(&loop, &d);
    st_defer_queue(&loop, &d); /* twice is once */
    io_hits = defer_hits = 0;
    ck_assert(!st_loop_dispatching(&loop));
    ck_assert_int_eq(st_loop_run(&loop), 0);
    ck_assert(!st_loop_dispatching(&loop));
    ck_assert_int_eq(defer_hits, 1);
    ck_assert_int_eq(io_hits, 1);
    st_io_stop(&io);
    close(p[0]);
    close(p[1]);
    st_loop_fini(&loop);
}
END_TEST

/* Timers of a second or more fall due on the 16 ms grid (many expire in one wake-up); shorter
 * ones keep their millisecond. */
START_TEST(long_timers_on_a_grid)
{
    struct st_loop loop;
    ck_assert_int_eq(st_loop_init(&loop), 0);
    struct st_timer a, b;
    st_timer_init(&a, &loop, timer_cb, (void *)1);
    st_timer_init(&b, &loop, timer_cb, (void *)2);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    st_timer_start(&a, 5000);
    st_timer_start(&b, 7);
    ck_assert_uint_eq(a.due_ms % ST_TIMER_GRID_MS, 0);
    ck_assert_uint_ge(a.due_ms, now + 5000);
    ck_assert_uint_lt(a.due_ms, now + 5000 + ST_TIMER_GRID_MS + 5);
    ck_assert_uint_ge(b.due_ms, now + 7);
    ck_assert_uint_le(b.due_ms, now + 7 + 5);
    st_timer_stop(&a);
    st_timer_stop(&b);
    ck_assert(!st_timer_active(&a));
    st_loop_fini(&loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, timers_fire_in_due_order);
    tcase_add_test(tc, io_then_deferred);
    tcase_add_test(tc, long_timers_on_a_grid);
    suite_add_tcase(s, tc);
    return st_check_run(s);
}
