#ifndef SUBTUNNEL_EDGE_VISIT_H
#define SUBTUNNEL_EDGE_VISIT_H

/* A visitor's HTTP/1.1 request (hostname ingress) as the HTTP/2 request the edge sends on
 * the tunnel: pseudo-fields from the request line and Host (or an absolute-form target),
 * hop-by-hop fields removed (RFC 9110 7.6.1), the visitor's proxy fields (Forwarded,
 * X-Forwarded-*, X-Real-IP, True-Client-IP... st_http_proxy_set) removed, X-Forwarded-For
 * (the visitor's address alone) / X-Forwarded-Proto set and Via appended by the edge, a
 * WebSocket upgrade turned into an extended CONNECT (RFC 8441), the fleet relay's own
 * subtunnel-* fields removed (a visitor could otherwise pass off an identity). Pure. */

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>

#include "st_http.h"

#define EDGE_VISIT_MAX_NV 128
#define EDGE_VISIT_ARENA 16384

struct edge_visit_req {
    const char *method;                 /* NUL-terminated */
    const char *target;                 /* request-target as received (NUL-terminated) */
    const struct st_http_field *fields; /* as received */
    size_t n_fields;
    const char *client_ip; /* visitor address, sent as X-Forwarded-For */
    bool tls;              /* arrived on the TLS listener: X-Forwarded-Proto https */
    const char *via;       /* this edge's name for the Via field */
};

struct edge_visit_h2 {
    nghttp2_nv nv[EDGE_VISIT_MAX_NV]; /* point into arena (valid while this lives) */
    size_t n_nv;
    char host[256]; /* authority without port, lower case: picks the tunnel */
    bool websocket; /* sent as extended CONNECT :protocol websocket */
    size_t used;
    char arena[EDGE_VISIT_ARENA];
};

/* Fills out from r. 0; -EINVAL with *why for a request to answer 400 (bad target, no or
 * several Host fields, invalid field name or value, CONNECT); -E2BIG (431) when the
 * fields do not fit EDGE_VISIT_MAX_NV / EDGE_VISIT_ARENA. */
int edge_visit_to_h2(const struct edge_visit_req *r, struct edge_visit_h2 *out, const char **why);

/* A visitor request relayed by another edge of the fleet (docs/fleet.md): the HTTP/2 request
 * that edge made of it for the tunnel (edge_visit_to_h2: forwarded fields set, credential
 * taken out), as received on the relay stream. */
struct edge_visit_relayed {
    const char *method, *protocol, *scheme, *authority, *path; /* protocol: NULL without */
    const struct st_http_field *fields; /* regular fields; a "host" one is the :authority */
    size_t n_fields;
};

/* Fills out with the request for this edge's tunnel: the pseudo-fields and fields as they
 * came, minus host and the relay's own subtunnel-* fields. 0; -EINVAL with *why (answer
 * 400: a pseudo-field missing or bad, a CONNECT other than a WebSocket's, an invalid field);
 * -E2BIG (431). Pure. */
int edge_visit_relayed_h2(const struct edge_visit_relayed *r, struct edge_visit_h2 *out,
                          const char **why);

/* The HTTP/1.1 response head for the visitor from the tunnel's HTTP/2 response: status line,
 * fields minus hop-by-hop ones, the body framing (the Content-Length received, else
 * chunked with *chunked set, none for HEAD/1xx/204/304) and Connection: keep-alive or
 * close. With ws_accept (a WebSocket request answered 2xx on the tunnel) it is the
 * "101 Switching Protocols" upgrade carrying that Sec-WebSocket-Accept. Returns the
 * length, -EINVAL (a field or status not fit to forward: answer 502) or -ENOSPC. */
int edge_visit_response_head(int status, const struct st_http_field *f, size_t n, bool head_request,
                             bool keep_alive, const char *ws_accept, char *out, size_t cap,
                             bool *chunked);

#endif
