#include "gw_probe.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void close_one(struct gw_probe_one *p)
{
    if (p->io.fd < 0)
        return;
    st_io_stop(&p->io);
    close(p->io.fd);
    p->io.fd = -1;
}

/* One probe ended with rtt_us (0: failed); the round ends with the last. */
static void finish(struct gw_probe_one *p, uint32_t rtt_us)
{
    struct gw_probes *ps = p->ps;
    struct st_sockaddr addr = p->addr;
    close_one(p);
    ps->pending--;
    ps->result(ps->arg, &addr, rtt_us);
    if (!ps->pending) {
        st_timer_stop(&ps->timeout);
        ps->done(ps->arg);
    }
}

static void on_connect(struct st_io *io, uint32_t events)
{
    (void)events;
    struct gw_probe_one *p = io->data;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    uint64_t took = mono_us() - p->started_us;
    finish(p, err ? 0 : (uint32_t)(took ? (took < UINT32_MAX ? took : UINT32_MAX) : 1));
}

static void on_timeout(struct st_timer *t)
{
    struct gw_probes *ps = t->data;
    if (!ps->pending) { /* no probe could start */
        ps->done(ps->arg);
        return;
    }
    for (size_t i = 0; i < GW_PROBE_MAX && ps->pending; i++)
        if (ps->one[i].io.fd >= 0)
            finish(&ps->one[i], 0); /* the last one ends the round */
}

void gw_probes_init(struct gw_probes *ps, struct st_loop *loop, gw_probe_result_cb result,
                    gw_probe_done_cb done, void *arg)
{
    *ps = (struct gw_probes){.loop = loop, .result = result, .done = done, .arg = arg};
    for (size_t i = 0; i < GW_PROBE_MAX; i++) {
        st_io_init(&ps->one[i].io, loop, -1, on_connect, &ps->one[i]);
        ps->one[i].ps = ps;
    }
    st_timer_init(&ps->timeout, loop, on_timeout, ps);
}

static bool start_one(struct gw_probe_one *p, const struct st_sockaddr *a)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    p->addr = *a;
    p->started_us = mono_us();
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
        close(fd);
        return false;
    }
    st_io_init(&p->io, p->ps->loop, fd, on_connect, p);
    if (st_io_set(&p->io, EPOLLOUT) < 0) {
        close(fd);
        p->io.fd = -1;
        return false;
    }
    return true;
}

void gw_probes_start(struct gw_probes *ps, const struct gw_edge_target *t, size_t n)
{
    gw_probes_stop(ps);
    for (size_t i = 0; i < n && i < GW_PROBE_MAX; i++)
        ps->pending += start_one(&ps->one[ps->pending], &t[i].addr);
    /* with none started the timer ends the round at once (done from the loop) */
    st_timer_start(&ps->timeout, ps->pending ? GW_PROBE_TIMEOUT_MS : 0);
}

bool gw_probes_busy(const struct gw_probes *ps)
{
    return ps->pending || st_timer_active(&ps->timeout);
}

void gw_probes_stop(struct gw_probes *ps)
{
    for (size_t i = 0; i < GW_PROBE_MAX; i++)
        close_one(&ps->one[i]);
    ps->pending = 0;
    st_timer_stop(&ps->timeout);
}
