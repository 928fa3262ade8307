#include "st_ipv4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define ICMP_HLEN 8
#define UDP_HLEN 8

/* Unfolded one's complement sum of p[0..len) as big-endian 16-bit words, added to acc. */
static uint64_t sum16(const uint8_t *p, size_t len, uint64_t acc)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        acc += (uint32_t)p[len - 1] << 8;
    return acc;
}

static uint16_t fold(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return htons((uint16_t)~acc);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Zeroes the checksum field at `at`, sums p[0..len) and stores the result there. */
static void store_csum(uint8_t *at, const uint8_t *p, size_t len)
{
    at[0] = at[1] = 0;
    uint16_t c = st_ipv4_csum(p, len);
    memcpy(at, &c, 2);
}

static size_t hlen_of(const uint8_t *pkt)
{
    return (size_t)(pkt[0] & 0x0f) * 4;
}

uint64_t st_csum_add(const void *p, size_t len, uint64_t acc)
{
    return sum16(p, len, acc);
}

uint16_t st_csum_fold(uint64_t acc)
{
    return fold(acc);
}

uint16_t st_ipv4_csum(const void *p, size_t len)
{
    return fold(sum16(p, len, 0));
}

/* The header checks shared by whole packets and headers quoted in ICMP errors: total may
 * exceed len here, l4_len counts what is present. */
static int parse_header(const uint8_t *pkt, size_t len, struct st_ipv4_info *out)
{
    if (len < ST_IPV4_HLEN || pkt[0] >> 4 != 4)
        return -EBADMSG;
    size_t hlen = hlen_of(pkt), total = get16(pkt + 2);
    if (hlen < ST_IPV4_HLEN || hlen > len || total < hlen)
        return -EBADMSG;
    memcpy(out->src, pkt + 12, 4);
    memcpy(out->dst, pkt + 16, 4);
    out->proto = pkt[9];
    out->ttl = pkt[8];
    out->hlen = hlen;
    out->total = total;
    out->l4 = pkt + hlen;
    out->l4_len = (total < len ? total : len) - hlen;
    return 0;
}

int st_ipv4_parse(const uint8_t *pkt, size_t len, struct st_ipv4_info *out)
{
    int r = parse_header(pkt, len, out);
    if (r < 0)
        return r;
    if (out->total > len)
        return -EBADMSG;
    if (get16(pkt + 6) & 0x3fff) /* MF or a fragment offset */
        return -EPROTO;
    return 0;
}

bool st_ipv4_csum_ok(const uint8_t *pkt)
{
    return st_ipv4_csum(pkt, hlen_of(pkt)) == 0;
}

int st_icmp_echo_parse(const struct st_ipv4_info *ip, struct st_icmp_echo *e)
{
    const uint8_t *m = ip->l4;
    if (ip->proto != ST_IPPROTO_ICMP || ip->l4_len < ICMP_HLEN)
        return -EBADMSG;
    if ((m[0] != ST_ICMP_ECHO && m[0] != ST_ICMP_ECHO_REPLY) || m[1] != 0)
        return -EBADMSG;
    e->type = m[0];
    e->id = get16(m + 4);
    e->seq = get16(m + 6);
    return 0;
}

static bool is_error_type(uint8_t t)
{
    return t == ST_ICMP_UNREACH || t == ST_ICMP_TIME_EXCEEDED || t == ST_ICMP_PARAM_PROBLEM;
}

int st_icmp_error_parse(const struct st_ipv4_info *ip, struct st_ipv4_info *inner, uint8_t *type,
                        uint8_t *code)
{
    const uint8_t *m = ip->l4;
    if (ip->proto != ST_IPPROTO_ICMP)
        return -ENOENT;
    if (ip->l4_len < 1)
        return -EBADMSG;
    if (!is_error_type(m[0]))
        return -ENOENT;
    if (ip->l4_len < ICMP_HLEN || parse_header(m + ICMP_HLEN, ip->l4_len - ICMP_HLEN, inner) < 0)
        return -EBADMSG;
    *type = m[0];
    *code = m[1];
    return 0;
}

void st_ipv4_fix_csum(uint8_t *pkt)
{
    store_csum(pkt + 10, pkt, hlen_of(pkt));
}

void st_ipv4_set_src(uint8_t *pkt, const uint8_t src[4])
{
    memcpy(pkt + 12, src, 4);
    st_ipv4_fix_csum(pkt);
}

void st_ipv4_set_dst(uint8_t *pkt, const uint8_t dst[4])
{
    memcpy(pkt + 16, dst, 4);
    st_ipv4_fix_csum(pkt);
}

int st_ipv4_dec_ttl(uint8_t *pkt)
{
    if (pkt[8] <= 1)
        return -ETIMEDOUT;
    pkt[8]--;
    st_ipv4_fix_csum(pkt);
    return pkt[8];
}

void st_icmp_fix_csum(uint8_t *pkt)
{
    size_t hlen = hlen_of(pkt), total = get16(pkt + 2);
    if (total >= hlen + 4) /* else there is no checksum field to fill */
        store_csum(pkt + hlen + 2, pkt + hlen, total - hlen);
}

bool st_icmp_csum_ok(const uint8_t *pkt)
{
    size_t hlen = hlen_of(pkt);
    return st_ipv4_csum(pkt + hlen, get16(pkt + 2) - hlen) == 0;
}

/* A source that names a single host (RFC 1122 3.2.2): not 0/8, 127/8, multicast or 240/4
 * (which holds the limited broadcast). Subnet broadcasts cannot be told apart here. */
static bool single_host(const uint8_t a[4])
{
    return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

/* RFC 1122 3.2.2: no ICMP error about an ICMP error (only queries and their replies are
 * answered), a non-first fragment, or a datagram to/from a multicast or broadcast address. */
static bool may_answer(const uint8_t *orig, const struct st_ipv4_info *ip, const uint8_t from[4])
{
    if (get16(orig + 6) & 0x1fff)
        return false;
    if (!single_host(ip->src) || ip->dst[0] >= 224 || !single_host(from))
        return false;
    if (ip->proto != ST_IPPROTO_ICMP)
        return true;
    if (ip->l4_len < 1)
        return false;
    uint8_t t = ip->l4[0];
    return t == ST_ICMP_ECHO_REPLY || t == ST_ICMP_ECHO || (t >= 13 && t <= 18);
}

int st_icmp_unreach(uint8_t *out, size_t cap, const uint8_t *orig, size_t orig_len,
                    const uint8_t from[4], uint8_t type, uint8_t code, uint8_t ttl)
{
    struct st_ipv4_info ip;
    if (st_ipv4_parse(orig, orig_len, &ip) == -EBADMSG)
        return -EBADMSG;
    if (!is_error_type(type) || !may_answer(orig, &ip, from))
        return -EINVAL;
    const size_t head = ST_IPV4_HLEN + ICMP_HLEN;
    size_t least = ip.hlen + (ip.l4_len < 8 ? ip.l4_len : 8), quote = ip.total;
    if (cap < head + least)
        return -ENOSPC;
    if (quote > ST_ICMP_ERROR_MAX - head)
        quote = ST_ICMP_ERROR_MAX - head;
    if (quote > cap - head)
        quote = cap - head;

    memset(out, 0, head);
    out[0] = 0x45;
    out[1] = 0xc0; /* precedence 6, internetwork control (RFC 1812 4.3.2.5) */
    put16(out + 2, head + quote);
    out[8] = ttl;
    out[9] = ST_IPPROTO_ICMP;
    memcpy(out + 12, from, 4);
    memcpy(out + 16, ip.src, 4);
    st_ipv4_fix_csum(out);
    out[20] = type;
    out[21] = code;
    memcpy(out + head, orig, quote);
    st_icmp_fix_csum(out);
    return (int)(head + quote);
}

int st_udp4_build(uint8_t *out, size_t cap, const uint8_t src[4], uint16_t sport,
                  const uint8_t dst[4], uint16_t dport, const uint8_t *payload, size_t len,
                  uint8_t ttl)
{
    const size_t head = ST_IPV4_HLEN + UDP_HLEN;
    if (len > ST_IPV4_MAX - head)
        return -EMSGSIZE;
    if (cap < head + len)
        return -ENOSPC;
    uint8_t *u = out + ST_IPV4_HLEN;
    if (len > 0)
        memmove(u + UDP_HLEN, payload, len); /* payload may already sit there */
    memset(out, 0, head);
    out[0] = 0x45;
    put16(out + 2, head + len);
    out[8] = ttl;
    out[9] = ST_IPPROTO_UDP;
    memcpy(out + 12, src, 4);
    memcpy(out + 16, dst, 4);
    st_ipv4_fix_csum(out);
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, UDP_HLEN + len);
    /* pseudo-header: addresses, zero, protocol, UDP length */
    uint64_t acc = sum16(out + 12, 8, ST_IPPROTO_UDP + UDP_HLEN + len);
    uint16_t c = fold(sum16(u, UDP_HLEN + len, acc));
    if (c == 0)
        c = 0xffff; /* RFC 768: 0 means "no checksum" */
    memcpy(u + 6, &c, 2);
    return (int)(head + len);
}
