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
 * NUL or '/', or when it does not fit. */
static bool unescape(const char *s, size_t len, char *out, size_t cap)
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
            if (c == '\0' || c == '/')
                return false;
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

int st_masque_udp_path_parse(const char *path, size_t len, int *family, uint8_t addr[16],
                             uint16_t *port)
{
    static const char prefix[] = ST_MASQUE_UDP_PREFIX;
    const size_t plen = sizeof(prefix) - 1;
    if (len <= plen || memcmp(path, prefix, plen) != 0 || path[len - 1] != '/')
        return -EINVAL;
    const char *host = path + plen, *end = path + len - 1; /* end: the final '/' */
    const char *slash = memchr(host, '/', (size_t)(end - host));
    if (!slash || slash == host || slash + 1 == end || memchr(path, '?', len))
        return -EINVAL;
    /* port: 1..65535, digits only */
    const char *p = slash + 1;
    if (end - p > 5)
        return -EINVAL;
    unsigned long v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    char h[64];
    if (!unescape(host, (size_t)(slash - host), h, sizeof(h)))
        return -EINVAL;
    if (inet_pton(AF_INET, h, addr) == 1) {
        *family = AF_INET;
    } else if (inet_pton(AF_INET6, h, addr) == 1) {
        *family = AF_INET6;
    } else {
        for (const char *c = h; *c; c++) /* a plausible DNS name, or garbage */
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
                return -EINVAL;
        return -EAFNOSUPPORT;
    }
    *port = (uint16_t)v;
    return 0;
}

int st_masque_udp_path(char *out, size_t cap, int family, const uint8_t *addr, uint16_t port)
{
    char a[INET6_ADDRSTRLEN], esc[3 * INET6_ADDRSTRLEN];
    if ((family != AF_INET && family != AF_INET6) || port == 0 ||
        !inet_ntop(family, addr, a, sizeof(a)))
        return -EINVAL;
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
    int w = snprintf(out, cap, "%s%s/%u/", ST_MASQUE_UDP_PREFIX, esc, port);
    return w < 0 || (size_t)w >= cap ? -ENOSPC : w;
}

int st_masque_udp_capsule(uint8_t *out, size_t cap, const uint8_t *payload, size_t len)
{
    if (len > ST_MASQUE_UDP_MAX)
        return -EMSGSIZE;
    int h = st_capsule_encode_header(out, cap, ST_CAP_DATAGRAM, 1 + (uint64_t)len);
    if (h < 0)
        return h;
    if ((size_t)h + 1 + len > cap)
        return -ENOSPC;
    out[h] = 0; /* context id 0: a UDP payload */
    memcpy(out + h + 1, payload, len);
    return h + 1 + (int)len;
}

int st_masque_udp_payload(const uint8_t *value, size_t len, const uint8_t **payload, size_t *plen)
{
    uint64_t ctx;
    int n = st_varint_decode(value, len, &ctx);
    if (n <= 0)
        return -EBADMSG;
    if (ctx != 0)
        return 0;
    if (len - (size_t)n > ST_MASQUE_UDP_MAX)
        return -EMSGSIZE;
    *payload = value + n;
    *plen = len - (size_t)n;
    return 1;
}
