#ifndef SUBTUNNEL_GW_WEB_INT_H
#define SUBTUNNEL_GW_WEB_INT_H

/* gw_web's state, shared by gw_web.c (the exchange with the origin) and gw_webreq.c (the
 * request as received and the head sent to the origin). */

#include <stdbool.h>
#include <stddef.h>

#include "gw_origin.h"
#include "st_bq.h"
#include "st_http.h"
#include "st_loop.h"

struct gw_h1resp;

struct gw_web {
    struct gw_flow *f;
    struct gw_server *gw;
    /* the request as received; path becomes the normalised target (norm) once matched */
    const char *path;
    char *norm;
    struct st_http_field fields[GW_WEB_MAX_FIELDS];
    size_t n_fields, used;
    bool overflow;
    /* the origin, copied from the rule (a reload may free the rules) */
    struct gw_origin_opts opts; /* opts.tls holds a reference */
    char server_name[254], ca_file[256];
    int response_timeout_ms, ka_conns, ka_timeout_ms;
    char service[80];
    struct gw_origin *oc;
    struct gw_origin_req req; /* waiting for oc, and the deadline to have it open */
    unsigned connects;        /* new connections opened for it */
    bool backoff;             /* pausing (w->timer) before it asks for a connection again */
    bool head_request, websocket, chunked, retried;
    char ws_accept[29];
    char *head;
    size_t head_len, head_off;
    struct st_bq body; /* request body not written to the origin yet */
    bool body_eof, body_done;
    /* the response */
    struct gw_h1resp *resp;
    struct st_bq out; /* decoded body bytes for the stream */
    size_t resp_bytes;
    bool responded, resp_done, keep_alive, upgraded, up_eof, provider_deferred, closed;
    bool started;
    struct st_timer timer; /* no progress: request body idle, then response head late */
    struct st_defer pump_d, rst_d;
    char arena[GW_WEB_ARENA];
};

/* The request field `name` (lower case), or NULL. */
const struct st_http_field *gw_web_field(const struct gw_web *w, const char *name);
/* Builds w->head, the HTTP/1.1 request head for the origin; sets w->chunked and, for a
 * WebSocket upgrade, w->ws_accept. 0, -EINVAL (bad content-length), -EIO, -ENOMEM, or
 * gw_h1_request_head's error. */
int gw_web_build_head(struct gw_web *w, bool end_stream);

#endif
