#include "gw_h1resp.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static struct gw_h1resp *of(http_parser *p)
{
    return p->data;
}

static int on_begin(http_parser *p)
{
    struct gw_h1resp *r = of(p);
    r->used = r->n = 0;
    r->in_value = false;
    return 0;
}

static int fail(struct gw_h1resp *r, int err, const char *why)
{
    r->err = err;
    r->why = why;
    return -1;
}

/* Appends a piece of the current name or value to buf. */
static int piece(struct gw_h1resp *r, const char *at, size_t len, int end_idx)
{
    if (len > sizeof(r->buf) - r->used)
        return fail(r, -E2BIG, "response head too large");
    memcpy(r->buf + r->used, at, len);
    r->used += len;
    r->off[r->n - 1][end_idx] = r->used;
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    struct gw_h1resp *r = of(p);
    if (r->n == 0 || r->in_value) { /* a new field starts */
        if (r->n == GW_H1RESP_MAX_FIELDS)
            return fail(r, -E2BIG, "too many header fields");
        size_t *o = r->off[r->n++];
        o[0] = o[1] = o[2] = o[3] = r->used;
        r->in_value = false;
    }
    return piece(r, at, len, 1);
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    struct gw_h1resp *r = of(p);
    if (!r->in_value) {
        r->off[r->n - 1][2] = r->off[r->n - 1][3] = r->used;
        r->in_value = true;
    }
    return piece(r, at, len, 3);
}

static int on_headers(http_parser *p)
{
    struct gw_h1resp *r = of(p);
    int status = (int)p->status_code;
    struct st_http_field f[GW_H1RESP_MAX_FIELDS];

    r->interim = status >= 100 && status < 200 && status != 101;
    if (r->interim)
        return 0;
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = r->off[i][0]; k < r->off[i][1]; k++)
            r->buf[k] = (char)tolower((unsigned char)r->buf[k]);
        f[i] = (struct st_http_field){r->buf + r->off[i][0], r->off[i][1] - r->off[i][0],
                                      r->buf + r->off[i][2], r->off[i][3] - r->off[i][2]};
    }
    int rc = r->cb->head(r->arg, status, f, r->n);
    if (rc < 0)
        return fail(r, rc, "aborted by the head callback");
    if (status == 101) {
        r->upgraded = true;
        return 2; /* no body; http_parser pauses at the upgrade */
    }
    return r->head_request || status == 204 || status == 304 ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct gw_h1resp *r = of(p);
    if (r->interim)
        return 0;
    int rc = r->cb->body(r->arg, at, len);
    return rc < 0 ? fail(r, rc, "aborted by the body callback") : 0;
}

static int on_complete(http_parser *p)
{
    struct gw_h1resp *r = of(p);
    if (r->interim) {
        r->interim = false;
        return 0; /* the final response follows */
    }
    r->finished = true;
    if (!r->upgraded)
        r->cb->done(r->arg, http_should_keep_alive(p));
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {.on_message_begin = on_begin,
                                              .on_header_field = on_field,
                                              .on_header_value = on_value,
                                              .on_headers_complete = on_headers,
                                              .on_body = on_body,
                                              .on_message_complete = on_complete};

void gw_h1resp_init(struct gw_h1resp *r, bool head_request, const struct gw_h1resp_cb *cb,
                    void *arg)
{
    memset(r, 0, offsetof(struct gw_h1resp, off));
    http_parser_init(&r->parser, HTTP_RESPONSE);
    r->parser.data = r;
    r->cb = cb;
    r->arg = arg;
    r->head_request = head_request;
}

ssize_t gw_h1resp_feed(struct gw_h1resp *r, const char *p, size_t n)
{
    if (r->finished || r->upgraded)
        return 0;
    size_t used = http_parser_execute(&r->parser, &settings, p, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (e == HPE_PAUSED) {
        http_parser_pause(&r->parser, 0);
        return (ssize_t)used;
    }
    if (r->parser.upgrade && r->upgraded)
        return (ssize_t)used;
    if (e != HPE_OK) {
        if (r->err)
            return r->err;
        r->why = http_errno_description(e);
        return -EPROTO;
    }
    return (ssize_t)used;
}

int gw_h1resp_eof(struct gw_h1resp *r)
{
    if (r->finished || r->upgraded)
        return 0;
    http_parser_execute(&r->parser, &settings, NULL, 0);
    if (r->finished)
        return 0;
    r->why = r->parser.nread || r->n ? "the origin closed in the middle of the response"
                                     : "the origin closed without a response";
    return -EPROTO;
}
