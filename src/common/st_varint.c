#include "st_varint.h"

#include <errno.h>

size_t st_varint_len(uint64_t v)
{
    if (v < (1ULL << 6))
        return 1;
    if (v < (1ULL << 14))
        return 2;
    if (v < (1ULL << 30))
        return 4;
    if (v <= ST_VARINT_MAX)
        return 8;
    return 0;
}

int st_varint_encode(uint8_t *out, size_t cap, uint64_t v)
{
    static const uint8_t prefix[9] = {[1] = 0x00, [2] = 0x40, [4] = 0x80, [8] = 0xc0};
    size_t n = st_varint_len(v);

    if (n == 0)
        return -ERANGE;
    if (cap < n)
        return -ENOSPC;
    for (size_t i = n; i > 0; i--) {
        out[i - 1] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    out[0] |= prefix[n];
    return (int)n;
}

int st_varint_decode(const uint8_t *in, size_t len, uint64_t *v)
{
    size_t n;
    uint64_t x;

    if (len == 0)
        return 0;
    n = (size_t)1 << (in[0] >> 6);
    if (len < n)
        return 0;
    x = in[0] & 0x3f;
    for (size_t i = 1; i < n; i++)
        x = (x << 8) | in[i];
    *v = x;
    return (int)n;
}
