#include "st_ipv6.h"

#include <errno.h>
#include <string.h>

#include "st_ipv4.h"

#define ICMP_HLEN 8

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Length of the extension header at p (next header type nh), 0 when nh is no extension
 * header we follow (the upper layer). */
static size_t ext_len(uint8_t nh, const uint8_t *p)
{
    switch (nh) {
    case 0:  /* hop-by-hop options */
    case 43: /* routing */
    case 60: /* destination options */
        return ((size_t)p[1] + 1) * 8;
    case 44: /* fragment */
        return 8;
    case 51: /* authentication header (RFC 4302: in 4-byte units, minus 2) */
        return ((size_t)p[1] + 2) * 4;
    default:
        return 0;
    }
}

static bool is_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51;
}

/* Walks the extension headers inside pkt[40..present): sets proto, hlen, frag, first. */
static int walk_ext(const uint8_t *pkt, size_t present, struct st_ipv6_info *out)
{
    uint8_t nh = pkt[6];
    size_t off = ST_IPV6_HLEN;
    out->frag = false;
    out->first = true;
    for (int i = 0; is_ext(nh); i++) {
        if (i == ST_IPV6_MAX_EXT || off + 2 > present)
            return -EBADMSG;
        size_t n = ext_len(nh, pkt + off);
        if (off + n > present)
            return -EBADMSG;
        if (nh == 44) { /* an atomic fragment (offset 0, no M flag) is whole */
            out->frag = (get16(pkt + off + 2) & 0xfff9) != 0;
            out->first = (get16(pkt + off + 2) & 0xfff8) == 0;
        }
        nh = pkt[off];
        off += n;
    }
    out->proto = nh;
    out->hlen = off;
    return 0;
}

/* The header checks shared by whole packets and headers quoted in ICMPv6 errors: total may
 * exceed len here, l4_len counts what is present. */
static int parse_header(const uint8_t *pkt, size_t len, struct st_ipv6_info *out)
{
    if (len < ST_IPV6_HLEN || pkt[0] >> 4 != 6)
        return -EBADMSG;
    size_t plen = get16(pkt + 4);
    if (plen == 0)
        return -EBADMSG; /* a jumbogram (RFC 2675) or nothing at all */
    out->total = ST_IPV6_HLEN + plen;
    size_t present = out->total < len ? out->total : len;
    if (walk_ext(pkt, present, out) < 0)
        return -EBADMSG;
    memcpy(out->src, pkt + 8, 16);
    memcpy(out->dst, pkt + 24, 16);
    out->hlim = pkt[7];
    out->l4 = pkt + out->hlen;
    out->l4_len = present - out->hlen;
    return 0;
}

int st_ipv6_parse(const uint8_t *pkt, size_t len, struct st_ipv6_info *out)
{
    int r = parse_header(pkt, len, out);
    if (r < 0)
        return r;
    if (out->total > len)
        return -EBADMSG;
    if (out->frag)
        return -EPROTO;
    return 0;
}

void st_ipv6_set_src(uint8_t *pkt, const uint8_t src[16])
{
    memcpy(pkt + 8, src, 16);
}

void st_ipv6_set_dst(uint8_t *pkt, const uint8_t dst[16])
{
    memcpy(pkt + 24, dst, 16);
}

int st_ipv6_dec_hlim(uint8_t *pkt)
{
    if (pkt[7] <= 1)
        return -ETIMEDOUT;
    return --pkt[7];
}

/* The ICMPv6 checksum over the pseudo-header (RFC 8200 8.1) and msg[0..len). */
static uint16_t icmp6_sum(const uint8_t *pkt, const uint8_t *msg, size_t len)
{
    uint64_t acc = st_csum_add(pkt + 8, 32, 0); /* source and destination */
    acc += (len >> 16) + (len & 0xffff) + ST_IPPROTO_ICMPV6;
    return st_csum_fold(st_csum_add(msg, len, acc));
}

void st_icmp6_fix_csum(uint8_t *pkt, const struct st_ipv6_info *ip)
{
    uint8_t *m = pkt + ip->hlen;
    if (ip->l4_len < 4)
        return; /* no checksum field to fill */
    m[2] = m[3] = 0;
    uint16_t c = icmp6_sum(pkt, m, ip->l4_len);
    memcpy(m + 2, &c, 2);
}

bool st_icmp6_csum_ok(const uint8_t *pkt, const struct st_ipv6_info *ip)
{
    return ip->l4_len >= 4 && icmp6_sum(pkt, ip->l4, ip->l4_len) == 0;
}

int st_icmp6_echo_parse(const struct st_ipv6_info *ip, struct st_icmp6_echo *e)
{
    const uint8_t *m = ip->l4;
    if (ip->proto != ST_IPPROTO_ICMPV6 || ip->l4_len < ICMP_HLEN)
        return -EBADMSG;
    if ((m[0] != ST_ICMP6_ECHO && m[0] != ST_ICMP6_ECHO_REPLY) || m[1] != 0)
        return -EBADMSG;
    e->type = m[0];
    e->id = get16(m + 4);
    e->seq = get16(m + 6);
    return 0;
}

static bool is_error_type(uint8_t t)
{
    return t >= ST_ICMP6_UNREACH && t <= ST_ICMP6_PARAM_PROBLEM;
}

int st_icmp6_error_parse(const struct st_ipv6_info *ip, struct st_ipv6_info *inner, uint8_t *type,
                         uint8_t *code, uint32_t *param)
{
    const uint8_t *m = ip->l4;
    if (ip->proto != ST_IPPROTO_ICMPV6)
        return -ENOENT;
    if (ip->l4_len < 1)
        return -EBADMSG;
    if (!is_error_type(m[0]))
        return -ENOENT;
    if (ip->l4_len < ICMP_HLEN || parse_header(m + ICMP_HLEN, ip->l4_len - ICMP_HLEN, inner) < 0)
        return -EBADMSG;
    *type = m[0];
    *code = m[1];
    *param = (uint32_t)get16(m + 4) << 16 | get16(m + 6);
    return 0;
}

/* An address that names one node as a source: not ::, ::1 or multicast. */
static bool single_node(const uint8_t a[16])
{
    static const uint8_t zero[16], one[16] = {[15] = 1};
    return a[0] != 0xff && memcmp(a, zero, 16) != 0 && memcmp(a, one, 16) != 0;
}

/* RFC 4443 2.4 (e): no error about an error (or a packet that has no ICMPv6 type), from or
 * about a source that is not one node, or about a packet to a multicast address (but packet
 * too big and an unrecognized option, parameter problem code 2). */
static bool may_answer(const struct st_ipv6_info *ip, const uint8_t from[16], uint8_t type,
                       uint8_t code)
{
    if (!single_node(ip->src) || !single_node(from))
        return false;
    if (ip->dst[0] == 0xff && type != ST_ICMP6_TOO_BIG &&
        !(type == ST_ICMP6_PARAM_PROBLEM && code == 2))
        return false;
    if (ip->proto != ST_IPPROTO_ICMPV6 || !ip->first)
        return true;
    return ip->l4_len >= 1 && !is_error_type(ip->l4[0]) && ip->l4[0] >= 128;
}

int st_icmp6_error(uint8_t *out, size_t cap, const uint8_t *orig, size_t orig_len,
                   const uint8_t from[16], uint8_t type, uint8_t code, uint32_t param, uint8_t hlim)
{
    struct st_ipv6_info ip;
    if (st_ipv6_parse(orig, orig_len, &ip) == -EBADMSG)
        return -EBADMSG;
    if (!is_error_type(type) || !may_answer(&ip, from, type, code))
        return -EINVAL;
    const size_t head = ST_IPV6_HLEN + ICMP_HLEN;
    size_t quote = ip.total;
    if (cap < head + ST_IPV6_HLEN + ICMP_HLEN)
        return -ENOSPC;
    if (quote > ST_ICMP6_ERROR_MAX - head)
        quote = ST_ICMP6_ERROR_MAX - head;
    if (quote > cap - head)
        quote = cap - head;

    memset(out, 0, head);
    out[0] = 0x60;
    out[4] = (uint8_t)((ICMP_HLEN + quote) >> 8);
    out[5] = (uint8_t)(ICMP_HLEN + quote);
    out[6] = ST_IPPROTO_ICMPV6;
    out[7] = hlim;
    memcpy(out + 8, from, 16);
    memcpy(out + 24, ip.src, 16);
    out[40] = type;
    out[41] = code;
    put32(out + 44, param);
    memcpy(out + head, orig, quote);
    struct st_ipv6_info e = {.hlen = ST_IPV6_HLEN, .l4_len = ICMP_HLEN + quote};
    st_icmp6_fix_csum(out, &e);
    return (int)(head + quote);
}
