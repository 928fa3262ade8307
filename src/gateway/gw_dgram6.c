#include "gw_dgram.h"

#include <arpa/inet.h>
#include <lwip/ip.h>
#include <lwip/udp.h>
#include <string.h>

#include "gw_dgram_int.h"
#include "gw_reach.h"
#include "gw_server.h"
#include "st_addr.h"
#include "st_capsule.h"
#include "st_ipv6.h"

/* The IPv6 side of gw_dgram and gw_dgram_tun: ICMPv6 echo of connect-ip flows to IPv6
 * targets, ICMPv6 errors about UDP and echo flows, and the errors the reach role sends. */

void gw_dgram6_stack_addr(const struct gw_server *gw, uint8_t out[16])
{
    memcpy(out, gw->cfg.virtual_pool6.addr, 16);
    out[15] |= 2; /* the TUN holds ::1; the pool's ::2 stands for lwIP, as in IPv4 */
}

/* Sends the ICMPv6 error about pkt[0..len) to its sender, out of the TUN. */
static void send_error(struct gw_server *gw, const uint8_t *pkt, size_t len, const uint8_t *from,
                       uint8_t type, uint8_t code, uint32_t param)
{
    uint8_t out[ST_ICMP6_ERROR_MAX];
    int n = st_icmp6_error(out, sizeof(out), pkt, len, from, type, code, param, 64);
    if (n > 0)
        ns_netif_send(&gw->nif, out, (size_t)n);
}

void gw_dgram6_unreachable(struct gw_server *gw, const uint8_t *pkt, size_t len, uint8_t code)
{
    struct st_ipv6_info ip;
    if (st_ipv6_parse(pkt, len, &ip) == 0)
        send_error(gw, pkt, len, ip.dst, ST_ICMP6_UNREACH, code, 0);
}

bool gw_dgram6_expired(struct gw_server *gw, const uint8_t *pkt, size_t len)
{
    if (pkt[7] > 1)
        return false;
    uint8_t from[16];
    gw_dgram6_stack_addr(gw, from);
    send_error(gw, pkt, len, from, ST_ICMP6_TIME_EXCEEDED, 0, 0);
    gw->dgram.drops++;
    return true;
}

/* An ICMPv6 packet from a connect-ip stream, as icmp_allowed of IPv4: expose takes echo
 * requests to the target; reach takes echo replies from the target to the client and
 * errors to the client quoting its echo requests to the target. No extension headers. */
static bool allowed(const struct gw_dgram *d, const struct st_ipv6_info *ip)
{
    struct st_icmp6_echo e;
    struct st_ipv6_info in;
    uint8_t type, code;
    uint32_t param;
    if (ip->proto != ST_IPPROTO_ICMPV6 || ip->hlen != ST_IPV6_HLEN)
        return false;
    if (st_icmp6_echo_parse(ip, &e) == 0) {
        if (!d->reach)
            return e.type == ST_ICMP6_ECHO && memcmp(ip->dst, d->target, 16) == 0;
        return e.type == ST_ICMP6_ECHO_REPLY && memcmp(ip->src, d->target, 16) == 0 &&
               memcmp(ip->dst, d->client, 16) == 0;
    }
    return d->reach && memcmp(ip->dst, d->client, 16) == 0 &&
           st_icmp6_error_parse(ip, &in, &type, &code, &param) == 0 &&
           in.proto == ST_IPPROTO_ICMPV6 && memcmp(in.src, d->client, 16) == 0 &&
           memcmp(in.dst, d->target, 16) == 0;
}

/* Expose: a request larger than the TUN takes cannot go on; the client hears "packet too
 * big" from the target (RFC 4443 3.2, the tunnel being one hop), in its own stream. */
static bool too_big(struct gw_dgram *d, const uint8_t *pkt, size_t len)
{
    size_t mtu = (size_t)d->gw->cfg.tun_mtu;
    uint8_t out[ST_ICMP6_ERROR_MAX];
    if (d->reach || len <= mtu)
        return false;
    int n = st_icmp6_error(out, sizeof(out), pkt, len, d->target, ST_ICMP6_TOO_BIG, 0,
                           (uint32_t)mtu, 64);
    if (n > 0)
        gw_dgram_queue_capsule(d, NULL, out, (size_t)n);
    return true;
}

void gw_dgram6_send_icmp(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    uint8_t *pkt = gw_dgram_scratch;
    struct st_ipv6_info ip;
    memcpy(pkt, p, n);
    if (st_ipv6_parse(pkt, n, &ip) < 0 || !allowed(d, &ip))
        goto drop;
    if (too_big(d, pkt, ip.total))
        goto drop;
    if (!d->reach) {
        memcpy(d->client, ip.src, 16); /* replies go back to the address the client used */
        st_ipv6_set_src(pkt, d->local);
        st_icmp6_fix_csum(pkt, &ip);
    }
    if (ns_netif_send(&d->gw->nif, pkt, ip.total) < 0)
        goto drop;
    d->gw->dgram.tx++;
    return;
drop:
    d->gw->dgram.drops++;
}

/* An ICMPv6 error (pkt, parsed as ip) about a packet of one of our flows, quoted at quote,
 * goes to the client's own address; from the target when the bastion reported it from an
 * address of the pool (meaningless at the client's side), as gw_dgram_readdress_error. */
static void readdress(struct gw_server *gw, uint8_t *pkt, const struct st_ipv6_info *ip,
                      uint8_t *quote, const uint8_t *client, const uint8_t *target)
{
    st_ipv6_set_dst(pkt, client);
    if (st_cidr_contains(&gw->cfg.virtual_pool6, AF_INET6, ip->src))
        st_ipv6_set_src(pkt, target);
    st_ipv6_set_src(quote, client);
    st_icmp6_fix_csum(pkt, ip);
}

void gw_dgram6_relay_udp_error(struct gw_dgram *d, const uint8_t *p, size_t n)
{
    uint8_t *pkt = gw_dgram_scratch;
    struct st_ipv6_info ip, in;
    uint8_t type, code;
    uint32_t param;
    memcpy(pkt, p, n);
    if (st_ipv6_parse(pkt, n, &ip) < 0 || ip.hlen != ST_IPV6_HLEN ||
        st_icmp6_error_parse(&ip, &in, &type, &code, &param) < 0 || in.proto != 17 ||
        in.l4_len < 4 || memcmp(in.dst, d->target, 16) != 0 ||
        (in.l4[2] << 8 | in.l4[3]) != d->tport) {
        d->gw->dgram.drops++;
        return;
    }
    uint8_t *udp = (uint8_t *)in.l4;
    udp[0] = (uint8_t)(d->cport >> 8);
    udp[1] = (uint8_t)d->cport;
    readdress(d->gw, pkt, &ip, pkt + ST_IPV6_HLEN + 8, d->client, d->target);
    if (ns_netif_send(&d->gw->nif, pkt, ip.total) < 0)
        d->gw->dgram.drops++;
    else
        d->gw->dgram.tx++;
}

/* An echo reply or ICMPv6 error (quote set) for an expose flow: back to the client. */
static int to_client(struct gw_server *gw, uint8_t *pkt, const struct st_ipv6_info *ip,
                     const uint8_t *local, const uint8_t *target, uint8_t *quote)
{
    struct gw_dgram *d = gw_dgram_find_icmp(gw, false, AF_INET6, local, target);
    if (!d)
        return 0;
    if (st_ipv6_dec_hlim(pkt) < 0) {
        gw->dgram.drops++;
        return 1;
    }
    if (quote) {
        readdress(gw, pkt, ip, quote, d->client, target);
    } else {
        st_ipv6_set_dst(pkt, d->client);
        st_icmp6_fix_csum(pkt, ip);
    }
    gw_dgram_queue_capsule(d, NULL, pkt, ip->total);
    return 1;
}

/* Reach: an echo request from the TUN to a reach route opens (or joins) a flow. */
static int reach_echo(struct gw_server *gw, uint8_t *pkt, const struct st_ipv6_info *ip)
{
    if (!gw->cfg.reach || !gw_reach_covers6(gw, ip->dst) || gw->drain.draining)
        return 0;
    if (ip->hlen != ST_IPV6_HLEN) { /* no extension headers into the tunnel */
        gw->dgram.drops++;
        return 1;
    }
    if (gw_dgram6_expired(gw, pkt, ip->total))
        return 1;
    struct gw_dgram *d = gw_dgram_find_icmp(gw, true, AF_INET6, ip->src, ip->dst);
    if (!d &&
        !(d = gw_dgram_reach_open(gw, true, AF_INET6, pkt, ip->total, ip->src, 0, ip->dst, 0)))
        return 1;
    st_ipv6_dec_hlim(pkt); /* not in the ICMPv6 checksum */
    gw_dgram_queue_capsule(d, NULL, pkt, ip->total);
    return 1;
}

int gw_dgram6_icmp_hook(struct gw_server *gw, uint8_t *pkt, size_t len)
{
    struct st_ipv6_info ip, in;
    struct st_icmp6_echo e;
    uint8_t type, code;
    uint32_t param;
    if (st_ipv6_parse(pkt, len, &ip) < 0 || ip.proto != ST_IPPROTO_ICMPV6)
        return 0;
    if (st_icmp6_echo_parse(&ip, &e) == 0) {
        if (e.type == ST_ICMP6_ECHO_REPLY)
            return to_client(gw, pkt, &ip, ip.dst, ip.src, NULL);
        return reach_echo(gw, pkt, &ip);
    }
    if (st_icmp6_error_parse(&ip, &in, &type, &code, &param) < 0 || ip.hlen != ST_IPV6_HLEN)
        return 0;
    if (in.proto == ST_IPPROTO_ICMPV6 && in.hlen == ST_IPV6_HLEN)
        return to_client(gw, pkt, &ip, in.src, in.dst, (uint8_t *)ip.l4 + 8);
    if (in.proto == 17 && in.l4_len >= 4)
        return gw_dgram_udp_error(pkt, ip.total, AF_INET6, in.src, in.dst, in.l4);
    return 0;
}
