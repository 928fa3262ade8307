#ifndef SUBTUNNEL_ST_STALL_H
#define SUBTUNNEL_ST_STALL_H

#include <stdbool.h>
#include <stdint.h>

#include "st_loop.h"

/* Watches a queue that a reader drains: the timer fires once bytes have waited for
 * `timeout` ms without the reader taking any. Progress costs no timer operation (only a
 * time stamp); the timer re-arms itself for what is left. */

struct st_stall {
    struct st_timer timer;
    uint64_t progress_ms; /* the reader last took bytes, or the wait began */
    uint64_t timeout_ms;
};

/* cb runs on the loop with the timer (data = data); it calls st_stall_expired. */
void st_stall_init(struct st_stall *s, struct st_loop *loop, st_timer_cb cb, void *data);
/* Bytes are waiting for the reader: starts watching unless it already does. */
void st_stall_waiting(struct st_stall *s, uint64_t timeout_ms);
/* The reader took bytes. */
void st_stall_progress(struct st_stall *s);
/* From cb: true when the reader took nothing for the whole timeout while `waiting` (bytes
 * still queued). Otherwise re-arms for the rest of the timeout (waiting) or stops. */
bool st_stall_expired(struct st_stall *s, bool waiting);
void st_stall_stop(struct st_stall *s);

#endif
