/* The access proxy's request heads (edge_ahead under http-parser, as edge_access runs them):
 * byte 0 seeds the cut lengths; the rest is parsed whole, then in random pieces, and both
 * runs must agree on the verdict and on the target, Proxy-Authorization and Upgrade kept;
 * the h2c preface check must not change its mind as bytes arrive. */
#include "edge_ahead.h"
#include "fuzz.h"

#include <errno.h>
#include <http_parser.h>
#include <string.h>

struct run {
    http_parser parser;
    struct edge_ahead head;
    bool complete;
    int verdict; /* -1 refused (parse error or too long), 0 head complete, 1 incomplete */
};

static int on_url(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_url(&((struct run *)p->data)->head, at, len) < 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_field(&((struct run *)p->data)->head, at, len) < 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    return edge_ahead_value(&((struct run *)p->data)->head, at, len) < 0;
}

static int on_headers_complete(http_parser *p)
{
    struct run *r = p->data;
    r->complete = true;
    r->verdict = 0;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {.on_url = on_url,
                                              .on_header_field = on_field,
                                              .on_header_value = on_value,
                                              .on_headers_complete = on_headers_complete};

static void run(struct run *r, const char *text, size_t n, const uint8_t *cuts, size_t ncuts)
{
    size_t off = 0, k = 0;

    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    edge_ahead_init(&r->head);
    r->complete = false;
    r->verdict = 1;
    while (off < n && !r->complete) {
        size_t len = fuzz_piece(cuts, ncuts, &k, 23, n - off);
        if (len > n - off)
            len = n - off;
        size_t used = http_parser_execute(&r->parser, &settings, text + off, len);
        if (r->complete)
            return;
        if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK || used != len) {
            r->verdict = -1;
            return;
        }
        off += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole, split;

    if (size < 2)
        return 0;
    size_t ncuts = (size_t)data[0] % 8 + 1;
    if (size < 1 + ncuts)
        return 0;
    const char *text = (const char *)data + 1 + ncuts;
    size_t n = size - 1 - ncuts;

    /* the HTTP/2-or-not decision never changes once made, whatever the first read held */
    int pf = edge_ahead_preface((const uint8_t *)text, n);
    for (size_t k = 1; k < n && k <= 3; k++) {
        int early = edge_ahead_preface((const uint8_t *)text, k);
        FUZZ_ASSERT(early == pf || early == -EAGAIN);
    }
    run(&whole, text, n, NULL, 0);
    run(&split, text, n, data + 1, ncuts);
    FUZZ_ASSERT(whole.verdict == split.verdict);
    if (whole.verdict != 0)
        return 0;
    const struct edge_ahead *a = &whole.head, *b = &split.head;
    FUZZ_ASSERT(whole.parser.method == split.parser.method);
    FUZZ_ASSERT(strcmp(a->target, b->target) == 0 && strcmp(a->upgrade, b->upgrade) == 0);
    FUZZ_ASSERT(a->auth_len == b->auth_len && memcmp(a->auth, b->auth, a->auth_len) == 0);
    return 0;
}
