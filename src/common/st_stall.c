#include "st_stall.h"

void st_stall_init(struct st_stall *s, struct st_loop *loop, st_timer_cb cb, void *data)
{
    st_timer_init(&s->timer, loop, cb, data);
    s->progress_ms = 0;
    s->timeout_ms = 0;
}

void st_stall_waiting(struct st_stall *s, uint64_t timeout_ms)
{
    if (st_timer_active(&s->timer))
        return;
    s->progress_ms = st_loop_now(s->timer.loop);
    s->timeout_ms = timeout_ms;
    st_timer_start(&s->timer, timeout_ms);
}

void st_stall_progress(struct st_stall *s)
{
    s->progress_ms = st_loop_now(s->timer.loop);
}

bool st_stall_expired(struct st_stall *s, bool waiting)
{
    if (!waiting)
        return false;
    uint64_t quiet = st_loop_now(s->timer.loop) - s->progress_ms;
    if (quiet >= s->timeout_ms)
        return true;
    st_timer_start(&s->timer, s->timeout_ms - quiet);
    return false;
}

void st_stall_stop(struct st_stall *s)
{
    st_timer_stop(&s->timer);
}
