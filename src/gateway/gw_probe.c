#include "gw_probe.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void close_one(struct gw_probe_one *p)
{
    if (p->io.fd < 0)
        return;
    st_io_stop(&p->io);
    close(p->io.fd);
    p->io.fd = -1;
}

/* Every target's best time goes out, then the end of the round. */
static void report(struct gw_probes *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        ps->result(ps->arg, &ps->one[i].addr, ps->one[i].best_us);
    ps->n = 0;
    ps->done(ps->arg);
}

/* One connect ended after took_us (0: failed); the try ends with the last, the round after
 * GW_PROBE_TRIES tries (GW_PROBE_GAP_MS apart). */
static void finish(struct gw_probe_one *p, uint64_t took_us)
{
    struct gw_probes *ps = p->ps;
    close_one(p);
    if (took_us) {
        uint32_t t = took_us < UINT32_MAX ? (uint32_t)took_us : UINT32_MAX;
        if (!p->best_us || t < p->best_us)
            p->best_us = t;
    }
    if (--ps->pending)
        return;
    ps->tries++;
    st_timer_start(&ps->timer, GW_PROBE_GAP_MS); /* the next try, or the report */
}

static void on_connect(struct st_io *io, uint32_t events)
{
    (void)events;
    struct gw_probe_one *p = io->data;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    uint64_t took = st_mono_us() - p->started_us;
    finish(p, err ? 0 : (took ? took : 1));
}

static bool start_one(struct gw_probe_one *p)
{
    int fd = socket(p->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    p->started_us = st_mono_us();
    if (connect(fd, (const struct sockaddr *)&p->addr.ss, p->addr.len) < 0 &&
        errno != EINPROGRESS) {
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

/* The timer: a try timed out (its open connects failed), or the gap before the next try
 * (or the report) has passed. */
static void on_timer(struct st_timer *t)
{
    struct gw_probes *ps = t->data;
    if (ps->pending) {
        for (size_t i = 0; i < ps->n && ps->pending; i++)
            if (ps->one[i].io.fd >= 0)
                finish(&ps->one[i], 0); /* the last one schedules what follows */
        return;
    }
    if (ps->tries >= GW_PROBE_TRIES) {
        report(ps);
        return;
    }
    for (size_t i = 0; i < ps->n; i++)
        ps->pending += start_one(&ps->one[i]);
    if (ps->pending)
        st_timer_start(t, GW_PROBE_TIMEOUT_MS);
    else
        ps->tries++, st_timer_start(t, GW_PROBE_GAP_MS); /* none could start */
}

void gw_probes_init(struct gw_probes *ps, struct st_loop *loop, gw_probe_result_cb result,
                    gw_probe_done_cb done, void *arg)
{
    *ps = (struct gw_probes){.loop = loop, .result = result, .done = done, .arg = arg};
    for (size_t i = 0; i < GW_PROBE_MAX; i++) {
        st_io_init(&ps->one[i].io, loop, -1, on_connect, &ps->one[i]);
        ps->one[i].ps = ps;
    }
    st_timer_init(&ps->timer, loop, on_timer, ps);
}

void gw_probes_start(struct gw_probes *ps, const struct gw_edge_target *t, size_t n)
{
    gw_probes_stop(ps);
    ps->n = n < GW_PROBE_MAX ? n : GW_PROBE_MAX;
    for (size_t i = 0; i < ps->n; i++) {
        ps->one[i].addr = t[i].addr;
        ps->one[i].best_us = 0;
    }
    st_timer_start(&ps->timer, 0); /* the first try, from the loop */
}

void gw_probes_stop(struct gw_probes *ps)
{
    for (size_t i = 0; i < GW_PROBE_MAX; i++)
        close_one(&ps->one[i]);
    ps->pending = ps->tries = ps->n = 0;
    st_timer_stop(&ps->timer);
}
