#include "gw_dgram.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lwip/ip.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_conn.h"
#include "gw_dgram_int.h"
#include "gw_flow.h"
#include "gw_reach.h"
#include "gw_server.h"
#include "st_addr.h"
#include "st_capsule.h"
#include "st_ipv4.h"
#include "st_ipv6.h"
#include "st_log.h"
#include "st_masque.h"

#define NV(n, v)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NO_COPY_NAME     \
    }

/* Datagrams seen on the TUN: the reach role's flows (one per 5-tuple, opened toward the edge)
 * and the ICMP hook that hands echo replies and ICMP errors to their flows (both roles). */

/* ---------------------------------------------------------------- reach */

/* Why a reach datagram cannot be delivered, as ICMP and ICMPv6 codes tell it. */
enum unreach { NO_ROUTE, PROHIBITED, REFUSED };

/* Tells the sender its packet cannot be delivered (ICMP destination unreachable, from
 * the destination's address, as a firewall rejecting it would): no tunnel (host unreachable;
 * ICMPv6 no route), refused by the edge's policy (communication administratively
 * prohibited) or refused otherwise (host / address unreachable). */
static void unreachable(struct gw_server *gw, const uint8_t *pkt, size_t len, enum unreach why)
{
    static const uint8_t code4[] = {[NO_ROUTE] = 1, [PROHIBITED] = 13, [REFUSED] = 1};
    static const uint8_t code6[] = {[NO_ROUTE] = ST_ICMP6_NO_ROUTE,
                                    [PROHIBITED] = ST_ICMP6_ADMIN,
                                    [REFUSED] = ST_ICMP6_ADDR_UNREACH};
    struct st_ipv4_info ip;
    uint8_t out[576];
    if (len && pkt[0] >> 4 == 6) {
        gw_dgram6_unreachable(gw, pkt, len, code6[why]);
        return;
    }
    if (st_ipv4_parse(pkt, len, &ip) < 0)
        return;
    int n = st_icmp_unreach(out, sizeof(out), pkt, len, ip.dst, 3, code4[why], 64);
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
    int proto = d->family == AF_INET6 ? ST_IPPROTO_ICMPV6 : ST_IPPROTO_ICMP;
    int rv = d->icmp ? st_masque_ip_path(path, sizeof(path), d->family, d->target, proto)
                     : st_masque_udp_path(path, sizeof(path), d->family, d->target, d->tport);
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

/* Keeps the start of d's first packet, what an ICMP error about it quotes at most; the
 * copy's length field says what was kept. */
static void keep_first(struct gw_dgram *d, const uint8_t *pkt, size_t len)
{
    bool v6 = d->family == AF_INET6;
    size_t max = v6 ? ST_ICMP6_ERROR_MAX - 48 : ST_ICMP_ERROR_MAX;
    d->first_len = len < max ? len : max;
    if (!(d->first = malloc(d->first_len)))
        return;
    memcpy(d->first, pkt, d->first_len);
    size_t field = v6 ? d->first_len - ST_IPV6_HLEN : d->first_len;
    d->first[v6 ? 4 : 2] = (uint8_t)(field >> 8);
    d->first[v6 ? 5 : 3] = (uint8_t)field;
    if (!v6)
        st_ipv4_fix_csum(d->first);
}

struct gw_dgram *gw_dgram_reach_open(struct gw_server *gw, bool icmp, int family,
                                     const uint8_t *pkt, size_t len, const uint8_t *client,
                                     uint16_t cport, const uint8_t *target, uint16_t tport)
{
    char c_txt[64], t_txt[64];
    gw_dgram_hostport(family, client, cport, c_txt);
    gw_dgram_hostport(family, target, tport, t_txt);
    if (gw->dgram.udp_live + gw->dgram.icmp_live >= GW_DGRAM_MAX_FLOWS) {
        gw->dgram.refused++;
        unreachable(gw, pkt, len, NO_ROUTE);
        return NULL;
    }
    struct gw_conn *c = gw_conn_pick_reach(gw);
    struct gw_flow *f = c ? gw_flow_new(c, 0) : NULL;
    struct gw_dgram *d = f ? gw_dgram_new(f, icmp, true) : NULL;
    if (!d) {
        st_info("reach: %s %s -> %s: %s", icmp ? "icmp" : "udp", c_txt, t_txt,
                c ? "out of memory" : "no reach connection up");
        if (f)
            gw_flow_on_conn_lost(f);
        gw->dgram.refused++;
        unreachable(gw, pkt, len, NO_ROUTE);
        return NULL;
    }
    f->inbound = f->started = true;
    d->family = family;
    memcpy(d->client, client, family == AF_INET6 ? 16 : 4);
    memcpy(d->target, target, family == AF_INET6 ? 16 : 4);
    d->cport = cport;
    d->tport = tport;
    snprintf(f->authority, sizeof(f->authority), "%s", t_txt);
    snprintf(f->client, sizeof(f->client), "%s", c_txt);
    keep_first(d, pkt, len);
    const char *why = gw_dgram_quota_take(d, false);
    if (!why &&
        ((!icmp && gw_dgram_open_pcb(d, target, tport, client, cport) < 0) || submit(c, d) < 0))
        why = "cannot open a stream";
    if (why) {
        st_info("reach: %s %s -> %s: %s", icmp ? "icmp" : "udp", f->client, f->authority, why);
        gw->dgram.refused++;
        unreachable(gw, pkt, len, NO_ROUTE);
        gw_dgram_on_close(d);
        gw_flow_on_conn_lost(f);
        return NULL;
    }
    st_timer_start(&d->timer, gw_dgram_idle_ms(d));
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
        unreachable(d->gw, d->first, d->first_len, status == 403 ? PROHIBITED : REFUSED);
    gw_dgram_reset(d, NGHTTP2_CANCEL);
}

/* IPv6 datagrams of on_catch: the packet is rebuilt in gw_dgram_scratch with a bare IPv6
 * header (lwIP reassembled it, extension headers are not carried) for an ICMPv6 error. */
static void catch6(struct gw_server *gw, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
    const struct ip6_hdr *iph = ip6_current_header();
    uint8_t *pkt = gw_dgram_scratch;
    const uint8_t *target = (const uint8_t *)ip6_current_dest_addr()->addr;
    if (!gw->cfg.reach || !gw_reach_covers6(gw, target) || gw->drain.draining ||
        pbuf_add_header(p, 8) != 0 || ST_IPV6_HLEN + p->tot_len > GW_DGRAM_PKT_MAX) {
        pbuf_free(p);
        return;
    }
    size_t len = ST_IPV6_HLEN + p->tot_len;
    memset(pkt, 0, ST_IPV6_HLEN);
    pkt[0] = 0x60;
    pkt[4] = (uint8_t)(p->tot_len >> 8);
    pkt[5] = (uint8_t)p->tot_len;
    pkt[6] = 17;
    pkt[7] = IP6H_HOPLIM(iph);
    memcpy(pkt + 8, ip_2_ip6(addr)->addr, 16);
    memcpy(pkt + 24, target, 16);
    pbuf_copy_partial(p, pkt + ST_IPV6_HLEN, p->tot_len, 0);
    pbuf_free(p);
    uint16_t tport = (uint16_t)(pkt[ST_IPV6_HLEN + 2] << 8 | pkt[ST_IPV6_HLEN + 3]);
    if (gw_dgram6_expired(gw, pkt, len))
        return;
    struct gw_dgram *d =
        gw_dgram_reach_open(gw, false, AF_INET6, pkt, len, pkt + 8, port, pkt + 24, tport);
    if (d)
        gw_dgram_queue_capsule(d, NULL, pkt + ST_IPV6_HLEN + 8, len - ST_IPV6_HLEN - 8);
}

/* The any-port pcb: the first datagram of a 5-tuple. Later ones match the flow's own pcb
 * (bound to the target, connected to the client) in lwIP. */
static void on_catch(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                     u16_t port)
{
    (void)pcb;
    struct gw_server *gw = arg;
    if (ip_current_is_v6()) {
        catch6(gw, p, addr, port);
        return;
    }
    const struct ip_hdr *iph = ip4_current_header();
    size_t hlen = (size_t)IPH_HL_BYTES(iph);
    uint8_t target[4], client[4];
    memcpy(target, &ip4_current_dest_addr()->addr, 4);
    memcpy(client, &ip_2_ip4(addr)->addr, 4);
    if (!gw->cfg.reach || !gw_reach_covers(gw, target) || gw->drain.draining ||
        pbuf_add_header(p, 8) != 0 || hlen + p->tot_len > GW_DGRAM_PKT_MAX) {
        pbuf_free(p);
        return;
    }
    /* the whole packet: an ICMP error needs its start, the flow its payload */
    memcpy(gw_dgram_scratch, iph, hlen);
    pbuf_copy_partial(p, gw_dgram_scratch + hlen, p->tot_len, 0);
    size_t len = hlen + p->tot_len;
    uint16_t tport = (uint16_t)(gw_dgram_scratch[hlen + 2] << 8 | gw_dgram_scratch[hlen + 3]);
    pbuf_free(p);
    if (expired(gw, gw_dgram_scratch, len))
        return;
    struct gw_dgram *d =
        gw_dgram_reach_open(gw, false, AF_INET, gw_dgram_scratch, len, client, port, target, tport);
    if (d)
        gw_dgram_queue_capsule(d, NULL, gw_dgram_scratch + hlen + 8, len - hlen - 8);
}

int gw_dgram_reach_init(struct gw_server *gw)
{
    struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
    if (!pcb)
        return -ENOMEM;
    ip_set_option(pcb, SOF_ANYPORT | SOF_REUSEADDR);
    if (udp_bind(pcb, IP_ANY_TYPE, 0) != ERR_OK) {
        udp_remove(pcb);
        return -ENOMEM;
    }
    udp_recv(pcb, on_catch, gw);
    gw->udp_catch = pcb;
    return 0;
}

/* ---------------------------------------------------------------- ICMP hook */

struct gw_dgram *gw_dgram_find_icmp(struct gw_server *gw, bool reach, int family, const uint8_t *a,
                                    const uint8_t *target)
{
    size_t n = family == AF_INET6 ? 16 : 4;
    for (struct gw_dgram *d = gw->icmp_flows; d; d = d->next)
        if (d->reach == reach && !d->ended && d->family == family &&
            memcmp(reach ? d->client : d->local, a, n) == 0 && memcmp(d->target, target, n) == 0)
            return d;
    return NULL;
}

/* An echo reply or ICMP error for an expose flow: back to the client's own address. */
static int to_client(struct gw_server *gw, uint8_t *pkt, const struct st_ipv4_info *ip,
                     const uint8_t *local, const uint8_t *target, uint8_t *inner)
{
    struct gw_dgram *d = gw_dgram_find_icmp(gw, false, AF_INET, local, target);
    if (!d)
        return 0;
    if (st_ipv4_dec_ttl(pkt) < 0) {
        gw->dgram.drops++;
        return 1;
    }
    if (inner)
        gw_dgram_readdress_error(gw, pkt, ip, inner, d->client, target);
    else
        st_ipv4_set_dst(pkt, d->client);
    gw_dgram_queue_capsule(d, NULL, pkt, ip->total);
    return 1;
}

int gw_dgram_udp_error(const uint8_t *pkt, size_t len, int family, const uint8_t *src,
                       const uint8_t *dst, const uint8_t *udp)
{
    uint16_t sport = (uint16_t)(udp[0] << 8 | udp[1]);
    uint16_t dport = (uint16_t)(udp[2] << 8 | udp[3]);
    ip_addr_t s, t;
    gw_dgram_lwip_addr(&s, family, src);
    gw_dgram_lwip_addr(&t, family, dst);
    for (struct udp_pcb *p = udp_pcbs; p; p = p->next) {
        if (p->recv != gw_dgram_udp_recv || p->local_port != sport || p->remote_port != dport ||
            !ip_addr_cmp(&p->local_ip, &s) || !ip_addr_cmp(&p->remote_ip, &t))
            continue;
        struct gw_dgram *d = p->recv_arg;
        if (d->reach)
            return 0;
        gw_dgram_queue_typed(d, ST_CAP_ICMP_ERROR, NULL, pkt, len);
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
    if (len && pkt[0] >> 4 == 6)
        return gw_dgram6_icmp_hook(gw, pkt, len);
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
        struct gw_dgram *d = gw_dgram_find_icmp(gw, true, AF_INET, ip.src, ip.dst);
        if (!d &&
            !(d = gw_dgram_reach_open(gw, true, AF_INET, pkt, ip.total, ip.src, 0, ip.dst, 0)))
            return 1;
        st_ipv4_dec_ttl(pkt);
        gw_dgram_queue_capsule(d, NULL, pkt, ip.total);
        return 1;
    }
    if (st_icmp_error_parse(&ip, &in, &type, &code) < 0)
        return 0;
    if (in.proto == 1)
        return to_client(gw, pkt, &ip, in.src, in.dst, (uint8_t *)ip.l4 + 8);
    if (in.proto == 17 && in.l4_len >= 4)
        return gw_dgram_udp_error(pkt, ip.total, AF_INET, in.src, in.dst, in.l4);
    return 0;
}
