#include "st_capsule.h"

#include "st_varint.h"

#include <errno.h>
#include <string.h>

int st_capsule_parse(const uint8_t *in, size_t len, size_t max_len, struct st_capsule *cap)
{
    uint64_t type, vlen;
    int a, b;

    a = st_varint_decode(in, len, &type);
    if (a == 0)
        return 0;
    b = st_varint_decode(in + a, len - (size_t)a, &vlen);
    if (b == 0)
        return 0;
    if (vlen > max_len || vlen > (uint64_t)INT32_MAX - 16)
        return -EMSGSIZE;
    if (len - (size_t)(a + b) < vlen)
        return 0;
    cap->type = type;
    cap->value = in + a + b;
    cap->len = (size_t)vlen;
    return a + b + (int)vlen;
}

int st_capsule_encode_header(uint8_t *out, size_t cap, uint64_t type, uint64_t len)
{
    size_t tl = st_varint_len(type), ll = st_varint_len(len);

    if (tl == 0 || ll == 0)
        return -ERANGE;
    if (cap < tl + ll)
        return -ENOSPC;
    st_varint_encode(out, cap, type);
    st_varint_encode(out + tl, cap - tl, len);
    return (int)(tl + ll);
}

void st_tlv_iter_init(struct st_tlv_iter *it, const uint8_t *value, size_t len)
{
    it->p = value;
    it->left = len;
}

int st_tlv_next(struct st_tlv_iter *it, uint64_t *type, const uint8_t **val, size_t *vlen)
{
    uint64_t t, l;
    int a, b;

    if (it->left == 0)
        return 0;
    a = st_varint_decode(it->p, it->left, &t);
    if (a == 0)
        return -EBADMSG;
    b = st_varint_decode(it->p + a, it->left - (size_t)a, &l);
    if (b == 0 || l > it->left - (size_t)(a + b))
        return -EBADMSG;
    *type = t;
    *val = it->p + a + b;
    *vlen = (size_t)l;
    it->p += (size_t)(a + b) + (size_t)l;
    it->left -= (size_t)(a + b) + (size_t)l;
    return 1;
}

int st_tlv_put(uint8_t *out, size_t cap, size_t *off, uint64_t type, const void *val, size_t vlen)
{
    int n;

    if (*off > cap)
        return -ENOSPC;
    n = st_capsule_encode_header(out + *off, cap - *off, type, vlen);
    if (n < 0)
        return n;
    if (cap - *off - (size_t)n < vlen)
        return -ENOSPC;
    if (vlen > 0)
        memcpy(out + *off + n, val, vlen);
    *off += (size_t)n + vlen;
    return 0;
}

int st_tlv_put_varint(uint8_t *out, size_t cap, size_t *off, uint64_t type, uint64_t v)
{
    uint8_t buf[8];
    int n = st_varint_encode(buf, sizeof(buf), v);

    if (n < 0)
        return n;
    return st_tlv_put(out, cap, off, type, buf, (size_t)n);
}
