#include "edge_web.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edge_ah2.h"
#include "edge_authz.h"
#include "edge_fleet.h"
#include "edge_flow.h"
#include "edge_registry.h"
#include "edge_relay.h"
#include "edge_server.h"
#include "edge_tconn.h"
#include "edge_vconn.h"
#include "st_http.h"
#include "st_log.h"

/* The request no longer counts against its tunnel's tunnel-max-requests. */
static void release_tunnel(struct edge_web *w)
{
    if (w->tunnel)
        w->tunnel->live_webs--;
    w->tunnel = NULL;
}

static void on_done(struct st_defer *d)
{
    struct edge_web *w = d->data;
    edge_authz_audit_web(w);
    release_tunnel(w);
    w->srv->live_webs--;
    w->srv->visits_by_class[st_class_of(w->responded ? w->status : 0)]++;
    st_stall_stop(&w->stall);
    st_stall_stop(&w->idle);
    st_bq_fini(&w->up);
    st_bq_fini(&w->down);
    free(w->relay_req);
    free(w->arena);
    free(w);
}

static void maybe_free(struct edge_web *w)
{
    if (!w->freeing && !w->vc && !w->ah && !w->tc) {
        w->freeing = true;
        st_defer_queue(&w->srv->loop, &w->done);
    }
}

static void on_stall(struct st_timer *t);
static void on_idle(struct st_timer *t);

struct edge_web *edge_web_new(struct edge_server *srv, const char *client)
{
    struct edge_web *w = malloc(sizeof(*w));
    if (!w)
        return NULL;
    memset(w, 0, offsetof(struct edge_web, fields)); /* the fields need no zeroing */
    w->n_fields = w->used = 0;
    w->overflow = w->host_field = w->host_conflict = false;
    w->arena = NULL;
    w->arena_cap = 0;
    w->req_path[0] = 0;
    w->has_ident = false;
    w->bytes_up = w->bytes_down = 0;
    w->id = ++srv->next_flow_id;
    w->start_ms = st_loop_now(&srv->loop);
    w->kind = EDGE_STREAM_WEB;
    w->srv = srv;
    srv->live_webs++;
    snprintf(w->client, sizeof(w->client), "%s", client);
    st_defer_init(&w->done, on_done, w);
    st_stall_init(&w->stall, &srv->loop, on_stall, w);
    st_stall_init(&w->idle, &srv->loop, on_idle, w);
    st_bq_init(&w->up, EDGE_FLOW_WINDOW);
    st_bq_init(&w->down, EDGE_FLOW_WINDOW + 4096);
    return w;
}

/* The visitor side learns that the response head (or more body, or the end) is there. */
static void wake_access(struct edge_web *w, bool head)
{
    if (w->vc) {
        if (head)
            edge_vconn_respond(w->vc);
        else
            edge_vconn_wake(w->vc);
    } else if (w->ah) {
        if (head) {
            edge_ah2_respond_web(w->ah, w->asid, w);
        } else if (w->access_deferred) {
            w->access_deferred = false;
            edge_ah2_resume(w->ah, w->asid);
        }
    }
}

static void tunnel_reset(struct edge_web *w, uint32_t code)
{
    if (w->tc)
        edge_tconn_reset(w->tc, w->sid, code);
}

/* Ends both sides at once: the tunnel stream and the visitor's connection or stream. */
static void cut(struct edge_web *w)
{
    tunnel_reset(w, NGHTTP2_CANCEL);
    if (w->vc)
        edge_vconn_abort(w->vc);
    else if (w->ah)
        edge_ah2_reset(w->ah, w->asid, NGHTTP2_CANCEL);
}

/* The visitor took none of the response for send-timeout (see edge_flow's on_stall). */
static void on_stall(struct st_timer *t)
{
    struct edge_web *w = t->data;
    if (!st_stall_expired(&w->stall, w->down.len && w->tc && (w->vc || w->ah)))
        return;
    w->srv->flows_stalled++;
    edge_refusal(w->srv, EDGE_REFUSE_CONN,
                 "visitor %s: read nothing of the response for %d s with %zu bytes waiting: closed",
                 w->client, w->srv->cfg.send_timeout_ms / 1000, w->down.len);
    cut(w);
}

static void on_idle(struct st_timer *t)
{
    struct edge_web *w = t->data;
    if (!st_stall_expired(&w->idle, w->tc && (w->vc || w->ah)))
        return;
    w->srv->flows_idle++;
    edge_refusal(w->srv, EDGE_REFUSE_CONN, "visitor %s: no byte either way for %d s: closed",
                 w->client, w->srv->cfg.flow_idle_timeout_ms / 1000);
    cut(w);
}

/* Request bytes that will never reach the tunnel: an HTTP/2 visitor gets their window back
 * (later ones are dropped as they come), so its upload does not stall. */
static void drop_up(struct edge_web *w)
{
    if (w->ah && w->up.len)
        edge_ah2_consume(w->ah, w->asid, w->up.len);
    st_bq_fini(&w->up);
}

void edge_web_local(struct edge_web *w, int status, const char *proxy_status)
{
    if (w->responded)
        return;
    tunnel_reset(w, NGHTTP2_CANCEL);
    drop_up(w);
    w->responded = w->local = w->down_eof = true;
    w->status = status;
    if (status >= 400)
        w->srv->flows_refused[ST_KIND_HTTP][st_reason_of(proxy_status, status)]++;
    snprintf(w->proxy_status, sizeof(w->proxy_status), "%s", proxy_status ? proxy_status : "");
    char text[80];
    snprintf(text, sizeof(text), "%d %s\n", status, st_http_reason(status));
    st_bq_fini(&w->down);
    if (!w->head_request)
        st_bq_append(&w->down, text, strlen(text));
    w->n_fields = w->used = 0;
    wake_access(w, true);
}

bool edge_web_begin(struct edge_web *w, const char *method)
{
    w->srv->visits++;
    w->head_request = strcmp(method, "HEAD") == 0;
    if (!w->srv->drain.draining)
        return true;
    edge_web_local(w, 503, "subtunnel; error=proxy_internal_error; details=\"draining\"");
    return false;
}

void edge_web_send(struct edge_web *w, const struct edge_visit_req *req, bool body)
{
    struct edge_server *srv = w->srv;
    if (!edge_web_begin(w, req->method))
        return;
    struct edge_visit_h2 *h = malloc(sizeof(*h));
    if (!h) {
        edge_web_local(w, 503, "subtunnel; error=proxy_internal_error");
        return;
    }
    const char *why = "bad request";
    int rv = edge_visit_to_h2(req, h, &why);
    if (rv < 0) {
        edge_refusal(srv, EDGE_REFUSE_REQUEST, "visitor %s: %s %.100s: %s", w->client, req->method,
                     req->target, why);
        edge_web_local(w, rv == -E2BIG ? 431 : 400, "subtunnel; error=http_request_error");
        free(h);
        return;
    }
    snprintf(w->host, sizeof(w->host), "%s", h->host);
    w->websocket = h->websocket;
    if (req->method != w->method) /* HTTP/1.1: HTTP/2 requests have it there already */
        snprintf(w->method, sizeof(w->method), "%s", req->method);
    snprintf(w->req_path, sizeof(w->req_path), "%s", req->target);
    if (!edge_authz_visitor(w, req, h)) {
        free(h);
        return;
    }
    edge_web_route(w, h, body);
}

/* Tunnel t serves w's host but has no connection here: a relay connection to an edge of the
 * fleet whose connections registered the host (never for a request relayed to us). */
static struct edge_tconn *relay_pick(struct edge_web *w, const struct edge_tunnel *t)
{
    struct edge_server *srv = w->srv;
    if (w->relayed || !srv->fleet)
        return NULL;
    const char *held = edge_fcache_by_host(edge_fleet_cache(srv->fleet), w->host);
    return held && strcmp(held, t->id) == 0 ? edge_relay_pick_tunnel(srv->relay, t) : NULL;
}

/* No connection here or in the fleet serves the host: 404 or 502. */
static void unserved(struct edge_web *w, const struct edge_tunnel *t, bool connected)
{
    if (!t || connected) {
        edge_refusal(w->srv, EDGE_REFUSE_REQUEST, "visitor %s: no tunnel serves host '%s'",
                     w->client, w->host);
        edge_web_local(w, 404, NULL);
        return;
    }
    edge_refusal(w->srv, EDGE_REFUSE_REQUEST,
                 "visitor %s: host '%s': tunnel %s has no registered connection", w->client,
                 w->host, t->id);
    edge_web_local(w, 502,
                   "subtunnel; error=destination_unavailable; details=\"tunnel not connected\"");
}

void edge_web_route(struct edge_web *w, struct edge_visit_h2 *h, bool body)
{
    struct edge_server *srv = w->srv;
    struct edge_tunnel *t;
    bool connected;
    struct edge_tconn *c = edge_registry_pick_host(&srv->reg, w->host, &t, &connected);
    if (!c && t && !connected)
        c = relay_pick(w, t);
    if (!c) {
        unserved(w, t, connected);
        free(h);
        return;
    }
    if (!edge_limits_tunnel_room(t->live_webs, srv->cfg.tunnel_max_requests)) {
        edge_refusal(srv, EDGE_REFUSE_LIMIT,
                     "visitor %s: host '%s': tunnel %s has %zu requests open (tunnel-max-requests)",
                     w->client, w->host, t->id, t->live_webs);
        edge_web_local(w, 503,
                       "subtunnel; error=connection_limit_reached; "
                       "details=\"too many requests open on this tunnel\"");
        free(h);
        return;
    }
    if (!body)
        w->up_eof = true;
    int32_t sid = edge_tconn_open_web(c, w, h->nv, h->n_nv, body);
    if (sid >= 0 && c->relay) { /* kept until the relay connection is up */
        w->relay_req = h;
        w->relay_body = body;
        snprintf(w->relay_edge, sizeof(w->relay_edge), "%s", c->relay_id);
    } else {
        free(h);
    }
    if (sid < 0) {
        st_log_limited(&srv->limits.log[EDGE_REFUSE_LIMIT], ST_LOG_WARN,
                       "visitor %s: host '%s': cannot open a stream: %s", w->client, w->host,
                       nghttp2_strerror(sid));
        edge_web_local(w, 503, "subtunnel; error=connection_limit_reached");
        return;
    }
    w->tunnel = t;
    t->live_webs++;
    srv->flows_opened[ST_KIND_HTTP]++;
    st_debug("visitor %s: %s %s%.200s: stream %d on tunnel %s%s%s", w->client, w->method, w->host,
             w->req_path, sid, t->id, c->relay ? ", relayed to edge " : "",
             c->relay ? c->relay_id : "");
}

static void resume_tunnel(struct edge_web *w)
{
    if (w->tc && w->provider_deferred) {
        w->provider_deferred = false;
        edge_tconn_resume(w->tc, w->sid);
    }
}

int edge_web_up(struct edge_web *w, const uint8_t *p, size_t n)
{
    if (w->local || !w->tc) { /* answered already: drop what the visitor still sends */
        if (w->ah)
            edge_ah2_consume(w->ah, w->asid, n);
        return 0;
    }
    if (st_bq_append(&w->up, p, n) < 0)
        return -1;
    w->bytes_up += n;
    st_stall_progress(&w->idle);
    resume_tunnel(w);
    return 0;
}

void edge_web_up_eof(struct edge_web *w)
{
    w->up_eof = true;
    resume_tunnel(w);
}

void edge_web_delivered(struct edge_web *w, size_t n)
{
    if (n) {
        st_stall_progress(&w->stall);
        st_stall_progress(&w->idle);
    }
    w->bytes_down += n;
    if (w->tc && !w->local && n)
        edge_tconn_consume(w->tc, w->sid, &w->rxw, n);
}

void edge_web_access_gone(struct edge_web *w, bool clean)
{
    w->vc = NULL;
    w->ah = NULL;
    if (!clean || !w->down_eof || !w->up_eof)
        tunnel_reset(w, NGHTTP2_CANCEL);
    maybe_free(w);
}

static const char *rebase(const char *p, const char *from, char *to)
{
    return p ? to + (p - from) : NULL;
}

/* Makes room for `need` more bytes in the arena (doubling, at most EDGE_WEB_ARENA); the
 * pointers into it follow. False when it would pass the limit or memory is short. */
static bool arena_room(struct edge_web *w, size_t need)
{
    if (need <= w->arena_cap - w->used)
        return true;
    if (need > EDGE_WEB_ARENA - w->used)
        return false;
    size_t cap = w->arena_cap ? w->arena_cap : EDGE_WEB_ARENA_MIN;
    while (cap - w->used < need)
        cap *= 2;
    if (cap > EDGE_WEB_ARENA)
        cap = EDGE_WEB_ARENA;
    char *old = w->arena, *a = malloc(cap);
    if (!a)
        return false;
    if (old) {
        memcpy(a, old, w->used);
        for (size_t i = 0; i < w->n_fields; i++) {
            w->fields[i].name = rebase(w->fields[i].name, old, a);
            w->fields[i].value = rebase(w->fields[i].value, old, a);
        }
        w->authority = rebase(w->authority, old, a);
        w->path = rebase(w->path, old, a);
        free(old);
    }
    w->arena = a;
    w->arena_cap = cap;
    return true;
}

/* Keeps a copy of name/value in the arena as field i (false when it does not fit). */
static bool keep_field(struct edge_web *w, const uint8_t *name, size_t nlen, const uint8_t *value,
                       size_t vlen)
{
    if (w->n_fields == EDGE_WEB_MAX_FIELDS || !arena_room(w, nlen + vlen + 2)) {
        w->overflow = true;
        return false;
    }
    char *n = w->arena + w->used;
    memcpy(n, name, nlen);
    n[nlen] = 0;
    char *v = n + nlen + 1;
    memcpy(v, value, vlen);
    v[vlen] = 0;
    w->used += nlen + vlen + 2;
    w->fields[w->n_fields++] = (struct st_http_field){n, nlen, v, vlen};
    return true;
}

void edge_web_h2_header(struct edge_web *w, const uint8_t *name, size_t nlen, const uint8_t *value,
                        size_t vlen)
{
    if (w->relayed && edge_web_relay_header(w, name, nlen, value, vlen))
        return;
    if (nlen == 7 && memcmp(name, ":method", 7) == 0) {
        snprintf(w->method, sizeof(w->method), "%.*s", (int)vlen, (const char *)value);
    } else if (nlen == 10 && memcmp(name, ":authority", 10) == 0) {
        /* as a Host field: edge_visit_to_h2 takes it from there */
        if (w->host_field) /* a host field came first: pseudo-fields come first */
            w->host_conflict = true;
        else if (keep_field(w, (const uint8_t *)"host", 4, value, vlen))
            w->authority = w->fields[w->n_fields - 1].value;
    } else if (nlen == 5 && memcmp(name, ":path", 5) == 0) {
        if (keep_field(w, name, nlen, value, vlen)) {
            w->path = w->fields[w->n_fields - 1].value;
            w->n_fields--; /* not a field; the text stays in the arena */
        }
    } else if (nlen == 4 && memcmp(name, "host", 4) == 0) {
        /* RFC 9113 8.3.1: :authority wins; a different Host makes the request malformed */
        if (!w->authority)
            w->host_field = keep_field(w, name, nlen, value, vlen);
        else if (vlen != strlen(w->authority) ||
                 strncasecmp(w->authority, (const char *)value, vlen))
            w->host_conflict = true;
    } else if (nlen && name[0] != ':') {
        keep_field(w, name, nlen, value, vlen);
    }
}

void edge_web_h2_request(struct edge_web *w, bool end_stream)
{
    if (w->overflow) {
        edge_web_local(w, 431, "subtunnel; error=http_request_error");
        return;
    }
    if (!w->method[0] || !w->path || (!w->authority && !w->host_field) || w->host_conflict) {
        edge_web_local(w, 400, "subtunnel; error=http_request_error; details=\"not a request\"");
        return;
    }
    struct edge_visit_req req = {.method = w->method,
                                 .target = w->path,
                                 .fields = w->fields,
                                 .n_fields = w->n_fields,
                                 .client_ip = w->client,
                                 .tls = true,
                                 .via = w->srv->cfg.location};
    if (w->relayed)
        edge_web_relay_request(w, !end_stream);
    else
        edge_web_send(w, &req, !end_stream);
    if (!w->local) /* the tunnel response's fields reuse the arena */
        w->n_fields = w->used = 0;
}

ssize_t edge_web_read_down(struct edge_web *w, uint8_t *buf, size_t len, uint32_t *flags)
{
    size_t n = st_bq_copy(&w->down, buf, len);
    st_bq_consume(&w->down, n);
    edge_web_delivered(w, n);
    if (w->down.len == 0 && w->down_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
        w->access_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

void edge_web_on_header(struct edge_web *w, const uint8_t *name, size_t nlen, const uint8_t *value,
                        size_t vlen)
{
    if (w->responded)
        return; /* trailers: not forwarded */
    if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
        w->status = st_http_status((const char *)value, vlen);
        if (w->status < 0)
            st_warn("ingress %s: malformed :status \"%.*s\" from the gateway: answering 502",
                    w->host, (int)(vlen < 16 ? vlen : 16), (const char *)value);
        return;
    }
    if (nlen && name[0] != ':')
        keep_field(w, name, nlen, value, vlen);
}

void edge_web_on_response(struct edge_web *w)
{
    if (w->responded)
        return;
    if (w->status < 0) { /* malformed :status, logged by edge_web_on_header */
        edge_web_local(w, 502, ST_HTTP_PS_BAD_STATUS);
        return;
    }
    if (w->status < 200)
        return; /* an interim response: wait for the final one */
    if (w->overflow) {
        edge_web_local(w, 502, "subtunnel; error=http_response_header_section_size");
        return;
    }
    w->responded = true;
    free(w->relay_req); /* the relay connection is up: never sent again */
    w->relay_req = NULL;
    if (w->srv->cfg.flow_idle_timeout_ms)
        st_stall_waiting(&w->idle, (uint64_t)w->srv->cfg.flow_idle_timeout_ms);
    wake_access(w, true);
}

int edge_web_on_tunnel_data(struct edge_web *w, const uint8_t *p, size_t n)
{
    if ((!w->vc && !w->ah) || w->local || st_bq_append(&w->down, p, n) < 0)
        return -1;
    st_stall_waiting(&w->stall, (uint64_t)w->srv->cfg.send_timeout_ms);
    wake_access(w, false);
    return 0;
}

void edge_web_on_tunnel_eof(struct edge_web *w)
{
    if (w->local)
        return;
    w->down_eof = true;
    if (w->responded)
        wake_access(w, false);
}

void edge_web_on_tunnel_close(struct edge_web *w, uint32_t code)
{
    /* A relay connection that failed before its handshake finished sent nothing of the
     * request: the next holder of the tunnel gets it (the failed one is passed over now). */
    bool again = w->tc && w->tc->relay && !w->tc->relay_up && w->relay_req && !w->responded &&
                 (w->vc || w->ah) && ++w->relay_tries < EDGE_RELAY_PEERS_MAX;
    if (w->tc && w->down.len && !w->local) /* never consumed on this stream now */
        edge_tconn_dropped(w->tc, w->down.len);
    w->tc = NULL;
    release_tunnel(w);
    struct edge_visit_h2 *h = w->relay_req;
    w->relay_req = NULL;
    if (again) {
        st_info("visitor %s: host '%s': relay connection to edge %s failed before it was up: "
                "next holder",
                w->client, w->host, w->relay_edge);
        edge_web_route(w, h, w->relay_body);
        maybe_free(w);
        return;
    }
    free(h);
    drop_up(w);
    if (!w->local) {
        if (!w->responded) {
            edge_web_local(w, 502, "subtunnel; error=connection_terminated");
        } else if (code != NGHTTP2_NO_ERROR || !w->down_eof) {
            /* cut off mid-response: the visitor must see an error, not a short body */
            if (w->vc)
                edge_vconn_abort(w->vc);
            else if (w->ah)
                edge_ah2_reset(w->ah, w->asid, NGHTTP2_INTERNAL_ERROR);
        } else {
            wake_access(w, false);
        }
    }
    maybe_free(w);
}

ssize_t edge_web_read_up(struct edge_web *w, uint8_t *buf, size_t len, uint32_t *flags)
{
    size_t n = st_bq_copy(&w->up, buf, len);
    st_bq_consume(&w->up, n);
    if (n && w->ah)
        edge_ah2_consume(w->ah, w->asid, n);
    if (n && w->vc)
        edge_vconn_up_room(w->vc);
    if (w->up.len == 0 && w->up_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
        w->provider_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

size_t edge_web_revoke(struct edge_server *srv, int64_t now)
{
    size_t n = 0;
    for (struct edge_tconn *c = srv->tconns; c; c = c->next) {
        struct edge_web *next;
        for (struct edge_web *w = c->webs; w; w = next) {
            next = w->tc_next;
            const char *why = w->has_ident && !w->local ? edge_authz_web_revoked(w, now) : NULL;
            if (!why)
                continue;
            st_info("visitor %s: host '%s' (user %s): %s: closed", w->client, w->host,
                    w->ident.user, why);
            srv->flows_revoked++;
            cut(w);
            n++;
        }
    }
    return n;
}
