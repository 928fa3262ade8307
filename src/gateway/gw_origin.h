#ifndef SUBTUNNEL_GW_ORIGIN_H
#define SUBTUNNEL_GW_ORIGIN_H

/* TCP connections from the gateway to ingress origins, through lwIP, with a bounded
 * keep-alive pool per origin (address + port + TLS identity: a gw_oqueue group). Connections
 * start from the gateway's ingress address (one virtual IP of the pool, so replies route back
 * like any expose flow). A connection serves one gw_web request at a time; between requests
 * it waits in the pool until its idle timeout, a close by the origin, or reuse. Writes copy
 * into lwIP; received pbufs wait in `in` until the request takes them (gw_origin_consume
 * opens the window). https origins: TLS (1.2 or 1.3) through memory BIOs over the same pcb;
 * records are decrypted only as the request takes bytes, so the TCP window still bounds
 * memory.
 *
 * Admission (gw_oqueue): a request takes an idle connection, else opens one while fewer than
 * max-connecting to its origin are being opened, else waits in the origin's FIFO (at most
 * max-queued). A connection is "opened" once the origin took it: it acknowledged request
 * bytes, sent something, or finished the TLS handshake. A listener whose accept queue is
 * full completes the TCP handshake but drops what follows, so "connected" alone says
 * nothing; the connect timeout runs until opened. A connection counts as being opened
 * (holds one of the max-connecting slots) until then too; but the kernel of an origin
 * takes connections as fast as they come while its application may accept them slowly,
 * and lwIP resends what the full queue dropped only after 3, 9, 21... s. So once a new
 * connection of an origin stalled (not opened after STALL_MS: most likely dropped), the
 * origin is strict for STRICT_MS: a plain connection then holds its slot until the origin
 * answers (its application accepted it), and at most max-connecting of ours wait in its
 * accept queue. Waiters are served on the loop (a deferred round) as slots free,
 * connections fail, or come back to the pool. */

#include <lwip/tcp.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_oqueue.h"
#include "ns_pbufq.h"
#include "st_loop.h"

struct gw_server;
struct gw_web;

/* How to reach an origin. TLS (https services): ctx from gw_origin_tls_ctx, SNI and the
 * name checked in the certificate = server_name, else the address is checked. */
struct gw_origin_opts {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network order; IPv4 in addr[0..4), the rest zero */
    uint16_t port;
    int connect_timeout_ms;
    int max_connecting; /* connections being opened to the origin at once */
    int max_queued;     /* requests waiting for a connection (0: none wait) */
    SSL_CTX *tls;       /* NULL: plain TCP */
    const char *server_name;
    const char *ca_file; /* only to tell connections apart for reuse */
    bool verify;
};

struct gw_origin {
    struct gw_server *gw;
    struct tcp_pcb *pcb; /* NULL once closed or lost */
    int family;
    uint8_t addr[16];
    uint16_t port;
    struct gw_ogroup *group;       /* its origin's counts and pool; NULL once closed */
    struct gw_web *w;              /* the request using it; NULL while idle */
    struct gw_origin *next, *prev; /* group->idle_head while idle */
    struct st_timer timer;         /* connect timeout (until opened), then idle timeout */
    struct st_defer free_d;
    struct ns_pbufq in; /* received, not taken yet (TLS: records not decrypted yet) */
    bool in_eof, connected, reused, idle, freeing;
    bool opened;         /* the origin took it: request bytes acknowledged or TLS done (above) */
    bool counted;        /* holds a max-connecting slot of its group (being opened) */
    bool others_open;    /* when it failed, other connections to the origin were open */
    uint64_t started;    /* loop ms of its SYN */
    bool in_cb, aborted; /* inside an lwIP callback / the pcb was aborted during it */
    /* TLS */
    SSL *ssl;
    BIO *rbio, *wbio; /* network -> OpenSSL, OpenSSL -> network */
    bool tls_ready, tls_eof, fin_pending;
    int tls_err; /* GW_ORIGIN_ERR_* once TLS failed */
    char tls_why[160];
    uint8_t *plain; /* decrypted bytes [plain_off, plain_len) */
    size_t plain_off, plain_len;
};

#define GW_ORIGIN_ERR_TLS (-100)  /* handshake or record error */
#define GW_ORIGIN_ERR_CERT (-101) /* certificate not accepted */

/* A request's claim on an origin connection, embedded in its gw_web. */
struct gw_origin_req {
    struct gw_owaiter wait; /* its place in the origin's queue */
    struct gw_web *w;
    const struct gw_origin_opts *opts; /* owned by w */
    uint64_t deadline;                 /* loop ms: a connection must be open by then */
    bool fresh;                        /* not a pooled one (retry after a stale one) */
};

#define GW_ORIGIN_QUEUED 1

/* A connection for r->w. 0: *out is an idle pooled one with the same origin and TLS
 * identity (reused true, ready at once) unless r->fresh, or a new one (connecting until the
 * deadline; then gw_web_origin_ready, or gw_web_origin_failed). GW_ORIGIN_QUEUED: r waits
 * in the origin's queue; gw_web_origin_assigned (or gw_web_origin_unavailable) follows,
 * unless gw_origin_cancel takes it out first. `again`: r is sent again (its connection
 * failed, or was stale): it goes to the head of the queue, whatever its length, and is
 * served on the loop. -ENOSPC: max-queued requests wait already; other < 0 with *why: no
 * connection can be made (no local port, out of memory). */
int gw_origin_get(struct gw_server *gw, struct gw_origin_req *r, bool again, struct gw_origin **out,
                  const char **why);
/* r leaves its origin's queue (nothing when it does not wait). */
void gw_origin_cancel(struct gw_server *gw, struct gw_origin_req *r);
static inline bool gw_origin_waiting(const struct gw_origin_req *r)
{
    return gw_oqueue_queued(&r->wait);
}
/* The request is done with o: parks it in the pool when keep_alive (and fewer than max_idle
 * idle connections to that origin wait, or requests wait for one; idle_ms later it is
 * closed), else closes it. */
void gw_origin_put(struct gw_origin *o, bool keep_alive, int max_idle, int idle_ms);
/* Writes up to n bytes (plain: one atomic tcp_write copy; TLS: one record); returns how
 * many it took (0: no room now, wait for gw_web_origin_writable). */
size_t gw_origin_write(struct gw_origin *o, const void *p, size_t n);
/* What one gw_origin_write may take now. */
size_t gw_origin_room(const struct gw_origin *o);
void gw_origin_flush(struct gw_origin *o);
/* Half-close (FIN) after everything written. */
void gw_origin_shutdown(struct gw_origin *o);
/* The next received (decrypted) bytes, contiguous; 0 when none now. */
size_t gw_origin_peek(struct gw_origin *o, const uint8_t **p);
/* The request took n bytes from gw_origin_peek: frees them and opens the TCP window. */
void gw_origin_consume(struct gw_origin *o, size_t n);
/* True when received bytes (or the end) wait to be taken. */
bool gw_origin_readable(const struct gw_origin *o);
/* The origin ended its side (FIN or TLS close_notify) and every byte was taken; or TLS
 * failed (tls_err). */
bool gw_origin_eof(const struct gw_origin *o);
/* Sets up the per-origin queues (start). */
void gw_origin_init(struct gw_server *gw);
/* Closes every pooled connection and frees the TLS contexts (exit). */
void gw_origin_close_idle(struct gw_server *gw);
/* A client context for https origins: CA file (NULL: the system's) and verification;
 * cached per (ca_file, verify). NULL with *why on error. */
SSL_CTX *gw_origin_tls_ctx(struct gw_server *gw, const char *ca_file, bool verify,
                           const char **why);

/* Called by gw_origin for the request using the connection (gw_web.c). */
/* A request that waited got o (idle, or a new one being opened). */
void gw_web_origin_assigned(struct gw_web *w, struct gw_origin *o);
/* A request that waited cannot get a connection: why (no local port, out of memory). */
void gw_web_origin_unavailable(struct gw_web *w, const char *why);
void gw_web_origin_ready(struct gw_web *w);
void gw_web_origin_input(struct gw_web *w);
void gw_web_origin_writable(struct gw_web *w);
/* The connection is gone: err is lwIP's (ERR_RST refused/reset, ERR_TIMEOUT connect timeout,
 * ERR_ABRT lwIP gave up) or GW_ORIGIN_ERR_*. o is still readable (freed later). */
void gw_web_origin_failed(struct gw_web *w, int err);

#endif
