/* Control-stream reassembly (st_ctrlstream_feed): the bytes of HTTP/2 DATA frames turned into
 * capsules. Byte 0 seeds the cut lengths; the rest is fed in frames of up to 16384 bytes,
 * then in random pieces: both runs must deliver the same capsules and end the same way. */
#include "fuzz.h"
#include "st_ctrlstream.h"

#include <errno.h>
#include <string.h>

static int on_capsule(void *arg, const struct st_capsule *cap)
{
    struct fuzz_rec *r = arg;
    fuzz_rec_put(r, &cap->type, sizeof(cap->type));
    fuzz_rec_put(r, &cap->len, sizeof(cap->len));
    fuzz_rec_put(r, cap->value, cap->len);
    return 0;
}

static void run(struct fuzz_rec *r, const uint8_t *p, size_t n, const uint8_t *cuts, size_t ncuts)
{
    static struct st_ctrlstream cs;
    size_t off = 0, k = 0;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    st_ctrlstream_reset(&cs);
    while (off < n && rc == 0) {
        size_t len = fuzz_piece(cuts, ncuts, &k, 31, 16384);
        if (len > n - off)
            len = n - off;
        rc = st_ctrlstream_feed(&cs, p + off, len, on_capsule, r);
        FUZZ_ASSERT(rc == 0 || rc == -EMSGSIZE || rc == -EBADMSG);
        FUZZ_ASSERT(cs.in_len <= ST_CTRLSTREAM_IN_MAX);
        FUZZ_ASSERT((cs.in_len == 0) == (cs.in == NULL)); /* a buffer only while bytes wait */
        off += len;
    }
    fuzz_rec_put(r, &rc, sizeof(rc));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_rec whole, split;

    if (size < 2)
        return 0;
    size_t ncuts = (size_t)data[0] % 8 + 1;
    if (size < 1 + ncuts)
        return 0;
    const uint8_t *p = data + 1 + ncuts;
    size_t n = size - 1 - ncuts;

    run(&whole, p, n, NULL, 0);
    run(&split, p, n, data + 1, ncuts);
    if (whole.overflow || split.overflow)
        return 0;
    FUZZ_ASSERT(whole.len == split.len && memcmp(whole.log, split.log, whole.len) == 0);
    return 0;
}
