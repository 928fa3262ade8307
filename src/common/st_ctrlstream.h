#ifndef SUBTUNNEL_ST_CTRLSTREAM_H
#define SUBTUNNEL_ST_CTRLSTREAM_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "st_capsule.h"

/* The control stream's byte plumbing shared by both ends: capsules queued for sending
 * through an nghttp2 data provider, and received bytes reassembled into capsules. */

struct st_ctrlstream {
    int32_t sid;   /* 0: not open */
    bool deferred; /* the data provider waits for bytes */
    bool closing;  /* end the stream once the queue is drained */
    uint8_t in[32768];
    size_t in_len;
    uint8_t out[16384];
    size_t out_len, out_off;
};

typedef int (*st_ctrlstream_cb)(void *arg, const struct st_capsule *cap);

void st_ctrlstream_reset(struct st_ctrlstream *cs);
/* Queues bytes and resumes the provider. 0, or -ENOBUFS when the queue is full. */
int st_ctrlstream_send(struct st_ctrlstream *cs, nghttp2_session *s, const uint8_t *p, size_t n);
/* Body of the nghttp2 read callback: copies queued bytes, EOF once closing and drained,
 * NGHTTP2_ERR_DEFERRED when empty. */
ssize_t st_ctrlstream_read(struct st_ctrlstream *cs, uint8_t *buf, size_t len, uint32_t *flags);
/* Appends received bytes and calls cb for every complete capsule (cb returning nonzero
 * stops). 0, -EMSGSIZE (capsule larger than the buffer) or -EBADMSG. */
int st_ctrlstream_feed(struct st_ctrlstream *cs, const uint8_t *p, size_t n, st_ctrlstream_cb cb,
                       void *arg);

#endif
