/* A FIFO of received lwIP pbufs with O(1) append. lwIP's pbuf_cat walks the whole chain
 * to update every pbuf's tot_len, which turns a flow's queue of ~700 segments (1 MiB
 * window) quadratic. Here the pbufs are linked by `next` only: the head's tot_len is not
 * kept (len is, and `bytes` counts the queue), which is all pbuf_copy_partial,
 * pbuf_free_header and pbuf_free use. */
#ifndef SUBTUNNEL_NS_PBUFQ_H
#define SUBTUNNEL_NS_PBUFQ_H

#include <stddef.h>
#include <stdint.h>

#include "lwip/pbuf.h"

struct ns_pbufq {
    struct pbuf *head, *tail; /* tail: the last pbuf of the last chain */
    size_t bytes;
};

/* Takes ownership of the chain p (the reference lwIP handed to a recv callback). */
void ns_pbufq_push(struct ns_pbufq *q, struct pbuf *p);
/* Copies up to len bytes from the front into out (nothing is removed); returns the count. */
size_t ns_pbufq_copy(const struct ns_pbufq *q, void *out, size_t len);
/* The front bytes as one run that may be prefixed in place: sets *p to the head pbuf's
 * payload and returns its length when the pbuf holds at least `headroom` bytes of its own
 * memory before the payload (the protocol headers lwIP stripped) and only the queue
 * references it; otherwise 0 and *p NULL. */
size_t ns_pbufq_run(const struct ns_pbufq *q, uint8_t **p, size_t headroom);
/* Drops n bytes (at most q->bytes) from the front, freeing emptied pbufs. */
void ns_pbufq_drop(struct ns_pbufq *q, size_t n);
/* Frees everything; q is empty afterwards. */
void ns_pbufq_clear(struct ns_pbufq *q);

#endif
