#include "st_addr.h"

#include <ctype.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static size_t family_bytes(int family)
{
    return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* Parses 1..5 decimal digits into a value <= max; -1 on error. */
static long parse_dec(const char *s, size_t len, long max)
{
    long v = 0;

    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* Parses a literal IPv4 or IPv6 address of exactly len chars into addr (16 bytes, zeroed). */
static int parse_ip(const char *s, size_t len, int *family, uint8_t addr[16])
{
    char buf[INET6_ADDRSTRLEN];

    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -EINVAL;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rem = bits % 8;

    if (memcmp(a, b, full) != 0)
        return false;
    if (rem == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rem));
    return (a[full] & mask) == (b[full] & mask);
}

static bool host_bits_zero(const uint8_t *addr, size_t nbytes, unsigned prefix)
{
    for (size_t i = 0; i < nbytes; i++) {
        unsigned start = (unsigned)i * 8;
        uint8_t keep = start >= prefix       ? 0
                       : start + 8 <= prefix ? 0xff
                                             : (uint8_t)(0xff << (8 - (prefix - start)));
        if (addr[i] & (uint8_t)~keep)
            return false;
    }
    return true;
}

int st_cidr_parse(const char *s, struct st_cidr *out)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    struct st_cidr c = {0};
    long prefix;

    if (parse_ip(s, alen, &c.family, c.addr) < 0)
        return -EINVAL;
    prefix = (long)family_bytes(c.family) * 8;
    if (slash) {
        prefix = parse_dec(slash + 1, strlen(slash + 1), prefix);
        if (prefix < 0)
            return -EINVAL;
    }
    c.prefix = (uint8_t)prefix;
    if (!host_bits_zero(c.addr, family_bytes(c.family), c.prefix))
        return -EINVAL;
    *out = c;
    return 0;
}

int st_cidr_format(const struct st_cidr *c, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    int n;

    if (!family_bytes(c->family) || !inet_ntop(c->family, c->addr, ip, sizeof(ip)))
        return -EINVAL;
    n = snprintf(buf, len, "%s/%u", ip, (unsigned)c->prefix);
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

bool st_cidr_contains(const struct st_cidr *c, int family, const uint8_t *addr)
{
    if (c->family != family || !family_bytes(family))
        return false;
    return prefix_match(c->addr, addr, c->prefix);
}

bool st_cidr_covers(const struct st_cidr *outer, const struct st_cidr *inner)
{
    if (outer->family != inner->family || inner->prefix < outer->prefix)
        return false;
    return st_cidr_contains(outer, inner->family, inner->addr);
}

bool st_cidr_overlaps(const struct st_cidr *a, const struct st_cidr *b)
{
    return st_cidr_covers(a, b) || st_cidr_covers(b, a);
}

/* Splits "host:port" / "[v6]:port" into host and port substrings. */
static int split_hostport(const char *s, size_t len, const char **host, size_t *hlen,
                          const char **port, size_t *plen)
{
    const char *colon;

    if (len > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', len);
        if (!end || (size_t)(end - s) + 1 >= len || end[1] != ':')
            return -EINVAL;
        *host = s + 1;
        *hlen = (size_t)(end - s) - 1;
        colon = end + 1;
    } else {
        colon = memrchr(s, ':', len);
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -EINVAL; /* bare IPv6 needs brackets */
        *host = s;
        *hlen = (size_t)(colon - s);
    }
    *port = colon + 1;
    *plen = len - (size_t)(*port - s);
    return 0;
}

static int hostport_parse(const char *s, size_t len, int *family, uint8_t addr[16], uint16_t *port,
                          int min_port)
{
    const char *h, *p;
    size_t hlen, plen;
    long pv;
    int fam;
    uint8_t a[16];

    if (split_hostport(s, len, &h, &hlen, &p, &plen) < 0)
        return -EINVAL;
    if (parse_ip(h, hlen, &fam, a) < 0)
        return -EINVAL;
    if (s[0] == '[' && fam != AF_INET6)
        return -EINVAL;
    pv = parse_dec(p, plen, 65535);
    if (pv < min_port)
        return -EINVAL;
    *family = fam;
    memcpy(addr, a, 16);
    *port = (uint16_t)pv;
    return 0;
}

int st_authority_parse(const char *s, size_t len, int *family, uint8_t addr[16], uint16_t *port)
{
    return hostport_parse(s, len, family, addr, port, 1);
}

int st_client_parse(const char *s, size_t len, int *family, uint8_t addr[16], uint16_t *port)
{
    return hostport_parse(s, len, family, addr, port, 0);
}

void st_sockaddr_from(struct st_sockaddr *out, int family, const uint8_t *addr, uint16_t port)
{
    memset(out, 0, sizeof(*out));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, addr, 4);
        out->len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, addr, 16);
        out->len = sizeof(*sin6);
    }
}

int st_sockaddr_parse(const char *s, struct st_sockaddr *out)
{
    size_t len = strlen(s), hlen, plen;
    const char *h, *p;
    uint8_t addr[16] = {0};
    int family = AF_INET;
    long port;

    if (split_hostport(s, len, &h, &hlen, &p, &plen) < 0)
        return -EINVAL;
    if (!(hlen == 0 || (hlen == 1 && h[0] == '*'))) {
        if (parse_ip(h, hlen, &family, addr) < 0)
            return -EINVAL;
        if (s[0] == '[' && family != AF_INET6)
            return -EINVAL;
    } else if (s[0] == '[') {
        return -EINVAL;
    }
    port = parse_dec(p, plen, 65535);
    if (port < 0)
        return -EINVAL;
    st_sockaddr_from(out, family, addr, (uint16_t)port);
    return 0;
}

int st_sockaddr_format(const struct st_sockaddr *a, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    int n;

    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
        n = snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
        n = snprintf(buf, len, "[%s]:%u", ip, (unsigned)ntohs(sin6->sin6_port));
    } else {
        return -EINVAL;
    }
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

uint16_t st_sockaddr_port(const struct st_sockaddr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

/* The address bytes of a (4 or 16), NULL for another family. */
static const uint8_t *sockaddr_bytes(const struct st_sockaddr *a, size_t *n)
{
    if (a->ss.ss_family == AF_INET) {
        *n = 4;
        return (const uint8_t *)&((const struct sockaddr_in *)&a->ss)->sin_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        *n = 16;
        return ((const struct sockaddr_in6 *)&a->ss)->sin6_addr.s6_addr;
    }
    *n = 0;
    return NULL;
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

bool st_sockaddr_is_loopback(const struct st_sockaddr *a)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    size_t n;
    const uint8_t *b = sockaddr_bytes(a, &n);
    if (n == 4)
        return b[0] == 127;
    if (n != 16)
        return false;
    if (memcmp(b, v4mapped, 12) == 0)
        return b[12] == 127;
    return all_zero(b, 15) && b[15] == 1;
}

bool st_sockaddr_clash(const struct st_sockaddr *a, const struct st_sockaddr *b)
{
    size_t na, nb;
    const uint8_t *ba = sockaddr_bytes(a, &na), *bb = sockaddr_bytes(b, &nb);
    if (!ba || !bb || st_sockaddr_port(a) != st_sockaddr_port(b))
        return false;
    bool any_a = all_zero(ba, na), any_b = all_zero(bb, nb);
    if (na != nb) /* a dual-stack [::] takes every IPv4 address of its port */
        return (na == 16 && any_a) || (nb == 16 && any_b);
    return any_a || any_b || memcmp(ba, bb, na) == 0;
}

bool st_hostname_valid(const char *s, bool wildcard)
{
    size_t n = strlen(s), label = 0;

    if (n == 0 || n > 253)
        return false;
    if (wildcard && s[0] == '*' && s[1] == '.')
        s += 2;
    for (; *s; s++) {
        if (*s == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum((unsigned char)*s) || *s == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}
