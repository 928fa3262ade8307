#ifndef SUBTUNNEL_EDGE_WEB_H
#define SUBTUNNEL_EDGE_WEB_H

/* One visitor request (hostname ingress) at the edge: the visitor side is an HTTP/1.1
 * connection (edge_vconn) or a stream of an HTTP/2 visitor connection (edge_ah2 in visitor
 * mode); the tunnel side is an HTTP/2 request stream on a connection of the tunnel that
 * serves the host name. Bodies pass through bounded queues whose HTTP/2 windows reopen
 * only as the other side takes the bytes. Freed once both sides are gone. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "edge_users.h"
#include "edge_visit.h"
#include "st_bq.h"
#include "st_h2rx.h"
#include "st_http.h"
#include "st_loop.h"
#include "st_stall.h"

#define EDGE_WEB_MAX_FIELDS 100
#define EDGE_WEB_ARENA 16384    /* field bytes kept at most (request, then response fields) */
#define EDGE_WEB_ARENA_MIN 1024 /* first allocation; doubled as fields come in */

struct edge_server;
struct edge_tconn;
struct edge_vconn;
struct edge_ah2;

struct edge_web {
    int kind; /* EDGE_STREAM_WEB (edge_tconn.h): first, as in edge_flow */
    struct edge_server *srv;
    struct edge_tconn *tc;      /* tunnel side; NULL once the stream is gone */
    struct edge_tunnel *tunnel; /* counted in tunnel->live_webs while the stream lives */
    int32_t sid;
    struct edge_web *tc_next, *tc_prev;
    struct edge_vconn *vc; /* HTTP/1.1 visitor side; NULL for HTTP/2 or once gone */
    struct edge_ah2 *ah;   /* HTTP/2 visitor side; NULL for HTTP/1.1 or once gone */
    int32_t asid;
    struct edge_web *ah_next, *ah_prev;
    bool h2;
    struct st_defer done;
    struct st_bq up;           /* visitor -> tunnel (request body, WebSocket bytes) */
    struct st_bq down;         /* tunnel -> visitor (response body) */
    struct st_h2rx_stream rxw; /* the tunnel stream's receive window */
    struct st_stall stall;     /* the visitor stopped reading the response */
    struct st_stall idle;      /* no byte either way for flow-idle-timeout (WebSocket...) */
    bool up_eof, down_eof, provider_deferred, access_deferred, responded, freeing;
    bool websocket, head_request, local; /* local: the edge answered itself */
    int status;
    char host[256];
    char client[64];
    char proxy_status[160];
    /* HTTP/2 visitor: the request pseudo-fields; then the tunnel response's fields */
    char method[24];
    const char *authority, *path;
    /* The fleet's relay (edge_relay.h, docs/fleet.md) */
    bool relayed;         /* came on another edge's relay connection: never relayed again */
    unsigned relay_tries; /* relay connections that failed before they were up, for it */
    char relay_edge[64];  /* the edge it was relayed to, or (relayed) the one it came from */
    char scheme[8], protocol[16]; /* relayed: :scheme and :protocol as received */
    const char *auth_why;         /* relayed: why its identity was refused (static text) */
    /* Relayed to another edge: the request, kept until the relay connection is up (a
     * connection that fails before sends it to the next holder) */
    struct edge_visit_h2 *relay_req;
    bool relay_body;
    struct st_http_field fields[EDGE_WEB_MAX_FIELDS];
    size_t n_fields, used;
    bool overflow, host_field, host_conflict;
    /* Field text, allocated as fields arrive (a stream costs no field memory before its
     * first header) and grown up to EDGE_WEB_ARENA; fields, authority and path point in. */
    char *arena;
    size_t arena_cap;
    /* For the audit log and hosts that require users (edge_authz.c) */
    char req_path[256];            /* the request target (cut) */
    uint64_t id, start_ms;         /* the edge's request number; when the request arrived */
    uint64_t bytes_up, bytes_down; /* request body (WebSocket: bytes) in, body delivered out */
    bool has_ident;                /* the visitor authenticated (a host that requires users) */
    struct edge_ident ident;       /* as whom */
};

/* A 401 the edge answers for a host that requires users: a browser asks for a user name and
 * password (the token, or a signed token, as the password). */
#define EDGE_WEB_CHALLENGE "Basic realm=\"subtunnel\", charset=\"UTF-8\""

struct edge_web *edge_web_new(struct edge_server *srv, const char *client);
/* Sends the request on the tunnel serving its host (body: a body or WebSocket bytes follow,
 * else END_STREAM), or answers it locally (400/404/431/502/503). */
void edge_web_send(struct edge_web *w, const struct edge_visit_req *req, bool body);
/* Reload (or time passing): ends every visitor exchange (a WebSocket, a long download) to a
 * host that requires users whose user's credential is gone or expired, or who is no longer
 * allowed on the host. Returns how many. */
size_t edge_web_revoke(struct edge_server *srv, int64_t now);
/* A response made by the edge: status, proxy-status (may be NULL) and a short text body. */
void edge_web_local(struct edge_web *w, int status, const char *proxy_status);
/* Visitor side. */
int edge_web_up(struct edge_web *w, const uint8_t *p, size_t n); /* <0: over the window */
void edge_web_up_eof(struct edge_web *w);
/* The visitor took n body bytes from `down`: reopens the tunnel window. */
void edge_web_delivered(struct edge_web *w, size_t n);
/* The visitor side is gone (clean: the exchange completed). */
void edge_web_access_gone(struct edge_web *w, bool clean);

/* Internal (edge_web_relay.c): counts the request and answers 503 while draining (false). */
bool edge_web_begin(struct edge_web *w, const char *method);
/* Opens w's request h (owned: freed, or kept while a relay connection comes up) on a
 * connection of the tunnel serving w->host, else on a relay connection to an edge of the
 * fleet holding it (unless w->relayed), else answers 404/502/503. */
void edge_web_route(struct edge_web *w, struct edge_visit_h2 *h, bool body);

/* A relayed stream's own fields (:scheme, :protocol, subtunnel-*): kept apart, true; other
 * fields: false. The visitor's identity is checked again against this edge's configuration
 * (edge_auth_recheck), its address becomes w->client. */
bool edge_web_relay_header(struct edge_web *w, const uint8_t *name, size_t nlen,
                           const uint8_t *value, size_t vlen);
/* A relayed request's header block is complete: the request that edge made for the tunnel is
 * checked (host that requires users: the identity again) and opened here, never relayed. */
void edge_web_relay_request(struct edge_web *w, bool body);

/* HTTP/2 visitor streams (edge_ah2 in visitor mode). */
void edge_web_h2_header(struct edge_web *w, const uint8_t *name, size_t nlen, const uint8_t *value,
                        size_t vlen);
void edge_web_h2_request(struct edge_web *w, bool end_stream);
ssize_t edge_web_read_down(struct edge_web *w, uint8_t *buf, size_t len, uint32_t *flags);

/* Tunnel side, called by edge_tconn. on_header keeps the response's fields; a :status that
 * st_http_status refuses is kept as -EINVAL, and on_response answers the visitor 502
 * (proxy-status ST_HTTP_PS_BAD_STATUS) instead of forwarding the response. */
void edge_web_on_header(struct edge_web *w, const uint8_t *name, size_t nlen, const uint8_t *value,
                        size_t vlen);
void edge_web_on_response(struct edge_web *w);
int edge_web_on_tunnel_data(struct edge_web *w, const uint8_t *p, size_t n);
void edge_web_on_tunnel_eof(struct edge_web *w);
void edge_web_on_tunnel_close(struct edge_web *w, uint32_t code);
ssize_t edge_web_read_up(struct edge_web *w, uint8_t *buf, size_t len, uint32_t *flags);

#endif
