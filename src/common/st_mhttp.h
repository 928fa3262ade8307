#ifndef SUBTUNNEL_ST_MHTTP_H
#define SUBTUNNEL_ST_MHTTP_H

/* The metrics and health listener (metrics-listen): plain HTTP/1.1 on the event loop,
 * GET only (405 otherwise), three targets (/metrics, /healthz, /ready; 404 otherwise), the
 * request head capped at ST_MHTTP_HEAD_MAX (431), ST_MHTTP_TIMEOUT_MS for the whole
 * exchange, at most ST_MHTTP_MAX_CONNS connections at once (more are closed at accept), one
 * request per connection (Connection: close). The request parser is pure (http-parser)
 * so unit tests and fuzzers call it directly. */

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#include "st_addr.h"
#include "st_loop.h"
#include "st_metrics.h"

#define ST_MHTTP_HEAD_MAX 4096
#define ST_MHTTP_TIMEOUT_MS 10000
#define ST_MHTTP_MAX_CONNS 16
#define ST_MHTTP_BODY_MAX (16 << 20) /* a larger metrics text is answered 500 */

enum st_mhttp_target { ST_MHTTP_NONE, ST_MHTTP_METRICS, ST_MHTTP_HEALTHZ, ST_MHTTP_READY };

/* ---- request parsing (pure) ---- */

struct st_mhttp_req {
    http_parser parser;
    size_t seen; /* head bytes fed so far */
    char path[64];
    size_t plen;
    bool path_long, done;
};

void st_mhttp_req_init(struct st_mhttp_req *r);
/* Feeds the next n received bytes. Returns 0 while the head is incomplete, else the status
 * to answer: 200 with *target set, 400 (not HTTP), 404 (another path; a query string is
 * ignored), 405 (not GET), 431 (head longer than ST_MHTTP_HEAD_MAX). */
int st_mhttp_req_feed(struct st_mhttp_req *r, const char *p, size_t n,
                      enum st_mhttp_target *target);
/* A whole response (status line, Content-Type, Content-Length, Connection: close; Allow:
 * GET with 405) with body[0..len) into out. */
void st_mhttp_response(struct st_mbuf *out, int status, const char *ctype, const char *body,
                       size_t len);

/* ---- server ---- */

struct st_mhttp_ops {
    /* Writes the metrics text (st_metrics.h writers) into out. */
    void (*metrics)(void *data, struct st_mbuf *out);
    /* Ready to serve? Writes a one-line reason into why either way. */
    bool (*ready)(void *data, char *why, size_t len);
};

struct st_mhttp_conn;

struct st_mhttp {
    struct st_loop *loop;
    struct st_io lis;
    struct st_timer pause; /* accept() found no descriptor: the listener rests until it fires */
    const struct st_mhttp_ops *ops;
    void *data;
    struct st_mhttp_conn *conns;   /* open connections */
    struct st_mhttp_conn *closing; /* closed, memory freed after the current batch */
    size_t n_conns;
};

/* Listens on addr and serves requests with ops/data (data must outlive the server).
 * Returns NULL with *err set to -errno. */
struct st_mhttp *st_mhttp_new(struct st_loop *loop, const struct st_sockaddr *addr,
                              const struct st_mhttp_ops *ops, void *data, int *err);
/* st_mhttp_new, logged: "metrics listening on ADDR (...)", or the error. 0 or -1. */
int st_mhttp_start(struct st_mhttp **out, struct st_loop *loop, const struct st_sockaddr *addr,
                   const struct st_mhttp_ops *ops, void *data);
/* Closes the listener and every connection. Accepts NULL. */
void st_mhttp_free(struct st_mhttp *m);

#endif
