#include "st_ctrlstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MIN 1024

void st_ctrlstream_reset(struct st_ctrlstream *cs)
{
    free(cs->in);
    free(cs->out);
    memset(cs, 0, sizeof(*cs));
}

static void out_release(struct st_ctrlstream *cs)
{
    free(cs->out);
    cs->out = NULL;
    cs->out_len = cs->out_off = cs->out_cap = 0;
}

int st_ctrlstream_send(struct st_ctrlstream *cs, nghttp2_session *s, const uint8_t *p, size_t n)
{
    if (cs->out_off == cs->out_len)
        cs->out_off = cs->out_len = 0;
    if (n > ST_CTRLSTREAM_OUT_MAX - cs->out_len)
        return -ENOBUFS;
    if (cs->out_len + n > cs->out_cap) {
        size_t cap = cs->out_cap ? cs->out_cap : OUT_MIN;
        while (cap < cs->out_len + n)
            cap *= 2;
        uint8_t *o = realloc(cs->out, cap);
        if (!o)
            return -ENOBUFS;
        cs->out = o;
        cs->out_cap = cap;
    }
    memcpy(cs->out + cs->out_len, p, n);
    cs->out_len += n;
    if (cs->deferred && cs->sid) {
        cs->deferred = false;
        nghttp2_session_resume_data(s, cs->sid);
    }
    return 0;
}

ssize_t st_ctrlstream_read(struct st_ctrlstream *cs, uint8_t *buf, size_t len, uint32_t *flags)
{
    size_t n = cs->out_len - cs->out_off;
    if (n == 0) {
        if (cs->closing) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        cs->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (n > len)
        n = len;
    memcpy(buf, cs->out + cs->out_off, n);
    cs->out_off += n;
    if (cs->out_off == cs->out_len)
        out_release(cs);
    return (ssize_t)n;
}

/* Keeps buf[0, n) (the start of a capsule) for the next feed. 0 or -ENOMEM. */
static int keep(struct st_ctrlstream *cs, const uint8_t *buf, size_t n)
{
    if (n && !cs->in && !(cs->in = malloc(ST_CTRLSTREAM_IN_MAX)))
        return -ENOMEM;
    if (n)
        memmove(cs->in, buf, n);
    cs->in_len = n;
    if (!n) {
        free(cs->in);
        cs->in = NULL;
    }
    return 0;
}

int st_ctrlstream_feed(struct st_ctrlstream *cs, const uint8_t *p, size_t n, st_ctrlstream_cb cb,
                       void *arg)
{
    if (n > ST_CTRLSTREAM_IN_MAX - cs->in_len)
        return -EMSGSIZE;
    const uint8_t *buf = p; /* whole capsules are parsed where they arrived */
    size_t len = n;
    if (cs->in_len) {
        memcpy(cs->in + cs->in_len, p, n);
        cs->in_len += n;
        buf = cs->in;
        len = cs->in_len;
    }
    size_t off = 0;
    int rv = 0;
    for (;;) {
        struct st_capsule cap;
        int used = st_capsule_parse(buf + off, len - off, ST_CTRLSTREAM_IN_MAX, &cap);
        if (used == 0)
            break;
        if (used < 0) {
            rv = used == -EMSGSIZE ? -EMSGSIZE : -EBADMSG;
            break;
        }
        off += (size_t)used;
        if (cb(arg, &cap))
            break;
    }
    int k = keep(cs, buf + off, len - off);
    return rv ? rv : k;
}
