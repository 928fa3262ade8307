#ifndef SUBTUNNEL_EDGE_FLOW_H
#define SUBTUNNEL_EDGE_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "edge_users.h"
#include "st_bq.h"
#include "st_h2rx.h"
#include "st_loop.h"
#include "st_sio.h"
#include "st_stall.h"

/* One user flow at the edge: an access side (an HTTP/1.1 CONNECT socket, or a CONNECT
 * stream on an HTTP/2 access connection) relayed to a CONNECT stream on a tunnel
 * connection. Both directions go through bounded queues; HTTP/2 windows reopen only as
 * the other side takes the bytes. The flow is freed once both sides are gone. */

#define EDGE_FLOW_WINDOW (2 * 1024 * 1024) /* per-stream HTTP/2 window == queue limit */
/* A tunnel stream's receive window at first: a reader that never reads (a visitor that
 * stopped) pins this much at the edge; one that keeps up grows it to EDGE_FLOW_WINDOW. */
#define EDGE_TUNNEL_WINDOW0 (256 * 1024)
/* The upload queue's chunk: one 48 KiB DATA frame of three full TLS records, header included,
 * so a frame goes out of a chunk without a copy (edge_flow_read_up, zero_copy). Not 64 KiB:
 * glibc's free() of a block that size checks whether to trim the heap, and the chunks of a
 * busy flow then came back as fresh pages (60000 page faults in 5 s at the edge). */
#define EDGE_FLOW_CHUNK (3 * 16384 - 9)

struct edge_server;
struct edge_tconn;
struct edge_ah2;
struct edge_tunnel;

struct edge_flow {
    int kind; /* EDGE_STREAM_FLOW (edge_tconn.h) */
    struct edge_server *srv;
    struct edge_tconn *tc; /* tunnel side; NULL once the stream is gone */
    int32_t sid;
    struct edge_flow *tc_next, *tc_prev;
    struct edge_flow *all_next, *all_prev; /* srv->flows: every live flow */
    struct edge_ah2 *ah;                   /* HTTP/2 access side; NULL for HTTP/1.1 or once gone */
    int32_t asid;
    struct edge_flow *ah_next, *ah_prev;
    bool h2;         /* access side is an HTTP/2 stream */
    struct st_io io; /* HTTP/1.1 access socket (fd -1 once closed) */
    /* ... its byte stream (plain or TLS); rd: TLS holds decrypted bytes, read again;
     * shut_wait: the TLS close_notify waits for the socket to be writable */
    struct st_sio sio;
    struct st_defer rd;
    bool shut_wait;
    struct st_defer done;
    struct st_bq up;           /* access -> tunnel */
    struct st_bq down;         /* tunnel -> access */
    struct st_h2rx_stream rxw; /* the tunnel stream's receive window */
    struct st_stall stall;     /* the user stopped reading what the tunnel sent */
    struct st_stall idle;      /* no byte either way for flow-idle-timeout */
    char target[80];
    char method[16];
    char client[64];                /* reach: subtunnel-client given by the gateway */
    struct edge_tunnel *src_tunnel; /* reach: the tunnel whose site opened the flow */
    bool has_protocol, authorized;
    bool relayed;            /* arrived from another edge (relay listener): never relayed again */
    unsigned relay_tries;    /* relay connections that failed before they were up, for it */
    char relay_edge[64];     /* the edge it was relayed to, or (relayed) the one it came from */
    bool has_ident;          /* a user's flow (not a reach site's): */
    struct edge_ident ident; /* who the user authenticated as */
    int rule;                /* the access-policy rule that allowed it (-1: the default) */
    const char *auth_why;    /* HTTP/2: why the credential was refused (static text) */
    /* For the audit log (edge_authz.c): */
    uint64_t id;                     /* the edge's flow number */
    uint64_t tc_id, opened_ms;       /* tunnel connection and time of the stream's opening */
    uint64_t bytes_up, bytes_down;   /* from the user into the tunnel, delivered to the user */
    struct edge_tunnel *dest_tunnel; /* the tunnel it went to (registry objects are stable) */
    const char *end;                 /* how it ended (static text); NULL: closed */
    bool opened;                     /* a stream was opened on a tunnel connection */
    /* While the flow has a tunnel stream it counts against its tunnel's tunnel-max-flows
     * (tunnel set) and its user's user-max-flows (user_counted). */
    struct edge_tunnel *tunnel;
    bool user_counted;
    bool masque;       /* connect-udp / connect-ip: an extended CONNECT relayed as is */
    char protocol[16]; /* :protocol */
    char path[256];    /* :path (MASQUE target) */
    int status;
    size_t local_head; /* bytes at the head of `down` we generated (not from the tunnel) */
    char proxy_status[160];
    bool responded, up_eof, up_eof_sent, down_eof, down_shut, failed;
    bool provider_deferred, access_deferred, reading, freeing;
};

/* Starts a flow for an authenticated HTTP/1.1 CONNECT on stream sio (plain or TLS with its
 * handshake done; the flow takes its fd and SSL over and leaves sio closed) to target
 * "ip:port", or with `protocol` ("connect-udp", "connect-ip") for a MASQUE upgrade whose
 * target is the request path (answered 101 on success); `early` holds bytes already read
 * after the request head. On failure the flow answers the client itself (400/403/502...). */
void edge_flow_start(struct edge_server *srv, struct st_sio *sio, const char *protocol,
                     const char *target, const char *client, const struct edge_ident *id,
                     const uint8_t *early, size_t early_len);
/* Reload (or time passing): ends every user flow whose credential the configuration no
 * longer holds (removed, expired) or that access-policy no longer allows. Returns how many. */
size_t edge_flow_revoke(struct edge_server *srv);

/* HTTP/2 access side, called by edge_ah2. */
struct edge_flow *edge_flow_new_h2(struct edge_server *srv, struct edge_ah2 *ah, int32_t asid);
void edge_flow_h2_header(struct edge_flow *f, const uint8_t *name, size_t nlen,
                         const uint8_t *value, size_t vlen);
void edge_flow_h2_request(struct edge_flow *f, const char *client);
int edge_flow_h2_data(struct edge_flow *f, const uint8_t *p, size_t n);
void edge_flow_h2_eof(struct edge_flow *f);
/* The access stream closed (or its connection died): code 0 = clean. */
void edge_flow_h2_close(struct edge_flow *f, uint32_t code);
/* nghttp2 data source for the response body to the user. */
ssize_t edge_flow_read_down(struct edge_flow *f, uint8_t *buf, size_t len, uint32_t *flags);

/* Tunnel-side events, called by edge_tconn. on_response: 2xx opens the flow, another
 * status is answered to the user as is, a malformed one (f->status -EINVAL, from
 * st_http_status) as 502 with proxy-status ST_HTTP_PS_BAD_STATUS. */
void edge_flow_on_response(struct edge_flow *f);
int edge_flow_on_tunnel_data(struct edge_flow *f, const uint8_t *p, size_t n);
void edge_flow_on_tunnel_eof(struct edge_flow *f);
/* The stream is closed (error_code 0 = clean). The flow forgets the tunnel side. */
void edge_flow_on_tunnel_close(struct edge_flow *f, uint32_t error_code);
/* nghttp2 data source for the request body: copies up to len bytes of the up queue, or with
 * zero_copy (st_h2conn_zero_copy) and a long enough contiguous run at its head, returns the
 * run's length with NGHTTP2_DATA_FLAG_NO_COPY and leaves it queued for edge_flow_up_frame. */
ssize_t edge_flow_read_up(struct edge_flow *f, uint8_t *buf, size_t len, uint32_t *flags,
                          bool zero_copy);
/* A zero-copy frame's payload: the up queue's first len bytes (contiguous, with headroom), or
 * NULL if they are not there. edge_flow_up_sent consumes them once the frame went out. */
uint8_t *edge_flow_up_frame(struct edge_flow *f, size_t len);
void edge_flow_up_sent(struct edge_flow *f, size_t len);

#endif
