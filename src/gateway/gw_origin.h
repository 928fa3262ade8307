#ifndef SUBTUNNEL_GW_ORIGIN_H
#define SUBTUNNEL_GW_ORIGIN_H

/* TCP connections from the gateway to ingress origins, through lwIP, with a bounded
 * keep-alive pool per origin (address + port). Connections start from the gateway's ingress
 * address (one virtual IP of the pool, so replies route back like any expose flow). A
 * connection serves one gw_web request at a time; between requests it waits in the pool
 * until its idle timeout, a close by the origin, or reuse. Writes copy into lwIP; received
 * pbufs wait in `in` until the request takes them (gw_origin_consume opens the window).
 * https origins: TLS (1.2 or 1.3) through memory BIOs over the same pcb; records are
 * decrypted only as the request takes bytes, so the TCP window still bounds memory. */

#include <lwip/tcp.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ns_pbufq.h"
#include "st_loop.h"

struct gw_server;
struct gw_web;

/* How to reach an origin. TLS (https services): ctx from gw_origin_tls_ctx, SNI and the
 * name checked in the certificate = server_name, else the address is checked. */
struct gw_origin_opts {
    uint32_t addr; /* IPv4, network order */
    uint16_t port;
    int connect_timeout_ms;
    SSL_CTX *tls; /* NULL: plain TCP */
    const char *server_name;
    const char *ca_file; /* only to tell connections apart for reuse */
    bool verify;
};

struct gw_origin {
    struct gw_server *gw;
    struct tcp_pcb *pcb; /* NULL once closed or lost */
    uint32_t addr;
    uint16_t port;
    char key[300];                 /* TLS identity for reuse: ctx, name, verify ("" plain) */
    struct gw_web *w;              /* the request using it; NULL while idle */
    struct gw_origin *next, *prev; /* gw->origin_idle while idle */
    struct st_timer timer;         /* connect timeout, then idle timeout */
    struct st_defer free_d;
    struct ns_pbufq in; /* received, not taken yet (TLS: records not decrypted yet) */
    bool in_eof, connected, reused, idle, freeing;
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

/* A connection for w: an idle one from the pool with the same origin and TLS identity
 * (reused true, ready at once) unless `fresh`, else a new one (connecting; then
 * gw_web_origin_ready, or gw_web_origin_failed). NULL with *why when none can be made. */
struct gw_origin *gw_origin_get(struct gw_server *gw, const struct gw_origin_opts *opts, bool fresh,
                                struct gw_web *w, const char **why);
/* The request is done with o: parks it in the pool when keep_alive (and fewer than max_idle
 * idle connections to that origin wait; idle_ms later it is closed), else closes it. */
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
/* Closes every pooled connection and frees the TLS contexts (exit). */
void gw_origin_close_idle(struct gw_server *gw);
/* A client context for https origins: CA file (NULL: the system's) and verification;
 * cached per (ca_file, verify). NULL with *why on error. */
SSL_CTX *gw_origin_tls_ctx(struct gw_server *gw, const char *ca_file, bool verify,
                           const char **why);

/* Called by gw_origin for the request using the connection (gw_web.c). */
void gw_web_origin_ready(struct gw_web *w);
void gw_web_origin_input(struct gw_web *w);
void gw_web_origin_writable(struct gw_web *w);
/* The connection is gone: err is lwIP's (ERR_RST refused/reset, ERR_TIMEOUT connect timeout). */
void gw_web_origin_failed(struct gw_web *w, int err);

#endif
