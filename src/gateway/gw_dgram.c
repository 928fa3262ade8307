#include "gw_dgram.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lwip/ip.h>
#include <malloc.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_conn.h"
#include "gw_dgram_int.h"
#include "gw_flow.h"
#include "gw_server.h"
#include "st_addr.h"
#include "st_capsule.h"
#include "st_ipv4.h"
#include "st_ipv6.h"
#include "st_log.h"
#include "st_masque.h"
#include "st_varint.h"

#define CAP_MAX (ST_MASQUE_UDP_MAX + 32) /* largest capsule we take from a stream */

uint8_t gw_dgram_scratch[GW_DGRAM_PKT_MAX];

const char *gw_dgram_ip4(const uint8_t *a, char *buf)
{
    return inet_ntop(AF_INET, a, buf, INET_ADDRSTRLEN);
}

const char *gw_dgram_hostport(int family, const uint8_t *addr, uint16_t port, char *buf)
{
    struct st_sockaddr sa;
    st_sockaddr_from(&sa, family, addr, port);
    if (st_sockaddr_format(&sa, buf, 64) < 0)
        snprintf(buf, 64, "?");
    return buf;
}

uint64_t gw_dgram_idle_ms(const struct gw_dgram *d)
{
    const struct gw_config *cfg = &d->gw->cfg;
    if (d->icmp)
        return (uint64_t)cfg->icmp_idle_timeout_ms;
    /* DNS: a new source port per query, one answer each; no need to keep it for minutes */
    if (d->tport == 53 && cfg->dns_idle_timeout_ms < cfg->udp_idle_timeout_ms)
        return (uint64_t)cfg->dns_idle_timeout_ms;
    return (uint64_t)cfg->udp_idle_timeout_ms;
}

static void touch(struct gw_dgram *d)
{
    d->last = st_loop_now(&d->gw->loop);
}

static bool stream_open(const struct gw_dgram *d)
{
    return !d->closed && d->f->conn && !d->f->stream_closed;
}

void gw_dgram_reset(struct gw_dgram *d, uint32_t code)
{
    if (!stream_open(d))
        return;
    nghttp2_submit_rst_stream(d->f->conn->h2.session, NGHTTP2_FLAG_NONE, d->f->sid, code);
    st_h2conn_kick(&d->f->conn->h2);
}

/* Ends our side of the stream once the queue is sent; the peer answers with its end. */
static void end(struct gw_dgram *d)
{
    if (d->ended)
        return;
    d->ended = true;
    st_timer_start(&d->timer, GW_DGRAM_CLOSE_MS);
    gw_flow_resume_up(d->f);
}

static void on_timer(struct st_timer *t)
{
    struct gw_dgram *d = t->data;
    if (d->ended) { /* the peer did not close in time */
        gw_dgram_reset(d, NGHTTP2_CANCEL);
        return;
    }
    uint64_t now = st_loop_now(&d->gw->loop), idle = gw_dgram_idle_ms(d);
    if (now - d->last < idle) {
        st_timer_start(&d->timer, idle - (now - d->last));
        return;
    }
    d->gw->dgram.expired++;
    st_debug("%s flow %s -> %s: idle, ending", d->icmp ? "icmp" : "udp", d->f->client,
             d->f->authority);
    end(d);
}

struct gw_dgram *gw_dgram_new(struct gw_flow *f, bool icmp, bool reach)
{
    struct gw_dgram *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->f = f;
    d->gw = f->gw;
    d->icmp = icmp;
    d->reach = reach;
    d->family = AF_INET;
    st_bq_init(&d->up, GW_DGRAM_QUEUE);
    st_timer_init(&d->timer, &f->gw->loop, on_timer, d);
    touch(d);
    f->dgram = d;
    if (icmp) {
        d->next = d->gw->icmp_flows;
        if (d->next)
            d->next->prev = d;
        d->gw->icmp_flows = d;
        d->gw->dgram.icmp_live++;
        d->gw->dgram.icmp_opened++;
    } else {
        d->gw->dgram.udp_live++;
        d->gw->dgram.udp_opened++;
    }
    return d;
}

/* May n more bytes queue on d? Each flow up to GW_DGRAM_QUEUE; beyond its guaranteed
 * GW_DGRAM_QUEUE_FAIR, only while the gateway's total stays under GW_DGRAM_QUEUE_TOTAL (so
 * a few stalled streams cannot starve the others). */
static bool may_queue(const struct gw_dgram *d, size_t n)
{
    if (st_bq_room(&d->up) < n)
        return false;
    return d->up.len + n <= GW_DGRAM_QUEUE_FAIR ||
           d->gw->dgram.queued_bytes + n <= GW_DGRAM_QUEUE_TOTAL;
}

/* Queues one capsule of `type` carrying p[0..n), or the pbuf chain pb when p is NULL,
 * after a context id 0 for DATAGRAM; false (dropped and counted) when the queue has no
 * room. */
bool gw_dgram_queue_typed(struct gw_dgram *d, uint64_t type, struct pbuf *pb, const uint8_t *p,
                          size_t n)
{
    static uint8_t cap[GW_DGRAM_PKT_MAX + 24];
    bool ctx = type == ST_CAP_DATAGRAM;
    int h = n <= GW_DGRAM_PKT_MAX ? st_capsule_encode_header(cap, 16, type, n + ctx) : -1;
    if (h < 0 || d->ended || !stream_open(d) || !may_queue(d, (size_t)h + ctx + n)) {
        st_debug("%s flow %s -> %s: %zu bytes dropped (%s)", d->icmp ? "icmp" : "udp", d->f->client,
                 d->f->authority, n, d->ended || !stream_open(d) ? "flow ending" : "queue full");
        d->gw->dgram.drops++;
        return false;
    }
    if (ctx)
        cap[h++] = 0; /* context id */
    if (p)
        memcpy(cap + h, p, n);
    else if (!pb || pbuf_copy_partial(pb, cap + h, (u16_t)n, 0) != n) {
        d->gw->dgram.drops++;
        return false;
    }
    if (st_bq_append(&d->up, cap, (size_t)h + n) < 0) {
        d->gw->dgram.drops++;
        return false;
    }
    d->gw->dgram.queued_bytes += (size_t)h + n;
    d->gw->dgram.rx++;
    touch(d);
    gw_flow_resume_up(d->f);
    return true;
}

/* Queues one DATAGRAM capsule (context id 0): see queue_typed. */
bool gw_dgram_queue_capsule(struct gw_dgram *d, struct pbuf *pb, const uint8_t *p, size_t n)
{
    return gw_dgram_queue_typed(d, ST_CAP_DATAGRAM, pb, p, n);
}

void gw_dgram_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                       u16_t port)
{
    (void)pcb;
    (void)addr;
    (void)port;
    gw_dgram_queue_capsule(arg, p, NULL, p->tot_len);
    pbuf_free(p);
}

/* a 4 or 16 byte address of d's family */
static size_t alen(const struct gw_dgram *d)
{
    return d->family == AF_INET6 ? 16 : 4;
}

/* The pbuf every datagram to a private host is sent in: lwIP prepends its headers in the
 * room before `base` and the TUN output copies the packet, so it comes back with only our
 * reference and serves the next datagram (no allocation per datagram). lwIP sends only
 * pbufs referenced once; one it kept is left to it. */
static struct pbuf *send_pb;
static void *send_base;

static struct pbuf *send_pbuf(size_t n)
{
    if (send_pb && send_pb->ref != 1) {
        pbuf_free(send_pb);
        send_pb = NULL;
    }
    if (!send_pb) {
        send_pb = pbuf_alloc(PBUF_TRANSPORT, ST_MASQUE_UDP_MAX, PBUF_RAM);
        if (!send_pb)
            return NULL;
        send_base = send_pb->payload;
    }
    send_pb->payload = send_base;
    send_pb->len = send_pb->tot_len = (u16_t)n;
    return send_pb;
}

static void send_udp(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    /* an IPv4 packet's 20-byte header counts against its 65535 bytes, an IPv6 one's does not */
    size_t max = d->family == AF_INET6 ? ST_MASQUE_UDP_MAX : ST_MASQUE_UDP_MAX - 20;
    struct pbuf *pb = d->pcb && n <= max ? send_pbuf(n) : NULL;
    if (!pb) {
        d->gw->dgram.drops++;
        return;
    }
    memcpy(pb->payload, p, n);
    err_t e = udp_sendto_if_src(d->pcb, pb, &d->pcb->remote_ip, d->pcb->remote_port,
                                &d->gw->nif.netif, &d->pcb->local_ip);
    if (e != ERR_OK) {
        st_debug("udp flow %s -> %s: lwIP send of %zu bytes: error %d", d->f->client,
                 d->f->authority, n, e);
        d->gw->dgram.drops++;
    } else
        d->gw->dgram.tx++;
}

/* An ICMP packet from the stream. expose: an echo request to the target, sent from our
 * local address. reach: an echo reply from the target, or an ICMP error quoting one of
 * our client's echo requests to the target, for our client. Nothing else passes, and no
 * IP options. */
static bool icmp_allowed(const struct gw_dgram *d, const struct st_ipv4_info *ip)
{
    struct st_icmp_echo e;
    struct st_ipv4_info in;
    uint8_t type, code;
    if (ip->proto != 1 || ip->hlen != 20)
        return false;
    if (st_icmp_echo_parse(ip, &e) == 0) {
        if (!d->reach)
            return e.type == 8 && memcmp(ip->dst, d->target, 4) == 0;
        return e.type == 0 && memcmp(ip->src, d->target, 4) == 0 &&
               memcmp(ip->dst, d->client, 4) == 0;
    }
    return d->reach && memcmp(ip->dst, d->client, 4) == 0 &&
           st_icmp_error_parse(ip, &in, &type, &code) == 0 && in.proto == 1 &&
           memcmp(in.src, d->client, 4) == 0 && memcmp(in.dst, d->target, 4) == 0;
}

static void send_icmp(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    struct st_ipv4_info ip;
    memcpy(gw_dgram_scratch, p, n);
    if (st_ipv4_parse(gw_dgram_scratch, n, &ip) < 0 || !icmp_allowed(d, &ip))
        goto drop;
    if (!d->reach) {
        memcpy(d->client, ip.src, 4); /* replies go back to the address the client used */
        st_ipv4_set_src(gw_dgram_scratch, d->local);
    }
    /* The tunnel is one hop: TTLs were decremented where packets entered it. */
    if (ns_netif_send(&d->gw->nif, gw_dgram_scratch, ip.total) < 0)
        goto drop;
    d->gw->dgram.tx++;
    return;
drop:
    d->gw->dgram.drops++;
}

/* An ICMP error (pkt, parsed as ip) about a packet of one of our flows goes to the
 * client's own address, in the header and in the quoted packet (quote). The bastion's
 * kernel reports from its TUN address, which means nothing (and is a martian) at the
 * client's side: such an error is reported from the target instead. */
void gw_dgram_readdress_error(struct gw_server *gw, uint8_t *pkt, const struct st_ipv4_info *ip,
                              uint8_t *quote, const uint8_t *client, const uint8_t *target)
{
    st_ipv4_set_dst(pkt, client);
    if (st_cidr_contains(&gw->cfg.virtual_pool, AF_INET, ip->src))
        st_ipv4_set_src(pkt, target);
    st_ipv4_set_src(quote, client);
    st_icmp_fix_csum(pkt);
}

/* Reach: an ICMP error the exposing gateway saw about this flow's datagrams (port or host
 * unreachable...). It quotes the datagram as sent there (from its virtual IP): restore
 * our client's address and port in the quote and send it to the client. */
static void relay_udp_error(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    struct st_ipv4_info ip, in;
    uint8_t type, code;
    memcpy(gw_dgram_scratch, p, n);
    if (st_ipv4_parse(gw_dgram_scratch, n, &ip) < 0 || ip.hlen != 20 ||
        st_icmp_error_parse(&ip, &in, &type, &code) < 0 || in.proto != 17 || in.l4_len < 4 ||
        memcmp(in.dst, d->target, 4) != 0 || (in.l4[2] << 8 | in.l4[3]) != d->tport) {
        d->gw->dgram.drops++;
        return;
    }
    uint8_t *udp = (uint8_t *)in.l4;
    udp[0] = (uint8_t)(d->cport >> 8);
    udp[1] = (uint8_t)d->cport;
    gw_dgram_readdress_error(d->gw, gw_dgram_scratch, &ip, gw_dgram_scratch + ip.hlen + 8,
                             d->client, d->target);
    if (ns_netif_send(&d->gw->nif, gw_dgram_scratch, ip.total) < 0)
        d->gw->dgram.drops++;
    else
        d->gw->dgram.tx++;
}

static int handle_capsule(struct gw_dgram *d, const struct st_capsule *cap)
{
    if (cap->type == ST_CAP_ICMP_ERROR && d->reach && !d->icmp && cap->len <= GW_DGRAM_PKT_MAX) {
        if (d->family == AF_INET6)
            gw_dgram6_relay_udp_error(d, cap->value, cap->len);
        else
            relay_udp_error(d, cap->value, cap->len);
        return 0;
    }
    if (cap->type != ST_CAP_DATAGRAM)
        return 0; /* RFC 9297 3.2: unknown capsule types are skipped */
    const uint8_t *pl;
    size_t n;
    int rv = d->icmp ? st_masque_ip_packet(cap->value, cap->len, &pl, &n)
                     : st_masque_udp_payload(cap->value, cap->len, &pl, &n);
    if (rv < 0)
        return rv;
    if (rv == 0 || d->ended)
        return 0;
    touch(d);
    if (d->icmp && d->family == AF_INET6)
        gw_dgram6_send_icmp(d, pl, n);
    else if (d->icmp)
        send_icmp(d, pl, n);
    else
        send_udp(d, pl, n);
    return 0;
}

static size_t capsule_head(const uint8_t *p, size_t n, uint64_t *type, uint64_t *len);

/* Bytes of the capsule starting at p[0..n): its whole size once the type and length
 * varints are there (0 before), so a split capsule is buffered in a block of its size. */
static size_t capsule_size(const uint8_t *p, size_t n)
{
    uint64_t type, len;
    size_t h = capsule_head(p, n, &type, &len);
    return h && len <= CAP_MAX ? h + (size_t)len : 0;
}

/* Type and value length of the capsule at p[0..n); returns the header's size, 0 while
 * it is incomplete. */
static size_t capsule_head(const uint8_t *p, size_t n, uint64_t *type, uint64_t *len)
{
    int a = st_varint_decode(p, n, type);
    int b = a > 0 ? st_varint_decode(p + a, n - (size_t)a, len) : 0;
    return a > 0 && b > 0 ? (size_t)a + (size_t)b : 0;
}

/* A capsule of a type we do not use, too big to buffer: skipped as it streams by
 * (RFC 9297 3.2) instead of refused. Sets d->skip to the bytes left of it. */
static bool skip_big(struct gw_dgram *d, const uint8_t *p, size_t n, size_t have)
{
    uint64_t type, len;
    size_t h = capsule_head(p, n, &type, &len);
    if (!h || len <= CAP_MAX || type == ST_CAP_DATAGRAM || type == ST_CAP_ICMP_ERROR)
        return false;
    d->skip = h + len - have;
    return true;
}

static void drop_in(struct gw_dgram *d)
{
    d->gw->dgram.queued_bytes -= d->in_cap;
    free(d->in);
    d->in = NULL;
    d->in_len = d->in_cap = 0;
}

/* Appends to the partial capsule in d->in: sized to the capsule once its header is known
 * (16 bytes, the largest header, until then). Counted with the queues against
 * GW_DGRAM_QUEUE_TOTAL. */
static int buffer_tail(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    size_t want = d->in_len + n;
    if (want > d->in_cap) {
        size_t whole = d->in_len ? capsule_size(d->in, d->in_len) : capsule_size(p, n);
        size_t cap = whole ? whole : 16;
        if (cap < want)
            return -EMSGSIZE;
        uint8_t *b = realloc(d->in, cap);
        if (!b)
            return -ENOMEM;
        d->gw->dgram.queued_bytes += cap - d->in_cap;
        d->in = b;
        d->in_cap = cap;
    }
    memcpy(d->in + d->in_len, p, n);
    d->in_len += n;
    return 0;
}

/* Feeds stream bytes: whole capsules are handled in place, a split one is buffered. */
static int feed(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    while (n) {
        if (d->skip) {
            size_t k = d->skip < n ? (size_t)d->skip : n;
            d->skip -= k;
            p += k;
            n -= k;
            continue;
        }
        if (d->in_len) {
            /* complete the buffered capsule first (or its header) */
            size_t whole = capsule_size(d->in, d->in_len);
            size_t take = whole ? whole - d->in_len : 1;
            if (take > n)
                take = n;
            int r = buffer_tail(d, p, take);
            if (r < 0)
                return r;
            p += take;
            n -= take;
            if (skip_big(d, d->in, d->in_len, d->in_len)) {
                drop_in(d);
                continue;
            }
            struct st_capsule cap;
            r = st_capsule_parse(d->in, d->in_len, CAP_MAX, &cap);
            if (r < 0)
                return r;
            if (r == 0)
                continue;
            r = handle_capsule(d, &cap);
            drop_in(d);
            if (r < 0)
                return r;
            continue;
        }
        if (skip_big(d, p, n, 0))
            continue;
        struct st_capsule cap;
        int r = st_capsule_parse(p, n, CAP_MAX, &cap);
        if (r < 0)
            return r;
        if (r == 0)
            return buffer_tail(d, p, n);
        int h = handle_capsule(d, &cap);
        if (h < 0)
            return h;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int gw_dgram_on_data(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    struct gw_flow *f = d->f;
    if (f->conn) /* handled or dropped right away: the window reopens now */
        st_h2rx_taken(&f->conn->h2.rx, f->conn->h2.session, f->sid, NULL, 0, 0, n);
    if (!f->connected && !f->inbound)
        return 0; /* refused: the stream is ending */
    int rv = feed(d, p, n);
    if (rv < 0) {
        st_info("%s flow %s -> %s: %s capsule: resetting the stream", d->icmp ? "icmp" : "udp",
                f->client, f->authority, rv == -EMSGSIZE ? "oversized" : "malformed");
        d->gw->dgram.drops++;
        drop_in(d);
        gw_dgram_reset(d, NGHTTP2_PROTOCOL_ERROR);
    }
    return 0;
}

void gw_dgram_on_eof(struct gw_dgram *d)
{
    end(d);
}

static void close_pcb(struct gw_dgram *d)
{
    if (d->pcb) {
        udp_recv(d->pcb, NULL, NULL);
        udp_remove(d->pcb);
        d->pcb = NULL;
    }
}

/* Counts d against the caps: per user (expose flows: the client's virtual IP stands for
 * the user's address) and per destination host. NULL, or why it is refused. */
const char *gw_dgram_quota_take(struct gw_dgram *d, bool per_client)
{
    struct gw_server *gw = d->gw;
    if (per_client) {
        if (gw_quota_take(&gw->dgram_clients, d->family, d->client,
                          (uint32_t)gw->cfg.dgram_per_client) < 0)
            return "too many datagram flows for this client";
        d->quota_client = true;
    }
    if (gw_quota_take(&gw->dgram_hosts, d->family, d->target, (uint32_t)gw->cfg.dgram_per_host) < 0)
        return "too many datagram flows to this host";
    d->quota_host = true;
    return NULL;
}

static void quota_give(struct gw_dgram *d)
{
    if (d->quota_client)
        gw_quota_give(&d->gw->dgram_clients, d->family, d->client);
    if (d->quota_host)
        gw_quota_give(&d->gw->dgram_hosts, d->family, d->target);
    d->quota_client = d->quota_host = false;
}

void gw_dgram_on_close(struct gw_dgram *d)
{
    if (d->closed)
        return;
    d->closed = true;
    close_pcb(d);
    st_timer_stop(&d->timer);
    d->gw->dgram.queued_bytes -= d->up.len;
    st_bq_fini(&d->up);
    st_bq_init(&d->up, 0);
    quota_give(d);
    if (d->icmp) {
        if (d->prev)
            d->prev->next = d->next;
        else
            d->gw->icmp_flows = d->next;
        if (d->next)
            d->next->prev = d->prev;
        d->next = d->prev = NULL;
        d->gw->dgram.icmp_live--;
    } else {
        d->gw->dgram.udp_live--;
    }
}

static void trim(struct st_defer *t)
{
    (void)t;
    malloc_trim(0);
}

void gw_dgram_free(struct gw_dgram *d)
{
    if (!d)
        return;
    struct gw_server *gw = d->gw;
    gw_dgram_on_close(d);
    drop_in(d);
    free(d->first);
    free(d);
    /* After a burst of short flows (DNS) give the memory back to the system. */
    if (++gw->dgram.freed >= GW_DGRAM_TRIM_EVERY) {
        gw->dgram.freed = 0;
        if (!gw->dgram_trim.cb)
            st_defer_init(&gw->dgram_trim, trim, gw);
        st_defer_queue(&gw->loop, &gw->dgram_trim);
    }
}

ssize_t gw_dgram_read_up(struct gw_dgram *d, uint8_t *buf, size_t len, uint32_t *flags)
{
    /* Every capsule queued so far, back to back, as far as the frame reaches (a capsule the
     * frame cuts continues in the next one: RFC 9297 capsules are a byte stream). */
    size_t n = st_bq_copy(&d->up, buf, len);
    st_bq_consume(&d->up, n);
    d->gw->dgram.queued_bytes -= n;
    d->gw->dgram.frames += n > 0;
    if (d->up.len == 0 && d->ended) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
        d->f->provider_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

bool gw_dgram_wanted(const struct gw_flow *f)
{
    return strcmp(f->method, "CONNECT") == 0 &&
           (strcmp(f->protocol, "connect-udp") == 0 || strcmp(f->protocol, "connect-ip") == 0);
}

/* ---------------------------------------------------------------- expose */

static bool tuple_taken(const ip_addr_t *local, uint16_t lport, const ip_addr_t *remote,
                        uint16_t rport)
{
    for (struct udp_pcb *p = udp_pcbs; p; p = p->next)
        if (p->local_port == lport && p->remote_port == rport && ip_addr_cmp(&p->local_ip, local) &&
            ip_addr_cmp(&p->remote_ip, remote))
            return true;
    return false;
}

void gw_dgram_lwip_addr(ip_addr_t *out, int family, const uint8_t *addr)
{
    if (family == AF_INET6) {
        ip_addr_set_zero_ip6(out);
        memcpy(ip_2_ip6(out)->addr, addr, 16);
    } else {
        ip_addr_set_zero_ip4(out);
        memcpy(&ip_2_ip4(out)->addr, addr, 4);
    }
}

int gw_dgram_open_pcb(struct gw_dgram *d, const uint8_t *local, uint16_t lport,
                      const uint8_t *remote, uint16_t rport)
{
    ip_addr_t l, r;
    gw_dgram_lwip_addr(&l, d->family, local);
    gw_dgram_lwip_addr(&r, d->family, remote);
    d->pcb = udp_new_ip_type(d->family == AF_INET6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
    if (!d->pcb)
        return -ENOMEM;
    ip_set_option(d->pcb, SOF_REUSEADDR);
    d->pcb->ttl = 64; /* lwIP's default is 255 */
    if (lport && tuple_taken(&l, lport, &r, rport))
        lport = 0; /* the same client talks to the same target twice: a port of our own */
    if (udp_bind(d->pcb, &l, lport) != ERR_OK || udp_connect(d->pcb, &r, rport) != ERR_OK) {
        close_pcb(d);
        return -EADDRINUSE;
    }
    udp_recv(d->pcb, gw_dgram_udp_recv, d);
    return 0;
}

static int parse_target(struct gw_dgram *d, const char *path)
{
    if (!path)
        return -EINVAL;
    int rv = st_masque_target(d->f->protocol, path, strlen(path), &d->family, d->target, &d->tport);
    if (rv == -EPROTONOSUPPORT)
        return rv;
    return rv < 0 ? -EINVAL : 0;
}

/* The flow's source: a virtual IP of virtual-pool (IPv4) or virtual-pool6. 0 or -1. */
static int pick_local(struct gw_dgram *d)
{
    struct gw_flow *f = d->f;
    bool preserve;
    if (gw_flow_source(f, d->family, &d->cport, &preserve) < 0)
        return -1;
    if (d->family == AF_INET6)
        memcpy(d->local, f->vip6.s6_addr, 16);
    else
        memcpy(d->local, &f->vip.s_addr, 4);
    memcpy(d->client, d->local, alen(d));
    return 0;
}

void gw_dgram_start(struct gw_flow *f, const char *path)
{
    f->started = true;
    bool icmp = strcmp(f->protocol, "connect-ip") == 0;
    const struct gw_dgram_stats *st = &f->gw->dgram;
    struct gw_dgram *d =
        st->udp_live + st->icmp_live < GW_DGRAM_MAX_FLOWS ? gw_dgram_new(f, icmp, false) : NULL;
    if (!d) {
        gw_flow_respond(f, 503, "subtunnel; error=proxy_internal_error");
        return;
    }
    int rv = parse_target(d, path);
    if (rv < 0) {
        gw_flow_respond(f, rv == -EPROTONOSUPPORT ? 501 : 400,
                        rv == -EPROTONOSUPPORT ? ST_MASQUE_PS_SCOPE : ST_MASQUE_PS_BAD_PATH);
        return;
    }
    char t[64];
    gw_dgram_hostport(d->family, d->target, d->tport, f->authority);
    if (gw_flow_admit(f, d->family, d->target) < 0)
        return;
    if (pick_local(d) < 0) {
        gw_flow_respond(f, 503,
                        "subtunnel; error=connection_limit_reached; details=\"virtual pool full\"");
        return;
    }
    const char *why = gw_dgram_quota_take(d, true);
    if (why) {
        d->gw->dgram.refused++;
        st_info("%s flow %s -> %s: refused: %s", icmp ? "icmp" : "udp", f->client, f->authority,
                why);
        char ps[160];
        snprintf(ps, sizeof(ps), "subtunnel; error=connection_limit_reached; details=\"%s\"", why);
        gw_flow_respond(f, 503, ps);
        return;
    }
    if (!icmp && gw_dgram_open_pcb(d, d->local, d->cport, d->target, d->tport) < 0) {
        gw_flow_respond(f, 503, "subtunnel; error=proxy_internal_error; details=\"no local port\"");
        return;
    }
    f->connected = true;
    st_timer_start(&d->timer, gw_dgram_idle_ms(d));
    gw_flow_respond(f, 200, NULL);
    if (f->conn) /* its capsules go before bulk DATA on this connection (st_h2conn.h) */
        st_h2_favour(f->conn->h2.session, f->sid);
    st_debug("%s flow %s -> %s: open from %s", icmp ? "icmp" : "udp", f->client, f->authority,
             inet_ntop(d->family, d->local, t, sizeof(t)));
}
