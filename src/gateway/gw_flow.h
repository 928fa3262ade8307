#ifndef SUBTUNNEL_GW_FLOW_H
#define SUBTUNNEL_GW_FLOW_H

#include <lwip/tcp.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ns_pbufq.h"
#include "st_bq.h"
#include "st_loop.h"

/* One CONNECT stream served into the private subnet: an lwIP TCP connection opened from
 * the client's virtual IP. The flow owns its pcb and its stream and releases both in
 * gw_flow_release. Stream bytes are handed to lwIP without copying (they stay in `down`
 * until acknowledged); lwIP bytes are acknowledged (tcp_recved) only once HTTP/2 took them. */

#define GW_FLOW_WINDOW (2 * 1024 * 1024)
/* lwIP keepalive on every flow's TCP connection: first probe after 60 s of silence, then
 * every 15 s; 4 unanswered probes end the flow (about 2 minutes for a vanished host). */
#define GW_KEEPALIVE_IDLE_MS 60000
#define GW_KEEPALIVE_INTVL_MS 15000
#define GW_KEEPALIVE_CNT 4

struct gw_conn;
struct gw_server;
struct gw_web;
struct gw_dgram;

struct gw_flow {
    struct gw_server *gw;
    struct gw_conn *conn; /* NULL once the connection is gone */
    int32_t sid;
    struct gw_flow *next, *prev; /* conn->flows */
    struct tcp_pcb *pcb;
    struct st_timer timer;
    struct st_defer release;
    struct st_defer output; /* tcp_output once this loop round's writes are queued */
    struct in_addr vip;
    bool has_vip;
    struct in6_addr vip6; /* virtual-pool6 source of a flow to an IPv6 target */
    bool has_vip6;
    char method[16], protocol[32], authority[262], client[80];
    struct st_bq down; /* stream -> lwIP; bytes [0, inflight) are owned by lwIP */
    size_t inflight;
    struct ns_pbufq up; /* lwIP -> stream */
    bool started, connected, responded, down_eof, fin_sent, up_eof, up_eof_sent;
    bool stream_closed, provider_deferred, finishing;
    bool inbound;           /* reach: accepted from the TUN, the stream was opened by us */
    int status;             /* reach: the edge's answer */
    struct gw_web *web;     /* hostname ingress request (gw_web.h); NULL for CONNECT flows */
    struct gw_dgram *dgram; /* connect-udp / connect-ip (gw_dgram.h); NULL for TCP */
};

/* Reach: a TCP connection accepted on the TUN becomes a CONNECT on a reach connection.
 * Returns 0, or -1 when it was refused (pcb aborted: the accept callback returns ERR_ABRT). */
int gw_flow_accept(struct gw_server *gw, struct tcp_pcb *pcb);
/* Reach: the edge answered the CONNECT (f->status, -EINVAL when malformed): relay on 2xx,
 * else reset the stream and the client. */
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
ssize_t gw_flow_read_up(struct gw_flow *f, uint8_t *buf, size_t len, uint32_t *flags,
                        bool zero_copy);
/* nghttp2 send_data callback: a zero-copy frame (gw_flow_read_up) sealed from its pbuf. */
int gw_flow_send_data(nghttp2_session *s, nghttp2_frame *fr, const uint8_t *hd, size_t len,
                      nghttp2_data_source *src, void *ud);
/* Answers the request: 200 opens the response body (the flow's data source, with
 * capsule-protocol for datagram flows), anything else ends the stream with proxy-status. */
void gw_flow_respond(struct gw_flow *f, int status, const char *proxy_status);
/* Why the exposed destination addr (family AF_INET: 4 bytes, AF_INET6: 16) is refused by
 * expose.routes or a virtual pool, or NULL when it may be reached (the guard is checked
 * apart: gw_flow_admit). */
const char *gw_flow_policy_refusal(struct gw_server *gw, int family, const uint8_t *addr);
/* Expose: may flow f (TCP, connect-udp, connect-ip; f->client and f->authority set) go to
 * addr? 0, or -1 after logging and answering 403 destination_ip_prohibited (outside
 * expose.routes, in a virtual pool, or refused by the guard: GW_GUARD_PROXY_STATUS). */
int gw_flow_admit(struct gw_flow *f, int family, const uint8_t *addr);
/* Picks the source address for a flow to a target of `family` from client "ip:port"
 * (subtunnel-client). IPv4: the client's own address when it lies in a reach route (answered
 * through this TUN), else a virtual IP (f->has_vip, f->vip). IPv6: always a virtual IP of
 * virtual-pool6 (f->has_vip6, f->vip6). Sets *cport (0 when unknown). 0, or -1 when the
 * pool is full. */
int gw_flow_source(struct gw_flow *f, int family, uint16_t *cport, bool *preserve);
/* Sends a request on reach connection c for flow f (f->sid set, flow attached); the data
 * source is the flow. Returns the stream id or a negative nghttp2 error. */
int32_t gw_flow_submit(struct gw_conn *c, struct gw_flow *f, const nghttp2_nv *nva, size_t n);
/* Wakes the stream's data source after it returned NGHTTP2_ERR_DEFERRED. */
void gw_flow_resume_up(struct gw_flow *f);
/* Releases the flow once its stream is gone (deferred). */
void gw_flow_maybe_release(struct gw_flow *f);

#endif
