#include "gw_origin.h"

#include <stdlib.h>
#include <string.h>

#include "gw_server.h"
#include "st_log.h"

static void on_free(struct st_defer *d)
{
    struct gw_origin *o = d->data;
    st_timer_stop(&o->timer);
    if (o->in)
        pbuf_free(o->in);
    free(o);
}

static void idle_unlink(struct gw_origin *o)
{
    if (!o->idle)
        return;
    if (o->prev)
        o->prev->next = o->next;
    else
        o->gw->origin_idle = o->next;
    if (o->next)
        o->next->prev = o->prev;
    o->next = o->prev = NULL;
    o->idle = false;
    o->gw->n_origin_idle--;
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
    idle_unlink(o);
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

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    (void)pcb;
    (void)err;
    struct gw_origin *o = arg;
    o->in_cb = true;
    o->connected = true;
    st_timer_stop(&o->timer);
    if (o->w)
        gw_web_origin_ready(o->w);
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
        o->in_len += p->tot_len;
        if (o->in)
            pbuf_cat(o->in, p);
        else
            o->in = p;
    }
    if (o->w)
        gw_web_origin_input(o->w);
    else /* idle: the origin closed it, or sent bytes nobody asked for */
        destroy(o, p != NULL);
    return cb_end(o);
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    (void)len;
    struct gw_origin *o = arg;
    o->in_cb = true;
    if (o->w)
        gw_web_origin_writable(o->w);
    return cb_end(o);
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
    return on_sent(arg, pcb, 0); /* retries writes that failed for lack of memory */
}

static void on_err(void *arg, err_t err)
{
    struct gw_origin *o = arg;
    o->pcb = NULL; /* freed by lwIP */
    struct gw_web *w = o->w;
    destroy(o, false);
    if (w)
        gw_web_origin_failed(w, err);
}

static void on_timer(struct st_timer *t)
{
    struct gw_origin *o = t->data;
    struct gw_web *w = o->w;
    destroy(o, true);
    if (w) /* connect timeout (a connection in use has no timer) */
        gw_web_origin_failed(w, ERR_TIMEOUT);
}

static struct gw_origin *from_pool(struct gw_server *gw, uint32_t addr, uint16_t port)
{
    for (struct gw_origin *o = gw->origin_idle; o; o = o->next)
        if (o->addr == addr && o->port == port && o->pcb && !o->in && !o->in_eof)
            return o;
    return NULL;
}

/* The ingress source address: one virtual IP, held for the life of the process. Its pool
 * key is the IPv6 unspecified address "::", which no real client has. */
static int ingress_vip(struct gw_server *gw, ip_addr_t *out)
{
    static const uint8_t key[16] = {0};
    if (!gw->has_ingress_vip) {
        if (gw_vip_acquire(gw->vips, AF_INET6, key, &gw->ingress_vip) < 0)
            return -1;
        gw->has_ingress_vip = true;
    }
    ip_addr_set_ip4_u32(out, gw->ingress_vip.s_addr);
    return 0;
}

struct gw_origin *gw_origin_get(struct gw_server *gw, uint32_t addr, uint16_t port,
                                int connect_timeout_ms, bool fresh, struct gw_web *w,
                                const char **why)
{
    struct gw_origin *o = fresh ? NULL : from_pool(gw, addr, port);
    if (o) {
        idle_unlink(o);
        st_timer_stop(&o->timer);
        o->w = w;
        o->reused = true;
        return o;
    }
    ip_addr_t local, remote;
    if (ingress_vip(gw, &local) < 0) {
        *why = "no virtual IP for the ingress address";
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (!o || !(o->pcb = tcp_new())) {
        free(o);
        *why = "out of memory";
        return NULL;
    }
    o->gw = gw;
    o->addr = addr;
    o->port = port;
    o->w = w;
    st_timer_init(&o->timer, &gw->loop, on_timer, o);
    st_defer_init(&o->free_d, on_free, o);
    ip_addr_set_ip4_u32(&remote, addr);
    tcp_arg(o->pcb, o);
    tcp_err(o->pcb, on_err);
    tcp_recv(o->pcb, on_recv);
    tcp_sent(o->pcb, on_sent);
    tcp_poll(o->pcb, on_poll, 2);
    tcp_nagle_disable(o->pcb);
    if (tcp_bind(o->pcb, &local, 0) != ERR_OK ||
        tcp_connect(o->pcb, &remote, port, on_connected) != ERR_OK) {
        detach(o->pcb);
        tcp_abort(o->pcb);
        free(o);
        *why = "no local port";
        return NULL;
    }
    gw->origin_conns++;
    gw->origin_opened++;
    st_timer_start(&o->timer, (uint64_t)connect_timeout_ms);
    return o;
}

void gw_origin_put(struct gw_origin *o, bool keep_alive, int max_idle, int idle_ms)
{
    o->w = NULL;
    size_t same = 0;
    for (struct gw_origin *i = o->gw->origin_idle; i; i = i->next)
        same += i->addr == o->addr && i->port == o->port;
    if (!keep_alive || !o->pcb || o->in || o->in_eof || same >= (size_t)max_idle ||
        o->gw->drain.draining) {
        destroy(o, false);
        return;
    }
    o->idle = true;
    o->prev = NULL;
    o->next = o->gw->origin_idle;
    if (o->next)
        o->next->prev = o;
    o->gw->origin_idle = o;
    o->gw->n_origin_idle++;
    st_timer_start(&o->timer, (uint64_t)idle_ms);
}

size_t gw_origin_room(const struct gw_origin *o)
{
    if (!o->pcb || !o->connected || tcp_sndqueuelen(o->pcb) + 4 > TCP_SND_QUEUELEN)
        return 0;
    size_t room = tcp_sndbuf(o->pcb);
    return room > 0xffff ? 0xffff : room;
}

size_t gw_origin_write(struct gw_origin *o, const void *p, size_t n)
{
    size_t room = gw_origin_room(o);
    if (n > room)
        n = room;
    if (n == 0 || tcp_write(o->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
        return 0;
    return n;
}

void gw_origin_flush(struct gw_origin *o)
{
    if (o->pcb && o->connected)
        tcp_output(o->pcb);
}

void gw_origin_shutdown(struct gw_origin *o)
{
    if (o->pcb && o->connected)
        tcp_shutdown(o->pcb, 0, 1);
}

void gw_origin_consume(struct gw_origin *o, size_t n)
{
    o->in_len -= n;
    while (n) {
        u16_t k = n > 0xffff ? 0xffff : (u16_t)n;
        o->in = pbuf_free_header(o->in, k);
        if (o->pcb)
            tcp_recved(o->pcb, k);
        n -= k;
    }
}

void gw_origin_close_idle(struct gw_server *gw)
{
    while (gw->origin_idle)
        destroy(gw->origin_idle, false);
}
