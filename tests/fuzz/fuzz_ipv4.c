/* IPv4 / ICMP / UDP packets as read from the TUN: parsed, checksums checked and fixed, echo
 * and ICMP errors decoded, an ICMP error built about the packet (which must parse and quote
 * it), and a UDP packet built from the bytes (which must parse back to them). */
#include "fuzz.h"
#include "st_ipv4.h"

#include <errno.h>
#include <string.h>

static const uint8_t from[4] = {192, 0, 2, 1};

static void check_unreach(const uint8_t *pkt, size_t len, const struct st_ipv4_info *ip)
{
    uint8_t out[ST_ICMP_ERROR_MAX];
    struct st_ipv4_info e, inner;
    uint8_t type, code;

    int n = st_icmp_unreach(out, sizeof(out), pkt, len, from, ST_ICMP_UNREACH, 1, 64);
    FUZZ_ASSERT(n > 0 || n == -EINVAL || n == -EBADMSG || n == -ENOSPC);
    if (n <= 0)
        return;
    FUZZ_ASSERT(st_ipv4_parse(out, (size_t)n, &e) == 0 && e.total == (size_t)n);
    FUZZ_ASSERT(st_ipv4_csum_ok(out) && st_icmp_csum_ok(out));
    FUZZ_ASSERT(memcmp(e.dst, ip->src, 4) == 0);
    FUZZ_ASSERT(st_icmp_error_parse(&e, &inner, &type, &code) == 0);
    FUZZ_ASSERT(type == ST_ICMP_UNREACH && code == 1);
    FUZZ_ASSERT(memcmp(inner.src, ip->src, 4) == 0 && memcmp(inner.dst, ip->dst, 4) == 0);
}

static void check_rewrite(const uint8_t *pkt, const struct st_ipv4_info *ip)
{
    static uint8_t copy[ST_IPV4_MAX];
    struct st_ipv4_info again;

    memcpy(copy, pkt, ip->total);
    st_ipv4_set_src(copy, from);
    st_ipv4_set_dst(copy, ip->src);
    FUZZ_ASSERT(st_ipv4_csum_ok(copy));
    int ttl = st_ipv4_dec_ttl(copy);
    FUZZ_ASSERT(ttl == -ETIMEDOUT ? ip->ttl <= 1 : ttl == ip->ttl - 1);
    FUZZ_ASSERT(st_ipv4_csum_ok(copy));
    FUZZ_ASSERT(st_ipv4_parse(copy, ip->total, &again) != -EBADMSG);
    FUZZ_ASSERT(again.hlen == ip->hlen && again.total == ip->total);
    if (ip->proto == ST_IPPROTO_ICMP && ip->l4_len >= 4) {
        st_icmp_fix_csum(copy);
        FUZZ_ASSERT(st_icmp_csum_ok(copy));
    }
}

static void check_udp_build(const uint8_t *data, size_t size)
{
    static uint8_t out[ST_IPV4_MAX];
    static const uint8_t dst[4] = {198, 51, 100, 10};
    struct st_ipv4_info ip;

    int n = st_udp4_build(out, sizeof(out), from, 5353, dst, 53, data, size, 64);
    if (size + 28 > ST_IPV4_MAX) {
        FUZZ_ASSERT(n == -EMSGSIZE);
        return;
    }
    FUZZ_ASSERT(n == (int)size + 28);
    FUZZ_ASSERT(st_ipv4_parse(out, (size_t)n, &ip) == 0 && ip.proto == ST_IPPROTO_UDP);
    FUZZ_ASSERT(st_ipv4_csum_ok(out) && ip.l4_len == size + 8);
    FUZZ_ASSERT(memcmp(ip.l4 + 8, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_ipv4_info ip, inner;
    struct st_icmp_echo echo;
    uint8_t type, code;

    (void)st_ipv4_csum(data, size);
    check_udp_build(data, size);
    int rc = st_ipv4_parse(data, size, &ip);
    FUZZ_ASSERT(rc == 0 || rc == -EBADMSG || rc == -EPROTO);
    if (rc == -EBADMSG)
        return 0;
    FUZZ_ASSERT(ip.hlen >= ST_IPV4_HLEN && ip.hlen <= ip.total && ip.total <= size);
    FUZZ_ASSERT(ip.l4 == data + ip.hlen && ip.l4_len == ip.total - ip.hlen);
    (void)st_ipv4_csum_ok(data);
    if (st_icmp_echo_parse(&ip, &echo) == 0)
        FUZZ_ASSERT(echo.type == ST_ICMP_ECHO || echo.type == ST_ICMP_ECHO_REPLY);
    int erc = st_icmp_error_parse(&ip, &inner, &type, &code);
    FUZZ_ASSERT(erc == 0 || erc == -ENOENT || erc == -EBADMSG);
    if (erc == 0)
        FUZZ_ASSERT(inner.l4 >= ip.l4 && inner.l4 + inner.l4_len <= ip.l4 + ip.l4_len);
    if (ip.proto == ST_IPPROTO_ICMP && ip.l4_len >= 8)
        (void)st_icmp_csum_ok(data);
    check_unreach(data, size, &ip);
    check_rewrite(data, &ip);
    return 0;
}
