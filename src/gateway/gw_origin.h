#ifndef SUBTUNNEL_GW_ORIGIN_H
#define SUBTUNNEL_GW_ORIGIN_H

/* TCP connections from the gateway to ingress origins, through lwIP, with a bounded
 * keep-alive pool per origin (address + port). Connections start from the gateway's ingress
 * address (one virtual IP of the pool, so replies route back like any expose flow). A
 * connection serves one gw_web request at a time; between requests it waits in the pool
 * until its idle timeout, a close by the origin, or reuse. Writes copy into lwIP; received
 * pbufs wait in `in` until the request takes them (gw_origin_consume opens the window). */

#include <lwip/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_loop.h"

struct gw_server;
struct gw_web;

struct gw_origin {
    struct gw_server *gw;
    struct tcp_pcb *pcb; /* NULL once closed or lost */
    uint32_t addr;       /* IPv4, network order */
    uint16_t port;
    struct gw_web *w;              /* the request using it; NULL while idle */
    struct gw_origin *next, *prev; /* gw->origin_idle while idle */
    struct st_timer timer;         /* connect timeout, then idle timeout */
    struct st_defer free_d;
    struct pbuf *in; /* received, not taken yet */
    size_t in_len;
    bool in_eof, connected, reused, idle, freeing;
    bool in_cb, aborted; /* inside an lwIP callback / the pcb was aborted during it */
};

/* A connection to addr:port for w: an idle one from the pool (reused true, ready at once)
 * unless `fresh`, else a new one (connecting; gw_web_origin_ready follows, or
 * gw_web_origin_failed after connect_timeout_ms). NULL with *why when none can be made. */
struct gw_origin *gw_origin_get(struct gw_server *gw, uint32_t addr, uint16_t port,
                                int connect_timeout_ms, bool fresh, struct gw_web *w,
                                const char **why);
/* The request is done with o: parks it in the pool when keep_alive (and fewer than max_idle
 * idle connections to that origin wait; idle_ms later it is closed), else closes it. */
void gw_origin_put(struct gw_origin *o, bool keep_alive, int max_idle, int idle_ms);
/* Copies up to n bytes into lwIP (one tcp_write, atomic); returns how many it took (0: no
 * room now, wait for gw_web_origin_writable). */
size_t gw_origin_write(struct gw_origin *o, const void *p, size_t n);
/* Free space in the send buffer for one gw_origin_write. */
size_t gw_origin_room(const struct gw_origin *o);
void gw_origin_flush(struct gw_origin *o);
/* Half-close (FIN) after everything written. */
void gw_origin_shutdown(struct gw_origin *o);
/* The request took n bytes from the head of `in`: frees them and opens the TCP window. */
void gw_origin_consume(struct gw_origin *o, size_t n);
/* Closes every pooled connection (exit). */
void gw_origin_close_idle(struct gw_server *gw);

/* Called by gw_origin for the request using the connection (gw_web.c). */
void gw_web_origin_ready(struct gw_web *w);
void gw_web_origin_input(struct gw_web *w);
void gw_web_origin_writable(struct gw_web *w);
/* The connection is gone: err is lwIP's (ERR_RST refused/reset, ERR_TIMEOUT connect timeout). */
void gw_web_origin_failed(struct gw_web *w, int err);

#endif
