#ifndef SUBTUNNEL_EDGE_AH2_H
#define SUBTUNNEL_EDGE_AH2_H

#include <stddef.h>
#include <stdint.h>

#include "edge_limits.h"
#include "st_h2conn.h"
#include "st_tls.h"

/* An HTTP/2 access connection from a user (h2c with prior knowledge on the access
 * listener, or h2 over TLS on the access TLS listener): every CONNECT stream becomes an
 * edge_flow whose access side is that stream. A visitor connection's streams are edge_webs;
 * a relay connection's are either, by their request (edge_relay_is_visit). */

struct edge_server;
struct edge_flow;
struct edge_web;
struct edge_ah2_pend;

struct edge_ah2 {
    struct edge_server *srv;
    struct st_h2conn h2;
    struct edge_ah2 *next, *prev; /* srv->ah2s */
    char client[64];
    uint8_t *early; /* bytes read before the hand-over (the preface), fed on ready */
    size_t early_len;
    struct edge_flow *flows; /* flows whose access side is a stream here */
    bool reach;              /* a gateway's reach connection: streams carry tunnel tokens */
    bool relay;   /* (with reach) another edge's relay connection: streams carry identities */
    bool visitor; /* hostname ingress over h2: every stream is a visitor request */
    struct edge_web *webs; /* visitor: requests whose visitor side is a stream here */
    /* relay: the pseudo-header fields of the stream whose header block is coming, held until
     * its first regular field (or its end) tells a visitor request from a flow */
    struct edge_ah2_pend *pend;
    /* Users and visitors: the first request must come within request-timeout of the
     * preface, and a connection without open streams for idle-timeout is closed. */
    struct st_timer idle_timer;
    uint64_t quiet_since; /* loop ms when the last stream closed (or the session began) */
    bool got_request, closing;
    bool ended_logged; /* why nghttp2 ended the peer is logged */
    bool authed;       /* reach: a stream showed a valid tunnel token */
    bool started;      /* out of the startup phase (edge_listen_authed): a user's valid access
                        * token, a visitor's first request, a reach peer's SETTINGS; reach: the
                        * SETTINGS must come within request-timeout */
    struct edge_reset_guard resets; /* reach, until authed: nghttp2's default allowance */
    /* Users and visitors over TLS with client-ca: the verified client certificate's names
     * (NULL without one). Not used for authorization yet. */
    struct st_tls_names *names;
};

/* Takes fd (and ssl, may be NULL, its handshake done or not) over; `early` bytes are copied.
 * `reach`: the peer is a gateway's reach connection (streams authenticate with a tunnel token, not
 * a user's). */
void edge_ah2_start(struct edge_server *srv, int fd, SSL *ssl, const char *client,
                    const uint8_t *early, size_t early_len, bool reach);
/* Another edge's connection on the relay listener (its fleet certificate verified, handshake
 * done): trusted as an authenticated reach peer; its streams state who the user is. */
void edge_ah2_start_relay(struct edge_server *srv, int fd, SSL *ssl, const char *client);
/* A visitor's TLS connection that negotiated h2 on the https listener (handshake done). */
void edge_ah2_start_visitor(struct edge_server *srv, int fd, SSL *ssl, const char *client);
/* Visitor mode: submits w's response (status, fields, body from w->down). */
void edge_ah2_respond_web(struct edge_ah2 *a, int32_t sid, struct edge_web *w);

/* Calls used by edge_flow for its access stream. */
void edge_ah2_respond(struct edge_ah2 *a, int32_t sid, int status, const char *proxy_status,
                      struct edge_flow *body);
void edge_ah2_resume(struct edge_ah2 *a, int32_t sid);
void edge_ah2_consume(struct edge_ah2 *a, int32_t sid, size_t n);
void edge_ah2_reset(struct edge_ah2 *a, int32_t sid, uint32_t code);
void edge_ah2_unlink(struct edge_ah2 *a, struct edge_flow *f);
/* A stream on a carried a valid token: a user's access token (the connection leaves its
 * startup phase) or, on a reach connection, a tunnel token: the first time, the connection
 * gets the SETTINGS, windows and TLS read size of an authenticated gateway. */
void edge_ah2_authenticated(struct edge_ah2 *a);
/* Drain: GOAWAY(NO_ERROR) so the peer opens no new stream; open streams go on. */
void edge_ah2_goaway(struct edge_ah2 *a);

#endif
