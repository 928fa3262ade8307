#include "st_ctrlstream.h"

#include <errno.h>
#include <string.h>

void st_ctrlstream_reset(struct st_ctrlstream *cs)
{
    cs->sid = 0;
    cs->deferred = cs->closing = false;
    cs->in_len = cs->out_len = cs->out_off = 0;
}

int st_ctrlstream_send(struct st_ctrlstream *cs, nghttp2_session *s, const uint8_t *p, size_t n)
{
    if (cs->out_off == cs->out_len)
        cs->out_off = cs->out_len = 0;
    if (n > sizeof(cs->out) - cs->out_len)
        return -ENOBUFS;
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
    return (ssize_t)n;
}

int st_ctrlstream_feed(struct st_ctrlstream *cs, const uint8_t *p, size_t n, st_ctrlstream_cb cb,
                       void *arg)
{
    if (n > sizeof(cs->in) - cs->in_len)
        return -EMSGSIZE;
    memcpy(cs->in + cs->in_len, p, n);
    cs->in_len += n;
    size_t off = 0;
    int rv = 0;
    for (;;) {
        struct st_capsule cap;
        int used = st_capsule_parse(cs->in + off, cs->in_len - off, sizeof(cs->in), &cap);
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
    memmove(cs->in, cs->in + off, cs->in_len - off);
    cs->in_len -= off;
    return rv;
}
