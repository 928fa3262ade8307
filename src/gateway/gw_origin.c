#include "gw_origin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_server.h"
#include "st_log.h"
#include "st_tls.h"

#define PLAIN_MAX 16384        /* one TLS record of plaintext */
#define WBIO_HIGH (64 * 1024)  /* TLS output waiting for lwIP before writes pause */
#define INGRESS_LOG_PER_SEC 10 /* queue full / queue timeout lines (gw_web.c) */
#define STALL_MS 1000          /* a new connection not opened after this has stalled */
#define STRICT_MS 60000        /* then its origin's new connections count until it answers */

static void on_free(struct st_defer *d)
{
    struct gw_origin *o = d->data;
    st_timer_stop(&o->timer);
    ns_pbufq_clear(&o->in);
    SSL_free(o->ssl); /* frees both BIOs */
    free(o->plain);
    free(o);
}

static void schedule(struct gw_server *gw)
{
    if (gw_oqueue_woken(&gw->origins))
        st_defer_queue(&gw->loop, &gw->origin_serve);
}

static void idle_unlink(struct gw_origin *o)
{
    if (!o->idle)
        return;
    if (o->prev)
        o->prev->next = o->next;
    else
        o->group->idle_head = o->next;
    if (o->next)
        o->next->prev = o->prev;
    o->next = o->prev = NULL;
    o->idle = false;
    gw_oqueue_unparked(o->group);
    o->gw->n_origin_idle--;
}

/* The connection leaves its origin's counts: a slot for a new connection frees when it held
 * one. */
static void ungroup(struct gw_origin *o)
{
    struct gw_ogroup *g = o->group;
    if (!g)
        return;
    idle_unlink(o);
    o->group = NULL;
    gw_oqueue_closed(&o->gw->origins, g, !o->counted);
    o->counted = false;
    schedule(o->gw);
}

/* The connection no longer counts as being opened: the next waiter may open one. */
static void release_slot(struct gw_origin *o)
{
    if (!o->counted || !o->group)
        return;
    o->counted = false;
    gw_oqueue_opened(&o->gw->origins, o->group);
    schedule(o->gw);
}

/* The origin took the connection (see gw_origin.h): the connect timeout is over, and unless
 * the origin is strict the slot frees (TLS: the handshake needed its application). */
static void set_opened(struct gw_origin *o)
{
    if (o->opened)
        return;
    o->opened = true;
    st_timer_stop(&o->timer);
    if (o->ssl || (o->group && !gw_oqueue_strict(o->group, st_loop_now(&o->gw->loop))))
        release_slot(o);
}

/* The origin sent bytes (or its FIN): its application has the connection. */
static void set_answered(struct gw_origin *o)
{
    set_opened(o);
    release_slot(o);
}

/* Not opened STALL_MS after the SYN: the origin's listen queue dropped it, most likely. */
static void check_stall(struct gw_origin *o)
{
    struct gw_server *gw = o->gw;
    uint64_t now = st_loop_now(&gw->loop);
    if (o->opened || !o->group || now - o->started < STALL_MS ||
        !gw_oqueue_stalled(o->group, now, now + STRICT_MS))
        return;
    gw->origin_stalls++;
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(o->family, o->addr, ip, sizeof(ip));
    st_info("ingress origin %s%s%s:%u: a new connection not taken after %d s (listen queue full?): "
            "for %d s new connections count against max-connecting until the origin answers",
            o->family == AF_INET6 ? "[" : "", ip, o->family == AF_INET6 ? "]" : "", o->port,
            STALL_MS / 1000, STRICT_MS / 1000);
}

static void detach(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
}

/* Closes the pcb (abortively when `rst` or a graceful close fails) and frees o later. */
static void destroy(struct gw_origin *o, bool rst)
{
    ungroup(o);
    o->w = NULL;
    st_timer_stop(&o->timer);
    if (o->pcb) {
        detach(o->pcb);
        if (rst || tcp_close(o->pcb) != ERR_OK) {
            tcp_abort(o->pcb);
            o->aborted = o->in_cb;
        }
        o->pcb = NULL;
    }
    if (!o->freeing) {
        o->freeing = true;
        o->gw->origin_conns--;
        st_defer_queue(&o->gw->loop, &o->free_d);
    }
}

static err_t cb_end(struct gw_origin *o)
{
    o->in_cb = false;
    return o->aborted ? ERR_ABRT : ERR_OK;
}

/* ---------------------------------------------------------------- TLS over the pcb */

/* Moves TLS output from the memory BIO into lwIP as far as it takes it. */
static void tls_flush(struct gw_origin *o)
{
    while (o->ssl && o->pcb && BIO_ctrl_pending(o->wbio)) {
        char *data;
        long n = BIO_get_mem_data(o->wbio, &data);
        size_t k = tcp_sndbuf(o->pcb);
        k = k < (size_t)n ? k : (size_t)n;
        k = k < 0xffff ? k : 0xffff;
        if (!k || tcp_sndqueuelen(o->pcb) + 4 > TCP_SND_QUEUELEN ||
            tcp_write(o->pcb, data, (u16_t)k, TCP_WRITE_FLAG_COPY) != ERR_OK)
            break;
        static char sink[0xffff];
        BIO_read(o->wbio, sink, (int)k);
    }
    if (o->fin_pending && o->pcb && !BIO_ctrl_pending(o->wbio)) {
        o->fin_pending = false; /* every TLS byte is in lwIP: the FIN may follow */
        tcp_shutdown(o->pcb, 0, 1);
    }
    if (o->pcb && o->connected)
        tcp_output(o->pcb);
}

/* Hands received records to OpenSSL (at most one pbuf segment at a time). */
static bool tls_feed(struct gw_origin *o)
{
    if (!o->in.head)
        return false;
    size_t n = o->in.head->len;
    BIO_write(o->rbio, o->in.head->payload, (int)n);
    ns_pbufq_drop(&o->in, n);
    if (o->pcb)
        tcp_recved(o->pcb, (u16_t)n);
    return true;
}

static void tls_fail(struct gw_origin *o, int err, const char *what)
{
    char e[120];
    long v = SSL_get_verify_result(o->ssl);
    if (v != X509_V_OK && !o->tls_ready && (SSL_get_verify_mode(o->ssl) & SSL_VERIFY_PEER)) {
        err = GW_ORIGIN_ERR_CERT;
        snprintf(o->tls_why, sizeof(o->tls_why), "%s", X509_verify_cert_error_string(v));
    } else {
        snprintf(o->tls_why, sizeof(o->tls_why), "%s: %s", what, st_tls_errstr(e, sizeof(e)));
    }
    ERR_clear_error();
    o->tls_err = err;
}

/* Drives the handshake with what arrived; true once it is done. */
static bool tls_handshake(struct gw_origin *o)
{
    for (int i = 0; i < 64 && !o->tls_ready && !o->tls_err; i++) {
        ERR_clear_error();
        int r = SSL_do_handshake(o->ssl);
        if (r == 1) {
            o->tls_ready = true;
            break;
        }
        int e = SSL_get_error(o->ssl, r);
        if (e != SSL_ERROR_WANT_READ) {
            tls_fail(o, GW_ORIGIN_ERR_TLS, "TLS handshake");
            break;
        }
        if (!tls_feed(o))
            break;
    }
    tls_flush(o);
    return o->tls_ready;
}

/* ---------------------------------------------------------------- lwIP callbacks */

static void failed(struct gw_origin *o, int err)
{
    struct gw_web *w = o->w;
    o->others_open = o->group && o->group->open > (o->counted ? 0u : 1u);
    destroy(o, true);
    if (w)
        gw_web_origin_failed(w, err);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    (void)err;
    struct gw_origin *o = arg;
    o->in_cb = true;
    o->connected = true;
    if (!o->ssl) {
        if (o->w) /* the request goes out; the connect timer runs until it is acknowledged */
            gw_web_origin_ready(o->w);
    } else if (!tls_handshake(o) && o->tls_err) { /* ClientHello out; the timer goes on */
        failed(o, o->tls_err);
    }
    return cb_end(o);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    (void)pcb;
    (void)err;
    struct gw_origin *o = arg;
    o->in_cb = true;
    if (!p) {
        o->in_eof = true;
    } else {
        ns_pbufq_push(&o->in, p);
    }
    if (!o->ssl)
        set_answered(o); /* it sent something: its application has the connection */
    if (!o->w) {         /* idle: the origin closed it, or sent bytes nobody asked for */
        destroy(o, p != NULL);
    } else if (o->ssl && !o->tls_ready) {
        if (tls_handshake(o)) {
            set_opened(o);
            gw_web_origin_ready(o->w);
        } else if (o->tls_err) {
            failed(o, o->tls_err);
        } else if (o->in_eof) {
            snprintf(o->tls_why, sizeof(o->tls_why), "closed during the TLS handshake");
            failed(o, GW_ORIGIN_ERR_TLS);
        }
    } else {
        gw_web_origin_input(o->w);
    }
    return cb_end(o);
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    struct gw_origin *o = arg;
    o->in_cb = true;
    if (len && !o->ssl)
        set_opened(o); /* the origin acknowledged request bytes: it accepted the connection */
    tls_flush(o);
    if (o->w && (!o->ssl || o->tls_ready))
        gw_web_origin_writable(o->w);
    return cb_end(o);
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
    check_stall(arg);
    return on_sent(arg, pcb, 0); /* retries writes that failed for lack of memory */
}

static void on_err(void *arg, err_t err)
{
    struct gw_origin *o = arg;
    o->pcb = NULL; /* freed by lwIP */
    failed(o, err);
}

static void on_timer(struct st_timer *t)
{
    struct gw_origin *o = t->data;
    if (o->w)
        failed(o, ERR_TIMEOUT); /* connect (and TLS handshake) timeout */
    else
        destroy(o, true); /* idle timeout: see gw_origin_put */
}

/* ---------------------------------------------------------------- pool */

static void tls_key(const struct gw_origin_opts *opts, char *key, size_t cap)
{
    if (!opts->tls)
        key[0] = 0;
    else
        snprintf(key, cap, "tls|%d|%s|%s", opts->verify, opts->server_name ? opts->server_name : "",
                 opts->ca_file ? opts->ca_file : ""); /* verify first: never cut off */
}

/* The first idle connection of g, out of the pool (NULL when none). */
static struct gw_origin *from_pool(struct gw_ogroup *g)
{
    struct gw_origin *o;
    while ((o = g->idle_head)) {
        idle_unlink(o);
        st_timer_stop(&o->timer);
        if (o->pcb && !gw_origin_readable(o))
            return o;
        destroy(o, true); /* closed or spoke meanwhile: on_recv and on_err free those first */
    }
    return NULL;
}

/* The ingress source address of `family`: one virtual IP of virtual-pool (IPv4 origins) or
 * virtual-pool6 (IPv6 origins), held for the life of the process. Its pool key is the IPv6
 * unspecified address "::", which no real client has. */
static int ingress_vip(struct gw_server *gw, int family, ip_addr_t *out)
{
    static const uint8_t key[16] = {0};
    if (family == AF_INET6) {
        if (!gw->has_ingress_vip6) {
            if (gw_vip_acquire6(gw->vips6, AF_INET6, key, &gw->ingress_vip6) < 0)
                return -1;
            gw->has_ingress_vip6 = true;
        }
        ip_addr_set_zero_ip6(out);
        memcpy(ip_2_ip6(out)->addr, gw->ingress_vip6.s6_addr, 16);
        return 0;
    }
    if (!gw->has_ingress_vip) {
        if (gw_vip_acquire(gw->vips, AF_INET6, key, &gw->ingress_vip) < 0)
            return -1;
        gw->has_ingress_vip = true;
    }
    ip_addr_set_ip4_u32(out, gw->ingress_vip.s_addr);
    return 0;
}

/* The lwIP form of an origin address (family, 16 bytes). */
static void remote_addr(ip_addr_t *out, int family, const uint8_t addr[16])
{
    uint32_t v4;
    if (family == AF_INET6) {
        ip_addr_set_zero_ip6(out);
        memcpy(ip_2_ip6(out)->addr, addr, 16);
        return;
    }
    memcpy(&v4, addr, 4);
    ip_addr_set_ip4_u32_val(*out, v4);
}

static int tls_setup(struct gw_origin *o, const struct gw_origin_opts *opts)
{
    if (!(o->ssl = SSL_new(opts->tls)) || !(o->plain = malloc(PLAIN_MAX)))
        return -1;
    o->rbio = BIO_new(BIO_s_mem());
    o->wbio = BIO_new(BIO_s_mem());
    if (!o->rbio || !o->wbio) {
        BIO_free(o->rbio);
        BIO_free(o->wbio);
        return -1;
    }
    BIO_set_mem_eof_return(o->rbio, -1); /* empty means "wait", not EOF */
    SSL_set_bio(o->ssl, o->rbio, o->wbio);
    SSL_set_connect_state(o->ssl);
    if (opts->server_name) {
        SSL_set_tlsext_host_name(o->ssl, opts->server_name);
        if (opts->verify)
            SSL_set1_host(o->ssl, opts->server_name);
    } else if (opts->verify) {
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(opts->family, opts->addr, ip, sizeof(ip));
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(o->ssl), ip);
    }
    return 0;
}

/* A new connection for r in g, being opened until r's deadline. NULL with *why. */
static struct gw_origin *open_conn(struct gw_server *gw, struct gw_ogroup *g,
                                   const struct gw_origin_req *r, const char **why)
{
    const struct gw_origin_opts *opts = r->opts;
    ip_addr_t local, remote;
    if (ingress_vip(gw, opts->family, &local) < 0) {
        *why = "no virtual IP for the ingress address";
        return NULL;
    }
    struct gw_origin *o = calloc(1, sizeof(*o));
    if (!o || (opts->tls && tls_setup(o, opts) < 0) ||
        !(o->pcb = tcp_new_ip_type(opts->family == AF_INET6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4))) {
        if (o) {
            SSL_free(o->ssl);
            free(o->plain);
        }
        free(o);
        *why = "out of memory";
        return NULL;
    }
    o->gw = gw;
    o->family = opts->family;
    memcpy(o->addr, opts->addr, sizeof(o->addr));
    o->port = opts->port;
    o->w = r->w;
    st_timer_init(&o->timer, &gw->loop, on_timer, o);
    st_defer_init(&o->free_d, on_free, o);
    remote_addr(&remote, opts->family, opts->addr);
    tcp_arg(o->pcb, o);
    tcp_err(o->pcb, on_err);
    tcp_recv(o->pcb, on_recv);
    tcp_sent(o->pcb, on_sent);
    tcp_poll(o->pcb, on_poll, 2);
    tcp_nagle_disable(o->pcb);
    if (tcp_bind(o->pcb, &local, 0) != ERR_OK ||
        tcp_connect(o->pcb, &remote, opts->port, on_connected) != ERR_OK) {
        detach(o->pcb);
        tcp_abort(o->pcb);
        SSL_free(o->ssl);
        free(o->plain);
        free(o);
        *why = "no local port";
        return NULL;
    }
    uint64_t now = st_loop_now(&gw->loop);
    o->group = g;
    o->counted = true;
    o->started = now;
    gw_oqueue_opening(g);
    gw->origin_conns++;
    gw->origin_opened++;
    st_timer_start(&o->timer, r->deadline > now ? r->deadline - now : 1);
    return o;
}

static struct gw_origin *reuse(struct gw_ogroup *g, const struct gw_origin_req *r)
{
    struct gw_origin *o = from_pool(g);
    if (o) {
        o->w = r->w;
        o->reused = true;
    }
    return o;
}

static struct gw_origin_req *req_of(struct gw_owaiter *wt)
{
    return (struct gw_origin_req *)((char *)wt - offsetof(struct gw_origin_req, wait));
}

/* Hands connections to g's waiters, first come first served, while idle connections or
 * slots for new ones are there. */
static void serve_group(struct gw_server *gw, struct gw_ogroup *g)
{
    while (g->head) {
        struct gw_origin_req *r = req_of(g->head);
        enum gw_oqueue_act act =
            gw_oqueue_admit(g, true, !r->fresh, (size_t)r->opts->max_connecting);
        if (act == GW_OQUEUE_WAIT)
            return;
        gw_oqueue_pop(&gw->origins, g);
        const char *why = NULL;
        struct gw_origin *o = act == GW_OQUEUE_IDLE ? reuse(g, r) : open_conn(gw, g, r, &why);
        if (o)
            gw_web_origin_assigned(r->w, o);
        else if (act == GW_OQUEUE_IDLE) /* the pool held only dead ones (now gone): again */
            gw_oqueue_push(&gw->origins, g, &r->wait, 0, true);
        else
            gw_web_origin_unavailable(r->w, why);
    }
}

static void on_serve(struct st_defer *d)
{
    struct gw_server *gw = d->data;
    /* only the groups woken before this round: serving may wake some again (next round) */
    for (size_t n = gw_oqueue_woken(&gw->origins); n; n--) {
        struct gw_ogroup *g = gw_oqueue_next_woken(&gw->origins);
        serve_group(gw, g);
        gw_oqueue_unpin(&gw->origins, g);
    }
}

void gw_origin_init(struct gw_server *gw)
{
    st_log_limit_init(&gw->ingress_log, "ingress refusals", INGRESS_LOG_PER_SEC);
    gw_oqueue_init(&gw->origins);
    st_defer_init(&gw->origin_serve, on_serve, gw);
}

int gw_origin_get(struct gw_server *gw, struct gw_origin_req *r, bool again, struct gw_origin **out,
                  const char **why)
{
    const struct gw_origin_opts *opts = r->opts;
    size_t max = (size_t)opts->max_connecting;
    char key[GW_OQUEUE_KEY_MAX];
    int rc = GW_ORIGIN_QUEUED;

    *out = NULL;
    tls_key(opts, key, sizeof(key));
    struct gw_ogroup *g =
        gw_oqueue_group(&gw->origins, opts->family, opts->addr, opts->port, key, true);
    if (!g) {
        *why = "out of memory";
        return -ENOMEM;
    }
    g->pins++; /* closing a dead pooled connection must not free it here */
    gw_oqueue_strict(g, st_loop_now(&gw->loop)); /* a period that ended is forgotten */
    enum gw_oqueue_act act = again ? GW_OQUEUE_WAIT : gw_oqueue_admit(g, false, !r->fresh, max);
    if (act == GW_OQUEUE_IDLE && !(*out = reuse(g, r)))
        act = gw_oqueue_admit(g, false, false, max); /* the pool held only dead ones */
    if (act == GW_OQUEUE_CONNECT && !(*out = open_conn(gw, g, r, why)))
        rc = -EIO;
    if (*out) {
        rc = 0;
    } else if (act == GW_OQUEUE_WAIT) {
        if (gw_oqueue_push(&gw->origins, g, &r->wait, (size_t)opts->max_queued, again) < 0) {
            *why = "origin queue full";
            rc = -ENOSPC;
        } else if (again || g->idle || g->connecting < max) {
            gw_oqueue_wake(&gw->origins, g); /* it waits for its turn behind the others */
        }
        gw->origin_waited += rc == GW_ORIGIN_QUEUED && !again;
    }
    gw_oqueue_unpin(&gw->origins, g);
    schedule(gw);
    return rc;
}

void gw_origin_cancel(struct gw_server *gw, struct gw_origin_req *r)
{
    gw_oqueue_remove(&gw->origins, &r->wait);
}

void gw_origin_put(struct gw_origin *o, bool keep_alive, int max_idle, int idle_ms)
{
    struct gw_ogroup *g = o->group;
    o->w = NULL;
    /* Requests waiting for a connection get this one (through the pool) when the pool is
     * full; keep-alive-connections 0 keeps none for anybody. */
    bool room = g && max_idle > 0 && (g->idle < (size_t)max_idle || g->waiting);
    if (!keep_alive || !o->pcb || !o->opened || gw_origin_readable(o) || o->tls_err || !room ||
        o->gw->drain.draining) {
        /* Closed with a reset unless the origin closed first: an active close would keep
         * the pcb (and its local port; lwIP's ports are shared by every connection the
         * gateway opens) in TIME_WAIT for 2 minutes, and bursts above the pool size would
         * exhaust them. No HTTP exchange is in progress on a connection let go here. */
        destroy(o, !o->in_eof);
        return;
    }
    o->idle = true;
    o->prev = NULL;
    o->next = g->idle_head;
    if (o->next)
        o->next->prev = o;
    g->idle_head = o;
    o->gw->n_origin_idle++;
    st_timer_start(&o->timer, (uint64_t)idle_ms);
    gw_oqueue_parked(&o->gw->origins, g);
    schedule(o->gw);
}

/* ---------------------------------------------------------------- data */

size_t gw_origin_room(const struct gw_origin *o)
{
    if (!o->pcb || !o->connected || tcp_sndqueuelen(o->pcb) + 4 > TCP_SND_QUEUELEN)
        return 0;
    if (o->ssl)
        return o->tls_ready && !o->tls_err && BIO_ctrl_pending(o->wbio) < WBIO_HIGH ? PLAIN_MAX : 0;
    size_t room = tcp_sndbuf(o->pcb);
    return room > 0xffff ? 0xffff : room;
}

size_t gw_origin_write(struct gw_origin *o, const void *p, size_t n)
{
    size_t room = gw_origin_room(o);
    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    if (o->ssl) {
        ERR_clear_error();
        int r = SSL_write(o->ssl, p, (int)n); /* into the memory BIO: never partial */
        if (r <= 0) {
            tls_fail(o, GW_ORIGIN_ERR_TLS, "TLS write");
            return 0;
        }
        tls_flush(o);
        return (size_t)r;
    }
    if (tcp_write(o->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
        return 0;
    return n;
}

void gw_origin_flush(struct gw_origin *o)
{
    if (o->ssl)
        tls_flush(o);
    else if (o->pcb && o->connected)
        tcp_output(o->pcb);
}

void gw_origin_shutdown(struct gw_origin *o)
{
    if (o->ssl && o->tls_ready) {
        SSL_shutdown(o->ssl); /* close_notify, then the FIN once all of it is in lwIP */
        o->fin_pending = true;
        tls_flush(o);
        return;
    }
    if (o->pcb && o->connected)
        tcp_shutdown(o->pcb, 0, 1);
}

/* Decrypts the next record's worth of plaintext; false when nothing more now. */
static bool tls_read(struct gw_origin *o)
{
    for (int i = 0; i < 64 && !o->tls_eof && !o->tls_err; i++) {
        ERR_clear_error();
        int r = SSL_read(o->ssl, o->plain, PLAIN_MAX);
        if (r > 0) {
            o->plain_off = 0;
            o->plain_len = (size_t)r;
            tls_flush(o); /* answers to post-handshake messages */
            return true;
        }
        int e = SSL_get_error(o->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            o->tls_eof = true;
        } else if (e != SSL_ERROR_WANT_READ) {
            tls_fail(o, GW_ORIGIN_ERR_TLS, "TLS read");
        } else if (!tls_feed(o)) {
            break;
        }
    }
    tls_flush(o);
    return false;
}

size_t gw_origin_peek(struct gw_origin *o, const uint8_t **p)
{
    if (!o->ssl) {
        if (!o->in.head)
            return 0;
        *p = o->in.head->payload;
        return o->in.head->len;
    }
    if (o->plain_off == o->plain_len && !tls_read(o))
        return 0;
    *p = o->plain + o->plain_off;
    return o->plain_len - o->plain_off;
}

void gw_origin_consume(struct gw_origin *o, size_t n)
{
    if (o->ssl) {
        o->plain_off += n;
        return;
    }
    ns_pbufq_drop(&o->in, n);
    while (n) {
        u16_t k = n > 0xffff ? 0xffff : (u16_t)n;
        if (o->pcb)
            tcp_recved(o->pcb, k);
        n -= k;
    }
}

bool gw_origin_readable(const struct gw_origin *o)
{
    return o->in.head || o->in_eof || o->plain_off < o->plain_len || o->tls_eof || o->tls_err ||
           (o->ssl && (SSL_pending(o->ssl) > 0 || BIO_ctrl_pending(o->rbio) > 0));
}

bool gw_origin_eof(const struct gw_origin *o)
{
    if (!o->ssl)
        return o->in_eof && !o->in.head;
    if (o->plain_off < o->plain_len)
        return false;
    /* a FIN without close_notify also ends the stream (framing decides if it was complete) */
    return o->tls_eof || o->tls_err ||
           (o->in_eof && !o->in.head && !BIO_ctrl_pending(o->rbio) && !SSL_pending(o->ssl));
}

/* ---------------------------------------------------------------- TLS contexts */

SSL_CTX *gw_origin_tls_ctx(struct gw_server *gw, const char *ca_file, bool verify, const char **why)
{
    for (size_t i = 0; i < gw->n_origin_ctx; i++) {
        const struct gw_origin_ctx *c = &gw->origin_ctx[i];
        if (c->verify == verify && ((!c->ca_file && !ca_file) ||
                                    (c->ca_file && ca_file && strcmp(c->ca_file, ca_file) == 0)))
            return c->ctx;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        *why = "TLS context: out of memory";
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
    if (verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if ((ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) ||
            (!ca_file && SSL_CTX_set_default_verify_paths(ctx) != 1)) {
            SSL_CTX_free(ctx);
            ERR_clear_error();
            *why = "cannot load the origin CA file";
            return NULL;
        }
    }
    if (gw->n_origin_ctx == GW_ORIGIN_CTX_MAX) { /* forget the oldest (connections keep it) */
        SSL_CTX_free(gw->origin_ctx[0].ctx);
        free(gw->origin_ctx[0].ca_file);
        memmove(gw->origin_ctx, gw->origin_ctx + 1,
                (GW_ORIGIN_CTX_MAX - 1) * sizeof(gw->origin_ctx[0]));
        gw->n_origin_ctx--;
    }
    struct gw_origin_ctx *c = &gw->origin_ctx[gw->n_origin_ctx++];
    c->ctx = ctx;
    c->verify = verify;
    c->ca_file = ca_file ? strdup(ca_file) : NULL;
    return ctx;
}

void gw_origin_close_idle(struct gw_server *gw)
{
    st_defer_cancel(&gw->loop, &gw->origin_serve);
    for (struct gw_ogroup *g = gw->origins.groups, *next; g; g = next) {
        next = g->next;
        for (size_t n = g->idle; n; n--) /* closing the last connection may free g */
            destroy(g->idle_head, false);
    }
    for (size_t i = 0; i < gw->n_origin_ctx; i++) {
        SSL_CTX_free(gw->origin_ctx[i].ctx);
        free(gw->origin_ctx[i].ca_file);
    }
    gw->n_origin_ctx = 0;
}
