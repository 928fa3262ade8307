#include "edge_flow.h"
#include "edge_flow_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge_access.h"
#include "edge_ah2.h"
#include "edge_auth.h"
#include "edge_authz.h"
#include "edge_registry.h"
#include "edge_relay.h"
#include "edge_server.h"
#include "edge_tconn.h"
#include "st_addr.h"
#include "st_h2conn.h"
#include "st_http.h"
#include "st_log.h"
#include "st_masque.h"
#include "st_token.h"

static void write_down(struct edge_flow *f);

/* user-max-flows counts per user: the SHA-256 of its name makes the key. */
static void user_key(uint8_t key[ST_QUOTA_KEY], const struct edge_ident *id)
{
    uint8_t h[32];
    st_sha256(id->user, strlen(id->user), h);
    key[0] = 'u';
    memcpy(key + 1, h, ST_QUOTA_KEY - 1);
}

/* The flow no longer counts against tunnel-max-flows and user-max-flows. */
static void uncount(struct edge_flow *f)
{
    if (f->tunnel)
        f->tunnel->live_flows--;
    f->tunnel = NULL;
    if (f->user_counted) {
        uint8_t key[ST_QUOTA_KEY];
        user_key(key, &f->ident);
        st_quota_give(&f->srv->users, key);
        f->user_counted = false;
    }
}

static void on_done(struct st_defer *d)
{
    struct edge_flow *f = d->data;
    edge_authz_audit_end(f);
    uncount(f);
    f->srv->live_flows--;
    if (f->all_prev)
        f->all_prev->all_next = f->all_next;
    else
        f->srv->flows = f->all_next;
    if (f->all_next)
        f->all_next->all_prev = f->all_prev;
    st_stall_stop(&f->stall);
    st_stall_stop(&f->idle);
    st_bq_fini(&f->up);
    st_bq_fini(&f->down);
    free(f);
}

static bool access_gone(const struct edge_flow *f)
{
    return f->h2 ? f->ah == NULL : f->io.fd < 0;
}

/* Frees the flow once both sides are gone. */
static void maybe_free(struct edge_flow *f)
{
    if (!f->freeing && access_gone(f) && !f->tc) {
        f->freeing = true;
        st_defer_queue(&f->srv->loop, &f->done);
    }
}

static void close_socket(struct edge_flow *f, bool rst)
{
    if (f->io.fd < 0)
        return;
    st_io_stop(&f->io);
    st_defer_cancel(&f->srv->loop, &f->rd);
    edge_listen_closed(f->srv, f->io.fd);
    st_sio_close(&f->sio, rst); /* rst: SO_LINGER 0 */
    f->io.fd = -1;
    maybe_free(f);
}

/* Drops the access side abruptly (RST / RST_STREAM). */
static void access_abort(struct edge_flow *f)
{
    f->failed = true;
    if (f->h2) {
        if (f->ah)
            edge_ah2_reset(f->ah, f->asid, NGHTTP2_CONNECT_ERROR);
    } else {
        close_socket(f, true);
    }
}

static void tunnel_reset(struct edge_flow *f, uint32_t code)
{
    if (f->tc)
        edge_tconn_reset(f->tc, f->sid, code);
}

static void update_events(struct edge_flow *f)
{
    if (f->h2 || f->io.fd < 0)
        return;
    bool want_in = f->reading && !f->up_eof && st_bq_room(&f->up) > 0;
    /* write_down always writes until EAGAIN: edge triggering is fine */
    uint32_t ev = st_sio_events(&f->sio, want_in, f->down.len > 0 || f->shut_wait);
    /* Not reading: notice a hang-up or error once, edge-triggered, never spin on it. */
    if (!want_in)
        ev |= EPOLLET | (f->up_eof ? 0 : EPOLLRDHUP);
    st_io_set(&f->io, ev);
    if (want_in && st_sio_pending(&f->sio))
        st_defer_queue(&f->srv->loop, &f->rd);
}

/* Bytes delivered to the user: reopen the tunnel window for the part that came from it. */
static void delivered(struct edge_flow *f, size_t n)
{
    size_t local = n < f->local_head ? n : f->local_head;
    f->local_head -= local;
    if (n) {
        st_stall_progress(&f->stall);
        st_stall_progress(&f->idle);
    }
    f->bytes_down += n - local;
    if (f->tc && n > local)
        edge_tconn_consume(f->tc, f->sid, &f->rxw, n - local);
}

static void write_down(struct edge_flow *f)
{
    if (f->h2) {
        if (f->ah && f->access_deferred) {
            f->access_deferred = false;
            edge_ah2_resume(f->ah, f->asid);
        }
        return;
    }
    while (f->down.len > 0 && f->io.fd >= 0) {
        const uint8_t *p;
        size_t n = st_bq_peek(&f->down, 0, &p);
        ssize_t w = st_sio_write(&f->sio, p, n);
        if (w < 0) {
            if (w == -EAGAIN)
                break;
            st_debug("flow %s: client write: %s", f->target, f->sio.why);
            tunnel_reset(f, NGHTTP2_CANCEL);
            access_abort(f);
            return;
        }
        st_bq_consume(&f->down, (size_t)w);
        delivered(f, (size_t)w);
    }
    if (f->io.fd < 0)
        return;
    if (f->down.len == 0) {
        if (f->failed) {
            close_socket(f, false);
            return;
        }
        if (f->down_eof && !f->down_shut) {
            /* TLS: close_notify, and the client is read on until it closes */
            f->shut_wait = st_sio_shutdown(&f->sio) == -EAGAIN;
            f->down_shut = !f->shut_wait;
        }
        if (f->down_shut && (f->up_eof || !f->tc)) {
            close_socket(f, false);
            return;
        }
    }
    update_events(f);
}

static void queue_local(struct edge_flow *f, const char *text)
{
    size_t n = strlen(text);
    if (st_bq_append(&f->down, text, n) == 0)
        f->local_head += n;
}

static enum st_flow_kind flow_kind(const struct edge_flow *f)
{
    return f->masque ? st_flow_kind_of(f->protocol) : ST_KIND_TCP;
}

/* Answers the user with an error (counted by kind and reason); the access side closes after
 * it is written. */
void edge_flow_respond_error(struct edge_flow *f, int status, const char *proxy_status)
{
    if (!f->responded)
        f->srv->flows_refused[flow_kind(f)][st_reason_of(proxy_status, status)]++;
    f->failed = true;
    f->responded = true;
    f->reading = false;
    tunnel_reset(f, NGHTTP2_CANCEL);
    if (f->h2) {
        if (f->ah)
            edge_ah2_respond(f->ah, f->asid, status, proxy_status, NULL);
        return;
    }
    char buf[400];
    snprintf(buf, sizeof(buf),
             "HTTP/1.1 %d %s\r\nproxy-status: %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
             status, st_http_reason(status), proxy_status);
    queue_local(f, buf);
    write_down(f);
}

static void resume_tunnel(struct edge_flow *f)
{
    if (f->tc && f->provider_deferred) {
        f->provider_deferred = false;
        edge_tconn_resume(f->tc, f->sid);
    }
}

/* Reads the client straight into the up queue's chunks (no bounce buffer). */
static void read_up(struct edge_flow *f)
{
    for (int i = 0; i < 8 && f->reading && !f->up_eof; i++) {
        uint8_t *p;
        size_t room = st_bq_tail_space(&f->up, &p);
        if (room == 0 && st_bq_room(&f->up) > 0) { /* no memory for a chunk */
            st_warn("flow %s: out of memory for the upload queue", f->target);
            tunnel_reset(f, NGHTTP2_INTERNAL_ERROR);
            access_abort(f);
            return;
        }
        if (room == 0)
            break; /* full: reading resumes as the queue drains */
        ssize_t r = st_sio_read(&f->sio, p, room);
        if (r < 0) {
            st_bq_commit(&f->up, 0);
            if (r == -EAGAIN)
                break;
            st_debug("flow %s: client read: %s", f->target, f->sio.why);
            tunnel_reset(f, NGHTTP2_CANCEL);
            access_abort(f);
            return;
        }
        if (r == 0)
            f->up_eof = true;
        else
            st_stall_progress(&f->idle);
        f->bytes_up += (size_t)r;
        st_bq_commit(&f->up, (size_t)r);
    }
    resume_tunnel(f);
    update_events(f);
}

static void on_read_again(struct st_defer *d)
{
    struct edge_flow *f = d->data;
    if (f->io.fd >= 0 && f->reading)
        read_up(f);
}

static void flow_io(struct st_io *io, uint32_t events)
{
    struct edge_flow *f = io->data;
    bool in = events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP), out = events & EPOLLOUT;
    /* TLS cross wants: a write that waits for EPOLLIN, a read for EPOLLOUT */
    if (out || (in && f->sio.write_wants_read))
        write_down(f);
    if (f->io.fd >= 0 && (in || (out && f->sio.read_wants_write))) {
        if (f->reading) {
            read_up(f);
        } else if (events & (EPOLLHUP | EPOLLERR)) {
            tunnel_reset(f, NGHTTP2_CANCEL);
            access_abort(f);
        }
    }
}

/* Ends both sides at once. */
static void cut(struct edge_flow *f)
{
    tunnel_reset(f, NGHTTP2_CANCEL);
    access_abort(f);
}

/* The user took none of the tunnel's bytes for send-timeout: it holds the stream's window
 * and its queue for nothing. */
static void on_stall(struct st_timer *t)
{
    struct edge_flow *f = t->data;
    if (!st_stall_expired(&f->stall, f->down.len > f->local_head && !access_gone(f) && f->tc))
        return;
    f->srv->flows_stalled++;
    f->end = "the client read nothing for send-timeout";
    edge_refusal(f->srv, EDGE_REFUSE_CONN,
                 "flow %s: the client read nothing for %d s with %zu bytes waiting: closed",
                 f->target, f->srv->cfg.send_timeout_ms / 1000, f->down.len);
    cut(f);
}

static void on_idle(struct st_timer *t)
{
    struct edge_flow *f = t->data;
    if (!st_stall_expired(&f->idle, !access_gone(f) && f->tc))
        return;
    f->srv->flows_idle++;
    f->end = "idle for flow-idle-timeout";
    edge_refusal(f->srv, EDGE_REFUSE_CONN, "flow %s: no byte either way for %d s: closed",
                 f->target, f->srv->cfg.flow_idle_timeout_ms / 1000);
    cut(f);
}

static struct edge_flow *flow_alloc(struct edge_server *srv)
{
    struct edge_flow *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->kind = EDGE_STREAM_FLOW;
    f->srv = srv;
    f->id = ++srv->next_flow_id;
    f->rule = -1;
    srv->live_flows++;
    f->all_next = srv->flows;
    if (srv->flows)
        srv->flows->all_prev = f;
    srv->flows = f;
    st_io_init(&f->io, &srv->loop, -1, flow_io, f);
    st_sio_init(&f->sio, -1, NULL);
    st_defer_init(&f->rd, on_read_again, f);
    st_defer_init(&f->done, on_done, f);
    st_stall_init(&f->stall, &srv->loop, on_stall, f);
    st_stall_init(&f->idle, &srv->loop, on_idle, f);
    st_bq_init_chunks(&f->up, EDGE_FLOW_WINDOW, EDGE_FLOW_CHUNK);
    st_bq_init(&f->down, EDGE_FLOW_WINDOW + 4096);
    return f;
}

/* Counts the flow against user-max-flows and tunnel-max-flows (t: the tunnel it goes to), or
 * answers 503 and returns false. */
static bool count_flow(struct edge_flow *f, struct edge_tunnel *t, const char *client)
{
    struct edge_server *srv = f->srv;
    const char *details = NULL;
    if (f->has_ident) {
        uint8_t key[ST_QUOTA_KEY];
        user_key(key, &f->ident);
        int rv = st_quota_take(&srv->users, key, (uint32_t)srv->cfg.user_max_flows);
        if (rv == -EDQUOT) {
            details = "too many flows open for this user";
            edge_refusal(srv, EDGE_REFUSE_LIMIT,
                         "flow %s -> %s: refused: user %s has %u flows open (user-max-flows)",
                         client, f->target, f->ident.user, st_quota_count(&srv->users, key));
        } else if (rv < 0) {
            details = "out of memory";
            st_warn("flow %s -> %s: refused: out of memory", client, f->target);
        } else {
            f->user_counted = true;
        }
    }
    if (!details && !edge_limits_tunnel_room(t->live_flows, srv->cfg.tunnel_max_flows)) {
        details = "too many flows open on this tunnel";
        edge_refusal(srv, EDGE_REFUSE_LIMIT,
                     "flow %s -> %s: refused: tunnel %s has %zu flows open (tunnel-max-flows)",
                     client, f->target, t->id, t->live_flows);
    }
    if (details) {
        uncount(f);
        char ps[160];
        snprintf(ps, sizeof(ps), "subtunnel; error=connection_limit_reached; details=\"%s\"",
                 details);
        edge_flow_respond_error(f, 503, ps);
        return false;
    }
    f->tunnel = t;
    t->live_flows++;
    return true;
}

/* Routes the flow to a tunnel connection and opens its stream, or answers an error. */
void edge_flow_route(struct edge_flow *f, const char *client)
{
    struct edge_server *srv = f->srv;
    int family;
    uint8_t addr[16];
    uint16_t port;
    int rv = f->masque ? st_client_parse(f->target, strlen(f->target), &family, addr, &port)
                       : st_authority_parse(f->target, strlen(f->target), &family, addr, &port);
    if (rv < 0) {
        edge_flow_respond_error(
            f, 400, "subtunnel; error=http_request_error; details=\"target must be ip:port\"");
        return;
    }
    struct edge_tunnel *t;
    struct edge_tconn *c = edge_registry_pick(&srv->reg, family, addr, &t);
    if (f->has_ident && !edge_authz_flow(f, t, family, addr, port)) {
        /* Answered like a destination no tunnel announces: the answer reveals neither the
         * rules nor the routes. */
        edge_flow_respond_error(f, 403, "subtunnel; error=destination_ip_prohibited");
        return;
    }
    if (f->src_tunnel && t && !edge_registry_may_reach(f->src_tunnel, t, family, addr)) {
        edge_refusal(srv, EDGE_REFUSE_REQUEST, "flow %s -> %s: refused: tunnel %s may not reach it",
                     client, f->target, f->src_tunnel->id);
        edge_flow_respond_error(f, 403, "subtunnel; error=destination_ip_prohibited");
        return;
    }
    if (!c && t && !t->n_conns)
        c = edge_relay_pick(srv->relay, f, t); /* an edge of the fleet holding t */
    if (!c) {
        if (!t) {
            edge_refusal(srv, EDGE_REFUSE_REQUEST,
                         "flow %s -> %s: refused: no tunnel announces this destination", client,
                         f->target);
            edge_flow_respond_error(f, 403, "subtunnel; error=destination_ip_prohibited");
        } else {
            if (t->n_conns) { /* up, but its gateways expose a narrower set of routes */
                edge_refusal(srv, EDGE_REFUSE_REQUEST,
                             "flow %s -> %s: refused: tunnel %s does not announce it", client,
                             f->target, t->id);
                edge_flow_respond_error(f, 403, "subtunnel; error=destination_ip_prohibited");
                return;
            }
            edge_refusal(srv, EDGE_REFUSE_REQUEST,
                         "flow %s -> %s: tunnel %s has no registered connection", client, f->target,
                         t->id);
            edge_flow_respond_error(f, 502,
                                    "subtunnel; error=destination_unavailable; "
                                    "details=\"tunnel not connected\"");
        }
        return;
    }
    if (!count_flow(f, t, client))
        return;
    int32_t sid = edge_tconn_open_stream(c, f, f->target, client);
    if (sid < 0) {
        uncount(f);
        st_warn("flow %s -> %s: cannot open stream: %s", client, f->target, nghttp2_strerror(sid));
        edge_flow_respond_error(f, 503, "subtunnel; error=connection_limit_reached");
        return;
    }
    srv->flows_opened[flow_kind(f)]++;
    f->opened = true;
    f->dest_tunnel = t;
    f->tc_id = c->id;
    f->opened_ms = st_loop_now(&srv->loop);
    if (c->relay)
        snprintf(f->relay_edge, sizeof(f->relay_edge), "%s", c->relay_id);
    st_debug("flow %s -> %s: stream %d on tunnel %s", client, f->target, sid, t->id);
}

void edge_flow_start(struct edge_server *srv, struct st_sio *sio, const char *protocol,
                     const char *target, const char *client, const struct edge_ident *id,
                     const uint8_t *early, size_t early_len)
{
    int fd = sio->fd;
    struct edge_flow *f = flow_alloc(srv);
    if (!f) {
        edge_listen_closed(srv, fd);
        st_sio_close(sio, false);
        return;
    }
    f->sio = *sio; /* the flow's now */
    sio->fd = -1;
    sio->ssl = NULL;
    f->io.fd = fd;
    snprintf(f->client, sizeof(f->client), "%s", client);
    f->has_ident = true;
    f->ident = *id;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    snprintf(f->target, sizeof(f->target), "%s", target);
    if (early_len)
        st_bq_append(&f->up, early, early_len);
    if (protocol) { /* HTTP/1.1 upgrade: the target is the request path */
        f->masque = true;
        snprintf(f->protocol, sizeof(f->protocol), "%s", protocol);
        snprintf(f->path, sizeof(f->path), "%s", target);
        int rv = strlen(target) < sizeof(f->path) ? edge_flow_masque_target(f) : -EINVAL;
        if (rv < 0) {
            edge_flow_respond_error(f, rv == -EPROTONOSUPPORT ? 501 : 400,
                                    rv == -EPROTONOSUPPORT ? ST_MASQUE_PS_SCOPE
                                                           : ST_MASQUE_PS_BAD_PATH);
            update_events(f);
            return;
        }
    }
    edge_flow_route(f, client);
    update_events(f);
}

struct edge_flow *edge_flow_new_h2(struct edge_server *srv, struct edge_ah2 *ah, int32_t asid)
{
    struct edge_flow *f = flow_alloc(srv);
    if (!f)
        return NULL;
    f->h2 = true;
    f->ah = ah;
    f->relayed = ah->relay;
    if (ah->relay) /* its fleet certificate names the edge */
        snprintf(f->relay_edge, sizeof(f->relay_edge), "%.63s", ah->names ? ah->names->cn : "?");
    f->asid = asid;
    return f;
}

int edge_flow_h2_data(struct edge_flow *f, const uint8_t *p, size_t n)
{
    if (f->failed) {
        /* Answered with an error already (a datagram flow sends at once): drop the bytes.
         * A reset here would overtake the error response and discard it. */
        if (f->ah)
            edge_ah2_consume(f->ah, f->asid, n);
        return 0;
    }
    if (st_bq_append(&f->up, p, n) < 0)
        return -1;
    f->bytes_up += n;
    st_stall_progress(&f->idle);
    resume_tunnel(f);
    return 0;
}

void edge_flow_h2_eof(struct edge_flow *f)
{
    f->up_eof = true;
    resume_tunnel(f);
}

void edge_flow_h2_close(struct edge_flow *f, uint32_t code)
{
    if (f->ah && f->up.len) /* see edge_flow_on_tunnel_close */
        st_h2rx_dropped(&f->ah->h2.rx, f->ah->h2.session, f->up.len);
    f->ah = NULL;
    if (code != NGHTTP2_NO_ERROR || !f->down_eof || !f->up_eof) {
        if (!f->end)
            f->end = "reset by the client";
        tunnel_reset(f, NGHTTP2_CANCEL);
    }
    maybe_free(f);
}

ssize_t edge_flow_read_down(struct edge_flow *f, uint8_t *buf, size_t len, uint32_t *flags)
{
    size_t n = st_bq_copy(&f->down, buf, len);
    st_bq_consume(&f->down, n);
    delivered(f, n);
    if (f->down.len == 0 && f->down_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        f->down_shut = true;
    } else if (n == 0) {
        f->access_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

void edge_flow_on_response(struct edge_flow *f)
{
    if (f->responded)
        return;
    if (f->status < 0) { /* malformed :status, logged where it was parsed */
        edge_flow_respond_error(f, 502, ST_HTTP_PS_BAD_STATUS);
        return;
    }
    if (f->status < 200 || f->status >= 300) {
        char ps[200];
        snprintf(ps, sizeof(ps), "%s", f->proxy_status[0] ? f->proxy_status : "subtunnel");
        edge_flow_respond_error(f, f->status, ps);
        return;
    }
    f->responded = true;
    if (f->srv->cfg.flow_idle_timeout_ms)
        st_stall_waiting(&f->idle, (uint64_t)f->srv->cfg.flow_idle_timeout_ms);
    if (f->h2) {
        if (f->ah)
            edge_ah2_respond(f->ah, f->asid, 200, NULL, f);
        return;
    }
    f->reading = true;
    if (f->masque) {
        char head[160];
        snprintf(head, sizeof(head),
                 "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: %s\r\n"
                 "capsule-protocol: ?1\r\n\r\n",
                 f->protocol);
        queue_local(f, head);
    } else {
        queue_local(f, "HTTP/1.1 200 Connection established\r\n\r\n");
    }
    write_down(f);
    if (f->io.fd >= 0 && f->up.len)
        resume_tunnel(f);
}

int edge_flow_on_tunnel_data(struct edge_flow *f, const uint8_t *p, size_t n)
{
    if (access_gone(f) || f->failed)
        return -1;
    if (st_bq_append(&f->down, p, n) < 0)
        return -1;
    st_stall_waiting(&f->stall, (uint64_t)f->srv->cfg.send_timeout_ms);
    write_down(f);
    return 0;
}

void edge_flow_on_tunnel_eof(struct edge_flow *f)
{
    f->down_eof = true;
    if (f->responded && !f->failed)
        write_down(f);
}

void edge_flow_on_tunnel_close(struct edge_flow *f, uint32_t code)
{
    /* A relay connection that failed before its handshake finished sent nothing of the
     * flow: the next holder of the tunnel gets it (the failed one is passed over now). */
    bool again = f->tc && f->tc->relay && !f->tc->relay_up && !f->responded && !access_gone(f) &&
                 ++f->relay_tries < EDGE_RELAY_PEERS_MAX;
    /* Bytes still queued will never be consumed on this stream: give their share of the
     * connection window back now, or enough such flows would stall the connection. */
    if (f->tc && f->down.len > f->local_head)
        edge_tconn_dropped(f->tc, f->down.len - f->local_head);
    f->tc = NULL;
    uncount(f);
    if (again) {
        st_info("flow %s -> %s: relay connection failed before it was up: next holder", f->client,
                f->target);
        f->opened = false;
        edge_flow_route(f, f->client);
        maybe_free(f);
        return;
    }
    if (!access_gone(f)) {
        if (!f->responded)
            edge_flow_respond_error(f, 502, "subtunnel; error=connection_terminated");
        else if (f->failed)
            ; /* an error answer is on its way to the user: a reset would overtake it */
        else if (code != NGHTTP2_NO_ERROR || !f->down_eof) {
            if (!f->end)
                f->end = "reset by the tunnel side";
            access_abort(f); /* the far side reset: reset the user too */
        } else
            write_down(f);
    }
    maybe_free(f);
}

/* n bytes of the up queue went into the tunnel. */
static void up_taken(struct edge_flow *f, size_t n)
{
    if (!n)
        return;
    if (f->h2 && f->ah)
        edge_ah2_consume(f->ah, f->asid, n);
    update_events(f);
}

ssize_t edge_flow_read_up(struct edge_flow *f, uint8_t *buf, size_t len, uint32_t *flags,
                          bool zero_copy)
{
    size_t n = len < f->up.len ? len : f->up.len;
    const uint8_t *p;
    size_t run = zero_copy && n ? st_bq_peek(&f->up, 0, &p) : 0;
    size_t zc = st_h2_zc_frame(run, n, flags);
    if (zc) {
        n = zc;
    } else {
        n = st_bq_copy(&f->up, buf, n);
        st_bq_consume(&f->up, n);
        up_taken(f, n);
    }
    if (f->up.len - zc == 0 && f->up_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        f->up_eof_sent = true;
    } else if (n == 0) {
        f->provider_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

uint8_t *edge_flow_up_frame(struct edge_flow *f, size_t len)
{
    const uint8_t *p;
    size_t run = st_bq_peek(&f->up, 0, &p);
    return run >= len && len ? (uint8_t *)p : NULL; /* the queue's own chunk, ours to write */
}

void edge_flow_up_sent(struct edge_flow *f, size_t len)
{
    st_bq_consume(&f->up, len);
    up_taken(f, len);
}

size_t edge_flow_revoke(struct edge_server *srv)
{
    size_t n = 0;
    int64_t now = st_wall_seconds();
    /* Every flow, also those whose tunnel stream already ended while bytes still wait for
     * the user: a revoked credential gets nothing more. */
    for (struct edge_flow *f = srv->flows; f; f = f->all_next) {
        if (!f->has_ident || f->failed || access_gone(f))
            continue;
        const char *why = edge_authz_revoked(f, now);
        if (!why)
            continue;
        st_info("flow %s (user %s): %s: closed", f->target, f->ident.user, why);
        f->end = why;
        srv->flows_revoked++;
        cut(f);
        n++;
    }
    return n;
}
