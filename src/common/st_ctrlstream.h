#ifndef SUBTUNNEL_ST_CTRLSTREAM_H
#define SUBTUNNEL_ST_CTRLSTREAM_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "st_capsule.h"

/* The control stream's byte plumbing shared by both ends: capsules queued for sending
 * through an nghttp2 data provider, and received bytes reassembled into capsules. The
 * buffers exist only while bytes wait in them (an idle tunnel connection holds none: the
 * edge keeps 10,000 of them); a zeroed struct is a valid empty one. */

#define ST_CTRLSTREAM_IN_MAX 32768  /* a capsule and what arrives with it */
#define ST_CTRLSTREAM_OUT_MAX 16384 /* queued for sending */

struct st_ctrlstream {
    int32_t sid;   /* 0: not open */
    bool deferred; /* the data provider waits for bytes */
    bool closing;  /* end the stream once the queue is drained */
    uint8_t *in;   /* part of a capsule (ST_CTRLSTREAM_IN_MAX bytes); NULL when none waits */
    size_t in_len;
    uint8_t *out; /* queued bytes; NULL when none */
    size_t out_len, out_off, out_cap;
};

typedef int (*st_ctrlstream_cb)(void *arg, const struct st_capsule *cap);

/* Empties cs (frees its buffers); also its fini. */
void st_ctrlstream_reset(struct st_ctrlstream *cs);
/* Queues bytes and resumes the provider. 0, or -ENOBUFS when the queue is full (or memory
 * is short). */
int st_ctrlstream_send(struct st_ctrlstream *cs, nghttp2_session *s, const uint8_t *p, size_t n);
/* Body of the nghttp2 read callback: copies queued bytes, EOF once closing and drained,
 * NGHTTP2_ERR_DEFERRED when empty. */
ssize_t st_ctrlstream_read(struct st_ctrlstream *cs, uint8_t *buf, size_t len, uint32_t *flags);
/* Appends received bytes and calls cb for every complete capsule (cb returning nonzero
 * stops). 0, -EMSGSIZE (capsule, or bytes at once, larger than ST_CTRLSTREAM_IN_MAX),
 * -EBADMSG or -ENOMEM. */
int st_ctrlstream_feed(struct st_ctrlstream *cs, const uint8_t *p, size_t n, st_ctrlstream_cb cb,
                       void *arg);

#endif
