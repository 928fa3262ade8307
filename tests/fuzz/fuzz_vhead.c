/* The edge's visitor request heads (edge_vhead under http-parser, as edge_vconn runs them):
 * byte 0 seeds the cut lengths; the rest is parsed whole, then in random pieces, and both
 * runs must give the same verdict (parse error, 414, 431) or the same target and fields.
 * A head that edge_vhead accepts also goes through edge_visit_to_h2. */
#include "edge_vhead.h"
#include "edge_visit.h"
#include "fuzz.h"

#include <http_parser.h>
#include <string.h>

struct run {
    http_parser parser;
    struct edge_vhead head;
    bool complete;
    int verdict; /* -1 parse error, 0 accepted, 414/431, 1 head not complete */
};

static int on_begin(http_parser *p)
{
    edge_vhead_reset(&((struct run *)p->data)->head);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    edge_vhead_url(&((struct run *)p->data)->head, at, len);
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    edge_vhead_field(&((struct run *)p->data)->head, at, len);
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    edge_vhead_value(&((struct run *)p->data)->head, at, len);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct run *r = p->data;
    r->complete = true;
    r->verdict = edge_vhead_finish(&r->head);
    http_parser_pause(p, 1); /* only the head is of interest */
    return 0;
}

static const http_parser_settings settings = {.on_message_begin = on_begin,
                                              .on_url = on_url,
                                              .on_header_field = on_field,
                                              .on_header_value = on_value,
                                              .on_headers_complete = on_headers_complete};

static void run(struct run *r, const char *text, size_t n, const uint8_t *cuts, size_t ncuts)
{
    size_t off = 0, k = 0;

    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    r->complete = false;
    r->verdict = 1;
    while (off < n && !r->complete) {
        size_t len = fuzz_piece(cuts, ncuts, &k, 23, n - off);
        if (len > n - off)
            len = n - off;
        size_t used = http_parser_execute(&r->parser, &settings, text + off, len);
        if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK && !r->complete) {
            r->verdict = -1;
            return;
        }
        off += used;
        if (used < len && !r->complete)
            return;
    }
}

static void same(const struct run *a, const struct run *b)
{
    FUZZ_ASSERT(a->verdict == b->verdict);
    if (a->verdict != 0)
        return;
    const struct edge_vhead *x = &a->head, *y = &b->head;
    FUZZ_ASSERT(x->tlen == y->tlen && strcmp(x->target, y->target) == 0);
    FUZZ_ASSERT(x->n_fields == y->n_fields);
    for (size_t i = 0; i < x->n_fields; i++) {
        const struct st_http_field *f = &x->fields[i], *g = &y->fields[i];
        FUZZ_ASSERT(f->nlen == g->nlen && memcmp(f->name, g->name, f->nlen) == 0);
        FUZZ_ASSERT(f->vlen == g->vlen && memcmp(f->value, g->value, f->vlen) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole, split;
    static struct edge_visit_h2 h2;
    const char *why;

    if (size < 2)
        return 0;
    size_t ncuts = (size_t)data[0] % 8 + 1;
    if (size < 1 + ncuts)
        return 0;
    const char *text = (const char *)data + 1 + ncuts;
    size_t n = size - 1 - ncuts;

    run(&whole, text, n, NULL, 0);
    run(&split, text, n, data + 1, ncuts);
    same(&whole, &split);
    if (whole.verdict != 0)
        return 0;
    struct edge_visit_req req = {.method = http_method_str(whole.parser.method),
                                 .target = whole.head.target,
                                 .fields = whole.head.fields,
                                 .n_fields = whole.head.n_fields,
                                 .client_ip = "198.18.0.10",
                                 .via = "edge"};
    (void)edge_visit_to_h2(&req, &h2, &why);
    return 0;
}
