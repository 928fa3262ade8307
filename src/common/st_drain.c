#include "st_drain.h"

#include <signal.h>

#include "st_log.h"

static void on_check(struct st_timer *t)
{
    struct st_drain *d = t->data;
    size_t busy = d->busy(d->data);
    if (busy == 0) {
        st_info("%s", d->idle_msg);
        st_loop_stop(d->loop);
    } else if (st_loop_now(d->loop) >= d->deadline) {
        st_warn("grace period over with %zu %s: exiting", busy, d->busy_what);
        st_loop_stop(d->loop);
    } else {
        st_timer_start(t, ST_DRAIN_CHECK_MS);
    }
}

static void on_signal(struct st_loop *loop, int signo, void *data)
{
    struct st_drain *d = data;
    if (signo == SIGUSR1) {
        if (d->stats)
            d->stats(d->data);
        return;
    }
    if (signo == SIGHUP) {
        if (d->draining)
            st_info("SIGHUP while draining: configuration not reloaded");
        else
            d->reload(d->data);
        return;
    }
    if (d->draining) {
        st_info("second signal: exiting now");
        st_loop_stop(loop);
        return;
    }
    d->draining = true;
    d->start(d->data, signo);
    d->deadline = st_loop_now(loop) + d->grace_ms;
    st_timer_start(&d->timer, 0);
}

int st_drain_install(struct st_drain *d, struct st_loop *loop)
{
    d->loop = loop;
    d->draining = false;
    st_timer_init(&d->timer, loop, on_check, d);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (d->stats)
        sigaddset(&set, SIGUSR1);
    return st_loop_signals(loop, &set, on_signal, d);
}
