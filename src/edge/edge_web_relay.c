#include "edge_web.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_authz.h"
#include "edge_relay.h"
#include "edge_server.h"
#include "st_log.h"

/* A visitor request that another edge of the fleet relayed here (docs/fleet.md): it comes as
 * the request that edge made for the tunnel, on a stream of its relay connection, with the
 * visitor's identity (when the host requires users) and address. */

static bool named(const uint8_t *name, size_t nlen, const char *s)
{
    return nlen == strlen(s) && memcmp(name, s, nlen) == 0;
}

bool edge_web_relay_header(struct edge_web *w, const uint8_t *name, size_t nlen,
                           const uint8_t *value, size_t vlen)
{
    const char *why = NULL;
    if (named(name, nlen, ":scheme")) {
        snprintf(w->scheme, sizeof(w->scheme), "%.*s", (int)vlen, (const char *)value);
    } else if (named(name, nlen, ":protocol")) {
        snprintf(w->protocol, sizeof(w->protocol), "%.*s", (int)vlen, (const char *)value);
    } else if (named(name, nlen, EDGE_RELAY_IDENT_HDR)) {
        /* as for relayed flows (edge_flow_h2.c): one identity field that fails refuses the
         * request, whatever came before or after it */
        bool ok = edge_relay_ident_accept(&w->srv->cfg, (const char *)value, vlen,
                                          st_wall_seconds(), &w->ident, &why);
        w->has_ident = ok && !w->auth_why;
        if (!ok)
            w->auth_why = why;
    } else if (named(name, nlen, "subtunnel-client")) {
        snprintf(w->client, sizeof(w->client), "%.*s", (int)vlen, (const char *)value);
    } else {
        /* the relay's other fields never reach the tunnel */
        return nlen >= 10 && memcmp(name, "subtunnel-", 10) == 0;
    }
    return true;
}

void edge_web_relay_request(struct edge_web *w, bool body)
{
    if (!edge_web_begin(w, w->method))
        return;
    struct edge_visit_h2 *h = malloc(sizeof(*h));
    if (!h) {
        edge_web_local(w, 503, "subtunnel; error=proxy_internal_error");
        return;
    }
    struct edge_visit_relayed r = {.method = w->method,
                                   .protocol = w->protocol[0] ? w->protocol : NULL,
                                   .scheme = w->scheme[0] ? w->scheme : NULL,
                                   .authority = w->authority,
                                   .path = w->path,
                                   .fields = w->fields,
                                   .n_fields = w->n_fields};
    const char *why = "bad request";
    int rv = edge_visit_relayed_h2(&r, h, &why);
    snprintf(w->req_path, sizeof(w->req_path), "%s", w->path ? w->path : "");
    if (rv < 0) {
        edge_refusal(w->srv, EDGE_REFUSE_REQUEST, "visitor %s relayed by edge %s: %s %.100s: %s",
                     w->client, w->relay_edge, w->method, w->req_path, why);
        edge_web_local(w, rv == -E2BIG ? 431 : 400, "subtunnel; error=http_request_error");
        free(h);
        return;
    }
    snprintf(w->host, sizeof(w->host), "%s", h->host);
    w->websocket = h->websocket;
    if (!edge_authz_visitor_relayed(w, strcmp(r.scheme, "https") == 0, h)) {
        free(h);
        return;
    }
    edge_web_route(w, h, body);
}
