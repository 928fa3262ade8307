#include "st_h2rx.h"

#include <assert.h>

void st_h2rx_init(struct st_h2rx *rx, size_t budget)
{
    rx->queued = 0;
    rx->owed = 0;
    rx->budget = budget;
}

/* Returns connection window: all that bytes no longer queued still owe, and for queued
 * bytes as long as those whose window is back stay within the budget. */
static void repay(struct st_h2rx *rx, nghttp2_session *s)
{
    size_t give = rx->owed > rx->queued ? rx->owed - rx->queued : 0;
    size_t owed = rx->owed - give, back = rx->queued - owed;
    if (back < rx->budget)
        give += owed < rx->budget - back ? owed : rx->budget - back;
    if (!give)
        return;
    rx->owed -= give;
    nghttp2_session_consume_connection(s, give);
}

void st_h2rx_queued(struct st_h2rx *rx, nghttp2_session *s, size_t n)
{
    rx->queued += n;
    rx->owed += n;
    repay(rx, s);
}

static void forget(struct st_h2rx *rx, size_t n)
{
    assert(n <= rx->queued); /* a byte taken or dropped twice, or never queued */
    rx->queued -= n < rx->queued ? n : rx->queued;
}

void st_h2rx_taken(struct st_h2rx *rx, nghttp2_session *s, int32_t sid, struct st_h2rx_stream *w,
                   int32_t initial, int32_t max, size_t n)
{
    if (!n)
        return;
    forget(rx, n);
    nghttp2_session_consume_stream(s, sid, n);
    repay(rx, s);
    if (!w)
        return;
    if (!w->window)
        w->window = initial;
    w->taken += n;
    if (w->window < max && w->taken >= (size_t)w->window) {
        w->window = w->window > max / 2 ? max : w->window * 2;
        w->taken = 0;
        nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, sid, w->window);
    }
}

void st_h2rx_dropped(struct st_h2rx *rx, nghttp2_session *s, size_t n)
{
    forget(rx, n);
    repay(rx, s);
}
