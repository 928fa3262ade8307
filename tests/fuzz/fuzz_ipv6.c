/* IPv6 / ICMPv6 packets as read from the TUN or from a connect-ip stream: parsed (extension
 * headers walked), echo and ICMPv6 errors decoded, checksums fixed, and an ICMPv6 error built
 * about the packet (which must parse and quote it). */
#include "fuzz.h"
#include "st_ipv6.h"

#include <errno.h>
#include <string.h>

static const uint8_t from[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

static void check_error(const uint8_t *pkt, size_t len, const struct st_ipv6_info *ip)
{
    static uint8_t out[ST_ICMP6_ERROR_MAX];
    struct st_ipv6_info e, inner;
    uint8_t type, code;
    uint32_t param;

    int n = st_icmp6_error(out, sizeof(out), pkt, len, from, ST_ICMP6_TOO_BIG, 0, 1280, 64);
    FUZZ_ASSERT(n > 0 || n == -EINVAL || n == -EBADMSG);
    if (n <= 0)
        return;
    FUZZ_ASSERT(n <= ST_ICMP6_ERROR_MAX);
    FUZZ_ASSERT(st_ipv6_parse(out, (size_t)n, &e) == 0 && e.total == (size_t)n);
    FUZZ_ASSERT(st_icmp6_csum_ok(out, &e));
    FUZZ_ASSERT(memcmp(e.dst, ip->src, 16) == 0);
    int r = st_icmp6_error_parse(&e, &inner, &type, &code, &param);
    FUZZ_ASSERT(r == 0 || r == -EBADMSG); /* the quote may cut an extension header */
    if (r == 0)
        FUZZ_ASSERT(type == ST_ICMP6_TOO_BIG && param == 1280 &&
                    memcmp(inner.src, ip->src, 16) == 0);
}

static void check_rewrite(const uint8_t *pkt, const struct st_ipv6_info *ip)
{
    static uint8_t copy[65535 + 40];
    struct st_ipv6_info again;

    memcpy(copy, pkt, ip->total);
    FUZZ_ASSERT(st_ipv6_parse(copy, ip->total, &again) == 0);
    st_ipv6_set_src(copy, from);
    int h = st_ipv6_dec_hlim(copy);
    FUZZ_ASSERT(h == -ETIMEDOUT ? ip->hlim <= 1 : h == ip->hlim - 1);
    if (ip->proto == ST_IPPROTO_ICMPV6 && ip->l4_len >= 4) {
        st_icmp6_fix_csum(copy, &again);
        FUZZ_ASSERT(st_icmp6_csum_ok(copy, &again));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_ipv6_info ip, inner;
    struct st_icmp6_echo echo;
    uint8_t type, code;
    uint32_t param;

    int rc = st_ipv6_parse(data, size, &ip);
    FUZZ_ASSERT(rc == 0 || rc == -EBADMSG || rc == -EPROTO);
    if (rc == -EBADMSG)
        return 0;
    FUZZ_ASSERT(ip.hlen >= ST_IPV6_HLEN && ip.hlen <= ip.total && ip.total <= size);
    FUZZ_ASSERT(ip.l4 == data + ip.hlen && ip.l4_len == ip.total - ip.hlen);
    if (st_icmp6_echo_parse(&ip, &echo) == 0)
        FUZZ_ASSERT(echo.type == ST_ICMP6_ECHO || echo.type == ST_ICMP6_ECHO_REPLY);
    int erc = st_icmp6_error_parse(&ip, &inner, &type, &code, &param);
    FUZZ_ASSERT(erc == 0 || erc == -ENOENT || erc == -EBADMSG);
    if (erc == 0)
        FUZZ_ASSERT(inner.l4 >= ip.l4 && inner.l4 + inner.l4_len <= ip.l4 + ip.l4_len);
    (void)st_icmp6_csum_ok(data, &ip);
    check_error(data, size, &ip);
    if (rc == 0)
        check_rewrite(data, &ip);
    return 0;
}
