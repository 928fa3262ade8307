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
#include "gw_flow.h"
#include "gw_server.h"
#include "st_addr.h"
#include "st_capsule.h"
#include "st_ipv4.h"
#include "st_log.h"
#include "st_masque.h"
#include "st_varint.h"

#define CAP_MAX (ST_MASQUE_UDP_MAX + 32) /* largest capsule we take from a stream */
#define PKT_MAX 65535

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME     \
    }

static uint8_t scratch[PKT_MAX];

static const char *ip4(const uint8_t *a, char *buf)
{
    return inet_ntop(AF_INET, a, buf, INET_ADDRSTRLEN);
}

static uint64_t idle_ms(const struct gw_dgram *d)
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

static void reset(struct gw_dgram *d, uint32_t code)
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
        reset(d, NGHTTP2_CANCEL);
        return;
    }
    uint64_t now = st_loop_now(&d->gw->loop), idle = idle_ms(d);
    if (now - d->last < idle) {
        st_timer_start(&d->timer, idle - (now - d->last));
        return;
    }
    d->gw->dgram.expired++;
    st_debug("%s flow %s -> %s: idle, ending", d->icmp ? "icmp" : "udp", d->f->client,
             d->f->authority);
    end(d);
}

static struct gw_dgram *dgram_new(struct gw_flow *f, bool icmp, bool reach)
{
    struct gw_dgram *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->f = f;
    d->gw = f->gw;
    d->icmp = icmp;
    d->reach = reach;
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
static bool queue_typed(struct gw_dgram *d, uint64_t type, struct pbuf *pb, const uint8_t *p,
                        size_t n)
{
    static uint8_t cap[PKT_MAX + 24];
    bool ctx = type == ST_CAP_DATAGRAM;
    int h = n <= PKT_MAX ? st_capsule_encode_header(cap, 16, type, n + ctx) : -1;
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
static bool queue_capsule(struct gw_dgram *d, struct pbuf *pb, const uint8_t *p, size_t n)
{
    return queue_typed(d, ST_CAP_DATAGRAM, pb, p, n);
}

static void on_udp_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                        u16_t port)
{
    (void)pcb;
    (void)addr;
    (void)port;
    queue_capsule(arg, p, NULL, p->tot_len);
    pbuf_free(p);
}

static void send_udp(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    struct pbuf *pb = d->pcb ? pbuf_alloc(PBUF_TRANSPORT, (u16_t)n, PBUF_RAM) : NULL;
    if (!pb || n > ST_MASQUE_UDP_MAX - 20) {
        if (pb)
            pbuf_free(pb);
        d->gw->dgram.drops++;
        return;
    }
    pbuf_take(pb, p, (u16_t)n);
    err_t e = udp_sendto_if_src(d->pcb, pb, &d->pcb->remote_ip, d->pcb->remote_port,
                                &d->gw->nif.netif, &d->pcb->local_ip);
    pbuf_free(pb);
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
    memcpy(scratch, p, n);
    if (st_ipv4_parse(scratch, n, &ip) < 0 || !icmp_allowed(d, &ip))
        goto drop;
    if (!d->reach) {
        memcpy(d->client, ip.src, 4); /* replies go back to the address the client used */
        st_ipv4_set_src(scratch, d->local);
    }
    /* The tunnel is one hop: TTLs were decremented where packets entered it. */
    if (ns_netif_send(&d->gw->nif, scratch, ip.total) < 0)
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
static void readdress_error(struct gw_server *gw, uint8_t *pkt, const struct st_ipv4_info *ip,
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
    memcpy(scratch, p, n);
    if (st_ipv4_parse(scratch, n, &ip) < 0 || ip.hlen != 20 ||
        st_icmp_error_parse(&ip, &in, &type, &code) < 0 || in.proto != 17 || in.l4_len < 4 ||
        memcmp(in.dst, d->target, 4) != 0 || (in.l4[2] << 8 | in.l4[3]) != d->tport) {
        d->gw->dgram.drops++;
        return;
    }
    uint8_t *udp = (uint8_t *)in.l4;
    udp[0] = (uint8_t)(d->cport >> 8);
    udp[1] = (uint8_t)d->cport;
    readdress_error(d->gw, scratch, &ip, scratch + ip.hlen + 8, d->client, d->target);
    if (ns_netif_send(&d->gw->nif, scratch, ip.total) < 0)
        d->gw->dgram.drops++;
    else
        d->gw->dgram.tx++;
}

static int handle_capsule(struct gw_dgram *d, const struct st_capsule *cap)
{
    if (cap->type == ST_CAP_ICMP_ERROR && d->reach && !d->icmp && cap->len <= PKT_MAX) {
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
    if (d->icmp)
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
        reset(d, NGHTTP2_PROTOCOL_ERROR);
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
static const char *quota_take(struct gw_dgram *d, bool per_client)
{
    struct gw_server *gw = d->gw;
    if (per_client) {
        if (gw_quota_take(&gw->dgram_clients, AF_INET, d->client,
                          (uint32_t)gw->cfg.dgram_per_client) < 0)
            return "too many datagram flows for this client";
        d->quota_client = true;
    }
    if (gw_quota_take(&gw->dgram_hosts, AF_INET, d->target, (uint32_t)gw->cfg.dgram_per_host) < 0)
        return "too many datagram flows to this host";
    d->quota_host = true;
    return NULL;
}

static void quota_give(struct gw_dgram *d)
{
    if (d->quota_client)
        gw_quota_give(&d->gw->dgram_clients, AF_INET, d->client);
    if (d->quota_host)
        gw_quota_give(&d->gw->dgram_hosts, AF_INET, d->target);
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
    size_t n = st_bq_copy(&d->up, buf, len);
    st_bq_consume(&d->up, n);
    d->gw->dgram.queued_bytes -= n;
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

static bool tuple_taken(const uint8_t *local, uint16_t lport, const uint8_t *remote, uint16_t rport)
{
    for (struct udp_pcb *p = udp_pcbs; p; p = p->next)
        if (p->local_port == lport && p->remote_port == rport &&
            memcmp(&ip_2_ip4(&p->local_ip)->addr, local, 4) == 0 &&
            memcmp(&ip_2_ip4(&p->remote_ip)->addr, remote, 4) == 0)
            return true;
    return false;
}

static int open_pcb(struct gw_dgram *d, const uint8_t *local, uint16_t lport, const uint8_t *remote,
                    uint16_t rport)
{
    ip_addr_t l, r;
    memcpy(&l, local, 4);
    memcpy(&r, remote, 4);
    d->pcb = udp_new();
    if (!d->pcb)
        return -ENOMEM;
    ip_set_option(d->pcb, SOF_REUSEADDR);
    d->pcb->ttl = 64; /* lwIP's default is 255 */
    if (lport && tuple_taken(local, lport, remote, rport))
        lport = 0; /* the same client talks to the same target twice: a port of our own */
    if (udp_bind(d->pcb, &l, lport) != ERR_OK || udp_connect(d->pcb, &r, rport) != ERR_OK) {
        close_pcb(d);
        return -EADDRINUSE;
    }
    udp_recv(d->pcb, on_udp_recv, d);
    return 0;
}

static int parse_target(struct gw_dgram *d, const char *path)
{
    int family;
    uint8_t addr[16];
    if (!path)
        return -EINVAL;
    int rv = st_masque_target(d->f->protocol, path, strlen(path), &family, addr, &d->tport);
    if (rv == -EPROTONOSUPPORT)
        return rv;
    if (rv < 0 || family != AF_INET)
        return -EINVAL; /* IPv6 targets: not served yet */
    memcpy(d->target, addr, 4);
    return 0;
}

void gw_dgram_start(struct gw_flow *f, const char *path)
{
    f->started = true;
    bool icmp = strcmp(f->protocol, "connect-ip") == 0;
    const struct gw_dgram_stats *st = &f->gw->dgram;
    struct gw_dgram *d =
        st->udp_live + st->icmp_live < GW_DGRAM_MAX_FLOWS ? dgram_new(f, icmp, false) : NULL;
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
    char t[INET_ADDRSTRLEN];
    snprintf(f->authority, sizeof(f->authority), "%s:%u", ip4(d->target, t), d->tport);
    const char *why = gw_flow_policy_refusal(f->gw, d->target);
    if (why) {
        st_info("%s flow %s -> %s: refused: %s", icmp ? "icmp" : "udp", f->client, f->authority,
                why);
        gw_flow_respond(f, 403, "subtunnel; error=destination_ip_prohibited");
        return;
    }
    bool preserve;
    if (gw_flow_source(f, &d->cport, &preserve) < 0) {
        gw_flow_respond(f, 503,
                        "subtunnel; error=connection_limit_reached; details=\"virtual pool full\"");
        return;
    }
    memcpy(d->local, &f->vip.s_addr, 4);
    memcpy(d->client, d->local, 4);
    if ((why = quota_take(d, true))) {
        d->gw->dgram.refused++;
        st_info("%s flow %s -> %s: refused: %s", icmp ? "icmp" : "udp", f->client, f->authority,
                why);
        gw_flow_respond(f, 503,
                        "subtunnel; error=connection_limit_reached; details=\"datagram flows\"");
        return;
    }
    if (!icmp && open_pcb(d, d->local, d->cport, d->target, d->tport) < 0) {
        gw_flow_respond(f, 503, "subtunnel; error=proxy_internal_error; details=\"no local port\"");
        return;
    }
    f->connected = true;
    st_timer_start(&d->timer, idle_ms(d));
    gw_flow_respond(f, 200, NULL);
    st_debug("%s flow %s -> %s: open from %s", icmp ? "icmp" : "udp", f->client, f->authority,
             ip4(d->local, t));
}

/* ---------------------------------------------------------------- reach */

/* Tells the sender its packet cannot be delivered (ICMP destination unreachable, from
 * the destination's address, as a firewall rejecting it would). */
static void unreachable(struct gw_server *gw, const uint8_t *pkt, size_t len, uint8_t code)
{
    struct st_ipv4_info ip;
    uint8_t out[576];
    if (st_ipv4_parse(pkt, len, &ip) < 0)
        return;
    int n = st_icmp_unreach(out, sizeof(out), pkt, len, ip.dst, 3, code, 64);
    if (n > 0)
        ns_netif_send(&gw->nif, out, (size_t)n);
}

/* A packet entering the tunnel with TTL 1 dies here: ICMP time exceeded from lwIP's own
 * address (a neighbour on the TUN, so the bastion accepts it), as a router would. */
static bool expired(struct gw_server *gw, const uint8_t *pkt, size_t len)
{
    if (pkt[8] > 1)
        return false;
    uint8_t out[ST_ICMP_ERROR_MAX];
    int n = st_icmp_unreach(out, sizeof(out), pkt, len, (const uint8_t *)&gw->stack_addr.s_addr, 11,
                            0, 64);
    if (n > 0)
        ns_netif_send(&gw->nif, out, (size_t)n);
    gw->dgram.drops++;
    return true;
}

static int submit(struct gw_conn *c, struct gw_dgram *d)
{
    struct gw_flow *f = d->f;
    char path[160];
    int rv = d->icmp ? st_masque_ip_path(path, sizeof(path), AF_INET, d->target, 1)
                     : st_masque_udp_path(path, sizeof(path), AF_INET, d->target, d->tport);
    if (rv < 0)
        return rv;
    nghttp2_nv nva[] = {NV(":method", "CONNECT"),
                        NV(":protocol", d->icmp ? "connect-ip" : "connect-udp"),
                        NV(":scheme", "https"),
                        NV(":authority", d->gw->cfg.edge_name),
                        NV(":path", path),
                        NV("capsule-protocol", "?1"),
                        NV("subtunnel-client", f->client)};
    int32_t sid = gw_flow_submit(c, f, nva, sizeof(nva) / sizeof(nva[0]));
    return sid < 0 ? -EIO : 0;
}

/* A new reach flow for pkt[0..len) (a whole IPv4 packet) from client:cport to
 * target:tport. NULL when refused (the sender got an ICMP error). */
static struct gw_dgram *reach_open(struct gw_server *gw, bool icmp, const uint8_t *pkt, size_t len,
                                   const uint8_t *client, uint16_t cport, const uint8_t *target,
                                   uint16_t tport)
{
    char c_txt[INET_ADDRSTRLEN], t_txt[INET_ADDRSTRLEN];
    if (gw->dgram.udp_live + gw->dgram.icmp_live >= GW_DGRAM_MAX_FLOWS) {
        gw->dgram.refused++;
        unreachable(gw, pkt, len, 1);
        return NULL;
    }
    struct gw_conn *c = gw_conn_pick_reach(gw);
    struct gw_flow *f = c ? gw_flow_new(c, 0) : NULL;
    struct gw_dgram *d = f ? dgram_new(f, icmp, true) : NULL;
    if (!d) {
        st_info("reach: %s %s -> %s: %s", icmp ? "icmp" : "udp", ip4(client, c_txt),
                ip4(target, t_txt), c ? "out of memory" : "no reach connection up");
        if (f)
            gw_flow_on_conn_lost(f);
        gw->dgram.refused++;
        unreachable(gw, pkt, len, 1);
        return NULL;
    }
    f->inbound = f->started = true;
    memcpy(d->client, client, 4);
    memcpy(d->target, target, 4);
    d->cport = cport;
    d->tport = tport;
    snprintf(f->authority, sizeof(f->authority), "%s:%u", ip4(target, t_txt), tport);
    snprintf(f->client, sizeof(f->client), "%s:%u", ip4(client, c_txt), cport);
    /* what an ICMP error quotes at most; the copy's length field says what was kept */
    d->first_len = len < ST_ICMP_ERROR_MAX ? len : ST_ICMP_ERROR_MAX;
    if ((d->first = malloc(d->first_len))) {
        memcpy(d->first, pkt, d->first_len);
        d->first[2] = (uint8_t)(d->first_len >> 8);
        d->first[3] = (uint8_t)d->first_len;
        st_ipv4_fix_csum(d->first);
    }
    const char *why = quota_take(d, false);
    if (!why && ((!icmp && open_pcb(d, target, tport, client, cport) < 0) || submit(c, d) < 0))
        why = "cannot open a stream";
    if (why) {
        st_info("reach: %s %s -> %s: %s", icmp ? "icmp" : "udp", f->client, f->authority, why);
        gw->dgram.refused++;
        unreachable(gw, pkt, len, 1);
        gw_dgram_on_close(d);
        gw_flow_on_conn_lost(f);
        return NULL;
    }
    st_timer_start(&d->timer, idle_ms(d));
    st_debug("reach: %s %s -> %s: stream %d", icmp ? "icmp" : "udp", f->client, f->authority,
             f->sid);
    return d;
}

void gw_dgram_on_response(struct gw_dgram *d, int status)
{
    if (status >= 200 && status < 300) {
        free(d->first);
        d->first = NULL;
        return;
    }
    st_info("reach: %s %s -> %s: refused by the edge (%d)", d->icmp ? "icmp" : "udp", d->f->client,
            d->f->authority, status);
    d->gw->dgram.refused++;
    if (d->first)
        unreachable(d->gw, d->first, d->first_len, status == 403 ? 13 : 1);
    reset(d, NGHTTP2_CANCEL);
}

/* The any-port pcb: the first datagram of a 5-tuple. Later ones match the flow's own pcb
 * (bound to the target, connected to the client) in lwIP. */
static void on_catch(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                     u16_t port)
{
    (void)pcb;
    struct gw_server *gw = arg;
    const struct ip_hdr *iph = ip4_current_header();
    size_t hlen = (size_t)IPH_HL_BYTES(iph);
    uint8_t target[4], client[4];
    memcpy(target, &ip4_current_dest_addr()->addr, 4);
    memcpy(client, &ip_2_ip4(addr)->addr, 4);
    if (!gw->cfg.reach || !gw_reach_covers(gw, target) || gw->drain.draining ||
        pbuf_add_header(p, 8) != 0 || hlen + p->tot_len > PKT_MAX) {
        pbuf_free(p);
        return;
    }
    /* the whole packet: an ICMP error needs its start, the flow its payload */
    memcpy(scratch, iph, hlen);
    pbuf_copy_partial(p, scratch + hlen, p->tot_len, 0);
    size_t len = hlen + p->tot_len;
    uint16_t tport = (uint16_t)(scratch[hlen + 2] << 8 | scratch[hlen + 3]);
    pbuf_free(p);
    if (expired(gw, scratch, len))
        return;
    struct gw_dgram *d = reach_open(gw, false, scratch, len, client, port, target, tport);
    if (d)
        queue_capsule(d, NULL, scratch + hlen + 8, len - hlen - 8);
}

int gw_dgram_reach_init(struct gw_server *gw)
{
    struct udp_pcb *pcb = udp_new();
    if (!pcb)
        return -ENOMEM;
    ip_set_option(pcb, SOF_ANYPORT | SOF_REUSEADDR);
    if (udp_bind(pcb, IP4_ADDR_ANY, 0) != ERR_OK) {
        udp_remove(pcb);
        return -ENOMEM;
    }
    udp_recv(pcb, on_catch, gw);
    gw->udp_catch = pcb;
    return 0;
}

/* ---------------------------------------------------------------- ICMP hook */

static struct gw_dgram *find_icmp(struct gw_server *gw, bool reach, const uint8_t *a,
                                  const uint8_t *target)
{
    for (struct gw_dgram *d = gw->icmp_flows; d; d = d->next)
        if (d->reach == reach && !d->ended && memcmp(reach ? d->client : d->local, a, 4) == 0 &&
            memcmp(d->target, target, 4) == 0)
            return d;
    return NULL;
}

/* An echo reply or ICMP error for an expose flow: back to the client's own address. */
static int to_client(struct gw_server *gw, uint8_t *pkt, const struct st_ipv4_info *ip,
                     const uint8_t *local, const uint8_t *target, uint8_t *inner)
{
    struct gw_dgram *d = find_icmp(gw, false, local, target);
    if (!d)
        return 0;
    if (st_ipv4_dec_ttl(pkt) < 0) {
        gw->dgram.drops++;
        return 1;
    }
    if (inner)
        readdress_error(gw, pkt, ip, inner, d->client, target);
    else
        st_ipv4_set_dst(pkt, d->client);
    queue_capsule(d, NULL, pkt, ip->total);
    return 1;
}

/* Expose: an ICMP error quoting a datagram one of our UDP flows sent goes back on its
 * stream as an ST_CAP_ICMP_ERROR capsule (the reach gateway rewrites and delivers it). */
static int udp_error(const uint8_t *pkt, const struct st_ipv4_info *ip,
                     const struct st_ipv4_info *in)
{
    uint16_t sport = (uint16_t)(in->l4[0] << 8 | in->l4[1]);
    uint16_t dport = (uint16_t)(in->l4[2] << 8 | in->l4[3]);
    uint32_t src, dst;
    memcpy(&src, in->src, 4);
    memcpy(&dst, in->dst, 4);
    for (struct udp_pcb *p = udp_pcbs; p; p = p->next) {
        if (p->recv != on_udp_recv || p->local_port != sport || p->remote_port != dport ||
            ip_2_ip4(&p->local_ip)->addr != src || ip_2_ip4(&p->remote_ip)->addr != dst)
            continue;
        struct gw_dgram *d = p->recv_arg;
        if (d->reach)
            return 0;
        queue_typed(d, ST_CAP_ICMP_ERROR, NULL, pkt, ip->total);
        return 1;
    }
    return 0;
}

int gw_dgram_icmp_hook(void *arg, uint8_t *pkt, size_t len)
{
    struct gw_server *gw = arg;
    struct st_ipv4_info ip, in;
    struct st_icmp_echo e;
    uint8_t type, code;
    if (st_ipv4_parse(pkt, len, &ip) < 0)
        return 0;
    if (st_icmp_echo_parse(&ip, &e) == 0) {
        if (e.type == 0)
            return to_client(gw, pkt, &ip, ip.dst, ip.src, NULL);
        if (!gw->cfg.reach || !gw_reach_covers(gw, ip.dst) || gw->drain.draining)
            return 0;        /* lwIP answers pings to its own and pool addresses */
        if (ip.hlen != 20) { /* no IP options into the tunnel */
            gw->dgram.drops++;
            return 1;
        }
        if (expired(gw, pkt, ip.total))
            return 1;
        struct gw_dgram *d = find_icmp(gw, true, ip.src, ip.dst);
        if (!d && !(d = reach_open(gw, true, pkt, ip.total, ip.src, 0, ip.dst, 0)))
            return 1;
        st_ipv4_dec_ttl(pkt);
        queue_capsule(d, NULL, pkt, ip.total);
        return 1;
    }
    if (st_icmp_error_parse(&ip, &in, &type, &code) < 0)
        return 0;
    if (in.proto == 1)
        return to_client(gw, pkt, &ip, in.src, in.dst, (uint8_t *)ip.l4 + 8);
    if (in.proto == 17 && in.l4_len >= 4)
        return udp_error(pkt, &ip, &in);
    return 0;
}
