#ifndef SUBTUNNEL_GW_H1RESP_H
#define SUBTUNNEL_GW_H1RESP_H

/* HTTP/1.1 responses from ingress origins, parsed with http-parser (Debian libhttp-parser)
 * incrementally: one callback for the head (interim 1xx other than 101 are skipped), body
 * bytes as they arrive (chunked framing removed), and completion with the keep-alive
 * verdict. Bounded: at most GW_H1RESP_MAX_FIELDS fields and GW_H1RESP_HEAD_MAX bytes of
 * names and values. No sockets; the caller feeds bytes. */

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "gw_h1.h"

#define GW_H1RESP_MAX_FIELDS 100
#define GW_H1RESP_HEAD_MAX 16384

struct gw_h1resp_cb {
    /* Final (or 101) response head; names lower-cased; valid during the call. <0 aborts. */
    int (*head)(void *arg, int status, const struct st_http_field *f, size_t n);
    /* Body bytes, in order. <0 aborts. */
    int (*body)(void *arg, const char *p, size_t n);
    /* The response ended; keep_alive: the connection may carry another request. */
    void (*done)(void *arg, bool keep_alive);
};

struct gw_h1resp {
    http_parser parser;
    const struct gw_h1resp_cb *cb;
    void *arg;
    bool head_request; /* the request was HEAD: no body follows the head */
    bool interim;      /* parsing a 1xx that is not forwarded */
    bool in_value;
    bool upgraded; /* a 101 head was delivered: the bytes after it are not HTTP */
    bool finished;
    const char *why; /* reason of the last error */
    int err;         /* a callback's error or -E2BIG (0: the parser's own error) */
    size_t used;
    size_t n;
    size_t off[GW_H1RESP_MAX_FIELDS][4]; /* name start/end, value start/end in buf */
    char buf[GW_H1RESP_HEAD_MAX];
};

void gw_h1resp_init(struct gw_h1resp *r, bool head_request, const struct gw_h1resp_cb *cb,
                    void *arg);
/* Feeds p[0..n). Returns the bytes consumed: n, or fewer when the head of a 101 ended
 * inside p (the rest belongs to the upgraded stream) or a response completed (feed the
 * rest after a new gw_h1resp_init: pipelining is not used, so extra bytes are an error
 * for the caller). -EPROTO (malformed; why set), -E2BIG (head too large) or the
 * callback's negative value. */
ssize_t gw_h1resp_feed(struct gw_h1resp *r, const char *p, size_t n);
/* The origin closed: completes a body delimited by the close (done with keep_alive
 * false). 0, or -EPROTO when the response was cut short (why set). */
int gw_h1resp_eof(struct gw_h1resp *r);

#endif
