#ifndef SUBTUNNEL_ST_LOOP_H
#define SUBTUNNEL_ST_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Single-threaded epoll loop: fd watchers, timers (one timerfd over a binary heap),
 * signals (signalfd) and deferred callbacks that run after the current I/O batch. */

struct st_loop;
struct st_io;
struct st_timer;
struct st_defer;

typedef void (*st_io_cb)(struct st_io *io, uint32_t events);
typedef void (*st_timer_cb)(struct st_timer *t);
typedef void (*st_defer_cb)(struct st_defer *d);
typedef void (*st_signal_cb)(struct st_loop *loop, int signo, void *data);

struct st_io {
    struct st_loop *loop;
    int fd;
    uint32_t events;
    st_io_cb cb;
    void *data;
};

struct st_timer {
    struct st_loop *loop;
    uint64_t due_ms;
    size_t heap_idx; /* SIZE_MAX when not armed */
    st_timer_cb cb;
    void *data;
};

struct st_defer {
    struct st_defer *next;
    bool queued;
    st_defer_cb cb;
    void *data;
};

struct st_loop {
    int epfd;
    int timerfd;
    int sigfd;
    bool stop;
    bool dispatching; /* fd, timer and signal callbacks of an epoll batch are running */
    uint64_t round;   /* epoll batches so far (st_loop_round) */
    uint64_t now_ms;
    struct st_heap_ent {
        uint64_t due_ms; /* a copy of t->due_ms: comparisons stay within the array */
        struct st_timer *t;
    } * heap;
    size_t heap_len, heap_cap;
    uint64_t armed_ms;   /* the timerfd's due time (0: disarmed) */
    bool running_timers; /* expired timers run: the timerfd is armed once afterwards */
    struct st_defer *defer_head, *defer_tail;
    st_signal_cb sig_cb;
    void *sig_data;
    void (*idle_cb)(void *data); /* called once per iteration before waiting */
    void *idle_data;
};

/* Creates epoll and timer fds. Returns 0 or -errno. */
int st_loop_init(struct st_loop *loop);
void st_loop_fini(struct st_loop *loop);
/* Runs until st_loop_stop(); returns 0 or -errno from epoll_wait. */
int st_loop_run(struct st_loop *loop);
void st_loop_stop(struct st_loop *loop);
/* True while the loop runs the fd, timer and signal callbacks of one epoll batch: later
 * events of that batch may still point at any st_io, so an owner freed now must keep its
 * st_io memory until the batch ends (free from a deferred callback). False in deferred
 * callbacks and outside st_loop_run. */
bool st_loop_dispatching(const struct st_loop *loop);
/* Which epoll batch is running: callbacks that ration work per batch compare it. */
uint64_t st_loop_round(const struct st_loop *loop);
/* Monotonic milliseconds, refreshed every iteration. */
uint64_t st_loop_now(struct st_loop *loop);
/* Wall-clock seconds since the epoch (CLOCK_REALTIME): for expiry times from configs and
 * tokens, never for timers. */
int64_t st_wall_seconds(void);
/* Monotonic microseconds, read now (not cached per iteration): for measuring short
 * intervals such as round trips. */
uint64_t st_mono_us(void);
/* Blocks the signals in `set` and delivers them to cb through a signalfd. */
int st_loop_signals(struct st_loop *loop, const sigset_t *set, st_signal_cb cb, void *data);

void st_io_init(struct st_io *io, struct st_loop *loop, int fd, st_io_cb cb, void *data);
/* Registers or updates the interest set (EPOLLIN/EPOLLOUT...). 0 or -errno. */
int st_io_set(struct st_io *io, uint32_t events);
/* Removes the fd from epoll (does not close it). */
void st_io_stop(struct st_io *io);

void st_timer_init(struct st_timer *t, struct st_loop *loop, st_timer_cb cb, void *data);
/* (Re)arms the timer to fire once after `ms` milliseconds; from ST_TIMER_COARSE_MS on, up
 * to ST_TIMER_GRID_MS - 1 later (due times on a grid, so that many expire in one wake-up). */
#define ST_TIMER_COARSE_MS 1000
#define ST_TIMER_GRID_MS 16
void st_timer_start(struct st_timer *t, uint64_t ms);
void st_timer_stop(struct st_timer *t);
bool st_timer_active(const struct st_timer *t);

void st_defer_init(struct st_defer *d, st_defer_cb cb, void *data);
/* Queues d to run once after the current batch; queuing twice is a no-op. */
void st_defer_queue(struct st_loop *loop, struct st_defer *d);
/* Removes d from the queue if it is queued (call before freeing its owner). */
void st_defer_cancel(struct st_loop *loop, struct st_defer *d);

#endif
