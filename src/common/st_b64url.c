#include "st_b64url.h"

#include <errno.h>
#include <limits.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int st_b64url_encode(const void *in, size_t len, char *out, size_t outlen)
{
    const uint8_t *p = in;
    size_t o = 0;

    if (len > (size_t)INT_MAX / 2 || outlen < ST_B64URL_ENC_LEN(len) + 1)
        return -ENOSPC;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t n = len - i < 3 ? len - i : 3;

        if (n > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (n > 2)
            v |= p[i + 2];
        for (size_t k = 0; k <= n; k++)
            out[o++] = alphabet[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return (int)o;
}

int st_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
    size_t o = 0, tail = len % 4;
    uint32_t v = 0;

    if (tail == 1 || len > (size_t)INT_MAX)
        return -EINVAL;
    if (outlen < (len / 4) * 3 + (tail ? tail - 1 : 0))
        return -ENOSPC;
    for (size_t i = 0; i < len; i++) {
        int s = sextet(in[i]);

        if (s < 0)
            return -EINVAL;
        v = (v << 6) | (uint32_t)s;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(v >> 16);
            out[o++] = (uint8_t)(v >> 8);
            out[o++] = (uint8_t)v;
            v = 0;
        }
    }
    if (tail == 2) {
        if (v & 0xf)
            return -EINVAL;
        out[o++] = (uint8_t)(v >> 4);
    } else if (tail == 3) {
        if (v & 0x3)
            return -EINVAL;
        out[o++] = (uint8_t)(v >> 10);
        out[o++] = (uint8_t)(v >> 2);
    }
    return (int)o;
}
