/* Origin HTTP/1 responses (gw_h1resp): the first byte says whether the request was HEAD and
 * seeds the cut points; the rest is fed whole, then in random pieces, and both runs must
 * report the same head, body, completion and result. */
#include "fuzz.h"
#include "gw_h1resp.h"

#include <errno.h>
#include <string.h>

static int on_head(void *arg, int status, const struct st_http_field *f, size_t n)
{
    struct fuzz_rec *r = arg;
    fuzz_rec_put(r, "H", 1);
    fuzz_rec_put(r, &status, sizeof(status));
    for (size_t i = 0; i < n; i++) {
        fuzz_rec_put(r, f[i].name, f[i].nlen);
        fuzz_rec_put(r, ":", 1);
        fuzz_rec_put(r, f[i].value, f[i].vlen);
        fuzz_rec_put(r, "\n", 1);
    }
    return 0;
}

/* Body bytes are logged without the piece boundaries, which differ between runs. */
static int on_body(void *arg, const char *p, size_t n)
{
    struct fuzz_rec *r = arg;
    fuzz_rec_put(r, p, n);
    return 0;
}

static void on_done(void *arg, bool keep_alive)
{
    struct fuzz_rec *r = arg;
    fuzz_rec_put(r, keep_alive ? "D1" : "D0", 2);
}

static const struct gw_h1resp_cb cb = {on_head, on_body, on_done};

/* Feeds text in pieces whose lengths come from cuts (cycled; none: whole), then EOF unless
 * a response completed or an error ended the run. Logs the outcome into r. */
static void run(struct fuzz_rec *r, bool head, const char *text, size_t n, const uint8_t *cuts,
                size_t ncuts)
{
    static struct gw_h1resp resp;
    size_t off = 0, k = 0;
    ssize_t rv = 0;

    memset(r, 0, sizeof(*r));
    gw_h1resp_init(&resp, head, &cb, r);
    while (off < n) {
        size_t len = fuzz_piece(cuts, ncuts, &k, 17, n - off);
        if (len > n - off)
            len = n - off;
        rv = gw_h1resp_feed(&resp, text + off, len);
        FUZZ_ASSERT(rv <= (ssize_t)len);
        if (rv < 0 || (size_t)rv < len) {
            off += rv < 0 ? 0 : (size_t)rv;
            break;
        }
        off += len;
    }
    int err = rv < 0 ? (int)rv : off == n ? gw_h1resp_eof(&resp) : 1;
    /* A head both too large and malformed is refused either way; which of the two is seen
     * first depends on where http-parser hands over a name or value, so on the cuts. */
    if (err == -E2BIG)
        err = -EPROTO;
    fuzz_rec_put(r, "R", 1);
    fuzz_rec_put(r, &err, sizeof(err));
    /* where a split run stops matters only as the byte offset of the stop */
    if (rv >= 0)
        fuzz_rec_put(r, &off, sizeof(off));
}

static void dump(const char *what, const struct fuzz_rec *r)
{
    fprintf(stderr, "%s:", what);
    for (size_t i = 0; i < r->len; i++)
        fprintf(stderr, r->log[i] >= ' ' && r->log[i] < 0x7f ? "%c" : "\\x%02x",
                (unsigned char)r->log[i]);
    fprintf(stderr, "\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_rec whole, split;

    if (size < 2)
        return 0;
    bool head = data[0] & 1;
    size_t ncuts = (size_t)(data[0] >> 1) % 8 + 1;
    if (size < 1 + ncuts)
        return 0;
    const uint8_t *cuts = data + 1;
    const char *text = (const char *)data + 1 + ncuts;
    size_t n = size - 1 - ncuts;

    run(&whole, head, text, n, NULL, 0);
    run(&split, head, text, n, cuts, ncuts);
    if (whole.overflow || split.overflow)
        return 0;
    if (whole.len != split.len || memcmp(whole.log, split.log, whole.len) != 0) {
        dump("whole", &whole);
        dump("split", &split);
        FUZZ_ASSERT(!"the same response fed whole and in pieces gave different results");
    }
    return 0;
}
