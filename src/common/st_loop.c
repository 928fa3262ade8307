#include "st_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "st_log.h"

#define MAX_EVENTS 256

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Marker objects so the dispatcher can tell the internal fds apart. */
static struct st_io timer_marker, signal_marker;

int st_loop_init(struct st_loop *loop)
{
    memset(loop, 0, sizeof(*loop));
    loop->sigfd = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return -errno;
    loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (loop->timerfd < 0)
        goto fail_close_ep;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &timer_marker};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->timerfd, &ev) < 0)
        goto fail_close_timer;
    loop->now_ms = mono_ms();
    return 0;

fail_close_timer:
    close(loop->timerfd);
fail_close_ep : {
    int err = -errno;
    close(loop->epfd);
    return err;
}
}

void st_loop_fini(struct st_loop *loop)
{
    if (loop->sigfd >= 0)
        close(loop->sigfd);
    close(loop->timerfd);
    close(loop->epfd);
    free(loop->heap);
    memset(loop, 0, sizeof(*loop));
}

void st_loop_stop(struct st_loop *loop)
{
    loop->stop = true;
}

bool st_loop_dispatching(const struct st_loop *loop)
{
    return loop->dispatching;
}

uint64_t st_loop_round(const struct st_loop *loop)
{
    return loop->round;
}

uint64_t st_loop_now(struct st_loop *loop)
{
    return loop->now_ms;
}

int st_loop_signals(struct st_loop *loop, const sigset_t *set, st_signal_cb cb, void *data)
{
    if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
        return -errno;
    loop->sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (loop->sigfd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &signal_marker};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->sigfd, &ev) < 0)
        return -errno;
    loop->sig_cb = cb;
    loop->sig_data = data;
    return 0;
}

void st_io_init(struct st_io *io, struct st_loop *loop, int fd, st_io_cb cb, void *data)
{
    io->loop = loop;
    io->fd = fd;
    io->events = 0;
    io->cb = cb;
    io->data = data;
}

int st_io_set(struct st_io *io, uint32_t events)
{
    if (events == io->events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    int op = io->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (events == 0)
        op = EPOLL_CTL_DEL;
    if (epoll_ctl(io->loop->epfd, op, io->fd, &ev) < 0)
        return -errno;
    io->events = events;
    return 0;
}

void st_io_stop(struct st_io *io)
{
    if (io->events && io->fd >= 0)
        epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->events = 0;
}

/* ---- timers: binary min-heap on due_ms ---- */

static void heap_swap(struct st_loop *loop, size_t a, size_t b)
{
    struct st_heap_ent e = loop->heap[a];
    loop->heap[a] = loop->heap[b];
    loop->heap[b] = e;
    loop->heap[a].t->heap_idx = a;
    loop->heap[b].t->heap_idx = b;
}

static void heap_up(struct st_loop *loop, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (loop->heap[p].due_ms <= loop->heap[i].due_ms)
            break;
        heap_swap(loop, p, i);
        i = p;
    }
}

static void heap_down(struct st_loop *loop, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < loop->heap_len && loop->heap[l].due_ms < loop->heap[m].due_ms)
            m = l;
        if (r < loop->heap_len && loop->heap[r].due_ms < loop->heap[m].due_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(loop, i, m);
        i = m;
    }
}

/* timerfd_settime is a costly system call on some VMs (40 % of an edge's CPU with 10,000
 * tunnels' heartbeats when every expiry re-armed it): only when the earliest due time
 * changed, and once per batch of expiries (run_timers). */
static void arm_timerfd(struct st_loop *loop)
{
    struct itimerspec its = {0};
    uint64_t due = loop->heap_len ? loop->heap[0].due_ms : 0;
    if (loop->running_timers || due == loop->armed_ms)
        return;
    loop->armed_ms = due;
    if (due) {
        its.it_value.tv_sec = (time_t)(due / 1000);
        its.it_value.tv_nsec = (long)(due % 1000) * 1000000 + 1;
    }
    timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void st_timer_init(struct st_timer *t, struct st_loop *loop, st_timer_cb cb, void *data)
{
    t->loop = loop;
    t->due_ms = 0;
    t->heap_idx = SIZE_MAX;
    t->cb = cb;
    t->data = data;
}

bool st_timer_active(const struct st_timer *t)
{
    return t->heap_idx != SIZE_MAX;
}

void st_timer_stop(struct st_timer *t)
{
    struct st_loop *loop = t->loop;
    size_t i = t->heap_idx;
    if (i == SIZE_MAX)
        return;
    t->heap_idx = SIZE_MAX;
    loop->heap_len--;
    if (i != loop->heap_len) {
        loop->heap[i] = loop->heap[loop->heap_len];
        loop->heap[i].t->heap_idx = i;
        heap_down(loop, i);
        heap_up(loop, i);
    }
    if (i == 0)
        arm_timerfd(loop);
}

void st_timer_start(struct st_timer *t, uint64_t ms)
{
    struct st_loop *loop = t->loop;
    st_timer_stop(t);
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        struct st_heap_ent *h = realloc(loop->heap, cap * sizeof(*h));
        if (!h) {
            st_err("timer heap: out of memory");
            abort();
        }
        loop->heap = h;
        loop->heap_cap = cap;
    }
    t->due_ms = mono_ms() + ms;
    /* Long timers (heartbeats, timeouts) fall due on a coarse grid, so that thousands of them
     * expire together in a few wake-ups instead of one wake-up each. */
    if (ms >= ST_TIMER_COARSE_MS)
        t->due_ms = (t->due_ms + ST_TIMER_GRID_MS - 1) / ST_TIMER_GRID_MS * ST_TIMER_GRID_MS;
    t->heap_idx = loop->heap_len;
    loop->heap[loop->heap_len++] = (struct st_heap_ent){t->due_ms, t};
    heap_up(loop, t->heap_idx);
    if (t->heap_idx == 0)
        arm_timerfd(loop);
}

static void run_timers(struct st_loop *loop)
{
    uint64_t exp;
    if (read(loop->timerfd, &exp, sizeof(exp)) < 0) /* one read takes every expiry */
        (void)exp;
    loop->armed_ms = 0; /* it fired (or was never armed): the next arm must happen */
    uint64_t now = mono_ms();
    loop->running_timers = true;
    for (int n = 0; loop->heap_len && loop->heap[0].due_ms <= now && n < 100000; n++) {
        struct st_timer *t = loop->heap[0].t;
        st_timer_stop(t);
        t->cb(t);
    }
    loop->running_timers = false;
    arm_timerfd(loop);
}

/* ---- deferred callbacks ---- */

void st_defer_init(struct st_defer *d, st_defer_cb cb, void *data)
{
    d->next = NULL;
    d->queued = false;
    d->cb = cb;
    d->data = data;
}

void st_defer_queue(struct st_loop *loop, struct st_defer *d)
{
    if (d->queued)
        return;
    d->queued = true;
    d->next = NULL;
    if (loop->defer_tail)
        loop->defer_tail->next = d;
    else
        loop->defer_head = d;
    loop->defer_tail = d;
}

void st_defer_cancel(struct st_loop *loop, struct st_defer *d)
{
    if (!d->queued)
        return;
    struct st_defer **pp = &loop->defer_head, *prev = NULL;
    while (*pp && *pp != d) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = d->next;
        if (loop->defer_tail == d)
            loop->defer_tail = prev;
    }
    d->queued = false;
    d->next = NULL;
}

static void run_deferred(struct st_loop *loop)
{
    /* Bounded: callbacks queued while this runs wait for the next iteration. */
    size_t n = 0;
    for (struct st_defer *d = loop->defer_head; d; d = d->next)
        n++;
    while (n-- && loop->defer_head) {
        struct st_defer *d = loop->defer_head;
        loop->defer_head = d->next;
        if (!loop->defer_head)
            loop->defer_tail = NULL;
        d->queued = false;
        d->next = NULL;
        d->cb(d);
    }
}

static void run_signals(struct st_loop *loop)
{
    struct signalfd_siginfo si;
    while (read(loop->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        if (loop->sig_cb)
            loop->sig_cb(loop, (int)si.ssi_signo, loop->sig_data);
}

int st_loop_run(struct st_loop *loop)
{
    struct epoll_event evs[MAX_EVENTS];
    while (!loop->stop) {
        if (loop->idle_cb)
            loop->idle_cb(loop->idle_data);
        int timeout = loop->defer_head ? 0 : -1;
        int n = epoll_wait(loop->epfd, evs, MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        loop->now_ms = mono_ms();
        loop->round++;
        loop->dispatching = true;
        for (int i = 0; i < n; i++) {
            struct st_io *io = evs[i].data.ptr;
            if (io == &timer_marker)
                run_timers(loop);
            else if (io == &signal_marker)
                run_signals(loop);
            else if (io->events) /* stopped earlier in this batch: skip */
                io->cb(io, evs[i].events);
        }
        loop->dispatching = false;
        run_deferred(loop);
    }
    return 0;
}

int64_t st_wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

uint64_t st_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
