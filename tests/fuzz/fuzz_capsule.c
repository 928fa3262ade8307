/* Capsules (RFC 9297), the TLV fields inside them and QUIC varints: every capsule and field
 * found is encoded again and must decode to the same type and bytes. */
#include "fuzz.h"
#include "st_capsule.h"
#include "st_varint.h"

#include <errno.h>
#include <string.h>

static void check_varint(const uint8_t *data, size_t size)
{
    uint8_t out[8];
    uint64_t v, w;
    int n = st_varint_decode(data, size, &v);

    if (n == 0)
        return;
    FUZZ_ASSERT(n == 1 || n == 2 || n == 4 || n == 8);
    FUZZ_ASSERT(v <= ST_VARINT_MAX);
    int m = st_varint_encode(out, sizeof(out), v);
    FUZZ_ASSERT(m > 0 && m <= n && (size_t)m == st_varint_len(v));
    FUZZ_ASSERT(st_varint_decode(out, (size_t)m, &w) == m && w == v);
}

static void check_tlvs(const uint8_t *value, size_t len)
{
    static uint8_t out[1 << 17];
    struct st_tlv_iter it, again;
    const uint8_t *val, *val2;
    uint64_t type, type2;
    size_t vlen, vlen2, off = 0;
    int rc;

    st_tlv_iter_init(&it, value, len);
    while ((rc = st_tlv_next(&it, &type, &val, &vlen)) == 1) {
        size_t before = off;
        FUZZ_ASSERT(val >= value && val + vlen <= value + len);
        FUZZ_ASSERT(st_tlv_put(out, sizeof(out), &off, type, val, vlen) == 0);
        st_tlv_iter_init(&again, out + before, off - before);
        FUZZ_ASSERT(st_tlv_next(&again, &type2, &val2, &vlen2) == 1);
        FUZZ_ASSERT(type2 == type && vlen2 == vlen && memcmp(val2, val, vlen) == 0);
        FUZZ_ASSERT(st_tlv_next(&again, &type2, &val2, &vlen2) == 0);
        off = 0;
    }
    FUZZ_ASSERT(rc == 0 || rc == -EBADMSG);
}

static void check_capsule(const struct st_capsule *cap)
{
    static uint8_t out[16 + (1 << 16)];
    struct st_capsule again;
    int h = st_capsule_encode_header(out, sizeof(out), cap->type, cap->len);

    FUZZ_ASSERT(h > 0 && (size_t)h + cap->len <= sizeof(out));
    memcpy(out + h, cap->value, cap->len);
    int n = st_capsule_parse(out, (size_t)h + cap->len, cap->len, &again);
    FUZZ_ASSERT(n == h + (int)cap->len);
    FUZZ_ASSERT(again.type == cap->type && again.len == cap->len);
    FUZZ_ASSERT(memcmp(again.value, cap->value, cap->len) == 0);
    /* every proper prefix asks for more bytes */
    FUZZ_ASSERT(st_capsule_parse(out, (size_t)n - 1, cap->len, &again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_capsule cap;
    size_t off = 0;
    int n;

    check_varint(data, size);
    while ((n = st_capsule_parse(data + off, size - off, 1 << 16, &cap)) > 0) {
        FUZZ_ASSERT((size_t)n <= size - off);
        FUZZ_ASSERT(cap.value >= data + off && cap.value + cap.len <= data + off + (size_t)n);
        check_capsule(&cap);
        check_tlvs(cap.value, cap.len);
        off += (size_t)n;
    }
    FUZZ_ASSERT(n == 0 || n == -EMSGSIZE);
    return 0;
}
