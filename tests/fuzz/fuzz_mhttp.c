/* The metrics listener's request heads (st_mhttp_req_feed): byte 0 seeds the cut lengths;
 * the rest is fed whole, then in random pieces, and both runs must reach the same status
 * and target; a status is always one the listener answers with. */
#include "fuzz.h"
#include "st_mhttp.h"

static int run(const char *text, size_t n, const uint8_t *cuts, size_t ncuts,
               enum st_mhttp_target *t)
{
    struct st_mhttp_req r;
    size_t off = 0, k = 0;
    st_mhttp_req_init(&r);
    *t = ST_MHTTP_NONE;
    while (off < n) {
        size_t len = fuzz_piece(cuts, ncuts, &k, 23, n - off);
        if (len > n - off)
            len = n - off;
        int status = st_mhttp_req_feed(&r, text + off, len, t);
        if (status)
            return status;
        off += len;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t ncuts = (size_t)data[0] % 8 + 1;
    if (size < 1 + ncuts)
        return 0;
    const char *text = (const char *)data + 1 + ncuts;
    size_t n = size - 1 - ncuts;
    enum st_mhttp_target tw, ts;
    int whole = run(text, n, NULL, 0, &tw);
    int split = run(text, n, data + 1, ncuts, &ts);
    FUZZ_ASSERT(whole == split);
    FUZZ_ASSERT(whole == 0 || whole == 200 || whole == 400 || whole == 404 || whole == 405 ||
                whole == 431);
    FUZZ_ASSERT((whole == 200) == (tw != ST_MHTTP_NONE) && tw == ts);
    return 0;
}
