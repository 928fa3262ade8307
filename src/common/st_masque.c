#include "st_masque.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "st_capsule.h"
#include "st_token.h"
#include "st_varint.h"

/* Percent-decodes s[0..len) into out (NUL-terminated). false on a bad escape, a decoded
 * NUL, a decoded '/' unless slash (a connect-ip prefix), or when it does not fit. */
static bool unescape(const char *s, size_t len, char *out, size_t cap, bool slash)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            int h = st_hex_digit(s[i + 1]), l = st_hex_digit(s[i + 2]);
            if (h < 0 || l < 0)
                return false;
            c = (char)(h << 4 | l);
            i += 2;
            if (c == '\0' || (c == '/' && !slash))
                return false;
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

/* Splits path into the segments a and b of "<prefix>a/b/": both non-empty and free of raw
 * '/', no query. false when malformed. */
static bool split_path(const char *path, size_t len, const char *prefix, const char **a,
                       size_t *alen, const char **b, size_t *blen)
{
    const size_t plen = strlen(prefix);
    if (len <= plen || memcmp(path, prefix, plen) != 0 || path[len - 1] != '/' ||
        memchr(path, '?', len))
        return false;
    const char *s = path + plen, *end = path + len - 1; /* end: the final '/' */
    const char *slash = memchr(s, '/', (size_t)(end - s));
    if (!slash || slash == s || slash + 1 == end ||
        memchr(slash + 1, '/', (size_t)(end - slash - 1)))
        return false;
    *a = s;
    *alen = (size_t)(slash - s);
    *b = slash + 1;
    *blen = (size_t)(end - *b);
    return true;
}

/* s[0..len) as a decimal of 1..max_digits digits; -1 if it is not one. */
static long parse_dec(const char *s, size_t len, size_t max_digits)
{
    if (len == 0 || len > max_digits)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* An IP literal into *family and addr; -EAFNOSUPPORT for a plausible DNS name, else -EINVAL.
 * An IPv6 literal may come in brackets ("[2001:db8::1]", or "%5B...%5D" before decoding), as
 * some clients expand the template with the URI host syntax. */
static int parse_literal(char *h, int *family, uint8_t addr[16])
{
    size_t n = strlen(h);
    if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = '\0';
        int r = inet_pton(AF_INET6, h + 1, addr) == 1 ? 0 : -EINVAL;
        h[n - 1] = ']';
        if (r == 0)
            *family = AF_INET6;
        return r;
    }
    if (inet_pton(AF_INET, h, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, h, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    for (const char *c = h; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '.'))
            return -EINVAL;
    return -EAFNOSUPPORT;
}

/* The address as a path segment (IPv6 colons as %3A) into esc. false for a bad family. */
static bool escape_literal(char esc[3 * INET6_ADDRSTRLEN], int family, const uint8_t *addr)
{
    char a[INET6_ADDRSTRLEN];
    if ((family != AF_INET && family != AF_INET6) || !inet_ntop(family, addr, a, sizeof(a)))
        return false;
    size_t n = 0;
    for (const char *c = a; *c; c++) {
        if (*c == ':') {
            memcpy(esc + n, "%3A", 3);
            n += 3;
        } else {
            esc[n++] = *c;
        }
    }
    esc[n] = '\0';
    return true;
}

int st_masque_udp_path_parse(const char *path, size_t len, int *family, uint8_t addr[16],
                             uint16_t *port)
{
    const char *host, *p;
    size_t hlen, plen;
    if (!split_path(path, len, ST_MASQUE_UDP_PREFIX, &host, &hlen, &p, &plen))
        return -EINVAL;
    long v = parse_dec(p, plen, 5); /* port: 1..65535, digits only */
    if (v <= 0 || v > 65535)
        return -EINVAL;
    char h[64];
    if (!unescape(host, hlen, h, sizeof(h), false))
        return -EINVAL;
    int r = parse_literal(h, family, addr);
    if (r < 0)
        return r;
    *port = (uint16_t)v;
    return 0;
}

int st_masque_udp_path(char *out, size_t cap, int family, const uint8_t *addr, uint16_t port)
{
    char esc[3 * INET6_ADDRSTRLEN];
    if (port == 0 || !escape_literal(esc, family, addr))
        return -EINVAL;
    int w = snprintf(out, cap, "%s%s/%u/", ST_MASQUE_UDP_PREFIX, esc, port);
    return w < 0 || (size_t)w >= cap ? -ENOSPC : w;
}

/* true when the bits of addr[0..alen) past the first `bits` are all zero. */
static bool host_bits_zero(const uint8_t *addr, int alen, long bits)
{
    for (int i = 0; i < alen; i++) {
        long keep = bits - 8 * i; /* prefix bits in byte i */
        uint8_t mask = keep >= 8 ? 0 : keep <= 0 ? 0xff : (uint8_t)(0xff >> keep);
        if (addr[i] & mask)
            return false;
    }
    return true;
}

/* A decoded connect-ip target: "*", an IP literal, or literal "/" prefix length. */
static int parse_target(char *t, int *family, uint8_t addr[16], int *prefix)
{
    if (strcmp(t, "*") == 0) {
        *family = 0;
        memset(addr, 0, 16);
        *prefix = 0;
        return 0;
    }
    char *slash = strchr(t, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        if ((bits = parse_dec(slash + 1, strlen(slash + 1), 3)) < 0)
            return -EINVAL;
    }
    int r = parse_literal(t, family, addr);
    if (r < 0)
        return slash ? -EINVAL : r; /* a DNS name has no prefix length */
    long max = *family == AF_INET ? 32 : 128;
    if (bits > max || (bits >= 0 && !host_bits_zero(addr, (int)max / 8, bits)))
        return -EINVAL;
    *prefix = (int)(bits < 0 ? max : bits);
    return 0;
}

int st_masque_ip_path_parse(const char *path, size_t len, int *family, uint8_t addr[16],
                            int *prefix, int *ipproto)
{
    const char *t, *p;
    size_t tlen, plen;
    char tb[64], pb[8];
    if (!split_path(path, len, ST_MASQUE_IP_PREFIX, &t, &tlen, &p, &plen) ||
        !unescape(p, plen, pb, sizeof(pb), false) || !unescape(t, tlen, tb, sizeof(tb), true))
        return -EINVAL;
    long proto = -1;
    if (strcmp(pb, "*") != 0 && ((proto = parse_dec(pb, strlen(pb), 3)) < 0 || proto > 255))
        return -EINVAL;
    int r = parse_target(tb, family, addr, prefix);
    if (r < 0)
        return r;
    *ipproto = (int)proto;
    return 0;
}

int st_masque_ip_path(char *out, size_t cap, int family, const uint8_t *addr, int ipproto)
{
    char esc[3 * INET6_ADDRSTRLEN] = "*", proto[12] = "*";
    if (ipproto < -1 || ipproto > 255 || (family != 0 && !escape_literal(esc, family, addr)))
        return -EINVAL;
    if (ipproto >= 0)
        snprintf(proto, sizeof(proto), "%d", ipproto);
    int w = snprintf(out, cap, "%s%s/%s/", ST_MASQUE_IP_PREFIX, esc, proto);
    return w < 0 || (size_t)w >= cap ? -ENOSPC : w;
}

/* An HTTP Datagram with context id 0 (a UDP payload or an IP packet) as a DATAGRAM capsule. */
static int datagram_capsule(uint8_t *out, size_t cap, const uint8_t *payload, size_t len,
                            size_t max)
{
    if (len > max)
        return -EMSGSIZE;
    int h = st_capsule_encode_header(out, cap, ST_CAP_DATAGRAM, 1 + (uint64_t)len);
    if (h < 0)
        return h;
    if ((size_t)h + 1 + len > cap)
        return -ENOSPC;
    out[h] = 0; /* context id 0 */
    memcpy(out + h + 1, payload, len);
    return h + 1 + (int)len;
}

static int datagram_payload(const uint8_t *value, size_t len, const uint8_t **payload, size_t *plen,
                            size_t max)
{
    uint64_t ctx;
    int n = st_varint_decode(value, len, &ctx);
    if (n <= 0)
        return -EBADMSG;
    if (ctx != 0)
        return 0;
    if (len - (size_t)n > max)
        return -EMSGSIZE;
    *payload = value + n;
    *plen = len - (size_t)n;
    return 1;
}

int st_masque_udp_capsule(uint8_t *out, size_t cap, const uint8_t *payload, size_t len)
{
    return datagram_capsule(out, cap, payload, len, ST_MASQUE_UDP_MAX);
}

int st_masque_udp_payload(const uint8_t *value, size_t len, const uint8_t **payload, size_t *plen)
{
    return datagram_payload(value, len, payload, plen, ST_MASQUE_UDP_MAX);
}

int st_masque_ip_capsule(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len)
{
    return datagram_capsule(out, cap, pkt, len, ST_MASQUE_IP_MAX);
}

int st_masque_ip_packet(const uint8_t *value, size_t len, const uint8_t **pkt, size_t *plen)
{
    return datagram_payload(value, len, pkt, plen, ST_MASQUE_IP_MAX);
}

int st_masque_target(const char *protocol, const char *path, size_t len, int *family,
                     uint8_t addr[16], uint16_t *port)
{
    int prefix, proto;
    *port = 0;
    if (strcmp(protocol, "connect-udp") == 0)
        return st_masque_udp_path_parse(path, len, family, addr, port);
    if (strcmp(protocol, "connect-ip") != 0)
        return -EPROTONOSUPPORT;
    int rv = st_masque_ip_path_parse(path, len, family, addr, &prefix, &proto);
    if (rv < 0)
        return rv;
    if (*family == 0 || prefix != (*family == AF_INET ? 32 : 128) ||
        proto != (*family == AF_INET ? 1 : 58))
        return -EPROTONOSUPPORT;
    return 0;
}
