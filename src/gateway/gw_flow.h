#ifndef SUBTUNNEL_GW_FLOW_H
#define SUBTUNNEL_GW_FLOW_H

#include <lwip/tcp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "st_bq.h"
#include "st_loop.h"

/* One CONNECT stream served into the private subnet: an lwIP TCP connection opened from
 * the client's virtual IP. The flow owns its pcb and its stream and releases both in
 * gw_flow_release. Stream bytes are handed to lwIP without copying (they stay in `down`
 * until acknowledged); lwIP bytes are acknowledged (tcp_recved) only once HTTP/2 took them. */

#define GW_FLOW_WINDOW (1024 * 1024)

struct gw_conn;
struct gw_server;
struct gw_web;

struct gw_flow {
    struct gw_server *gw;
    struct gw_conn *conn; /* NULL once the connection is gone */
    int32_t sid;
    struct gw_flow *next, *prev; /* conn->flows */
    struct tcp_pcb *pcb;
    struct st_timer timer;
    struct st_defer release;
    struct in_addr vip;
    bool has_vip;
    char method[16], protocol[32], authority[262], client[80];
    struct st_bq down; /* stream -> lwIP; bytes [0, inflight) are owned by lwIP */
    size_t inflight;
    struct pbuf *up; /* lwIP -> stream */
    size_t up_len;
    bool started, connected, responded, down_eof, fin_sent, up_eof, up_eof_sent;
    bool stream_closed, provider_deferred, finishing;
    bool inbound;       /* reach: accepted from the TUN, the stream was opened by us */
    int status;         /* reach: the edge's answer */
    struct gw_web *web; /* hostname ingress request (gw_web.h); NULL for CONNECT flows */
};

/* Reach: a TCP connection accepted on the TUN becomes a CONNECT on a reach connection.
 * Returns 0, or -1 when it was refused (pcb aborted: the accept callback returns ERR_ABRT). */
int gw_flow_accept(struct gw_server *gw, struct tcp_pcb *pcb);
/* Reach: the edge answered the CONNECT (f->status): relay on 2xx, else reset the client. */
void gw_flow_on_response(struct gw_flow *f);
/* Allocates a flow for a new request stream (headers follow). NULL on ENOMEM. */
struct gw_flow *gw_flow_new(struct gw_conn *c, int32_t sid);
/* Request headers complete: validate and start the TCP connection, or answer an error. */
void gw_flow_start(struct gw_flow *f);
/* Request body bytes from the edge. Returns 0, or <0 to reset the stream. */
int gw_flow_on_data(struct gw_flow *f, const uint8_t *p, size_t n);
void gw_flow_on_eof(struct gw_flow *f);
/* The stream closed (code 0: cleanly). */
void gw_flow_on_close(struct gw_flow *f, uint32_t code);
/* The connection died: abort everything now. */
void gw_flow_on_conn_lost(struct gw_flow *f);
ssize_t gw_flow_read_up(struct gw_flow *f, uint8_t *buf, size_t len, uint32_t *flags);

#endif
